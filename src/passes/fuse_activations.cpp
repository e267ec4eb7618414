#include <limits>
#include <unordered_set>

#include "passes/passes.h"
#include "kernels/kernel.h"
#include "kernels/ref/qbench_ops.h"

namespace qbench::passes {
namespace {

bool fusable_activation(const ir::Graph& g, const ir::Node& n, ir::FusedOp& op) {
  const kernels::Fusable f = kernels::traits_of(n).fusable;
  // qbench.Gelu (fuse_gelu's) is ONNX's Gelu for any opset.
  if ((!n.domain.empty() && n.domain != kernels::ref::kQbenchDomain) || f == kernels::Fusable::No)
    return false;
  op.op_type = n.op_type;
  op.name = n.name;
  op.attrs = n.attrs;
  if (f == kernels::Fusable::Yes) return true;
  // Fusable::ConstantBounds (Clip): bounds from attributes before opset 11, else inputs.
  if (g.opset() < 11) {
    op.clip_min = n.attr_float("min", -std::numeric_limits<float>::max());
    op.clip_max = n.attr_float("max", std::numeric_limits<float>::max());
    return true;
  }
  // Bounds are optional inputs; they must be constant scalars to fuse.
  op.attrs.clear();
  for (size_t i = 1; i <= 2; ++i) {
    if (!n.has_input(i)) continue;
    const Tensor* t = g.constant(n.inputs[i]);
    if (!t || t->numel() != 1 || t->dtype() != DType::F32) return false;
    (i == 1 ? op.clip_min : op.clip_max) = t->data<float>()[0];
  }
  return true;
}

}  // namespace

int fuse_activations(ir::Graph& g) {
  int fused = 0;
  bool changed = true;
  while (changed) {
    changed = false;
    auto uses = g.use_counts();
    auto producers = g.producers();
    std::unordered_set<std::string> graph_outputs(g.outputs.begin(), g.outputs.end());
    for (size_t ai = 0; ai < g.nodes.size(); ++ai) {
      ir::Node& act = g.nodes[ai];
      if (act.inputs.empty() || act.outputs.size() != 1) continue;
      auto pit = producers.find(act.inputs[0]);
      if (pit == producers.end()) continue;
      ir::Node& host = g.nodes[pit->second];
      // qbench's forms of float ops (a Conv with a residual input) host them too.
      if ((!host.domain.empty() && host.domain != kernels::ref::kQbenchDomain) ||
          !kernels::traits_of(host).hosts_activations ||
          host.outputs.size() != 1)
        continue;
      if (uses[host.outputs[0]] != 1 || graph_outputs.count(host.outputs[0])) continue;
      // Only float hosts: quantized patterns are handled by the int8 compiler.
      const ir::Value* hv = g.find(host.outputs[0]);
      if (hv && hv->dtype != DType::Undefined && hv->dtype != DType::F32) continue;
      ir::FusedOp op;
      if (!fusable_activation(g, act, op)) continue;
      host.fused.push_back(std::move(op));
      host.outputs[0] = act.outputs[0];
      g.nodes.erase(g.nodes.begin() + static_cast<std::ptrdiff_t>(ai));
      fused++;
      changed = true;
      break;
    }
  }
  if (fused) g.remove_dead();
  return fused;
}

}  // namespace qbench::passes
