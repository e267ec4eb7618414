#pragma once
// Resize's per-axis interpolation taps, shared by the reference kernel and the oneDNN resampling
// kernel (which runs a Resize only where its own taps are the same).
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"

namespace qbench::kernels::ref {

// The input taps of one output index on one axis. `outside` marks a tf_crop_and_resize
// coordinate outside the input, whose output is extrapolation_value.
struct ResizeTaps {
  int64_t idx[4] = {0, 0, 0, 0};
  float w[4] = {0, 0, 0, 0};
  int n = 0;
  bool outside = false;
};

struct ResizePlan {
  enum Mode { Nearest, Linear, Cubic } mode;
  Shape out;
  std::vector<std::vector<ResizeTaps>> taps;  // per axis of X, one entry per output index
};

// Resolves a Resize or Upsample node (scales, sizes and roi must be constant in `ctx`).
ResizePlan resize_plan(const InferContext& ctx);

}  // namespace qbench::kernels::ref
