// Running a model: bytes -> load_model_from_bytes -> a plan at batch 1 on the optimized kernels
// and on the reference ones -> one run on inputs filled from the input's own bytes. fuzz_onnx
// stops at shape inference (which runs only the graphs that need run-time values); this one
// runs every kernel a mutated model reaches, with the attributes and shapes shape inference let
// through. Plans over a work budget are compiled but not run, so that a mutated Conv of 2^30
// MACs is not a timeout: the budget is this target's, not qbench's.
#include <algorithm>
#include <cstring>

#include "engine/engine.h"
#include "engine/inspect.h"
#include "fuzz_common.h"
#include "onnx/onnx_io.h"

namespace {

constexpr int64_t kMaxMacs = int64_t(1) << 24;
constexpr int64_t kMaxElements = int64_t(1) << 22;

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
      const qbench::engine::PlanReport report = qbench::engine::describe_plan(plan, engine.graph());
      int64_t elements = 0;
      for (const auto& [name, type] : plan.value_types()) {
        (void)name;
        elements += qbench::shape_numel(type.shape);
      }
      if (report.macs > kMaxMacs || elements > kMaxElements) return;
      plan.run(inputs_from(types, bytes), 1);
    }
  });
}
