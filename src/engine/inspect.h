#pragma once
// What a compiled plan does, node by node: shapes, parameters, MACs, and which kernel and
// precision actually ran (and why a faster kernel was declined).
#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace qbench::engine {

struct NodeReport {
  std::string name;
  std::string op_type;
  std::vector<std::string> fused;  // absorbed activations
  std::string output_shape;
  std::string precision;  // dtype the node computed in: "f32", "i8", ...
  int64_t params = 0;     // elements of constant float/int8 inputs (weights, biases)
  int64_t macs = 0;       // multiply-accumulates for one run of the plan
  std::string kernel;     // "onednn", "reference"
  std::string rejected;   // reasons faster kernels declined
};

struct PlanReport {
  std::vector<NodeReport> nodes;
  int64_t params = 0;
  int64_t macs = 0;
  int folded_nodes = 0;
  std::string input_shapes;
};

PlanReport describe_plan(const Plan& plan, const ir::Graph& g);

// Multiply-accumulates of one node given its concrete input/output types (0 for ops without
// a dot product).
int64_t node_macs(const ir::Node& n, const std::vector<kernels::TensorType>& in,
                  const std::vector<kernels::TensorType>& out);

}  // namespace qbench::engine
