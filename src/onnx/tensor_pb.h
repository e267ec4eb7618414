#pragma once
// Serialized onnx::TensorProto files (.pb), the format of ONNX's backend test data
// (test_data_set_N/input_K.pb, output_K.pb).
#include <string>

#include "core/tensor.h"

namespace qbench::onnxio {

// Loads one TensorProto file; `name`, when given, receives the tensor's name (may be empty).
// Errors (missing file, not a TensorProto, unsupported data type, data not matching its dims)
// name the file.
Tensor load_tensor_pb(const std::string& path, std::string* name = nullptr);

}  // namespace qbench::onnxio
