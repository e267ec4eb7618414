// Adds folded into the node that computes one of their operands, as qbench's forms of it:
//  - fuse_residual: Add(Conv(x), z) becomes qbench.Conv(x, W, B, z), a convolution that adds z to
//    its result before its activations (ONNX Runtime's FusedConv "Z" input), so oneDNN adds it
//    inside the convolution (a sum post-op) instead of in a separate pass over memory;
//  - fuse_matmul_bias: Add(MatMul(x, W), b), a Linear layer as exporters write it (W a constant
//    [K, N], b a constant of N values), becomes qbench.MatMul(x, W, b), the bias inside the
//    matmul.
// The activation after the Add (the Relu closing a residual block, a transformer MLP's GELU)
// fuses too: optimize() runs fuse_activations again after these passes.
#include <unordered_set>

#include "kernels/kernel.h"
#include "kernels/ref/qbench_ops.h"
#include "passes/passes.h"

namespace qbench::passes {
namespace {

// For each float Add, `make(producer, other)` is asked about each operand computed by a node
// (of the default domain, no activations yet, f32 or bf16 compute) that nothing but the Add reads: the qbench form of
// that node adding `other`, or false. The fused node takes the Add's place and outputs; where
// both operands qualify, the producer computed last, so the other operand is ready by then.
template <typename Make>
int fold_adds(ir::Graph& g, Make make) {
  auto uses = g.use_counts();
  auto producers = g.producers();
  std::unordered_set<std::string> graph_outputs(g.outputs.begin(), g.outputs.end());
  std::vector<bool> drop(g.nodes.size(), false);
  int fused = 0;
  for (size_t ai = 0; ai < g.nodes.size(); ++ai) {
    ir::Node& add = g.nodes[ai];
    if (add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2 ||
        add.outputs.size() != 1 || !add.fused.empty() || add.inputs[0] == add.inputs[1])
      continue;
    int host = -1;
    ir::Node best;
    for (size_t k = 0; k < 2; ++k) {
      auto p = producers.find(add.inputs[k]);
      if (p == producers.end() || drop[p->second]) continue;
      const ir::Node& n = g.nodes[p->second];
      if (!n.domain.empty() || !n.fused.empty() || n.outputs.size() != 1 ||
          (n.compute_type != DType::Undefined && n.compute_type != DType::BF16) ||
          uses[n.outputs[0]] != 1 ||
          graph_outputs.count(n.outputs[0]))
        continue;
      ir::Node f = n;
      if (static_cast<int>(p->second) <= host || !make(f, add.inputs[1 - k])) continue;
      host = static_cast<int>(p->second);
      best = std::move(f);
    }
    if (host < 0) continue;
    best.domain = kernels::ref::kQbenchDomain;
    best.outputs = add.outputs;
    if (!add.name.empty()) best.name += "+" + add.name;
    drop[host] = true;
    add = std::move(best);
    fused++;
  }
  if (fused) g.remove_nodes(drop);
  return fused;
}

const Tensor* f32_constant(const ir::Graph& g, const std::string& name) {
  const Tensor* t = g.constant(name);
  return t && t->dtype() == DType::F32 ? t : nullptr;
}

}  // namespace

int fuse_residual(ir::Graph& g) {
  const auto producers = g.producers();
  return fold_adds(g, [&](ir::Node& conv, const std::string& z) {
    // z must be computed: a constant addend is a bias, not a residual.
    if (conv.op_type != "Conv" || conv.inputs.size() < 2 || g.constant(z)) return false;
    const bool bf16 = conv.compute_type == DType::BF16;
    if (bf16 ? !bf16_weight(g, producers, conv.inputs[1]) : !f32_constant(g, conv.inputs[1]))
      return false;
    conv.inputs.resize(3);  // an omitted bias stays ""
    conv.inputs.push_back(z);
    return true;
  });
}

int fuse_matmul_bias(ir::Graph& g) {
  return fold_adds(g, [&](ir::Node& mm, const std::string& bias) {
    if (mm.op_type != "MatMul" || mm.inputs.size() != 2) return false;
    const Tensor* w = f32_constant(g, mm.inputs[1]);
    const Tensor* b = f32_constant(g, bias);
    // A bias of N values along the last axis only: [N], [1, N], [1, 1, N]...
    if (!w || !b || w->rank() != 2 || b->rank() < 1 || b->dim(-1) != w->dim(1) ||
        b->numel() != w->dim(1))
      return false;
    mm.inputs.push_back(bias);
    return true;
  });
}

}  // namespace qbench::passes
