#pragma once
// Convolution geometry shared by the f32/bf16 (conv.cpp) and int8 (qconv.cpp) kernels.
#include <string>

#include "kernels/onednn/common.h"

namespace qbench::kernels::onednn {

struct ConvGeometry {
  memory::dims strides, dilates, pad_l, pad_r;
};

// Resolves strides, dilations and explicit or automatic padding of a Conv-like node with input
// x, weights w and inferred output y; checks y against oneDNN's formula.
bool conv_geometry(const ir::Node& n, const Shape& x, const Shape& w, const Shape& y,
                   ConvGeometry& g, std::string& why_not);

// Whether weights [O, I/groups, k1, k2...] have a kernel larger than 1x1.
inline bool spatial_kernel(const Shape& w) {
  for (size_t i = 2; i < w.size(); ++i)
    if (w[i] > 1) return true;
  return false;
}

}  // namespace qbench::kernels::onednn
