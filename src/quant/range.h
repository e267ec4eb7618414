#pragma once
// Range methods: turn an observer's statistics into a clipping range (min, max), and a range
// into a scale and zero point. Every histogram method picks a threshold t on |x| and clips the
// observed range to [max(min, -t), min(max, t)]; min/max keeps the observed range.
#include <cstdint>
#include <string>

#include "quant/observer.h"

namespace qbench::quant {

enum class RangeMethod { MinMax, Percentile, Entropy, Mse };

// "minmax", "percentile", "entropy", "mse"; parse_range_method's Error lists the choices.
const char* range_method_name(RangeMethod m);
RangeMethod parse_range_method(const std::string& s);

struct RangeOptions {
  RangeMethod method = RangeMethod::Mse;
  // Share of |x| kept by the percentile method, in percent.
  double percentile = 99.99;
};

// Activation encodings: asymmetric uint8 (zero point anywhere in [0, 255]) or symmetric int8
// (zero point 0, range [-127, 127] like ONNX Runtime's symmetric activations).
enum class ActType { U8Asymmetric, S8Symmetric };

struct Range {
  float min = 0.0f, max = 0.0f;
};

struct QParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
  bool is_signed = false;  // int8 (true) or uint8
};

// Quantization steps between 0 and the threshold t for a tensor: 255 for a one-sided tensor
// (min >= 0) in uint8, 127.5 for a two-sided one in uint8 ([-t, t] over 255 steps), 127 in
// symmetric int8. Used by entropy (as the number of quantized bins) and MSE (step = t / steps).
double positive_steps(const Observer& obs, ActType act);

// Thresholds on |x| from a histogram (hand-computable; tests check them directly).
// The value below which `percent` % of the values lie (exact zeros included), interpolated
// linearly inside a bin.
double percentile_threshold(const Histogram& h, double percent);
// Entropy and MSE ignore exact zeros (they are represented exactly).
// TensorRT's entropy calibration: the bin edge i * width (i >= quant_bins) minimizing the KL
// divergence between the clipped distribution (outliers folded into the last bin) and its
// quantization into `quant_bins` levels.
double entropy_threshold(const Histogram& h, int quant_bins);
// The bin edge minimizing the expected squared error of quantizing with step t / steps:
// step^2 / 12 for each value inside [0, t], (|x| - t)^2 for each clipped one (bin centres).
double mse_threshold(const Histogram& h, double steps);

Range compute_range(const Observer& obs, const RangeOptions& opts, ActType act);

// Scale and zero point covering `r` (widened to include 0, as ONNX Runtime does):
// uint8: scale = (max - min) / 255, zero point = round(-min / scale);
// int8 symmetric: scale = max(|min|, |max|) / 127, zero point 0. A zero range gets scale 1.
QParams activation_qparams(Range r, ActType act);

}  // namespace qbench::quant
