// Micro-benchmarks of oneDNN kernels through the Kernel interface, as the engine runs them
// (plain row-major activations in and out). Built by the normal build, never run by the tests.
// The Conv layout rows decide kernels::onednn::ConvLayout's default; run with 1 thread
// (OMP_NUM_THREADS=1) on these 2-vCPU machines, where 2-thread timings are bimodal.
#include <benchmark/benchmark.h>
#include <omp.h>

#include "kernels/onednn/context.h"
#include "kernels/onednn/factories.h"
#include "onednn_testing.h"  // tests/unit

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

// Runs the problem's kernel in the timing loop; the reference path when `reference` is set.
void run_problem(benchmark::State& state, const Problem& p, double flops, bool reference = false) {
  set_flush_denormals();
  std::vector<TensorType> types;
  std::string why;
  std::unique_ptr<Kernel> kernel = reference ? nullptr : p.make(why, types);
  if (!reference && !kernel) {
    state.SkipWithError(("rejected: " + why).c_str());
    return;
  }
  std::vector<const Tensor*> in = p.input_ptrs();
  std::vector<Tensor> out;
  std::vector<Tensor*> out_ptrs;
  if (kernel) {
    for (const TensorType& t : types) out.emplace_back(t.dtype, t.shape);
    for (Tensor& t : out) out_ptrs.push_back(&t);
  }
  ExecContext ctx;
  ctx.threads = omp_get_max_threads();
  for (auto _ : state) {
    if (kernel) {
      kernel->run(in, out_ptrs, ctx);
    } else {
      benchmark::DoNotOptimize(run_reference(p.node, p.opset, in));
    }
  }
  state.counters["GFLOPS"] = benchmark::Counter(
      flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.SetLabel(effective_isa() + " threads=" + std::to_string(ctx.threads));
}

Problem conv_problem(int64_t n, int64_t c, int64_t m, int64_t hw, int64_t group, int64_t stride) {
  std::mt19937 rng(1);
  Problem p{testing::make_node("Conv", 3,
                               {{"group", Attribute::of_int(group)},
                                {"kernel_shape", Attribute::of_ints({3, 3})},
                                {"strides", Attribute::of_ints({stride, stride})},
                                {"pads", Attribute::of_ints({1, 1, 1, 1})}}),
            17,
            {},
            {false, true, true}};
  p.node.fused = {ir::FusedOp{"Relu", "relu", {}}};
  p.inputs = {testing::random_tensor(rng, {n, c, hw, hw}),
              testing::random_tensor(rng, {m, c / group, 3, 3}), testing::random_tensor(rng, {m})};
  return p;
}

double conv_flops(int64_t n, int64_t c, int64_t m, int64_t ohw, int64_t group) {
  return 2.0 * n * m * ohw * ohw * (c / group) * 9;
}

// Args: batch, layout (0 plain NCHW, 1 NHWC + reorders, 2 nChw16c + reorders).
void BM_Conv3x3_64x64_28(benchmark::State& state) {
  int64_t n = state.range(0);
  ConvLayout saved = conv_layout();
  set_conv_layout(static_cast<ConvLayout>(state.range(1)));
  run_problem(state, conv_problem(n, 64, 64, 28, 1, 1), conv_flops(n, 64, 64, 28, 1));
  set_conv_layout(saved);
}
BENCHMARK(BM_Conv3x3_64x64_28)
    ->ArgsProduct({{1, 64}, {0, 1, 2}})
    ->ArgNames({"batch", "layout"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// MobileNetV2-style depthwise 3x3, 144 channels @ 28x28, stride 1 and 2.
void BM_DepthwiseConv3x3_144_28(benchmark::State& state) {
  int64_t n = state.range(0), stride = state.range(2);
  ConvLayout saved = conv_layout();
  set_conv_layout(static_cast<ConvLayout>(state.range(1)));
  int64_t ohw = (28 - 1) / stride + 1;
  run_problem(state, conv_problem(n, 144, 144, 28, 144, stride), conv_flops(n, 144, 144, ohw, 144));
  set_conv_layout(saved);
}
BENCHMARK(BM_DepthwiseConv3x3_144_28)
    ->ArgsProduct({{1, 16}, {0, 1, 2}, {1, 2}})
    ->ArgNames({"batch", "layout", "stride"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_Conv3x3_Reference(benchmark::State& state) {
  run_problem(state, conv_problem(1, 64, 64, 28, 1, 1), conv_flops(1, 64, 64, 28, 1), true);
}
BENCHMARK(BM_Conv3x3_Reference)->Unit(benchmark::kMicrosecond)->UseRealTime();

// MLP layer: [64, 784] x [784, 256], constant B (reordered once) or runtime B.
void BM_MatMul_64x784x256(benchmark::State& state) {
  std::mt19937 rng(2);
  Problem p{testing::make_node("MatMul", 2), 13, {}, {false, state.range(0) != 0}};
  p.inputs = {testing::random_tensor(rng, {64, 784}), testing::random_tensor(rng, {784, 256})};
  run_problem(state, p, 2.0 * 64 * 784 * 256);
}
BENCHMARK(BM_MatMul_64x784x256)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("const_b")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace qbench::kernels::onednn

BENCHMARK_MAIN();
