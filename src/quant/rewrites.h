#pragma once
// The recipes that need no calibration, each a rewrite of the graph with standard ONNX ops:
// dynamic int8 (DynamicQuantizeLinear + MatMulInteger/ConvInteger, as ONNX Runtime's dynamic
// quantizer emits), weight-only int8/int4, and float16/bfloat16 weight storage.
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "ir/graph.h"
#include "quant/qdq.h"

namespace qbench::quant {

struct RewriteReport {
  std::vector<std::string> quantized;  // names of the nodes rewritten (in the input graph)
  std::vector<FloatNode> left_float;   // candidate nodes left as they were, and why
  std::vector<std::string> notes;
};

// MatMul/Gemm (and Conv when `conv`) with a constant weight become
//   DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp, w_zp) -> Cast(float)
//   -> Mul(x_scale * w_scale) [-> Add(bias)]
// with W_q int8 symmetric (zero point 0) per output channel or per tensor. Gemm's transB is
// applied to the weight here ([K, N] for MatMulInteger); alpha folds into w_scale and beta * C
// into the bias. One DynamicQuantizeLinear per input tensor, shared by all its consumers.
// Weights lie in [-weight_qmax, weight_qmax] (127, or 64 for reduce-range).
RewriteReport rewrite_dynamic(ir::Graph& g, bool per_channel, bool conv,
                              const std::vector<std::string>& exclude, int weight_qmax = 127);

// MatMul/Gemm constant weights stored as int8 (qmax 127) or int4 values (qmax 7, one value per
// int8 byte). group == 0: per output channel -> DequantizeLinear(W_q, scale, zp, axis) (or per
// tensor when !per_channel). group > 0: groups of `group` along the reduction axis ->
// DequantizeLinear(W_q grouped, 1) -> Mul(group scales) -> Reshape(W's shape).
RewriteReport rewrite_weight_only(ir::Graph& g, int bits, int64_t group, bool per_channel,
                                  const std::vector<std::string>& exclude);

// Constant f32 weights and biases of Conv/MatMul/Gemm stored as float16 or bfloat16 initializers
// followed by Cast(to float): the file halves, compute stays f32 until the engine runs these
// patterns in reduced precision.
RewriteReport rewrite_half(ir::Graph& g, DType storage, const std::vector<std::string>& exclude);

}  // namespace qbench::quant
