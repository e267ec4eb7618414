#pragma once
// What a compiled plan does, node by node: shapes, parameters, MACs, and which kernel and
// precision actually ran (and why a faster kernel was declined).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace qbench::engine {

struct NodeReport {
  std::string name;
  std::string op_type;
  std::vector<std::string> fused;  // absorbed activations
  std::string output_shape;
  // What the node computed in: "int8" (integer kernels: QLinear*, *Integer, pools and data
  // movement on uint8/int8), "bf16" (a bf16 kernel ran it), "f32", or the output dtype of
  // non-float nodes ("i64").
  std::string precision;
  int64_t params = 0;  // elements of constant float/int8 inputs (weights, biases)
  int64_t macs = 0;    // multiply-accumulates for one run of the plan
  std::string kernel;  // "onednn", "reference"
  std::string impl;    // the implementation that ran ("jit_uni_int8:avx2, two 7-bit ...")
  // The node's bf16 compute was emulated by f32 kernels on this CPU (precision is then "f32").
  bool emulated = false;
  int threads = 1;  // threads its kernel runs with (1 for a node too small to share)
  std::string rejected;  // reasons faster kernels declined
};

struct PlanReport {
  std::vector<NodeReport> nodes;
  int64_t params = 0;
  int64_t macs = 0;
  // Coverage: parameters and MACs of the nodes that ran in each precision (anything not int8 or
  // bf16 counts as f32). A quantized model whose MACs run in f32 was not really quantized.
  int64_t params_int8 = 0, params_bf16 = 0, params_f32 = 0;
  int64_t macs_int8 = 0, macs_bf16 = 0, macs_f32 = 0;
  // Of the f32 share: what a bf16 model ran emulated (bf16 values, f32 kernels) on this CPU.
  int64_t params_emulated = 0, macs_emulated = 0;
  // Every distinct kernel implementation in the plan ("brgconv:avx512_core_vnni"), sorted.
  std::vector<std::string> implementations;
  int folded_nodes = 0;
  std::string input_shapes;
};

PlanReport describe_plan(const Plan& plan, const ir::Graph& g);

// The one coverage every command prints: `g` compiled by an Engine with `options` at batch 1
// (`shapes` fixing other symbolic dims), a dynamic plan run once on zero inputs so its nodes have
// shapes, then described. `quantize` prints it for the file it wrote; `inspect` (at its default
// batch 1) and `bench`/`compare` describe the same plan.
PlanReport describe_graph(const ir::Graph& g, const EngineOptions& options,
                          const std::map<std::string, Shape>& shapes = {});

// "int8 92.1% of MACs, 91.8% of params; bf16 0.0%, 0.0%; f32 7.9%, 8.2%", plus
// "(bf16 emulated in f32: 100.0% of MACs)" when some ran emulated.
std::string coverage_line(const PlanReport& r);

// True when oneDNN resolved the implementation to its slow reference code ("ref:any",
// "ref_int8:any"); qbench's kernels decline those, so a plan should never hold one.
bool is_onednn_reference(const std::string& impl);

// Multiply-accumulates of one node given its concrete input/output types (0 for ops without
// a dot product).
int64_t node_macs(const ir::Node& n, const std::vector<kernels::TensorType>& in,
                  const std::vector<kernels::TensorType>& out);

}  // namespace qbench::engine
