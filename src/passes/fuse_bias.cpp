// Linear layers as exporters write them: Add(MatMul(x, W), b) with a constant 2-D W [K, N] and a
// constant bias of N values becomes qbench.MatMul(x, W, b), so oneDNN adds the bias inside the
// matmul instead of in a separate pass over its output, and the activation after it (a GELU in
// a transformer's MLP) fuses too (fuse_activations runs again after this pass).
#include <unordered_set>

#include "kernels/kernel.h"
#include "kernels/ref/qbench_ops.h"
#include "passes/passes.h"

namespace qbench::passes {

int fuse_matmul_bias(ir::Graph& g) {
  auto uses = g.use_counts();
  auto producers = g.producers();
  std::unordered_set<std::string> graph_outputs(g.outputs.begin(), g.outputs.end());
  std::vector<bool> drop(g.nodes.size(), false);
  int fused = 0;
  for (size_t ai = 0; ai < g.nodes.size(); ++ai) {
    ir::Node& add = g.nodes[ai];
    if (add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2 ||
        add.outputs.size() != 1 || !add.fused.empty())
      continue;
    for (size_t k = 0; k < 2; ++k) {
      auto p = producers.find(add.inputs[k]);
      if (p == producers.end() || drop[p->second]) continue;
      const ir::Node& mm = g.nodes[p->second];
      if (mm.op_type != "MatMul" || !mm.domain.empty() || !mm.fused.empty() ||
          mm.inputs.size() != 2 || mm.compute_type != DType::Undefined ||
          uses[mm.outputs[0]] != 1 || graph_outputs.count(mm.outputs[0]))
        continue;
      const Tensor* w = g.constant(mm.inputs[1]);
      const Tensor* b = g.constant(add.inputs[1 - k]);
      if (!w || !b || w->dtype() != DType::F32 || b->dtype() != DType::F32 || w->rank() != 2)
        continue;
      // A bias of N values along the last axis only: [N], [1, N], [1, 1, N]...
      bool row = b->rank() >= 1 && b->dim(-1) == w->dim(1) && b->numel() == w->dim(1);
      if (!row) continue;
      ir::Node q = mm;
      q.domain = kernels::ref::kQbenchDomain;
      q.inputs.push_back(add.inputs[1 - k]);
      q.outputs = add.outputs;
      q.name = add.name.empty() ? mm.name : mm.name + "+" + add.name;
      drop[p->second] = true;
      add = std::move(q);
      fused++;
      break;
    }
  }
  if (!fused) return 0;
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  return fused;
}

}  // namespace qbench::passes
