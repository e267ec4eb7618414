#pragma once
// Helpers shared by the oneDNN integer kernels (qconv.cpp, qmatmul.cpp, qops.cpp): dtype
// mapping, plain descriptors of any data type, constant quantization parameters, and the
// requantization attributes (output scales, zero points, Relu/Clip bounds as a clip post-op).
#include <array>
#include <string>
#include <vector>

#include "kernels/onednn/common.h"
#include "kernels/onednn/loops.h"

namespace qbench::kernels::onednn {

// u8 / s8 / s32 / f32 / bf16; undef for anything else.
memory::data_type dnnl_type(DType t);
// A dense row-major descriptor of data type `dt`; rank 0 becomes {1}.
memory::desc plain_desc(const memory::dims& dims, memory::data_type dt);

// Reads constant input i as floats / integers; false (why_not set) when it is not constant.
bool const_floats(const KernelInit& init, size_t i, const char* what, std::vector<float>& v,
                  std::string& why_not);
bool const_ints(const KernelInit& init, size_t i, const char* what, std::vector<int32_t>& v,
                std::string& why_not);

// A one-element s32 buffer holding a zero point, passed to oneDNN as a runtime argument.
struct ZeroPoint {
  int32_t value = 0;
  memory mem;
  // Registers it for `arg` (DNNL_ARG_SRC / DNNL_ARG_DST) when non-zero.
  void apply(dnnl::primitive_attr& attr, int arg);
  void bind(std::unordered_map<int, memory>& args, int arg);
};

// Requantization of an int32 accumulator into a uint8/int8 output: per-channel output scales
// (in_scale * w_scale[c] / y_scale), dst zero point, and the integer bounds of fused Relu/Clip
// (qbench_ops.h) as a clip post-op applied before the zero point is added.
struct Requant {
  std::vector<float> scales;  // one, or one per output channel
  ZeroPoint src_zp, dst_zp;
  int32_t lo = 0, hi = 255;  // bounds from fused activations
  bool clip = false;         // lo/hi narrower than the output type's range
};
// Fills `r` from the constant inputs of a QLinearConv/QLinearMatMul-style node (x_scale 1,
// x_zp 2, w 3, w_scale 4, w_zp 5, y_scale 6, y_zp 7). Declines a non-zero weight zero point.
bool read_requant(const KernelInit& init, int64_t channels, Requant& r, std::string& why_not);
// The QLinearAdd arithmetic of init's node (its fused activations) into an output of type `yt`,
// from the constant scales and zero points at inputs `at` = {a scale, a zero point, b scale,
// b zero point, y scale, y zero point}; false (why_not set) where one is not a constant scalar.
bool read_qadd(const KernelInit& init, const std::array<size_t, 6>& at, DType yt, QAddArithmetic& q,
               std::string& why_not);
// Output scales (mask `channel_mask` when per channel) and the clip post-op on `attr`.
void apply_requant(const Requant& r, int channel_mask, dnnl::primitive_attr& attr);
// The same requantization, for int32 accumulators of weight halves added by qbench
// (requantize_halves in loops.h); `bias` holds one int32 per channel, or is null.
Requantization halves_requantization(const Requant& r, const int32_t* bias, int64_t channels,
                                     bool to_signed);

}  // namespace qbench::kernels::onednn
