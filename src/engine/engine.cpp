#include "engine/engine.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "core/limits.h"
#include "engine/interpreter.h"
#include "kernels/onednn/context.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/ref/qbench_ops.h"
#include "kernels/ref/ref_util.h"
#include "passes/passes.h"

namespace qbench::engine {

void configure_threads(int threads) {
  // Thread count and MXCSR flags are per process / per thread: set them only when they change.
  static int configured = 0;
  if (configured == threads) return;
  omp_set_num_threads(threads);
  kernels::onednn::set_flush_denormals();
  configured = threads;
}

namespace {

// Shape (and Size) of a value whose shape is known at compile time is itself a constant.
Tensor shape_constant(const ir::Node& node, int64_t opset, const Shape& shape) {
  if (node.op_type == "Size") return Tensor::scalar<int64_t>(shape_numel(shape));
  int64_t r = static_cast<int64_t>(shape.size());
  int64_t start = 0, end = r;
  if (opset >= 15) {
    start = node.attr_int("start", 0);
    end = node.attr_int("end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = std::clamp<int64_t>(start, 0, r);
    end = std::clamp<int64_t>(end, start, r);
  }
  std::vector<int64_t> dims(shape.begin() + start, shape.begin() + end);
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
}

void check_input(const ir::Value& v, const kernels::TensorType& t) {
  if (v.kind == ir::ValueKind::Sequence || v.kind == ir::ValueKind::OptionalSequence)
    fail("model input '{}' is a sequence; run the model with Engine::run_values", v.name);
  if (v.dtype != DType::Undefined && v.dtype != t.dtype)
    fail("model input '{}' expects {} data but got {}", v.name, dtype_name(v.dtype),
         dtype_name(t.dtype));
  if (v.dims) {
    bool ok = v.dims->size() == t.shape.size();
    for (size_t d = 0; ok && d < t.shape.size(); ++d)
      ok = !(*v.dims)[d].known() || (*v.dims)[d].value == t.shape[d];
    if (!ok)
      fail("model input '{}' expects shape {} but got {}", v.name, ir::dims_str(*v.dims),
           shape_str(t.shape));
  }
}

// Runs the passes on every subgraph (If branches, Loop/Scan bodies). Each is copied first, since
// attribute graphs are shared with the caller's graph, and the enclosing graphs' constants it
// reads are copied in (buffers shared), so BatchNorm folding and fusion see exporters' weights,
// which live in the main graph. `outer` is the enclosing graph's own enclosing graph.
struct ConstScope {
  const ir::Graph& g;
  const ConstScope* outer;
  const Tensor* find(const std::string& name) const {
    if (const ir::Value* v = g.find(name); v && v->data) return &*v->data;
    if (std::find(g.inputs.begin(), g.inputs.end(), name) != g.inputs.end()) return nullptr;
    return outer ? outer->find(name) : nullptr;
  }
};

// Graph passes for this CPU: bf16 activations between bf16 convolutions only where it has
// native bf16 (passes::OptimizeOptions).
passes::OptimizeOptions optimize_options() {
  passes::OptimizeOptions o;
  o.bf16_storage = kernels::onednn::native_bf16();
  return o;
}

void optimize_subgraphs(ir::Graph& g, const std::map<std::string, int64_t>& opsets,
                        const ConstScope* outer) {
  const ConstScope scope{g, outer};
  for (auto& node : g.nodes)
    for (auto& [k, a] : node.attrs) {
      if (a.kind != ir::Attribute::Kind::Graph || !a.g) continue;
      auto sub = std::make_shared<ir::Graph>(*a.g);
      sub->opsets = opsets;
      for (const auto& name : sub->outer_reads())
        if (const Tensor* t = scope.find(name)) {
          ir::Value& v = sub->value(name);
          v.data = *t;
          v.dtype = t->dtype();
          std::vector<ir::Dim> dims;
          for (int64_t d : t->shape()) dims.push_back({d, ""});
          v.dims = dims;
        }
      passes::optimize(*sub, optimize_options());
      optimize_subgraphs(*sub, opsets, &scope);
      a.g = std::move(sub);
    }
}

}  // namespace

Engine::Engine(ir::Graph graph, EngineOptions opts) : graph_(std::move(graph)), opts_(opts) {
  if (opts_.threads < 1) fail("--threads must be at least 1 (got {})", opts_.threads);
  // Fail early, naming every unsupported op (subgraphs included), instead of at the first run.
  std::vector<std::string> unsupported;
  std::function<void(const ir::Graph&)> check = [&](const ir::Graph& g) {
    for (const auto& n : g.nodes) {
      if (!kernels::find_op(n.domain, n.op_type))
        unsupported.push_back(fmt::format(
            "{}{} (node '{}')", n.domain.empty() ? "" : n.domain + ".", n.op_type, n.name));
      for (const auto& [k, a] : n.attrs)
        if (a.kind == ir::Attribute::Kind::Graph && a.g) check(*a.g);
    }
  };
  check(graph_);
  if (!unsupported.empty())
    fail("unsupported op{} at opset {}: {}", unsupported.size() > 1 ? "s" : "", graph_.opset(),
         fmt::join(unsupported, ", "));
  if (opts_.optimize_graph) {
    passes::optimize(graph_, optimize_options());
    optimize_subgraphs(graph_, graph_.opsets, nullptr);
  }
}

Engine::~Engine() = default;

std::vector<kernels::TensorType> Engine::input_types(
    int64_t batch, const std::map<std::string, Shape>& shapes) const {
  for (const auto& [name, shape] : shapes)
    if (std::find(graph_.inputs.begin(), graph_.inputs.end(), name) == graph_.inputs.end())
      fail("--shape names '{}', which is not a model input (inputs: {})", name,
           fmt::join(graph_.inputs, ", "));
  std::vector<kernels::TensorType> types;
  for (const auto& name : graph_.inputs) {
    const ir::Value& v = graph_.values.at(name);
    auto given = shapes.find(name);
    if (!v.dims && given == shapes.end())
      fail("model input '{}' has no shape; give it with --shape {}=D1,D2,...", name, name);
    kernels::TensorType t{v.dtype, {}};
    if (given != shapes.end()) {
      const Shape& s = given->second;
      if (v.dims && s.size() != v.dims->size())
        fail("--shape {}={}: the model declares rank {} ({})", name, shape_str(s), v.dims->size(),
             ir::dims_str(*v.dims));
      for (size_t i = 0; i < s.size(); ++i) {
        const bool known = v.dims && (*v.dims)[i].known();
        if (known && (*v.dims)[i].value != s[i])
          fail("--shape {}={}: dimension {} is fixed at {} in the model", name, shape_str(s), i,
               (*v.dims)[i].value);
        t.shape.push_back(!known && i == 0 && v.dims ? batch : s[i]);
      }
      types.push_back(std::move(t));
      continue;
    }
    for (size_t i = 0; i < v.dims->size(); ++i) {
      const ir::Dim& d = (*v.dims)[i];
      if (d.known())
        t.shape.push_back(d.value);
      else if (i == 0)
        t.shape.push_back(batch);
      else
        fail(
            "model input '{}' has a symbolic dimension {} ('{}') other than the batch; "
            "give its shape with --shape {}=D1,D2,...",
            name, i, d.param, name);
    }
    types.push_back(std::move(t));
  }
  return types;
}

Plan& Engine::plan_for(const std::vector<kernels::TensorType>& input_types) {
  auto it = plans_.find(input_types);
  if (it != plans_.end()) return *it->second;
  std::unique_ptr<Plan> plan;
  if (!interpreter_) {
    try {
      plan = compile(input_types, opts_.threads);
    } catch (const kernels::DataDependent& e) {
      // Whether a value is known at compile time does not depend on the input shapes, so the
      // graph stays dynamic for every later plan.
      make_dynamic(e.what());
    }
  }
  if (!plan) {
    plan = std::make_unique<Plan>();
    if (input_types.size() != graph_.inputs.size())
      fail("model has {} inputs but {} were given", graph_.inputs.size(), input_types.size());
    for (size_t i = 0; i < input_types.size(); ++i)
      check_input(graph_.values.at(graph_.inputs[i]), input_types[i]);
    plan->input_types_ = input_types;
    plan->input_names_ = graph_.inputs;
    plan->interpreter_ = interpreter_;
    plan->dynamic_reason_ = dynamic_reason_;
  }
  return *plans_.emplace(input_types, std::move(plan)).first->second;
}

std::vector<Tensor> Engine::run(const std::vector<Tensor>& inputs) {
  std::vector<kernels::TensorType> types;
  for (const auto& t : inputs) types.push_back({t.dtype(), t.shape()});
  SplitPlans& s = split_for(types);
  if (!s.parts.empty()) return run_split(s, inputs);
  return plan_for(types).run(inputs, opts_.threads);
}

void Engine::prepare(const std::vector<kernels::TensorType>& input_types) {
  if (split_for(input_types).parts.empty()) plan_for(input_types);
}

Engine::Split Engine::batch_split(const std::vector<kernels::TensorType>& input_types) {
  const SplitPlans& s = split_for(input_types);
  return {std::max<int>(1, static_cast<int>(s.parts.size())),
          !s.parts.empty() && s.one_at_a_time, s.why_not};
}

namespace {

// "" when running a graph on sub-batches gives the rows of running it on the whole batch, judged
// from its plans at two batch sizes b and c; else why not, naming the node or value.
std::string batch_coupling(const Plan& p, int64_t b, const Plan& q, int64_t c,
                           std::set<std::string>& per_image) {
  const auto& tp = p.value_types();
  const auto& tq = q.value_types();
  for (const auto& [name, t] : tp) {
    auto it = tq.find(name);
    if (it == tq.end()) return fmt::format("value '{}' exists at one batch size only", name);
    const kernels::TensorType& u = it->second;
    if (t == u) {
      // A value computed from the batch size (Shape -> Gather -> Div) has the same type at both
      // sizes but not the same data. Integer ones are shapes and indices (a Reshape's target);
      // a float one is arithmetic the sub-batches would get wrong.
      const Tensor* x = p.computed_constant(name);
      const Tensor* y = q.computed_constant(name);
      if (x && y && !x->same_as(*y) && dtype_is_float(t.dtype))
        return fmt::format("'{}' is computed from the batch size", name);
      continue;
    }
    // One row per image: the batch is the first dimension, as in the inputs, and nothing else.
    const bool rows = t.dtype == u.dtype && !t.shape.empty() && t.shape.size() == u.shape.size() &&
                      t.shape[0] == b && u.shape[0] == c &&
                      std::equal(t.shape.begin() + 1, t.shape.end(), u.shape.begin() + 1);
    if (!rows)
      return fmt::format("'{}' is {} at batch {} but {} at batch {}: the batch is not its first "
                         "dimension alone",
                         name, shape_str(t.shape), b, shape_str(u.shape), c);
    per_image.insert(name);
  }
  for (const Step& s : p.steps()) {
    const ir::Node& n = s.node;
    bool reads = false;  // an input holding rows of images
    for (const auto& in : n.inputs) reads = reads || per_image.count(in);
    if (!reads) continue;
    const kernels::OpTraits& traits = kernels::traits_of(n);
    if (traits.batch_coupled)
      return fmt::format("{}: couples the items of its first axis", n.describe());
    for (const auto& o : n.outputs)
      if (!o.empty() && !per_image.count(o))
        return fmt::format("{}: output '{}' does not keep one row per image", n.describe(), o);
    // An axis or axes attribute (every op's refers to input 0, or to all inputs) naming the
    // batch of input 0: Softmax, Concat, Gather... across images.
    if (n.inputs.empty() || !per_image.count(n.inputs[0])) continue;
    const int64_t rank = static_cast<int64_t>(s.in_types[0].shape.size());
    auto is_batch_axis = [&](int64_t a) { return a == 0 || a == -rank; };
    const ir::Attribute* axis = n.attr("axis");
    if (axis ? axis->kind == ir::Attribute::Kind::Int && is_batch_axis(axis->i)
             : traits.axis_defaults_to_batch)
      return fmt::format("{}: its axis is the batch", n.describe());
    if (const ir::Attribute* a = n.attr("axes"); a && a->kind == ir::Attribute::Kind::Ints)
      for (int64_t x : a->ints)
        if (is_batch_axis(x)) return fmt::format("{}: its axes include the batch", n.describe());
  }
  return "";
}

// Whether a node has enough work to share among threads (EngineOptions::min_parallel_macs,
// min_parallel_elements): its MACs, or the elements of its largest input or output.
bool worth_threads(const ir::Node& node, std::span<const kernels::TensorType> in,
                   std::span<const kernels::TensorType> out, const EngineOptions& o) {
  const kernels::OpTraits& traits = kernels::traits_of(node);
  if (traits.macs && traits.macs(node, in, out) >= o.min_parallel_macs) return true;
  int64_t elements = 0;
  for (const auto* types : {&in, &out})
    for (const auto& t : *types)
      if (t.dtype != DType::Undefined) elements = std::max(elements, shape_numel(t.shape));
  return elements >= o.min_parallel_elements;
}

// Rows [start, start + count) of t's first dimension: a view where they start 64-byte aligned
// as every tensor the engine allocates does, else a copy.
Tensor rows_of(const Tensor& t, int64_t start, int64_t count) {
  Tensor v = t.rows(start, count);
  return reinterpret_cast<uintptr_t>(v.raw()) % 64 == 0 ? v : v.clone();
}

}  // namespace

Engine::SplitPlans& Engine::split_for(const std::vector<kernels::TensorType>& input_types) {
  auto found = splits_.find(input_types);
  if (found != splits_.end()) return found->second;
  SplitPlans& s = splits_[input_types];
  // Cases where splitting cannot apply or help: no reason to give.
  if (!opts_.split_batch || opts_.threads < 2 || interpreter_ ||
      input_types.size() != graph_.inputs.size() || input_types.empty())
    return s;
  const int64_t batch = input_types[0].shape.empty() ? 0 : input_types[0].shape[0];
  if (batch < 2) return s;
  for (size_t i = 0; i < input_types.size(); ++i) {
    const ir::Value& v = graph_.values.at(graph_.inputs[i]);
    const auto& t = input_types[i];
    if (v.kind != ir::ValueKind::Tensor || !v.dims || v.dims->empty() || (*v.dims)[0].known() ||
        t.shape.empty() || t.shape[0] != batch || dtype_size(t.dtype) == 0)
      return s;
  }
  const int parts = static_cast<int>(std::min<int64_t>(opts_.threads, batch));
  for (int p = 0; p < parts; ++p) s.rows.push_back(batch / parts + (p < batch % parts ? 1 : 0));
  auto types_at = [&](int64_t rows) {
    std::vector<kernels::TensorType> t = input_types;
    for (auto& x : t) x.shape[0] = rows;
    return t;
  };
  std::vector<std::unique_ptr<Plan>> plans;
  try {
    // A part whose intermediate tensors would stream far out of the caches runs its images one
    // at a time, else all at once (see EngineOptions::split_part_bytes).
    std::unique_ptr<Plan> one = compile(types_at(1), 1);
    s.one_at_a_time = one->arena_bytes() * s.rows.front() > opts_.split_part_bytes;
    auto rows_of_part = [&](int p) { return s.one_at_a_time ? 1 : s.rows[p]; };
    for (int p = 0; p < parts; ++p)
      plans.push_back(rows_of_part(p) == 1 && one ? std::move(one)
                                                  : compile(types_at(rows_of_part(p)), 1));
    // A second batch size to tell which dims are the batch: the last part's when it differs,
    // else a probe plan (the batch-1 plan when no part took it), dropped after the comparison.
    const int64_t b = rows_of_part(0);
    int64_t c = rows_of_part(parts - 1);
    std::unique_ptr<Plan> probe;
    if (c == b) {
      c = b == 1 ? 2 : 1;
      probe = c == 1 ? std::move(one) : compile(types_at(c), 1);
    }
    const Plan& other = probe ? *probe : *plans.back();
    std::set<std::string> per_image;
    s.why_not = batch_coupling(*plans.front(), b, other, c, per_image);
    for (const auto& o : graph_.outputs) s.batched.push_back(per_image.count(o) > 0);
  } catch (const kernels::DataDependent& e) {
    make_dynamic(e.what());
    s.why_not = "the graph runs node by node (dynamic)";
  }
  configure_threads(opts_.threads);
  if (s.why_not.empty()) s.parts = std::move(plans);
  return s;
}

std::vector<Tensor> Engine::run_split(SplitPlans& s, const std::vector<Tensor>& inputs) {
  const int parts = static_cast<int>(s.parts.size());
  std::vector<int64_t> first(parts, 0);
  for (int p = 1; p < parts; ++p) first[p] = first[p - 1] + s.rows[p - 1];
  // out[p]: the outputs of each run of part p's plan (its rows at once, or one image each).
  std::vector<std::vector<std::vector<Tensor>>> out(parts);
  configure_threads(opts_.threads);
  std::vector<std::exception_ptr> errors(parts);
  // Each part on its own thread; oneDNN and qbench's loops run single-threaded inside (OpenMP
  // does not nest here), and the part plans' primitives were made for one thread.
#pragma omp parallel for num_threads(parts) schedule(static, 1)
  for (int p = 0; p < parts; ++p) {
    try {
      kernels::ExecContext ctx{1};
      const int64_t step = s.one_at_a_time ? 1 : s.rows[p];
      for (int64_t r = 0; r < s.rows[p]; r += step) {
        std::vector<Tensor> in;
        for (const Tensor& t : inputs) in.push_back(rows_of(t, first[p] + r, step));
        out[p].push_back(s.parts[p]->execute(in, ctx));
      }
    } catch (...) {
      errors[p] = std::current_exception();
    }
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  std::vector<Tensor> result;
  for (size_t o = 0; o < graph_.outputs.size(); ++o) {
    const Tensor& head = out[0][0][o];
    if (!s.batched[o]) {  // the same value in every run (it does not depend on the images)
      result.push_back(head);
      continue;
    }
    Shape shape = head.shape();
    shape[0] = 0;
    for (const auto& runs : out)
      for (const auto& run : runs) shape[0] += run[o].dim(0);
    Tensor t(head.dtype(), shape);
    auto* dst = static_cast<uint8_t*>(t.raw());
    for (const auto& runs : out)
      for (const auto& run : runs) {
        std::memcpy(dst, run[o].raw(), run[o].nbytes());
        dst += run[o].nbytes();
      }
    result.push_back(std::move(t));
  }
  return result;
}

std::vector<RunValue> Engine::run_values(const std::vector<RunValue>& inputs) {
  bool tensors_only = true;
  for (const auto& v : inputs) tensors_only = tensors_only && v.kind == RunValue::Kind::Tensor;
  for (const auto* names : {&graph_.inputs, &graph_.outputs})
    for (const auto& n : *names)
      tensors_only = tensors_only && graph_.values.at(n).kind == ir::ValueKind::Tensor;
  if (tensors_only) {
    std::vector<Tensor> in;
    for (const auto& v : inputs) in.push_back(v.tensor);
    std::vector<Tensor> out = run(in);
    return std::vector<RunValue>(out.begin(), out.end());
  }
  if (inputs.size() != graph_.inputs.size())
    fail("model has {} inputs but {} were given", graph_.inputs.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ir::Value& v = graph_.values.at(graph_.inputs[i]);
    if (inputs[i].kind == RunValue::Kind::Tensor && v.kind == ir::ValueKind::Tensor)
      check_input(v, {inputs[i].tensor.dtype(), inputs[i].tensor.shape()});
  }
  make_dynamic("the model has sequence or optional inputs or outputs");
  configure_threads(opts_.threads);
  kernels::ExecContext ctx{opts_.threads};
  std::vector<RunValue> out = interpreter_->run(inputs, nullptr, ctx);
  for (auto& v : out) {
    if (v.kind == RunValue::Kind::Tensor) v.tensor = v.tensor.clone();
    for (auto& t : v.sequence) t = t.clone();
  }
  return out;
}

void Engine::make_dynamic(const std::string& reason) {
  if (interpreter_) return;
  configure_threads(opts_.threads);
  interpreter_ = std::make_shared<Interpreter>(graph_, graph_.opset(), opts_);
  dynamic_reason_ = reason;
}

std::unique_ptr<Plan> Engine::compile(const std::vector<kernels::TensorType>& input_types,
                                      int threads) const {
  // oneDNN sizes its work split by the thread count at primitive creation: set it first, or a
  // 1-thread plan forks a team of the default size on every primitive.
  configure_threads(threads);
  const ir::Graph& g = graph_;
  const int64_t opset = g.opset();
  if (input_types.size() != g.inputs.size())
    fail("model has {} inputs but {} were given", g.inputs.size(), input_types.size());
  auto plan = std::make_unique<Plan>();
  std::unordered_map<std::string, int> slot_of;
  std::vector<kernels::TensorType> slot_type;
  std::vector<bool> slot_const;
  auto new_slot = [&](const std::string& name, kernels::TensorType t, Tensor data, bool is_const) {
    int s = static_cast<int>(plan->slots_.size());
    plan->slots_.push_back(std::move(data));
    slot_type.push_back(std::move(t));
    slot_const.push_back(is_const);
    slot_of[name] = s;
    if (!name.empty()) plan->value_types_[name] = slot_type.back();
    return s;
  };
  // Kernel factories see pointers to constant slots: reserve so they never move (If branches
  // may be inlined, so their values count too).
  std::function<size_t(const ir::Graph&)> count_slots = [&](const ir::Graph& sg) {
    size_t n = sg.values.size();
    for (const auto& node : sg.nodes) {
      n += node.outputs.size();
      for (const auto& [k, a] : node.attrs)
        if (a.kind == ir::Attribute::Kind::Graph && a.g) n += count_slots(*a.g);
    }
    return n;
  };
  plan->slots_.reserve(count_slots(g));
  for (const auto& [name, v] : g.values)
    if (v.data) new_slot(name, {v.data->dtype(), v.data->shape()}, *v.data, true);
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const ir::Value& v = g.values.at(g.inputs[i]);
    const auto& t = input_types[i];
    check_input(v, t);
    plan->input_slots_.push_back(new_slot(v.name, t, Tensor(), false));
    plan->input_names_.push_back(v.name);
  }
  plan->input_types_ = input_types;

  std::function<void(const ir::Node&)> compile_node;
  std::function<void(const ir::Node&)> compile_one = [&](const ir::Node& node) {
    const kernels::OpDef* def = kernels::find_op(node.domain, node.op_type);
    if (!def)
      fail("{}: op type '{}' is not supported (opset {})", node.describe(), node.op_type, opset);
    kernels::InferContext ic{node, opset, {}, {}, {}};
    std::vector<int> in_slots;
    bool all_const = true;
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        ic.inputs.push_back({});
        ic.constants.push_back(nullptr);
        in_slots.push_back(-1);
        continue;
      }
      auto it = slot_of.find(in);
      if (it == slot_of.end())
        fail("{}: input '{}' is not produced by any node, initializer or graph input",
             node.describe(), in);
      int s = it->second;
      in_slots.push_back(s);
      ic.inputs.push_back(slot_type[s]);
      ic.constants.push_back(slot_const[s] ? &plan->slots_[s] : nullptr);
      all_const = all_const && slot_const[s];
    }
    if (node.domain.empty() && kernels::traits_of(node).shape_only &&
        !ic.inputs.empty() && ic.inputs[0].dtype != DType::Undefined) {
      Tensor t = shape_constant(node, opset, ic.inputs[0].shape);
      new_slot(node.outputs[0], {t.dtype(), t.shape()}, t, true);
      plan->computed_[node.outputs[0]] = t;
      plan->folded_++;
      return;
    }
    if (node.op_type == "If" && node.domain.empty() && !in_slots.empty() && in_slots[0] >= 0 &&
        slot_const[in_slots[0]]) {
      // A condition known at compile time (often computed from shapes): the chosen branch's
      // nodes become steps of this plan and its outputs are the If's outputs.
      const Tensor& cond = plan->slots_[in_slots[0]];
      if (cond.numel() != 1)
        fail("{}: the condition must hold one element, got {}", node.describe(),
             shape_str(cond.shape()));
      const char* which =
          kernels::ref::element_as_double(cond, 0) != 0 ? "then_branch" : "else_branch";
      const ir::Attribute* a = node.attr(which);
      if (!a || a->kind != ir::Attribute::Kind::Graph || !a->g)
        fail("{}: needs a graph attribute '{}'", node.describe(), which);
      const ir::Graph& branch = *a->g;
      // ONNX names are unique across scopes; a branch that reuses an outer name cannot share
      // this plan's name space, so it runs in dynamic mode instead.
      // An outer constant the engine copied into the branch (optimize_subgraphs) shares its
      // buffer with the slot already there and is not a redefinition.
      auto is_outer_copy = [&](const std::string& name, const Tensor& t) {
        auto it = slot_of.find(name);
        return it != slot_of.end() && slot_const[it->second] &&
               plan->slots_[it->second].raw() == t.raw() &&
               plan->slots_[it->second].shape() == t.shape();
      };
      std::vector<std::string> defined;
      for (const auto& [name, v] : branch.values)
        if (v.data && !is_outer_copy(name, *v.data)) defined.push_back(name);
      for (const auto& bn : branch.nodes)
        defined.insert(defined.end(), bn.outputs.begin(), bn.outputs.end());
      for (const auto& name : defined)
        if (!name.empty() && slot_of.count(name))
          kernels::fail_data_dependent(node,
                                       fmt::format("the {} (it redefines '{}')", which, name));
      for (const auto& [name, v] : branch.values)
        if (v.data && !is_outer_copy(name, *v.data))
          new_slot(name, {v.data->dtype(), v.data->shape()}, *v.data, true);
      for (const auto& bn : branch.nodes) compile_node(bn);
      if (branch.outputs.size() != node.outputs.size())
        fail("{}: the {} has {} outputs but the node has {}", node.describe(), which,
             branch.outputs.size(), node.outputs.size());
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        auto it = slot_of.find(branch.outputs[o]);
        if (it == slot_of.end())
          fail("{}: output '{}' of the {} is not produced", node.describe(), branch.outputs[o],
               which);
        slot_of[node.outputs[o]] = it->second;
        plan->value_types_[node.outputs[o]] = slot_type[it->second];
      }
      plan->folded_++;
      return;
    }
    kernels::infer_checked(*def, ic);
    if (all_const) {
      std::vector<const Tensor*> ins;
      for (int s : in_slots) ins.push_back(s < 0 ? nullptr : &plan->slots_[s]);
      std::vector<Tensor> outs = kernels::run_reference(node, opset, ins);
      for (size_t o = 0; o < node.outputs.size(); ++o)
        if (!node.outputs[o].empty()) {
          new_slot(node.outputs[o], {outs[o].dtype(), outs[o].shape()}, outs[o], true);
          plan->computed_[node.outputs[o]] = outs[o];
        }
      plan->folded_++;
      return;
    }
    Step step;
    step.node = node;
    step.in_slots = in_slots;
    step.in_types = ic.inputs;
    step.out_types.assign(ic.outputs.begin(), ic.outputs.begin() + node.outputs.size());
    // A node too small to share runs on the calling thread alone: forking and joining a team
    // costs microseconds, more than such a node takes (a ViT at batch 1 ran 2.5x slower on two
    // threads than on one). Its kernel is made for one thread, and runs with one.
    step.threads = threads > 1 && !worth_threads(node, step.in_types, step.out_types, opts_)
                       ? 1
                       : threads;
    if (step.threads != threads) omp_set_num_threads(step.threads);
    EngineOptions node_opts = opts_;
    node_opts.threads = step.threads;
    KernelChoice choice = choose_kernel(node, opset, step.in_types, step.out_types, ic.constants,
                                        node_opts, prepared_.get());
    if (step.threads != threads) omp_set_num_threads(threads);
    step.kernel = std::move(choice.kernel);
    step.impl = step.kernel->impl();
    step.emulated = step.kernel->emulated();
    step.kernel_name = std::move(choice.name);
    step.rejected = std::move(choice.rejected);
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const auto& t = step.out_types[o];
      int s = new_slot(node.outputs[o], t, Tensor(), false);
      step.out_slots.push_back(s);
    }
    plan->steps_.push_back(std::move(step));
  };
  // Errors while compiling a node (sizes from inference or folding, attributes, memory) name it.
  compile_node = [&](const ir::Node& node) {
    try {
      compile_one(node);
    } catch (const kernels::DataDependent&) {
      throw;
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.find(node.describe()) != std::string::npos) throw;
      fail("{}: {}", node.describe(), what);
    }
  };
  for (const ir::Node& node : g.nodes) compile_node(node);
  for (const auto& out : g.outputs) {
    auto it = slot_of.find(out);
    if (it == slot_of.end()) fail("graph output '{}' is not produced by any node", out);
    plan->output_slots_.push_back(it->second);
  }
  plan_memory(*plan, slot_type);
  return plan;
}

namespace {

// A step whose output 0 holds input 0's bytes unchanged under another shape
// (OpTraits::same_bytes): with the reference kernel (a copy), the plan makes the output a view of
// the input's buffer instead.
bool reshapes_only(const Step& step) {
  return step.node.domain.empty() && kernels::traits_of(step.node).same_bytes &&
         step.kernel_name == "reference" && !step.in_slots.empty() && step.in_slots[0] >= 0 &&
         step.out_slots.size() == 1 && step.in_types[0].dtype == step.out_types[0].dtype &&
         shape_numel(step.in_types[0].shape) == shape_numel(step.out_types[0].shape);
}

// A Split (OpTraits::pieces_of_input) with the reference kernel whose outputs are consecutive
// runs of its input's bytes: the dimensions before the axis are all 1, and each output starts
// 64-byte aligned, as every buffer the engine allocates does.
bool pieces_only(const Step& step) {
  if (!step.node.domain.empty() || !kernels::traits_of(step.node).pieces_of_input ||
      step.kernel_name != "reference" || step.in_slots.empty() || step.in_slots[0] < 0)
    return false;
  const kernels::TensorType& in = step.in_types[0];
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  int64_t axis = step.node.attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank ||
      shape_numel(Shape(in.shape.begin(), in.shape.begin() + axis)) != 1)
    return false;
  int64_t offset = 0;
  for (size_t o = 0; o < step.out_slots.size(); ++o) {
    const kernels::TensorType& t = step.out_types[o];
    if (step.out_slots[o] < 0 || t.dtype != in.dtype || t.shape.size() != in.shape.size() ||
        shape_numel(t.shape) == 0 || offset % 64 != 0)
      return false;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t.shape[d] != in.shape[d]) return false;
    offset += shape_numel(t.shape) * int64_t(dtype_size(t.dtype));
  }
  return offset == shape_numel(in.shape) * int64_t(dtype_size(in.dtype));
}

}  // namespace

void Engine::plan_memory(Plan& plan, const std::vector<kernels::TensorType>& slot_type) {
  // Intermediate tensors share buffers when their lifetimes do not overlap: a step's outputs are
  // placed before the buffers of inputs it reads last are released, so no output aliases an
  // input of its own step, except the one input a kernel adds onto (Kernel::inplace_input) and
  // the input a reshaping step's output views (reshapes_only: the step then does nothing). A
  // buffer returns to the free list when no live tensor uses it; a kernel adds onto an input's
  // buffer only where no other live tensor (a view) uses it.
  const int n_slots = static_cast<int>(plan.slots_.size());
  std::vector<int> last_use(n_slots, -1);
  for (int i = 0; i < static_cast<int>(plan.steps_.size()); ++i)
    for (int s : plan.steps_[i].in_slots)
      if (s >= 0) last_use[s] = i;
  for (int s : plan.output_slots_) last_use[s] = std::numeric_limits<int>::max();
  std::vector<Tensor> buffers;  // u8 tensors used as raw storage
  std::vector<int> users;       // live tensors in each buffer
  std::vector<int> free_buffers;
  std::vector<int> buffer_of(n_slots, -1);  // -1: not the plan's (inputs, constants)
  auto release = [&](int s) {
    const int b = buffer_of[s];
    if (b >= 0 && --users[b] == 0) free_buffers.push_back(b);
    buffer_of[s] = -1;
  };
  auto bytes_of = [&](int s) {
    return shape_numel(slot_type[s].shape) * int64_t(dtype_size(slot_type[s].dtype));
  };
  // Slot s becomes a user of buffer b, holding `bytes` (b's start, or a tensor inside b).
  auto hold = [&](int s, int b, const Tensor& bytes) {
    buffer_of[s] = b;
    users[b]++;
    plan.slots_[s] = Tensor::view_of(bytes, slot_type[s].dtype, slot_type[s].shape);
  };
  for (int i = 0; i < static_cast<int>(plan.steps_.size()); ++i) {
    Step& step = plan.steps_[i];
    // A Split of a tensor in the plan's buffers into runs of its bytes: each output is a view.
    const bool pieces = pieces_only(step) && buffer_of[step.in_slots[0]] >= 0;
    if (pieces) {
      const int z = step.in_slots[0];
      const Tensor bytes_in = Tensor::view_of(plan.slots_[z], DType::U8, {bytes_of(z)});
      int64_t offset = 0;
      for (int s : step.out_slots) {
        hold(s, buffer_of[z], bytes_in.rows(offset, bytes_of(s)));
        offset += bytes_of(s);
      }
      step.view = true;
      step.impl = "views of its input's pieces (no copy)";
    }
    for (size_t o = 0; o < step.out_slots.size() && !pieces; ++o) {
      const int s = step.out_slots[o];
      const auto& t = slot_type[s];
      // Shapes come from the model and its inputs: sizes are checked, and the plan's buffers
      // together must stay within the memory limit.
      const std::string what =
          fmt::format("{} output '{}' ({} {})", step.node.describe(), step.node.outputs[o],
                      dtype_name(t.dtype), shape_str(t.shape));
      const int64_t bytes = std::max<int64_t>(
          1, checked_mul(shape_numel(t.shape), int64_t(dtype_size(t.dtype)), what));
      // A reshape of a tensor in the plan's buffers: the same bytes.
      if (o == 0 && reshapes_only(step)) {
        const int z = step.in_slots[0];
        if (buffer_of[z] >= 0 && bytes_of(z) == bytes) {
          step.view = true;
          step.impl = "view of its input (no copy)";
          // The input's own bytes, which a piece of a Split holds at an offset in its buffer.
          hold(s, buffer_of[z], plan.slots_[z]);
          continue;
        }
      }
      // A kernel that adds onto one of its inputs (a residual) takes over that input's buffer
      // when this step is its last reader, reads it through no other input, and no other live
      // tensor shares the buffer.
      const int zi = o == 0 ? step.kernel->inplace_input() : -1;
      const int z = zi >= 0 && zi < static_cast<int>(step.in_slots.size()) ? step.in_slots[zi] : -1;
      const bool z_alone =
          z >= 0 && std::count(step.in_slots.begin(), step.in_slots.end(), z) == 1;
      if (z_alone && last_use[z] == i && buffer_of[z] >= 0 && users[buffer_of[z]] == 1 &&
          bytes_of(z) == bytes) {
        // The buffer passes from z to s, its one user either way; s is z's bytes (which a piece
        // of a Split holds at an offset in its buffer).
        buffer_of[s] = std::exchange(buffer_of[z], -1);
        plan.slots_[s] = Tensor::view_of(plan.slots_[z], t.dtype, t.shape);
        continue;
      }
      // Best fit among free buffers, else a new one.
      int best = -1;
      for (int k = 0; k < static_cast<int>(free_buffers.size()); ++k) {
        const int64_t size = buffers[free_buffers[k]].numel();
        if (size >= bytes && (best < 0 || size < buffers[free_buffers[best]].numel())) best = k;
      }
      if (best >= 0) {
        const int b = free_buffers[best];
        free_buffers.erase(free_buffers.begin() + best);
        hold(s, b, buffers[b]);
      } else {
        check_memory(checked_add(plan.arena_bytes_, bytes, what),
                     "the plan's intermediate tensors, up to " + what + ",");
        buffers.push_back(Tensor(DType::U8, {bytes}));
        users.push_back(0);
        plan.arena_bytes_ += bytes;
        hold(s, static_cast<int>(buffers.size()) - 1, buffers.back());
      }
    }
    for (int s : step.in_slots)
      if (s >= 0 && last_use[s] == i) release(s);
    for (int s : step.out_slots)
      if (last_use[s] < 0) release(s);
  }
}

void Plan::set_profiling(bool on) {
  profiling_ = on;
  if (interpreter_) {
    interpreter_->set_profiling(on);
    refreshed_at_ = -1;
    return;
  }
  step_seconds_.assign(steps_.size(), 0.0);
}

void Plan::refresh() const {
  if (!interpreter_ || refreshed_at_ == interpreter_->runs()) return;
  steps_ = interpreter_->last_steps();
  value_types_ = interpreter_->last_value_types();
  step_seconds_ = interpreter_->step_seconds();
  refreshed_at_ = interpreter_->runs();
}

const std::vector<Step>& Plan::steps() const {
  refresh();
  return steps_;
}

const std::vector<double>& Plan::step_seconds() const {
  refresh();
  return step_seconds_;
}

const std::unordered_map<std::string, kernels::TensorType>& Plan::value_types() const {
  refresh();
  return value_types_;
}

int Plan::folded_nodes() const {
  return interpreter_ ? interpreter_->folded_nodes() : folded_;
}

void infer_shapes(ir::Graph& g, const std::map<std::string, Shape>& shapes) {
  EngineOptions o;
  o.optimized_kernels = false;
  o.optimize_graph = false;
  Engine eng(g, o);
  constexpr int64_t kB1 = 3, kB2 = 5;
  Plan& p1 = eng.plan_for(eng.input_types(kB1, shapes));
  if (p1.dynamic()) {
    // Shapes depend on values here: record only the dtype and rank of what one run on zero inputs
    // computes (as far as it gets; a shape input of zeros may stop it), with every dim unknown.
    std::vector<Tensor> zeros;
    for (const auto& t : eng.input_types(kB1, shapes)) zeros.emplace_back(t.dtype, t.shape);
    try {
      p1.run(zeros, o.threads);
    } catch (const Error&) {
      // Keep the types of the nodes that ran before the error.
    }
    for (const auto& [name, t] : p1.value_types()) {
      ir::Value* v = g.find(name);
      if (!v || v->data || t.dtype == DType::Undefined) continue;
      v->dtype = t.dtype;
      if (!v->dims || v->dims->size() != t.shape.size())
        v->dims = std::vector<ir::Dim>(t.shape.size(), ir::Dim{});
    }
    return;
  }
  const auto& t1 = p1.value_types();
  const auto& t2 = eng.plan_for(eng.input_types(kB2, shapes)).value_types();
  std::string batch_name = "batch";
  if (!g.inputs.empty()) {
    const auto& dims = g.values.at(g.inputs[0]).dims;
    if (dims && !dims->empty() && !(*dims)[0].param.empty()) batch_name = (*dims)[0].param;
  }
  for (auto& [name, v] : g.values) {
    if (v.data) continue;
    auto a = t1.find(name), b = t2.find(name);
    if (a == t1.end() || b == t2.end()) continue;
    v.dtype = a->second.dtype;
    if (a->second.shape.size() != b->second.shape.size()) {
      v.dims.reset();
      continue;
    }
    std::vector<ir::Dim> dims;
    for (size_t i = 0; i < a->second.shape.size(); ++i) {
      int64_t x = a->second.shape[i], y = b->second.shape[i];
      if (x == y)
        dims.push_back({x, ""});
      else
        dims.push_back({-1, x == kB1 && y == kB2 ? batch_name : ""});
    }
    v.dims = dims;
  }
}

std::vector<Tensor> Plan::run(const std::vector<Tensor>& inputs, int threads) {
  if (inputs.size() != input_types_.size())
    fail("model has {} inputs but {} were given", input_types_.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype() != input_types_[i].dtype || inputs[i].shape() != input_types_[i].shape)
      fail("input '{}' is {} {} but the plan was compiled for {} {}", input_names_[i],
           dtype_name(inputs[i].dtype()), shape_str(inputs[i].shape()),
           dtype_name(input_types_[i].dtype), shape_str(input_types_[i].shape));
  }
  configure_threads(threads);
  kernels::ExecContext ctx{threads};
  return execute(inputs, ctx);
}

std::vector<Tensor> Plan::execute(const std::vector<Tensor>& inputs, kernels::ExecContext& ctx) {
  if (!interpreter_)
    for (size_t i = 0; i < inputs.size(); ++i) slots_[input_slots_[i]] = inputs[i];
  if (interpreter_) {
    std::vector<RunValue> in(inputs.begin(), inputs.end());
    std::vector<RunValue> out = interpreter_->run(in, nullptr, ctx);
    std::vector<Tensor> result;
    for (size_t o = 0; o < out.size(); ++o) {
      if (out[o].kind != RunValue::Kind::Tensor)
        fail("model output {} is a sequence or an optional; run the model with run_values", o);
      result.push_back(out[o].tensor.clone());
    }
    return result;
  }
  std::vector<const Tensor*> in;
  std::vector<Tensor*> out;
  for (auto& step : steps_) {
    if (step.view) continue;  // its output is its input's buffer (plan_memory)
    in.clear();
    out.clear();
    for (int s : step.in_slots) in.push_back(s < 0 ? nullptr : &slots_[s]);
    for (int s : step.out_slots) out.push_back(&slots_[s]);
    // A step made for fewer threads than the plan runs with them only (omp_set_num_threads
    // sets this thread's next parallel regions; oneDNN asks it at execution).
    const bool narrow = step.threads < ctx.threads;
    kernels::ExecContext step_ctx{narrow ? step.threads : ctx.threads};
    if (narrow) omp_set_num_threads(step.threads);
    if (profiling_) {
      auto t0 = std::chrono::steady_clock::now();
      step.kernel->run(in, out, step_ctx);
      step_seconds_[&step - steps_.data()] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } else {
      step.kernel->run(in, out, step_ctx);
    }
    if (narrow) omp_set_num_threads(ctx.threads);
  }
  std::vector<Tensor> result;
  for (int s : output_slots_) result.push_back(slots_[s].clone());
  for (int s : input_slots_) slots_[s] = Tensor();
  return result;
}

}  // namespace qbench::engine
