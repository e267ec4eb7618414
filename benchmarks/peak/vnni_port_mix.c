// Which AVX-512 instructions issue beside vpdpbusd for free, and which take its pipe: eight
// independent vpdpbusd chains and four chains of one other instruction per iteration; 8 cycles an
// iteration is the vpdpbusd peak with the others hidden. On Zen 4 (family 25 model 17): vmulps
// and vfmadd 12 (each one a vpdpbusd cycle), vpmovdb 9.3, the rest (vpaddd, vpmaxsd, vaddps,
// vmaxps, both conversions, vpmulld, vrndscaleps) 8.0-8.2. An epilogue's cost beside the products
// is its multiplies. Build and run (an AVX-512 VNNI CPU; "cycles" assume 3.6 GHz):
//   gcc -O2 -mavx512f -mavx512vnni -mavx512bw -mavx512vl benchmarks/peak/vnni_port_mix.c \
//     -o /tmp/mix && /tmp/mix
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
#define N 100000000L
#define DP                            \
  c0 = _mm512_dpbusd_epi32(c0, a, b); \
  c1 = _mm512_dpbusd_epi32(c1, a, b); \
  c2 = _mm512_dpbusd_epi32(c2, a, b); \
  c3 = _mm512_dpbusd_epi32(c3, a, b); \
  c4 = _mm512_dpbusd_epi32(c4, a, b); \
  c5 = _mm512_dpbusd_epi32(c5, a, b); \
  c6 = _mm512_dpbusd_epi32(c6, a, b); \
  c7 = _mm512_dpbusd_epi32(c7, a, b);
#define KEEP                                                                               \
  __asm__ volatile(""                                                                      \
                   : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5), "+v"(c6), \
                     "+v"(c7), "+v"(e0), "+v"(e1), "+v"(e2), "+v"(e3));
#define TEST(name, T, INIT, OP)                                                            \
  {                                                                                        \
    T e0 = INIT, e1 = INIT, e2 = INIT, e3 = INIT;                                          \
    double t = now();                                                                      \
    for (long i = 0; i < N; i++) {                                                         \
      DP OP(e0) OP(e1) OP(e2) OP(e3) KEEP                                                  \
    }                                                                                      \
    double dt = now() - t;                                                                 \
    printf("%-12s %.2f cycles/iter (8 dpbusd + 4 ops) at 3.6GHz\n", name, dt * 3.6e9 / N); \
  }
int main() {
  __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
          c7 = c0;
  __m512 fx = _mm512_set1_ps(1.0001f);
  __m512i ix = _mm512_set1_epi32(3);
#define NOP(e)
  TEST("none", __m512i, ix, NOP)
#define ADDD(e) e = _mm512_add_epi32(e, ix);
  TEST("vpaddd", __m512i, ix, ADDD)
#define MAXD(e) e = _mm512_max_epi32(e, ix);
  TEST("vpmaxsd", __m512i, ix, MAXD)
#define ADDPS(e) e = _mm512_add_ps(e, fx);
  TEST("vaddps", __m512, fx, ADDPS)
#define MULPS(e) e = _mm512_mul_ps(e, fx);
  TEST("vmulps", __m512, fx, MULPS)
#define FMA(e) e = _mm512_fmadd_ps(e, fx, fx);
  TEST("vfmadd", __m512, fx, FMA)
#define MAXPS(e) e = _mm512_max_ps(e, fx);
  TEST("vmaxps", __m512, fx, MAXPS)
#define CVT(e) e = _mm512_castps_si512(_mm512_cvtepi32_ps(e));
  TEST("vcvtdq2ps", __m512i, ix, CVT)
#define CVT2(e) e = _mm512_cvtps_epi32(_mm512_castsi512_ps(e));
  TEST("vcvtps2dq", __m512i, ix, CVT2)
#define MULLO(e) e = _mm512_mullo_epi32(e, ix);
  TEST("vpmulld", __m512i, ix, MULLO)
#define PMOV(e) e = _mm512_castsi128_si512(_mm512_cvtepi32_epi8(e));
  TEST("vpmovdb", __m512i, ix, PMOV)
#define RND(e) e = _mm512_castps_si512(_mm512_roundscale_ps(_mm512_castsi512_ps(e), 8));
  TEST("vrndscaleps", __m512i, ix, RND)
  printf("%d\n", _mm512_reduce_add_epi32(_mm512_add_epi32(c0, c7)));
}
