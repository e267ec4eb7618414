// InstanceNormalization, LRN, MeanVarianceNormalization and PRelu.
#include <algorithm>
#include <cmath>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
void require_f32(const InferContext& ctx) {
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && ctx.inputs[i].dtype != DType::F32)
      fail_dtype(ctx.node, ctx.inputs[i].dtype);
}

void require_nc(const InferContext& ctx, size_t min_rank) {
  const Shape& x = ctx.inputs[0].shape;
  if (x.size() < min_rank)
    fail("{}: input must have rank >= {} ([N, C, ...]), found shape {}", ctx.node.describe(),
         min_rank, shape_str(x));
}
}  // namespace

void infer_instance_norm(InferContext& ctx) {
  require_inputs(ctx, 3);
  require_f32(ctx);
  require_nc(ctx, 3);
  const Shape& x = ctx.inputs[0].shape;
  for (size_t i = 1; i < 3; ++i)
    if (ctx.inputs[i].shape != Shape{x[1]})
      fail("{}: {} must have shape [{}], found {}", ctx.node.describe(), i == 1 ? "scale" : "B",
           x[1], shape_str(ctx.inputs[i].shape));
  ctx.outputs = {{DType::F32, x}};
}

void ref_instance_norm(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                       std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const float eps = node.attr_float("epsilon", 1e-5f);
  const int64_t c = x.dim(1), planes = x.dim(0) * c;
  const int64_t size = planes ? x.numel() / planes : 0;
  const float* scale = inputs[1]->data<float>();
  const float* bias = inputs[2]->data<float>();
  const float* xp = x.data<float>();
  float* yp = outputs[0]->data<float>();
  for (int64_t p = 0; p < planes; ++p) {
    const float* row = xp + p * size;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < size; ++i) mean += row[i];
    mean /= static_cast<double>(size);
    for (int64_t i = 0; i < size; ++i) var += (row[i] - mean) * (row[i] - mean);
    var /= static_cast<double>(size);
    const double k = scale[p % c] / std::sqrt(var + eps);
    for (int64_t i = 0; i < size; ++i)
      yp[p * size + i] = static_cast<float>((row[i] - mean) * k + bias[p % c]);
  }
}

void infer_lrn(InferContext& ctx) {
  require_inputs(ctx, 1);
  require_f32(ctx);
  require_nc(ctx, 2);
  if (ctx.node.attr_int("size", 0) <= 0)
    fail("{}: attribute size must be a positive integer", ctx.node.describe());
  ctx.outputs = {{DType::F32, ctx.inputs[0].shape}};
}

void ref_lrn(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const double alpha = node.attr_float("alpha", 1e-4f), beta = node.attr_float("beta", 0.75f);
  const double bias = node.attr_float("bias", 1.0f);
  const int64_t size = node.attr_int("size", 1);
  const int64_t n = x.dim(0), c = x.dim(1), inner = n * c > 0 ? x.numel() / (n * c) : 0;
  // The window over channels: floor((size-1)/2) before, ceil((size-1)/2) after.
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  const float* xp = x.data<float>();
  float* yp = outputs[0]->data<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < inner; ++i) {
        double sq = 0;
        for (int64_t k = std::max<int64_t>(0, ch - before); k <= std::min(c - 1, ch + after); ++k) {
          const double v = xp[(b * c + k) * inner + i];
          sq += v * v;
        }
        const int64_t at = (b * c + ch) * inner + i;
        yp[at] = static_cast<float>(xp[at] / std::pow(bias + alpha / size * sq, beta));
      }
}

void infer_mvn(InferContext& ctx) {
  require_inputs(ctx, 1);
  require_f32(ctx);
  const int64_t rank = static_cast<int64_t>(ctx.inputs[0].shape.size());
  for (int64_t a : ctx.node.attr_ints("axes", {0, 2, 3})) norm_axis(ctx.node, a, rank, "axes");
  ctx.outputs = {{DType::F32, ctx.inputs[0].shape}};
}

void ref_mvn(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const int64_t rank = x.rank();
  std::vector<bool> reduced(rank, false);
  for (int64_t a : node.attr_ints("axes", {0, 2, 3}))
    reduced[norm_axis(node, a, rank, "axes")] = true;
  // Statistics per kept-axes index; ONNX's function body: (X - E[X]) / (sqrt(E[X^2] - E[X]^2)
  // + 1e-9).
  Shape stat = x.shape();
  for (int64_t a = 0; a < rank; ++a)
    if (reduced[a]) stat[a] = 1;
  const std::vector<int64_t> ss = broadcast_strides(stat, x.shape());
  const int64_t ns = shape_numel(stat);
  std::vector<double> sum(ns, 0), sq(ns, 0);
  std::vector<int64_t> cnt(ns, 0);
  const float* xp = x.data<float>();
  float* yp = outputs[0]->data<float>();
  for_each_strided<1>(x.shape(), {ss}, nullptr, [&](int64_t i, const int64_t* off) {
    sum[off[0]] += xp[i];
    sq[off[0]] += static_cast<double>(xp[i]) * xp[i];
    cnt[off[0]]++;
  });
  for_each_strided<1>(x.shape(), {ss}, nullptr, [&](int64_t i, const int64_t* off) {
    const double n = static_cast<double>(cnt[off[0]]);
    const double mean = sum[off[0]] / n;
    const double var = std::max(0.0, sq[off[0]] / n - mean * mean);
    yp[i] = static_cast<float>((xp[i] - mean) / (std::sqrt(var) + 1e-9));
  });
}

void batch_norm_training(const ir::Node& node, std::span<const Tensor* const> inputs,
                         std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const double eps = node.attr_float("epsilon", 1e-5f),
               momentum = node.attr_float("momentum", 0.9f);
  const int64_t n = x.dim(0), c = x.dim(1), inner = n * c > 0 ? x.numel() / (n * c) : 0;
  const float* xp = x.data<float>();
  const float* scale = inputs[1]->data<float>();
  const float* bias = inputs[2]->data<float>();
  const float* run_mean = inputs[3]->data<float>();
  const float* run_var = inputs[4]->data<float>();
  float* yp = outputs[0]->data<float>();
  auto out = [&](size_t i) {
    return i < outputs.size() && outputs[i] ? outputs[i]->data<float>() : nullptr;
  };
  for (int64_t ch = 0; ch < c; ++ch) {
    // Batch statistics over N and the spatial dims; the variance is the biased (population) one.
    double mean = 0, var = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) mean += xp[(b * c + ch) * inner + i];
    mean /= static_cast<double>(n * inner);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) {
        const double d = xp[(b * c + ch) * inner + i] - mean;
        var += d * d;
      }
    var /= static_cast<double>(n * inner);
    const double k = scale[ch] / std::sqrt(var + eps);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t at = (b * c + ch) * inner + i;
        yp[at] = static_cast<float>((xp[at] - mean) * k + bias[ch]);
      }
    if (float* m = out(1))
      m[ch] = static_cast<float>(run_mean[ch] * momentum + mean * (1 - momentum));
    if (float* v = out(2))
      v[ch] = static_cast<float>(run_var[ch] * momentum + var * (1 - momentum));
  }
}

namespace {
// PRelu's slope as a tensor of X's shape: numpy-style broadcast (opset 7+), or, for older
// models, a per-channel slope of shape [C] against X of shape [N, C, ...].
Shape prelu_slope_shape(const ir::Node& node, const Shape& x, const Shape& slope) {
  if (broadcasts_to(slope, x)) return slope;
  if (x.size() >= 2 && shape_numel(slope) == x[1] && slope.size() <= x.size() - 1) {
    Shape s(x.size() - 1, 1);
    s[0] = x[1];
    return s;
  }
  fail("{}: slope of shape {} does not broadcast to X of shape {}", node.describe(),
       shape_str(slope), shape_str(x));
}
}  // namespace

void infer_prelu(InferContext& ctx) {
  require_inputs(ctx, 2);
  require_f32(ctx);
  prelu_slope_shape(ctx.node, ctx.inputs[0].shape, ctx.inputs[1].shape);
  ctx.outputs = {{DType::F32, ctx.inputs[0].shape}};
}

void ref_prelu(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const Shape s = prelu_slope_shape(node, x.shape(), inputs[1]->shape());
  const float* xp = x.data<float>();
  const float* sp = inputs[1]->data<float>();
  float* yp = outputs[0]->data<float>();
  for_each_broadcast<1>(x.shape(), {s}, [&](int64_t i, const int64_t* off) {
    yp[i] = xp[i] < 0 ? xp[i] * sp[off[0]] : xp[i];
  });
}

}  // namespace qbench::kernels::ref
