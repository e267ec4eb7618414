#pragma once
// NumPy .npy files (format versions 1-3, little-endian, C order) <-> Tensor.
#include <string>

#include "core/tensor.h"

namespace qbench::data {

Tensor load_npy(const std::string& path);
// The same from the file's bytes; `name` appears in errors (the fuzz target's entry point).
Tensor parse_npy(const std::string& bytes, const std::string& name);
void save_npy(const Tensor& t, const std::string& path);

}  // namespace qbench::data
