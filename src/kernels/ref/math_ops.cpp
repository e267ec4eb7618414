// Element-wise math beyond the activations: trigonometric and hyperbolic functions, rounding,
// Sign, IsNaN/IsInf, Softsign/Selu/Celu/ThresholdedRelu/Shrink, the integer-aware binary ops
// Mod and BitShift, Det, Hardmax and the window generators. f16/bf16 inputs are computed in
// f32.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/ref/dispatch.h"
#include "kernels/ref/ops.h"

namespace qbench::kernels::ref {

namespace {
template <typename F>
void map_float(const ir::Node& node, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs, F&& f) {
  map_unary<false>(node, *inputs[0], *outputs[0], f);
}

template <typename F>
void map_numeric_any(const ir::Node& node, std::span<const Tensor* const> inputs,
                     std::span<Tensor* const> outputs, F&& f) {
  map_unary<true>(node, *inputs[0], *outputs[0], f);
}

void infer_same_if(InferContext& ctx, bool (*allowed)(DType)) {
  require_inputs(ctx, 1);
  if (!allowed(ctx.inputs[0].dtype)) fail_dtype(ctx.node, ctx.inputs[0].dtype);
  ctx.outputs = {ctx.inputs[0]};
}
}  // namespace

void infer_unary_math(InferContext& ctx) {
  infer_same_if(ctx, is_float_like);
}
void infer_unary_any_numeric(InferContext& ctx) {
  infer_same_if(ctx, is_numeric);
}

#define QBENCH_MATH_UNARY(name, expr)                                                   \
  void ref_##name(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs, \
                  std::span<Tensor* const> outputs) {                                   \
    map_float(node, inputs, outputs, [](auto x) { return expr; });                      \
  }
QBENCH_MATH_UNARY(cos, std::cos(x))
QBENCH_MATH_UNARY(sin, std::sin(x))
QBENCH_MATH_UNARY(tan, std::tan(x))
QBENCH_MATH_UNARY(acos, std::acos(x))
QBENCH_MATH_UNARY(asin, std::asin(x))
QBENCH_MATH_UNARY(atan, std::atan(x))
QBENCH_MATH_UNARY(cosh, std::cosh(x))
QBENCH_MATH_UNARY(sinh, std::sinh(x))
QBENCH_MATH_UNARY(acosh, std::acosh(x))
QBENCH_MATH_UNARY(asinh, std::asinh(x))
QBENCH_MATH_UNARY(atanh, std::atanh(x))
QBENCH_MATH_UNARY(ceil, std::ceil(x))
QBENCH_MATH_UNARY(floor, std::floor(x))
// nearbyint rounds in the default mode, to nearest with ties to even, as ONNX's Round requires.
QBENCH_MATH_UNARY(round, std::nearbyint(x))
QBENCH_MATH_UNARY(softsign, x / (1 + std::abs(x)))
#undef QBENCH_MATH_UNARY

void ref_selu(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  const double alpha = node.attr_float("alpha", 1.67326319217681884765625f);
  const double gamma = node.attr_float("gamma", 1.05070102214813232421875f);
  map_float(node, inputs, outputs,
            [&](auto x) { return gamma * (x > 0 ? double(x) : alpha * std::expm1(double(x))); });
}

void ref_celu(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  const double alpha = node.attr_float("alpha", 1.0f);
  if (alpha == 0) fail("{}: alpha must be non-zero", node.describe());
  map_float(node, inputs, outputs, [&](auto x) {
    return std::max(0.0, double(x)) + std::min(0.0, alpha * std::expm1(double(x) / alpha));
  });
}

void ref_thresholded_relu(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                          std::span<Tensor* const> outputs) {
  const float alpha = node.attr_float("alpha", 1.0f);
  map_float(node, inputs, outputs, [&](auto x) { return x > alpha ? x : decltype(x){0}; });
}

void ref_shrink(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs) {
  const double lambd = node.attr_float("lambd", 0.5f), bias = node.attr_float("bias", 0.0f);
  map_numeric_any(node, inputs, outputs, [&](auto x) {
    const double v = static_cast<double>(x);
    return v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0);
  });
}

void ref_sign(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  map_numeric_any(node, inputs, outputs, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>)
      if (std::isnan(x)) return x;
    return static_cast<T>(x > T{0} ? 1 : (x < T{0} ? -1 : 0));
  });
}

// ---- IsNaN, IsInf

void infer_is_nan_inf(InferContext& ctx) {
  require_inputs(ctx, 1);
  if (!is_float_like(ctx.inputs[0].dtype)) fail_dtype(ctx.node, ctx.inputs[0].dtype);
  ctx.outputs = {{DType::Bool, ctx.inputs[0].shape}};
}

namespace {
template <typename F>
void test_float(const ir::Node& node, const Tensor& in, Tensor& out, F&& f) {
  const Tensor x = widen_half(in);
  bool* y = out.data<bool>();
  const bool ok = visit_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) y[i] = f(xp[i]);
  });
  if (!ok) fail_dtype(node, in.dtype());
}
}  // namespace

void ref_is_nan(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs) {
  test_float(node, *inputs[0], *outputs[0], [](auto x) { return std::isnan(x); });
}

void ref_is_inf(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs) {
  const bool neg = node.attr_int("detect_negative", 1) != 0;
  const bool pos = node.attr_int("detect_positive", 1) != 0;
  test_float(node, *inputs[0], *outputs[0],
             [&](auto x) { return std::isinf(x) && ((x > 0 && pos) || (x < 0 && neg)); });
}

// ---- Mod, BitShift

void infer_mod(InferContext& ctx) {
  require_inputs(ctx, 2);
  const DType t = ctx.inputs[0].dtype;
  if (!is_numeric(t)) fail_dtype(ctx.node, t);
  if (ctx.inputs[1].dtype != t)
    fail("{}: input 1 has dtype {} but input 0 has {}; they must match", ctx.node.describe(),
         dtype_name(ctx.inputs[1].dtype), dtype_name(t));
  if (is_float_like(t) && ctx.node.attr_int("fmod", 0) == 0)
    fail("{}: fmod must be 1 for floating-point inputs (dtype {})", ctx.node.describe(),
         dtype_name(t));
  ctx.outputs = {{t, broadcast_shapes(ctx.node, {ctx.inputs[0].shape, ctx.inputs[1].shape})}};
}

void ref_mod(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  const bool c_fmod = node.attr_int("fmod", 0) != 0;
  with_half_as_f32(inputs, outputs, [&](auto ins, auto outs) {
    const bool ok = visit_numeric(ins[0]->dtype(), [&](auto tag) {
      using T = decltype(tag);
      binary_loop<T, T>(*ins[0], *ins[1], *outs[0], [&](T a, T b) -> T {
        if constexpr (std::is_floating_point_v<T>) {
          return std::fmod(a, b);
        } else {
          if (b == 0) fail("{}: integer modulo by zero", node.describe());
          if constexpr (std::is_signed_v<T>) {
            // x % -1 is 0; computing it can trap on the most negative value.
            if (b == -1) return T{0};
            const int64_t r = static_cast<int64_t>(a) % static_cast<int64_t>(b);
            // Python's sign rule (fmod=0): the result takes the divisor's sign.
            if (!c_fmod && r != 0 && ((r < 0) != (b < 0))) return static_cast<T>(r + b);
            return static_cast<T>(r);
          } else {
            return static_cast<T>(a % b);
          }
        }
      });
    });
    if (!ok) fail_dtype(node, ins[0]->dtype());
  });
}

void infer_bit_shift(InferContext& ctx) {
  require_inputs(ctx, 2);
  const DType t = ctx.inputs[0].dtype;
  if (t != DType::U8 && t != DType::U16 && t != DType::U32 && t != DType::U64)
    fail_dtype(ctx.node, t);
  if (ctx.inputs[1].dtype != t)
    fail("{}: input 1 has dtype {} but input 0 has {}; they must match", ctx.node.describe(),
         dtype_name(ctx.inputs[1].dtype), dtype_name(t));
  const std::string dir = ctx.node.attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT")
    fail("{}: direction must be LEFT or RIGHT, found '{}'", ctx.node.describe(), dir);
  ctx.outputs = {{t, broadcast_shapes(ctx.node, {ctx.inputs[0].shape, ctx.inputs[1].shape})}};
}

void ref_bit_shift(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                   std::span<Tensor* const> outputs) {
  const bool left = node.attr_string("direction", "") == "LEFT";
  const bool ok = visit_int(inputs[0]->dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_unsigned_v<T>) {
      binary_loop<T, T>(*inputs[0], *inputs[1], *outputs[0], [&](T a, T b) -> T {
        // Shifting by the width or more is undefined in C++; every bit is shifted out.
        if (b >= sizeof(T) * 8) return 0;
        return static_cast<T>(left ? a << b : a >> b);
      });
    } else {
      fail_dtype(node, inputs[0]->dtype());
    }
  });
  if (!ok) fail_dtype(node, inputs[0]->dtype());
}

// ---- Det

void infer_det(InferContext& ctx) {
  require_inputs(ctx, 1);
  const TensorType& x = ctx.inputs[0];
  if (!is_float_like(x.dtype)) fail_dtype(ctx.node, x.dtype);
  const size_t r = x.shape.size();
  if (r < 2 || x.shape[r - 1] != x.shape[r - 2])
    fail("{}: input must be [*, M, M], found {}", ctx.node.describe(), shape_str(x.shape));
  ctx.outputs = {{x.dtype, Shape(x.shape.begin(), x.shape.end() - 2)}};
}

void ref_det(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  with_half_as_f32(inputs, outputs, [&](auto ins, auto outs) {
    const Tensor& x = *ins[0];
    const int64_t m = x.dim(-1);
    const int64_t batch = outs[0]->numel();
    std::vector<double> a(static_cast<size_t>(m * m));
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t i = 0; i < m * m; ++i) a[i] = element_as_double(x, b * m * m + i);
      // LU decomposition with partial pivoting: det = sign * prod(diagonal).
      double det = 1;
      for (int64_t c = 0; c < m && det != 0; ++c) {
        int64_t p = c;
        for (int64_t r = c + 1; r < m; ++r)
          if (std::abs(a[r * m + c]) > std::abs(a[p * m + c])) p = r;
        if (a[p * m + c] == 0) {
          det = 0;
          break;
        }
        if (p != c) {
          for (int64_t k = 0; k < m; ++k) std::swap(a[c * m + k], a[p * m + k]);
          det = -det;
        }
        det *= a[c * m + c];
        for (int64_t r = c + 1; r < m; ++r) {
          const double f = a[r * m + c] / a[c * m + c];
          for (int64_t k = c; k < m; ++k) a[r * m + k] -= f * a[c * m + k];
        }
      }
      store_double(*outs[0], b, det);
    }
  });
  (void)node;
}

// ---- Hardmax

void ref_hardmax(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                 std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  Tensor& y = *outputs[0];
  const int64_t rank = x.rank();
  const int64_t axis =
      norm_axis(node, node.attr_int("axis", opset < 13 ? 1 : -1), std::max<int64_t>(rank, 1));
  // Before opset 13 the input is read as 2-D [prod(dims < axis), prod(dims >= axis)].
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis)
      outer *= x.dim(d);
    else if (d == axis || opset < 13)
      n *= x.dim(d);
    else
      inner *= x.dim(d);
  }
  for (int64_t i = 0; i < y.numel(); ++i) store_double(y, i, 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      int64_t best = 0;
      double bv = -INFINITY;
      for (int64_t k = 0; k < n; ++k) {
        const double v = element_as_double(x, (o * n + k) * inner + in);
        if (k == 0 || v > bv) {
          bv = v;
          best = k;
        }
      }
      if (n) store_double(y, (o * n + best) * inner + in, 1.0);
    }
}

// ---- HannWindow, HammingWindow, BlackmanWindow

namespace {
int64_t window_size(const InferContext& ctx) {
  require_inputs(ctx, 1);
  const DType t = ctx.inputs[0].dtype;
  if (t != DType::I32 && t != DType::I64) fail_dtype(ctx.node, t, "size");
  const Tensor& size = ctx.constant(0, "size");
  if (size.numel() != 1)
    fail("{}: size must hold one value, found shape {}", ctx.node.describe(),
         shape_str(size.shape()));
  const int64_t n = size.to_int64()[0];
  if (n < 0) fail("{}: size must be >= 0, found {}", ctx.node.describe(), n);
  return n;
}
}  // namespace

void infer_window(InferContext& ctx) {
  const int64_t n = window_size(ctx);
  const int64_t to = ctx.node.attr_int("output_datatype", 1);
  if (!dtype_valid(static_cast<int32_t>(to)) || !is_numeric(static_cast<DType>(to)))
    fail("{}: output_datatype {} is not a supported numeric type", ctx.node.describe(), to);
  ctx.outputs = {{static_cast<DType>(to), {n}}};
}

void ref_window(const ir::Node& node, int64_t, std::span<const Tensor* const>,
                std::span<Tensor* const> outputs) {
  // Cosine-sum windows w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), with N = size
  // (periodic) or size - 1 (symmetric).
  double a0 = 0.5, a1 = 0.5, a2 = 0.0;
  if (node.op_type == "HammingWindow") {
    a0 = 25.0 / 46.0;
    a1 = 1.0 - a0;
  } else if (node.op_type == "BlackmanWindow") {
    a0 = 0.42;
    a2 = 0.08;
  }
  Tensor& y = *outputs[0];
  const int64_t size = y.numel();
  const bool periodic = node.attr_int("periodic", 1) != 0;
  const double n_div = static_cast<double>(periodic ? size : size - 1);
  for (int64_t i = 0; i < size; ++i) {
    const double t = n_div > 0 ? 2 * M_PI * static_cast<double>(i) / n_div : 0.0;
    store_double(y, i, a0 - a1 * std::cos(t) + a2 * std::cos(2 * t));
  }
}

}  // namespace qbench::kernels::ref
