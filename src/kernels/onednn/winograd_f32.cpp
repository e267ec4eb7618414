#include "kernels/onednn/winograd_f32.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/onednn/cpu_paths.h"
#include "kernels/onednn/loops.h"

namespace qbench::kernels::onednn {

namespace {

// Compiled for AVX2 and FMA; run only where WinogradF32Conv::applies() said so.
#define QBENCH_AVX2 __attribute__((target("avx2,fma")))

constexpr int kTileRows = 6;               // tiles per register tile
constexpr int kPanel = 16;                 // output channels per weight panel (two registers of 8)
constexpr int kXi = 16;                    // positions of a 4x4 transformed tile
constexpr int64_t kRowsBytes = 512 << 10;  // transformed input rows per pass: about half of L2

using Acc = __m256[kTileRows][2];

// R tiles' rows of one transformed position (consecutive, `stride` floats apart) times one
// 16-channel panel over c input channels: 2R sums of 8 channels.
template <int R>
QBENCH_AVX2 void accumulate(const float* a, int64_t stride, const float* panel, int64_t c,
                            Acc& acc) {
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < c; ++k) {
    const __m256 w0 = _mm256_loadu_ps(panel + 16 * k), w1 = _mm256_loadu_ps(panel + 16 * k + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r * stride + k);
      acc[r][0] = _mm256_fmadd_ps(x, w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, w1, acc[r][1]);
    }
  }
}

// The full tile in assembly: twelve accumulators, two weight registers and a broadcast, which
// the compiler does not keep in the sixteen registers without spilling.
template <>
QBENCH_AVX2 void accumulate<kTileRows>(const float* a, int64_t stride, const float* panel,
                                       int64_t c, Acc& acc) {
  const int64_t bytes = stride * int64_t(sizeof(float));
  const float* p0 = a;
  const float* p3 = a + 3 * stride;
  const float* w = panel;
  int64_t n = c;
  asm volatile(
      "vxorps %%xmm0, %%xmm0, %%xmm0\n"
      "vxorps %%xmm1, %%xmm1, %%xmm1\n"
      "vxorps %%xmm2, %%xmm2, %%xmm2\n"
      "vxorps %%xmm3, %%xmm3, %%xmm3\n"
      "vxorps %%xmm4, %%xmm4, %%xmm4\n"
      "vxorps %%xmm5, %%xmm5, %%xmm5\n"
      "vxorps %%xmm6, %%xmm6, %%xmm6\n"
      "vxorps %%xmm7, %%xmm7, %%xmm7\n"
      "vxorps %%xmm8, %%xmm8, %%xmm8\n"
      "vxorps %%xmm9, %%xmm9, %%xmm9\n"
      "vxorps %%xmm10, %%xmm10, %%xmm10\n"
      "vxorps %%xmm11, %%xmm11, %%xmm11\n"
      "cmp $2, %[n]\n"
      "jb 3f\n"
      "1:\n"
      "vmovups (%[w]), %%ymm12\n"
      "vmovups 32(%[w]), %%ymm13\n"
      "vbroadcastss (%[p0]), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n"
      "vbroadcastss (%[p0],%[s],1), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm2\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm3\n"
      "vbroadcastss (%[p0],%[s],2), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n"
      "vbroadcastss (%[p3]), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm6\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm7\n"
      "vbroadcastss (%[p3],%[s],1), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n"
      "vbroadcastss (%[p3],%[s],2), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm10\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm11\n"
      "vmovups 64(%[w]), %%ymm12\n"
      "vmovups 96(%[w]), %%ymm13\n"
      "vbroadcastss 4(%[p0]), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n"
      "vbroadcastss 4(%[p0],%[s],1), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm2\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm3\n"
      "vbroadcastss 4(%[p0],%[s],2), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n"
      "vbroadcastss 4(%[p3]), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm6\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm7\n"
      "vbroadcastss 4(%[p3],%[s],1), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n"
      "vbroadcastss 4(%[p3],%[s],2), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm10\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm11\n"
      "add $128, %[w]\n"
      "add $8, %[p0]\n"
      "add $8, %[p3]\n"
      "sub $2, %[n]\n"
      "cmp $2, %[n]\n"
      "jae 1b\n"
      "3:\n"
      "test %[n], %[n]\n"
      "jz 2f\n"
      "vmovups (%[w]), %%ymm12\n"
      "vmovups 32(%[w]), %%ymm13\n"
      "vbroadcastss (%[p0]), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n"
      "vbroadcastss (%[p0],%[s],1), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm2\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm3\n"
      "vbroadcastss (%[p0],%[s],2), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n"
      "vbroadcastss (%[p3]), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm6\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm7\n"
      "vbroadcastss (%[p3],%[s],1), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n"
      "vbroadcastss (%[p3],%[s],2), %%ymm14\n"
      "vfmadd231ps %%ymm12, %%ymm14, %%ymm10\n"
      "vfmadd231ps %%ymm13, %%ymm14, %%ymm11\n"
      "2:\n"
      "vmovups %%ymm0, 0(%[out])\n"
      "vmovups %%ymm1, 32(%[out])\n"
      "vmovups %%ymm2, 64(%[out])\n"
      "vmovups %%ymm3, 96(%[out])\n"
      "vmovups %%ymm4, 128(%[out])\n"
      "vmovups %%ymm5, 160(%[out])\n"
      "vmovups %%ymm6, 192(%[out])\n"
      "vmovups %%ymm7, 224(%[out])\n"
      "vmovups %%ymm8, 256(%[out])\n"
      "vmovups %%ymm9, 288(%[out])\n"
      "vmovups %%ymm10, 320(%[out])\n"
      "vmovups %%ymm11, 352(%[out])\n"
      : [p0] "+r"(p0), [p3] "+r"(p3), [w] "+r"(w), [n] "+r"(n)
      : [s] "r"(bytes), [out] "r"(&acc[0][0])
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
}

// One tile's 16 transformed rows (V[xi] at v + xi * xi_stride) from its 4x4 input patch (null
// pixels lie in the padding), c channels (a multiple of 8): V = B^T d B.
QBENCH_AVX2 void transform_input(const float* const* patch, int64_t c, float* v,
                                 int64_t xi_stride) {
  for (int64_t c0 = 0; c0 < c; c0 += 8) {
    __m256 d[kXi], t[kXi];
    for (int q = 0; q < kXi; ++q)
      d[q] = patch[q] ? _mm256_loadu_ps(patch[q] + c0) : _mm256_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      t[j] = _mm256_sub_ps(d[j], d[8 + j]);
      t[4 + j] = _mm256_add_ps(d[4 + j], d[8 + j]);
      t[8 + j] = _mm256_sub_ps(d[8 + j], d[4 + j]);
      t[12 + j] = _mm256_sub_ps(d[4 + j], d[12 + j]);
    }
    for (int i = 0; i < 4; ++i) {
      const __m256* r = t + 4 * i;
      float* o = v + 4 * i * xi_stride + c0;
      _mm256_storeu_ps(o, _mm256_sub_ps(r[0], r[2]));
      _mm256_storeu_ps(o + xi_stride, _mm256_add_ps(r[1], r[2]));
      _mm256_storeu_ps(o + 2 * xi_stride, _mm256_sub_ps(r[2], r[1]));
      _mm256_storeu_ps(o + 3 * xi_stride, _mm256_sub_ps(r[1], r[3]));
    }
  }
}

struct Finish {
  const float* bias;  // padded to whole panels; zeros without a bias
  float lo, hi;
};

// The 2x2 outputs of tile r from its 16 products (8 channels, half h): Y = A^T M A.
QBENCH_AVX2 inline void transform_output(const Acc* m, int r, int h, __m256 y[4]) {
  __m256 s[8];
  for (int j = 0; j < 4; ++j) {
    const __m256 m0 = m[j][r][h], m1 = m[4 + j][r][h], m2 = m[8 + j][r][h], m3 = m[12 + j][r][h];
    s[j] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
    s[4 + j] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
  }
  for (int i = 0; i < 2; ++i) {
    const __m256* q = s + 4 * i;
    y[2 * i] = _mm256_add_ps(_mm256_add_ps(q[0], q[1]), q[2]);
    y[2 * i + 1] = _mm256_sub_ps(_mm256_sub_ps(q[1], q[2]), q[3]);
  }
}

// + bias, + residual (read before y is written: they may be the same pixel), clamped; 16
// channels (`count` where the panel is the last).
QBENCH_AVX2 inline void finish16(__m256 y0, __m256 y1, const float* bias, const float* z,
                                 const Finish& f, int64_t count, float* y) {
  y0 = _mm256_add_ps(y0, _mm256_loadu_ps(bias));
  y1 = _mm256_add_ps(y1, _mm256_loadu_ps(bias + 8));
  alignas(32) float tmp[kPanel];
  if (z) {
    if (count == kPanel) {
      y0 = _mm256_add_ps(y0, _mm256_loadu_ps(z));
      y1 = _mm256_add_ps(y1, _mm256_loadu_ps(z + 8));
    } else {
      std::fill(tmp, tmp + kPanel, 0.f);
      std::memcpy(tmp, z, size_t(count) * sizeof(float));
      y0 = _mm256_add_ps(y0, _mm256_load_ps(tmp));
      y1 = _mm256_add_ps(y1, _mm256_load_ps(tmp + 8));
    }
  }
  const __m256 lo = _mm256_set1_ps(f.lo), hi = _mm256_set1_ps(f.hi);
  y0 = _mm256_min_ps(_mm256_max_ps(y0, lo), hi);
  y1 = _mm256_min_ps(_mm256_max_ps(y1, lo), hi);
  if (count == kPanel) {
    _mm256_storeu_ps(y, y0);
    _mm256_storeu_ps(y + 8, y1);
  } else {
    _mm256_store_ps(tmp, y0);
    _mm256_store_ps(tmp + 8, y1);
    std::memcpy(y, tmp, size_t(count) * sizeof(float));
  }
}

// R tiles x one panel: 16 products, transformed back, finished into out[r][q] (the tile's four
// output pixels, null outside the image), reading the residual at res[r][q].
template <int R>
QBENCH_AVX2 void tile(const float* v, int64_t xi_stride, int64_t c, const float* panel,
                      const Finish& f, int64_t ch0, int64_t count, float* const (*out)[4],
                      const float* const (*res)[4]) {
  Acc m[kXi];
  for (int xi = 0; xi < kXi; ++xi)
    accumulate<R>(v + xi * xi_stride, c, panel + xi * c * kPanel, c, m[xi]);
  for (int r = 0; r < R; ++r) {
    __m256 lo[4], hi[4];
    transform_output(m, r, 0, lo);
    transform_output(m, r, 1, hi);
    for (int q = 0; q < 4; ++q)
      if (out[r][q])
        finish16(lo[q], hi[q], f.bias + ch0, res[r][q] ? res[r][q] + ch0 : nullptr, f, count,
                 out[r][q] + ch0);
  }
}

using TileFn = void (*)(const float*, int64_t, int64_t, const float*, const Finish&, int64_t,
                        int64_t, float* const (*)[4], const float* const (*)[4]);
constexpr TileFn kTiles[kTileRows + 1] = {nullptr, tile<1>, tile<2>, tile<3>,
                                          tile<4>, tile<5>, tile<6>};

}  // namespace

bool WinogradF32Conv::applies(const WinogradF32Shape& s) {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && onednn_has_avx2() &&
         s.in_c % 8 == 0 && s.out_h >= 7 && s.out_w >= 7;
}

WinogradF32Conv::WinogradF32Conv(const WinogradF32Shape& s, const float* w, float lo, float hi)
    : s_(s), lo_(lo), hi_(hi) {
  panels_ = (s.out_c + kPanel - 1) / kPanel;
  // U = G g G^T with G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]], in double.
  static constexpr double g[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  weights_.assign(size_t(panels_ * kXi * s.in_c * kPanel), 0.f);
  for (int64_t m = 0; m < s.out_c; ++m)
    for (int64_t c = 0; c < s.in_c; ++c) {
      const float* k = w + (m * s.in_c + c) * 9;
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          double u = 0;
          for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) u += g[i][a] * double(k[a * 3 + b]) * g[j][b];
          const int64_t to = ((m / kPanel * kXi + i * 4 + j) * s.in_c + c) * kPanel + m % kPanel;
          weights_[size_t(to)] = float(u);
        }
    }
}

void WinogradF32Conv::run(const float* x, const float* bias, const float* residual,
                          float* y) const {
  const WinogradF32Shape& s = s_;
  const int64_t th = (s.out_h + 1) / 2, tw = (s.out_w + 1) / 2, tiles = s.batch * th * tw;
  const int64_t c = s.in_c;
  // Tiles per pass: their 16 transformed rows stay in L2 while every panel streams past them.
  // Up to twice that in one pass rather than stream the weights (16 MB at 512 channels) twice.
  const int64_t all = (tiles + kTileRows - 1) / kTileRows * kTileRows;
  int64_t chunk = std::max<int64_t>(kTileRows, kRowsBytes / (kXi * c * 4) / kTileRows * kTileRows);
  chunk = all <= 2 * chunk ? all : chunk;
  auto* v = static_cast<float*>(thread_scratch(0, size_t(kXi * chunk * c) * sizeof(float)));
  auto* padded_bias = static_cast<float*>(thread_scratch(1, size_t(panels_ * kPanel) * 4));
  std::fill(padded_bias, padded_bias + panels_ * kPanel, 0.f);
  if (bias) std::copy(bias, bias + s.out_c, padded_bias);
  const Finish f{padded_bias, lo_, hi_};
  const bool parallel = omp_get_max_threads() > 1 && tiles * s.out_c * c >= (int64_t(1) << 16);
  auto origin = [&](int64_t t, int64_t& b, int64_t& oh, int64_t& ow) {
    b = t / (th * tw);
    oh = t / tw % th * 2;
    ow = t % tw * 2;
  };
  for (int64_t t0 = 0; t0 < tiles; t0 += chunk) {
    const int64_t n = std::min(chunk, tiles - t0);
    const int64_t blocks = (n + kTileRows - 1) / kTileRows;
#pragma omp parallel if (parallel)
    {
#pragma omp for schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        int64_t b, oh, ow;
        origin(t0 + i, b, oh, ow);
        const float* patch[kXi];
        for (int q = 0; q < kXi; ++q) {
          const int64_t ih = oh - s.pad_top + q / 4, iw = ow - s.pad_left + q % 4;
          patch[q] = ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w
                         ? nullptr
                         : x + ((b * s.in_h + ih) * s.in_w + iw) * c;
        }
        transform_input(patch, c, v + i * c, chunk * c);
      }
#pragma omp for schedule(static)
      for (int64_t t = 0; t < panels_ * blocks; ++t) {
        const int64_t panel = t / blocks, i0 = t % blocks * kTileRows;
        const int r = int(std::min<int64_t>(kTileRows, n - i0));
        float* out[kTileRows][4];
        const float* res[kTileRows][4];
        for (int j = 0; j < r; ++j) {
          int64_t b, oh, ow;
          origin(t0 + i0 + j, b, oh, ow);
          for (int q = 0; q < 4; ++q) {
            const int64_t h = oh + q / 2, w = ow + q % 2;
            const int64_t at = ((b * s.out_h + h) * s.out_w + w) * s.out_c;
            const bool inside = h < s.out_h && w < s.out_w;
            out[j][q] = inside ? y + at : nullptr;
            res[j][q] = inside && residual ? residual + at : nullptr;
          }
        }
        const int64_t ch0 = panel * kPanel;
        kTiles[r](v + i0 * c, chunk * c, c, weights_.data() + panel * kXi * c * kPanel, f, ch0,
                  std::min<int64_t>(kPanel, s.out_c - ch0), out, res);
      }
    }
  }
}

}  // namespace qbench::kernels::onednn
