#include "kernels/kernel.h"
#include "passes/passes.h"

namespace qbench::passes {

int fold_constants(ir::Graph& g) {
  const int64_t opset = g.opset();
  std::vector<ir::Node> kept;
  int folded = 0;
  for (auto& n : g.nodes) {
    bool all_const = kernels::find_op(n.domain, n.op_type) != nullptr;
    std::vector<const Tensor*> ins;
    for (const auto& in : n.inputs) {
      if (in.empty()) {
        ins.push_back(nullptr);
        continue;
      }
      const Tensor* t = g.constant(in);
      if (!t) all_const = false;
      ins.push_back(t);
    }
    // Graph outputs stay produced by a node, so the saved model keeps its interface.
    for (const auto& o : n.outputs)
      for (const auto& go : g.outputs)
        if (o == go) all_const = false;
    if (!all_const) {
      kept.push_back(std::move(n));
      continue;
    }
    std::vector<Tensor> outs = kernels::run_reference(n, opset, ins);
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      if (n.outputs[o].empty()) continue;
      ir::Value& v = g.value(n.outputs[o]);
      v.dtype = outs[o].dtype();
      std::vector<ir::Dim> dims;
      for (int64_t d : outs[o].shape()) dims.push_back({d, ""});
      v.dims = dims;
      v.data = outs[o];
    }
    folded++;
  }
  g.nodes = std::move(kept);
  if (folded) g.remove_dead();
  return folded;
}

}  // namespace qbench::passes
