// MatMul with numpy semantics: 1-D operands are promoted, batch dimensions broadcast.
#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
struct MatMulDims {
  Shape a_batch, b_batch, batch, out;
  int64_t m, k, n;
};

MatMulDims matmul_dims(const ir::Node& node, const Shape& a, const Shape& b) {
  if (a.empty() || b.empty())
    fail("{}: operands must have rank >= 1, found {} and {}", node.describe(), shape_str(a),
         shape_str(b));
  MatMulDims d;
  Shape a2 = a.size() == 1 ? Shape{1, a[0]} : a;
  Shape b2 = b.size() == 1 ? Shape{b[0], 1} : b;
  d.m = a2[a2.size() - 2];
  d.k = a2.back();
  d.n = b2.back();
  if (b2[b2.size() - 2] != d.k)
    fail("{}: inner dimensions differ: A{} has K={} but B{} has K={}", node.describe(),
         shape_str(a), d.k, shape_str(b), b2[b2.size() - 2]);
  d.a_batch.assign(a2.begin(), a2.end() - 2);
  d.b_batch.assign(b2.begin(), b2.end() - 2);
  d.batch = broadcast_shapes(node, {d.a_batch, d.b_batch});
  d.out = d.batch;
  if (a.size() > 1) d.out.push_back(d.m);
  if (b.size() > 1) d.out.push_back(d.n);
  return d;
}
}  // namespace

void infer_matmul(InferContext& ctx) {
  require_inputs(ctx, 2);
  for (size_t i = 0; i < 2; ++i)
    if (ctx.inputs[i].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[i].dtype, i ? "B" : "A");
  ctx.outputs = {{DType::F32, matmul_dims(ctx.node, ctx.inputs[0].shape, ctx.inputs[1].shape).out}};
}

void ref_matmul(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs) {
  MatMulDims d = matmul_dims(node, inputs[0]->shape(), inputs[1]->shape());
  const float* a = inputs[0]->data<float>();
  const float* b = inputs[1]->data<float>();
  float* y = outputs[0]->data<float>();
  const int64_t mk = d.m * d.k, kn = d.k * d.n, mn = d.m * d.n;
  for_each_broadcast<2>(d.batch, {d.a_batch, d.b_batch}, [&](int64_t i, const int64_t* off) {
    matmul_f32(a + off[0] * mk, b + off[1] * kn, y + i * mn, d.m, d.k, d.n);
  });
  apply_fused_activations(node, *outputs[0]);
}

// MACs of MatMul and its integer forms (MatMulInteger, QLinearMatMul, QGemm,
// MatMulIntegerToFloat): each output element sums over A's last axis.
int64_t macs_matmul(const ir::Node&, std::span<const TensorType> in,
                    std::span<const TensorType> out) {
  if (in.empty() || out.empty() || in[0].shape.empty()) return 0;
  return shape_numel(out[0].shape) * in[0].shape.back();
}

}  // namespace qbench::kernels::ref
