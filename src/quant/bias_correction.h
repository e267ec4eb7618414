#pragma once
// Bias correction (Nagel et al., "Data-Free Quantization Through Weight Equalization and Bias
// Correction", 2019, section 4.2): quantizing a layer's weights W to W_q shifts its expected
// output by (W_q - W) E[x], the same for every input on average, so the next layers see a
// biased signal (large where per-tensor weights round whole channels towards zero). Subtracting
// that shift from the layer's bias removes it. The paper derives E[x] from the BatchNorm before
// the layer; here it is measured: each quantized Conv and Gemm input's per-channel mean over the
// calibration images (the FP32 model's, as for the ranges).
#include <string>

#include "ir/graph.h"
#include "quant/calibrate.h"
#include "quant/qdq.h"

namespace qbench::quant {

struct BiasCorrectionReport {
  int layers = 0;           // Conv/Gemm nodes whose bias changed
  int added_biases = 0;     // of those, the ones that had no bias
  double largest_shift = 0;  // the largest |correction| / (largest |bias| of its layer, or 1)
  std::string worst_layer;  // where it was
};

// Corrects the bias of every Conv and Gemm the plan quantizes with constant weights, as
// insert_qdq will quantize them (per channel or per tensor, `weight_qmax`). A Conv without a
// bias gets one; a Gemm gets one when beta is 1 and it has none. Weights and biases shared by
// several nodes are copied, not changed for all. Re-plan after this (the new biases join it).
BiasCorrectionReport correct_biases(ir::Graph& g, const QdqPlan& plan, int weight_qmax,
                                    const CalibOptions& calib);

}  // namespace qbench::quant
