#pragma once
// The engine: a graph is optimized once (passes), then compiled into a Plan per set of concrete
// input shapes (a model with a symbolic batch gets one Plan per batch size it sees). Compiling
// infers every shape, folds what is constant, picks one kernel per node from the ordered list
// (oneDNN first, the reference last) and allocates every intermediate tensor. Running a Plan
// creates no primitives and reorders no weights.
//
// A graph whose inference needs a value only known at run time (kernels::DataDependent: a
// Reshape shape fed by a graph input, NonZero, If/Loop/Scan) cannot have such a Plan. The first
// compile that hits one marks the engine dynamic; from then on plan_for gives dynamic Plans that
// run the graph node by node through an Interpreter (engine/interpreter.h), which infers each
// node's shapes from the actual values and caches one kernel per node and concrete types.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel.h"

namespace qbench::engine {

class Interpreter;

struct EngineOptions {
  // Threads used by every kernel (OpenMP, oneDNN).
  int threads = 1;
  // Use optimized (oneDNN) kernels where they accept a node; false runs the reference kernels
  // only, which is the oracle the tests compare against.
  bool optimized_kernels = true;
  // Op types that run on the reference kernel even where an optimized one would take them; the
  // tests use it to check one kernel family against its oracle with everything else unchanged.
  std::set<std::string> reference_op_types;
  // Run the graph passes (constant folding, BN folding, activation fusion).
  bool optimize_graph = true;
  // Batch parallelism (Engine::batch_split): a batch of B >= 2 images on T > 1 threads runs as
  // min(T, B) sub-batches at once, each on one thread with its own single-threaded plan, where
  // the graph computes each image on its own. One thread per image stream keeps the activations
  // of a sub-batch in that core's caches and needs no synchronisation inside an op (ResNet-50 at
  // batch 32 on 2 threads: 18.1 instead of 19.2 ms per image).
  bool split_batch = true;
  // A part whose intermediate tensors (the plan's arena at batch 1 times its rows) exceed this
  // runs its images one at a time instead of all at once. Measured at batch 32 on 2 threads
  // (AMD EPYC Zen 5): FP32 ResNet-50 (7 MB per image, 112 MB per part) 18.1 ms per image one at
  // a time against 19.2 all at once, FP32 MobileNetV2 (10 MB) 2.12 against 2.43; int8 ResNet-50
  // (3.1 MB, 50 MB per part) 5.08 all at once against 5.26 one at a time; the zoo's 28x28
  // models (0.1 MB) gain from the batch.
  int64_t split_part_bytes = int64_t(64) << 20;
  // A node runs on one thread when it has fewer MACs than this and no input or output with this
  // many elements: below that, forking a team costs more than it saves.
  int64_t min_parallel_macs = int64_t(2) << 20;
  int64_t min_parallel_elements = int64_t(64) << 10;
};

// A value of any type a graph can take or produce at run time: a tensor, a sequence of tensors,
// or an empty optional (an optional holding something is just that tensor or sequence).
struct RunValue {
  enum class Kind { Tensor, Sequence, None };
  Kind kind = Kind::Tensor;
  Tensor tensor;                 // Kind::Tensor
  std::vector<Tensor> sequence;  // Kind::Sequence
  RunValue() = default;
  RunValue(Tensor t) : tensor(std::move(t)) {}  // NOLINT: a tensor is a value
  static RunValue of_sequence(std::vector<Tensor> s) {
    RunValue v;
    v.kind = Kind::Sequence;
    v.sequence = std::move(s);
    return v;
  }
  static RunValue none() {
    RunValue v;
    v.kind = Kind::None;
    return v;
  }
  // False only for an unset tensor slot.
  bool present() const { return kind != Kind::Tensor || tensor.defined(); }
};

// One node of the compiled plan.
struct Step {
  ir::Node node;
  std::string kernel_name;  // "onednn", "reference", "subgraph" (If/Loop/Scan, dynamic plans)
  // Why the kernels tried before this one declined the node, "onednn: <reason>"; empty when the
  // first choice was taken.
  std::string rejected;
  // The kernel's implementation (kernels::Kernel::impl: "brgconv:avx512_core_vnni") and whether
  // it emulates a precision this CPU lacks.
  std::string impl;
  bool emulated = false;
  // Threads the kernel was made for and runs with: the plan's, or 1 for a node too small to
  // share (EngineOptions::min_parallel_macs).
  int threads = 1;
  // The output is a view of input 0's buffer (a Reshape, Squeeze...): nothing to run.
  bool view = false;
  std::unique_ptr<kernels::Kernel> kernel;  // null in the steps of a dynamic plan
  std::vector<int> in_slots;                // -1 for an omitted optional input
  std::vector<int> out_slots;
  std::vector<kernels::TensorType> in_types;
  std::vector<kernels::TensorType> out_types;
};

class Plan {
 public:
  // Inputs in graph-input order with the shapes this plan was compiled for.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, int threads);
  // As run(), on this thread only (no thread setup, no input checks): Engine's batch split runs
  // one sub-batch plan per thread of its team.
  std::vector<Tensor> execute(const std::vector<Tensor>& inputs, kernels::ExecContext& ctx);
  // A dynamic plan's steps, types and times are those of its latest run (empty before one).
  const std::vector<Step>& steps() const;
  // Nodes folded away at compile time because their inputs were all constant.
  int folded_nodes() const;
  // When on, run() adds each step's wall time to step_seconds() (for inspect --profile).
  void set_profiling(bool on);
  const std::vector<double>& step_seconds() const;
  // Bytes of intermediate tensors after buffer sharing (constants and inputs excluded); 0 for a
  // dynamic plan, which allocates each tensor when its node runs.
  int64_t arena_bytes() const { return arena_bytes_; }
  // Concrete dtype and shape of every value (inputs, constants, intermediates, outputs).
  const std::unordered_map<std::string, kernels::TensorType>& value_types() const;
  // A value folded while compiling (computed from constants and shapes), or nullptr.
  const Tensor* computed_constant(const std::string& name) const {
    auto it = computed_.find(name);
    return it == computed_.end() ? nullptr : &it->second;
  }
  // True when the graph runs node by node (see the top of this file).
  bool dynamic() const { return interpreter_ != nullptr; }
  // For a dynamic plan, the inference that needed a run-time value ("Reshape node 'r': input 1
  // (shape) is only known at run time (data-dependent)").
  const std::string& dynamic_reason() const { return dynamic_reason_; }

 private:
  friend class Engine;
  // Copies the interpreter's record of its latest run into steps_, value_types_, step_seconds_.
  void refresh() const;
  std::vector<Tensor> slots_;
  std::vector<int> input_slots_;
  std::vector<int> output_slots_;
  std::vector<kernels::TensorType> input_types_;
  std::vector<std::string> input_names_;
  mutable std::vector<Step> steps_;
  int folded_ = 0;
  std::unordered_map<std::string, Tensor> computed_;
  mutable std::unordered_map<std::string, kernels::TensorType> value_types_;
  bool profiling_ = false;
  int64_t arena_bytes_ = 0;
  mutable std::vector<double> step_seconds_;
  // Dynamic plans: the engine's interpreter (shared by its dynamic plans) and the run count
  // steps_ was refreshed at.
  std::shared_ptr<Interpreter> interpreter_;
  std::string dynamic_reason_;
  mutable int64_t refreshed_at_ = -1;
};

class Engine {
 public:
  Engine(ir::Graph graph, EngineOptions opts = {});
  ~Engine();

  // Runs the model; compiles a plan the first time these input shapes are seen.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  // Runs a model whose inputs or outputs may be sequences or optionals (dynamic mode for those;
  // all-tensor inputs go through plan_for as run() does).
  std::vector<RunValue> run_values(const std::vector<RunValue>& inputs);
  // The plan for these input types: static, or dynamic once the graph turned out to need
  // run-time values (then every later plan is dynamic too).
  Plan& plan_for(const std::vector<kernels::TensorType>& input_types);
  // Compiles what run() will use for these input types (a plan, or the sub-batch plans of a
  // split batch), so that a timed run compiles nothing.
  void prepare(const std::vector<kernels::TensorType>& input_types);
  // How run() takes a batch with these input types (EngineOptions::split_batch): the number of
  // sub-batches run at once, one thread each (1: the whole batch on one plan), and why not split
  // where it could be ("'/softmax' (Softmax): its axis is the batch"). A graph computes each
  // image on its own when every value whose shape depends on the batch size has it as its first
  // dimension, every op reading such a value writes only such values, names no axis 0 and is
  // not OpTraits::batch_coupled; compared between plans of two batch sizes.
  struct Split {
    int parts = 1;
    bool one_at_a_time = false;  // each part runs its images one at a time
    std::string why_not;
  };
  Split batch_split(const std::vector<kernels::TensorType>& input_types);
  bool dynamic() const { return interpreter_ != nullptr; }

  const ir::Graph& graph() const { return graph_; }
  const EngineOptions& options() const { return opts_; }
  // The reordered weights this engine's plans share.
  const kernels::PreparedConstants& prepared_constants() const { return *prepared_; }
  // Concrete input types for a given batch size: symbolic or unknown dims become `batch`
  // (dimension 0) or an Error naming the input.
  // `shapes` gives the concrete shape of inputs whose other dims are symbolic too (an OCR
  // model's height and width); a symbolic dim 0 there still becomes `batch`.
  std::vector<kernels::TensorType> input_types(
      int64_t batch, const std::map<std::string, Shape>& shapes = {}) const;

 private:
  std::unique_ptr<Plan> compile(const std::vector<kernels::TensorType>& input_types,
                                int threads) const;
  // The sub-batch plans of a split batch; `rows` of the batch each, `batched[o]` when graph
  // output o has one row per image (else every part computes the same value).
  struct SplitPlans {
    std::vector<std::unique_ptr<Plan>> parts;
    std::vector<int64_t> rows;
    bool one_at_a_time = false;  // each part runs its rows one image at a time, else all at once
    std::vector<bool> batched;
    std::string why_not;
  };
  SplitPlans& split_for(const std::vector<kernels::TensorType>& input_types);
  std::vector<Tensor> run_split(SplitPlans& s, const std::vector<Tensor>& inputs);
  static void plan_memory(Plan& plan, const std::vector<kernels::TensorType>& slot_type);
  // Creates the interpreter every later plan delegates to (once).
  void make_dynamic(const std::string& reason);
  ir::Graph graph_;
  EngineOptions opts_;
  std::map<std::vector<kernels::TensorType>, std::unique_ptr<Plan>> plans_;
  std::map<std::vector<kernels::TensorType>, SplitPlans> splits_;
  // Reordered weights, one copy for all of this engine's plans.
  std::unique_ptr<kernels::PreparedConstants> prepared_ =
      std::make_unique<kernels::PreparedConstants>();
  std::shared_ptr<Interpreter> interpreter_;
  std::string dynamic_reason_;
};

// Annotates every value of `g` with its dtype and shape (ir::Value::dims), keeping a symbolic
// batch dimension symbolic: the graph is compiled for two batch sizes and dims that differ
// between them take the input's batch parameter name. A graph that needs run-time values (a
// dynamic plan) gets only dtypes and ranks (dims unknown), from one run on zero inputs.
// `shapes` as for Engine::input_types.
void infer_shapes(ir::Graph& g, const std::map<std::string, Shape>& shapes = {});

// Applies flush-to-zero and denormals-are-zero in the calling thread and every OpenMP worker.
void configure_threads(int threads);

}  // namespace qbench::engine
