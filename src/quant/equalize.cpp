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
};

// Conv1 -> [Relu | MaxPool]* -> Conv2, each value in between read only by the next op.
std::vector<Pair> find_pairs(const ir::Graph& g) {
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
    if (!plain_conv(g.nodes[i]) || g.nodes[i].attr_int("group", 1) != 1) continue;
    std::string v = g.nodes[i].outputs[0];
    size_t next = 0;
    bool ok = false;
    while (uses[v] == 1 && !outputs.count(v) && readers[v].size() == 1) {
      next = readers[v][0];
      const ir::Node& n = g.nodes[next];
      if (!n.domain.empty()) break;
      if (kernels::traits_of(n).scale_equivariant && n.outputs.size() == 1 &&
          n.inputs.size() == 1) {
        v = n.outputs[0];
        continue;
      }
      ok = plain_conv(n) && n.attr_int("group", 1) == 1 && n.inputs[0] == v;
      break;
    }
    if (ok) pairs.push_back({i, next});
  }
  return pairs;
}

bool equalize(ir::Graph& g, const Pair& p) {
  const ir::Node& c1 = g.nodes[p.conv1];
  const ir::Node& c2 = g.nodes[p.conv2];
  Tensor* w1 = writable(g, c1.inputs[1]);
  Tensor* w2 = writable(g, c2.inputs[1]);
  Tensor* b1 = c1.has_input(2) ? writable(g, c1.inputs[2]) : nullptr;
  if (!w1 || !w2 || w1->dim(0) != w2->dim(1)) return false;
  const int64_t channels = w1->dim(0);
  const int64_t per1 = w1->numel() / channels;                              // W1 [C, Cin, k...]
  const int64_t out2 = w2->dim(0), per2 = w2->numel() / (out2 * channels);  // W2 [Cout, C, k...]
  float* a = w1->data<float>();
  float* b = w2->data<float>();
  for (int64_t c = 0; c < channels; ++c) {
    float r1 = 0, r2 = 0;
    for (int64_t j = 0; j < per1; ++j) r1 = std::max(r1, std::abs(a[c * per1 + j]));
    for (int64_t o = 0; o < out2; ++o)
      for (int64_t j = 0; j < per2; ++j)
        r2 = std::max(r2, std::abs(b[(o * channels + c) * per2 + j]));
    if (r1 == 0 || r2 == 0) continue;  // a dead channel: nothing to balance
    const float s = std::sqrt(r1 / r2);
    for (int64_t j = 0; j < per1; ++j) a[c * per1 + j] /= s;
    if (b1) b1->data<float>()[c] /= s;
    for (int64_t o = 0; o < out2; ++o)
      for (int64_t j = 0; j < per2; ++j) b[(o * channels + c) * per2 + j] *= s;
  }
  return true;
}

}  // namespace

int equalize_cross_layer(ir::Graph& g, int iterations) {
  int done = 0;
  for (int it = 0; it < iterations; ++it) {
    done = 0;
    for (const Pair& p : find_pairs(g)) done += equalize(g, p);
  }
  return done;
}

}  // namespace qbench::quant
