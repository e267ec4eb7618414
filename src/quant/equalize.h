#pragma once
// Cross-layer equalization (Nagel et al., "Data-Free Quantization Through Weight Equalization
// and Bias Correction", 2019): for two convolutions in a row, Conv1 -> [Relu | LeakyRelu |
// MaxPool | AveragePool]* -> Conv2 (the ops with OpTraits::scale_equivariant), output channel i
// of Conv1 (weights and bias) is divided by s_i and input channel i of Conv2 multiplied by it,
// with s_i = sqrt(r1_i / r2_i) (r1_i, r2_i the largest |weight| of the channel in each). Those
// ops commute with a positive per-channel scale, so the FP32 function is unchanged up to float
// rounding, while both convolutions end with per-channel ranges sqrt(r1_i * r2_i): one scale
// per weight tensor (per-tensor quantization) then fits every channel far better.
//
// Either convolution may be grouped or depthwise (MobileNet's expand -> depthwise -> project
// triple is two pairs): a grouped Conv2's input channel i is read by the output channels of its
// group only.
//
// A Clip(0, M) (ReLU6) does not commute with a per-channel scale (the bound would become M / s_i
// per channel). With `relu6_to_relu` it is passed anyway and replaced by Relu, as the paper does
// for MobileNetV2: that changes the float function wherever an activation exceeded M, so the
// variant's FP32 model is no longer the original (its accuracy says what that cost).
#include "ir/graph.h"

namespace qbench::quant {

struct EqualizeOptions {
  int iterations = 4;          // sweeps over the graph
  bool relu6_to_relu = false;  // pass Clip(0, M) between the pair, replacing it by Relu
};

struct EqualizeReport {
  int pairs = 0;        // pairs equalized in the last sweep
  int clips_relu = 0;   // Clip(0, M) nodes replaced by Relu
};

// Equalizes every such pair (Conv1's output read by nothing else; constant f32 weights and
// bias each read by its convolution only).
EqualizeReport equalize_cross_layer(ir::Graph& g, const EqualizeOptions& opts = {});

}  // namespace qbench::quant
