#include "quant/saturation.h"

#include <fmt/format.h>

#include <unordered_map>

#include "kernels/kernel.h"

namespace qbench::quant {

namespace {

// The constant int8 weight a node multiplies by at input `i`: directly, or through a
// DequantizeLinear of a constant; null otherwise.
const Tensor* int8_weight(const ir::Graph& g,
                          const std::unordered_map<std::string, const ir::Node*>& producer,
                          const ir::Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i].empty()) return nullptr;
  const Tensor* t = g.constant(n.inputs[i]);
  if (!t) {
    auto it = producer.find(n.inputs[i]);
    if (it == producer.end() || it->second->op_type != "DequantizeLinear") return nullptr;
    t = g.constant(it->second->inputs[0]);
  }
  return t && t->dtype() == DType::I8 ? t : nullptr;
}

// Counts pairs (2j, 2j+1) along an axis of length `len` whose elements lie `stride` apart,
// for `outer` x `stride` independent lines starting `outer_stride` apart.
void count_pairs(const int8_t* w, int64_t outer, int64_t outer_stride, int64_t len, int64_t stride,
                 int64_t& pairs, int64_t& risky) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t s = 0; s < stride; ++s)
      for (int64_t j = 0; j + 1 < len; j += 2) {
        const int a = w[o * outer_stride + j * stride + s];
        const int b = w[o * outer_stride + (j + 1) * stride + s];
        pairs++;
        if ((a > 0 && b > 0 && a + b > 128) || (a < 0 && b < 0 && a + b < -128)) risky++;
      }
}

}  // namespace

std::string SaturationRisk::summary() const {
  if (layers == 0) return "-";
  if (pairs_at_risk == 0) return "none";
  return fmt::format("{:.1f}% of weight pairs, {} of {} int8 layers", 100 * pair_share(),
                     layers_at_risk, layers);
}

SaturationRisk saturation_risk(const ir::Graph& g) {
  std::unordered_map<std::string, const ir::Node*> producer;
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs) producer[o] = &n;
  SaturationRisk r;
  for (const auto& n : g.nodes) {
    if (!n.domain.empty()) continue;
    const kernels::OpTraits& t = kernels::traits_of(n);
    if (t.dense == kernels::Dense::None || t.weight_input < 0) continue;
    const bool conv = t.dense == kernels::Dense::Conv;
    const size_t wi = static_cast<size_t>(t.weight_input);
    // A float op computes in integers only when its activation is quantized too; with a float
    // activation (weight-only recipes) runtimes dequantize the weights and compute in float.
    if (!t.integer) {
      auto a = n.inputs.empty() ? producer.end() : producer.find(n.inputs[0]);
      if (a == producer.end() || a->second->op_type != "DequantizeLinear") continue;
    }
    const Tensor* w = int8_weight(g, producer, n, wi);
    if (!w || w->rank() < 2) continue;
    const int8_t* p = w->data<int8_t>();
    int64_t pairs = 0, risky = 0;
    if (conv) {
      // [O, I, taps...]: pairs of input channels at each output channel and tap.
      const int64_t o = w->dim(0), i = w->dim(1), taps = w->numel() / (o * i);
      count_pairs(p, o, i * taps, i, taps, pairs, risky);
    } else if (t.dense == kernels::Dense::Gemm && n.attr_int("transB", 0)) {
      // [N, K]: pairs along K, adjacent in memory.
      count_pairs(p, w->dim(0), w->dim(1), w->dim(1), 1, pairs, risky);
    } else {
      // [..., K, N]: pairs of rows.
      const int64_t k = w->dim(-2), cols = w->dim(-1);
      count_pairs(p, w->numel() / (k * cols), k * cols, k, cols, pairs, risky);
    }
    r.layers++;
    r.pairs += pairs;
    r.pairs_at_risk += risky;
    if (risky > 0) r.layers_at_risk++;
  }
  return r;
}

}  // namespace qbench::quant
