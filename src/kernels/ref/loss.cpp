// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (NLL over log_softmax along axis 1),
// with optional class weights, ignore_index and reduction none, sum or mean. Mean divides by
// the summed weights of the targets that were not ignored, as ONNX and PyTorch do.
#include <cmath>
#include <limits>

#include "kernels/ref/dispatch.h"
#include "kernels/ref/ops.h"

namespace qbench::kernels::ref {

namespace {
enum class Reduction { None, Sum, Mean };

Reduction loss_reduction(const ir::Node& node) {
  const std::string r = node.attr_string("reduction", "mean");
  if (r == "none") return Reduction::None;
  if (r == "sum") return Reduction::Sum;
  if (r == "mean") return Reduction::Mean;
  fail("{}: reduction must be none, sum or mean, found '{}'", node.describe(), r);
}

// Checks input [N, C, d1..dk], target [N, d1..dk] and weight [C]; returns the loss shape.
Shape infer_loss(InferContext& ctx, const char* input_name) {
  require_inputs(ctx, 2);
  const TensorType& x = ctx.inputs[0];
  const TensorType& t = ctx.inputs[1];
  if (!is_float_like(x.dtype)) fail_dtype(ctx.node, x.dtype, input_name);
  if (t.dtype != DType::I32 && t.dtype != DType::I64) fail_dtype(ctx.node, t.dtype, "target");
  bool ok = x.shape.size() >= 2 && t.shape.size() == x.shape.size() - 1 && t.shape[0] == x.shape[0];
  for (size_t d = 2; ok && d < x.shape.size(); ++d) ok = t.shape[d - 1] == x.shape[d];
  if (!ok)
    fail("{}: {} must be [N, C, d1..dk] and target [N, d1..dk], found {} and {}",
         ctx.node.describe(), input_name, shape_str(x.shape), shape_str(t.shape));
  if (ctx.has_input(2)) {
    if (ctx.inputs[2].dtype != x.dtype)
      fail("{}: weight dtype {} differs from {} dtype {}", ctx.node.describe(),
           dtype_name(ctx.inputs[2].dtype), input_name, dtype_name(x.dtype));
    if (ctx.inputs[2].shape != Shape{x.shape[1]})
      fail("{}: weight must have shape [{}] (one per class), found {}", ctx.node.describe(),
           x.shape[1], shape_str(ctx.inputs[2].shape));
  }
  return loss_reduction(ctx.node) == Reduction::None ? t.shape : Shape{};
}

// loss = -logp[n, target, d] * weight[target], reduced; logp is [N, C, rest] in double.
void nll(const ir::Node& node, const std::vector<double>& logp, const Shape& shape,
         const Tensor& target, const Tensor* weight, Tensor& out) {
  const int64_t n = shape[0], c = shape[1];
  int64_t rest = 1;
  for (size_t d = 2; d < shape.size(); ++d) rest *= shape[d];
  const std::vector<int64_t> tgt = target.to_int64();
  const int64_t ignore = node.attr_int("ignore_index", std::numeric_limits<int64_t>::min());
  const bool has_ignore = node.has_attr("ignore_index");
  const Reduction red = loss_reduction(node);
  double total = 0, wsum = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = 0; r < rest; ++r) {
      const int64_t i = b * rest + r;
      const int64_t k = tgt[i];
      double loss = 0, w = 0;
      if (!(has_ignore && k == ignore)) {
        if (k < 0 || k >= c)
          fail("{}: target {} at position {} is outside [0, {}) and not ignore_index",
               node.describe(), k, i, c);
        w = weight ? element_as_double(*weight, k) : 1.0;
        loss = -logp[(b * c + k) * rest + r] * w;
      }
      if (red == Reduction::None) store_double(out, i, loss);
      total += loss;
      wsum += w;
    }
  if (red == Reduction::Sum) store_double(out, 0, total);
  if (red == Reduction::Mean) store_double(out, 0, total / wsum);
}

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = element_as_double(t, i);
  return v;
}
}  // namespace

void infer_nll_loss(InferContext& ctx) {
  Shape s = infer_loss(ctx, "input");
  ctx.outputs = {{ctx.inputs[0].dtype, s}};
}

void ref_nll_loss(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                  std::span<Tensor* const> outputs) {
  const Tensor* weight = inputs.size() > 2 ? inputs[2] : nullptr;
  nll(node, as_doubles(*inputs[0]), inputs[0]->shape(), *inputs[1], weight, *outputs[0]);
}

void infer_softmax_cross_entropy(InferContext& ctx) {
  Shape s = infer_loss(ctx, "scores");
  ctx.outputs = {{ctx.inputs[0].dtype, s}};
  if (ctx.node.outputs.size() > 1) ctx.outputs.push_back(ctx.inputs[0]);
}

void ref_softmax_cross_entropy(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                               std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t rest = x.numel() / std::max<int64_t>(n * c, 1);
  // log_softmax over the class axis, in double.
  std::vector<double> logp = as_doubles(x);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = 0; r < rest; ++r) {
      double mx = -INFINITY;
      for (int64_t k = 0; k < c; ++k) mx = std::max(mx, logp[(b * c + k) * rest + r]);
      double s = 0;
      for (int64_t k = 0; k < c; ++k) s += std::exp(logp[(b * c + k) * rest + r] - mx);
      const double lse = mx + std::log(s);
      for (int64_t k = 0; k < c; ++k) logp[(b * c + k) * rest + r] -= lse;
    }
  const Tensor* weight = inputs.size() > 2 ? inputs[2] : nullptr;
  nll(node, logp, x.shape(), *inputs[1], weight, *outputs[0]);
  if (outputs.size() > 1 && outputs[1])
    for (int64_t i = 0; i < x.numel(); ++i) store_double(*outputs[1], i, logp[i]);
}

}  // namespace qbench::kernels::ref
