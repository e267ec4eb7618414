// The timing harness: its warnings, machine parsing, hashing and file writing, and the shape of
// a real run on LeNet (no timing assertions).
#include "bench/bench.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bench/sysinfo.h"
#include "compare/compare.h"
#include "engine/inspect.h"
#include "onnx/onnx_io.h"
#include "test_util.h"

using namespace qbench;

TEST(TrustWarnings, NoneForACleanReleaseRun) {
  eval::Summary s;
  s.mean = 1.0;
  s.stddev = 0.05;
  EXPECT_TRUE(bench::trust_warnings("Release", s, {}, 0.02, 1).empty());
}

TEST(TrustWarnings, EachProblemGetsOneSentence) {
  eval::Summary s;
  s.mean = 1.0;
  s.stddev = 0.25;
  eval::Bimodality b{true, 1.0, 1.5, 0.25};
  const auto w = bench::trust_warnings("Debug", s, b, 0.4, 2);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0],
            "Debug build: timings are not representative, build with "
            "-DCMAKE_BUILD_TYPE=Release");
  EXPECT_EQ(w[1], "latency varies a lot: coefficient of variation 25.0% (over 10%)");
  EXPECT_EQ(w[2],
            "bimodal latency: 75% of queries near 1.000 ms, 25% near 1.500 ms (try "
            "--threads 1 on a small VM)");
  EXPECT_EQ(w[3], "other processes used 40% of the CPU during the run");
}

TEST(Sysinfo, IsaFlagsInLadderOrder) {
  EXPECT_EQ(bench::isa_flags_of("fpu avx512_vnni sse4_2 amx_int8 avx2 avx512f amx_tile foo"),
            (std::vector<std::string>{"sse4_2", "avx2", "avx512f", "avx512_vnni", "amx_tile",
                                      "amx_int8"}));
  EXPECT_TRUE(bench::isa_flags_of("").empty());
}

TEST(Sysinfo, OtherCpuShare) {
  bench::CpuSample a{10.0, 100.0, 5.0}, b{12.0, 103.0, 6.0};
  // 2 s x 2 CPUs = 4 CPU-s of capacity; 3 busy, 1 ours -> 2 / 4.
  EXPECT_DOUBLE_EQ(bench::other_cpu_share(a, b, 2), 0.5);
  EXPECT_DOUBLE_EQ(bench::other_cpu_share(a, a, 2), 0.0);
  EXPECT_GT(bench::peak_rss_bytes(), 0);
}

TEST(Compare, Fnv1a64KnownValues) {
  EXPECT_EQ(compare::fnv1a64(""), "cbf29ce484222325");
  EXPECT_EQ(compare::fnv1a64("a"), "af63dc4c8601ec8c");
  const std::string p = testing::TempDir() + "/fnv.txt";
  compare::write_file_atomic(p, "a");
  EXPECT_EQ(compare::fnv1a64_file(p), "af63dc4c8601ec8c");
  std::ifstream f(p);
  std::string s;
  f >> s;
  EXPECT_EQ(s, "a");
  // Nothing but the file itself is left in the directory: the temporary was renamed.
  for (const auto& e : std::filesystem::directory_iterator(testing::TempDir()))
    EXPECT_EQ(e.path().filename().string().find("fnv.txt.tmp"), std::string::npos);
}

namespace {
// A short run: no warm-up by time, `queries` timed queries, offline batch 8.
bench::BenchOptions quick(int64_t queries) {
  bench::BenchOptions o;
  o.warmup_seconds = 0;
  o.warmup_queries = 2;
  o.min_queries = queries;
  o.min_seconds = 0;
  o.batch = 8;
  return o;
}
}  // namespace

TEST(RunBench, LeNetRunReportsEveryPhase) {
  const bench::BenchOptions o = quick(20);
  const bench::BenchResult r = bench::run_bench(test::models_dir() + "/lenet.onnx", o);
  EXPECT_GE(r.queries, 20);
  EXPECT_EQ(r.latency_ms.n, r.queries);
  EXPECT_EQ(r.offline_batch, 8);
  EXPECT_GE(r.offline_runs, 3);
  EXPECT_LE(r.latency_ms.min, r.latency_ms.p50);
  EXPECT_LE(r.latency_ms.p50, r.latency_ms.p90);
  EXPECT_LE(r.latency_ms.p90, r.latency_ms.p99);
  EXPECT_LE(r.latency_ms.p99, r.latency_ms.max);
  EXPECT_EQ(r.model_bytes,
            static_cast<int64_t>(std::filesystem::file_size(test::models_dir() + "/lenet.onnx")));
  // An FP32 model runs everything in f32: all of LeNet's 61,706 parameters.
  EXPECT_EQ(r.coverage.params_f32, 61706);
  EXPECT_EQ(r.coverage.params_int8 + r.coverage.params_bf16, 0);
  EXPECT_GT(r.coverage.macs_f32, 0);
  EXPECT_GT(r.peak_rss_bytes, 0);
}

TEST(RunBench, DynamicPlanCoverageIsAtBatchOne) {
  // x[N,4] -> MatMul(w[4,3]) -> y, and NonZero(y): NonZero's output shape is data-dependent, so
  // the plan is dynamic and shared by every batch size. Coverage is documented at batch 1:
  // 4 x 3 = 12 MACs, not the offline batch's 8 x 12 (what a plan described after the batch-8
  // run would count).
  ir::Graph g;
  g.opsets[""] = 13;
  test::add_input(g, "x", {{-1, "N"}, {4, ""}});
  test::add_constant(g, "w", test::random_tensor({4, 3}, 1));
  test::add_node(g, "MatMul", {"x", "w"}, {"y"});
  test::add_node(g, "NonZero", {"y"}, {"nz"});
  g.value("nz").dtype = DType::I64;
  g.outputs = {"y", "nz"};
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("qbench_dynamic_cov_" + std::to_string(::getpid()) + ".onnx"));
  onnxio::save_model(g, path);
  const bench::BenchResult r = bench::run_bench(path, quick(2));
  EXPECT_EQ(r.coverage.macs(), 12);
  EXPECT_EQ(r.coverage.macs_f32, 12);
  EXPECT_EQ(engine::describe_graph(g, {}).macs, 12);
  std::filesystem::remove(path);
}
