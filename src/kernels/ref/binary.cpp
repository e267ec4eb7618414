// Broadcasting element-wise ops: arithmetic, Pow, comparisons, logical ops, Where, Max/Min.
#include <algorithm>

#include "kernels/ref/dispatch.h"
#include "kernels/ref/ops.h"

namespace qbench::kernels::ref {

namespace {
#define QBENCH_NUMERIC_DTYPES                                                                    \
  DType::F32, DType::F64, DType::F16, DType::BF16, DType::I8, DType::U8, DType::I16, DType::U16, \
      DType::I32, DType::U32, DType::I64, DType::U64

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

// Runs f over the inputs' element type (every numeric type, f16/bf16 through f32, and bool
// when WithBool), writing U = T or bool.
template <bool ToBool, bool WithBool = false, typename F>
void binary_numeric(const ir::Node& node, std::span<const Tensor* const> inputs, Tensor& y, F&& f) {
  Tensor* outs[1] = {&y};
  with_half_as_f32(inputs.first(2), outs, [&](auto ins, auto o) {
    const Tensor& a = *ins[0];
    const Tensor& b = *ins[1];
    auto run = [&](auto tag) {
      using T = decltype(tag);
      using U = std::conditional_t<ToBool, bool, T>;
      binary_loop<T, U>(a, b, *o[0], f);
    };
    if (visit_numeric(a.dtype(), run)) return;
    if constexpr (WithBool) {
      if (a.dtype() == DType::Bool) {
        run(bool{});
        return;
      }
    }
    fail_dtype(node, a.dtype());
  });
}

// Before opset 7, Add/Sub/Mul/Div/Pow broadcast only B onto A and only with broadcast=1;
// `axis` then places B's dims at A's dims [axis, axis + rank(B)). Returns the shape B is read
// with so numpy rules give that result (trailing 1s after an axis-placed B).
Shape legacy_b_shape(const ir::Node& node, int64_t opset, const Shape& a, const Shape& b) {
  if (opset >= 7) return b;
  if (node.attr_int("broadcast", 0) == 0) {
    if (a != b)
      fail(
          "{}: shapes {} and {} differ but broadcast=0 (before opset 7 B is broadcast only with "
          "broadcast=1)",
          node.describe(), shape_str(a), shape_str(b));
    return b;
  }
  if (b.size() > a.size())
    fail("{}: B {} has a higher rank than A {}", node.describe(), shape_str(b), shape_str(a));
  if (!node.has_attr("axis")) return b;
  const int64_t axis = norm_axis(node, node.attr_int("axis", 0), static_cast<int64_t>(a.size()));
  if (axis + b.size() > a.size())
    fail("{}: B {} placed at axis {} runs past A {}", node.describe(), shape_str(b), axis,
         shape_str(a));
  Shape s = b;
  s.resize(a.size() - axis, 1);
  if (!broadcasts_to(s, a))
    fail("{}: B {} at axis {} does not match A {}", node.describe(), shape_str(b), axis,
         shape_str(a));
  return s;
}

// Calls f(inputs) with input 1 reshaped per legacy_b_shape.
template <typename F>
void with_legacy_broadcast(const ir::Node& node, int64_t opset,
                           std::span<const Tensor* const> inputs, F&& f) {
  if (opset >= 7) {
    f(inputs);
    return;
  }
  const Tensor b =
      inputs[1]->reshaped(legacy_b_shape(node, opset, inputs[0]->shape(), inputs[1]->shape()));
  const Tensor* ins[2] = {inputs[0], &b};
  f(std::span<const Tensor* const>(ins));
}

template <typename T>
T int_div(const ir::Node& node, T a, T b) {
  if (b == 0) fail("{}: integer division by zero", node.describe());
  // a / -1 is -a, which wraps for the most negative value (and would trap as a division).
  if constexpr (std::is_signed_v<T>)
    if (b == -1) return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(a));
  return static_cast<T>(a / b);
}
}  // namespace

void infer_arith(InferContext& ctx) {
  if (ctx.num_inputs() != 2)
    fail("{}: expected 2 inputs, found {}", ctx.node.describe(), ctx.num_inputs());
  require_inputs(ctx, 2);
  // Inference sees B as the kernel will read it; the caller's input types stay as they are.
  InferContext as_read = ctx;
  as_read.inputs[1].shape =
      legacy_b_shape(ctx.node, ctx.opset, ctx.inputs[0].shape, ctx.inputs[1].shape);
  Shape s = infer_broadcast(as_read, 2, {QBENCH_NUMERIC_DTYPES});
  ctx.outputs = {{ctx.inputs[0].dtype, s}};
}

void ref_add(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  with_legacy_broadcast(node, opset, inputs, [&](auto ins) {
    binary_numeric<false>(node, ins, *outputs[0],
                          [](auto a, auto b) { return static_cast<decltype(a)>(a + b); });
  });
  apply_fused_activations(node, *outputs[0]);
}
void ref_sub(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  with_legacy_broadcast(node, opset, inputs, [&](auto ins) {
    binary_numeric<false>(node, ins, *outputs[0],
                          [](auto a, auto b) { return static_cast<decltype(a)>(a - b); });
  });
}
void ref_mul(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  with_legacy_broadcast(node, opset, inputs, [&](auto ins) {
    binary_numeric<false>(node, ins, *outputs[0],
                          [](auto a, auto b) { return static_cast<decltype(a)>(a * b); });
  });
}
void ref_div(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  with_legacy_broadcast(node, opset, inputs, [&](auto ins) {
    binary_numeric<false>(node, ins, *outputs[0], [&](auto a, auto b) {
      if constexpr (std::is_integral_v<decltype(a)>) {
        return int_div(node, a, b);
      } else {
        return a / b;
      }
    });
  });
}

void infer_pow(InferContext& ctx) {
  require_inputs(ctx, 2);
  for (size_t i = 0; i < 2; ++i) {
    DType t = ctx.inputs[i].dtype;
    if (!is_numeric(t)) fail_dtype(ctx.node, t, i ? "exponent" : "base");
  }
  const Shape b = legacy_b_shape(ctx.node, ctx.opset, ctx.inputs[0].shape, ctx.inputs[1].shape);
  ctx.outputs = {{ctx.inputs[0].dtype, broadcast_shapes(ctx.node, {ctx.inputs[0].shape, b})}};
}

void ref_pow(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  with_legacy_broadcast(node, opset, inputs, [&](auto ins) {
    const Tensor& a = *ins[0];
    const Tensor& b = *ins[1];
    Tensor& y = *outputs[0];
    if (a.dtype() == DType::F32 && b.dtype() == DType::F32) {
      binary_loop<float, float>(a, b, y, [](float x, float e) { return std::pow(x, e); });
      return;
    }
    for_each_broadcast<2>(y.shape(), {a.shape(), b.shape()}, [&](int64_t i, const int64_t* off) {
      store_double(y, i, std::pow(element_as_double(a, off[0]), element_as_double(b, off[1])));
    });
  });
}

void infer_compare(InferContext& ctx) {
  const bool eq = ctx.node.op_type == "Equal";
  Shape s = eq ? infer_broadcast(ctx, 2, {QBENCH_NUMERIC_DTYPES, DType::Bool})
               : infer_broadcast(ctx, 2, {QBENCH_NUMERIC_DTYPES});
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

void ref_greater_or_equal(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                          std::span<Tensor* const> outputs) {
  binary_numeric<true>(node, inputs, *outputs[0], [](auto a, auto b) { return a >= b; });
}
void ref_less_or_equal(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                       std::span<Tensor* const> outputs) {
  binary_numeric<true>(node, inputs, *outputs[0], [](auto a, auto b) { return a <= b; });
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

void ref_logical_xor(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                     std::span<Tensor* const> outputs) {
  binary_loop<bool, bool>(*inputs[0], *inputs[1], *outputs[0],
                          [](bool a, bool b) { return a != b; });
}

void infer_where(InferContext& ctx) {
  require_inputs(ctx, 3);
  if (ctx.inputs[0].dtype != DType::Bool) fail_dtype(ctx.node, ctx.inputs[0].dtype, "condition");
  Shape s = infer_broadcast(ctx, 3, {QBENCH_NUMERIC_DTYPES, DType::Bool}, 1);
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
  Shape s = infer_broadcast(ctx, 1, {QBENCH_NUMERIC_DTYPES});
  if (ctx.node.op_type == "Mean" && !is_float_like(ctx.inputs[0].dtype))
    fail_dtype(ctx.node, ctx.inputs[0].dtype);
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

void ref_sum(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  fold_variadic(node, inputs, *outputs[0],
                [](auto a, auto b) { return static_cast<decltype(a)>(a + b); });
}

void ref_mean(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  ref_sum(node, opset, inputs, outputs);
  const double n = static_cast<double>(inputs.size());
  const Tensor* sum[1] = {outputs[0]};
  with_half_as_f32(sum, outputs.first(1), [&](auto ins, auto outs) {
    const bool ok = visit_float(ins[0]->dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = ins[0]->template data<T>();
      T* y = outs[0]->template data<T>();
      for (int64_t i = 0; i < outs[0]->numel(); ++i) y[i] = static_cast<T>(x[i] / n);
    });
    if (!ok) fail_dtype(node, ins[0]->dtype());
  });
}

}  // namespace qbench::kernels::ref
