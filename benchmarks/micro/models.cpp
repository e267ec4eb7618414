// Whole-model FP32 inference of the zoo at batch 1 and batch 64, through the same engine the CLI
// uses. Built by the normal build, never run by the tests:
//   build/benchmarks/bench_models --benchmark_repetitions=5
// Threads come from QBENCH_THREADS (default 1; 1-thread timings are the repeatable ones here).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>

#include "engine/engine.h"
#include "onnx/onnx_io.h"

namespace {

int threads() {
  const char* t = std::getenv("QBENCH_THREADS");
  return t ? std::atoi(t) : 1;
}

void BM_Model(benchmark::State& state, const std::string& name) {
  const int64_t batch = state.range(0);
  qbench::engine::EngineOptions opts;
  opts.threads = threads();
  qbench::engine::Engine eng(
      qbench::onnxio::load_model(std::string(QBENCH_MODELS_DIR) + "/" + name + ".onnx"), opts);
  auto types = eng.input_types(batch);
  std::vector<qbench::Tensor> inputs;
  for (const auto& t : types) {
    qbench::Tensor x(t.dtype, t.shape);
    float* p = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) p[i] = static_cast<float>(i % 255) / 255.0f;
    inputs.push_back(x);
  }
  eng.run(inputs);  // compile and warm up outside the timed loop
  for (auto _ : state) benchmark::DoNotOptimize(eng.run(inputs));
  state.counters["images/s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = opts.threads;
}

}  // namespace

BENCHMARK_CAPTURE(BM_Model, mlp, std::string("mlp"))
    ->Arg(1)
    ->Arg(64)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Model, lenet, std::string("lenet"))
    ->Arg(1)
    ->Arg(64)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Model, resnet, std::string("resnet"))
    ->Arg(1)
    ->Arg(64)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Model, mobilenet, std::string("mobilenet"))
    ->Arg(1)
    ->Arg(64)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Model, vit, std::string("vit"))
    ->Arg(1)
    ->Arg(64)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK_MAIN();
