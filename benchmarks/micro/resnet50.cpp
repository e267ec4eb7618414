// ResNet-50 at batch 1 on one thread: FP32, static int8 (QDQ model, fused into integer kernels)
// and bf16 (the FP32 model with its Conv/Gemm weights stored as bfloat16), through the same
// engine the CLI uses. Needs the models, which are never committed:
//   /usr/bin/python3 benchmarks/resnet50/make_resnet50.py /tmp/resnet50.onnx
//   /usr/bin/python3 benchmarks/resnet50/make_qdq.py /tmp/resnet50.onnx /tmp/resnet50-int8.onnx
//   export QBENCH_RESNET50=/tmp/resnet50.onnx QBENCH_RESNET50_INT8=/tmp/resnet50-int8.onnx
//   build/benchmarks/bench_resnet50
// Repetitions are interleaved in random order (5 by default) so machine noise hits every
// variant alike; compare medians.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "kernels/onednn/context.h"
#include "onnx/onnx_io.h"

namespace {

using namespace qbench;

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// The FP32 model with every constant Conv/Gemm/MatMul weight stored as bfloat16 (round to
// nearest even) behind a Cast to float, as the bf16 recipe writes it.
ir::Graph to_bf16(ir::Graph g) {
  std::vector<ir::Node> casts;
  for (auto& n : g.nodes) {
    if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    const Tensor* w = n.has_input(1) ? g.constant(n.inputs[1]) : nullptr;
    if (!w || w->dtype() != DType::F32) continue;
    Tensor b(DType::BF16, w->shape());
    for (int64_t i = 0; i < w->numel(); ++i) {
      uint32_t u;
      std::memcpy(&u, &w->data<float>()[i], 4);
      b.data<uint16_t>()[i] = static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
    }
    const std::string name = n.inputs[1] + "_bf16";
    ir::Value& v = g.value(name);
    v.dtype = DType::BF16;
    v.data = std::move(b);
    ir::Node c;
    c.name = name + "_cast";
    c.op_type = "Cast";
    c.inputs = {name};
    c.outputs = {name + "_f32"};
    c.attrs["to"] = ir::Attribute::of_int(1);
    g.value(c.outputs[0]).dtype = DType::F32;
    n.inputs[1] = c.outputs[0];
    casts.push_back(std::move(c));
  }
  g.nodes.insert(g.nodes.begin(), casts.begin(), casts.end());
  g.remove_dead();
  return g;
}

struct Variant {
  std::unique_ptr<engine::Engine> eng;
  std::vector<Tensor> inputs;
};

Variant make_variant(ir::Graph g) {
  engine::EngineOptions opts;
  opts.threads = 1;
  Variant v;
  v.eng = std::make_unique<engine::Engine>(std::move(g), opts);
  for (const auto& t : v.eng->input_types(1)) {
    Tensor x(t.dtype, t.shape);
    float* p = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) p[i] = static_cast<float>(i % 255) / 127.0f - 1.0f;
    v.inputs.push_back(x);
  }
  v.eng->run(v.inputs);  // compile and warm up outside the timed loop
  return v;
}

void BM_ResNet50(benchmark::State& state, const std::string& variant) {
  static std::map<std::string, Variant> variants;
  const char* fp32 = env("QBENCH_RESNET50");
  const char* int8 = env("QBENCH_RESNET50_INT8");
  if (!fp32 || (variant == "int8" && !int8)) {
    state.SkipWithError(
        "set QBENCH_RESNET50 (and QBENCH_RESNET50_INT8) to the models made by "
        "benchmarks/resnet50/make_resnet50.py and make_qdq.py");
    return;
  }
  auto it = variants.find(variant);
  if (it == variants.end()) {
    ir::Graph g = onnxio::load_model(variant == "int8" ? int8 : fp32);
    if (variant == "bf16") g = to_bf16(std::move(g));
    it = variants.emplace(variant, make_variant(std::move(g))).first;
  }
  Variant& v = it->second;
  for (auto _ : state) benchmark::DoNotOptimize(v.eng->run(v.inputs));
  state.counters["images/s"] =
      benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_ResNet50, fp32, std::string("fp32"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_ResNet50, int8, std::string("int8"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_ResNet50, bf16, std::string("bf16"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

int main(int argc, char** argv) {
  // Interleaved repetitions unless the command line says otherwise.
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=5",
              inter = "--benchmark_enable_random_interleaving=true";
  bool has_reps = false;
  for (int i = 1; i < argc; ++i)
    has_reps |= std::strncmp(argv[i], "--benchmark_repetitions", 23) == 0;
  if (!has_reps) {
    args.push_back(reps.data());
    args.push_back(inter.data());
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::AddCustomContext("onednn_isa", kernels::onednn::effective_isa());
  benchmark::AddCustomContext("onednn_version", kernels::onednn::library_version());
  benchmark::AddCustomContext("threads", "1");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
