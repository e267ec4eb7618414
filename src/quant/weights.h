#pragma once
// Helpers shared by the recipes: symmetric weight quantization (per tensor, per channel, per
// group) and adding named values to a graph without clashing with existing names.
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "ir/graph.h"

namespace qbench::quant {

// Symmetric integer weights: q = clamp(round(w / scale), -qmax, qmax), zero point 0.
struct QuantizedWeight {
  Tensor q;           // i8, the shape of w
  Tensor scale;       // f32: scalar (per tensor) or [w.shape[axis]] (per channel)
  Tensor zero_point;  // i8 zeros, the shape of scale
  bool per_channel = false;
  int64_t axis = 0;
};

// qmax = 127 for int8 (ONNX Runtime's symmetric weight range), 7 for int4 values.
QuantizedWeight quantize_weight(const Tensor& w, bool per_channel, int64_t axis, int qmax = 127);

// Group-wise symmetric weights: `axis` is split into groups of `group` consecutive elements,
// each (group, other indices) slice with its own scale. q keeps w's shape; scale has w's shape
// with dimension `axis` divided by `group`.
struct GroupQuantizedWeight {
  Tensor q;
  Tensor scale;
};
GroupQuantizedWeight quantize_weight_groups(const Tensor& w, int64_t axis, int64_t group, int qmax);

using ir::add_initializer;  // (ir/graph.h)
using ir::unique_name;
// Declares a computed value with a dtype and (optionally) the dims of another value.
void declare_value(ir::Graph& g, const std::string& name, DType dtype, const ir::Value* like);

}  // namespace qbench::quant
