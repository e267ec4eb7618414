#pragma once
// Helpers shared by the reference kernels: axis handling, broadcasting, dtype dispatch, and the
// scalar activation functions used both by the unary ops and by fused activations.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "kernels/kernel.h"

namespace qbench::kernels::ref {

// Normalizes a possibly negative axis into [0, rank); an Error naming the node otherwise.
int64_t norm_axis(const ir::Node& node, int64_t axis, int64_t rank, const char* what = "axis");

// Row-major strides of a shape (in elements).
std::vector<int64_t> strides_of(const Shape& s);

// Multidirectional (numpy) broadcast of several shapes; an Error naming the node when the
// shapes are incompatible.
Shape broadcast_shapes(const ir::Node& node, const std::vector<Shape>& shapes);

// True when `from` broadcasts to exactly `to` (unidirectional broadcasting).
bool broadcasts_to(const Shape& from, const Shape& to);

// Strides that read `in` (right-aligned) as if it had shape `out`: 0 on broadcast dimensions.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Copies `in` broadcast to shape `out` (any dtype; shapes must be compatible).
Tensor broadcast_to(const Tensor& in, const Shape& out);

// Calls f(out_index, offsets) for every element of shape `out`, where offsets[k] =
// base[k] + sum(index[d] * strides[k][d]) walks input k.
template <size_t N, typename F>
void for_each_strided(const Shape& out, const std::vector<std::vector<int64_t>>& strides,
                      const int64_t* base, F&& f) {
  const int64_t total = shape_numel(out);
  if (total == 0) return;
  const int r = static_cast<int>(out.size());
  std::vector<int64_t> idx(r, 0);
  int64_t off[N];
  for (size_t k = 0; k < N; ++k) off[k] = base ? base[k] : 0;
  for (int64_t i = 0; i < total; ++i) {
    f(i, static_cast<const int64_t*>(off));
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) {
        for (size_t k = 0; k < N; ++k) off[k] += strides[k][d];
        break;
      }
      for (size_t k = 0; k < N; ++k) off[k] -= strides[k][d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

// Calls f(out_index, offsets) for every element of `out`, where offsets[k] is the element
// offset into input k (shape ins[k]) broadcast to `out`.
template <size_t N, typename F>
void for_each_broadcast(const Shape& out, const std::vector<Shape>& ins, F&& f) {
  bool all_same = true;
  for (size_t k = 0; k < N; ++k) all_same = all_same && ins[k] == out;
  if (all_same) {
    const int64_t total = shape_numel(out);
    int64_t off[N];
    for (int64_t i = 0; i < total; ++i) {
      for (size_t k = 0; k < N; ++k) off[k] = i;
      f(i, static_cast<const int64_t*>(off));
    }
    return;
  }
  std::vector<std::vector<int64_t>> st(N);
  for (size_t k = 0; k < N; ++k) st[k] = broadcast_strides(ins[k], out);
  for_each_strided<N>(out, st, nullptr, f);
}

// An inference context over concrete input tensors, so a reference kernel can re-derive
// parameters (slice bounds, pads, axes) with the same code its infer function uses.
InferContext context_of(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs);

// Error for a dtype an op does not handle.
[[noreturn]] void fail_dtype(const ir::Node& node, DType t, const char* what = "input");

// Checks that an input is present, with a message naming the node.
void require_input(const InferContext& ctx, size_t i, const char* what);
void require_inputs(const InferContext& ctx, size_t n);

// Reads element i of any numeric tensor as double / int64 (for scalars and small inputs).
double element_as_double(const Tensor& t, int64_t i);
// Writes v converted to the tensor's dtype at element i.
void store_double(Tensor& t, int64_t i, double v);

// Axes from attribute (opset < `input_since`) or from input `input_index` (later opsets).
// `present` tells whether any axes were given.
std::vector<int64_t> axes_attr_or_input(const InferContext& ctx, int64_t input_since,
                                        size_t input_index, bool& present);

// Computes output spatial size and begin/end pads of a sliding window (Conv, pools) following
// ONNX's auto_pad / pads attributes. ceil_mode follows PyTorch: the last window must start
// inside the input or left padding.
struct WindowGeom {
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end, out;
};
WindowGeom window_geometry(const ir::Node& node, const Shape& in_spatial,
                           const std::vector<int64_t>& kernel, bool ceil_mode);

// Dense float matmul C[M,N] = A[M,K] * B[K,N], accumulated in double.
void matmul_f32(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n);

// Scalar activations (shared by unary ops and fused activations).
inline float act_relu(float x) {
  return x < 0 ? 0.0f : x;
}
inline float act_sigmoid(float x) {
  return x >= 0 ? 1.0f / (1.0f + std::exp(-x)) : std::exp(x) / (1.0f + std::exp(x));
}
inline float act_hard_sigmoid(float x, float alpha, float beta) {
  return std::fmax(0.0f, std::fmin(1.0f, alpha * x + beta));
}
inline float act_hard_swish(float x) {
  return x * act_hard_sigmoid(x, 1.0f / 6.0f, 0.5f);
}
inline float act_leaky_relu(float x, float alpha) {
  return x >= 0 ? x : alpha * x;
}
inline float act_gelu(float x, bool tanh_approx) {
  double v = x;
  if (tanh_approx) {
    const double k = std::sqrt(2.0 / M_PI);
    return static_cast<float>(0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))));
  }
  return static_cast<float>(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))));
}
inline float act_clip(float x, float lo, float hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

}  // namespace qbench::kernels::ref
