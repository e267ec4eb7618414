#pragma once
// Cross-layer equalization (Nagel et al., "Data-Free Quantization Through Weight Equalization
// and Bias Correction", 2019): for two convolutions in a row, Conv1 -> [Relu | LeakyRelu |
// MaxPool | AveragePool]* -> Conv2 (the ops with OpTraits::scale_equivariant), output channel i
// of Conv1 (weights and bias) is divided by s_i and input channel i of Conv2 multiplied by it,
// with s_i = sqrt(r1_i / r2_i) (r1_i, r2_i the largest |weight| of the channel in each). Those
// ops commute with a positive per-channel scale, so the FP32 function is unchanged up to float
// rounding, while both convolutions end with per-channel ranges sqrt(r1_i * r2_i): one scale
// per weight tensor (per-tensor quantization) then fits every channel far better.
#include "ir/graph.h"

namespace qbench::quant {

// Equalizes every such pair (Conv1's output read by nothing else; Conv2 not grouped; constant
// f32 weights), `iterations` sweeps over the graph; returns the pairs equalized in the last one.
int equalize_cross_layer(ir::Graph& g, int iterations = 4);

}  // namespace qbench::quant
