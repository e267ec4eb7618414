#include "engine/interpreter.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "core/error.h"
#include "kernels/onednn/registry.h"
#include "kernels/ref/qbench_ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::engine {

namespace {

// Wraps a reference function into the Kernel interface.
class ReferenceKernel : public kernels::Kernel {
 public:
  ReferenceKernel(const ir::Node& node, int64_t opset, kernels::RefFn fn)
      : node_(node), opset_(opset), fn_(fn) {}
  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out,
           kernels::ExecContext&) override {
    fn_(node_, opset_, in, out);
  }

 private:
  ir::Node node_;
  int64_t opset_;
  kernels::RefFn fn_;
};

// Kernel: a registered kernel runs it. Sequence: ops on sequence and optional values, run here.
enum class Kind { Kernel, If, Loop, Scan, Sequence };

Kind kind_of(const ir::Node& n) {
  if (!n.domain.empty()) return Kind::Kernel;
  switch (kernels::traits_of(n).interpreted) {
    case kernels::Interpreted::If: return Kind::If;
    case kernels::Interpreted::Loop: return Kind::Loop;
    case kernels::Interpreted::Scan: return Kind::Scan;
    case kernels::Interpreted::Sequence: return Kind::Sequence;
    case kernels::Interpreted::No: return Kind::Kernel;
  }
  return Kind::Kernel;
}

const char* kind_name(RunValue::Kind k) {
  switch (k) {
    case RunValue::Kind::Tensor:
      return "a tensor";
    case RunValue::Kind::Sequence:
      return "a sequence";
    case RunValue::Kind::None:
      return "an empty optional";
  }
  return "?";
}

const Tensor& tensor_of(const ir::Node& node, const RunValue* v, const char* what) {
  if (!v || v->kind != RunValue::Kind::Tensor)
    fail("{}: {} must be a tensor, got {}", node.describe(), what,
         v ? kind_name(v->kind) : "nothing");
  return v->tensor;
}

const std::vector<Tensor>& sequence_of(const ir::Node& node, const RunValue* v, const char* what) {
  if (!v || v->kind != RunValue::Kind::Sequence)
    fail("{}: {} must be a sequence, got {}", node.describe(), what,
         v ? kind_name(v->kind) : "nothing");
  return v->sequence;
}

// A position in a sequence of length n: negative counts from the back; `n` itself is allowed
// when inserting.
size_t seq_position(const ir::Node& node, const RunValue* pos, int64_t n, bool insert) {
  int64_t p = tensor_of(node, pos, "position").to_int64().at(0);
  if (p < 0) p += n;
  if (p < 0 || p > n || (!insert && p == n))
    fail("{}: position {} is out of range for a sequence of {} tensors", node.describe(),
         tensor_of(node, pos, "position").to_int64().at(0), n);
  return static_cast<size_t>(p);
}

// Concatenates tensors of equal rank along `axis` (shapes equal elsewhere).
Tensor concat(const ir::Node& node, const std::vector<Tensor>& parts, int64_t axis) {
  if (parts.empty()) fail("{}: cannot concatenate an empty sequence", node.describe());
  Shape shape = parts[0].shape();
  shape[axis] = 0;
  for (const auto& p : parts) {
    bool ok = p.rank() == static_cast<int>(shape.size()) && p.dtype() == parts[0].dtype();
    for (int d = 0; ok && d < p.rank(); ++d) ok = d == axis || p.shape()[d] == shape[d];
    if (!ok)
      fail("{}: {} {} does not concatenate with {} {} along axis {}", node.describe(),
           dtype_name(p.dtype()), shape_str(p.shape()), dtype_name(parts[0].dtype()),
           shape_str(parts[0].shape()), axis);
    shape[axis] += p.shape()[axis];
  }
  Tensor out(parts[0].dtype(), shape);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  const int64_t es = static_cast<int64_t>(dtype_size(out.dtype()));
  int64_t inner = es;
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  auto* dst = static_cast<std::byte*>(out.raw());
  const int64_t out_row = shape[axis] * inner;
  int64_t col = 0;
  for (const auto& p : parts) {
    const int64_t row = p.shape()[axis] * inner;
    for (int64_t o = 0; o < outer; ++o)
      if (row)
        std::memcpy(dst + o * out_row + col, static_cast<const std::byte*>(p.raw()) + o * row,
                    static_cast<size_t>(row));
    col += row;
  }
  return out;
}

// Elements [begin, end) of `t` along `axis`.
Tensor slice_axis(const Tensor& t, int64_t axis, int64_t begin, int64_t end) {
  Shape shape = t.shape();
  const int64_t n = shape[axis];
  shape[axis] = end - begin;
  Tensor out(t.dtype(), shape);
  int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(t.dtype()));
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const auto* src = static_cast<const std::byte*>(t.raw());
  auto* dst = static_cast<std::byte*>(out.raw());
  const int64_t len = (end - begin) * inner;
  for (int64_t o = 0; o < outer; ++o)
    if (len) std::memcpy(dst + o * len, src + (o * n + begin) * inner, static_cast<size_t>(len));
  return out;
}

const ir::Graph& subgraph(const ir::Node& n, const char* attr) {
  const ir::Attribute* a = n.attr(attr);
  if (!a || a->kind != ir::Attribute::Kind::Graph || !a->g)
    fail("{}: needs a graph attribute '{}'", n.describe(), attr);
  return *a->g;
}

bool truth(const ir::Node& node, const Tensor* t, const char* what) {
  if (!t || t->numel() != 1)
    fail("{}: {} must hold exactly one element, got {}", node.describe(), what,
         t ? shape_str(t->shape()) : "nothing");
  return kernels::ref::element_as_double(*t, 0) != 0;
}

// A scalar for a subgraph input whose declared shape may be [] or [1].
Tensor scalar_for(const ir::Graph& body, size_t input, DType dtype, double v) {
  Shape shape;
  if (input < body.inputs.size()) {
    const ir::Value* val = body.find(body.inputs[input]);
    if (val && val->dims && val->dims->size() == 1) shape = {1};
  }
  Tensor t(dtype, shape);
  kernels::ref::store_double(t, 0, v);
  return t;
}

// Element `index` of `t` along `axis`, with that axis removed.
Tensor take(const Tensor& t, int64_t axis, int64_t index) {
  Shape out_shape = t.shape();
  const int64_t n = out_shape[axis];
  out_shape.erase(out_shape.begin() + axis);
  Tensor out(t.dtype(), out_shape);
  int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(t.dtype()));
  for (int64_t d = 0; d < axis; ++d) outer *= t.shape()[d];
  for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.shape()[d];
  const auto* src = static_cast<const std::byte*>(t.raw());
  auto* dst = static_cast<std::byte*>(out.raw());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + o * inner, src + (o * n + index) * inner, static_cast<size_t>(inner));
  return out;
}

// Stacks tensors of equal shape along a new axis `axis`. With no parts the result has size 0
// along that axis, the given dtype and the element shape as far as it is known.
Tensor stack(const ir::Node& node, const std::vector<Tensor>& parts, int64_t axis,
             DType empty_dtype, const Shape& empty_elem) {
  if (parts.empty()) {
    Shape s = empty_elem;
    s.insert(s.begin() + std::min<int64_t>(axis, static_cast<int64_t>(s.size())), 0);
    return Tensor(empty_dtype == DType::Undefined ? DType::F32 : empty_dtype, s);
  }
  const Shape& elem = parts[0].shape();
  for (const auto& p : parts)
    if (p.shape() != elem || p.dtype() != parts[0].dtype())
      fail("{}: scan outputs of different iterations differ ({} {} vs {} {}); they must stack",
           node.describe(), dtype_name(parts[0].dtype()), shape_str(elem), dtype_name(p.dtype()),
           shape_str(p.shape()));
  const int64_t n = static_cast<int64_t>(parts.size());
  Shape s = elem;
  s.insert(s.begin() + axis, n);
  Tensor out(parts[0].dtype(), s);
  int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(parts[0].dtype()));
  for (int64_t d = 0; d < axis; ++d) outer *= elem[d];
  for (size_t d = static_cast<size_t>(axis); d < elem.size(); ++d) inner *= elem[d];
  auto* dst = static_cast<std::byte*>(out.raw());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t t = 0; t < n; ++t)
      std::memcpy(dst + (o * n + t) * inner,
                  static_cast<const std::byte*>(parts[t].raw()) + o * inner,
                  static_cast<size_t>(inner));
  return out;
}

// Declared dtype and shape of a subgraph output (unknown dims as 0), for empty scan outputs.
std::pair<DType, Shape> declared(const ir::Graph& body, size_t output) {
  const ir::Value* v = body.find(body.outputs[output]);
  Shape s;
  if (v && v->dims)
    for (const auto& d : *v->dims) s.push_back(d.known() ? d.value : 0);
  return {v ? v->dtype : DType::Undefined, s};
}

}  // namespace

KernelChoice choose_kernel(const ir::Node& node, int64_t opset,
                           std::span<const kernels::TensorType> in,
                           std::span<const kernels::TensorType> out,
                           std::span<const Tensor* const> constants, const EngineOptions& opts,
                           kernels::PreparedConstants* prepared) {
  KernelChoice c;
  kernels::KernelInit init{node, opset, in, out, constants, opts.threads, prepared};
  std::vector<std::string> reasons;
  if (opts.optimized_kernels && !opts.reference_op_types.count(node.op_type)) {
    for (const auto& k : kernels::optimized_kernels()) {
      if (node.op_type != k.op_type) continue;
      if (!node.domain.empty() && node.domain != kernels::ref::kQbenchDomain) continue;
      std::string why;
      c.kernel = k.make(init, why);
      if (c.kernel) {
        c.name = k.name;
        break;
      }
      reasons.push_back(fmt::format("{}: {}", k.name, why.empty() ? "declined" : why));
    }
  }
  if (!c.kernel) {
    const kernels::OpDef* def = kernels::find_op(node.domain, node.op_type);
    if (!def)
      fail("{}: op type '{}' is not supported (opset {})", node.describe(), node.op_type, opset);
    c.kernel = std::make_unique<ReferenceKernel>(node, opset, def->reference);
    c.name = "reference";
  }
  c.rejected = fmt::format("{}", fmt::join(reasons, "; "));
  return c;
}

struct Interpreter::NodeState {
  const ir::Node* node = nullptr;
  const kernels::OpDef* def = nullptr;
  Kind kind = Kind::Kernel;
  std::vector<int> in_slots;   // -1 omitted, -2 read from an enclosing graph by name
  std::vector<int> out_slots;  // -1 omitted output
  // Inputs whose values are fixed for the interpreter's life; what kernel factories may bake in.
  std::vector<const Tensor*> constants;
  std::vector<int> release;  // slots whose last reader is this node
  // If: then, else; Loop, Scan, SequenceMap: body.
  std::vector<std::unique_ptr<Interpreter>> subgraphs;
  struct Cached {
    std::vector<kernels::TensorType> in, out;
    KernelChoice k;
  };
  std::vector<Cached> cache;
  // The last run, for inspect.
  bool ran = false;
  const Cached* last = nullptr;
  std::vector<kernels::TensorType> last_in, last_out;
  double seconds = 0;
};

class Interpreter::RunScope : public Scope {
 public:
  explicit RunScope(const Interpreter& in) : in_(in) {}
  const RunValue* find(const std::string& name) const override {
    auto it = in_.slot_of_.find(name);
    if (it != in_.slot_of_.end() && in_.slots_[it->second].present())
      return &in_.slots_[it->second];
    return in_.outer_ ? in_.outer_->find(name) : nullptr;
  }

 private:
  const Interpreter& in_;
};

Interpreter::Interpreter(const ir::Graph& g, int64_t opset, const EngineOptions& opts,
                         const Interpreter* parent)
    : g_(g), opset_(opset), opts_(opts), parent_(parent) {
  auto new_slot = [&](const std::string& name, Tensor t, bool is_const) {
    int s = static_cast<int>(slots_.size());
    slots_.push_back(RunValue(std::move(t)));
    slot_const_.push_back(is_const);
    slot_name_.push_back(name);
    if (!name.empty()) slot_of_[name] = s;
    return s;
  };
  // Every slot exists before folding, so constant pointers handed to kernels never move.
  size_t n_slots = g.values.size() + g.inputs.size();
  for (const auto& n : g.nodes) n_slots += n.outputs.size() + n.inputs.size();
  slots_.reserve(n_slots);
  for (const auto& [name, v] : g.values)
    if (v.data) new_slot(name, *v.data, true);
  for (const auto& name : g.inputs) input_slots_.push_back(new_slot(name, Tensor(), false));
  std::unordered_map<int, size_t> producer;
  std::vector<std::vector<int>> out_slots(g.nodes.size());
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (const auto& o : g.nodes[k].outputs) {
      int s = o.empty() ? -1 : new_slot(o, Tensor(), false);
      if (s >= 0) producer[s] = k;
      out_slots[k].push_back(s);
    }

  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& node = g.nodes[k];
    auto ns = std::make_unique<NodeState>();
    ns->node = &node;
    ns->def = kernels::find_op(node.domain, node.op_type);
    if (!ns->def)
      fail("{}: op type '{}' is not supported (opset {})", node.describe(), node.op_type, opset);
    ns->kind = kind_of(node);
    bool all_const = ns->kind == Kind::Kernel && !node.has_subgraph();
    for (const auto& in : node.inputs) {
      int s = -1;
      if (!in.empty()) {
        auto it = slot_of_.find(in);
        if (it != slot_of_.end())
          s = it->second;
        else if (const Tensor* c = parent_ ? parent_->constant_of(in) : nullptr)
          s = new_slot(in, *c, true);  // an enclosing graph's constant; the buffer is shared
        else
          s = -2;
        if (s >= 0 && producer.count(s) && producer[s] >= k)
          fail("{}: input '{}' is produced by a later node; the graph is not topologically sorted",
               node.describe(), in);
      }
      ns->in_slots.push_back(s);
      const bool c = s >= 0 && slot_const_[s];
      ns->constants.push_back(c ? &slots_[s].tensor : nullptr);
      if (!c && s != -1) all_const = false;
    }
    ns->out_slots = out_slots[k];
    if (all_const) {
      std::vector<const Tensor*> ins(ns->constants.begin(), ns->constants.end());
      std::vector<Tensor> outs = kernels::run_reference(node, opset, ins);
      for (size_t o = 0; o < ns->out_slots.size() && o < outs.size(); ++o)
        if (int s = ns->out_slots[o]; s >= 0) {
          slots_[s] = RunValue(std::move(outs[o]));
          slot_const_[s] = true;
        }
      folded_++;
      continue;
    }
    if (ns->kind == Kind::If) {
      ns->subgraphs.push_back(
          std::make_unique<Interpreter>(subgraph(node, "then_branch"), opset, opts, this));
      ns->subgraphs.push_back(
          std::make_unique<Interpreter>(subgraph(node, "else_branch"), opset, opts, this));
    } else if (ns->kind == Kind::Loop || ns->kind == Kind::Scan ||
               (ns->kind == Kind::Sequence && node.op_type == "SequenceMap")) {
      ns->subgraphs.push_back(
          std::make_unique<Interpreter>(subgraph(node, "body"), opset, opts, this));
    }
    nodes_.push_back(std::move(ns));
  }
  for (const auto& name : g.outputs) {
    auto it = slot_of_.find(name);
    output_slots_.push_back(it == slot_of_.end() ? -1 : it->second);
  }

  // Free each intermediate after its last reader (a node whose subgraph reads it counts).
  std::vector<int> last_use(slots_.size(), -1);
  for (size_t k = 0; k < nodes_.size(); ++k) {
    const NodeState& ns = *nodes_[k];
    for (int s : ns.in_slots)
      if (s >= 0) last_use[s] = static_cast<int>(k);
    if (ns.node->has_subgraph())
      for (const auto& name : ns.node->subgraph_reads())
        if (auto it = slot_of_.find(name); it != slot_of_.end())
          last_use[it->second] = static_cast<int>(k);
    for (int s : ns.out_slots)
      if (s >= 0 && last_use[s] < 0) last_use[s] = static_cast<int>(k);
  }
  std::unordered_set<int> kept(output_slots_.begin(), output_slots_.end());
  for (size_t s = 0; s < slots_.size(); ++s)
    if (!slot_const_[s] && last_use[s] >= 0 && !kept.count(static_cast<int>(s)))
      nodes_[last_use[s]]->release.push_back(static_cast<int>(s));
}

Interpreter::~Interpreter() = default;

const Tensor* Interpreter::constant_of(const std::string& name) const {
  auto it = slot_of_.find(name);
  if (it != slot_of_.end()) return slot_const_[it->second] ? &slots_[it->second].tensor : nullptr;
  return parent_ ? parent_->constant_of(name) : nullptr;
}

void Interpreter::set_profiling(bool on) {
  profiling_ = on;
  for (auto& ns : nodes_) ns->seconds = 0;
}

const RunValue* Interpreter::input(const NodeState& ns, size_t i) const {
  int s = ns.in_slots[i];
  if (s == -1) return nullptr;
  const std::string& name = ns.node->inputs[i];
  const RunValue* v = s >= 0 ? &slots_[s] : (outer_ ? outer_->find(name) : nullptr);
  if (!v || !v->present())
    fail("{}: input '{}' is not produced by any node, initializer, graph input or enclosing graph",
         ns.node->describe(), name);
  return v;
}

std::vector<RunValue> Interpreter::run(const std::vector<RunValue>& inputs, const Scope* outer,
                                       kernels::ExecContext& ctx) {
  if (inputs.size() != input_slots_.size())
    fail("graph '{}' has {} inputs but {} were given", g_.name, input_slots_.size(), inputs.size());
  outer_ = outer;
  for (size_t i = 0; i < inputs.size(); ++i) slots_[input_slots_[i]] = inputs[i];
  for (auto& ns : nodes_) ns->ran = false;
  auto clear = [&] {
    for (size_t s = 0; s < slots_.size(); ++s)
      if (!slot_const_[s]) slots_[s] = RunValue();
  };
  RunScope scope(*this);
  std::vector<RunValue> result;
  try {
    for (auto& ns : nodes_) {
      if (profiling_) {
        auto t0 = std::chrono::steady_clock::now();
        run_node(*ns, scope, ctx);
        ns->seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      } else {
        run_node(*ns, scope, ctx);
      }
    }
    for (size_t o = 0; o < g_.outputs.size(); ++o) {
      const int s = output_slots_[o];
      const RunValue* v = s >= 0 ? &slots_[s] : (outer_ ? outer_->find(g_.outputs[o]) : nullptr);
      if (!v || !v->present())
        fail("graph output '{}' is not produced by any node, initializer or enclosing graph",
             g_.outputs[o]);
      result.push_back(*v);
    }
  } catch (...) {
    clear();
    throw;
  }
  clear();
  runs_++;
  return result;
}

void Interpreter::run_node(NodeState& ns, const Scope& scope, kernels::ExecContext& ctx) {
  const ir::Node& node = *ns.node;
  Inputs vin;
  vin.reserve(ns.in_slots.size());
  for (size_t i = 0; i < ns.in_slots.size(); ++i) vin.push_back(input(ns, i));
  std::vector<RunValue> out;
  ns.last_in.clear();
  for (const RunValue* v : vin)
    ns.last_in.push_back(v && v->kind == RunValue::Kind::Tensor
                             ? kernels::TensorType{v->tensor.dtype(), v->tensor.shape()}
                             : kernels::TensorType{});
  if (ns.kind == Kind::If) {
    run_if(ns, vin, scope, ctx, out);
  } else if (ns.kind == Kind::Loop) {
    run_loop(ns, vin, scope, ctx, out);
  } else if (ns.kind == Kind::Scan) {
    run_scan(ns, vin, scope, ctx, out);
  } else if (ns.kind == Kind::Sequence) {
    run_sequence_op(ns, vin, scope, ctx, out);
  } else if (node.op_type == "Identity" && node.domain.empty() && !vin.empty() && vin[0] &&
             vin[0]->kind != RunValue::Kind::Tensor) {
    out.push_back(*vin[0]);  // Identity of a sequence or an optional
  } else {
    std::vector<const Tensor*> in;
    for (size_t i = 0; i < vin.size(); ++i)
      in.push_back(vin[i] ? &tensor_of(node, vin[i], node.inputs[i].c_str()) : nullptr);
    // Every input value is known here, so inference sees all of them as constants.
    kernels::InferContext ic{node, opset_, ns.last_in, in, {}};
    kernels::infer_checked(*ns.def, ic);
    ic.outputs.resize(node.outputs.size());
    const NodeState::Cached* k = nullptr;
    for (const auto& c : ns.cache)
      if (c.in == ic.inputs && c.out == ic.outputs) k = &c;
    if (!k) {
      KernelChoice choice = choose_kernel(node, opset_, ic.inputs, ic.outputs, ns.constants, opts_);
      ns.cache.push_back({ic.inputs, ic.outputs, std::move(choice)});
      kernels_created_++;
      k = &ns.cache.back();
    }
    ns.last = k;
    std::vector<Tensor> outs;
    for (const auto& t : ic.outputs) outs.emplace_back(t.dtype, t.shape);
    std::vector<Tensor*> out_ptrs;
    for (auto& t : outs) out_ptrs.push_back(&t);
    k->k.kernel->run(in, out_ptrs, ctx);
    for (auto& t : outs) out.push_back(RunValue(std::move(t)));
  }
  if (out.size() < node.outputs.size())
    fail("{}: produced {} outputs but the node has {}", node.describe(), out.size(),
         node.outputs.size());
  ns.last_out.clear();
  for (size_t o = 0; o < ns.out_slots.size(); ++o) {
    const RunValue& v = out[o];
    ns.last_out.push_back(v.kind == RunValue::Kind::Tensor
                              ? kernels::TensorType{v.tensor.dtype(), v.tensor.shape()}
                              : kernels::TensorType{});
    if (ns.out_slots[o] >= 0) slots_[ns.out_slots[o]] = std::move(out[o]);
  }
  ns.ran = true;
  for (int s : ns.release) slots_[s] = RunValue();
}

void Interpreter::run_if(NodeState& ns, const Inputs& in, const Scope& scope,
                         kernels::ExecContext& ctx, std::vector<RunValue>& out) {
  const ir::Node& node = *ns.node;
  const bool cond =
      truth(node, in.empty() ? nullptr : &tensor_of(node, in[0], "the condition"), "the condition");
  out = ns.subgraphs[cond ? 0 : 1]->run({}, &scope, ctx);
  if (out.size() != node.outputs.size())
    fail("{}: the {} branch has {} outputs but the node has {}", node.describe(),
         cond ? "then" : "else", out.size(), node.outputs.size());
}

void Interpreter::run_loop(NodeState& ns, const Inputs& in, const Scope& scope,
                           kernels::ExecContext& ctx, std::vector<RunValue>& out) {
  const ir::Node& node = *ns.node;
  Interpreter& body = *ns.subgraphs[0];
  if (in.size() < 2) fail("{}: needs the inputs M and cond (each may be empty)", node.describe());
  const size_t n_carried = in.size() - 2;
  const ir::Graph& bg = body.g_;
  if (bg.inputs.size() != n_carried + 2)
    fail("{}: the body has {} inputs; expected {} (iteration, condition, {} loop-carried)",
         node.describe(), bg.inputs.size(), n_carried + 2, n_carried);
  if (bg.outputs.size() < n_carried + 1)
    fail("{}: the body has {} outputs; expected at least {}", node.describe(), bg.outputs.size(),
         n_carried + 1);
  const size_t n_scan = bg.outputs.size() - 1 - n_carried;
  int64_t trip = std::numeric_limits<int64_t>::max();
  if (in[0]) {
    const Tensor& m = tensor_of(node, in[0], "M");
    if (m.numel() != 1) fail("{}: M must be a scalar", node.describe());
    trip = m.to_int64()[0];
  }
  bool cond = in[1] ? truth(node, &tensor_of(node, in[1], "cond"), "cond") : true;
  std::vector<RunValue> carried;
  for (size_t i = 0; i < n_carried; ++i) {
    if (!in[2 + i]) fail("{}: loop-carried input {} is missing", node.describe(), i);
    carried.push_back(*in[2 + i]);
  }
  std::vector<std::vector<Tensor>> scans(n_scan);
  for (int64_t it = 0; it < trip && cond; ++it) {
    std::vector<RunValue> body_in;
    body_in.push_back(scalar_for(bg, 0, DType::I64, static_cast<double>(it)));
    body_in.push_back(scalar_for(bg, 1, DType::Bool, cond ? 1 : 0));
    for (auto& c : carried) body_in.push_back(std::move(c));
    std::vector<RunValue> res = body.run(body_in, &scope, ctx);
    cond = truth(node, &tensor_of(node, &res[0], "the body's condition output"),
                 "the body's condition output");
    for (size_t i = 0; i < n_carried; ++i) carried[i] = std::move(res[1 + i]);
    for (size_t k = 0; k < n_scan; ++k)
      scans[k].push_back(tensor_of(node, &res[1 + n_carried + k], "a scan output"));
  }
  out = std::move(carried);
  for (size_t k = 0; k < n_scan; ++k) {
    auto [dt, shape] = declared(bg, 1 + n_carried + k);
    out.push_back(stack(node, scans[k], 0, dt, shape));
  }
}

namespace {

// One Scan over `len` steps: slices of `xs` along their axes feed the body with the state; scan
// outputs are stacked along their axes.
std::vector<RunValue> scan_loop(const ir::Node& node, Interpreter& body, const ir::Graph& bg,
                                std::vector<RunValue> state, const std::vector<const Tensor*>& xs,
                                std::vector<int64_t> in_axes, const std::vector<int64_t>& in_dirs,
                                const std::vector<int64_t>& out_axes,
                                const std::vector<int64_t>& out_dirs, const Scope& scope,
                                kernels::ExecContext& ctx) {
  const size_t n_state = state.size();
  const size_t n_scan_out = bg.outputs.size() - n_state;
  int64_t len = -1;
  for (size_t j = 0; j < xs.size(); ++j) {
    in_axes[j] = kernels::ref::norm_axis(node, in_axes[j], xs[j]->rank(), "scan_input_axes");
    const int64_t l = xs[j]->shape()[in_axes[j]];
    if (len >= 0 && l != len)
      fail("{}: scan inputs have different sequence lengths ({} and {})", node.describe(), len, l);
    len = l;
  }
  std::vector<std::vector<Tensor>> scans(n_scan_out);
  for (int64_t t = 0; t < len; ++t) {
    std::vector<RunValue> body_in = state;
    for (size_t j = 0; j < xs.size(); ++j)
      body_in.push_back(take(*xs[j], in_axes[j], in_dirs[j] ? len - 1 - t : t));
    std::vector<RunValue> res = body.run(body_in, &scope, ctx);
    for (size_t i = 0; i < n_state; ++i) state[i] = std::move(res[i]);
    for (size_t k = 0; k < n_scan_out; ++k)
      scans[k].push_back(tensor_of(node, &res[n_state + k], "a scan output"));
  }
  std::vector<RunValue> out = std::move(state);
  for (size_t k = 0; k < n_scan_out; ++k) {
    if (out_dirs[k]) std::reverse(scans[k].begin(), scans[k].end());
    auto [dt, shape] = declared(bg, n_state + k);
    const int64_t elem_rank =
        scans[k].empty() ? static_cast<int64_t>(shape.size()) : scans[k][0].rank();
    const int64_t axis =
        kernels::ref::norm_axis(node, out_axes[k], elem_rank + 1, "scan_output_axes");
    out.push_back(stack(node, scans[k], axis, dt, shape));
  }
  return out;
}

}  // namespace

void Interpreter::run_scan(NodeState& ns, const Inputs& in, const Scope& scope,
                           kernels::ExecContext& ctx, std::vector<RunValue>& out) {
  const ir::Node& node = *ns.node;
  Interpreter& body = *ns.subgraphs[0];
  const ir::Graph& bg = body.g_;
  // Opset 8's Scan has a batch axis 0 on every input and output and sequence_lens first.
  const size_t first = opset_ < 9 ? 1 : 0;
  const int64_t m = node.attr_int("num_scan_inputs", -1);
  if (m < 1 || m > static_cast<int64_t>(in.size() - first))
    fail("{}: num_scan_inputs must be between 1 and the number of inputs", node.describe());
  const size_t n_state = in.size() - first - static_cast<size_t>(m);
  if (bg.inputs.size() != in.size() - first)
    fail("{}: the body has {} inputs but the node has {}", node.describe(), bg.inputs.size(),
         in.size() - first);
  if (bg.outputs.size() < n_state)
    fail("{}: the body has fewer outputs than state variables", node.describe());
  const size_t n_scan_out = bg.outputs.size() - n_state;
  std::vector<RunValue> state;
  for (size_t i = 0; i < n_state; ++i) {
    if (!in[first + i]) fail("{}: state input {} is missing", node.describe(), i);
    state.push_back(*in[first + i]);
  }
  std::vector<const Tensor*> xs;
  for (int64_t j = 0; j < m; ++j)
    xs.push_back(&tensor_of(node, in[first + n_state + j], "a scan input"));
  if (opset_ >= 9) {
    auto in_axes = node.attr_ints("scan_input_axes", std::vector<int64_t>(m, 0));
    auto in_dirs = node.attr_ints("scan_input_directions", std::vector<int64_t>(m, 0));
    auto out_axes = node.attr_ints("scan_output_axes", std::vector<int64_t>(n_scan_out, 0));
    auto out_dirs = node.attr_ints("scan_output_directions", std::vector<int64_t>(n_scan_out, 0));
    if (in_axes.size() != static_cast<size_t>(m) || in_dirs.size() != static_cast<size_t>(m) ||
        out_axes.size() != n_scan_out || out_dirs.size() != n_scan_out)
      fail("{}: scan axes/directions attributes do not match the number of scan inputs/outputs",
           node.describe());
    out = scan_loop(node, body, bg, std::move(state), xs, in_axes, in_dirs, out_axes, out_dirs,
                    scope, ctx);
    return;
  }
  auto dirs = node.attr_ints("directions", std::vector<int64_t>(m, 0));
  if (dirs.size() != static_cast<size_t>(m))
    fail("{}: directions must have one entry per scan input", node.describe());
  // Every state input has the batch axis first, every scan input the batch and then the sequence
  // axis, all with one batch size.
  int64_t batch = -1;
  auto batch_of = [&](const Tensor& t, int min_rank, const char* what, size_t i) {
    if (t.rank() < min_rank)
      fail("{}: {} {} has shape {}; opset 8's Scan needs rank {} or more", node.describe(), what, i,
           shape_str(t.shape()), min_rank);
    if (batch >= 0 && t.dim(0) != batch)
      fail("{}: {} {} has batch size {}, the inputs before it {}", node.describe(), what, i,
           t.dim(0), batch);
    batch = t.dim(0);
  };
  for (size_t i = 0; i < state.size(); ++i)
    batch_of(tensor_of(node, &state[i], "a state input"), 1, "state input", i);
  for (size_t i = 0; i < xs.size(); ++i) batch_of(*xs[i], 2, "scan input", i);
  if (in[0]) {
    const Tensor& lens = tensor_of(node, in[0], "sequence_lens");
    for (int64_t l : lens.to_int64())
      if (l != xs[0]->dim(1))
        fail("{}: sequence_lens shorter than the scan inputs is not supported", node.describe());
  }
  std::vector<std::vector<Tensor>> per_batch(bg.outputs.size());
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<RunValue> st;
    for (const RunValue& v : state) st.push_back(take(v.tensor, 0, b));
    std::vector<Tensor> xb;
    for (const Tensor* x : xs) xb.push_back(take(*x, 0, b));
    std::vector<const Tensor*> xp;
    for (const Tensor& x : xb) xp.push_back(&x);
    std::vector<RunValue> res = scan_loop(
        node, body, bg, std::move(st), xp, std::vector<int64_t>(m, 0), dirs,
        std::vector<int64_t>(n_scan_out, 0), std::vector<int64_t>(n_scan_out, 0), scope, ctx);
    for (size_t o = 0; o < res.size(); ++o) per_batch[o].push_back(res[o].tensor);
  }
  for (size_t o = 0; o < per_batch.size(); ++o) {
    auto [dt, shape] = declared(bg, o);
    out.push_back(stack(node, per_batch[o], 0, dt, shape));
  }
}

void Interpreter::run_sequence_op(NodeState& ns, const Inputs& in, const Scope& scope,
                                  kernels::ExecContext& ctx, std::vector<RunValue>& out) {
  const ir::Node& node = *ns.node;
  const std::string& op = node.op_type;
  auto arg = [&](size_t i) { return i < in.size() ? in[i] : nullptr; };
  if (op == "SequenceEmpty") {
    out.push_back(RunValue::of_sequence({}));
  } else if (op == "SequenceConstruct") {
    std::vector<Tensor> s;
    for (size_t i = 0; i < in.size(); ++i) s.push_back(tensor_of(node, in[i], "an input"));
    out.push_back(RunValue::of_sequence(std::move(s)));
  } else if (op == "SequenceAt") {
    const auto& s = sequence_of(node, arg(0), "input_sequence");
    out.push_back(s[seq_position(node, arg(1), static_cast<int64_t>(s.size()), false)]);
  } else if (op == "SequenceInsert") {
    std::vector<Tensor> s = sequence_of(node, arg(0), "input_sequence");
    const Tensor& t = tensor_of(node, arg(1), "tensor");
    const size_t p =
        arg(2) ? seq_position(node, arg(2), static_cast<int64_t>(s.size()), true) : s.size();
    s.insert(s.begin() + static_cast<std::ptrdiff_t>(p), t);
    out.push_back(RunValue::of_sequence(std::move(s)));
  } else if (op == "SequenceErase") {
    std::vector<Tensor> s = sequence_of(node, arg(0), "input_sequence");
    if (s.empty()) fail("{}: cannot erase from an empty sequence", node.describe());
    const size_t p =
        arg(1) ? seq_position(node, arg(1), static_cast<int64_t>(s.size()), false) : s.size() - 1;
    s.erase(s.begin() + static_cast<std::ptrdiff_t>(p));
    out.push_back(RunValue::of_sequence(std::move(s)));
  } else if (op == "SequenceLength") {
    out.push_back(Tensor::scalar<int64_t>(
        static_cast<int64_t>(sequence_of(node, arg(0), "input_sequence").size())));
  } else if (op == "SplitToSequence") {
    const Tensor& x = tensor_of(node, arg(0), "input");
    const int64_t axis = kernels::ref::norm_axis(node, node.attr_int("axis", 0), x.rank());
    const int64_t n = x.shape()[axis];
    std::vector<int64_t> sizes;
    if (!arg(1)) {
      sizes.assign(static_cast<size_t>(n), 1);
    } else {
      const Tensor& split = tensor_of(node, arg(1), "split");
      std::vector<int64_t> v = split.to_int64();
      if (split.rank() == 0) {
        if (v[0] <= 0) fail("{}: split must be positive, got {}", node.describe(), v[0]);
        for (int64_t done = 0; done < n; done += v[0]) sizes.push_back(std::min(v[0], n - done));
      } else {
        sizes = v;
      }
    }
    int64_t total = 0;
    for (int64_t sz : sizes) total += sz;
    if (total != n)
      fail("{}: split sizes add up to {} but the axis has {}", node.describe(), total, n);
    const bool squeeze = !arg(1) && node.attr_int("keepdims", 1) == 0;
    std::vector<Tensor> s;
    int64_t begin = 0;
    for (int64_t sz : sizes) {
      Tensor part = slice_axis(x, axis, begin, begin + sz);
      if (squeeze) {
        Shape sh = part.shape();
        sh.erase(sh.begin() + axis);
        part = part.reshaped(sh);
      }
      s.push_back(std::move(part));
      begin += sz;
    }
    out.push_back(RunValue::of_sequence(std::move(s)));
  } else if (op == "ConcatFromSequence") {
    const auto& s = sequence_of(node, arg(0), "input_sequence");
    if (s.empty()) fail("{}: cannot concatenate an empty sequence", node.describe());
    const bool new_axis = node.attr_int("new_axis", 0) != 0;
    const int64_t axis =
        kernels::ref::norm_axis(node, node.attr_int("axis", 0), s[0].rank() + (new_axis ? 1 : 0));
    out.push_back(new_axis ? stack(node, s, axis, s[0].dtype(), s[0].shape())
                           : concat(node, s, axis));
  } else if (op == "SequenceMap") {
    // Iteration i feeds element i of each sequence input and every tensor input as it is; each
    // body output becomes a sequence.
    const auto& first = sequence_of(node, arg(0), "input_sequence");
    const size_t len = first.size();
    for (size_t j = 1; j < in.size(); ++j)
      if (in[j] && in[j]->kind == RunValue::Kind::Sequence && in[j]->sequence.size() != len)
        fail("{}: sequence inputs have different lengths ({} and {})", node.describe(), len,
             in[j]->sequence.size());
    std::vector<std::vector<Tensor>> results(node.outputs.size());
    for (size_t i = 0; i < len; ++i) {
      std::vector<RunValue> body_in;
      for (const RunValue* v : in)
        body_in.push_back(v->kind == RunValue::Kind::Sequence ? RunValue(v->sequence[i]) : *v);
      std::vector<RunValue> res = ns.subgraphs[0]->run(body_in, &scope, ctx);
      if (res.size() != results.size())
        fail("{}: the body has {} outputs but the node has {}", node.describe(), res.size(),
             results.size());
      for (size_t o = 0; o < res.size(); ++o)
        results[o].push_back(tensor_of(node, &res[o], "a body output"));
    }
    for (auto& r : results) out.push_back(RunValue::of_sequence(std::move(r)));
  } else if (op == "Optional") {
    out.push_back(arg(0) ? *arg(0) : RunValue::none());
  } else if (op == "OptionalHasElement") {
    const bool has = arg(0) && arg(0)->kind != RunValue::Kind::None;
    Tensor t(DType::Bool, {});
    t.data<bool>()[0] = has;
    out.push_back(std::move(t));
  } else if (op == "OptionalGetElement") {
    if (!arg(0) || arg(0)->kind == RunValue::Kind::None)
      fail("{}: the optional input is empty", node.describe());
    out.push_back(*arg(0));
  } else {
    fail("{}: op type '{}' is not supported on sequences", node.describe(), op);
  }
}

std::vector<Step> Interpreter::last_steps() const {
  std::vector<Step> steps;
  for (const auto& ns : nodes_) {
    if (!ns->ran) continue;
    Step s;
    s.node = *ns->node;
    if (ns->kind == Kind::Kernel && ns->last) {
      s.kernel_name = ns->last->k.name;
      s.rejected = ns->last->k.rejected;
      s.impl = ns->last->k.kernel->impl();
      s.threads = opts_.threads;  // the interpreter runs every node with the plan's threads
      s.emulated = ns->last->k.kernel->emulated();
    } else {
      s.kernel_name = ns->kind == Kind::Sequence ? "engine" : "subgraph";
    }
    s.in_types = ns->last_in;
    s.out_types = ns->last_out;
    steps.push_back(std::move(s));
  }
  return steps;
}

std::unordered_map<std::string, kernels::TensorType> Interpreter::last_value_types() const {
  std::unordered_map<std::string, kernels::TensorType> types;
  for (size_t s = 0; s < slots_.size(); ++s)
    if (slot_const_[s] && !slot_name_[s].empty())
      types[slot_name_[s]] = {slots_[s].tensor.dtype(), slots_[s].tensor.shape()};
  for (const auto& ns : nodes_) {
    if (!ns->ran) continue;
    for (size_t i = 0; i < ns->node->inputs.size() && i < ns->last_in.size(); ++i)
      if (!ns->node->inputs[i].empty() && ns->in_slots[i] != -2)
        types[ns->node->inputs[i]] = ns->last_in[i];
    for (size_t o = 0; o < ns->node->outputs.size() && o < ns->last_out.size(); ++o)
      if (!ns->node->outputs[o].empty()) types[ns->node->outputs[o]] = ns->last_out[o];
  }
  return types;
}

std::vector<double> Interpreter::step_seconds() const {
  std::vector<double> s;
  for (const auto& ns : nodes_)
    if (ns->ran) s.push_back(ns->seconds);
  return s;
}

}  // namespace qbench::engine
