#include "bench/bench.h"

#include <iostream>

#include "bench/sysinfo.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "report/json.h"
#include "report/reporter.h"

namespace qbench::cli {
namespace {

struct BenchArgs {
  std::string model;
  bench::BenchOptions opts;
  std::string label = "timing";
  bool json = false;
  bool quiet = false;
  std::vector<std::string> shapes;
};

void check(const BenchArgs& a) {
  const auto& o = a.opts;
  if (o.threads < 1) fail("--threads must be at least 1 (got {})", o.threads);
  if (o.batch < 1) fail("--batch must be at least 1 (got {})", o.batch);
  if (o.warmup_seconds < 0) fail("--warmup-s must be >= 0 (got {})", o.warmup_seconds);
  if (o.warmup_queries < 0) fail("--warmup-queries must be >= 0 (got {})", o.warmup_queries);
  if (o.min_queries < 1) fail("--min-queries must be at least 1 (got {})", o.min_queries);
  if (o.min_seconds < 0) fail("--min-seconds must be >= 0 (got {})", o.min_seconds);
}

void run_bench(const BenchArgs& a) {
  check(a);
  bench::BenchOptions opts = a.opts;
  opts.shapes = parse_shapes(a.shapes);
  bench::BenchResult r = bench::run_bench(a.model, opts, progress_printer(a.label, a.quiet));
  const bench::Machine m = bench::describe_machine(a.opts.threads);
  if (a.json) {
    nlohmann::json j = report::to_json(r);
    j["machine"] = report::to_json(m);
    std::cout << j.dump(2) << "\n";
    return;
  }
  const auto& l = r.latency_ms;
  const auto& c = r.coverage;
  auto share = [](int64_t x, int64_t t) { return t ? 100.0 * double(x) / double(t) : 0.0; };
  fmt::print("model       {} ({})\n", r.model, report::bytes_str(r.model_bytes));
  fmt::print("machine     {}\n", report::machine_line(m));
  fmt::print("load        {:.3f} s, compile {:.3f} s\n", r.load_seconds, r.compile_seconds);
  fmt::print(
      "latency     batch 1, {} queries in {:.2f} s: p50 {:.3f} ms, p90 {:.3f}, p99 {:.3f}, "
      "max {:.3f}; mean {:.3f} ± {:.3f} (std)\n",
      r.queries, r.latency_seconds, l.p50, l.p90, l.p99, l.max, l.mean, l.stddev);
  fmt::print("throughput  {:.1f} images/s at batch {} ({} runs{})\n", r.images_per_second,
             r.offline_batch, r.offline_runs,
             r.offline_streams > 1
                 ? fmt::format("; {} streams of the batch's images at once, one thread each{}",
                               r.offline_streams, r.offline_one_at_a_time ? ", one image at a time" : "")
             : !r.offline_not_split.empty()
                 ? fmt::format("; one plan: not split into streams, {}", r.offline_not_split)
                 : "");
  fmt::print("memory      peak RSS {}\n", report::bytes_str(r.peak_rss_bytes));
  fmt::print(
      "precision   MACs: int8 {:.1f}%, bf16 {:.1f}%, f32 {:.1f}%; params: int8 {:.1f}%, "
      "bf16 {:.1f}%, f32 {:.1f}%\n",
      share(c.macs_int8, c.macs()), share(c.macs_bf16, c.macs()), share(c.macs_f32, c.macs()),
      share(c.params_int8, c.params()), share(c.params_bf16, c.params()),
      share(c.params_f32, c.params()));
  fmt::print("other load  {:.1f}% of the CPU used by other processes\n", 100 * r.other_cpu_share);
  for (const auto& w : r.warnings) fmt::print("warning     {}\n", w);
}

}  // namespace

void register_bench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* c = app.add_subcommand(
      "bench",
      "Time a model: batch-1 latency percentiles (single stream), offline throughput, "
      "load/compile time, peak memory");
  c->add_option("--model", a->model, "ONNX model file")->required();
  c->add_option("--batch", a->opts.batch,
                "Offline throughput batch (a fixed-batch model uses its own)")
      ->check(in_range(1, 65536))
      ->capture_default_str();
  c->add_option("--threads", a->opts.threads, "Threads for every kernel")
      ->check(in_range(1, 1024))
      ->capture_default_str();
  c->add_option("--warmup-s", a->opts.warmup_seconds, "Warm-up lasts at least this many seconds")
      ->check(in_range(0, 3600))
      ->capture_default_str();
  c->add_option("--warmup-queries", a->opts.warmup_queries, "... and at least this many queries")
      ->check(in_range(0, 1000000000))
      ->capture_default_str();
  c->add_option("--min-queries", a->opts.min_queries,
                "Single stream: time at least this many batch-1 queries ...")
      ->check(in_range(1, 1000000000))
      ->capture_default_str();
  c->add_option("--min-seconds", a->opts.min_seconds,
                "... and for at least this many seconds (offline throughput too)")
      ->check(in_range(0, 3600))
      ->capture_default_str();
  c->add_option("--label", a->label, "Label of the progress line on stderr")->capture_default_str();
  c->add_flag("--json", a->json, "Print one JSON object on stdout (see docs/results-schema.md)");
  c->add_flag("--quiet", a->quiet, "No progress on stderr");
  add_shape_option(c, a->shapes);
  c->callback([a] { run_bench(*a); });
}

}  // namespace qbench::cli
