#pragma once
// SmoothQuant (Xiao et al., "SmoothQuant: Accurate and Efficient Post-Training Quantization for
// Large Language Models", 2023): a transformer's MatMul inputs have a few channels far larger
// than the rest, so one activation scale per tensor rounds the others coarsely, while the
// weights are easy. Dividing input channel k by s_k and multiplying weight row k by it leaves
// X W unchanged and moves the difficulty to the weights: s_k = max|X_k|^alpha /
// max|W_k|^(1 - alpha), max|X_k| measured on the calibration images. The division is folded
// into the LayerNormalization that makes X (its scale and bias divided by s), so no op is added.
#include <string>

#include "ir/graph.h"
#include "quant/calibrate.h"

namespace qbench::quant {

struct SmoothQuantReport {
  int pairs = 0;             // LayerNormalization -> MatMul(s) smoothed
  double largest_ratio = 0;  // before: the largest max|X_k| / median max|X_k| of any of them
  std::string worst;         // its LayerNormalization
};

// Smooths every LayerNormalization (last axis, constant scale and bias) whose output only
// MatMul/Gemm nodes read, as their input A, with constant 2-D weights (B [K, N], or Gemm's
// transB [N, K]); all of them share s. Scales, biases and weights are copied, not changed for
// other readers. `alpha` in [0, 1].
SmoothQuantReport smooth_quant(ir::Graph& g, const CalibOptions& calib, float alpha = 0.5f);

}  // namespace qbench::quant
