#pragma once
// The operator interface. Every ONNX op qbench supports has one OpDef: a shape/type inference
// function and a plain C++ reference kernel (the test oracle and the fallback). Optimized
// kernels (oneDNN) are extra factories tried before the reference, in registry order.
//
// The engine compiles a graph for concrete input shapes, so inference and kernel creation see
// concrete shapes, and the values of inputs that are constant at that point. When inference
// needs a value that is only known at run time it throws DataDependent, and the engine runs
// that graph in its dynamic mode, where every input value is known (engine/interpreter.h).
#include <compare>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <typeinfo>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "kernels/op_traits.h"

namespace qbench::kernels {

// Inference needed the value of an input that is not known when compiling (a Reshape shape that
// is a graph input, the input of NonZero, the condition of an If). Not a user error by itself:
// the engine catches it and runs the graph node by node with the actual values.
class DataDependent : public Error {
 public:
  using Error::Error;
};

// Throws DataDependent naming the node and `what` it needed; for infer functions that need
// values beyond what InferContext::constant covers (a control-flow op).
[[noreturn]] void fail_data_dependent(const ir::Node& node, const std::string& what);

struct TensorType {
  DType dtype = DType::Undefined;
  Shape shape;
  auto operator<=>(const TensorType&) const = default;
};

// What inference of one node sees. inputs[i] has dtype Undefined for an omitted optional input;
// constants[i] is non-null where input i's value is known at compile time.
struct InferContext {
  const ir::Node& node;
  int64_t opset;
  std::vector<TensorType> inputs;
  std::vector<const Tensor*> constants;
  // Filled by the infer function, one per node output.
  std::vector<TensorType> outputs;

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const {
    return i < inputs.size() && inputs[i].dtype != DType::Undefined;
  }
  // Value of a constant input; throws DataDependent naming the node when it is not constant.
  const Tensor& constant(size_t i, const char* what) const;
};

using InferFn = void (*)(InferContext&);

// Per-run state shared by all kernels (thread count, scratch).
struct ExecContext {
  int threads = 1;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // inputs[i] is nullptr for an omitted optional input. Outputs are allocated by the caller with
  // the inferred shapes and dtypes; kernels write into them.
  virtual void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
                   ExecContext& ctx) = 0;
  // The implementation that runs, for inspect and reports: oneDNN's name for it
  // ("brgconv:avx512_core_vnni", "jit_uni_int8:avx2") and how qbench drives it ("two 7-bit
  // halves"); empty for qbench's own loops.
  virtual std::string impl() const { return {}; }
  // True when the kernel computes a precision this CPU lacks by emulation (bf16 values computed
  // by f32 kernels): numerically that precision, but not its speed.
  virtual bool emulated() const { return false; }
  // The input whose value output 0 starts from (a residual the kernel adds to in place), or -1.
  // The plan lets output 0 take over that input's buffer when nothing reads the input later and
  // the sizes match; otherwise the kernel copies the input into output 0 itself.
  virtual int inplace_input() const { return -1; }
};

// What kernels make once from a constant (weights reordered into a primitive's layout), shared
// by the plans of one engine: a split batch's part plans, and the plans of each batch size,
// compile the same weights into the same layout, and one copy serves them all (ResNet-50 FP32
// keeps 102 MB of reordered weights per plan). A value lives while a kernel holds it, and holds
// its source tensor, so no other constant can take the source's address while the value is
// found by it.
class PreparedConstants {
 public:
  // The value made from `source` by `make` (a callable returning T), or the one a living kernel
  // already holds for the same source and `key`; the key names everything the value depends on
  // besides the source's data (target layout and type, the transformation applied).
  template <typename T, typename Make>
  std::shared_ptr<const T> get(const Tensor& source, const std::string& key, Make&& make) {
    struct Held {
      Tensor source;
      T value;
    };
    const std::string k = key + '\0' + typeid(T).name();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();)
      it = it->second.expired() ? entries_.erase(it) : std::next(it);
    auto& entry = entries_[{source.raw(), k}];
    if (auto held = std::static_pointer_cast<const Held>(entry.lock())) {
      shared_++;
      return std::shared_ptr<const T>(held, &held->value);
    }
    made_++;
    auto held = std::make_shared<const Held>(Held{source, make()});
    entry = held;
    return std::shared_ptr<const T>(held, &held->value);
  }
  // How many get() calls made a value, and how many found one instead.
  int64_t made() const {
    std::lock_guard<std::mutex> lock(mu_);
    return made_;
  }
  int64_t shared() const {
    std::lock_guard<std::mutex> lock(mu_);
    return shared_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<const void*, std::string>, std::weak_ptr<const void>> entries_;
  int64_t made_ = 0, shared_ = 0;
};

// Everything a kernel factory may look at to decide whether (and how) to handle a node.
struct KernelInit {
  const ir::Node& node;
  int64_t opset;
  std::span<const TensorType> inputs;
  std::span<const TensorType> outputs;
  std::span<const Tensor* const> constants;  // as in InferContext
  int threads = 1;
  // Where kernels share what they make from constants with the engine's other plans; null: each
  // kernel keeps its own.
  PreparedConstants* prepared = nullptr;
};

// Returns a kernel, or nullptr with `why_not` set to a short reason ("groups > 1 with
// dilation not supported", "input dtype i64").
using KernelFactory = std::unique_ptr<Kernel> (*)(const KernelInit& init, std::string& why_not);

// A reference implementation as a plain function; wrapped into a Kernel by the registry.
using RefFn = void (*)(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                       std::span<Tensor* const> outputs);

// An op's descriptor: how to infer and compute it, and what the passes, quantizer and inspect
// know about it (op_traits.h). Registered once, one line per op (registry_ref.cpp).
struct OpDef {
  const char* op_type;
  int64_t since_opset;  // lowest opset whose semantics the reference implements
  InferFn infer;
  RefFn reference;
  OpTraits traits = {};
};

// Runs def.infer on ctx, then checks what it produced: at least one type per node output, each
// with a representable element count (so later inference may multiply dims). Errors name the node.
void infer_checked(const OpDef& def, InferContext& ctx);

// Lookups in the registry table (kernels/registry.cpp). nullptr when unsupported.
const OpDef* find_op(const std::string& domain, const std::string& op_type);
// The traits of a node's op; default traits (nothing known) for an op qbench does not support.
const OpTraits& traits_of(const ir::Node& node);
// The dense family (Conv, Gemm, MatMul) of a float op of the default domain; Dense::None for
// everything else, integer forms included.
Dense float_dense(const ir::Node& node);
std::span<const OpDef> all_ops();

// Applies a node's fused activations (ir::Node::fused) in place; used by reference kernels of
// ops that can carry them (Conv, Gemm, MatMul...).
void apply_fused_activations(const ir::Node& node, Tensor& t);

// Runs a node with its reference kernel on concrete inputs, allocating outputs: inference, then
// the reference function. Used for constant folding and as the test oracle.
std::vector<Tensor> run_reference(const ir::Node& node, int64_t opset,
                                  const std::vector<const Tensor*>& inputs);

}  // namespace qbench::kernels
