#pragma once
// Graph passes. Each rewrites ir::Graph in place, keeps ONNX semantics and the node order
// topological, and returns how many nodes it changed (for logs and tests).
#include <unordered_map>

#include "ir/graph.h"

namespace qbench::passes {

// Removes Identity and inference-mode Dropout nodes by rewiring their consumers.
int remove_identity(ir::Graph& g);
// Evaluates every node whose inputs are all constant (Constant nodes included) with the
// reference kernels and stores the results as constant values. With allow_growth false (graphs
// about to be saved), nodes whose constant result is much larger than their inputs
// (ConstantOfShape, Expand, Tile...) stay nodes, so the file does not grow.
int fold_constants(ir::Graph& g, bool allow_growth = true);
// Folds an inference BatchNormalization that follows a Conv (or a Gemm with 2-D output) into the
// Conv/Gemm weights and bias.
int fold_batchnorm(ir::Graph& g);
// Replaces x * 0.5 * (1 + Erf(x / sqrt 2)), as exporters write GELU before opset 20, by one
// qbench.Gelu node.
int fuse_gelu(ir::Graph& g);
// Absorbs an element-wise activation (Relu, Clip with constant bounds, LeakyRelu, Sigmoid, Tanh,
// HardSigmoid, HardSwish, Gelu) into the Conv/Gemm/MatMul before it (ir::Node::fused), when
// nothing else reads the intermediate value.
int fuse_activations(ir::Graph& g);
// Rewrites QDQ patterns into integer ops (passes/fuse_qdq.cpp): DQ -> Conv/MatMul/Gemm
// (+ fused Relu/Clip) -> Q into QLinearConv / QLinearMatMul / qbench.QGemm; DQ,DQ -> Add -> Q
// into qbench.QLinearAdd; DQ -> (Global)AveragePool -> Q into qbench.QLinear(Global)AveragePool;
// DQ -> MaxPool/Reshape/Flatten/Transpose/Squeeze/Unsqueeze/Concat -> Q with the same scale and
// zero point into the op on the integers. Marks Conv/Gemm/MatMul whose weights are
// Cast(bfloat16 constant) to compute in bf16 (ir::Node::compute_type).
int fuse_qdq(ir::Graph& g);
// Replaces Add(Conv(x), z), where the float Conv's output has no other reader, by
// qbench.Conv(x, W, B, z): the convolution adds z before its activations (passes/fuse_add.cpp).
int fuse_residual(ir::Graph& g);
// Replaces Add(MatMul(x, W), b), W a constant [K, N] and b a constant of N values, by
// qbench.MatMul(x, W, b): the matmul adds the bias (passes/fuse_add.cpp).
int fuse_matmul_bias(ir::Graph& g);
// Replaces QLinearAdd(QLinearConv(x), r), a channels-last QLinearConv without activations whose
// output has no other reader, by qbench.QLinearConv(x, ..., r, r_scale, r_zp, y_scale, y_zp): the
// convolution rounds its own output as before and adds r to it (passes/fuse_add.cpp). After
// to_channels_last, which it needs both addends in.
int fuse_int8_residual(ir::Graph& g);
// Switches 2-D convolutions and the ops after them that have a channels-last form to NHWC
// tensors, with Transposes only at the regions' borders (passes/channels_last.cpp).
int to_channels_last(ir::Graph& g);
// Makes a channels-last bf16 convolution whose only readers are such convolutions (their data
// input) write bf16 (attribute output_dtype = BFLOAT16): bf16 activations inside a bf16 region,
// with the same arithmetic, since each reader rounds its input to bf16 (passes/bf16_storage.cpp).
int store_bf16_between_convs(ir::Graph& g);
// True for the nodes fold_constants keeps so fuse_qdq can see them: DequantizeLinear and
// Cast(bfloat16 constant -> float).
bool is_quantized_weight_producer(const ir::Graph& g, const ir::Node& n);
// The bfloat16 constant behind `value` when a Cast(bfloat16 constant -> float) produces it (the
// bf16 recipe's weights), else null.
const Tensor* bf16_weight(const ir::Graph& g,
                          const std::unordered_map<std::string, size_t>& producers,
                          const std::string& value);
struct OptimizeOptions {
  // store_bf16_between_convs: worth it only where the CPU computes in bf16. Without native bf16
  // the convolutions compute in f32 on inputs they round themselves, so bf16 storage would only
  // add conversions (oneDNN's f32 <-> bf16 reorders run at ~35 ns per element on AVX2).
  bool bf16_storage = true;
};
// All of the above in order, then dead-code removal.
void optimize(ir::Graph& g, const OptimizeOptions& options = {});

}  // namespace qbench::passes
