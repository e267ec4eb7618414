#pragma once
// What an int8 file risks in a runtime that adds u8 x s8 products in pairs in int16 (vpmaddubsw:
// oneDNN and ONNX Runtime's u8s8 kernels on CPUs without VNNI, i.e. AVX2 and plain AVX-512). A
// pair of adjacent weights along the reduction axis overflows int16 when both have the same sign
// and 255 * (|w1| + |w2|) > 32767, i.e. |w1| + |w2| > 128 (activations are uint8, or int8 shifted
// to uint8, so 255 is their worst case). A file with such pairs gives wrong results there unless
// the runtime works around it (qbench splits those weights in two halves; ONNX Runtime and
// OpenVINO recommend reduce-range 7-bit weights, qbench's static-int8-rr).
#include <cstdint>
#include <string>

#include "ir/graph.h"

namespace qbench::quant {

struct SaturationRisk {
  int64_t layers = 0;          // Conv/MatMul/Gemm layers with constant int8 weights
  int64_t layers_at_risk = 0;  // ... with at least one overflowing pair
  int64_t pairs = 0;           // adjacent weight pairs along the reduction axis
  int64_t pairs_at_risk = 0;
  double pair_share() const { return pairs ? double(pairs_at_risk) / double(pairs) : 0.0; }
  // "4.2% of weight pairs, 12 of 12 int8 layers"; "none" without a risky pair; "-" without
  // int8 weights.
  std::string summary() const;
};

// Scans every Conv, MatMul and Gemm whose activation comes from a DequantizeLinear and whose
// weight is a DequantizeLinear of a constant int8 tensor (QDQ; weight-only files compute in float
// and have no such pairs), and every QLinearConv, QLinearMatMul, ConvInteger and MatMulInteger
// with a constant int8 weight. Pairs are (2j, 2j+1) along the reduction axis: input channels at the
// same kernel tap for convolutions (the channels-last order these kernels pack), rows of B for
// matmuls.
SaturationRisk saturation_risk(const ir::Graph& g);

}  // namespace qbench::quant
