// The VNNI int16 register tiles qbench's Winograd F(4x4) could use (exact_int8_conv.cpp,
// vnni_accumulate), on L1-resident data, one core: ns per vpdpwssd counted in 256-bit halves
// (on Zen 4 a zmm vpdpwssd is two). A: ymm, 6 rows x 4 registers, explicit broadcasts; B: the
// same with embedded {1to8} broadcasts; C: zmm, 6 x 2, embedded {1to16}; D: zmm 6 x 4, explicit;
// E: ymm 6 x 2, embedded; F: zmm 6 x 2, explicit (what the compiler makes of vnni_accumulate).
// Measured on Zen 4 (2026-12-06): A, C, D, F 0.138-0.142 ns (2 a cycle, the peak), B 0.18-0.22,
// E 0.165: embedded broadcasts pay only with zmm. Build and run (a CPU with AVX-512 VNNI):
//   gcc -O2 -march=native benchmarks/peak/vnni_int16_tile.c -o /tmp/vnni && /tmp/vnni
#include <stdio.h>
#include <stdint.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static int16_t rows[16][256] __attribute__((aligned(64)));
static int16_t w[64*64*2] __attribute__((aligned(64)));
#define CLOB "xmm0","xmm1","xmm2","xmm3","xmm4","xmm5","xmm6","xmm7","xmm8","xmm9","xmm10","xmm11","xmm12","xmm13","xmm14","xmm15","xmm16","xmm17","xmm18","xmm19","xmm20","xmm21","xmm22","xmm23","xmm24","xmm25","xmm26","xmm27","xmm28","xmm29","xmm30","xmm31","memory","cc"
// A: ymm 6 rows x 4 regs (32 ch), explicit broadcast
#define A_ROW(ADDR,a,b,c,d) "vpbroadcastd " ADDR ", %%ymm30\n vpdpwssd %%ymm24,%%ymm30,%%ymm" a "\n vpdpwssd %%ymm25,%%ymm30,%%ymm" b "\n vpdpwssd %%ymm26,%%ymm30,%%ymm" c "\n vpdpwssd %%ymm27,%%ymm30,%%ymm" d "\n"
#define A_STEP(W,B) "vmovdqu32 " W "(%[w]),%%ymm24\n vmovdqu32 " W "+32(%[w]),%%ymm25\n vmovdqu32 " W "+64(%[w]),%%ymm26\n vmovdqu32 " W "+96(%[w]),%%ymm27\n" \
  A_ROW(B "(%[p0])","0","1","2","3") A_ROW(B "(%[p0],%[s],1)","4","5","6","7") A_ROW(B "(%[p0],%[s],2)","8","9","10","11") \
  A_ROW(B "(%[p3])","12","13","14","15") A_ROW(B "(%[p3],%[s],1)","16","17","18","19") A_ROW(B "(%[p3],%[s],2)","20","21","22","23")
// B: same with embedded broadcasts
#define B_ROW(ADDR,a,b,c,d) "vpdpwssd " ADDR "%{1to8%},%%ymm24,%%ymm" a "\n vpdpwssd " ADDR "%{1to8%},%%ymm25,%%ymm" b "\n vpdpwssd " ADDR "%{1to8%},%%ymm26,%%ymm" c "\n vpdpwssd " ADDR "%{1to8%},%%ymm27,%%ymm" d "\n"
#define B_STEP(W,B) "vmovdqu32 " W "(%[w]),%%ymm24\n vmovdqu32 " W "+32(%[w]),%%ymm25\n vmovdqu32 " W "+64(%[w]),%%ymm26\n vmovdqu32 " W "+96(%[w]),%%ymm27\n" \
  B_ROW(B "(%[p0])","0","1","2","3") B_ROW(B "(%[p0],%[s],1)","4","5","6","7") B_ROW(B "(%[p0],%[s],2)","8","9","10","11") \
  B_ROW(B "(%[p3])","12","13","14","15") B_ROW(B "(%[p3],%[s],1)","16","17","18","19") B_ROW(B "(%[p3],%[s],2)","20","21","22","23")
// C: zmm 6 rows x 2 (32 ch), embedded broadcast
#define C_ROW(ADDR,a,b) "vpdpwssd " ADDR "%{1to16%},%%zmm24,%%zmm" a "\n vpdpwssd " ADDR "%{1to16%},%%zmm25,%%zmm" b "\n"
#define C_STEP(W,B) "vmovdqu64 " W "(%[w]),%%zmm24\n vmovdqu64 " W "+64(%[w]),%%zmm25\n" \
  C_ROW(B "(%[p0])","0","1") C_ROW(B "(%[p0],%[s],1)","2","3") C_ROW(B "(%[p0],%[s],2)","4","5") C_ROW(B "(%[p3])","6","7") C_ROW(B "(%[p3],%[s],1)","8","9") C_ROW(B "(%[p3],%[s],2)","10","11")
// D: zmm 6 rows x 4 (64 ch), explicit broadcast
#define D_ROW(ADDR,a,b,c,d) "vpbroadcastd " ADDR ", %%zmm30\n vpdpwssd %%zmm24,%%zmm30,%%zmm" a "\n vpdpwssd %%zmm25,%%zmm30,%%zmm" b "\n vpdpwssd %%zmm26,%%zmm30,%%zmm" c "\n vpdpwssd %%zmm27,%%zmm30,%%zmm" d "\n"
#define D_STEP(W,B) "vmovdqu64 " W "(%[w]),%%zmm24\n vmovdqu64 " W "+64(%[w]),%%zmm25\n vmovdqu64 " W "+128(%[w]),%%zmm26\n vmovdqu64 " W "+192(%[w]),%%zmm27\n" \
  D_ROW(B "(%[p0])","0","1","2","3") D_ROW(B "(%[p0],%[s],1)","4","5","6","7") D_ROW(B "(%[p0],%[s],2)","8","9","10","11") \
  D_ROW(B "(%[p3])","12","13","14","15") D_ROW(B "(%[p3],%[s],1)","16","17","18","19") D_ROW(B "(%[p3],%[s],2)","20","21","22","23")
// E: ymm 6x2 (16 ch) embedded broadcast (like current tile)
#define E_ROW(ADDR,a,b) "vpdpwssd " ADDR "%{1to8%},%%ymm24,%%ymm" a "\n vpdpwssd " ADDR "%{1to8%},%%ymm25,%%ymm" b "\n"
#define E_STEP(W,B) "vmovdqu32 " W "(%[w]),%%ymm24\n vmovdqu32 " W "+32(%[w]),%%ymm25\n" \
  E_ROW(B "(%[p0])","0","1") E_ROW(B "(%[p0],%[s],1)","2","3") E_ROW(B "(%[p0],%[s],2)","4","5") E_ROW(B "(%[p3])","6","7") E_ROW(B "(%[p3],%[s],1)","8","9") E_ROW(B "(%[p3],%[s],2)","10","11")
// F: zmm 6x2 explicit
#define F_ROW(ADDR,a,b) "vpbroadcastd " ADDR ", %%zmm30\n vpdpwssd %%zmm24,%%zmm30,%%zmm" a "\n vpdpwssd %%zmm25,%%zmm30,%%zmm" b "\n"
#define F_STEP(W,B) "vmovdqu64 " W "(%[w]),%%zmm24\n vmovdqu64 " W "+64(%[w]),%%zmm25\n" \
  F_ROW(B "(%[p0])","0","1") F_ROW(B "(%[p0],%[s],1)","2","3") F_ROW(B "(%[p0],%[s],2)","4","5") F_ROW(B "(%[p3])","6","7") F_ROW(B "(%[p3],%[s],1)","8","9") F_ROW(B "(%[p3],%[s],2)","10","11")
#define RUN(name, STEP, WB, NDP) { long steps=64, reps=1000000; double t0=now(); \
  for (long r=0;r<reps;++r){ const int16_t* p0=rows[0]; const int16_t* p3=rows[3]; const int16_t* wp=w; long n=steps; \
    asm volatile("1:\n" STEP("0","0") STEP(#WB,"4") "add $" #WB "*2, %[w]\n add $8, %[p0]\n add $8, %[p3]\n sub $2, %[n]\n jnz 1b\n" \
     : [p0]"+r"(p0),[p3]"+r"(p3),[w]"+r"(wp),[n]"+r"(n) : [s]"r"(512L) : CLOB); } \
  double t=now()-t0; printf("%-40s %.3f ns/step  %.3f ns per ymm-dp\n", name, t/(reps*steps)*1e9, t/(reps*steps)*1e9/NDP); }
int main(){ for(int k=0;k<2;k++){
 RUN("A ymm 6x4 explicit bcast", A_STEP, 128, 24)
 RUN("B ymm 6x4 embedded bcast", B_STEP, 128, 24)
 RUN("C zmm 6x2 embedded", C_STEP, 128, 24)
 RUN("D zmm 6x4 explicit", D_STEP, 256, 48)
 RUN("E ymm 6x2 embedded", E_STEP, 64, 12)
 RUN("F zmm 6x2 explicit", F_STEP, 128, 24)
}}
