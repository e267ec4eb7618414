// A hand-written AVX-512 VNNI 1x1 int8 kernel against which to judge oneDNN's brgconv
// (brgconv_1x1_epilogue.cpp): register tiles of 6 pixels x 64 channels (24 zmm sums, vpdpbusd,
// the source's bytes broadcast), the sums started from -zp x sum(w), and each tile's exact
// requantization (qbench's float operations in their order, with or without the residual add)
// run while the next tile multiplies, two zmm of it per step of 4 input channels, so that its
// instructions issue beside the products. Checks its bytes against a scalar reference ("bad"),
// medians of 200 runs, one thread. A measurement, not a kernel qbench runs: on Zen 4 it equals
// brgconv except at K = 64 with a residual (351 against 383 us), see
// benchmarks/results/vnni-1x1-floor-2026-12-06-zen4.txt. Build and run (an AVX-512 VNNI CPU):
//   g++ -O2 benchmarks/peak/vnni_1x1_tile.cpp -o /tmp/own && /tmp/own
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>
#define T __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
struct Ep {
  const int32_t* init;
  const float *bias, *scale;
  float lo, hi, zp;
  bool res;
  float q_lo, q_hi, ka, beta, kb;
};
constexpr int R = 6, Z = 4;
struct Pending {
  alignas(64) __m512i acc[R * Z];
  uint8_t* y[R];
  int rows = 0;
  int ch0;
};
T inline void epi1(const Pending& p, int i, const Ep& e) {
  const int r = i / Z, z = i % Z;
  if (r >= p.rows) return;
  const int c = p.ch0 + 16 * z;
  __m512 f = _mm512_mul_ps(
      _mm512_add_ps(_mm512_cvtepi32_ps(_mm512_load_si512(&p.acc[i])), _mm512_loadu_ps(e.bias + c)),
      _mm512_loadu_ps(e.scale + c));
  uint8_t* out = p.y[r] + c;
  if (e.res) {
    const __m512i ri = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i*)out));
    f = _mm512_roundscale_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(e.q_lo)), _mm512_set1_ps(e.q_hi));
    f = _mm512_fmadd_ps(f, _mm512_set1_ps(e.ka), _mm512_set1_ps(e.beta));
    f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ri), _mm512_set1_ps(e.kb), f);
  }
  f = _mm512_add_ps(_mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(e.lo)), _mm512_set1_ps(e.hi)),
                    _mm512_set1_ps(e.zp));
  _mm_storeu_si128((__m128i*)out, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(f)));
}
template <int RR>
T __attribute__((noinline)) void tile(const uint8_t* const* x, const int8_t* w, int64_t quads,
                                      const Ep& e, int ch0, Pending& prev, Pending& next) {
  __m512i acc[RR][Z];
#pragma GCC unroll 8
  for (int r = 0; r < RR; ++r)
#pragma GCC unroll 8
    for (int z = 0; z < Z; ++z) acc[r][z] = _mm512_loadu_si512(e.init + ch0 + 16 * z);
  int done = 0;
  for (int64_t q = 0; q < quads; ++q) {
    __m512i wv[Z];
#pragma GCC unroll 8
    for (int z = 0; z < Z; ++z) wv[z] = _mm512_loadu_si512(w + (q * Z + z) * 64);
#pragma GCC unroll 8
    for (int r = 0; r < RR; ++r) {
      int32_t v;
      std::memcpy(&v, x[r] + 4 * q, 4);
      const __m512i b = _mm512_set1_epi32(v);
#pragma GCC unroll 8
      for (int z = 0; z < Z; ++z) acc[r][z] = _mm512_dpbusd_epi32(acc[r][z], b, wv[z]);
    }
    if (done < R * Z) {
      epi1(prev, done, e);
      epi1(prev, done + 1, e);
      done += 2;
    }
  }
  for (; done < R * Z; ++done) epi1(prev, done, e);
#pragma GCC unroll 8
  for (int r = 0; r < RR; ++r)
#pragma GCC unroll 8
    for (int z = 0; z < Z; ++z) _mm512_store_si512(&next.acc[r * Z + z], acc[r][z]);
}
int main(int argc, char** argv) {
  struct L {
    int hw, ic, oc;
  } ls[] = {{56, 64, 256},   {56, 256, 64},   {28, 128, 512}, {28, 512, 128},
            {14, 256, 1024}, {14, 1024, 256}, {7, 512, 2048}, {7, 2048, 512}};
  std::mt19937 rng(1);
  for (auto l : ls)
    for (int res = 0; res < 2; ++res) {
      const int P = l.hw * l.hw, K = l.ic, N = l.oc, quads = K / 4, panels = N / (16 * Z);
      std::vector<uint8_t> x(P * K + 64);
      for (auto& v : x) v = rng() % 2 ? 0 : rng() % 256;
      std::vector<int8_t> wt(N * K);
      for (auto& v : wt) v = int(rng() % 255) - 127;
      std::vector<int8_t> wp(N * K);
      std::vector<int32_t> comp(N, 0);
      std::vector<float> bias(N, 3.f), scale(N);
      for (int n = 0; n < N; ++n) {
        scale[n] = 0.0005f + 0.0001f * (n % 7);
        for (int k = 0; k < K; ++k) {
          wp[(((n / (16 * Z)) * quads + k / 4) * 16 * Z + n % (16 * Z)) * 4 + k % 4] =
              wt[n * K + k];
          comp[n] += 3 * wt[n * K + k];
        }
      }
      std::vector<int32_t> init(N);
      for (int n = 0; n < N; ++n) init[n] = -comp[n];
      Ep e{init.data(), bias.data(), scale.data(), -3.f, 252.f, 3.f,
           bool(res),   -5.f,        250.f,        0.7f, 2.f,   0.4f};
      std::vector<uint8_t> y(P * N + 64), r0(P * N);
      for (auto& v : r0) v = rng() % 256;
      Pending pend[2];
      auto run = [&] {
        int cur = 0;
        pend[0].rows = pend[1].rows = 0;
        for (int p = 0; p < panels; ++p) {
          const int8_t* wpp = wp.data() + p * quads * 64 * Z;
          // Whole tiles of R pixels, then the last ones one at a time (3136 = 6 x 522 + 4).
          for (int i = 0; i < P;) {
            const int rr = P - i >= R ? R : 1;
            const uint8_t* xs[R];
            Pending& nx = pend[cur ^ 1];
            for (int j = 0; j < rr; ++j) {
              xs[j] = x.data() + (i + j) * K;
              nx.y[j] = y.data() + (i + j) * N;
            }
            if (rr == R)
              tile<R>(xs, wpp, quads, e, p * 16 * Z, pend[cur], nx);
            else
              tile<1>(xs, wpp, quads, e, p * 16 * Z, pend[cur], nx);
            nx.rows = rr;
            nx.ch0 = p * 16 * Z;
            cur ^= 1;
            i += rr;
          }
        }
        for (int d = 0; d < R * Z; ++d) epi1(pend[cur], d, e);
      };
      if (res) std::memcpy(y.data(), r0.data(), r0.size());
      run();
      int bad = 0;
      for (int p = 0; p < P; p += (p < P - 8 ? 7 : 1))
        for (int n = 0; n < N; n += 3) {
          int32_t a = 0;
          for (int k = 0; k < K; ++k) a += (int(x[p * K + k]) - 3) * wt[n * K + k];
          float f = (float(a) + bias[n]) * scale[n];
          if (res) {
            f = std::nearbyint(f);
            f = std::min(std::max(f, e.q_lo), e.q_hi);
            f = std::fma(f, e.ka, e.beta);
            f = std::fma(float(r0[p * N + n]), e.kb, f);
          }
          f = std::min(std::max(f, e.lo), e.hi) + e.zp;
          if (int(std::nearbyint(f)) != y[p * N + n]) ++bad;
        }
      for (int i = 0; i < 20; ++i) run();
      std::vector<double> t;
      for (int i = 0; i < 200; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        run();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() *
                    1e6);
      }
      std::sort(t.begin(), t.end());
      std::printf("%2d %4d->%4d res %d: %7.1f us %6.1f GMAC/s bad %d\n", l.hw, l.ic, l.oc, res,
                  t[100], double(P) * K * N / t[100] / 1e3, bad);
    }
}
