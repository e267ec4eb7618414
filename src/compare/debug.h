#pragma once
// Quantization debugging (`qbench debug`): which layer of a static-int8 model loses the accuracy,
// and why. For every quantized node, on a seeded sample of the test set:
//  - the SQNR of its weights, and of its output activation both against its own
//    fake-quantization (the range and rounding chosen for that tensor alone) and inside the
//    quantized model (everything before it quantized too), with the share of FP32 values the
//    range clips;
//  - sensitivity: the logits' SQNR and top-1 when only that node is quantized, and top-1 when
//    every node but it is quantized (what keeping it in float buys);
//  - the error the optimized int8 kernels add beyond the quantization itself: the quantized
//    outputs of the compiled plan against the reference kernels on the QDQ model as written, in
//    quantization steps (0 when the kernels are exact).
// Layers are ranked worst first by the isolated sensitivity (by their own SQNR without it).
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "ir/graph.h"
#include "quant/recipes.h"

namespace qbench::compare {

struct DebugOptions {
  quant::QuantizeOptions quant;  // a static-int8 recipe and its calibration
  std::string data;              // test set spec (its TEST split is sampled)
  data::ImageOptions image;
  std::optional<data::Preprocess> preprocess;  // default: the model's own
  int64_t images = 256;                        // sampled with `seed`, all when the set is smaller
  uint32_t seed = 20240601;
  int64_t batch = 64;
  int threads = 1;
  bool sensitivity = true;    // quantize and evaluate two variants per layer
  int64_t kernel_images = 8;  // images for the kernel check (the reference kernels are slow)
  std::function<void(const std::string&)> progress;  // one line per step; none when empty
};

inline constexpr double kNoError = std::numeric_limits<double>::infinity();

// Signal-to-quantization-noise ratio in dB, 10 log10(sum x^2 / sum (x - y)^2), accumulated over
// batches; kNoError when y equals x exactly.
struct Sqnr {
  double signal = 0, noise = 0;
  void add(const float* x, const float* y, int64_t n);
  double db() const;
};

struct LayerDebug {
  std::string name, op_type;
  std::string tensor;  // the activation carrying its quantized output ("" if none)
  // The tensor whose range `tensor` shares (data movement keeps its input's scale), "" if its own.
  std::string range_source;
  double weight_sqnr = std::numeric_limits<double>::quiet_NaN();  // dB, NaN: no int8 weight
  double own_sqnr = std::numeric_limits<double>::quiet_NaN();     // dB, output vs own fake-quant
  double model_sqnr = std::numeric_limits<double>::quiet_NaN();   // dB, output in quantized model
  float min = 0, max = 0;                                         // FP32 output range on the sample
  float qmin = 0, qmax = 0;  // the range its quantization represents
  double clipped = 0;        // share of FP32 output values outside [qmin, qmax] (by half a step)
  double only_sqnr = std::numeric_limits<double>::quiet_NaN();  // dB, logits, only it quantized
  double only_top1 = std::numeric_limits<double>::quiet_NaN();
  double float_top1 = std::numeric_limits<double>::quiet_NaN();  // every node but it quantized
  std::string sensitivity_note;  // why sensitivity is missing, if it is
  int64_t kernel_values = 0, kernel_mismatches = 0, kernel_max_steps = 0;
};

struct DebugReport {
  std::string model, recipe, dataset, calib_source;
  int64_t images = 0, kernel_images = 0;
  double fp32_top1 = 0, quant_top1 = 0;
  double logits_sqnr = 0;          // dB, the whole quantized model's logits
  std::string ranked_by;           // "only_sqnr" or "own_sqnr"
  std::vector<LayerDebug> layers;  // worst first
  std::vector<std::string> notes;
  double seconds = 0;
};

DebugReport debug_quantization(const ir::Graph& model, const std::string& model_name,
                               const DebugOptions& opts);

// Console table (worst first, at most `rows` layers; 0 = all).
void print_debug(const DebugReport& r, size_t rows = 0);
nlohmann::json to_json(const DebugReport& r);
// A self-contained HTML page: the summary, a bar chart of the sensitivity and the ranked table.
std::string debug_html(const DebugReport& r);

}  // namespace qbench::compare
