#pragma once
// What `qbench compare` measured: one row per quantized variant of one model, every variant on
// the same test images and the same engine, plus the machine. The reporters (console, markdown,
// CSV, JSON, HTML) only format this struct; docs/results-schema.md documents its JSON form.
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "bench/sysinfo.h"

namespace qbench::report {

// Version of the JSON schema ("schema_version"); bump when a field changes meaning or goes away.
inline constexpr int kSchemaVersion = 2;

struct VariantResult {
  std::string recipe;  // "fp32", "static-int8", ...
  std::string file;    // the variant's ONNX file
  // Accuracy on the test images.
  int64_t n = 0;
  int64_t correct_top1 = 0, correct_top5 = 0;
  double top1() const { return n ? double(correct_top1) / double(n) : 0; }
  double top5() const { return n ? double(correct_top5) / double(n) : 0; }
  // Against FP32 on the same images: top-1 difference in points (variant - FP32, negative is a
  // loss) with its paired bootstrap 95% CI, the discordant pairs and McNemar's exact p-value.
  double drop_points = 0, drop_ci_low = 0, drop_ci_high = 0;
  int64_t fp32_only = 0;     // right in FP32, wrong in the variant
  int64_t variant_only = 0;  // right in the variant, wrong in FP32
  double mcnemar_p = 1;
  double agreement = 1;  // share of images with the same predicted label as FP32
  bench::BenchResult bench;
  double speedup = 1;     // FP32 p50 latency / this p50 latency
  double size_ratio = 1;  // this size on disk / FP32's
  double quantize_seconds = 0;
  double calib_seconds = 0;  // static-int8 calibration (0 otherwise)
  // Pareto-best: no other variant is at least as accurate (top-1) and at least as fast (p50) /
  // small, and better in one.
  bool pareto_latency = false;
  bool pareto_size = false;
  std::vector<int32_t> predictions;  // kept for the cache and the demo, not reported
  // Under MPI with ranks on several hosts: each other host's own timing of this variant (bench
  // is rank 0's host's). Machines differ, so they are listed, never averaged.
  struct HostBench {
    std::string host;
    bench::BenchResult bench;
  };
  std::vector<HostBench> other_hosts;
};

// Another engine running a variant's file in the same run (`compare --peers`): its batch-1
// latency in rounds interleaved with qbench's own, and its accuracy on the same test images.
struct PeerResult {
  std::string engine;   // "onnxruntime 1.30.0"
  std::string recipe;   // the variant whose file it ran
  int rounds = 0;
  double p50_ms = 0;         // median over the rounds of the peer's median latency
  double qbench_p50_ms = 0;  // qbench's, in the same rounds
  int64_t n = 0;             // images evaluated (0: no accuracy measured)
  int64_t correct_top1 = 0;
  double agreement = 0;  // share of images with the label qbench gave on the same file
  double top1() const { return n ? double(correct_top1) / double(n) : 0; }
};

struct Settings {
  int64_t limit = 0;
  int64_t eval_batch = 64;
  std::string calib_data;
  int64_t calib_size = 512;
  bench::BenchOptions bench;
  int bootstrap_resamples = 1000;
  uint64_t bootstrap_seed = 20240601;
};

struct CompareResults {
  std::string model;
  int64_t model_bytes = 0;
  std::string model_hash;  // fnv1a64 of the file bytes, hex
  std::string data;        // dataset description
  int64_t images = 0;
  // With --limit: each evaluated image's index in the test set (empty: all of it, in order).
  std::vector<int64_t> image_origin;
  Settings settings;
  bench::Machine machine;
  std::vector<VariantResult> variants;  // in report order (Pareto-best first)
  std::vector<std::string> skipped;     // "recipe: why"
  std::vector<std::string> warnings;    // warnings on the results, "recipe: text"
  std::vector<PeerResult> peers;        // --peers: rows of other engines, marked as peers
  std::vector<std::string> peer_notes;  // peers that did not run and why (how to install them)
  // Under MPI: how many ranks split the test images, and the hosts they ran on ("node1: ranks
  // 0-3"); 1 and empty for a single process.
  int ranks = 1;
  std::vector<std::string> hosts;
};

// Fills speedup, size_ratio and the Pareto flags against the fp32 row (the first row when no
// fp32 is present) and sorts: Pareto-best on accuracy vs latency first, then by p50 latency.
void finalize(CompareResults& r);

}  // namespace qbench::report
