#pragma once
// ConvTranspose geometry, shared by the reference kernel and the oneDNN deconvolution kernel so
// both resolve output_shape, output_padding and auto_pad the same way.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace qbench::kernels::ref {

struct ConvTransposeGeom {
  int64_t n, c, m, group;  // batch, input channels, output channels, groups
  std::vector<int64_t> in, kernel, strides, dilations, pad_begin, out;
};

// Resolves the geometry of a ConvTranspose node with input shape x and weight shape w; an Error
// naming the node when they are inconsistent.
ConvTransposeGeom conv_transpose_geometry(const ir::Node& node, const Shape& x, const Shape& w);

}  // namespace qbench::kernels::ref
