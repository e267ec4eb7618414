// Element-wise unary ops (activations and math functions), Clip, Not, Identity and Dropout.
#include <algorithm>

#include "kernels/ref/dispatch.h"
#include "kernels/ref/ops.h"

namespace qbench::kernels::ref {

namespace {
template <typename F>
void map_f32(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs, F&& f) {
  const float* x = inputs[0]->data<float>();
  float* y = outputs[0]->data<float>();
  const int64_t n = inputs[0]->numel();
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// Applies f to a tensor of any numeric dtype (f16/bf16 computed in f32); f is a generic lambda.
template <typename F>
void map_numeric(const ir::Node& node, const Tensor& in, Tensor& out, F&& f) {
  map_unary<true>(node, in, out, f);
}

void infer_same(InferContext& ctx, std::initializer_list<DType> allowed) {
  require_inputs(ctx, 1);
  const TensorType& t = ctx.inputs[0];
  if (std::find(allowed.begin(), allowed.end(), t.dtype) == allowed.end())
    fail_dtype(ctx.node, t.dtype);
  ctx.outputs = {t};
}
}  // namespace

void infer_unary_float(InferContext& ctx) {
  infer_same(ctx, {DType::F32});
}
void infer_unary_numeric(InferContext& ctx) {
  require_inputs(ctx, 1);
  if (!is_numeric(ctx.inputs[0].dtype)) fail_dtype(ctx.node, ctx.inputs[0].dtype);
  ctx.outputs = {ctx.inputs[0]};
}

void ref_relu(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  map_numeric(node, *inputs[0], *outputs[0], [](auto v) {
    if constexpr (std::is_unsigned_v<decltype(v)>)
      return v;
    else
      return v < 0 ? decltype(v){0} : v;
  });
}
void ref_neg(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  map_numeric(node, *inputs[0], *outputs[0], [](auto v) { return static_cast<decltype(v)>(-v); });
}
void ref_abs(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  map_numeric(node, *inputs[0], *outputs[0], [](auto v) {
    if constexpr (std::is_unsigned_v<decltype(v)>)
      return v;
    else
      return v < 0 ? static_cast<decltype(v)>(-v) : v;
  });
}

void ref_sigmoid(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                 std::span<Tensor* const> outputs) {
  map_f32(inputs, outputs, act_sigmoid);
}
void ref_tanh(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  map_f32(inputs, outputs, [](float v) { return std::tanh(v); });
}
void ref_leaky_relu(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  const float alpha = node.attr_float("alpha", 0.01f);
  map_f32(inputs, outputs, [&](float v) { return act_leaky_relu(v, alpha); });
}
void ref_hard_sigmoid(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                      std::span<Tensor* const> outputs) {
  const float alpha = node.attr_float("alpha", 0.2f), beta = node.attr_float("beta", 0.5f);
  map_f32(inputs, outputs, [&](float v) { return act_hard_sigmoid(v, alpha, beta); });
}
void ref_hard_swish(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  map_f32(inputs, outputs, act_hard_swish);
}
void ref_gelu(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  const std::string approx = node.attr_string("approximate", "none");
  if (approx != "none" && approx != "tanh")
    fail("{}: approximate must be 'none' or 'tanh', found '{}'", node.describe(), approx);
  const bool tanh_approx = approx == "tanh";
  map_f32(inputs, outputs, [&](float v) { return act_gelu(v, tanh_approx); });
}
void ref_erf(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  map_f32(inputs, outputs, [](float v) { return std::erf(v); });
}
void ref_exp(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  map_f32(inputs, outputs, [](float v) { return std::exp(v); });
}
void ref_log(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  map_f32(inputs, outputs, [](float v) { return std::log(v); });
}
void ref_sqrt(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  map_f32(inputs, outputs, [](float v) { return std::sqrt(v); });
}
void ref_reciprocal(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  map_f32(inputs, outputs, [](float v) { return 1.0f / v; });
}
void ref_elu(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  const float alpha = node.attr_float("alpha", 1.0f);
  map_f32(inputs, outputs, [&](float v) { return v >= 0 ? v : alpha * std::expm1(v); });
}
void ref_softplus(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                  std::span<Tensor* const> outputs) {
  // log(1 + e^x) without overflow for large x.
  map_f32(inputs, outputs,
          [](float v) { return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); });
}

void infer_clip(InferContext& ctx) {
  infer_unary_numeric(ctx);
  for (size_t i = 1; i < 3; ++i)
    if (ctx.has_input(i) && ctx.inputs[i].dtype != ctx.inputs[0].dtype)
      fail("{}: {} bound dtype {} differs from input dtype {}", ctx.node.describe(),
           i == 1 ? "min" : "max", dtype_name(ctx.inputs[i].dtype),
           dtype_name(ctx.inputs[0].dtype));
}

void ref_clip(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  double lo = -INFINITY, hi = INFINITY;
  if (opset < 11) {
    lo = node.attr_float("min", -std::numeric_limits<float>::max());
    hi = node.attr_float("max", std::numeric_limits<float>::max());
  } else {
    auto bound = [&](size_t i, double def) {
      if (i >= inputs.size() || !inputs[i]) return def;
      if (inputs[i]->numel() != 1)
        fail("{}: {} must be a scalar, found shape {}", node.describe(), i == 1 ? "min" : "max",
             shape_str(inputs[i]->shape()));
      return element_as_double(*inputs[i], 0);
    };
    lo = bound(1, lo);
    hi = bound(2, hi);
  }
  map_numeric(node, *inputs[0], *outputs[0], [&](auto v) {
    using T = decltype(v);
    // Bounds as T; infinite bounds only occur for floats (ints use their own min/max here).
    if (static_cast<double>(v) < lo) return static_cast<T>(lo);
    if (static_cast<double>(v) > hi) return static_cast<T>(hi);
    return v;
  });
}

void infer_logical_not(InferContext& ctx) {
  infer_same(ctx, {DType::Bool});
}

void ref_logical_not(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                     std::span<Tensor* const> outputs) {
  const bool* x = inputs[0]->data<bool>();
  bool* y = outputs[0]->data<bool>();
  for (int64_t i = 0; i < inputs[0]->numel(); ++i) y[i] = !x[i];
}

void infer_identity(InferContext& ctx) {
  require_inputs(ctx, 1);
  ctx.outputs = {ctx.inputs[0]};
}

void ref_identity(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                  std::span<Tensor* const> outputs) {
  if (inputs[0]->nbytes()) std::memcpy(outputs[0]->raw(), inputs[0]->raw(), inputs[0]->nbytes());
}

void infer_dropout(InferContext& ctx) {
  require_inputs(ctx, 1);
  if (ctx.opset >= 12 && ctx.has_input(2)) {
    const Tensor& mode = ctx.constant(2, "training_mode");
    const bool training = mode.numel() == 1 && element_as_double(mode, 0) != 0;
    // Training with ratio 0 drops nothing, so it is the identity; any other ratio is random.
    if (training && !(ctx.has_input(1) && ctx.constant(1, "ratio").numel() == 1 &&
                      element_as_double(ctx.constant(1, "ratio"), 0) == 0))
      fail("{}: training_mode=true is not supported; qbench runs inference only",
           ctx.node.describe());
  }
  ctx.outputs = {ctx.inputs[0]};
  if (ctx.node.outputs.size() > 1) ctx.outputs.push_back({DType::Bool, ctx.inputs[0].shape});
}

void ref_dropout(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                 std::span<Tensor* const> outputs) {
  ref_identity(node, opset, inputs, outputs);
  if (outputs.size() > 1 && outputs[1]) {
    bool* m = outputs[1]->data<bool>();
    std::fill(m, m + outputs[1]->numel(), true);
  }
}

}  // namespace qbench::kernels::ref
