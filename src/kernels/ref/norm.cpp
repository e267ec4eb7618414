// LayerNormalization (normalizes over dims axis..end) and BatchNormalization (inference mode).
#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

void infer_layer_norm(InferContext& ctx) {
  require_inputs(ctx, 2);
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && ctx.inputs[i].dtype != DType::F32)
      fail_dtype(ctx.node, ctx.inputs[i].dtype, i == 0 ? "X" : (i == 1 ? "Scale" : "B"));
  const Shape& x = ctx.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  if (rank == 0) fail("{}: input X must have rank >= 1", ctx.node.describe());
  const int64_t axis = norm_axis(ctx.node, ctx.node.attr_int("axis", -1), rank);
  Shape norm_shape(x.begin() + axis, x.end());
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    if (!broadcasts_to(ctx.inputs[i].shape, norm_shape))
      fail("{}: {} of shape {} does not broadcast to the normalized shape {}", ctx.node.describe(),
           i == 1 ? "Scale" : "B", shape_str(ctx.inputs[i].shape), shape_str(norm_shape));
  }
  Shape stat = x;
  for (int64_t i = axis; i < rank; ++i) stat[i] = 1;
  ctx.outputs = {{DType::F32, x}};
  for (size_t i = 1; i < ctx.node.outputs.size() && i < 3; ++i)
    ctx.outputs.push_back({DType::F32, stat});
}

void ref_layer_norm(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const int64_t axis = norm_axis(node, node.attr_int("axis", -1), x.rank());
  const float eps = node.attr_float("epsilon", 1e-5f);
  Shape norm_shape(x.shape().begin() + axis, x.shape().end());
  const int64_t n = shape_numel(norm_shape), outer = n ? x.numel() / n : 0;
  Tensor scale = broadcast_to(*inputs[1], norm_shape);
  Tensor bias = inputs.size() > 2 && inputs[2] ? broadcast_to(*inputs[2], norm_shape)
                                               : Tensor(DType::F32, norm_shape);
  const float* xp = x.data<float>();
  const float* sp = scale.data<float>();
  const float* bp = bias.data<float>();
  float* yp = outputs[0]->data<float>();
  float* mean_out = outputs.size() > 1 && outputs[1] ? outputs[1]->data<float>() : nullptr;
  float* inv_out = outputs.size() > 2 && outputs[2] ? outputs[2]->data<float>() : nullptr;
  for (int64_t o = 0; o < outer; ++o) {
    const float* row = xp + o * n;
    double mean = 0;
    for (int64_t i = 0; i < n; ++i) mean += row[i];
    mean /= static_cast<double>(n);
    double var = 0;
    for (int64_t i = 0; i < n; ++i) var += (row[i] - mean) * (row[i] - mean);
    var /= static_cast<double>(n);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < n; ++i)
      yp[o * n + i] = static_cast<float>((row[i] - mean) * inv * sp[i] + bp[i]);
    if (mean_out) mean_out[o] = static_cast<float>(mean);
    if (inv_out) inv_out[o] = static_cast<float>(inv);
  }
}

void infer_batch_norm(InferContext& ctx) {
  require_inputs(ctx, 5);
  for (size_t i = 0; i < 5; ++i)
    if (ctx.inputs[i].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[i].dtype);
  // Before opset 9, spatial=0 gives per-activation statistics; only spatial=1 is supported.
  if (ctx.opset < 9 && ctx.node.attr_int("spatial", 1) != 1)
    fail("{}: spatial=0 is not supported", ctx.node.describe());
  const Shape& x = ctx.inputs[0].shape;
  if (x.size() < 2)
    fail("{}: input X must have rank >= 2 ([N, C, ...]), found {}", ctx.node.describe(),
         shape_str(x));
  for (size_t i = 1; i < 5; ++i)
    if (ctx.inputs[i].shape != Shape{x[1]})
      fail("{}: input {} must have shape [{}] (the channel count), found {}", ctx.node.describe(),
           i, x[1], shape_str(ctx.inputs[i].shape));
  ctx.outputs = {{DType::F32, x}};
  // Old opsets list running/saved statistics as optional outputs; inference passes the running
  // mean and variance through.
  for (size_t i = 1; i < ctx.node.outputs.size(); ++i) ctx.outputs.push_back({DType::F32, {x[1]}});
}

void ref_batch_norm(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  if (node.attr_int("training_mode", 0) != 0) return batch_norm_training(node, inputs, outputs);
  const Tensor& x = *inputs[0];
  const float eps = node.attr_float("epsilon", 1e-5f);
  const int64_t n = x.dim(0), c = x.dim(1), inner = c ? x.numel() / (n * c) : 0;
  const float* xp = x.data<float>();
  const float* scale = inputs[1]->data<float>();
  const float* bias = inputs[2]->data<float>();
  const float* mean = inputs[3]->data<float>();
  const float* var = inputs[4]->data<float>();
  float* yp = outputs[0]->data<float>();
  for (int64_t ch = 0; ch < c; ++ch) {
    const double k = scale[ch] / std::sqrt(static_cast<double>(var[ch]) + eps);
    for (int64_t b = 0; b < n; ++b) {
      const int64_t base = (b * c + ch) * inner;
      for (int64_t i = 0; i < inner; ++i)
        yp[base + i] = static_cast<float>((xp[base + i] - mean[ch]) * k + bias[ch]);
    }
  }
  for (size_t i = 1; i < outputs.size(); ++i)
    if (outputs[i]) std::memcpy(outputs[i]->raw(), inputs[i % 2 ? 3 : 4]->raw(), c * sizeof(float));
}

}  // namespace qbench::kernels::ref
