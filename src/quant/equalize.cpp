#include "quant/equalize.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "kernels/kernel.h"

namespace qbench::quant {
namespace {

// A constant f32 tensor the graph holds under `name`, copied for writing (tensors share data).
Tensor* writable(ir::Graph& g, const std::string& name) {
  ir::Value* v = g.find(name);
  if (!v || !v->data || v->data->dtype() != DType::F32) return nullptr;
  v->data = v->data->clone();
  return &*v->data;
}

struct Pair {
  size_t conv1 = 0, conv2 = 0;
  std::vector<size_t> clips;  // Clip(0, M) nodes between them, to become Relu
};

// The constant bounds of a Clip (attributes before opset 11, inputs 1 and 2 after; an absent
// bound is infinite), or false when one is not a constant scalar.
bool clip_bounds(const ir::Graph& g, const ir::Node& n, float& lo, float& hi) {
  lo = -INFINITY;
  hi = INFINITY;
  if (g.opset() < 11) {
    lo = n.attr_float("min", lo);
    hi = n.attr_float("max", hi);
    return true;
  }
  for (size_t k = 1; k < 3; ++k) {
    if (!n.has_input(k)) continue;
    const Tensor* t = g.constant(n.inputs[k]);
    if (!t || t->numel() != 1 || t->dtype() != DType::F32) return false;
    (k == 1 ? lo : hi) = t->data<float>()[0];
  }
  return true;
}

// Conv1 -> [scale-equivariant op | Clip(0, M) with relu6_to_relu]* -> Conv2, each value in
// between read only by the next op.
std::vector<Pair> find_pairs(const ir::Graph& g, bool relu6_to_relu) {
  auto uses = g.use_counts();
  std::unordered_map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs) readers[in].push_back(i);
  std::unordered_set<std::string> outputs(g.outputs.begin(), g.outputs.end());
  auto plain_conv = [&](const ir::Node& n) {
    if (n.op_type != "Conv" || !n.domain.empty() || n.inputs.size() < 2 || !n.fused.empty())
      return false;
    // Weights and bias read by this convolution only: they are rescaled in place.
    const Tensor* w = g.constant(n.inputs[1]);
    if (!w || w->dtype() != DType::F32 || w->rank() < 3 || uses[n.inputs[1]] != 1) return false;
    return !n.has_input(2) ||
           (g.constant(n.inputs[2]) && g.constant(n.inputs[2])->dtype() == DType::F32 &&
            uses[n.inputs[2]] == 1);
  };
  std::vector<Pair> pairs;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!plain_conv(g.nodes[i])) continue;
    std::string v = g.nodes[i].outputs[0];
    Pair p{i, 0, {}};
    bool ok = false;
    while (uses[v] == 1 && !outputs.count(v) && readers[v].size() == 1) {
      p.conv2 = readers[v][0];
      const ir::Node& n = g.nodes[p.conv2];
      if (!n.domain.empty() || n.outputs.size() != 1) break;
      float lo = 0, hi = 0;
      if (kernels::traits_of(n).scale_equivariant && n.inputs.size() == 1) {
        v = n.outputs[0];
        continue;
      }
      if (relu6_to_relu && n.op_type == "Clip" && clip_bounds(g, n, lo, hi) && lo == 0 &&
          hi > 0) {
        p.clips.push_back(p.conv2);
        v = n.outputs[0];
        continue;
      }
      ok = plain_conv(n) && n.inputs[0] == v;
      break;
    }
    if (ok) pairs.push_back(p);
  }
  return pairs;
}

bool equalize(ir::Graph& g, const Pair& p) {
  const ir::Node& c1 = g.nodes[p.conv1];
  const ir::Node& c2 = g.nodes[p.conv2];
  const int64_t group2 = c2.attr_int("group", 1);
  const Tensor* w1c = g.constant(c1.inputs[1]);
  const Tensor* w2c = g.constant(c2.inputs[1]);
  // W1 [C, Cin/g1, k...]: output channel c is W1[c]. W2 [Cout, C/g2, k...]: input channel c is
  // column c % (C/g2) of the output channels of group c / (C/g2).
  if (group2 < 1 || w2c->dim(0) % group2 != 0 || w1c->dim(0) != w2c->dim(1) * group2)
    return false;
  Tensor* w1 = writable(g, c1.inputs[1]);
  Tensor* w2 = writable(g, c2.inputs[1]);
  Tensor* b1 = c1.has_input(2) ? writable(g, c1.inputs[2]) : nullptr;
  const int64_t channels = w1->dim(0);
  const int64_t per1 = w1->numel() / channels;
  const int64_t cpg = w2->dim(1), opg = w2->dim(0) / group2;  // per group: inputs, outputs
  const int64_t per2 = w2->numel() / (w2->dim(0) * cpg);
  float* a = w1->data<float>();
  float* b = w2->data<float>();
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t o0 = (c / cpg) * opg, j = c % cpg;
    float r1 = 0, r2 = 0;
    for (int64_t k = 0; k < per1; ++k) r1 = std::max(r1, std::abs(a[c * per1 + k]));
    for (int64_t o = o0; o < o0 + opg; ++o)
      for (int64_t k = 0; k < per2; ++k) r2 = std::max(r2, std::abs(b[(o * cpg + j) * per2 + k]));
    if (r1 == 0 || r2 == 0) continue;  // a dead channel: nothing to balance
    const float s = std::sqrt(r1 / r2);
    for (int64_t k = 0; k < per1; ++k) a[c * per1 + k] /= s;
    if (b1) b1->data<float>()[c] /= s;
    for (int64_t o = o0; o < o0 + opg; ++o)
      for (int64_t k = 0; k < per2; ++k) b[(o * cpg + j) * per2 + k] *= s;
  }
  return true;
}

}  // namespace

EqualizeReport equalize_cross_layer(ir::Graph& g, const EqualizeOptions& opts) {
  EqualizeReport r;
  for (int it = 0; it < opts.iterations; ++it) {
    r.pairs = 0;
    for (const Pair& p : find_pairs(g, opts.relu6_to_relu)) {
      if (!equalize(g, p)) continue;
      ++r.pairs;
      for (size_t c : p.clips) {  // now Relu: the next sweep passes it as scale-equivariant
        ir::Node& n = g.nodes[c];
        n.op_type = "Relu";
        n.inputs.resize(1);
        n.attrs.clear();
        ++r.clips_relu;
      }
    }
  }
  return r;
}

}  // namespace qbench::quant
