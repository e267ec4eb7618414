#pragma once
// The optimized kernels' table (registry_onednn.cpp): the engine tries these factories, in
// order, before the reference kernel of a node's op (kernel.h). Declared here, in the layer that
// defines it, so the reference layer names nothing it cannot link.
#include <span>

#include "kernels/kernel.h"

namespace qbench::kernels {

struct OptimizedKernelDef {
  const char* op_type;
  const char* name;  // "onednn"
  KernelFactory make;
};

std::span<const OptimizedKernelDef> optimized_kernels();

}  // namespace qbench::kernels
