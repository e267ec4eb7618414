#include "bench/bench.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "bench/sysinfo.h"
#include "engine/engine.h"
#include "engine/inspect.h"
#include "kernels/kernel.h"
#include "kernels/onednn/cpu_paths.h"
#include "onnx/onnx_io.h"

namespace qbench::bench {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Deterministic inputs in [0, 1) for float inputs (dense values, no denormals) and zeros for the
// rest, built once before anything is timed.
std::vector<Tensor> make_inputs(const std::vector<kernels::TensorType>& types) {
  std::mt19937 rng(20240601);
  std::vector<Tensor> out;
  for (const auto& t : types) {
    Tensor x(t.dtype, t.shape);
    std::fill_n(static_cast<uint8_t*>(x.raw()), x.nbytes(), uint8_t{0});
    if (t.dtype == DType::F32) {
      float* p = x.data<float>();
      for (int64_t i = 0; i < x.numel(); ++i) p[i] = static_cast<float>(rng() >> 8) * 0x1p-24f;
    }
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace

std::vector<std::string> trust_warnings(const std::string& build_type, const eval::Summary& lat,
                                        const eval::Bimodality& modes, double other_cpu_share,
                                        int threads) {
  std::vector<std::string> w;
  if (build_type != "Release" && build_type != "RelWithDebInfo")
    w.push_back(
        fmt::format("{} build: timings are not representative, build with "
                    "-DCMAKE_BUILD_TYPE=Release",
                    build_type));
  if (lat.cv() > 0.10)
    w.push_back(fmt::format("latency varies a lot: coefficient of variation {:.1f}% (over 10%)",
                            100 * lat.cv()));
  if (modes.bimodal)
    w.push_back(
        fmt::format("bimodal latency: {:.0f}% of queries near {:.3f} ms, {:.0f}% near {:.3f} ms{}",
                    100 * (1 - modes.high_share), modes.low_mean, 100 * modes.high_share,
                    modes.high_mean, threads > 1 ? " (try --threads 1 on a small VM)" : ""));
  if (other_cpu_share > 0.10)
    w.push_back(fmt::format("other processes used {:.0f}% of the CPU during the run",
                            100 * other_cpu_share));
  return w;
}

namespace {

// A Conv/MatMul/Gemm weight stored as float16 and cast to float (the fp16 recipe's form).
bool has_fp16_weights(const ir::Graph& g) {
  std::set<std::string> casts;
  for (const auto& n : g.nodes) {
    if (n.op_type != "Cast" || n.inputs.empty()) continue;
    const Tensor* t = g.constant(n.inputs[0]);
    if (t && t->dtype() == DType::F16) casts.insert(n.outputs[0]);
  }
  for (const auto& n : g.nodes)
    if (kernels::float_dense(n) != kernels::Dense::None && n.inputs.size() > 1 &&
        casts.count(n.inputs[1]))
      return true;
  return false;
}

}  // namespace

void check_options(const BenchOptions& o) {
  auto within = [](double v, double lo, double hi) {
    return std::isfinite(v) && v >= lo && v <= hi;
  };
  if (!within(o.threads, 1, 1024)) fail("--threads must be in [1, 1024] (got {})", o.threads);
  if (!within(double(o.batch), 1, 65536)) fail("--batch must be in [1, 65536] (got {})", o.batch);
  if (!within(o.warmup_seconds, 0, 3600))
    fail("--warmup-s must be in [0, 3600] seconds (got {})", o.warmup_seconds);
  if (!within(double(o.warmup_queries), 0, 1e9))
    fail("--warmup-queries must be in [0, 1e9] (got {})", o.warmup_queries);
  if (!within(double(o.min_queries), 1, 1e9))
    fail("--min-queries must be in [1, 1e9] (got {})", o.min_queries);
  if (!within(o.min_seconds, 0, 3600))
    fail("--min-seconds must be in [0, 3600] seconds (got {})", o.min_seconds);
}

BenchResult run_bench(const std::string& path, const BenchOptions& o,
                      const std::function<void(int64_t, int64_t)>& progress) {
  check_options(o);
  BenchResult r;
  r.model = path;
  r.threads = o.threads;
  auto t0 = Clock::now();
  ir::Graph g = onnxio::load_model(path);
  r.load_seconds = since(t0);
  r.model_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  r.saturation = quant::saturation_risk(g);
  const bool fp16_weights = has_fp16_weights(g);
  t0 = Clock::now();
  engine::EngineOptions eo;
  eo.threads = o.threads;
  engine::Engine eng(std::move(g), eo);
  const auto types1 = eng.input_types(1, o.shapes);
  engine::Plan& plan1 = eng.plan_for(types1);
  r.compile_seconds = since(t0);

  const std::vector<Tensor> in1 = make_inputs(types1);
  const auto types_b = eng.input_types(o.batch, o.shapes);
  const std::vector<Tensor> in_b = make_inputs(types_b);
  r.offline_batch = types_b.empty() || types_b[0].shape.empty() ? 1 : types_b[0].shape[0];
  eng.prepare(types_b);  // compiled outside the timed region
  const engine::Engine::Split split = eng.batch_split(types_b);
  r.offline_streams = split.parts;
  r.offline_one_at_a_time = split.one_at_a_time;
  r.offline_not_split = split.why_not;

  const double total = 2 * o.min_seconds;
  auto report = [&](double done) {
    // --min-seconds 0 has nothing to wait for: done at once (not 100 * done / 0).
    if (progress)
      progress(total > 0 ? std::min<int64_t>(100, static_cast<int64_t>(100 * done / total)) : 100,
               100);
  };

  // Warm-up: both plans, by time and by count.
  t0 = Clock::now();
  for (int64_t i = 0; i < o.warmup_queries || since(t0) < o.warmup_seconds; ++i) eng.run(in1);
  // After a batch-1 run and before any other: a dynamic plan (shapes known only at run time)
  // knows its kernels and shapes only then, and is shared by every batch size, so described
  // after the batch-b run it would count batch b's MACs (the coverage is at batch 1).
  const engine::PlanReport rep = engine::describe_plan(plan1, eng.graph());
  eng.run(in_b);
  r.coverage = {rep.params_int8, rep.params_bf16, rep.params_f32,   rep.macs_int8,
                rep.macs_bf16,   rep.macs_f32,    rep.macs_emulated};
  r.kernels = rep.implementations;
  if (rep.macs_emulated > 0)
    r.emulation = fmt::format("bf16 emulated on {:.0f}% of MACs: {}",
                              100.0 * double(rep.macs_emulated) / double(rep.macs),
                              kernels::onednn::bf16_emulation_reason());
  else if (fp16_weights)
    r.emulation =
        "fp16 weights computed by the f32 kernels: qbench has no fp16 compute path, so this is "
        "f32 speed, not what fp16 hardware would do";

  const CpuSample before = sample_cpu();
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(o.min_queries));
  const auto start = Clock::now();
  double elapsed = 0;
  while (static_cast<int64_t>(ms.size()) < o.min_queries || elapsed < o.min_seconds) {
    const auto q = Clock::now();
    eng.run(in1);
    const auto q1 = Clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(q1 - q).count());
    elapsed = std::chrono::duration<double>(q1 - start).count();
    if (ms.size() % 64 == 0) report(std::min(elapsed, o.min_seconds));
  }
  r.latency_seconds = elapsed;
  r.queries = static_cast<int64_t>(ms.size());
  r.latency_ms = eval::summarize(ms);

  // Offline: whole batches back to back, at least 3 and at least min_seconds.
  const auto off = Clock::now();
  double off_elapsed = 0;
  while (r.offline_runs < 3 || off_elapsed < o.min_seconds) {
    eng.run(in_b);
    ++r.offline_runs;
    off_elapsed = since(off);
    report(o.min_seconds + std::min(off_elapsed, o.min_seconds));
  }
  r.images_per_second = static_cast<double>(r.offline_runs * r.offline_batch) / off_elapsed;
  const CpuSample after = sample_cpu();
  report(total);

  r.other_cpu_share =
      other_cpu_share(before, after, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  r.peak_rss_bytes = peak_rss_bytes();
  r.warnings = trust_warnings(QBENCH_BUILD_TYPE, r.latency_ms, eval::detect_bimodal(ms),
                              r.other_cpu_share, o.threads);
  return r;
}

}  // namespace qbench::bench
