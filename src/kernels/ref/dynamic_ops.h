#pragma once
// Ops whose output shape depends on input values (NonZero, Unique, Compress, NonMaxSuppression),
// control flow (If, Loop, Scan) and the ops on sequence and optional values. Inference of the
// first group reads the input values, so a graph that feeds them run-time data runs in the
// engine's dynamic mode; the others always do, run by the engine's interpreter
// (engine/interpreter.cpp) rather than by a reference kernel.
#include "kernels/ref/ops.h"

namespace qbench::kernels::ref {

void infer_non_zero(InferContext& ctx);
void ref_non_zero(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                  std::span<Tensor* const> outputs);
void infer_unique(InferContext& ctx);
void ref_unique(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs);
void infer_compress(InferContext& ctx);
void ref_compress(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                  std::span<Tensor* const> outputs);
void infer_non_max_suppression(InferContext& ctx);
void ref_non_max_suppression(const ir::Node& node, int64_t opset,
                             std::span<const Tensor* const> inputs,
                             std::span<Tensor* const> outputs);
// If, Loop, Scan and the ops on sequence and optional values: inference throws
// kernels::DataDependent (the engine's interpreter runs them); the kernel is an Error, reached
// only if something bypasses the engine.
void infer_control_flow(InferContext& ctx);
void ref_control_flow(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                      std::span<Tensor* const> outputs);

}  // namespace qbench::kernels::ref
