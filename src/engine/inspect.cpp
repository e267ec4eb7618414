#include "engine/inspect.h"

#include <unordered_set>

namespace qbench::engine {

int64_t node_macs(const ir::Node& n, const std::vector<kernels::TensorType>& in,
                  const std::vector<kernels::TensorType>& out) {
  if (out.empty() || in.size() < 2) return 0;
  const int64_t out_numel = shape_numel(out[0].shape);
  if (n.op_type == "Conv" || n.op_type == "ConvInteger" || n.op_type == "QLinearConv") {
    const Shape& w = in[n.op_type == "QLinearConv" ? 3 : 1].shape;
    if (w.size() < 3) return 0;
    return out_numel * (shape_numel(w) / w[0]);
  }
  if (n.op_type == "Gemm") {
    const Shape& a = in[0].shape;
    if (a.size() != 2) return 0;
    return out_numel * (n.attr_int("transA", 0) ? a[0] : a[1]);
  }
  if (n.op_type == "MatMul" || n.op_type == "MatMulInteger" || n.op_type == "QLinearMatMul") {
    const Shape& a = in[0].shape;
    if (a.empty()) return 0;
    return out_numel * a.back();
  }
  return 0;
}

PlanReport describe_plan(const Plan& plan, const ir::Graph& g) {
  PlanReport r;
  r.folded_nodes = plan.folded_nodes();
  std::unordered_set<std::string> counted;
  for (const Step& s : plan.steps()) {
    NodeReport nr;
    nr.name = s.node.name;
    nr.op_type = s.node.op_type;
    for (const auto& f : s.node.fused) nr.fused.push_back(f.op_type);
    nr.output_shape = s.out_types.empty() ? "" : shape_str(s.out_types[0].shape);
    nr.precision = s.out_types.empty() ? "" : dtype_name(s.out_types[0].dtype);
    for (const auto& in : s.node.inputs) {
      const Tensor* t = in.empty() ? nullptr : g.constant(in);
      if (!t || t->dtype() == DType::I64) continue;
      nr.params += t->numel();
      if (counted.insert(in).second) r.params += t->numel();
    }
    nr.macs = node_macs(s.node, s.in_types, s.out_types);
    nr.kernel = s.kernel_name;
    nr.rejected = s.rejected;
    r.macs += nr.macs;
    r.nodes.push_back(std::move(nr));
  }
  return r;
}

}  // namespace qbench::engine
