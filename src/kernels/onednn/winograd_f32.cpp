#include "kernels/onednn/winograd_f32.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/onednn/avx2_tile.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/onednn/loops.h"

namespace qbench::kernels::onednn {

namespace {

using Acc = __m256[kTileRows][2];

// R tiles' rows of one transformed position (consecutive, `stride` floats apart) times one
// 16-channel panel over c input channels: 2R sums of 8 channels, kept in a local array (in
// registers; `acc` may alias the rows, as exact_int8_conv.cpp's accumulate_steps says).
template <int R>
QBENCH_AVX2 void accumulate(const float* a, int64_t stride, const float* panel, int64_t c,
                            Acc& acc) {
  __m256 sum[R][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) sum[r][0] = sum[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < c; ++k) {
    prefetch_weights(panel + 16 * k);
    const __m256 w0 = _mm256_loadu_ps(panel + 16 * k), w1 = _mm256_loadu_ps(panel + 16 * k + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r * stride + k);
      sum[r][0] = _mm256_fmadd_ps(x, w0, sum[r][0]);
      sum[r][1] = _mm256_fmadd_ps(x, w1, sum[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    acc[r][0] = sum[r][0];
    acc[r][1] = sum[r][1];
  }
}

#define QBENCH_F32_ROW(ADDR, ACC0, ACC1)     \
  "vbroadcastss " ADDR                       \
  ", %%ymm14\n"                              \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm" ACC0 \
  "\n"                                       \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm" ACC1 "\n"
#define QBENCH_F32_STEP(W0, W1, B)              \
  "vmovups " W0 "(%[w]), %%ymm12\n vmovups " W1 \
  "(%[w]), %%ymm13\n" QBENCH_TILE_ROWS(QBENCH_F32_ROW, B)

// The full tile in assembly (avx2_tile.h).
template <>
QBENCH_AVX2 void accumulate<kTileRows>(const float* a, int64_t stride, const float* panel,
                                       int64_t c, Acc& acc) {
  const int64_t bytes = stride * int64_t(sizeof(float));
  const float* p0 = a;
  const float* p3 = a + 3 * stride;
  const float* w = panel;
  int64_t n = c;
  asm volatile(QBENCH_TILE_LOOP(QBENCH_F32_STEP)
                   QBENCH_TILE_OPERANDS(p0, p3, w, n, bytes, &acc[0][0]));
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
  return own_avx2_kernels() && s.in_c % 8 == 0 && s.out_h >= 7 && s.out_w >= 7;
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
  const WinogradTiles tiles{s.batch, s.in_h, s.in_w, s.out_h, s.out_w, s.pad_top, s.pad_left};
  const int64_t c = s.in_c, count = tiles.count();
  const int64_t chunk = rows_per_pass(count, kXi * c * int64_t(sizeof(float)),
                                      int64_t(weights_.size() * sizeof(float)));
  auto* v = static_cast<float*>(thread_scratch(0, size_t(kXi * chunk * c) * sizeof(float)));
  auto* padded_bias = static_cast<float*>(thread_scratch(1, size_t(panels_ * kPanel) * 4));
  std::fill(padded_bias, padded_bias + panels_ * kPanel, 0.f);
  if (bias) std::copy(bias, bias + s.out_c, padded_bias);
  const Finish f{padded_bias, lo_, hi_};
  const bool parallel = omp_get_max_threads() > 1 && count * s.out_c * c >= (int64_t(1) << 16);
  run_passes(
      count, chunk, panels_, parallel, kXi * c * int64_t(sizeof(float)),
      int64_t(weights_.size() * sizeof(float)),
      [&](int64_t i, int64_t t) {
        const float* patch[kXi];
        tiles.patch(t, x, c, patch);
        transform_input(patch, c, v + i * c, chunk * c);
      },
      [&](int64_t panel, int64_t i0, int64_t t0, int r) {
        float* out[kTileRows][4];
        const float* res[kTileRows][4];
        for (int j = 0; j < r; ++j) {
          int64_t pixel[4];
          tiles.outputs(t0 + j, pixel);
          for (int q = 0; q < 4; ++q) {
            out[j][q] = pixel[q] < 0 ? nullptr : y + pixel[q] * s.out_c;
            res[j][q] = pixel[q] < 0 || !residual ? nullptr : residual + pixel[q] * s.out_c;
          }
        }
        const int64_t ch0 = panel * kPanel;
        kTiles[r](v + i0 * c, chunk * c, c, weights_.data() + panel * kXi * c * kPanel, f, ch0,
                  std::min<int64_t>(kPanel, s.out_c - ch0), out, res);
      });
}

}  // namespace qbench::kernels::onednn
