#pragma once
// The engine's dynamic mode: runs a graph node by node when compiling a static Plan is impossible
// because inference needs a value only known at run time (kernels::DataDependent: a Reshape
// whose shape is a graph input, NonZero, If/Loop/Scan). Each node's output types are inferred
// with the actual input values as constants; its kernel is chosen with the same ordered dispatch
// as a Plan (oneDNN first, the reference last) and cached per node, keyed by the concrete input
// and output types, so repeated runs with the same shapes create nothing. Subgraphs (If branches,
// Loop and Scan bodies, SequenceMap) run in nested interpreters that see the enclosing graphs'
// values. Values may be sequences and optionals (RunValue); the ops on them run here too.
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/engine.h"

namespace qbench::engine {

// The chosen kernel for one node at concrete types, with the reasons earlier ones declined.
struct KernelChoice {
  std::unique_ptr<kernels::Kernel> kernel;
  std::string name;      // "onednn", "reference"
  std::string rejected;  // "onednn: <reason>; ..."
};

// Walks the optimized kernels for the node's op type (when opts.optimized_kernels) and ends at
// the reference kernel. `constants` are the inputs whose values stay fixed for the kernel's life.
KernelChoice choose_kernel(const ir::Node& node, int64_t opset,
                           std::span<const kernels::TensorType> in,
                           std::span<const kernels::TensorType> out,
                           std::span<const Tensor* const> constants, const EngineOptions& opts,
                           kernels::PreparedConstants* prepared = nullptr);

// Values visible to a subgraph from the graphs around it.
class Scope {
 public:
  virtual ~Scope() = default;
  // The current value of `name`, or nullptr when no enclosing graph defines it.
  virtual const RunValue* find(const std::string& name) const = 0;
};

class Interpreter {
 public:
  // Folds the nodes whose inputs are all constants of `g` (initializers, Constant nodes) once;
  // `g` must outlive the interpreter. For a subgraph, `parent` is the enclosing graph's
  // interpreter: its constants (weights exporters keep in the main graph) are constants here too,
  // so kernels may pack them and nodes on them fold.
  Interpreter(const ir::Graph& g, int64_t opset, const EngineOptions& opts,
              const Interpreter* parent = nullptr);
  ~Interpreter();

  // Runs the graph on `inputs` (graph-input order); `outer` resolves values the graph reads
  // from enclosing graphs (nullptr for a model's main graph).
  std::vector<RunValue> run(const std::vector<RunValue>& inputs, const Scope* outer,
                            kernels::ExecContext& ctx);

  // What the last run did, for inspect: one Step (without its kernel) per node that ran, and
  // the types of every value it computed.
  std::vector<Step> last_steps() const;
  std::unordered_map<std::string, kernels::TensorType> last_value_types() const;
  std::vector<double> step_seconds() const;
  int64_t runs() const { return runs_; }
  // Kernels created so far (in this graph, not its subgraphs): stays put while shapes repeat.
  int64_t kernels_created() const { return kernels_created_; }
  int folded_nodes() const { return folded_; }
  void set_profiling(bool on);

 private:
  struct NodeState;
  class RunScope;
  void run_node(NodeState& ns, const Scope& scope, kernels::ExecContext& ctx);
  using Inputs = std::vector<const RunValue*>;
  void run_if(NodeState& ns, const Inputs& in, const Scope& scope, kernels::ExecContext& ctx,
              std::vector<RunValue>& out);
  void run_loop(NodeState& ns, const Inputs& in, const Scope& scope, kernels::ExecContext& ctx,
                std::vector<RunValue>& out);
  void run_scan(NodeState& ns, const Inputs& in, const Scope& scope, kernels::ExecContext& ctx,
                std::vector<RunValue>& out);
  void run_sequence_op(NodeState& ns, const Inputs& in, const Scope& scope,
                       kernels::ExecContext& ctx, std::vector<RunValue>& out);
  const RunValue* input(const NodeState& ns, size_t i) const;
  // The constant named `name` here or in an enclosing graph, else nullptr.
  const Tensor* constant_of(const std::string& name) const;

  const ir::Graph& g_;
  int64_t opset_;
  EngineOptions opts_;
  std::unordered_map<std::string, int> slot_of_;
  std::vector<std::string> slot_name_;
  std::vector<RunValue> slots_;
  std::vector<bool> slot_const_;
  std::vector<int> input_slots_;
  std::vector<int> output_slots_;  // -1: an outer value, looked up by name at the end of a run
  std::vector<std::unique_ptr<NodeState>> nodes_;
  const Scope* outer_ = nullptr;
  const Interpreter* parent_ = nullptr;
  int folded_ = 0;
  int64_t runs_ = 0;
  int64_t kernels_created_ = 0;
  bool profiling_ = false;
};

}  // namespace qbench::engine
