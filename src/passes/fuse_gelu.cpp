// GELU recognition. Exporters before ONNX opset 20 (which added Gelu) spell GELU as five ops,
// x * 0.5 * (1 + Erf(x / sqrt(2))); run one by one they cost five passes over the tensor and a
// scalar erf. The pass replaces the pattern by one qbench.Gelu node (ONNX Gelu semantics,
// approximate = "none"), which oneDNN runs as one eltwise gelu_erf.
#include <cmath>
#include <unordered_set>

#include "kernels/ref/qbench_ops.h"
#include "passes/passes.h"

namespace qbench::passes {
namespace {

class GeluMatcher {
 public:
  explicit GeluMatcher(ir::Graph& g) : g_(g) {
    producers_ = g.producers();
    uses_ = g.use_counts();
    outputs_.insert(g.outputs.begin(), g.outputs.end());
  }

  // Matches the pattern ending at node `last` (the final Mul); fills the nodes to drop and x.
  bool match(size_t last, std::vector<size_t>& nodes, std::string& x) const {
    const ir::Node& m2 = g_.nodes[last];
    if (!is(m2, "Mul")) return false;
    // Three spellings of the final products: (x * t) * 0.5, (x * 0.5) * t, x * (t * 0.5), with
    // t = 1 + erf(x / sqrt 2) and either operand order everywhere.
    for (int k = 0; k < 2; ++k) {
      const std::string& a = m2.inputs[k];
      const std::string& b = m2.inputs[1 - k];
      const ir::Node* m1 = single_use_producer(a);
      if (!m1 || !is(*m1, "Mul")) continue;
      if (is_scalar(b, 0.5f)) {  // (x * t) * 0.5
        for (int j = 0; j < 2; ++j)
          if (match_t(m1->inputs[j], m1->inputs[1 - j], nodes)) {
            x = m1->inputs[1 - j];
            nodes.push_back(index(*m1));
            nodes.push_back(last);
            return true;
          }
      }
      for (int j = 0; j < 2; ++j) {  // (x * 0.5) * t  and  x * (t * 0.5)
        if (!is_scalar(m1->inputs[j], 0.5f)) continue;
        const std::string& other = m1->inputs[1 - j];
        std::vector<size_t> found;
        if (match_t(b, other, found)) {  // m1 = x * 0.5, b = t
          x = other;
        } else if (match_t(other, b, found)) {  // m1 = t * 0.5, b = x
          x = b;
        } else {
          continue;
        }
        nodes = found;
        nodes.push_back(index(*m1));
        nodes.push_back(last);
        return true;
      }
    }
    return false;
  }

 private:
  static bool is(const ir::Node& n, const char* op) {
    return n.op_type == op && n.domain.empty() && n.inputs.size() == 2 && n.outputs.size() == 1 &&
           n.fused.empty();
  }

  size_t index(const ir::Node& n) const { return static_cast<size_t>(&n - g_.nodes.data()); }

  // The producer of `v` when nothing else reads v.
  const ir::Node* single_use_producer(const std::string& v) const {
    auto p = producers_.find(v);
    auto u = uses_.find(v);
    if (p == producers_.end() || u == uses_.end() || u->second != 1 || outputs_.count(v))
      return nullptr;
    return &g_.nodes[p->second];
  }

  bool is_scalar(const std::string& v, float want, float rel = 1e-6f) const {
    const Tensor* t = g_.constant(v);
    if (!t || t->dtype() != DType::F32 || t->numel() != 1) return false;
    return std::fabs(t->data<float>()[0] - want) <= rel * std::fabs(want);
  }

  // t = Add(Erf(x / sqrt 2), 1), each intermediate read once.
  bool match_t(const std::string& t, const std::string& x, std::vector<size_t>& nodes) const {
    const ir::Node* add = single_use_producer(t);
    if (!add || !is(*add, "Add")) return false;
    for (int k = 0; k < 2; ++k) {
      if (!is_scalar(add->inputs[1 - k], 1.0f)) continue;
      const ir::Node* erf = single_use_producer(add->inputs[k]);
      if (!erf || erf->op_type != "Erf" || !erf->domain.empty() || erf->inputs.size() != 1)
        continue;
      const ir::Node* scale = single_use_producer(erf->inputs[0]);
      if (!scale || scale->inputs.empty() || scale->inputs[0] != x) continue;
      const bool div = is(*scale, "Div") && is_scalar(scale->inputs[1], std::sqrt(2.0f), 1e-5f);
      const bool mul = is(*scale, "Mul") && is_scalar(scale->inputs[1], std::sqrt(0.5f), 1e-5f);
      if (!div && !mul) continue;
      nodes = {index(*scale), index(*erf), index(*add)};
      return true;
    }
    return false;
  }

  ir::Graph& g_;
  std::unordered_map<std::string, size_t> producers_;
  std::unordered_map<std::string, int> uses_;
  std::unordered_set<std::string> outputs_;
};

}  // namespace

int fuse_gelu(ir::Graph& g) {
  std::vector<bool> drop(g.nodes.size(), false);
  int fused = 0;
  {
    GeluMatcher m(g);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      std::vector<size_t> nodes;
      std::string x;
      if (drop[i] || !m.match(i, nodes, x)) continue;
      bool taken = false;
      for (size_t k : nodes) taken |= drop[k];
      if (taken) continue;
      ir::Node gelu;
      gelu.name = g.nodes[i].name + "_gelu";
      gelu.op_type = "Gelu";
      gelu.domain = kernels::ref::kQbenchDomain;
      gelu.inputs = {x};
      gelu.outputs = g.nodes[i].outputs;
      for (size_t k : nodes) drop[k] = true;
      drop[i] = false;
      g.nodes[i] = std::move(gelu);
      fused++;
    }
  }
  if (!fused) return 0;
  g.remove_nodes(drop);
  g.remove_dead();
  return fused;
}

}  // namespace qbench::passes
