// Broadcasting element-wise ops: arithmetic, Pow, comparisons, logical ops, Where, Max/Min.
#include <algorithm>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
// Checks that all present inputs share one dtype from `allowed`, and returns the broadcast shape.
Shape infer_broadcast(InferContext& ctx, size_t min_inputs, std::initializer_list<DType> allowed,
                      size_t first = 0) {
  if (ctx.num_inputs() < min_inputs)
    fail("{}: expected at least {} inputs, found {}", ctx.node.describe(), min_inputs,
         ctx.num_inputs());
  require_inputs(ctx, ctx.num_inputs());
  const DType t = ctx.inputs[first].dtype;
  if (std::find(allowed.begin(), allowed.end(), t) == allowed.end()) fail_dtype(ctx.node, t);
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (i >= first && ctx.inputs[i].dtype != t)
      fail("{}: input {} has dtype {} but input {} has {}; they must match", ctx.node.describe(), i,
           dtype_name(ctx.inputs[i].dtype), first, dtype_name(t));
    shapes.push_back(ctx.inputs[i].shape);
  }
  return broadcast_shapes(ctx.node, shapes);
}

template <typename T, typename U, typename F>
void binary_loop(const Tensor& a, const Tensor& b, Tensor& y, F&& f) {
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  U* yp = y.data<U>();
  for_each_broadcast<2>(y.shape(), {a.shape(), b.shape()},
                        [&](int64_t i, const int64_t* off) { yp[i] = f(ap[off[0]], bp[off[1]]); });
}

// Runs f over T in {f32, i32, i64} (and bool when with_bool), writing U = T or bool.
template <bool ToBool, bool WithBool = false, typename F>
void binary_numeric(const ir::Node& node, std::span<const Tensor* const> inputs, Tensor& y, F&& f) {
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  auto run = [&](auto tag) {
    using T = decltype(tag);
    using U = std::conditional_t<ToBool, bool, T>;
    binary_loop<T, U>(a, b, y, f);
  };
  switch (a.dtype()) {
    case DType::F32:
      run(float{});
      break;
    case DType::I32:
      run(int32_t{});
      break;
    case DType::I64:
      run(int64_t{});
      break;
    case DType::Bool:
      if constexpr (WithBool) {
        run(bool{});
        break;
      }
      [[fallthrough]];
    default:
      fail_dtype(node, a.dtype());
  }
}

template <typename T>
T int_div(const ir::Node& node, T a, T b) {
  if (b == 0) fail("{}: integer division by zero", node.describe());
  return static_cast<T>(a / b);
}
}  // namespace

void infer_arith(InferContext& ctx) {
  Shape s = infer_broadcast(ctx, 2, {DType::F32, DType::I32, DType::I64});
  if (ctx.num_inputs() != 2)
    fail("{}: expected 2 inputs, found {}", ctx.node.describe(), ctx.num_inputs());
  ctx.outputs = {{ctx.inputs[0].dtype, s}};
}

void ref_add(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  binary_numeric<false>(node, inputs, *outputs[0],
                        [](auto a, auto b) { return static_cast<decltype(a)>(a + b); });
  apply_fused_activations(node, *outputs[0]);
}
void ref_sub(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  binary_numeric<false>(node, inputs, *outputs[0],
                        [](auto a, auto b) { return static_cast<decltype(a)>(a - b); });
}
void ref_mul(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  binary_numeric<false>(node, inputs, *outputs[0],
                        [](auto a, auto b) { return static_cast<decltype(a)>(a * b); });
}
void ref_div(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  binary_numeric<false>(node, inputs, *outputs[0], [&](auto a, auto b) {
    if constexpr (std::is_integral_v<decltype(a)>) {
      return int_div(node, a, b);
    } else {
      return a / b;
    }
  });
}

void infer_pow(InferContext& ctx) {
  require_inputs(ctx, 2);
  for (size_t i = 0; i < 2; ++i) {
    DType t = ctx.inputs[i].dtype;
    if (t != DType::F32 && t != DType::I32 && t != DType::I64)
      fail_dtype(ctx.node, t, i ? "exponent" : "base");
  }
  ctx.outputs = {{ctx.inputs[0].dtype,
                  broadcast_shapes(ctx.node, {ctx.inputs[0].shape, ctx.inputs[1].shape})}};
}

void ref_pow(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  Tensor& y = *outputs[0];
  if (a.dtype() == DType::F32 && b.dtype() == DType::F32) {
    binary_loop<float, float>(a, b, y, [](float x, float e) { return std::pow(x, e); });
    return;
  }
  (void)node;
  for_each_broadcast<2>(y.shape(), {a.shape(), b.shape()}, [&](int64_t i, const int64_t* off) {
    store_double(y, i, std::pow(element_as_double(a, off[0]), element_as_double(b, off[1])));
  });
}

void infer_compare(InferContext& ctx) {
  const bool eq = ctx.node.op_type == "Equal";
  Shape s = eq ? infer_broadcast(ctx, 2, {DType::F32, DType::I32, DType::I64, DType::Bool})
               : infer_broadcast(ctx, 2, {DType::F32, DType::I32, DType::I64});
  ctx.outputs = {{DType::Bool, s}};
}

void ref_equal(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs) {
  binary_numeric<true, true>(node, inputs, *outputs[0], [](auto a, auto b) { return a == b; });
}
void ref_less(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  binary_numeric<true>(node, inputs, *outputs[0], [](auto a, auto b) { return a < b; });
}
void ref_greater(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                 std::span<Tensor* const> outputs) {
  binary_numeric<true>(node, inputs, *outputs[0], [](auto a, auto b) { return a > b; });
}

void infer_logical(InferContext& ctx) {
  ctx.outputs = {{DType::Bool, infer_broadcast(ctx, 2, {DType::Bool})}};
}
void ref_logical_and(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                     std::span<Tensor* const> outputs) {
  binary_loop<bool, bool>(*inputs[0], *inputs[1], *outputs[0],
                          [](bool a, bool b) { return a && b; });
}
void ref_logical_or(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  binary_loop<bool, bool>(*inputs[0], *inputs[1], *outputs[0],
                          [](bool a, bool b) { return a || b; });
}

void infer_where(InferContext& ctx) {
  require_inputs(ctx, 3);
  if (ctx.inputs[0].dtype != DType::Bool) fail_dtype(ctx.node, ctx.inputs[0].dtype, "condition");
  Shape s = infer_broadcast(ctx, 3,
                            {DType::F32, DType::I32, DType::I64, DType::Bool, DType::F16,
                             DType::F64, DType::I8, DType::U8, DType::BF16},
                            1);
  ctx.outputs = {{ctx.inputs[1].dtype, s}};
}

void ref_where(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs) {
  const bool* c = inputs[0]->data<bool>();
  const size_t es = dtype_size(inputs[1]->dtype());
  const auto* x = static_cast<const std::byte*>(inputs[1]->raw());
  const auto* yv = static_cast<const std::byte*>(inputs[2]->raw());
  auto* out = static_cast<std::byte*>(outputs[0]->raw());
  for_each_broadcast<3>(outputs[0]->shape(),
                        {inputs[0]->shape(), inputs[1]->shape(), inputs[2]->shape()},
                        [&](int64_t i, const int64_t* off) {
                          const std::byte* src = c[off[0]] ? x + off[1] * es : yv + off[2] * es;
                          std::memcpy(out + i * es, src, es);
                        });
}

void infer_variadic(InferContext& ctx) {
  Shape s = infer_broadcast(ctx, 1, {DType::F32, DType::I32, DType::I64});
  ctx.outputs = {{ctx.inputs[0].dtype, s}};
}

namespace {
// Folds inputs pairwise into the output: y = f(y, input_k), starting from input 0 broadcast.
template <typename F>
void fold_variadic(const ir::Node& node, std::span<const Tensor* const> inputs, Tensor& y, F&& f) {
  Tensor acc = broadcast_to(*inputs[0], y.shape());
  for (size_t k = 1; k < inputs.size(); ++k) {
    const Tensor* pair[2] = {&acc, inputs[k]};
    Tensor next(y.dtype(), y.shape());
    binary_numeric<false>(node, pair, next, f);
    acc = next;
  }
  if (acc.nbytes()) std::memcpy(y.raw(), acc.raw(), acc.nbytes());
}
}  // namespace

void ref_max(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  fold_variadic(node, inputs, *outputs[0], [](auto a, auto b) {
    if constexpr (std::is_floating_point_v<decltype(a)>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<decltype(a)>::quiet_NaN();
    }
    return a > b ? a : b;
  });
}
void ref_min(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  fold_variadic(node, inputs, *outputs[0], [](auto a, auto b) {
    if constexpr (std::is_floating_point_v<decltype(a)>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<decltype(a)>::quiet_NaN();
    }
    return a < b ? a : b;
  });
}

}  // namespace qbench::kernels::ref
