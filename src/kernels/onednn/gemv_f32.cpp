#include "kernels/onednn/gemv_f32.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <new>

#include "kernels/onednn/cpu_paths.h"

namespace qbench::kernels::onednn {

namespace {

constexpr int kPanel = 64;  // columns per panel: four zmm
constexpr int64_t kMinWeightBytes = int64_t(1) << 20;

// One panel of 64 columns for R rows of x over k: y[r][0..63] = x[r] . panel, where the panel
// holds k rows of 64 weights. With one row, two steps at a time into two sets of sums, so that
// eight FMA chains are in flight. No software prefetch: the stream is sequential, and prefetching
// 4-16 KB ahead ran no faster in the model (MobileNetV2's classifier, 1 thread).
template <int R>
__attribute__((target("avx512f"))) void panel(const float* x, int64_t k, const float* p, float* y) {
  constexpr int U = R == 1 ? 2 : 1;
  __m512 acc[U][R][4];
  for (int u = 0; u < U; ++u)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < 4; ++j) acc[u][r][j] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + U <= k; i += U)
    for (int u = 0; u < U; ++u) {
      const float* w = p + (i + u) * kPanel;
      const __m512 w0 = _mm512_load_ps(w), w1 = _mm512_load_ps(w + 16);
      const __m512 w2 = _mm512_load_ps(w + 32), w3 = _mm512_load_ps(w + 48);
      for (int r = 0; r < R; ++r) {
        const __m512 b = _mm512_set1_ps(x[r * k + i + u]);
        acc[u][r][0] = _mm512_fmadd_ps(b, w0, acc[u][r][0]);
        acc[u][r][1] = _mm512_fmadd_ps(b, w1, acc[u][r][1]);
        acc[u][r][2] = _mm512_fmadd_ps(b, w2, acc[u][r][2]);
        acc[u][r][3] = _mm512_fmadd_ps(b, w3, acc[u][r][3]);
      }
    }
  for (; i < k; ++i)
    for (int r = 0; r < R; ++r) {
      const __m512 b = _mm512_set1_ps(x[r * k + i]);
      for (int j = 0; j < 4; ++j)
        acc[0][r][j] = _mm512_fmadd_ps(b, _mm512_load_ps(p + i * kPanel + 16 * j), acc[0][r][j]);
    }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < 4; ++j) {
      __m512 s = acc[0][r][j];
      for (int u = 1; u < U; ++u) s = _mm512_add_ps(s, acc[u][r][j]);
      _mm512_storeu_ps(y + r * kPanel + 16 * j, s);
    }
}

using PanelFn = void (*)(const float*, int64_t, const float*, float*);

}  // namespace

bool GemvF32::applies(int64_t rows, int64_t k, int64_t n) {
  return rows >= 1 && rows <= 2 && k * n * int64_t(sizeof(float)) >= kMinWeightBytes &&
         __builtin_cpu_supports("avx512f") && onednn_has_avx512_core();
}

GemvF32::GemvF32(int64_t k, int64_t n, const float* w, int64_t k_stride, int64_t n_stride)
    : k_(k), n_(n) {
  panels_ = (n + kPanel - 1) / kPanel;
  const size_t bytes = size_t(panels_ * k_ * kPanel) * sizeof(float);
  w_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
  if (!w_) throw std::bad_alloc();
  for (int64_t p = 0; p < panels_; ++p)
    for (int64_t i = 0; i < k_; ++i) {
      float* to = w_.get() + (p * k_ + i) * kPanel;
      for (int64_t c = 0; c < kPanel; ++c) {
        const int64_t j = p * kPanel + c;
        to[c] = j < n_ ? w[i * k_stride + j * n_stride] : 0.f;
      }
    }
}

void GemvF32::run(const float* x, int64_t rows, const float* bias, float* y) const {
  const PanelFn fn = rows == 1 ? panel<1> : panel<2>;
  const int64_t k = k_, n = n_;
#pragma omp parallel for schedule(static) if (omp_get_max_threads() > 1)
  for (int64_t p = 0; p < panels_; ++p) {
    alignas(64) float out[2 * kPanel];
    fn(x, k, w_.get() + p * k * kPanel, out);
    const int64_t j0 = p * kPanel, count = std::min<int64_t>(kPanel, n - j0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < count; ++c)
        y[r * n + j0 + c] = out[r * kPanel + c] + (bias ? bias[j0 + c] : 0.f);
  }
}

}  // namespace qbench::kernels::onednn
