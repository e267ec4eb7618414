#include "quant/smooth_quant.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/error.h"
#include "kernels/kernel.h"

namespace qbench::quant {
namespace {

struct Reader {
  size_t node = 0;
  bool transposed = false;  // Gemm with transB: B is [N, K]
};

// Flat index of W_k's element j (row k of B [K, N], or column k of a transposed B [N, K]).
int64_t weight_index(bool transposed, int64_t kdim, int64_t n, int64_t k, int64_t j) {
  return transposed ? j * kdim + k : k * n + j;
}

struct Site {
  size_t norm = 0;
  std::vector<Reader> readers;
};

// The constant f32 tensor `name` copied under a new name (the original may have other readers).
Tensor* fresh_copy(ir::Graph& g, std::string& name) {
  const Tensor* t = g.constant(name);
  if (!t || t->dtype() != DType::F32) return nullptr;
  name = add_initializer(g, name + "_smoothed", t->clone());
  return &*g.find(name)->data;
}

}  // namespace

SmoothQuantReport smooth_quant(ir::Graph& g, const CalibOptions& calib, float alpha) {
  if (!(alpha >= 0.0f && alpha <= 1.0f)) fail("SmoothQuant alpha must be in [0, 1] (got {})", alpha);
  std::unordered_map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs) readers[in].push_back(i);
  const auto uses = g.use_counts();
  std::vector<Site> sites;
  std::vector<std::string> observed;
  std::map<std::string, int64_t> axes;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (n.op_type != "LayerNormalization" || !n.domain.empty() || n.outputs.empty() ||
        !n.has_input(1))
      continue;
    const ir::Value* y = g.find(n.outputs[0]);
    if (!y || !y->dims || y->dims->empty()) continue;
    const int64_t rank = int64_t(y->dims->size());
    const int64_t axis = n.attr_int("axis", -1);
    if (axis != -1 && axis != rank - 1) continue;  // normalizes more than the last axis
    const Tensor* scale = g.constant(n.inputs[1]);
    const Tensor* bias = n.has_input(2) ? g.constant(n.inputs[2]) : nullptr;
    if (!scale || scale->rank() != 1 || (n.has_input(2) && (!bias || bias->rank() != 1))) continue;
    const int64_t k = scale->dim(0);
    Site site{i, {}};
    bool ok = true;
    const auto r = readers.find(n.outputs[0]);
    if (r == readers.end() || int(r->second.size()) != uses.at(n.outputs[0])) continue;
    for (size_t j : r->second) {
      const ir::Node& m = g.nodes[j];
      const kernels::Dense d = kernels::float_dense(m);
      const Tensor* w = m.has_input(1) ? g.constant(m.inputs[1]) : nullptr;
      const bool tb = d == kernels::Dense::Gemm && m.attr_int("transB", 0) != 0;
      ok = ok && m.inputs[0] == n.outputs[0] && m.inputs[1] != n.outputs[0] && w &&
           w->dtype() == DType::F32 && w->rank() == 2 && w->dim(tb ? 1 : 0) == k &&
           (d == kernels::Dense::MatMul ||
            (d == kernels::Dense::Gemm && m.attr_int("transA", 0) == 0));
      site.readers.push_back({j, tb});
    }
    if (!ok) continue;
    sites.push_back(site);
    observed.push_back(n.outputs[0]);
    axes[n.outputs[0]] = rank - 1;
  }
  SmoothQuantReport rep;
  if (sites.empty()) return rep;
  const CalibStats st = collect_statistics(g, observed, calib, axes);

  for (const Site& site : sites) {
    ir::Node& norm = g.nodes[site.norm];
    const std::vector<float> x = st.observers.at(norm.outputs[0]).channel_absmax();
    const size_t k = x.size();
    if (k == 0 || int64_t(k) != g.constant(norm.inputs[1])->dim(0)) continue;
    // max |W_k| over every reader's row k.
    std::vector<float> w(k, 0.0f);
    for (const Reader& r : site.readers) {
      const Tensor& b = *g.constant(g.nodes[r.node].inputs[1]);
      const int64_t n = r.transposed ? b.dim(0) : b.dim(1);
      for (size_t c = 0; c < k; ++c)
        for (int64_t j = 0; j < n; ++j) {
          const float v = b.data<float>()[weight_index(r.transposed, int64_t(k), n, int64_t(c), j)];
          w[c] = std::max(w[c], std::fabs(v));
        }
    }
    std::vector<float> s(k, 1.0f);
    for (size_t c = 0; c < k; ++c)
      if (x[c] > 0 && w[c] > 0)
        s[c] = std::clamp(std::pow(x[c], alpha) / std::pow(w[c], 1.0f - alpha), 1e-5f, 1e5f);
    std::vector<float> sorted = x;
    std::nth_element(sorted.begin(), sorted.begin() + long(k / 2), sorted.end());
    const double ratio = double(*std::max_element(x.begin(), x.end())) /
                         std::max(double(sorted[k / 2]), 1e-30);
    // Fold 1/s into the normalization's scale and bias, s into each reader's weight rows.
    Tensor* gamma = fresh_copy(g, norm.inputs[1]);
    Tensor* beta = norm.has_input(2) ? fresh_copy(g, norm.inputs[2]) : nullptr;
    if (!gamma || (norm.has_input(2) && !beta)) continue;
    for (size_t c = 0; c < k; ++c) {
      gamma->data<float>()[c] /= s[c];
      if (beta) beta->data<float>()[c] /= s[c];
    }
    for (const Reader& r : site.readers) {
      Tensor* b = fresh_copy(g, g.nodes[r.node].inputs[1]);
      const int64_t n = r.transposed ? b->dim(0) : b->dim(1);
      for (size_t c = 0; c < k; ++c)
        for (int64_t j = 0; j < n; ++j)
          b->data<float>()[weight_index(r.transposed, int64_t(k), n, int64_t(c), j)] *= s[c];
    }
    rep.pairs++;
    if (ratio > rep.largest_ratio) {
      rep.largest_ratio = ratio;
      rep.worst = norm.name;
    }
  }
  g.remove_dead();
  return rep;
}

}  // namespace qbench::quant
