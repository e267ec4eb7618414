#pragma once
// The arithmetic of ONNX's QuantizeLinear / DequantizeLinear, header-only and in the core layer
// so the reference kernels and the quantizer, a layer above them, share one definition of the
// rounding. The namespace stays quant: it is the quantization arithmetic wherever it lives.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace qbench::quant {

// Round half to even (the default FE_TONEAREST mode), as ONNX specifies for QuantizeLinear.
inline double round_half_even(double v) {
  return std::nearbyint(v);
}

// saturate(round(x / scale) + zero_point) into [qmin, qmax]. The division is in float, as in
// ONNX's reference implementation and ONNX Runtime, so ties round the same way.
inline int32_t quantize_value(float x, float scale, int32_t zero_point, int32_t qmin,
                              int32_t qmax) {
  double q = round_half_even(static_cast<double>(x / scale)) + zero_point;
  if (std::isnan(q)) q = zero_point;
  return static_cast<int32_t>(std::clamp<double>(q, qmin, qmax));
}

// Requantization of an int32 accumulator (bias included) into [qmin, qmax]:
// saturate(round(acc * multiplier + zero_point)), where multiplier = in_scale * w_scale /
// out_scale. The product and the sum are in float, as ONNX Runtime and oneDNN compute them (and
// in the order of ONNX's reference, which adds the zero point before rounding); ONNX's numpy
// reference works in double, which differs only on inputs a float rounding puts on a tie.
inline int32_t requantize_value(int64_t acc, float multiplier, int32_t zero_point, int32_t qmin,
                                int32_t qmax) {
  const float v = static_cast<float>(acc) * multiplier + static_cast<float>(zero_point);
  return static_cast<int32_t>(std::clamp<double>(round_half_even(v), qmin, qmax));
}

inline float dequantize_value(int32_t q, float scale, int32_t zero_point) {
  return static_cast<float>(q - zero_point) * scale;
}

}  // namespace qbench::quant
