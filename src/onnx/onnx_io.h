#pragma once
// ONNX <-> ir::Graph. Loading is faithful (Constant nodes stay nodes, value_info shapes are kept);
// passes do the rewriting. Saving writes a standard ONNX file other runtimes load.
#include <string>

#include "ir/graph.h"

namespace qbench::onnxio {

// Loads an ONNX model file. Every problem (missing file, not ONNX, truncated protobuf,
// initializer data not matching its dims, unknown data type) is an Error naming the file.
ir::Graph load_model(const std::string& path);
// Same, from serialized bytes; `origin` names the source in errors.
ir::Graph load_model_from_bytes(const std::string& bytes, const std::string& origin,
                                const std::string& base_dir = ".");
// Serialized model; fused activations are written back as their own nodes.
std::string serialize_model(const ir::Graph& g);
void save_model(const ir::Graph& g, const std::string& path);

}  // namespace qbench::onnxio
