#pragma once
// Test support for the oneDNN kernels (header only, used by tests/unit/onednn_*_test.cpp and the
// kernel micro-benchmarks; it lives with the tests, not in src/): builds a node, creates its
// oneDNN kernel through the registry exactly as the engine does, and compares its outputs with
// the reference kernel's.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/onednn/registry.h"

namespace qbench::kernels::onednn::testing {

inline ir::Node make_node(std::string op, size_t num_inputs,
                          std::map<std::string, ir::Attribute> attrs = {}, size_t num_outputs = 1) {
  ir::Node n;
  n.name = "test_" + op;
  n.op_type = std::move(op);
  for (size_t i = 0; i < num_inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < num_outputs; ++i) n.outputs.push_back("out" + std::to_string(i));
  n.attrs = std::move(attrs);
  return n;
}

inline Tensor random_tensor(std::mt19937& rng, Shape shape, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::F32, std::move(shape));
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

inline const OptimizedKernelDef* find_optimized(const std::string& op) {
  for (const OptimizedKernelDef& d : optimized_kernels())
    if (op == d.op_type) return &d;
  return nullptr;
}

// A node bound to concrete inputs; `constant[i]` marks inputs the factory may treat as
// compile-time constants (weights). An undefined Tensor is an omitted optional input.
struct Problem {
  ir::Node node;
  int64_t opset = 17;
  std::vector<Tensor> inputs;
  std::vector<bool> constant;

  std::vector<const Tensor*> input_ptrs() const {
    std::vector<const Tensor*> p;
    for (const Tensor& t : inputs) p.push_back(t.defined() ? &t : nullptr);
    return p;
  }

  std::vector<const Tensor*> constants() const {
    std::vector<const Tensor*> consts, ptrs = input_ptrs();
    for (size_t i = 0; i < inputs.size(); ++i)
      consts.push_back(i < constant.size() && constant[i] ? ptrs[i] : nullptr);
    return consts;
  }
  std::vector<TensorType> input_types() const {
    std::vector<TensorType> types;
    for (const Tensor* t : input_ptrs())
      types.push_back(t ? TensorType{t->dtype(), t->shape()} : TensorType{});
    return types;
  }
  // The output types, from the op's inference.
  std::vector<TensorType> make_types() const {
    const OpDef* def = find_op(node.domain, node.op_type);
    if (!def) return {};
    InferContext ic{node, opset, input_types(), constants(), {}};
    def->infer(ic);
    return ic.outputs;
  }

  // Creates the oneDNN kernel via the registry; output types come from the op's inference.
  std::unique_ptr<Kernel> make(std::string& why_not, std::vector<TensorType>& out_types) const {
    const OptimizedKernelDef* opt = find_optimized(node.op_type);
    if (!find_op(node.domain, node.op_type) || !opt) {
      why_not = "no op or oneDNN kernel registered for " + node.op_type;
      return nullptr;
    }
    out_types = make_types();
    const std::vector<TensorType> in = input_types();
    const std::vector<const Tensor*> consts = constants();
    KernelInit init{node, opset, in, out_types, consts, 1};
    return opt->make(init, why_not);
  }
};

// Largest |a - b| over the output, divided by the reference's largest magnitude (at least 1e-3).
inline double relative_error(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape() || got.dtype() != DType::F32 || want.dtype() != DType::F32)
    return INFINITY;
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  double scale = 1e-3, err = 0;
  for (int64_t i = 0; i < want.numel(); ++i) scale = std::max(scale, std::fabs(double(w[i])));
  for (int64_t i = 0; i < want.numel(); ++i) {
    if (std::isnan(g[i]) != std::isnan(w[i])) return INFINITY;
    if (!std::isnan(w[i])) err = std::max(err, std::fabs(double(g[i]) - double(w[i])));
  }
  return err / scale;
}

struct Outcome {
  std::string why_not;      // non-empty when the factory rejected the problem
  double error = INFINITY;  // worst relative error over all outputs and both runs
};

// Creates the kernel, runs it on the problem's inputs and then on fresh random values of its
// runtime inputs (to catch state kept between runs), comparing each run with the reference.
inline Outcome check_against_reference(Problem p, std::mt19937& rng) {
  Outcome o;
  std::vector<TensorType> types;
  auto kernel = p.make(o.why_not, types);
  if (!kernel) {
    if (o.why_not.empty()) o.why_not = "(factory gave no reason)";
    return o;
  }
  o.why_not.clear();
  o.error = 0;
  ExecContext ctx;
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1)
      for (size_t i = 0; i < p.inputs.size(); ++i)
        if (p.inputs[i].defined() && !(i < p.constant.size() && p.constant[i])) {
          // Fresh values over the same range, so domain-restricted ops (Log, Sqrt) stay valid.
          const float* v = p.inputs[i].data<float>();
          auto [lo, hi] = std::minmax_element(v, v + p.inputs[i].numel());
          float a = p.inputs[i].numel() ? *lo : 0.f, b = p.inputs[i].numel() ? *hi : 0.f;
          p.inputs[i] = random_tensor(rng, p.inputs[i].shape(), a, std::max(b, a));
        }
    std::vector<Tensor> want = run_reference(p.node, p.opset, p.input_ptrs());
    std::vector<Tensor> got;
    std::vector<Tensor*> got_ptrs;
    got.reserve(types.size());
    for (const TensorType& t : types) {
      got.emplace_back(t.dtype, t.shape);
      // Poison the outputs so a kernel that leaves elements unwritten fails.
      std::fill(got.back().data<float>(), got.back().data<float>() + got.back().numel(), NAN);
    }
    for (size_t i = 0; i < got.size(); ++i)
      got_ptrs.push_back(i < p.node.outputs.size() && !p.node.outputs[i].empty() ? &got[i]
                                                                                 : nullptr);
    std::vector<const Tensor*> in = p.input_ptrs();
    kernel->run(in, got_ptrs, ctx);
    for (size_t i = 0; i < got.size(); ++i)
      if (got_ptrs[i]) o.error = std::max(o.error, relative_error(got[i], want[i]));
  }
  return o;
}

}  // namespace qbench::kernels::onednn::testing
