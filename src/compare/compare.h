#pragma once
// The comparison harness behind `qbench compare` and `qbench demo`: makes each quantized variant
// of one model, evaluates every variant on the same test images in this process, and times each
// one in a child process (`qbench bench --json`, so peak RSS is the variant's own, not the sum of
// everything before it). Each finished variant is cached under out_dir/cache, keyed by the model
// bytes, the recipe and every setting, so an interrupted run redoes only what is missing.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "data/dataset.h"
#include "ir/graph.h"
#include "report/results.h"

namespace qbench::compare {

struct CompareOptions {
  std::string model;
  std::string data;  // test set spec (eval --data)
  std::vector<std::string> recipes;
  std::string calib_data;  // static-int8: train split of this spec; default: `data`
  int64_t calib_size = 512;
  int64_t limit = 0;  // first N test images (0: all)
  int64_t eval_batch = 64;
  data::ImageOptions image;  // folder datasets: resize and crop (test and calibration images)
  // Normalisation for evaluation and calibration (--mean/--std); default: the model's metadata.
  std::optional<data::Preprocess> preprocess;
  bench::BenchOptions bench;
  std::string out_dir = "qbench-compare-out";
  // The executable that runs `bench --json` for each variant (default: this one).
  std::string bench_exe;
  bool quiet = false;  // no progress lines on stderr (the child's included)
  // Makes the progress callback for a phase ("eval fp32"); none when empty.
  std::function<std::function<void(int64_t, int64_t)>(const std::string&)> progress;
  bool use_cache = true;
  // Other engines to run each variant's file in the same run ("ort"; "torch"), as extra rows
  // marked as peers (compare/peers.cpp). A missing peer is a note saying how to install it.
  std::vector<std::string> peers;
};

report::CompareResults run_compare(const CompareOptions& opts);

// 64-bit FNV-1a of a file's bytes / of a string, as 16 hex digits: the cache key.
std::string fnv1a64_file(const std::string& path);
std::string fnv1a64(const std::string& text);

// Writes `text` to `path` through a temporary file and a rename, so a reader (or a resumed run)
// never sees half a file.
void write_file_atomic(const std::string& path, const std::string& text);

// Creates `dir` (and its parents) for output; an Error when it names a file or cannot be made.
void make_output_dir(const std::string& dir);

// Runs `args` (args[0] an absolute path) with stdout piped back and stderr shared; an Error when
// it cannot start or exits with a non-zero status. The child ends with this process.
std::string run_child(const std::vector<std::string>& args);

// The batch-1 timing of a variant file in a child `bench --json` (the compare settings).
bench::BenchResult time_in_child(const CompareOptions& o, const std::string& exe,
                                 const std::string& file, const std::string& label);

// Adds the rows of the peers named in o.peers (compare/peers.cpp) to `res`, whose variants are
// measured: rounds of the peer's timing interleaved with qbench's, and the peer's accuracy on
// the same images where it can evaluate them.
// `model` is o.model as loaded (its input binding shapes the images written for the peer).
void run_peers(const CompareOptions& o, const ir::Graph& model, const data::Dataset& ds,
               const data::Preprocess& pp, const std::string& exe, report::CompareResults& res);

// Writes results.json, results.csv, report.md and report.html into `dir`.
void write_reports(const report::CompareResults& r, const std::string& dir);

}  // namespace qbench::compare
