#include "kernels/kernel.h"

#include "kernels/ref/qbench_ops.h"

namespace qbench::kernels {

void fail_data_dependent(const ir::Node& node, const std::string& what) {
  throw DataDependent(
      fmt::format("{}: {} is only known at run time (data-dependent)", node.describe(), what));
}

const Tensor& InferContext::constant(size_t i, const char* what) const {
  if (i >= constants.size() || !constants[i])
    fail_data_dependent(node, fmt::format("input {} ({})", i, what));
  return *constants[i];
}

const OpDef* find_op(const std::string& domain, const std::string& op_type) {
  // qbench's internal ops (made by the QDQ fusion pass, never saved) have their own table.
  if (domain == ref::kQbenchDomain) return ref::find_qbench_op(op_type);
  if (!domain.empty() && domain != "ai.onnx") return nullptr;
  for (const OpDef& d : all_ops())
    if (op_type == d.op_type) return &d;
  return nullptr;
}

const OpTraits& traits_of(const ir::Node& node) {
  static const OpTraits kNone;
  const OpDef* d = find_op(node.domain, node.op_type);
  return d ? d->traits : kNone;
}

Dense float_dense(const ir::Node& node) {
  if (!node.domain.empty()) return Dense::None;
  const OpTraits& t = traits_of(node);
  return t.integer ? Dense::None : t.dense;
}

std::vector<Tensor> run_reference(const ir::Node& node, int64_t opset,
                                  const std::vector<const Tensor*>& inputs) {
  const OpDef* def = find_op(node.domain, node.op_type);
  if (!def)
    fail("{}: op type '{}' is not supported (opset {})", node.describe(), node.op_type, opset);
  InferContext ic{node, opset, {}, inputs, {}};
  for (const Tensor* t : inputs)
    ic.inputs.push_back(t ? TensorType{t->dtype(), t->shape()} : TensorType{});
  def->infer(ic);
  std::vector<Tensor> outs;
  std::vector<Tensor*> out_ptrs;
  outs.reserve(ic.outputs.size());
  for (const auto& tt : ic.outputs) outs.emplace_back(tt.dtype, tt.shape);
  for (auto& t : outs) out_ptrs.push_back(&t);
  def->reference(node, opset, inputs, out_ptrs);
  return outs;
}

void infer_checked(const OpDef& def, InferContext& ctx) {
  def.infer(ctx);
  if (ctx.outputs.size() < ctx.node.outputs.size())
    fail("{}: shape inference produced {} outputs but the node has {}", ctx.node.describe(),
         ctx.outputs.size(), ctx.node.outputs.size());
  for (const auto& t : ctx.outputs)
    if (t.dtype != DType::Undefined) shape_numel(t.shape);
}

}  // namespace qbench::kernels
