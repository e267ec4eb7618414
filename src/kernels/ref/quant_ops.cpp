// Quantization operators: QuantizeLinear, DequantizeLinear (per tensor, and per axis from opset
// 13), DynamicQuantizeLinear, MatMulInteger, ConvInteger, QLinearConv and QLinearMatMul. Integer
// products accumulate in int32 exactly as the ONNX spec defines them; requantization rounds half
// to even and saturates (core/qmath.h).
#include <limits>

#include "core/qmath.h"
#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {

void qrange(DType t, int32_t& lo, int32_t& hi) {
  if (t == DType::U8) {
    lo = 0;
    hi = 255;
  } else if (t == DType::I8) {
    lo = -128;
    hi = 127;
  } else {
    lo = std::numeric_limits<int32_t>::min();
    hi = std::numeric_limits<int32_t>::max();
  }
}

// Reads any u8/i8/i32 tensor as int32.
std::vector<int32_t> as_int32(const Tensor& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  switch (t.dtype()) {
    case DType::U8:
      std::copy(t.data<uint8_t>(), t.data<uint8_t>() + t.numel(), v.begin());
      break;
    case DType::I8:
      std::copy(t.data<int8_t>(), t.data<int8_t>() + t.numel(), v.begin());
      break;
    case DType::I32:
      std::copy(t.data<int32_t>(), t.data<int32_t>() + t.numel(), v.begin());
      break;
    default:
      assert(false && "as_int32 on a non-integer tensor");
  }
  return v;
}

void store_int(Tensor& t, int64_t i, int32_t v) {
  if (t.dtype() == DType::U8)
    t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
  else if (t.dtype() == DType::I8)
    t.data<int8_t>()[i] = static_cast<int8_t>(v);
  else
    t.data<int32_t>()[i] = v;
}

// How scale / zero point map onto the elements of x: one value, or one per index of `axis`.
struct QuantAxis {
  bool per_axis = false;
  int64_t axis = 0, count = 1, inner = 1;  // elements of x: [outer, count, inner]
};

// Scale shapes allowed by ONNX: a scalar (or one element) for the whole tensor, or (opset >= 13)
// a 1-D tensor with one entry per index of `axis`. `what` names the scale input.
QuantAxis quant_axis(const ir::Node& node, int64_t opset, const Shape& x, const Shape& scale,
                     const char* what) {
  QuantAxis qa;
  if (node.attr_int("block_size", 0) != 0)
    fail("{}: blocked quantization (block_size) is not supported", node.describe());
  if (shape_numel(scale) == 1 && scale.size() <= 1) return qa;
  if (opset < 13 || scale.size() != 1)
    fail("{}: {} must be a scalar{}, found shape {}", node.describe(), what,
         opset < 13 ? " before opset 13" : " or 1-D", shape_str(scale));
  qa.per_axis = true;
  qa.axis = norm_axis(node, node.attr_int("axis", 1), static_cast<int64_t>(x.size()));
  qa.count = x[qa.axis];
  if (scale[0] != qa.count)
    fail("{}: {} has {} elements but axis {} of the input {} has {}", node.describe(), what,
         scale[0], qa.axis, shape_str(x), qa.count);
  for (size_t d = qa.axis + 1; d < x.size(); ++d) qa.inner *= x[d];
  return qa;
}

void check_zero_point(const InferContext& ctx, size_t i, const Shape& scale) {
  if (!ctx.has_input(i)) return;
  if (shape_numel(ctx.inputs[i].shape) != shape_numel(scale))
    fail("{}: zero point of shape {} does not match the scale's shape {}", ctx.node.describe(),
         shape_str(ctx.inputs[i].shape), shape_str(scale));
}

}  // namespace

void infer_quantize_linear(InferContext& ctx) {
  require_inputs(ctx, 2);
  if (ctx.inputs[0].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[0].dtype, "x");
  if (ctx.inputs[1].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[1].dtype, "y_scale");
  DType out = DType::U8;
  if (ctx.has_input(2)) {
    out = ctx.inputs[2].dtype;
    if (!dtype_is_8bit(out)) fail_dtype(ctx.node, out, "y_zero_point");
  }
  quant_axis(ctx.node, ctx.opset, ctx.inputs[0].shape, ctx.inputs[1].shape, "y_scale");
  check_zero_point(ctx, 2, ctx.inputs[1].shape);
  ctx.outputs = {{out, ctx.inputs[0].shape}};
}

void ref_quantize_linear(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                         std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const Tensor& scale = *inputs[1];
  const Tensor* zp = inputs.size() > 2 ? inputs[2] : nullptr;
  Tensor& y = *outputs[0];
  QuantAxis qa = quant_axis(node, opset, x.shape(), scale.shape(), "y_scale");
  std::vector<int32_t> zps = zp ? as_int32(*zp) : std::vector<int32_t>(qa.count, 0);
  int32_t lo, hi;
  qrange(y.dtype(), lo, hi);
  const float* xp = x.data<float>();
  const float* sp = scale.data<float>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = qa.per_axis ? (i / qa.inner) % qa.count : 0;
    store_int(y, i, quant::quantize_value(xp[i], sp[c], zps[c], lo, hi));
  }
}

void infer_dequantize_linear(InferContext& ctx) {
  require_inputs(ctx, 2);
  const DType t = ctx.inputs[0].dtype;
  if (!dtype_is_8bit(t) && t != DType::I32) fail_dtype(ctx.node, t, "x");
  if (ctx.inputs[1].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[1].dtype, "x_scale");
  if (ctx.has_input(2) && ctx.inputs[2].dtype != t)
    fail("{}: x_zero_point has dtype {} but x has {}", ctx.node.describe(),
         dtype_name(ctx.inputs[2].dtype), dtype_name(t));
  quant_axis(ctx.node, ctx.opset, ctx.inputs[0].shape, ctx.inputs[1].shape, "x_scale");
  check_zero_point(ctx, 2, ctx.inputs[1].shape);
  ctx.outputs = {{DType::F32, ctx.inputs[0].shape}};
}

void ref_dequantize_linear(const ir::Node& node, int64_t opset,
                           std::span<const Tensor* const> inputs,
                           std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const Tensor& scale = *inputs[1];
  const Tensor* zp = inputs.size() > 2 ? inputs[2] : nullptr;
  QuantAxis qa = quant_axis(node, opset, x.shape(), scale.shape(), "x_scale");
  std::vector<int32_t> zps = zp ? as_int32(*zp) : std::vector<int32_t>(qa.count, 0);
  if (x.dtype() == DType::I32)
    for (int32_t z : zps)
      if (z != 0) fail("{}: an int32 input must have zero point 0, found {}", node.describe(), z);
  std::vector<int32_t> xv = as_int32(x);
  const float* sp = scale.data<float>();
  float* y = outputs[0]->data<float>();
  for (size_t i = 0; i < xv.size(); ++i) {
    const int64_t c = qa.per_axis ? (static_cast<int64_t>(i) / qa.inner) % qa.count : 0;
    y[i] = quant::dequantize_value(xv[i], sp[c], zps[c]);
  }
}

void infer_dynamic_quantize_linear(InferContext& ctx) {
  require_inputs(ctx, 1);
  if (ctx.inputs[0].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[0].dtype, "x");
  ctx.outputs = {{DType::U8, ctx.inputs[0].shape}, {DType::F32, {}}, {DType::U8, {}}};
}

// scale = (max(0, max x) - min(0, min x)) / 255, zero point = saturate(round(-min / scale)),
// computed in float like the ONNX function body.
void ref_dynamic_quantize_linear(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                                 std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const float* xp = x.data<float>();
  const int64_t n = x.numel();
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, xp[i]);
    hi = std::max(hi, xp[i]);
  }
  const float scale = (hi - lo) / 255.0f;
  int32_t zp = 0;
  if (scale > 0) zp = quant::quantize_value(-lo, scale, 0, 0, 255);
  uint8_t* y = outputs[0]->data<uint8_t>();
  for (int64_t i = 0; i < n; ++i)
    y[i] = scale > 0 ? static_cast<uint8_t>(quant::quantize_value(xp[i], scale, zp, 0, 255)) : 0;
  if (outputs.size() > 1 && outputs[1]) outputs[1]->data<float>()[0] = scale;
  if (outputs.size() > 2 && outputs[2]) outputs[2]->data<uint8_t>()[0] = static_cast<uint8_t>(zp);
}

namespace {

// Batched integer matrix product with numpy broadcasting of the batch dimensions. Zero points:
// A's scalar or one per row (M), B's scalar or one per column (N).
struct IntMatMul {
  Shape a_batch, b_batch, batch, out;
  int64_t m = 0, k = 0, n = 0;
};

IntMatMul int_matmul_dims(const ir::Node& node, const Shape& a, const Shape& b) {
  if (a.size() < 2 || b.size() < 2)
    fail("{}: operands must have rank >= 2, found {} and {}", node.describe(), shape_str(a),
         shape_str(b));
  IntMatMul d;
  d.m = a[a.size() - 2];
  d.k = a.back();
  d.n = b.back();
  if (b[b.size() - 2] != d.k)
    fail("{}: inner dimensions differ: A{} has K={} but B{} has K={}", node.describe(),
         shape_str(a), d.k, shape_str(b), b[b.size() - 2]);
  d.a_batch.assign(a.begin(), a.end() - 2);
  d.b_batch.assign(b.begin(), b.end() - 2);
  d.batch = broadcast_shapes(node, {d.a_batch, d.b_batch});
  d.out = d.batch;
  d.out.push_back(d.m);
  d.out.push_back(d.n);
  return d;
}

// Zero points repeated to `count` entries (a scalar broadcasts); an Error when the size is wrong.
std::vector<int32_t> zero_points(const ir::Node& node, const Tensor* zp, int64_t count,
                                 const char* what) {
  if (!zp) return std::vector<int32_t>(count, 0);
  std::vector<int32_t> v = as_int32(*zp);
  if (v.size() == 1) return std::vector<int32_t>(count, v[0]);
  if (static_cast<int64_t>(v.size()) != count)
    fail("{}: {} has {} elements, expected 1 or {}", node.describe(), what, v.size(), count);
  return v;
}

// y[b, m, n] = sum_k (a - a_zp[m]) * (b - b_zp[n]) in int32.
std::vector<int32_t> int_matmul(const ir::Node& node, const IntMatMul& d, const Tensor& a,
                                const Tensor& b, const Tensor* a_zp, const Tensor* b_zp) {
  std::vector<int32_t> av = as_int32(a), bv = as_int32(b);
  std::vector<int32_t> azp = zero_points(node, a_zp, d.m, "a_zero_point");
  std::vector<int32_t> bzp = zero_points(node, b_zp, d.n, "b_zero_point");
  const int64_t mk = d.m * d.k, kn = d.k * d.n, mn = d.m * d.n;
  for (size_t i = 0; i < av.size(); ++i) av[i] -= azp[(i / d.k) % d.m];
  for (size_t i = 0; i < bv.size(); ++i) bv[i] -= bzp[i % d.n];
  std::vector<int32_t> y(static_cast<size_t>(shape_numel(d.out)), 0);
  for_each_broadcast<2>(d.batch, {d.a_batch, d.b_batch}, [&](int64_t bi, const int64_t* off) {
    const int32_t* ap = av.data() + off[0] * mk;
    const int32_t* bp = bv.data() + off[1] * kn;
    int32_t* yp = y.data() + bi * mn;
#pragma omp parallel for schedule(static) if (d.m * d.n * d.k > (1 << 16))
    for (int64_t m = 0; m < d.m; ++m) {
      int32_t* yrow = yp + m * d.n;
      for (int64_t k = 0; k < d.k; ++k) {
        const int32_t s = ap[m * d.k + k];
        if (s == 0) continue;
        const int32_t* brow = bp + k * d.n;
        for (int64_t n = 0; n < d.n; ++n) yrow[n] += s * brow[n];
      }
    }
  });
  return y;
}

// 1-D and 2-D integer convolution (groups, strides, pads, dilations, auto_pad). Inputs are
// shifted by their zero points first, so padding contributes 0 as the spec requires.
struct IntConv {
  int64_t n = 0, c = 0, m = 0, group = 1;
  Shape in_spatial;
  WindowGeom w;
  Shape out;
};

IntConv int_conv_dims(const ir::Node& node, const Shape& x, const Shape& wt) {
  if ((x.size() != 3 && x.size() != 4) || wt.size() != x.size())
    fail("{}: X and W must both have rank 3 or 4, found {} and {}", node.describe(), shape_str(x),
         shape_str(wt));
  IntConv g;
  g.n = x[0];
  g.c = x[1];
  g.m = wt[0];
  g.group = node.attr_int("group", 1);
  if (g.group <= 0 || g.c % g.group != 0 || g.m % g.group != 0 || wt[1] * g.group != g.c)
    fail("{}: with group {} expected X channels ({}) = W.shape[1] ({}) * group", node.describe(),
         g.group, g.c, wt[1]);
  g.in_spatial.assign(x.begin() + 2, x.end());
  g.w = window_geometry(node, g.in_spatial, std::vector<int64_t>(wt.begin() + 2, wt.end()), false);
  g.out = {g.n, g.m};
  g.out.insert(g.out.end(), g.w.out.begin(), g.w.out.end());
  return g;
}

// y[i] += w * col[i] for i in [0, n): the inner loop of int_conv, cloned for AVX2 (int32
// multiplies vectorize there, not in the x86-64 baseline) so the oracle of the int8 tests that
// run whole test sets takes seconds, not minutes.
__attribute__((target_clones("avx2", "default"))) void axpy_int32(int32_t* y, const int32_t* col,
                                                                  int64_t n, int32_t w) {
  for (int64_t i = 0; i < n; ++i) y[i] += w * col[i];
}

// Integer convolution as im2col + matrix product: per image and group, the input patches are
// laid out as rows (one per input channel and kernel tap, zero where the window lies in the
// padding: the inputs are already shifted by their zero point, so padding contributes 0, as the
// spec requires), then each output channel's plane is a weighted sum of those rows.
std::vector<int32_t> int_conv(const ir::Node& node, const IntConv& g, const Tensor& x,
                              const Tensor& wt, const Tensor* x_zp, const Tensor* w_zp) {
  std::vector<int32_t> xv = as_int32(x), wv = as_int32(wt);
  const int32_t xz = zero_points(node, x_zp, 1, "x_zero_point")[0];
  std::vector<int32_t> wz = zero_points(node, w_zp, g.m, "w_zero_point");
  for (int32_t& v : xv) v -= xz;
  const int64_t per_oc = wt.numel() / g.m;
  for (size_t i = 0; i < wv.size(); ++i) wv[i] -= wz[static_cast<int64_t>(i) / per_oc];
  const bool one_d = g.in_spatial.size() == 1;
  const int64_t ih_n = one_d ? 1 : g.in_spatial[0], iw_n = g.in_spatial.back();
  const int64_t kh_n = one_d ? 1 : g.w.kernel[0], kw_n = g.w.kernel.back();
  const int64_t oh_n = one_d ? 1 : g.w.out[0], ow_n = g.w.out.back();
  const int64_t sh = one_d ? 1 : g.w.strides[0], sw = g.w.strides.back();
  const int64_t dh = one_d ? 1 : g.w.dilations[0], dw = g.w.dilations.back();
  const int64_t ph = one_d ? 0 : g.w.pad_begin[0], pw = g.w.pad_begin.back();
  const int64_t cg = g.c / g.group, mg = g.m / g.group;
  const int64_t plane = oh_n * ow_n, taps = kh_n * kw_n, rows = cg * taps;
  std::vector<int32_t> y(static_cast<size_t>(shape_numel(g.out)), 0);
  // Images and groups are independent: each thread lays out its own patches.
#pragma omp parallel
  {
    std::vector<int32_t> col(static_cast<size_t>(rows * plane));
#pragma omp for collapse(2) schedule(static)
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t grp = 0; grp < g.group; ++grp) {
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t ic = r / taps, kh = (r % taps) / kw_n, kw = r % kw_n;
          const int32_t* xplane = xv.data() + (n * g.c + grp * cg + ic) * ih_n * iw_n;
          int32_t* out = col.data() + r * plane;
          for (int64_t oh = 0; oh < oh_n; ++oh) {
            const int64_t ih = oh * sh - ph + kh * dh;
            for (int64_t ow = 0; ow < ow_n; ++ow) {
              const int64_t iw = ow * sw - pw + kw * dw;
              const bool inside = ih >= 0 && ih < ih_n && iw >= 0 && iw < iw_n;
              out[oh * ow_n + ow] = inside ? xplane[ih * iw_n + iw] : 0;
            }
          }
        }
        for (int64_t m = 0; m < mg; ++m) {
          const int64_t oc = grp * mg + m;
          int32_t* acc = y.data() + (n * g.m + oc) * plane;
          const int32_t* wrow = wv.data() + oc * rows;
          for (int64_t r = 0; r < rows; ++r)
            if (wrow[r] != 0) axpy_int32(acc, col.data() + r * plane, plane, wrow[r]);
        }
      }
    }
  }
  return y;
}

void require_int8(const InferContext& ctx, size_t i, const char* what) {
  if (!ctx.has_input(i)) return;
  if (!dtype_is_8bit(ctx.inputs[i].dtype)) fail_dtype(ctx.node, ctx.inputs[i].dtype, what);
}

void require_f32(const InferContext& ctx, size_t i, const char* what) {
  require_input(ctx, i, what);
  if (ctx.inputs[i].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[i].dtype, what);
}

// Per-channel float factors: one value repeated, or `count` values; an Error otherwise.
std::vector<float> per_channel(const ir::Node& node, const Tensor& t, int64_t count,
                               const char* what) {
  std::vector<float> v = t.to_float();
  if (v.size() == 1) return std::vector<float>(count, v[0]);
  if (static_cast<int64_t>(v.size()) != count)
    fail("{}: {} has {} elements, expected 1 or {}", node.describe(), what, v.size(), count);
  return v;
}

// Requantizes int32 accumulators (quant::requantize_value), where multiplier = input scale *
// weight scale / y_scale (as ONNX's reference computes it) and c = (i / inner) % channels.
void requantize(const std::vector<int32_t>& acc, const std::vector<float>& multiplier,
                int64_t inner, int32_t y_zp, Tensor& y) {
  int32_t lo, hi;
  qrange(y.dtype(), lo, hi);
  const int64_t channels = static_cast<int64_t>(multiplier.size());
  for (size_t i = 0; i < acc.size(); ++i) {
    const int64_t c = (static_cast<int64_t>(i) / inner) % channels;
    store_int(y, static_cast<int64_t>(i),
              quant::requantize_value(acc[i], multiplier[c], y_zp, lo, hi));
  }
}

}  // namespace

void infer_matmul_integer(InferContext& ctx) {
  require_inputs(ctx, 2);
  require_int8(ctx, 0, "A");
  require_int8(ctx, 1, "B");
  require_int8(ctx, 2, "a_zero_point");
  require_int8(ctx, 3, "b_zero_point");
  ctx.outputs = {
      {DType::I32, int_matmul_dims(ctx.node, ctx.inputs[0].shape, ctx.inputs[1].shape).out}};
}

void ref_matmul_integer(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                        std::span<Tensor* const> outputs) {
  IntMatMul d = int_matmul_dims(node, inputs[0]->shape(), inputs[1]->shape());
  std::vector<int32_t> y =
      int_matmul(node, d, *inputs[0], *inputs[1], inputs.size() > 2 ? inputs[2] : nullptr,
                 inputs.size() > 3 ? inputs[3] : nullptr);
  std::copy(y.begin(), y.end(), outputs[0]->data<int32_t>());
}

void infer_conv_integer(InferContext& ctx) {
  require_inputs(ctx, 2);
  require_int8(ctx, 0, "x");
  require_int8(ctx, 1, "w");
  require_int8(ctx, 2, "x_zero_point");
  require_int8(ctx, 3, "w_zero_point");
  ctx.outputs = {
      {DType::I32, int_conv_dims(ctx.node, ctx.inputs[0].shape, ctx.inputs[1].shape).out}};
}

void ref_conv_integer(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                      std::span<Tensor* const> outputs) {
  IntConv g = int_conv_dims(node, inputs[0]->shape(), inputs[1]->shape());
  std::vector<int32_t> y =
      int_conv(node, g, *inputs[0], *inputs[1], inputs.size() > 2 ? inputs[2] : nullptr,
               inputs.size() > 3 ? inputs[3] : nullptr);
  std::copy(y.begin(), y.end(), outputs[0]->data<int32_t>());
}

// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B)
void infer_qlinear_conv(InferContext& ctx) {
  require_inputs(ctx, 8);
  require_int8(ctx, 0, "x");
  require_f32(ctx, 1, "x_scale");
  require_int8(ctx, 2, "x_zero_point");
  require_int8(ctx, 3, "w");
  require_f32(ctx, 4, "w_scale");
  require_int8(ctx, 5, "w_zero_point");
  require_f32(ctx, 6, "y_scale");
  require_int8(ctx, 7, "y_zero_point");
  if (ctx.has_input(8) && ctx.inputs[8].dtype != DType::I32)
    fail_dtype(ctx.node, ctx.inputs[8].dtype, "B");
  ctx.outputs = {
      {ctx.inputs[7].dtype, int_conv_dims(ctx.node, ctx.inputs[0].shape, ctx.inputs[3].shape).out}};
}

void ref_qlinear_conv(const ir::Node& node, int64_t, std::span<const Tensor* const> in,
                      std::span<Tensor* const> outputs) {
  IntConv g = int_conv_dims(node, in[0]->shape(), in[3]->shape());
  std::vector<int32_t> acc = int_conv(node, g, *in[0], *in[3], in[2], in[5]);
  const int64_t inner = shape_numel(g.out) / (g.n * g.m);
  if (in.size() > 8 && in[8]) {
    std::vector<int32_t> b = as_int32(*in[8]);
    if (static_cast<int64_t>(b.size()) != g.m)
      fail("{}: bias B has {} elements, expected {}", node.describe(), b.size(), g.m);
    for (size_t i = 0; i < acc.size(); ++i) acc[i] += b[(static_cast<int64_t>(i) / inner) % g.m];
  }
  const float xs = in[1]->to_float()[0], ys = in[6]->to_float()[0];
  std::vector<float> mult = per_channel(node, *in[4], g.m, "w_scale");
  for (float& s : mult) s = xs * s / ys;
  requantize(acc, mult, inner, as_int32(*in[7])[0], *outputs[0]);
}

// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp): per-tensor, or per column of b.
void infer_qlinear_matmul(InferContext& ctx) {
  require_inputs(ctx, 8);
  require_int8(ctx, 0, "a");
  require_f32(ctx, 1, "a_scale");
  require_int8(ctx, 2, "a_zero_point");
  require_int8(ctx, 3, "b");
  require_f32(ctx, 4, "b_scale");
  require_int8(ctx, 5, "b_zero_point");
  require_f32(ctx, 6, "y_scale");
  require_int8(ctx, 7, "y_zero_point");
  if (shape_numel(ctx.inputs[1].shape) != 1 || shape_numel(ctx.inputs[6].shape) != 1)
    fail("{}: a_scale and y_scale must have one element", ctx.node.describe());
  ctx.outputs = {{ctx.inputs[7].dtype,
                  int_matmul_dims(ctx.node, ctx.inputs[0].shape, ctx.inputs[3].shape).out}};
}

void ref_qlinear_matmul(const ir::Node& node, int64_t, std::span<const Tensor* const> in,
                        std::span<Tensor* const> outputs) {
  IntMatMul d = int_matmul_dims(node, in[0]->shape(), in[3]->shape());
  std::vector<int32_t> acc = int_matmul(node, d, *in[0], *in[3], in[2], in[5]);
  const float as = in[1]->to_float()[0], ys = in[6]->to_float()[0];
  std::vector<float> mult = per_channel(node, *in[4], d.n, "b_scale");
  for (float& s : mult) s = as * s / ys;
  requantize(acc, mult, 1, as_int32(*in[7])[0], *outputs[0]);
}

}  // namespace qbench::kernels::ref
