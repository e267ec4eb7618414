#pragma once
// Accuracy-aware tuning (`qbench tune`): the fastest (or smallest) static-int8 variant whose top-1
// drop from FP32 stays within a target, found by measuring. On a seeded tuning split of the test
// set:
//  1. the whole model in int8 with each range method asked for; if one meets the target, done;
//  1b. else the whole model in int8 after cross-layer equalization (through ReLU6, replaced by
//     Relu: quant/equalize.h), which rescues per-tensor weights on MobileNet-style models;
//  2. else each quantized node kept out of int8 on its own, ranked by how close the logits come
//     back to FP32's (SQNR), then nodes kept float cumulatively in that order until the target is
//     met;
//  3. where the CPU computes bf16 natively, the same nodes in bf16 instead of f32.
// Every configuration's top-1 and batch-1 latency are measured on the engine, recorded in the
// trace, and the choice is checked again on the test images the tuning did not see.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "ir/graph.h"
#include "quant/recipes.h"

namespace qbench::compare {

enum class TuneObjective { Latency, Size };

struct TuneOptions {
  quant::QuantizeOptions quant;  // static-int8 and its calibration (a --calib-table is kept)
  std::vector<quant::RangeMethod> ranges{quant::RangeMethod::Mse};
  std::string data;  // test set spec: its TEST split gives the tuning and held-out images
  data::ImageOptions image;
  std::optional<data::Preprocess> preprocess;
  int64_t tune_images = 2000;  // seeded sample; the rest of the test split is held out
  uint32_t seed = 20240601;
  int64_t batch = 64;
  int threads = 1;
  double max_drop = 0.5;  // top-1 points (absolute) or percent of FP32's top-1 (relative)
  bool relative = false;
  TuneObjective objective = TuneObjective::Latency;
  double time_budget = 600;  // seconds; the best configuration so far is kept when it runs out
  bool bf16 = true;          // try bf16 for the nodes kept out of int8 where bf16 is native
  bool equalize = true;      // try stage 1b (unless quant.equalize already applies to all)
  // Batch-1 latency of each configuration, timed interleaved with FP32 in rounds: at least this
  // many runs of each, lasting at least this long.
  int latency_runs = 50;
  double latency_seconds = 0.5;
  std::function<void(const std::string&)> progress;
};

struct TuneTrial {
  std::string stage;  // "int8", "equalize", "rank", "greedy", "bf16"
  std::string range;  // range method
  bool equalized = false;  // cross-layer equalization (through ReLU6) before quantizing
  std::vector<std::string> float_nodes, bf16_nodes;
  double top1 = 0, drop_points = 0, logits_sqnr = 0, latency_ms = 0;
  int64_t bytes = 0;
  bool meets = false;
};

struct TuneResult {
  std::string model, dataset;
  int64_t tune_images = 0, holdout_images = 0;
  double target_points = 0;  // the allowed drop in top-1 points
  double fp32_top1 = 0, fp32_latency_ms = 0;
  int64_t fp32_bytes = 0;
  std::vector<TuneTrial> trials;
  int chosen = -1;  // index into trials
  bool met = false;
  std::vector<std::string> notes;  // budget exhausted, bf16 not native, ...
  double holdout_fp32_top1 = 0, holdout_top1 = 0;
  ir::Graph graph;          // the chosen model
  std::string calib_table;  // the table the chosen model was quantized with
  double seconds = 0;
};

TuneResult tune(const ir::Graph& model, const std::string& model_name, const TuneOptions& opts);

void print_tune(const TuneResult& r);
nlohmann::json to_json(const TuneResult& r);  // the trace

}  // namespace qbench::compare
