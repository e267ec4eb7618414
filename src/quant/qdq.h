#pragma once
// Static (QDQ) quantization in two steps, as ONNX Runtime's quantizer does it: operator handlers
// only DECLARE intent for a node (which inputs are activations, weights or biases, per channel
// on which axis, whether the output keeps its input's scale), then ONE pass (insert_qdq) inserts
// every QuantizeLinear/DequantizeLinear pair, quantizes weights to int8 and biases to int32.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/range.h"

namespace qbench::quant {

struct QdqOptions {
  // Weights per output channel (axis 0 for Conv, the output-channel axis for MatMul/Gemm);
  // false: one scale per weight tensor.
  bool per_channel = true;
  ActType activations = ActType::U8Asymmetric;
  // Weights are symmetric in [-weight_qmax, weight_qmax]: 127, or 64 for reduce-range.
  int weight_qmax = 127;
  // Node names or op types that stay float.
  std::vector<std::string> exclude;
};

enum class InputRole { Activation, Weight, Bias };

struct InputIntent {
  size_t index = 0;
  InputRole role = InputRole::Activation;
  bool per_channel = false;  // weights only
  int64_t axis = 0;          // weights: the channel axis of a per-channel weight
};

enum class OutputRule {
  OwnScale,     // the output has its own calibrated scale (quantized when a consumer is)
  SameAsInput,  // data movement (MaxPool, Reshape, ...): output shares input 0's scale
};

// What a handler wants for one node.
struct NodeIntent {
  size_t node = 0;  // index in graph.nodes
  std::vector<InputIntent> inputs;
  OutputRule output = OutputRule::OwnScale;
  // The tensor carrying the quantized output: the node's output, or the output of a Relu/Clip
  // that follows it and is absorbed (ONNX Runtime's rule: Q/DQ after the activation).
  std::string output_tensor;
  std::string absorbed;  // name of the absorbed activation node, "" if none
  // The output takes Q/DQ even when no quantized op reads it: the op's integer form writes
  // integers (QLinearConv has no float-output variant, unlike MatMul/Gemm), so without it the
  // op would run in float. ONNX Runtime's QDQ quantizer does the same for Conv.
  bool quantize_output = false;
};

// A node left in float and why ("excluded by --exclude", "weight is not constant", ...).
struct FloatNode {
  std::string name, op_type, reason;
};

struct QdqPlan {
  std::vector<NodeIntent> intents;  // the nodes that will run quantized
  std::vector<FloatNode> left_float;
  // Activation tensors that get one QuantizeLinear/DequantizeLinear pair, in graph order.
  std::vector<std::string> tensors;
  // Tensor -> the tensor whose scale it uses (itself unless it shares its input's scale).
  std::map<std::string, std::string> scale_source;
  // Scale sources that must be symmetric int8 whatever the recipe's activation type: a MatMul
  // reads them (or a tensor sharing their scale) as its B input. Integer matmul hardware
  // (VNNI, AMX) multiplies u8 by s8, so an activation B must be s8 to run there.
  std::set<std::string> signed_sources;
  // The tensors whose ranges calibration must provide.
  std::vector<std::string> calibrated_tensors() const;
};

// Runs every handler and works out which tensors get Q/DQ pairs. Nodes must be in topological
// order; weights must be constant values (fold Constant nodes first).
QdqPlan plan_qdq(const ir::Graph& g, const QdqOptions& opts);

// Inserts the Q/DQ nodes the plan asks for. `params` holds the scale and zero point of every
// calibrated tensor; the result keeps the node order topological and drops float weights that
// nothing reads any more.
void insert_qdq(ir::Graph& g, const QdqPlan& plan, const std::map<std::string, QParams>& params,
                const QdqOptions& opts);

// True if `node` matches --exclude (its name or op type).
bool is_excluded(const ir::Node& node, const std::vector<std::string>& exclude);

}  // namespace qbench::quant
