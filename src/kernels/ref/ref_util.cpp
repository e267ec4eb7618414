#include "kernels/ref/ref_util.h"

#include <algorithm>
#include <limits>

#include "core/limits.h"

namespace qbench::kernels::ref {

int64_t norm_axis(const ir::Node& node, int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank)
    fail("{}: {} {} is out of range for rank {} (expected [{}, {}])", node.describe(), what, axis,
         rank, -rank, rank - 1);
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

Shape broadcast_shapes(const ir::Node& node, const std::vector<Shape>& shapes) {
  size_t r = 0;
  for (const Shape& s : shapes) r = std::max(r, s.size());
  Shape out(r, 1);
  for (size_t d = 0; d < r; ++d) {
    int64_t v = 1;
    for (const Shape& s : shapes) {
      if (d + s.size() < r) continue;
      int64_t x = s[d + s.size() - r];
      if (x == v || x == 1) continue;
      if (v == 1) {
        v = x;
        continue;
      }
      std::vector<std::string> strs;
      for (const Shape& t : shapes) strs.push_back(shape_str(t));
      fail(
          "{}: input shapes {} cannot be broadcast together (dimension {} from the right is {} "
          "in one and {} in another)",
          node.describe(), fmt::join(strs, " and "), r - d, v, x);
    }
    out[d] = v;
  }
  return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const size_t lead = to.size() - from.size();
  for (size_t d = 0; d < from.size(); ++d)
    if (from[d] != 1 && from[d] != to[lead + d]) return false;
  return true;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  std::vector<int64_t> in_st = strides_of(in);
  size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) st[lead + d] = in[d] == 1 ? 0 : in_st[d];
  return st;
}

Tensor broadcast_to(const Tensor& in, const Shape& out) {
  Tensor t(in.dtype(), out);
  const size_t es = dtype_size(in.dtype());
  const auto* src = static_cast<const std::byte*>(in.raw());
  auto* dst = static_cast<std::byte*>(t.raw());
  for_each_broadcast<1>(out, {in.shape()}, [&](int64_t i, const int64_t* off) {
    std::memcpy(dst + i * es, src + off[0] * es, es);
  });
  return t;
}

InferContext context_of(const ir::Node& node, int64_t opset,
                        std::span<const Tensor* const> inputs) {
  InferContext ctx{node, opset, {}, {}, {}};
  for (const Tensor* t : inputs) {
    ctx.inputs.push_back(t && t->defined() ? TensorType{t->dtype(), t->shape()} : TensorType{});
    ctx.constants.push_back(t && t->defined() ? t : nullptr);
  }
  return ctx;
}

void fail_dtype(const ir::Node& node, DType t, const char* what) {
  fail("{}: {} dtype {} is not supported by this op", node.describe(), what, dtype_name(t));
}

void require_input(const InferContext& ctx, size_t i, const char* what) {
  if (!ctx.has_input(i))
    fail("{}: input {} ({}) is required but missing", ctx.node.describe(), i, what);
}

void require_inputs(const InferContext& ctx, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!ctx.has_input(i))
      fail("{}: expected at least {} inputs, input {} is missing", ctx.node.describe(), n, i);
}

double element_as_double(const Tensor& t, int64_t i) {
  const void* p = t.raw();
  switch (t.dtype()) {
    case DType::F32:
      return static_cast<const float*>(p)[i];
    case DType::F64:
      return static_cast<const double*>(p)[i];
    case DType::F16:
      return half_to_float(static_cast<const uint16_t*>(p)[i]);
    case DType::BF16:
      return bf16_to_float(static_cast<const uint16_t*>(p)[i]);
    case DType::U8:
      return static_cast<const uint8_t*>(p)[i];
    case DType::I8:
      return static_cast<const int8_t*>(p)[i];
    case DType::U16:
      return static_cast<const uint16_t*>(p)[i];
    case DType::I16:
      return static_cast<const int16_t*>(p)[i];
    case DType::I32:
      return static_cast<const int32_t*>(p)[i];
    case DType::I64:
      return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case DType::U32:
      return static_cast<const uint32_t*>(p)[i];
    case DType::U64:
      return static_cast<double>(static_cast<const uint64_t*>(p)[i]);
    case DType::Bool:
      return static_cast<const bool*>(p)[i] ? 1.0 : 0.0;
    case DType::String:
    case DType::Undefined:
      break;
  }
  return 0.0;
}

namespace {
template <typename T>
T to_int(double v) {
  if (std::isnan(v)) return 0;
  return static_cast<T>(std::clamp(v, static_cast<double>(std::numeric_limits<T>::lowest()),
                                   static_cast<double>(std::numeric_limits<T>::max())));
}
}  // namespace

void store_double(Tensor& t, int64_t i, double v) {
  void* p = t.raw();
  switch (t.dtype()) {
    case DType::F32:
      static_cast<float*>(p)[i] = static_cast<float>(v);
      break;
    case DType::F64:
      static_cast<double*>(p)[i] = v;
      break;
    case DType::F16:
      static_cast<uint16_t*>(p)[i] = float_to_half(static_cast<float>(v));
      break;
    case DType::BF16:
      static_cast<uint16_t*>(p)[i] = float_to_bf16(static_cast<float>(v));
      break;
    case DType::U8:
      static_cast<uint8_t*>(p)[i] = to_int<uint8_t>(v);
      break;
    case DType::I8:
      static_cast<int8_t*>(p)[i] = to_int<int8_t>(v);
      break;
    case DType::U16:
      static_cast<uint16_t*>(p)[i] = to_int<uint16_t>(v);
      break;
    case DType::I16:
      static_cast<int16_t*>(p)[i] = to_int<int16_t>(v);
      break;
    case DType::I32:
      static_cast<int32_t*>(p)[i] = to_int<int32_t>(v);
      break;
    case DType::I64:
      static_cast<int64_t*>(p)[i] = to_int<int64_t>(v);
      break;
    case DType::U32:
      static_cast<uint32_t*>(p)[i] = to_int<uint32_t>(v);
      break;
    case DType::U64:
      static_cast<uint64_t*>(p)[i] = to_int<uint64_t>(v);
      break;
    case DType::Bool:
      static_cast<bool*>(p)[i] = v != 0.0;
      break;
    case DType::String:
    case DType::Undefined:
      break;
  }
}

std::vector<int64_t> axes_attr_or_input(const InferContext& ctx, int64_t input_since,
                                        size_t input_index, bool& present) {
  if (ctx.opset < input_since) {
    present = ctx.node.has_attr("axes");
    return ctx.node.attr_ints("axes");
  }
  present = ctx.has_input(input_index);
  if (!present) return {};
  return ctx.constant(input_index, "axes").to_int64();
}

WindowGeom window_geometry(const ir::Node& node, const Shape& in_spatial,
                           const std::vector<int64_t>& kernel, bool ceil_mode) {
  const size_t n = in_spatial.size();
  WindowGeom g;
  g.kernel = kernel;
  g.strides = node.attr_ints("strides", std::vector<int64_t>(n, 1));
  g.dilations = node.attr_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> pads = node.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (kernel.size() != n || g.strides.size() != n || g.dilations.size() != n ||
      pads.size() != 2 * n)
    fail(
        "{}: expected {} spatial dims in kernel_shape/strides/dilations and {} pads; found "
        "kernel {}, strides {}, dilations {}, pads {}",
        node.describe(), n, 2 * n, kernel.size(), g.strides.size(), g.dilations.size(),
        pads.size());
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  g.pad_begin.assign(n, 0);
  g.pad_end.assign(n, 0);
  g.out.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t s = g.strides[i], in = in_spatial[i];
    if (s <= 0 || g.dilations[i] <= 0 || kernel[i] <= 0)
      fail(
          "{}: strides, dilations and kernel sizes must be positive (dim {}: stride {}, dilation "
          "{}, kernel {})",
          node.describe(), i, s, g.dilations[i], kernel[i]);
    // Attributes come from the model: checked, so a huge value is an error, not a wrap-around.
    const std::string what = fmt::format("{}: window of spatial dim {}", node.describe(), i);
    const int64_t dk = checked_add(checked_mul(kernel[i] - 1, g.dilations[i], what), 1, what);
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      g.out[i] = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (g.out[i] - 1) * s + dk - in);
      int64_t small = total / 2;
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      g.pad_end[i] = total - g.pad_begin[i];
    } else if (auto_pad == "VALID") {
      g.out[i] = in >= dk ? (in - dk) / s + 1 : 0;
    } else if (auto_pad == "NOTSET") {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[i + n];
      if (pads[i] < 0 || pads[i + n] < 0)
        fail("{}: pads must not be negative (dim {}: {} and {})", node.describe(), i, pads[i],
             pads[i + n]);
      const int64_t span = checked_add(checked_add(in, pads[i], what), pads[i + n], what) - dk;
      if (span < 0) {
        g.out[i] = 0;
      } else {
        g.out[i] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
        if (ceil_mode && (g.out[i] - 1) * s >= in + g.pad_begin[i]) --g.out[i];
      }
    } else {
      fail("{}: auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", node.describe(),
           auto_pad);
    }
    if (g.out[i] <= 0)
      fail(
          "{}: spatial dim {} of size {} is too small for kernel {} (dilation {}, pads {}+{}); "
          "the output would be empty",
          node.describe(), i, in, kernel[i], g.dilations[i], g.pad_begin[i], g.pad_end[i]);
  }
  return g;
}

void matmul_f32(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n) {
  std::vector<double> acc(static_cast<size_t>(n));
  for (int64_t i = 0; i < m; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t p = 0; p < k; ++p) {
      const double av = a[i * k + p];
      const float* brow = b + p * n;
      for (int64_t j = 0; j < n; ++j) acc[j] += av * brow[j];
    }
    for (int64_t j = 0; j < n; ++j) c[i * n + j] = static_cast<float>(acc[j]);
  }
}

}  // namespace qbench::kernels::ref
