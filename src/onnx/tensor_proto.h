#pragma once
// Internal to src/onnx: the one TensorProto -> Tensor conversion, shared by the model loader
// (initializers, attribute tensors) and the loader of serialized tensor files (tensor_pb.h).
#include <onnx/onnx_pb.h>

#include <string>

#include "core/tensor.h"

namespace qbench::onnxio::detail {

// Reads a whole file; errors name it as a `what` file ("model", "external data").
std::string read_file(const std::string& path, const char* what);

// Converts a TensorProto (typed fields, raw_data or external data resolved against `base_dir`).
// Errors name the tensor as `role` ("initializer") in `origin` (the file it came from).
Tensor tensor_from_proto(const onnx::TensorProto& tp, const std::string& origin,
                         const std::string& base_dir, const char* role);

}  // namespace qbench::onnxio::detail
