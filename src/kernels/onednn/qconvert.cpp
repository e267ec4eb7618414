// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear with one scale per tensor, as plain
// loops the compiler vectorizes: the float <-> uint8/int8 conversions at the borders of every
// quantized region. They must equal the reference bit for bit (the conformance suite and the
// quantized zoo tests compare them), so rounding is ONNX's: the quotient x / scale in float,
// rounded half to even. Rounding by adding and subtracting 1.5 * 2^23 does exactly that in the
// default rounding mode, and vectorizes where nearbyint does not; clamping to the integer range
// first keeps the value small enough for the trick and changes nothing, as the bounds are
// integers and rounding is monotonic.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/onednn/factories.h"
#include "kernels/onednn/loops.h"
#include "kernels/onednn/qcommon.h"
#include "kernels/ref/qbench_ops.h"

namespace qbench::kernels::onednn {

namespace {

template <typename T>
QBENCH_CLONES void quantize_block(const float* x, T* y, int64_t n, float scale, int32_t zp,
                                  float lo, float hi) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    v = v == v ? v : 0.0f;  // NaN -> the zero point, as the reference does
    v = v < lo ? lo : (v > hi ? hi : v);
    v = (v + kMagic) - kMagic;
    y[i] = static_cast<T>(static_cast<int32_t>(v) + zp);
  }
}

template <typename T>
QBENCH_CLONES void dequantize_block(const T* x, float* y, int64_t n, float scale, int32_t zp) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(int32_t(x[i]) - zp) * scale;
}

template <typename T>
void quantize_span(const float* x, T* y, int64_t n, float scale, int32_t zp, int32_t qmin,
                   int32_t qmax) {
  const float lo = float(qmin - zp), hi = float(qmax - zp);
  split_loop(n, [&](int64_t b, int64_t c) { quantize_block(x + b, y + b, c, scale, zp, lo, hi); });
}

template <typename T>
void dequantize_span(const T* x, float* y, int64_t n, float scale, int32_t zp) {
  split_loop(n, [&](int64_t b, int64_t c) { dequantize_block(x + b, y + b, c, scale, zp); });
}

// Reads a one-element scale or zero point from a runtime input.
float scalar_float(const Tensor* t) {
  return t->data<float>()[0];
}
int32_t scalar_int(const Tensor* t) {
  if (!t) return 0;
  return t->dtype() == DType::U8 ? int32_t(t->data<uint8_t>()[0]) : int32_t(t->data<int8_t>()[0]);
}

class QuantizeKernel final : public Kernel {
 public:
  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    const float s = scalar_float(in[1]);
    const int32_t zp = in.size() > 2 ? scalar_int(in[2]) : 0;
    const float* x = in[0]->data<float>();
    const int64_t n = in[0]->numel();
    if (out[0]->dtype() == DType::U8)
      quantize_span(x, out[0]->data<uint8_t>(), n, s, zp, 0, 255);
    else
      quantize_span(x, out[0]->data<int8_t>(), n, s, zp, -128, 127);
  }
};

class DequantizeKernel final : public Kernel {
 public:
  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    const float s = scalar_float(in[1]);
    const int32_t zp = in.size() > 2 ? scalar_int(in[2]) : 0;
    float* y = out[0]->data<float>();
    const int64_t n = in[0]->numel();
    if (in[0]->dtype() == DType::U8)
      dequantize_span(in[0]->data<uint8_t>(), y, n, s, zp);
    else
      dequantize_span(in[0]->data<int8_t>(), y, n, s, zp);
  }
};

// scale = (max(0, max x) - min(0, min x)) / 255, zero point = saturate(round(-min / scale)),
// in float as the ONNX function body and the reference compute them.
class DynamicQuantizeKernel final : public Kernel {
 public:
  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    const float* x = in[0]->data<float>();
    const int64_t n = in[0]->numel();
    // Sixteen independent lanes let the compiler vectorize the min/max reduction.
    constexpr int kLanes = 16;
    float lo[kLanes] = {}, hi[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        lo[l] = std::min(lo[l], x[i + l]);
        hi[l] = std::max(hi[l], x[i + l]);
      }
    float mn = 0.0f, mx = 0.0f;
    for (int l = 0; l < kLanes; ++l) mn = std::min(mn, lo[l]), mx = std::max(mx, hi[l]);
    for (; i < n; ++i) mn = std::min(mn, x[i]), mx = std::max(mx, x[i]);
    const float scale = (mx - mn) / 255.0f;
    uint8_t* y = out[0]->data<uint8_t>();
    int32_t zp = 0;
    if (scale > 0) {
      uint8_t z;
      const float neg_min = -mn;
      quantize_span(&neg_min, &z, 1, scale, 0, 0, 255);
      zp = z;
      quantize_span(x, y, n, scale, zp, 0, 255);
    } else {
      std::memset(y, 0, static_cast<size_t>(n));
    }
    out[1]->data<float>()[0] = scale;
    out[2]->data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  }
};

// Scale (input 1) and zero point (input 2) of one element each; they may be runtime inputs.
bool per_tensor(const KernelInit& init, std::string& why_not) {
  if (init.inputs.size() < 2 || init.outputs.size() != 1) {
    why_not = "expects x, scale[, zero_point] and one output";
    return false;
  }
  if (init.inputs[1].dtype != DType::F32 || shape_numel(init.inputs[1].shape) != 1) {
    why_not = fmt::format("scale {} {} (only one f32 scale per tensor)",
                          dtype_name(init.inputs[1].dtype), shape_str(init.inputs[1].shape));
    return false;
  }
  if (init.inputs.size() > 2 && init.inputs[2].dtype != DType::Undefined &&
      shape_numel(init.inputs[2].shape) != 1) {
    why_not = "per-axis zero point";
    return false;
  }
  if (init.node.attr_int("block_size", 0) != 0) {
    why_not = "blocked quantization";
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<Kernel> make_native_quantize(const KernelInit& init, std::string& why_not) {
  if (!per_tensor(init, why_not)) return nullptr;
  if (init.inputs[0].dtype != DType::F32 || !dtype_is_8bit(init.outputs[0].dtype)) {
    why_not = fmt::format("x {} y {} (only f32 to u8/s8)", dtype_name(init.inputs[0].dtype),
                          dtype_name(init.outputs[0].dtype));
    return nullptr;
  }
  if (init.node.attr_int("saturate", 1) != 1) {
    why_not = "saturate = 0";
    return nullptr;
  }
  return std::make_unique<QuantizeKernel>();
}

std::unique_ptr<Kernel> make_native_dequantize(const KernelInit& init, std::string& why_not) {
  if (!per_tensor(init, why_not)) return nullptr;
  if (!dtype_is_8bit(init.inputs[0].dtype) || init.outputs[0].dtype != DType::F32) {
    why_not = fmt::format("x {} (only u8/s8 to f32)", dtype_name(init.inputs[0].dtype));
    return nullptr;
  }
  return std::make_unique<DequantizeKernel>();
}

std::unique_ptr<Kernel> make_native_dynamic_quantize(const KernelInit& init, std::string& why_not) {
  if (init.inputs.size() != 1 || init.inputs[0].dtype != DType::F32 || init.outputs.size() != 3) {
    why_not = "expects one f32 input and three outputs";
    return nullptr;
  }
  return std::make_unique<DynamicQuantizeKernel>();
}

}  // namespace qbench::kernels::onednn
