// Softmax and LogSoftmax. Before opset 13 the input is coerced to 2-D at `axis` (default 1) and
// normalized over everything from axis on; from 13 on, over the single `axis` (default -1).
#include <algorithm>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
struct SoftmaxDims {
  int64_t outer, n, inner;
};

SoftmaxDims softmax_dims(const ir::Node& node, int64_t opset, const Shape& s) {
  const int64_t rank = static_cast<int64_t>(s.size());
  const bool coerce = opset < 13;
  if (rank == 0) return {1, 1, 1};
  const int64_t axis = norm_axis(node, node.attr_int("axis", coerce ? 1 : -1), rank);
  SoftmaxDims d{1, 1, 1};
  for (int64_t i = 0; i < axis; ++i) d.outer *= s[i];
  if (coerce) {
    for (int64_t i = axis; i < rank; ++i) d.n *= s[i];
  } else {
    d.n = s[axis];
    for (int64_t i = axis + 1; i < rank; ++i) d.inner *= s[i];
  }
  return d;
}

void softmax_impl(const ir::Node& node, int64_t opset, const Tensor& x, Tensor& y, bool log) {
  SoftmaxDims d = softmax_dims(node, opset, x.shape());
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  for (int64_t o = 0; o < d.outer; ++o) {
    for (int64_t in = 0; in < d.inner; ++in) {
      const int64_t base = o * d.n * d.inner + in;
      float m = -INFINITY;
      for (int64_t i = 0; i < d.n; ++i) m = std::max(m, xp[base + i * d.inner]);
      double sum = 0;
      for (int64_t i = 0; i < d.n; ++i)
        sum += std::exp(static_cast<double>(xp[base + i * d.inner]) - m);
      const double log_sum = std::log(sum);
      for (int64_t i = 0; i < d.n; ++i) {
        const double v = static_cast<double>(xp[base + i * d.inner]) - m;
        yp[base + i * d.inner] = static_cast<float>(log ? v - log_sum : std::exp(v) / sum);
      }
    }
  }
}
}  // namespace

void infer_softmax(InferContext& ctx) {
  require_inputs(ctx, 1);
  if (ctx.inputs[0].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[0].dtype);
  softmax_dims(ctx.node, ctx.opset, ctx.inputs[0].shape);  // validates axis
  ctx.outputs = {ctx.inputs[0]};
}

void ref_softmax(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                 std::span<Tensor* const> outputs) {
  softmax_impl(node, opset, *inputs[0], *outputs[0], false);
}

void ref_log_softmax(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                     std::span<Tensor* const> outputs) {
  softmax_impl(node, opset, *inputs[0], *outputs[0], true);
}

}  // namespace qbench::kernels::ref
