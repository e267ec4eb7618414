#pragma once
// Helpers shared by the tests that build small graphs by hand.
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace qbench::test {

inline Tensor random_tensor(Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(DType::F32, std::move(shape));
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

inline void add_constant(ir::Graph& g, const std::string& name, Tensor t) {
  ir::Value& v = g.value(name);
  v.dtype = t.dtype();
  std::vector<ir::Dim> dims;
  for (int64_t d : t.shape()) dims.push_back({d, ""});
  v.dims = dims;
  v.data = std::move(t);
}

inline void add_input(ir::Graph& g, const std::string& name, std::vector<ir::Dim> dims) {
  ir::Value& v = g.value(name);
  v.dtype = DType::F32;
  v.dims = std::move(dims);
  g.inputs.push_back(name);
}

inline ir::Node& add_node(ir::Graph& g, const std::string& op, std::vector<std::string> inputs,
                          std::vector<std::string> outputs) {
  ir::Node n;
  n.name = op + "_" + std::to_string(g.nodes.size());
  n.op_type = op;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  for (const auto& o : n.outputs) g.value(o).dtype = DType::F32;
  g.nodes.push_back(std::move(n));
  return g.nodes.back();
}

// Largest |a - b| relative to max(1, max |b|).
inline float max_rel_diff(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.to_float(), y = b.to_float();
  float scale = 1.0f, diff = 0.0f;
  for (float v : y) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < x.size() && i < y.size(); ++i)
    diff = std::max(diff, std::abs(x[i] - y[i]));
  return diff / scale;
}

inline std::string models_dir() {
  return QBENCH_MODELS_DIR;
}
inline std::string test_data_dir() {
  return QBENCH_TEST_DATA;
}

}  // namespace qbench::test
