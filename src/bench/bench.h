#pragma once
// The timing harness behind `qbench bench` (and each variant of `qbench compare`):
// single-stream latency at batch 1 in the MLPerf style (warm-up by time and count, then at least
// N queries and at least T seconds), offline throughput at a larger batch, load and compile
// time, peak RSS, and the precision the compiled plan really runs in. Inputs are prepared
// before the timed region; every timer is the steady clock.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "eval/stats.h"
#include "quant/saturation.h"

namespace qbench::bench {

struct BenchOptions {
  int threads = 1;
  int64_t batch = 64;           // offline throughput batch
  double warmup_seconds = 1.0;  // warm-up lasts at least this long ...
  int64_t warmup_queries = 10;  // ... and at least this many queries
  int64_t min_queries = 100;    // single stream: at least this many timed queries ...
  double min_seconds = 5.0;     // ... and at least this long; offline uses the same time
  // Concrete shapes of inputs with symbolic dims other than the batch (engine::input_types).
  std::map<std::string, Shape> shapes;
};

// Parameters and MACs of the nodes that ran in each precision (engine::describe_plan at batch 1).
struct PrecisionCoverage {
  int64_t params_int8 = 0, params_bf16 = 0, params_f32 = 0;
  int64_t macs_int8 = 0, macs_bf16 = 0, macs_f32 = 0;
  // Of the f32 MACs: a bf16 model's, emulated by f32 kernels on a CPU without native bf16.
  int64_t macs_emulated = 0;
  int64_t params() const { return params_int8 + params_bf16 + params_f32; }
  int64_t macs() const { return macs_int8 + macs_bf16 + macs_f32; }
};

struct BenchResult {
  std::string model;        // file
  int64_t model_bytes = 0;  // size on disk
  int threads = 1;
  double load_seconds = 0;     // parse the ONNX file
  double compile_seconds = 0;  // graph passes and the batch-1 plan
  // Single stream, milliseconds.
  int64_t queries = 0;
  double latency_seconds = 0;  // timed wall time of the single-stream phase
  eval::Summary latency_ms;
  // Offline.
  int64_t offline_batch = 0;
  int64_t offline_runs = 0;
  // How the engine ran the offline batch (engine::Engine::batch_split): sub-batches at once,
  // one thread each (1: the whole batch on one plan), whether each ran its images one at a
  // time, and why the batch was not split where it could have been.
  int offline_streams = 1;
  bool offline_one_at_a_time = false;
  std::string offline_not_split;
  double images_per_second = 0;
  int64_t peak_rss_bytes = 0;
  PrecisionCoverage coverage;
  // Set when part of the model ran in a precision this CPU lacks, emulated ("bf16 emulated: this
  // CPU has no native bf16 ..."): accuracy is that precision's, the timing is not.
  std::string emulation;
  // The distinct kernel implementations of the batch-1 plan ("brgconv:avx512_core_vnni",
  // "jit_uni_int8:avx2, two 7-bit weight halves"), sorted.
  std::vector<std::string> kernels;
  // The file's int8 weights, for runtimes that add u8 x s8 pairs in int16 (quant/saturation.h).
  quant::SaturationRisk saturation;
  double other_cpu_share = 0;  // CPU used by other processes during the timed phases
  std::vector<std::string> warnings;
};

// An Error naming the option when a setting cannot be run (threads, batch, queries, seconds out
// of range, NaN); run_bench and run_compare call it before any work.
void check_options(const BenchOptions& o);

// progress(done, total) in percent of the timed phases.
BenchResult run_bench(const std::string& model_path, const BenchOptions& opts,
                      const std::function<void(int64_t, int64_t)>& progress = {});

// Why the numbers should not be trusted, one sentence each: a build type other than Release or
// RelWithDebInfo, a coefficient of variation over 10%, a bimodal latency distribution, other
// processes using more than 10% of the CPU during the run.
std::vector<std::string> trust_warnings(const std::string& build_type, const eval::Summary& lat,
                                        const eval::Bimodality& modes, double other_cpu_share,
                                        int threads);

}  // namespace qbench::bench
