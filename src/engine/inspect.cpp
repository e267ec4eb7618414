#include "engine/inspect.h"

#include <fmt/format.h>

#include <set>
#include <unordered_set>

namespace qbench::engine {

int64_t node_macs(const ir::Node& n, const std::vector<kernels::TensorType>& in,
                  const std::vector<kernels::TensorType>& out) {
  const kernels::OpTraits& t = kernels::traits_of(n);
  return t.macs ? t.macs(n, in, out) : 0;
}

namespace {

std::string precision_of(const Step& s) {
  if (kernels::traits_of(s.node).integer) return "int8";
  if (s.out_types.empty()) return "";
  const DType out = s.out_types[0].dtype;
  if (!s.in_types.empty() && dtype_is_8bit(s.in_types[0].dtype) && dtype_is_8bit(out))
    return "int8";
  if (s.node.compute_type == DType::BF16 && s.kernel_name != "reference" && !s.emulated)
    return "bf16";
  // Conversions (QuantizeLinear, DequantizeLinear, Cast) read or write float: f32.
  bool any_float = out == DType::F32;
  for (const auto& t : s.in_types) any_float |= t.dtype == DType::F32;
  return any_float ? "f32" : dtype_name(out);
}

double pct(int64_t part, int64_t total) {
  return total > 0 ? 100.0 * double(part) / double(total) : 0.0;
}

}  // namespace

PlanReport describe_plan(const Plan& plan, const ir::Graph& g) {
  PlanReport r;
  r.folded_nodes = plan.folded_nodes();
  // Values no step produces and no graph input carries are constants (initializers, or values
  // the plan folded for these shapes, such as a Cast of bfloat16 weights).
  std::unordered_set<std::string> runtime(g.inputs.begin(), g.inputs.end());
  for (const Step& s : plan.steps()) runtime.insert(s.node.outputs.begin(), s.node.outputs.end());
  std::unordered_set<std::string> counted;
  std::set<std::string> impls;
  for (const Step& s : plan.steps()) {
    NodeReport nr;
    nr.name = s.node.name;
    nr.op_type = s.node.op_type;
    const int residual = kernels::traits_of(s.node).residual_input;
    if (residual >= 0 && s.node.has_input(residual)) nr.fused.push_back("Add");
    for (const auto& f : s.node.fused) nr.fused.push_back(f.op_type);
    nr.output_shape = s.out_types.empty() ? "" : shape_str(s.out_types[0].shape);
    nr.precision = precision_of(s);
    int64_t new_params = 0;
    for (size_t i = 0; i < s.node.inputs.size() && i < s.in_types.size(); ++i) {
      const std::string& in = s.node.inputs[i];
      if (in.empty() || runtime.count(in) || s.in_types[i].dtype == DType::I64) continue;
      const int64_t n = shape_numel(s.in_types[i].shape);
      nr.params += n;
      if (counted.insert(in).second) new_params += n;
    }
    nr.macs = node_macs(s.node, s.in_types, s.out_types);
    nr.kernel = s.kernel_name;
    nr.impl = s.impl;
    nr.threads = s.threads;
    nr.emulated = s.emulated;
    nr.rejected = s.rejected;
    if (!s.impl.empty()) impls.insert(s.impl);
    r.params += new_params;
    r.macs += nr.macs;
    if (nr.precision == "int8") {
      r.params_int8 += new_params;
      r.macs_int8 += nr.macs;
    } else if (nr.precision == "bf16") {
      r.params_bf16 += new_params;
      r.macs_bf16 += nr.macs;
    } else {
      r.params_f32 += new_params;
      r.macs_f32 += nr.macs;
      if (nr.emulated) {
        r.params_emulated += new_params;
        r.macs_emulated += nr.macs;
      }
    }
    r.nodes.push_back(std::move(nr));
  }
  r.implementations.assign(impls.begin(), impls.end());
  return r;
}

bool is_onednn_reference(const std::string& impl) {
  return impl.rfind("ref", 0) == 0;
}

PlanReport describe_graph(const ir::Graph& g, const EngineOptions& options,
                          const std::map<std::string, Shape>& shapes) {
  Engine eng(g, options);
  const auto types = eng.input_types(1, shapes);
  Plan& plan = eng.plan_for(types);
  if (plan.dynamic()) {
    std::vector<Tensor> zeros;
    for (const auto& t : types) zeros.emplace_back(t.dtype, t.shape);
    plan.run(zeros, options.threads);
  }
  return describe_plan(plan, eng.graph());
}

std::string coverage_line(const PlanReport& r) {
  std::string line = fmt::format(
      "int8 {:.1f}% of MACs, {:.1f}% of params; bf16 {:.1f}%, {:.1f}%; f32 {:.1f}%, {:.1f}%",
      pct(r.macs_int8, r.macs), pct(r.params_int8, r.params), pct(r.macs_bf16, r.macs),
      pct(r.params_bf16, r.params), pct(r.macs_f32, r.macs), pct(r.params_f32, r.params));
  if (r.macs_emulated > 0)
    line += fmt::format(" (bf16 emulated in f32: {:.1f}% of MACs; no native bf16 on this CPU)",
                        pct(r.macs_emulated, r.macs));
  return line;
}

}  // namespace qbench::engine
