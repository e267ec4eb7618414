#pragma once
// The options that say how to quantize (recipe details, calibration), shared by `quantize` and
// `debug`.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "quant/recipes.h"

namespace qbench::cli {

struct QuantizeArgs {
  std::string model, out, recipe;
  std::vector<std::string> exclude;
  bool per_tensor = false;
  bool dynamic_conv = false;
  bool reduce_range = false;
  bool equalize = false;
  bool relu6_to_relu = false;
  bool bias_correct = false;
  bool smooth_quant = false;
  float smooth_alpha = 0.5f;
  std::string calib_data;
  std::string mean, std;
  data::ImageOptions image;
  int64_t calib_size = 512;
  int64_t calib_batch = 64;
  uint32_t calib_seed = 20240601;
  std::string range = "mse";
  double percentile = 99.99;
  int bins = 2048;
  std::string activations = "u8";
  int64_t group_size = -1;
  std::string calib_table, save_calib_table;
  int threads = 1;
  std::vector<std::string> shapes;
};

// The typed options, checked (an Error names the bad flag).
quant::QuantizeOptions options_of(const QuantizeArgs& a);

// Registers every option of QuantizeArgs but --model, --recipe and --out; with static_only,
// also not those of the other recipes (--dynamic-conv, --group-size).
void add_quantize_options(CLI::App* c, QuantizeArgs& a, bool static_only = false);

}  // namespace qbench::cli
