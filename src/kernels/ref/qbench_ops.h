#pragma once
// qbench's internal operators, domain "qbench". The QDQ fusion pass (passes/fuse_qdq.cpp) makes
// them where ONNX has no standard op for a fused integer computation, the residual and
// channels-last passes the float forms below; each has an inference
// function and a reference kernel like every ONNX op, so the engine can always fall back to it.
// They exist only inside the engine: onnxio::save_model refuses to write them.
//
//   QLinearConv, QLinearMatMul   the ONNX ops plus Relu/Clip activations in ir::Node::fused
//   QLinearConv + residual       QLinearConv's 9 inputs (bias "" where absent), R, R_scale,
//                                R_zp, Z_scale, Z_zp: QLinearAdd(QLinearConv(...), R) into
//                                (Z_scale, Z_zp), the activations in fused applying after the
//                                add (passes/fuse_add.cpp); R channels_last like X
//   QGemm                        QLinearMatMul inputs (B is [K, N]) + optional int32 bias [N]
//                                as input 8, scaled like QLinearConv's bias; fused Relu/Clip
//   MatMulIntegerToFloat         ONNX Runtime's com.microsoft op: A, B, a_scale, b_scale[, a_zp,
//                                b_zp, f32 bias [N]] -> f32; fused activations (any)
//   QLinearAdd                   A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp (ONNX
//                                Runtime's com.microsoft semantics), numpy broadcasting
//   QLinearGlobalAveragePool,    X, x_scale, x_zp, y_scale, y_zp: Q(pool(DQ(x))), NCHW
//   QLinearAveragePool           (AveragePool attributes)
//   MaxPool                      the ONNX op on uint8/int8 data, or float (channels_last form)
//   Gelu                         ONNX Gelu (opset 20) in a graph of any opset (passes/fuse_gelu)
//   Conv                         X, W[, B][, Z]: activations(Conv(X, W, B) + Z), Z a residual
//                                (passes/fuse_add.cpp), numpy broadcasting; fused activations
//   MatMul                       A, B, bias: activations(MatMul(A, B) + bias), numpy
//                                broadcasting (passes/fuse_add.cpp); fused activations
//   AveragePool,                 the ONNX ops in their channels_last form
//   GlobalAveragePool
//
// QLinearConv, Conv, MaxPool, AveragePool, GlobalAveragePool and QLinearGlobalAveragePool take
// an attribute channels_last = 1 (set by passes/channels_last.cpp for 2-D ops inside a
// channels-last region): their data inputs (Conv: X and Z) and output are NHWC, as in ONNX
// Runtime's NHWC transformer, so oneDNN's kernels need no layout reorders.
#include <array>
#include <span>
#include <string>

#include "kernels/kernel.h"

namespace qbench::kernels::ref {

inline constexpr const char* kQbenchDomain = "qbench";

// The OpDef of an internal op, or nullptr.
const OpDef* find_qbench_op(const std::string& op_type);

// Integer bounds the Relu/Clip activations absorbed into a quantized node impose on its output.
// Quantization is monotonic, so Q(relu(v)) = max(Q(v), zp) and Q(clip(v, a, b)) =
// clamp(Q(v), Q(a), Q(b)) exactly: the activation can be applied to the integers. lo/hi start
// at the range of `y_type`. Returns false (why_not set) for any other activation.
bool fused_int_bounds(const ir::Node& node, float y_scale, int32_t y_zp, DType y_type, int32_t& lo,
                      int32_t& hi, std::string& why_not);

// True when the node carries channels_last = 1.
bool channels_last(const ir::Node& node);

// True for a qbench.QLinearConv with a residual (inputs 9-13, passes/fuse_add.cpp).
bool has_residual(const ir::Node& node);
// Such a node's convolution alone: its first 9 inputs, no activations (they follow the add); it
// writes its own int8 output (y_scale, y_zero_point).
ir::Node residual_conv(const ir::Node& node);
// The QLinearAdd such a node computes after its convolution: the convolution's int8 output (its
// y_scale, y_zero_point) plus the residual (r, r_scale, r_zero_point) into the output (scale and
// zero point: inputs 12, 13), with the node's activations.
ir::Node residual_add(const ir::Node& node);
// That QLinearAdd's inputs 1-7 as inputs of the residual QLinearConv (input 0 is the
// convolution's output).
inline constexpr std::array<size_t, 7> kResidualAddInputs = {6, 7, 9, 10, 11, 12, 13};
// The QLinearAdd's 8 inputs (names, types, tensors...) from the residual QLinearConv's `in`.
template <typename T>
std::array<T, 8> residual_add_inputs(T conv_output, std::span<const T> in) {
  std::array<T, 8> a{conv_output};
  for (size_t k = 0; k < kResidualAddInputs.size(); ++k) a[k + 1] = in[kResidualAddInputs[k]];
  return a;
}

// [lo, hi] of uint8 / int8.
void int8_range(DType t, int32_t& lo, int32_t& hi);

}  // namespace qbench::kernels::ref
