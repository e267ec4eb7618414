#pragma once
// f32 matrix-vector products, y = x W (+ bias), for matmuls of one or two rows (batch 1 and 2)
// with constant weights too large to stay in cache from one run of a model to the next: a
// classifier's 1280 x 1000 (MobileNetV2, 5 MB) or 2048 x 1000 (ResNet-50, 8 MB). Each weight is
// used once per row, so the product runs at the speed memory delivers the weights. There oneDNN
// 2.6's AVX-512 matmul (brgemm) reads them at two thirds of that speed: MobileNetV2's classifier,
// one thread, Zen 4, took 380 us on it against 250 here and ONNX Runtime's 259 (its AVX2 matmul,
// gemm:jit, and this kernel on 256-bit panels were both at ONNX Runtime's speed, so only
// AVX-512 takes this kernel). Here the weights are packed once at creation into panels of 64
// columns, each panel one sequential stream. Its sums run in a different order from oneDNN's:
// the error is of the same size (tests/unit/onednn_gemv_f32_test.cpp).
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace qbench::kernels::onednn {

class GemvF32 {
 public:
  // True where this kernel takes a [rows, k] x [k, n] product: the CPU has AVX-512 and oneDNN
  // may use it, at most two rows, and weights of at least 1 MiB.
  static bool applies(int64_t rows, int64_t k, int64_t n);

  // Weight (i, j) of the [k, n] matrix is w[i * k_stride + j * n_stride] (n_stride = k,
  // k_stride = 1 for Gemm's transB).
  GemvF32(int64_t k, int64_t n, const float* w, int64_t k_stride, int64_t n_stride);

  // x: [rows, k] row-major (rows <= 2); bias: [n] or null; y: [rows, n]. Splits the panels over
  // the OpenMP threads.
  void run(const float* x, int64_t rows, const float* bias, float* y) const;

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  int64_t k_, n_, panels_;
  // [panel][k][64 columns], columns past n zero; 64-byte aligned (one cache line per load).
  std::unique_ptr<float[], Free> w_;
};

}  // namespace qbench::kernels::onednn
