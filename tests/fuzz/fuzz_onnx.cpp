// ONNX loader, graph validation and shape inference: bytes -> load_model_from_bytes ->
// infer_shapes (which compiles the engine's plan for two batch sizes and folds constants).
#include "engine/engine.h"
#include "fuzz_common.h"
#include "onnx/onnx_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return qbench::fuzz::run(data, size, [](const std::string& bytes) {
    qbench::ir::Graph g =
        qbench::onnxio::load_model_from_bytes(bytes, "fuzz.onnx", "/nonexistent-fuzz-dir");
    qbench::engine::infer_shapes(g);
  });
}
