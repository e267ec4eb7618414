#pragma once
// Winograd F(2x2, 3x3) for f32 3x3 stride-1 convolutions on AVX2 CPUs, where oneDNN 2.6 has no
// Winograd convolution (its two are AVX-512 only) and runs its direct kernels at the FMA peak:
// 2.25x fewer multiply-adds. NHWC in and out; each 2x2 output tile's 4x4 input patch is
// transformed (B^T d B), multiplied with the transformed weights (G g G^T, once at creation) as 16
// matrix products on a 6x16 register tile in assembly, transformed back (A^T M A) and finished in
// registers: bias, a residual input added (oneDNN's sum post-op), then Relu or Clip. Its error is
// that of the direct kernels (tests/unit/onednn_winograd_f32_test.cpp).
#include <cstdint>
#include <vector>

namespace qbench::kernels::onednn {

struct WinogradF32Shape {
  int64_t batch = 1, in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
  int64_t pad_top = 0, pad_left = 0;
};

class WinogradF32Conv {
 public:
  // True where the CPU has AVX2 and FMA and the shape is one this kernel takes (3x3 stride 1 is
  // the caller's check): channels in whole 8-lane vectors, outputs of at least 7x7.
  static bool applies(const WinogradF32Shape& s);

  // `weights`: [out_c, in_c, 3, 3]; after the bias and residual, outputs are clamped to [lo, hi]
  // (Relu: [0, inf), Clip: its bounds, none: (-inf, inf)).
  WinogradF32Conv(const WinogradF32Shape& s, const float* weights, float lo, float hi);

  // x: [batch, in_h, in_w, in_c]; bias: [out_c] or null; residual: [batch, out_h, out_w, out_c]
  // or null, and may be y itself. Uses the calling thread's scratch slot 0 and the OpenMP
  // threads.
  void run(const float* x, const float* bias, const float* residual, float* y) const;

 private:
  WinogradF32Shape s_;
  int64_t panels_ = 0;
  float lo_, hi_;
  // [panel][xi][in_c][16 output channels]: G g G^T.
  std::vector<float> weights_;
};

}  // namespace qbench::kernels::onednn
