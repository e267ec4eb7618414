#include "kernels/ref/dispatch.h"

namespace qbench::kernels::ref {

Tensor widen_half(const Tensor& t) {
  if (!is_half(t.dtype())) return t;
  Tensor out(DType::F32, t.shape());
  const uint16_t* src = static_cast<const uint16_t*>(t.raw());
  float* dst = out.data<float>();
  const bool bf = t.dtype() == DType::BF16;
  for (int64_t i = 0; i < t.numel(); ++i)
    dst[i] = bf ? bf16_to_float(src[i]) : half_to_float(src[i]);
  return out;
}

void narrow_half(const Tensor& src, Tensor& dst) {
  const float* s = src.data<float>();
  uint16_t* d = static_cast<uint16_t*>(dst.raw());
  const bool bf = dst.dtype() == DType::BF16;
  for (int64_t i = 0; i < dst.numel(); ++i) d[i] = bf ? float_to_bf16(s[i]) : float_to_half(s[i]);
}

}  // namespace qbench::kernels::ref
