#include <cmath>

#include "core/error.h"
#include "kernels/kernel.h"
#include "passes/passes.h"

namespace qbench::passes {
namespace {

const Tensor* f32_constant(const ir::Graph& g, const ir::Node& n, size_t i) {
  if (!n.has_input(i)) return nullptr;
  const Tensor* t = g.constant(n.inputs[i]);
  return t && t->dtype() == DType::F32 ? t : nullptr;
}

}  // namespace

int fold_batchnorm(ir::Graph& g) {
  auto uses = g.use_counts();
  auto producers = g.producers();
  std::vector<bool> drop(g.nodes.size(), false);
  int folded = 0;
  for (size_t bi = 0; bi < g.nodes.size(); ++bi) {
    ir::Node& bn = g.nodes[bi];
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.inputs.size() < 5) continue;
    if (bn.outputs.size() > 1 && !bn.outputs[1].empty()) continue;  // training outputs used
    if (bn.attr_int("training_mode", 0) != 0) continue;
    auto pit = producers.find(bn.inputs[0]);
    if (pit == producers.end()) continue;
    ir::Node& prod = g.nodes[pit->second];
    const kernels::Dense family = kernels::float_dense(prod);
    const bool is_conv = family == kernels::Dense::Conv, is_gemm = family == kernels::Dense::Gemm;
    if (!prod.domain.empty() || (!is_conv && !is_gemm) || !prod.fused.empty()) continue;
    if (uses[prod.outputs[0]] != 1) continue;
    const Tensor* scale = f32_constant(g, bn, 1);
    const Tensor* bias = f32_constant(g, bn, 2);
    const Tensor* mean = f32_constant(g, bn, 3);
    const Tensor* var = f32_constant(g, bn, 4);
    const Tensor* w = f32_constant(g, prod, 1);
    if (!scale || !bias || !mean || !var || !w) continue;
    const int64_t m = scale->numel();
    if (bias->numel() != m || mean->numel() != m || var->numel() != m) continue;
    const Tensor* b = f32_constant(g, prod, 2);
    if (prod.has_input(2) && (!b || b->numel() != m)) continue;
    const float eps = bn.attr_float("epsilon", 1e-5f);

    std::vector<float> f(m), shift(m);
    for (int64_t c = 0; c < m; ++c) {
      f[c] = scale->data<float>()[c] / std::sqrt(var->data<float>()[c] + eps);
      float b0 = b ? b->data<float>()[c] : 0.0f;
      shift[c] = (b0 - mean->data<float>()[c]) * f[c] + bias->data<float>()[c];
    }
    Tensor nw = w->clone();
    float* wd = nw.data<float>();
    if (is_conv) {
      if (w->rank() < 3 || w->dim(0) != m) continue;
      int64_t per = w->numel() / m;
      for (int64_t c = 0; c < m; ++c)
        for (int64_t k = 0; k < per; ++k) wd[c * per + k] *= f[c];
    } else {
      // Gemm: Y = alpha * A * B' + beta * C, output channels along B's N axis.
      if (w->rank() != 2 || prod.attr_float("beta", 1.0f) != 1.0f) continue;
      bool trans_b = prod.attr_int("transB", 0) != 0;
      if ((trans_b ? w->dim(0) : w->dim(1)) != m) continue;
      for (int64_t r = 0; r < w->dim(0); ++r)
        for (int64_t c = 0; c < w->dim(1); ++c) wd[r * w->dim(1) + c] *= f[trans_b ? r : c];
    }
    prod.inputs[1] = ir::add_initializer(g, prod.inputs[1] + "_bnfolded", std::move(nw));
    Tensor nb = Tensor::from_vector<float>({m}, shift);
    std::string bname = ir::add_initializer(
        g, (prod.name.empty() ? bn.outputs[0] : prod.name) + "_bias_bnfolded", std::move(nb));
    if (prod.inputs.size() < 3) prod.inputs.resize(3);
    prod.inputs[2] = bname;
    prod.outputs[0] = bn.outputs[0];
    drop[bi] = true;
    folded++;
  }
  if (!folded) return 0;
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  g.remove_dead();
  return folded;
}

}  // namespace qbench::passes
