// Adds folded into the node that computes one of their operands, as qbench's forms of it:
//  - fuse_int8_residual: QLinearAdd(QLinearConv(x), r) becomes qbench.QLinearConv(x, ..., r,
//    r_scale, r_zp, y_scale, y_zp): the convolution's int8 output goes to the add in registers
//    instead of through memory (oneDNN post-ops, the int16 kernel's epilogue);
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

// The Adds fold_adds folds: which nodes, and their two addends (inputs).
struct AddForm {
  bool (*is)(const ir::Node& n);
  size_t addends[2];
  // The fused node takes the Add's activations (QLinearAdd's fused Relu); for a float Add, which
  // has none yet, fuse_activations adds them after.
  bool keeps_activations;
};
bool is_float_add(const ir::Node& n) {
  return n.domain.empty() && n.op_type == "Add";
}
bool is_qlinear_add(const ir::Node& n) {
  return n.domain == kernels::ref::kQbenchDomain && n.op_type == "QLinearAdd";
}
constexpr AddForm kFloatAdd{is_float_add, {0, 1}, false};
constexpr AddForm kQLinearAdd{is_qlinear_add, {0, 3}, true};

// For each Add of `form`, `make(producer, other)` is asked about each addend computed by a node
// (no activations yet, f32 or bf16 compute if float) that nothing but the Add reads: the qbench
// form of that node adding `other`, or false. The fused node takes the Add's place and outputs;
// where both addends qualify, the producer computed last, so the other addend is ready by then.
template <typename Make>
int fold_adds(ir::Graph& g, const AddForm& form, Make make) {
  auto uses = g.use_counts();
  auto producers = g.producers();
  std::unordered_set<std::string> graph_outputs(g.outputs.begin(), g.outputs.end());
  std::vector<bool> drop(g.nodes.size(), false);
  int fused = 0;
  for (size_t ai = 0; ai < g.nodes.size(); ++ai) {
    ir::Node& add = g.nodes[ai];
    const size_t a0 = form.addends[0], a1 = form.addends[1];
    if (!form.is(add) || add.inputs.size() <= a1 || add.outputs.size() != 1 ||
        (!form.keeps_activations && !add.fused.empty()) || add.inputs[a0] == add.inputs[a1])
      continue;
    int host = -1;
    ir::Node best;
    for (size_t k : {a0, a1}) {
      auto p = producers.find(add.inputs[k]);
      if (p == producers.end() || drop[p->second]) continue;
      const ir::Node& n = g.nodes[p->second];
      if (!n.fused.empty() || n.outputs.size() != 1 ||
          (n.compute_type != DType::Undefined && n.compute_type != DType::BF16) ||
          uses[n.outputs[0]] != 1 || graph_outputs.count(n.outputs[0]))
        continue;
      ir::Node f = n;
      if (static_cast<int>(p->second) <= host || !make(f, add, k == a0 ? a1 : a0)) continue;
      host = static_cast<int>(p->second);
      best = std::move(f);
    }
    if (host < 0) continue;
    best.domain = kernels::ref::kQbenchDomain;
    best.outputs = add.outputs;
    if (form.keeps_activations) best.fused = add.fused;
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
  return fold_adds(g, kFloatAdd, [&](ir::Node& conv, const ir::Node& add, size_t other) {
    // z must be computed: a constant addend is a bias, not a residual.
    const std::string& z = add.inputs[other];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.inputs.size() < 2 || g.constant(z))
      return false;
    const bool bf16 = conv.compute_type == DType::BF16;
    if (bf16 ? !bf16_weight(g, producers, conv.inputs[1]) : !f32_constant(g, conv.inputs[1]))
      return false;
    conv.inputs.resize(3);  // an omitted bias stays ""
    conv.inputs.push_back(z);
    return true;
  });
}

int fuse_matmul_bias(ir::Graph& g) {
  return fold_adds(g, kFloatAdd, [&](ir::Node& mm, const ir::Node& add, size_t other) {
    const std::string& bias = add.inputs[other];
    if (mm.op_type != "MatMul" || !mm.domain.empty() || mm.inputs.size() != 2) return false;
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

int fuse_int8_residual(ir::Graph& g) {
  return fold_adds(g, kQLinearAdd, [&](ir::Node& conv, const ir::Node& add, size_t other) {
    // A channels-last QLinearConv without activations (they would come before the add) whose
    // quantization parameters, like the add's, are constants; the residual is computed.
    if (conv.op_type != "QLinearConv" || conv.domain != kernels::ref::kQbenchDomain ||
        !kernels::ref::channels_last(conv) || conv.inputs.size() < 8 || conv.inputs.size() > 9 ||
        g.constant(add.inputs[other]))
      return false;
    auto constant = [&](const std::string& v) { return v.empty() || g.constant(v); };
    for (size_t i : {6, 7})
      if (!constant(conv.inputs[i])) return false;
    for (size_t i : {1, 2, 4, 5, 6, 7})
      if (!constant(add.inputs[i])) return false;
    const size_t s = other == 0 ? 1 : 4;  // the residual's scale and zero point follow it
    conv.inputs.resize(9);                // an omitted bias stays ""
    conv.inputs.insert(conv.inputs.end(), {add.inputs[other], add.inputs[s], add.inputs[s + 1],
                                           add.inputs[6], add.inputs[7]});
    return true;
  });
}

}  // namespace qbench::passes
