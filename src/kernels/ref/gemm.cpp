// Gemm: Y = alpha * A' * B' + beta * C, with optional transposes and C broadcast to [M, N].
#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
struct GemmDims {
  int64_t m, k, n;
};

GemmDims gemm_dims(const ir::Node& node, const Shape& a, const Shape& b) {
  if (a.size() != 2 || b.size() != 2)
    fail("{}: A and B must be 2-D, found {} and {}", node.describe(), shape_str(a), shape_str(b));
  const bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  GemmDims d{ta ? a[1] : a[0], ta ? a[0] : a[1], tb ? b[0] : b[1]};
  const int64_t kb = tb ? b[1] : b[0];
  if (kb != d.k)
    fail("{}: inner dimensions differ: A{} gives K={} but B{} gives K={} (transA={}, transB={})",
         node.describe(), shape_str(a), d.k, shape_str(b), kb, ta, tb);
  return d;
}

// Copies a 2-D matrix into row-major [rows, cols] form, transposing when asked.
std::vector<float> as_rows(const Tensor& t, bool trans) {
  const float* p = t.data<float>();
  const int64_t r = t.dim(0), c = t.dim(1);
  std::vector<float> out(p, p + r * c);
  if (!trans) return out;
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) out[j * r + i] = p[i * c + j];
  return out;
}
}  // namespace

void infer_gemm(InferContext& ctx) {
  require_inputs(ctx, 2);
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && ctx.inputs[i].dtype != DType::F32)
      fail_dtype(ctx.node, ctx.inputs[i].dtype, i == 0 ? "A" : (i == 1 ? "B" : "C"));
  GemmDims d = gemm_dims(ctx.node, ctx.inputs[0].shape, ctx.inputs[1].shape);
  if (ctx.has_input(2)) {
    const Shape& c = ctx.inputs[2].shape;
    if (!broadcasts_to(c, {d.m, d.n}))
      fail("{}: C of shape {} does not broadcast to [{}, {}]", ctx.node.describe(), shape_str(c),
           d.m, d.n);
  }
  ctx.outputs = {{DType::F32, {d.m, d.n}}};
}

void ref_gemm(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  GemmDims d = gemm_dims(node, a.shape(), b.shape());
  const float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  std::vector<float> am = as_rows(a, node.attr_int("transA", 0) != 0);
  std::vector<float> bm = as_rows(b, node.attr_int("transB", 0) != 0);
  float* y = outputs[0]->data<float>();
  matmul_f32(am.data(), bm.data(), y, d.m, d.k, d.n);
  const int64_t total = d.m * d.n;
  if (alpha != 1.0f)
    for (int64_t i = 0; i < total; ++i) y[i] *= alpha;
  if (inputs.size() > 2 && inputs[2] && beta != 0.0f) {
    Tensor c = broadcast_to(*inputs[2], {d.m, d.n});
    const float* cp = c.data<float>();
    for (int64_t i = 0; i < total; ++i) y[i] += beta * cp[i];
  }
  apply_fused_activations(node, *outputs[0]);
}

// MACs: each output element sums over K (A is [M, K], or [K, M] with transA).
int64_t macs_gemm(const ir::Node& node, std::span<const TensorType> in,
                  std::span<const TensorType> out) {
  if (in.empty() || out.empty() || in[0].shape.size() != 2) return 0;
  const Shape& a = in[0].shape;
  return shape_numel(out[0].shape) * (node.attr_int("transA", 0) ? a[0] : a[1]);
}

}  // namespace qbench::kernels::ref
