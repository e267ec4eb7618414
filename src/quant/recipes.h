#pragma once
// Recipes: one typed options struct, one entry point. quantize() prepares a copy of the model
// (identity removal, constant folding so weights held in Constant nodes become initializers,
// BatchNorm folding, shapes), applies the recipe's rewrite and reports what it did: nodes
// quantized per op type, nodes left float and why, and the share of parameters and MACs that
// run quantized.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/calibrate.h"
#include "quant/qdq.h"
#include "quant/range.h"

namespace qbench::quant {

enum class Recipe {
  Fp32,
  Fp16,
  Bf16,
  DynamicInt8,
  StaticInt8,
  StaticInt8ReduceRange,
  WeightOnlyInt8,
  WeightOnlyInt4
};

// static-int8 and static-int8-rr (calibrated activations); they share one rewrite.
bool is_static_int8(Recipe r);
// The recipes that store integer weights (every one but fp32, fp16 and bf16).
bool has_integer_weights(Recipe r);

const char* recipe_name(Recipe r);
// One line for --help and reports: what is stored and computed in which precision.
const char* recipe_description(Recipe r);
// An Error lists the known recipes.
Recipe parse_recipe(const std::string& s);

// A compare variant: a recipe with options, written "recipe[+option...]", options per-tensor
// (one scale per weight tensor), equalize (cross-layer equalization; relu6-to-relu lets it pass
// ReLU6, replaced by Relu), bias-correct and
// smooth-quant (static int8: bias correction, SmoothQuant), e.g.
// "static-int8+per-tensor+equalize+bias-correct". An Error names a bad recipe or option.
struct VariantSpec {
  Recipe recipe = Recipe::Fp32;
  bool per_tensor = false;
  bool equalize = false;
  bool relu6_to_relu = false;
  bool bias_correct = false;
  bool smooth_quant = false;
};
VariantSpec parse_variant(const std::string& s);
std::vector<Recipe> all_recipes();

struct QuantizeOptions {
  Recipe recipe = Recipe::Fp32;
  // Node names or op types that stay float.
  std::vector<std::string> exclude;
  // Weights: one scale per output channel (default) or per tensor.
  bool per_channel = true;
  // dynamic-int8: also Conv (ConvInteger).
  bool dynamic_conv = false;
  // static-int8 and dynamic-int8: 7-bit weights in [-64, 64] (ONNX Runtime's and OpenVINO's
  // reduce_range), so no pair of u8 x s8 products overflows int16 on CPUs without VNNI, in
  // qbench or in any runtime that adds pairs in int16. static-int8-rr implies it.
  bool reduce_range = false;
  // static-int8: activation encoding and range method.
  ActType activations = ActType::U8Asymmetric;
  RangeOptions range;
  CalibOptions calib;
  // static-int8: a calibration table to load when the file exists, else to write after
  // calibrating.
  std::string calib_table;
  // Cross-layer equalization (quant/equalize.h) before quantizing weights: balances the
  // per-channel weight ranges of consecutive convolutions, for per-tensor weights.
  bool equalize = false;
  // With equalize: pass Clip(0, M) (ReLU6) between two convolutions, replacing it by Relu, as
  // Nagel et al. do for MobileNetV2 (changes the float model where activations exceeded M).
  bool relu6_to_relu = false;
  // static-int8: bias correction (quant/bias_correction.h) of the quantized Conv/Gemm layers,
  // from their inputs' channel means on the calibration images.
  bool bias_correct = false;
  // static-int8: SmoothQuant (quant/smooth_quant.h) of LayerNormalization -> MatMul inputs,
  // with this migration strength alpha.
  bool smooth_quant = false;
  float smooth_alpha = 0.5f;
  // static-int8: nodes kept out of int8 and stored as the bf16 recipe stores them (bfloat16
  // weights, computed in bf16 where the CPU has it), for mixed int8/bf16/fp32 models.
  std::vector<std::string> bf16_nodes;
  // static-int8: with a loaded table that lacks some tensor this model needs, calibrate those
  // tensors (keeping the table's entries) instead of failing.
  bool calibrate_missing = false;
  // static-int8: write the table here after calibrating (or loading).
  std::string save_calib_table;
  // weight-only: group size along the reduction axis; 0 = one scale per output channel.
  // -1 = the recipe's default (per channel for int8, 32 for int4).
  int64_t group_size = -1;
  // Concrete shapes of inputs with symbolic dims other than the batch (engine::input_types),
  // for shape inference and coverage; the saved model keeps its symbolic dims.
  std::map<std::string, Shape> shapes;
};

// A node the recipe quantized, in graph order.
struct QuantizedNode {
  std::string name, op_type;
  // static-int8: the activation tensor carrying its quantized output (its own output, or the
  // Relu/Clip after it that it absorbs); "" when its output keeps float or another recipe.
  std::string output;
  // static-int8: the tensor whose calibrated range `output` uses when it is not its own (data
  // movement such as MaxPool keeps its input's scale); "" otherwise.
  std::string range_source;
};

struct QuantizeResult {
  ir::Graph graph;
  // The float model `graph` stands for: the prepared model (prepare_for_quantization) after the
  // rewrites that keep its function but not its tensors (cross-layer equalization, SmoothQuant),
  // tensors named as in `graph`. Per-tensor comparisons (qbench debug) are made against it.
  ir::Graph float_graph;
  std::map<std::string, int> quantized_by_op;  // op type -> nodes quantized
  std::vector<QuantizedNode> quantized_nodes;
  std::vector<std::string> bf16_nodes;  // static-int8 with QuantizeOptions::bf16_nodes: stored bf16
  std::vector<FloatNode> left_float;    // every other node, with the reason
  // static-int8 calibration
  std::string calib_source;  // "calibrated on N images of ..." or "loaded from FILE"
  double calib_seconds = 0;
  std::vector<std::string> calibrated_tensors;
  std::vector<std::string> notes;  // opset changes, fallbacks
};

QuantizeResult quantize(const ir::Graph& model, const QuantizeOptions& opts);

// What quantize() does to a copy of the model before any recipe: names for unnamed nodes
// ("<op>_<index>"), Identity removal, constant folding (weights held in Constant nodes become
// initializers), BatchNorm folding, shape inference with `shapes` for symbolic dims other than
// the batch. Tensor and node names are those the quantized graph keeps.
ir::Graph prepare_for_quantization(const ir::Graph& model,
                                   const std::map<std::string, Shape>& shapes);

// Raises the default-domain opset import to `target`, rewriting the nodes whose form changed
// (Squeeze/Unsqueeze/Split/ReduceSum axes to inputs, Clip/Pad attributes to inputs, Softmax
// family when the axis is the last one). Returns false, changing nothing, when some node cannot
// be carried over; `why` then names it.
bool upgrade_opset(ir::Graph& g, int64_t target, std::string& why);

}  // namespace qbench::quant
