// Running a model: bytes -> load_model_from_bytes -> a plan at batch 1 on the optimized kernels
// and on the reference ones -> one run on inputs filled from the input's own bytes. fuzz_onnx
// stops at shape inference (which runs only the graphs that need run-time values); this one
// runs every kernel a mutated model reaches, with the attributes and shapes shape inference let
// through. Plans over a work budget (work_of: MACs, windows) are compiled but not run, so that a
// mutated Conv of 2^30 MACs is not a timeout: the budget is this target's, not qbench's.
#include <algorithm>
#include <cstring>

#include "engine/engine.h"
#include "engine/inspect.h"
#include "fuzz_common.h"
#include "onnx/onnx_io.h"

namespace {

constexpr int64_t kMaxWork = int64_t(1) << 26;
constexpr int64_t kMaxElements = int64_t(1) << 22;

int64_t capped_product(int64_t a, int64_t b) {
  return a > 0 && b > kMaxWork / a ? kMaxWork + 1 : a * b;
}

// An upper estimate of a step's work: its MACs where it has them, else its outputs times its
// window (a MaxPool of 1024 x 1024 over 2048 x 2048 has few elements and 10^12 comparisons) or
// an LRN's size, for an Einsum the product of its inputs' sizes (at least its index space), for
// the ops below their own bounds. Over-estimates only cost the fuzzer runs it skips.
int64_t work_of(const qbench::engine::Step& s) {
  const int64_t macs = qbench::engine::node_macs(s.node, s.in_types, s.out_types);
  int64_t out = 0, in = 0, product = 1;
  for (const auto& t : s.out_types) out += qbench::shape_numel(t.shape);
  for (const auto& t : s.in_types) {
    in += qbench::shape_numel(t.shape);
    product = capped_product(product, std::max<int64_t>(1, qbench::shape_numel(t.shape)));
  }
  int64_t window = 1;
  for (const int64_t k : s.node.attr_ints("kernel_shape", {}))
    window = capped_product(window, std::max<int64_t>(1, k));
  if (s.node.op_type == "LRN") window = std::max<int64_t>(1, s.node.attr_int("size", 1));
  int64_t work = std::max(macs, in + capped_product(std::max<int64_t>(1, out), window));
  const std::string& op = s.node.op_type;
  if (op == "Einsum") work = std::max(work, product);
  // Quadratic or worse in their sizes (a DFT line is len x bins; Det is n^3 for n^2 elements).
  if (op == "DFT" || op == "STFT" || op == "Det" || op == "TfIdfVectorizer" ||
      op == "MelWeightMatrix")
    work = std::max(work, capped_product(in + out, in + out));
  if (op == "Resize" || op == "Upsample" || op == "GridSample")  // up to 4^rank taps per output
    work = std::max(work, capped_product(out, 256));
  // Without a sampling_ratio, RoiAlign's grid per bin follows the values of its rois.
  if (op == "RoiAlign") {
    const int64_t ratio = s.node.attr_int("sampling_ratio", 0);
    work = ratio > 0 ? std::max(work, capped_product(out, capped_product(ratio, ratio)))
                     : kMaxWork + 1;
  }
  return work;
}

// Inputs of the plan's types, their bytes taken cyclically from the fuzz input (a float may be
// NaN or huge, an index out of range: what a user's data may be too).
std::vector<qbench::Tensor> inputs_from(const std::vector<qbench::kernels::TensorType>& types,
                                        const std::string& bytes) {
  std::vector<qbench::Tensor> inputs;
  for (const auto& t : types) {
    qbench::Tensor x(t.dtype, t.shape);
    if (t.dtype != qbench::DType::String) {  // strings stay empty
      auto* p = static_cast<uint8_t*>(x.raw());
      const uint8_t mask = t.dtype == qbench::DType::Bool ? 1 : 0xff;  // a bool is 0 or 1
      const size_t n = x.nbytes();
      for (size_t i = 0; i < n && !bytes.empty(); ++i)
        p[i] = uint8_t(bytes[i % bytes.size()]) & mask;
    }
    inputs.push_back(std::move(x));
  }
  return inputs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return qbench::fuzz::run(data, size, [](const std::string& bytes) {
    const qbench::ir::Graph g =
        qbench::onnxio::load_model_from_bytes(bytes, "fuzz.onnx", "/nonexistent-fuzz-dir");
    for (const bool optimized : {true, false}) {
      qbench::engine::EngineOptions options;
      options.threads = 1;
      options.optimized_kernels = optimized;
      qbench::engine::Engine engine(g, options);
      const auto types = engine.input_types(1, {});
      qbench::engine::Plan& plan = engine.plan_for(types);
      if (plan.dynamic()) return;  // infer_shapes (fuzz_onnx) runs those already
      int64_t elements = 0, work = 0;
      for (const auto& value : plan.value_types())
        elements += qbench::shape_numel(value.second.shape);
      for (const auto& step : plan.steps()) work += work_of(step);
      if (work > kMaxWork || elements > kMaxElements) return;
      plan.run(inputs_from(types, bytes), 1);
    }
  });
}
