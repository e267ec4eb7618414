#pragma once
// The engine: a graph is optimized once (passes), then compiled into a Plan per set of concrete
// input shapes (a model with a symbolic batch gets one Plan per batch size it sees). Compiling
// infers every shape, folds what is constant, picks one kernel per node from the ordered list
// (oneDNN first, the reference last) and allocates every intermediate tensor. Running a Plan
// creates no primitives and reorders no weights.
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel.h"

namespace qbench::engine {

struct EngineOptions {
  // Threads used by every kernel (OpenMP, oneDNN).
  int threads = 1;
  // Use optimized (oneDNN) kernels where they accept a node; false runs the reference kernels
  // only, which is the oracle the tests compare against.
  bool optimized_kernels = true;
  // Run the graph passes (constant folding, BN folding, activation fusion).
  bool optimize_graph = true;
};

// One node of the compiled plan.
struct Step {
  ir::Node node;
  std::string kernel_name;  // "onednn", "reference"
  // Why the kernels tried before this one declined the node, "onednn: <reason>"; empty when the
  // first choice was taken.
  std::string rejected;
  std::unique_ptr<kernels::Kernel> kernel;
  std::vector<int> in_slots;  // -1 for an omitted optional input
  std::vector<int> out_slots;
  std::vector<kernels::TensorType> in_types;
  std::vector<kernels::TensorType> out_types;
};

class Plan {
 public:
  // Inputs in graph-input order with the shapes this plan was compiled for.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, int threads);
  const std::vector<Step>& steps() const { return steps_; }
  // Nodes folded away at compile time because their inputs were all constant.
  int folded_nodes() const { return folded_; }
  // When on, run() adds each step's wall time to step_seconds() (for inspect --profile).
  void set_profiling(bool on);
  const std::vector<double>& step_seconds() const { return step_seconds_; }
  // Bytes of intermediate tensors after buffer sharing (constants and inputs excluded).
  int64_t arena_bytes() const { return arena_bytes_; }
  // Concrete dtype and shape of every value (inputs, constants, intermediates, outputs).
  const std::unordered_map<std::string, kernels::TensorType>& value_types() const {
    return value_types_;
  }

 private:
  friend class Engine;
  std::vector<Tensor> slots_;
  std::vector<int> input_slots_;
  std::vector<int> output_slots_;
  std::vector<kernels::TensorType> input_types_;
  std::vector<std::string> input_names_;
  std::vector<Step> steps_;
  int folded_ = 0;
  std::unordered_map<std::string, kernels::TensorType> value_types_;
  bool profiling_ = false;
  int64_t arena_bytes_ = 0;
  std::vector<double> step_seconds_;
};

class Engine {
 public:
  Engine(ir::Graph graph, EngineOptions opts = {});
  ~Engine();

  // Runs the model; compiles a plan the first time these input shapes are seen.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  Plan& plan_for(const std::vector<kernels::TensorType>& input_types);

  const ir::Graph& graph() const { return graph_; }
  const EngineOptions& options() const { return opts_; }
  // Concrete input types for a given batch size: symbolic or unknown dims become `batch`
  // (dimension 0) or an Error naming the input.
  std::vector<kernels::TensorType> input_types(int64_t batch) const;

 private:
  std::unique_ptr<Plan> compile(const std::vector<kernels::TensorType>& input_types) const;
  static void plan_memory(Plan& plan, const std::vector<kernels::TensorType>& slot_type);
  ir::Graph graph_;
  EngineOptions opts_;
  std::map<std::vector<kernels::TensorType>, std::unique_ptr<Plan>> plans_;
};

// Annotates every value of `g` with its dtype and shape (ir::Value::dims), keeping a symbolic
// batch dimension symbolic: the graph is compiled for two batch sizes and dims that differ
// between them take the input's batch parameter name.
void infer_shapes(ir::Graph& g);

// Applies flush-to-zero and denormals-are-zero in the calling thread and every OpenMP worker.
void configure_threads(int threads);

}  // namespace qbench::engine
