// The two ways an AVX2 CPU without VNNI multiplies int8, one core, twelve independent chains in
// assembly: exact int16 (vpmaddwd: s16 x s16 pair sums in int32, then vpaddd into the
// accumulator: 16 MACs per two instructions), as qbench's exact int16 kernels
// (kernels/onednn/exact_int8_conv.h), and the u8 x s8 path oneDNN and ONNX Runtime take
// (vpmaddubsw: pair sums saturated to int16, vpmaddwd by ones to widen them, vpaddd: 32 MACs per
// three); and that path with two quads' pair sums added in int16 before widening (vpaddw: 64 MACs
// per five), exact for bytes below 128 and weights within [-64, 64], as qbench's paired byte
// products. Build and run (any x86-64 CPU with AVX2):
//   gcc -O2 benchmarks/peak/avx2_int8.c -o /tmp/avx2_int8 && /tmp/avx2_int8
#include <stdio.h>
#include <time.h>
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
#define INT16(N) "vpmaddwd %%ymm12, %%ymm13, %%ymm14\n vpaddd %%ymm14, %%ymm" #N ", %%ymm" #N "\n"
#define U8S8(N)                                                                 \
  "vpmaddubsw %%ymm12, %%ymm13, %%ymm14\n vpmaddwd %%ymm15, %%ymm14, %%ymm14\n" \
  "vpaddd %%ymm14, %%ymm" #N ", %%ymm" #N "\n"
#define U8S8_PAIRED(N)                                                            \
  "vpmaddubsw %%ymm12, %%ymm13, %%ymm14\n vpmaddubsw %%ymm13, %%ymm12, %%ymm11\n" \
  "vpaddw %%ymm11, %%ymm14, %%ymm14\n vpmaddwd %%ymm15, %%ymm14, %%ymm14\n"       \
  "vpaddd %%ymm14, %%ymm" #N ", %%ymm" #N "\n"
#define ELEVEN(S) S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10)
#define TWELVE(S) S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11)
#define CLOBBERS                                                                           \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
      "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc"
#define SETUP "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n vpsrlw $15, %%ymm15, %%ymm15\n"
int main(void) {
  const long n = 200000000;
  long i = n;
  double t = now();
  __asm__ volatile(SETUP "1:\n" TWELVE(INT16) "dec %0\n jnz 1b\n" : "+r"(i) : : CLOBBERS);
  const double int16 = n * 12.0 * 16 / (now() - t) / 1e9;
  i = n;
  t = now();
  __asm__ volatile(SETUP "1:\n" TWELVE(U8S8) "dec %0\n jnz 1b\n" : "+r"(i) : : CLOBBERS);
  const double u8s8 = n * 12.0 * 32 / (now() - t) / 1e9;
  i = n;
  t = now();  // eleven chains: ymm11 is a temporary
  __asm__ volatile(SETUP "1:\n" ELEVEN(U8S8_PAIRED) "dec %0\n jnz 1b\n" : "+r"(i) : : CLOBBERS);
  const double paired = n * 11.0 * 64 / (now() - t) / 1e9;
  printf("int16 vpmaddwd + vpaddd:                 %.1f GMAC/s\n", int16);
  printf("u8 x s8 vpmaddubsw + vpmaddwd + vpaddd:  %.1f GMAC/s\n", u8s8);
  printf("u8 x s8, two quads paired by vpaddw:     %.1f GMAC/s\n", paired);
  return 0;
}
