#pragma once
// NumPy .npy files (format versions 1-3, little-endian, C order) <-> Tensor.
#include <string>

#include "core/tensor.h"

namespace qbench::data {

Tensor load_npy(const std::string& path);
void save_npy(const Tensor& t, const std::string& path);

}  // namespace qbench::data
