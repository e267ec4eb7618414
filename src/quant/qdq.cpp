#include "quant/qdq.h"

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/qmath.h"
#include "kernels/kernel.h"
#include "quant/weights.h"

namespace qbench::quant {

namespace {

using Consumers = std::unordered_map<std::string, std::vector<size_t>>;

Consumers consumers_of(const ir::Graph& g) {
  Consumers c;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty()) c[in].push_back(i);
  return c;
}

bool is_float_activation(const ir::Graph& g, const std::string& name) {
  const ir::Value* v = g.find(name);
  return v && !v->is_constant() && v->dtype == DType::F32;
}

const Tensor* float_constant(const ir::Graph& g, const ir::Node& n, size_t i) {
  if (!n.has_input(i)) return nullptr;
  const Tensor* t = g.constant(n.inputs[i]);
  return t && t->dtype() == DType::F32 ? t : nullptr;
}

struct HandlerContext {
  const ir::Graph& g;
  size_t index;
  const QdqOptions& opts;
  const std::unordered_map<std::string, size_t>& producers;
  std::string why_not;
  const ir::Node& node() const { return g.nodes[index]; }
  // True when `v` is the output of a MatMul (default domain).
  bool produced_by_matmul(const std::string& v) const {
    auto p = producers.find(v);
    return p != producers.end() &&
           kernels::float_dense(g.nodes[p->second]) == kernels::Dense::MatMul;
  }
};

using Handler = bool (*)(HandlerContext&, NodeIntent&);

bool activation_input(HandlerContext& c, NodeIntent& it, size_t i) {
  const ir::Node& n = c.node();
  if (!n.has_input(i) || !is_float_activation(c.g, n.inputs[i])) {
    const ir::Value* v = n.has_input(i) ? c.g.find(n.inputs[i]) : nullptr;
    if (v && v->is_constant() && n.op_type == "Add" && n.inputs.size() == 2 &&
        c.produced_by_matmul(n.inputs[1 - i]))
      c.why_not = "adds a constant bias to a MatMul (the engine fuses it into the integer MatMul)";
    else if (v && v->is_constant())
      c.why_not = fmt::format("input {} is a constant, not an activation", i);
    else
      c.why_not = fmt::format("input {} is not a computed f32 tensor", i);
    return false;
  }
  it.inputs.push_back({i, InputRole::Activation});
  return true;
}

bool weight_input(HandlerContext& c, NodeIntent& it, size_t i, int64_t channel_axis) {
  const Tensor* w = float_constant(c.g, c.node(), i);
  if (!w) {
    c.why_not = fmt::format("weight (input {}) is not a constant f32 tensor", i);
    return false;
  }
  it.inputs.push_back({i, InputRole::Weight, c.opts.per_channel && channel_axis >= 0,
                       std::max<int64_t>(channel_axis, 0)});
  return true;
}

// A 1-D constant bias with one value per output channel becomes int32.
void bias_input(HandlerContext& c, NodeIntent& it, size_t i, int64_t channels) {
  const Tensor* b = float_constant(c.g, c.node(), i);
  if (b && b->rank() == 1 && b->dim(0) == channels) it.inputs.push_back({i, InputRole::Bias});
}

bool handle_conv(HandlerContext& c, NodeIntent& it) {
  if (!activation_input(c, it, 0) || !weight_input(c, it, 1, 0)) return false;
  bias_input(c, it, 2, c.g.constant(c.node().inputs[1])->dim(0));
  return true;
}

bool handle_gemm(HandlerContext& c, NodeIntent& it) {
  const ir::Node& n = c.node();
  const bool tb = n.attr_int("transB", 0) != 0;
  if (!activation_input(c, it, 0) || !weight_input(c, it, 1, tb ? 0 : 1)) return false;
  const Tensor* w = c.g.constant(n.inputs[1]);
  if (w->rank() != 2) {
    c.why_not = "weight is not 2-D";
    return false;
  }
  if (n.attr_float("beta", 1.0f) == 1.0f) bias_input(c, it, 2, w->dim(tb ? 0 : 1));
  return true;
}

bool handle_matmul(HandlerContext& c, NodeIntent& it) {
  const ir::Node& n = c.node();
  if (!activation_input(c, it, 0)) return false;
  if (n.has_input(1) && is_float_activation(c.g, n.inputs[1])) return activation_input(c, it, 1);
  const Tensor* w = float_constant(c.g, n, 1);
  // Per channel needs one scale per output column: only for a 2-D weight.
  return weight_input(c, it, 1, w && w->rank() == 2 ? 1 : -1);
}

bool handle_all_inputs(HandlerContext& c, NodeIntent& it) {
  for (size_t i = 0; i < c.node().inputs.size(); ++i)
    if (!activation_input(c, it, i)) return false;
  return true;
}

bool handle_first_input(HandlerContext& c, NodeIntent& it) {
  return activation_input(c, it, 0);
}

bool handle_same_scale(HandlerContext& c, NodeIntent& it) {
  if (c.node().outputs.size() != 1) {
    c.why_not = "has more than one output";
    return false;
  }
  it.output = OutputRule::SameAsInput;
  return activation_input(c, it, 0);
}

// One handler per quantization role (kernels::QdqRole, in each op's descriptor). Compute ops
// quantize their activation inputs, weights and bias; AllInputs/FirstInput ops keep their own
// output scale; data-movement ops keep their input's scale (ONNX Runtime's "direct 8-bit" ops).
Handler handler_for(kernels::QdqRole role) {
  using R = kernels::QdqRole;
  switch (role) {
    case R::Conv: return handle_conv;
    case R::Gemm: return handle_gemm;
    case R::MatMul: return handle_matmul;
    case R::AllInputs: return handle_all_inputs;
    case R::FirstInput: return handle_first_input;
    case R::SameScale: return handle_same_scale;
    case R::None: return nullptr;
  }
  return nullptr;
}

// The clamp (Relu, or Clip with constant bounds) that alone reads node i's output, if any.
int absorbed_activation(const ir::Graph& g, size_t i, const Consumers& cons,
                        const std::set<std::string>& graph_outputs) {
  const ir::Node& n = g.nodes[i];
  if (n.outputs.size() != 1 || graph_outputs.count(n.outputs[0])) return -1;
  auto it = cons.find(n.outputs[0]);
  if (it == cons.end() || it->second.size() != 1) return -1;
  const ir::Node& a = g.nodes[it->second[0]];
  if (!a.domain.empty() || a.inputs.empty() || a.inputs[0] != n.outputs[0]) return -1;
  if (!kernels::traits_of(a).clamp) return -1;
  for (size_t k = 1; k < a.inputs.size(); ++k)
    if (!a.inputs[k].empty() && !g.constant(a.inputs[k])) return -1;
  return static_cast<int>(it->second[0]);
}

}  // namespace

bool is_excluded(const ir::Node& node, const std::vector<std::string>& exclude) {
  return std::find(exclude.begin(), exclude.end(), node.name) != exclude.end() ||
         std::find(exclude.begin(), exclude.end(), node.op_type) != exclude.end();
}

std::vector<std::string> QdqPlan::calibrated_tensors() const {
  std::vector<std::string> out;
  for (const auto& t : tensors)
    if (scale_source.at(t) == t) out.push_back(t);
  return out;
}

QdqPlan plan_qdq(const ir::Graph& g, const QdqOptions& opts) {
  const Consumers cons = consumers_of(g);
  const auto producers = g.producers();
  const std::set<std::string> graph_outputs(g.outputs.begin(), g.outputs.end());
  // 1. Handlers declare intent.
  std::vector<NodeIntent> candidates;
  std::map<size_t, std::string> float_reason;
  std::set<size_t> absorbed;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    const kernels::OpTraits& traits = kernels::traits_of(n);
    const Handler h = n.domain.empty() ? handler_for(traits.qdq) : nullptr;
    if (is_excluded(n, opts.exclude)) {
      float_reason[i] = "excluded by --exclude";
      continue;
    }
    if (!h) continue;
    HandlerContext c{g, i, opts, producers, ""};
    NodeIntent it;
    it.node = i;
    if (!h(c, it)) {
      float_reason[i] = c.why_not;
      continue;
    }
    it.output_tensor = n.outputs[0];
    it.quantize_output = traits.qdq_output_always;
    if (traits.qdq_absorbs_clamp) {
      int a = absorbed_activation(g, i, cons, graph_outputs);
      if (a >= 0 && !is_excluded(g.nodes[a], opts.exclude)) {
        it.output_tensor = g.nodes[a].outputs[0];
        it.absorbed = g.nodes[a].name;
        absorbed.insert(static_cast<size_t>(a));
      }
    }
    candidates.push_back(std::move(it));
  }
  // 2. Which tensors get Q/DQ: activation inputs of quantized ops, outputs read by a quantized
  // op, and both sides of a data-movement op whose input or output is quantized. Iterated to a
  // fixed point because data-movement ops become quantized through their neighbours.
  std::set<std::string> q;
  std::map<std::string, std::string> share;  // output -> input for SameAsInput ops
  std::map<size_t, const NodeIntent*> by_node;
  for (const auto& it : candidates) by_node[it.node] = &it;
  auto active = [&](const NodeIntent& it) {
    if (it.output != OutputRule::SameAsInput) return true;
    const ir::Node& n = g.nodes[it.node];
    return q.count(n.inputs[0]) || q.count(n.outputs[0]);
  };
  bool changed = true;
  while (changed) {
    changed = false;
    for (const auto& it : candidates) {
      if (!active(it)) continue;
      const ir::Node& n = g.nodes[it.node];
      for (const auto& in : it.inputs)
        if (in.role == InputRole::Activation) changed |= q.insert(n.inputs[in.index]).second;
      if (it.output == OutputRule::SameAsInput) {
        changed |= q.insert(n.outputs[0]).second;
        share[n.outputs[0]] = n.inputs[0];
        continue;
      }
      if (it.quantize_output && !graph_outputs.count(it.output_tensor)) {
        changed |= q.insert(it.output_tensor).second;
        continue;
      }
      auto ci = cons.find(it.output_tensor);
      if (ci == cons.end()) continue;
      for (size_t k : ci->second) {
        auto bi = by_node.find(k);
        if (bi != by_node.end() && active(*bi->second))
          changed |= q.insert(it.output_tensor).second;
      }
    }
  }
  QdqPlan plan;
  for (const auto& it : candidates) {
    if (active(it)) {
      plan.intents.push_back(it);
    } else {
      float_reason[it.node] = "neither its input nor its output is quantized";
    }
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (absorbed.count(i) || (by_node.count(i) && active(*by_node[i]))) continue;
    auto r = float_reason.find(i);
    std::string reason = r != float_reason.end() ? r->second : "no quantized form of this op type";
    // An activation absorbed by a node that ended up float is float with it.
    plan.left_float.push_back({g.nodes[i].name, g.nodes[i].op_type, reason});
  }
  // 3. Order the tensors as the graph produces them, resolve shared scales.
  std::set<std::string> placed;
  auto place = [&](const std::string& t) {
    if (q.count(t) && placed.insert(t).second) plan.tensors.push_back(t);
  };
  for (const auto& in : g.inputs) place(in);
  for (const auto& n : g.nodes) {
    for (const auto& in : n.inputs) place(in);
    for (const auto& o : n.outputs) place(o);
  }
  std::function<std::string(const std::string&)> source = [&](const std::string& t) {
    auto s = share.find(t);
    return s == share.end() ? t : source(s->second);
  };
  for (const auto& t : plan.tensors) plan.scale_source[t] = source(t);
  for (const auto& it : plan.intents) {
    const ir::Node& n = g.nodes[it.node];
    for (const auto& in : it.inputs)
      if (kernels::traits_of(n).qdq == kernels::QdqRole::MatMul && in.index == 1 &&
          in.role == InputRole::Activation)
        plan.signed_sources.insert(source(n.inputs[1]));
  }
  return plan;
}

void insert_qdq(ir::Graph& g, const QdqPlan& plan, const std::map<std::string, QParams>& params,
                const QdqOptions& opts) {
  std::vector<ir::Node> added;
  auto params_of = [&](const std::string& t) -> const QParams& {
    const std::string& src = plan.scale_source.at(t);
    auto it = params.find(src);
    if (it == params.end())
      fail("no calibration range for tensor '{}' (missing from the calibration table)", src);
    return it->second;
  };
  // Activations: one Q/DQ pair per tensor, shared by all its consumers.
  std::map<std::string, std::string> dq_of, tensor_of;
  for (const auto& t : plan.tensors) {
    const QParams& p = params_of(t);
    std::string s = add_initializer(g, t + "_scale", Tensor::scalar<float>(p.scale));
    Tensor zt = p.is_signed ? Tensor::scalar<int8_t>(static_cast<int8_t>(p.zero_point))
                            : Tensor::scalar<uint8_t>(static_cast<uint8_t>(p.zero_point));
    std::string z = add_initializer(g, t + "_zero_point", zt);
    ir::Node qn, dqn;
    qn.op_type = "QuantizeLinear";
    qn.name = unique_name(g, t + "_QuantizeLinear");
    qn.inputs = {t, s, z};
    qn.outputs = {unique_name(g, t + "_quantized")};
    declare_value(g, qn.outputs[0], p.is_signed ? DType::I8 : DType::U8, g.find(t));
    dqn.op_type = "DequantizeLinear";
    dqn.name = unique_name(g, t + "_DequantizeLinear");
    dqn.inputs = {qn.outputs[0], s, z};
    dqn.outputs = {unique_name(g, t + "_dequantized")};
    declare_value(g, dqn.outputs[0], DType::F32, g.find(t));
    dq_of[t] = dqn.outputs[0];
    tensor_of[dqn.outputs[0]] = t;
    added.push_back(std::move(qn));
    added.push_back(std::move(dqn));
  }
  // Every existing consumer reads the dequantized tensor; graph outputs keep the float one.
  for (auto& n : g.nodes)
    for (auto& in : n.inputs) {
      auto it = dq_of.find(in);
      if (it != dq_of.end()) in = it->second;
    }
  // Weights (int8, per channel or per tensor) and biases (int32, scale = x_scale * w_scale, as
  // ONNX Runtime does), each behind its own DequantizeLinear.
  std::map<std::string, std::pair<std::string, QuantizedWeight>> weight_cache;
  for (const auto& it : plan.intents) {
    ir::Node& n = g.nodes[it.node];
    const QuantizedWeight* wq = nullptr;
    for (const auto& in : it.inputs) {
      if (in.role != InputRole::Weight) continue;
      const std::string wname = n.inputs[in.index];
      const std::string key = fmt::format("{}|{}|{}", wname, in.per_channel, in.axis);
      auto ci = weight_cache.find(key);
      if (ci == weight_cache.end()) {
        QuantizedWeight w =
            quantize_weight(*g.constant(wname), in.per_channel, in.axis, opts.weight_qmax);
        ir::Node dq;
        dq.op_type = "DequantizeLinear";
        dq.name = unique_name(g, wname + "_DequantizeLinear");
        dq.inputs = {add_initializer(g, wname + "_quantized", w.q),
                     add_initializer(g, wname + "_scale", w.scale),
                     add_initializer(g, wname + "_zero_point", w.zero_point)};
        dq.outputs = {unique_name(g, wname + "_dequantized")};
        if (w.per_channel) dq.attrs["axis"] = ir::Attribute::of_int(w.axis);
        declare_value(g, dq.outputs[0], DType::F32, g.find(wname));
        ci = weight_cache.emplace(key, std::make_pair(dq.outputs[0], std::move(w))).first;
        added.push_back(std::move(dq));
      }
      n.inputs[in.index] = ci->second.first;
      wq = &ci->second.second;
    }
    for (const auto& in : it.inputs) {
      if (in.role != InputRole::Bias || !wq || !tensor_of.count(n.inputs[0])) continue;
      const QParams& xp = params_of(tensor_of.at(n.inputs[0]));
      const std::string bname = n.inputs[in.index];
      const Tensor& b = *g.constant(bname);
      std::vector<float> ws = wq->scale.to_float();
      const int64_t len = b.numel();
      Tensor scale(DType::F32, wq->per_channel ? Shape{len} : Shape{});
      Tensor qb(DType::I32, b.shape());
      for (int64_t c = 0; c < len; ++c) {
        const float sc = xp.scale * ws[wq->per_channel ? c : 0];
        scale.data<float>()[wq->per_channel ? c : 0] = sc;
        qb.data<int32_t>()[c] = quantize_value(b.data<float>()[c], sc, 0, -2147483647, 2147483647);
      }
      ir::Node dq;
      dq.op_type = "DequantizeLinear";
      dq.name = unique_name(g, bname + "_DequantizeLinear");
      dq.inputs = {add_initializer(g, bname + "_quantized", qb),
                   add_initializer(g, bname + "_scale", scale)};
      dq.outputs = {unique_name(g, bname + "_dequantized")};
      if (wq->per_channel) dq.attrs["axis"] = ir::Attribute::of_int(0);
      declare_value(g, dq.outputs[0], DType::F32, g.find(bname));
      n.inputs[in.index] = dq.outputs[0];
      added.push_back(std::move(dq));
    }
  }
  for (auto& n : added) g.nodes.push_back(std::move(n));
  g.toposort();
  g.remove_dead();
}

}  // namespace qbench::quant
