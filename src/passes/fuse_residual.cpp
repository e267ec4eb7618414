// Residual additions: Add(Conv(x), z) becomes qbench.Conv(x, W, B, z), a convolution that adds z
// to its result before its activations (as ONNX Runtime's FusedConv "Z" input), so oneDNN adds it
// inside the convolution (a sum post-op) instead of in a separate pass over memory, and the Relu
// that usually follows fuses too (fuse_activations runs again after this pass).
#include <unordered_map>
#include <unordered_set>

#include "kernels/kernel.h"
#include "kernels/ref/qbench_ops.h"
#include "passes/passes.h"

namespace qbench::passes {
namespace {

// A float Conv (domain "", no activations yet) whose only reader is the Add.
bool residual_host(const ir::Graph& g, const ir::Node& n,
                   const std::unordered_map<std::string, int>& uses,
                   const std::unordered_set<std::string>& graph_outputs) {
  if (n.op_type != "Conv" || !n.domain.empty() || !n.fused.empty() || n.outputs.size() != 1 ||
      n.inputs.size() < 2 || n.compute_type != DType::Undefined)
    return false;
  const Tensor* w = g.constant(n.inputs[1]);
  if (!w || w->dtype() != DType::F32) return false;
  auto u = uses.find(n.outputs[0]);
  return u != uses.end() && u->second == 1 && !graph_outputs.count(n.outputs[0]);
}

}  // namespace

int fuse_residual(ir::Graph& g) {
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
    // The convolution computed last: the other operand is then ready when the fused node runs
    // where the Add was. z must be computed (a constant would be a bias, not a residual).
    int host = -1;
    size_t z_index = 0;
    for (size_t k = 0; k < 2; ++k) {
      auto p = producers.find(add.inputs[k]);
      if (p == producers.end() || drop[p->second]) continue;
      const ir::Node& c = g.nodes[p->second];
      if (!residual_host(g, c, uses, graph_outputs)) continue;
      if (host < 0 || static_cast<int>(p->second) > host) {
        host = static_cast<int>(p->second);
        z_index = 1 - k;
      }
    }
    if (host < 0) continue;
    const std::string& z = add.inputs[z_index];
    if (g.constant(z) || z == add.inputs[1 - z_index]) continue;
    ir::Node conv = g.nodes[host];
    conv.domain = kernels::ref::kQbenchDomain;
    conv.inputs.resize(3);  // an omitted bias stays ""
    conv.inputs.push_back(z);
    conv.outputs = add.outputs;
    conv.name = add.name.empty() ? conv.name : conv.name + "+" + add.name;
    drop[host] = true;
    add = std::move(conv);
    fused++;
  }
  if (!fused) return 0;
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  return fused;
}

}  // namespace qbench::passes
