// Shape manipulation: ops that reinterpret input 0 under a new shape (Reshape, Flatten,
// Squeeze, Unsqueeze; their kernel is ref_identity), and ops producing shapes or constants.
#include <algorithm>

#include "core/limits.h"
#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

void infer_reshape(InferContext& ctx) {
  require_inputs(ctx, 2);
  const Shape& in = ctx.inputs[0].shape;
  std::vector<int64_t> req = ctx.constant(1, "shape").to_int64();
  const bool allowzero = ctx.opset >= 14 && ctx.node.attr_int("allowzero", 0) != 0;
  Shape out(req.size());
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < req.size(); ++i) {
    int64_t d = req[i];
    if (d == 0 && !allowzero) {
      if (i >= in.size())
        fail("{}: shape {} copies dim {} (0) but the input {} has only {} dims",
             ctx.node.describe(), shape_str(req), i, shape_str(in), in.size());
      d = in[i];
    }
    if (d == -1) {
      if (infer_at >= 0)
        fail("{}: shape {} has more than one -1", ctx.node.describe(), shape_str(req));
      infer_at = static_cast<int>(i);
      continue;
    }
    if (d < 0) fail("{}: shape {} has invalid dim {}", ctx.node.describe(), shape_str(req), d);
    out[i] = d;
    known = checked_mul(known, d, fmt::format("{}: shape {}", ctx.node.describe(), shape_str(req)));
  }
  const int64_t total = shape_numel(in);
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0)
      fail("{}: cannot reshape {} ({} elements) to {}: the -1 dim cannot be inferred",
           ctx.node.describe(), shape_str(in), total, shape_str(req));
    out[infer_at] = total / known;
  }
  if (shape_numel(out) != total)
    fail("{}: cannot reshape {} ({} elements) to {} ({} elements)", ctx.node.describe(),
         shape_str(in), total, shape_str(out), shape_numel(out));
  ctx.outputs = {{ctx.inputs[0].dtype, out}};
}

void infer_flatten(InferContext& ctx) {
  require_inputs(ctx, 1);
  const Shape& in = ctx.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t axis = ctx.node.attr_int("axis", 1);
  if (axis < -rank || axis > rank)
    fail("{}: axis {} is out of range for rank {} (expected [{}, {}])", ctx.node.describe(), axis,
         rank, -rank, rank);
  if (axis < 0) axis += rank;
  int64_t a = 1, b = 1;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t& side = i < axis ? a : b;
    side = checked_mul(side, in[i], fmt::format("{}: input {}", ctx.node.describe(), shape_str(in)));
  }
  ctx.outputs = {{ctx.inputs[0].dtype, {a, b}}};
}

void infer_squeeze(InferContext& ctx) {
  require_inputs(ctx, 1);
  const Shape& in = ctx.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  bool present = false;
  std::vector<int64_t> axes = axes_attr_or_input(ctx, 13, 1, present);
  std::vector<bool> drop(rank, false);
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) drop[i] = in[i] == 1;
  } else {
    for (int64_t a : axes) {
      const int64_t ax = norm_axis(ctx.node, a, rank);
      if (in[ax] != 1)
        fail("{}: cannot squeeze axis {} of shape {}: its size is {}, not 1", ctx.node.describe(),
             a, shape_str(in), in[ax]);
      drop[ax] = true;
    }
  }
  Shape out;
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[i]) out.push_back(in[i]);
  ctx.outputs = {{ctx.inputs[0].dtype, out}};
}

void infer_unsqueeze(InferContext& ctx) {
  require_inputs(ctx, 1);
  const Shape& in = ctx.inputs[0].shape;
  bool present = false;
  std::vector<int64_t> axes = axes_attr_or_input(ctx, 13, 1, present);
  if (!present) fail("{}: axes are required", ctx.node.describe());
  const int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> inserted(out_rank, false);
  for (int64_t a : axes) {
    const int64_t ax = norm_axis(ctx.node, a, out_rank);
    if (inserted[ax]) fail("{}: axes {} repeat axis {}", ctx.node.describe(), shape_str(axes), a);
    inserted[ax] = true;
  }
  Shape out;
  size_t j = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(inserted[i] ? 1 : in[j++]);
  ctx.outputs = {{ctx.inputs[0].dtype, out}};
}

namespace {
std::pair<int64_t, int64_t> shape_range(const InferContext& ctx) {
  const int64_t rank = static_cast<int64_t>(ctx.inputs[0].shape.size());
  int64_t start = 0, end = rank;
  if (ctx.opset >= 15) {
    start = ctx.node.attr_int("start", 0);
    end = ctx.node.attr_int("end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, 0, rank);
  }
  return {start, std::max(start, end)};
}
}  // namespace

void infer_shape(InferContext& ctx) {
  require_inputs(ctx, 1);
  auto [start, end] = shape_range(ctx);
  ctx.outputs = {{DType::I64, {end - start}}};
}

void ref_shape(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs) {
  InferContext ctx = context_of(node, opset, inputs);
  auto [start, end] = shape_range(ctx);
  int64_t* y = outputs[0]->data<int64_t>();
  for (int64_t i = start; i < end; ++i) y[i - start] = inputs[0]->dim(static_cast<int>(i));
}

namespace {
Tensor constant_value(const ir::Node& node) {
  if (const ir::Attribute* a = node.attr("value")) {
    if (a->kind != ir::Attribute::Kind::Tensor)
      fail("{}: attribute 'value' should be a tensor", node.describe());
    return a->t;
  }
  if (node.has_attr("value_float")) return Tensor::scalar(node.attr_float("value_float", 0));
  if (node.has_attr("value_int")) return Tensor::scalar(node.attr_int("value_int", 0));
  if (node.has_attr("value_floats")) {
    std::vector<float> v = node.attr_floats("value_floats");
    return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (node.has_attr("value_ints")) {
    std::vector<int64_t> v = node.attr_ints("value_ints");
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  fail(
      "{}: expected one of the attributes value, value_float(s), value_int(s); sparse and "
      "string constants are not supported",
      node.describe());
}
}  // namespace

void infer_constant(InferContext& ctx) {
  Tensor t = constant_value(ctx.node);
  ctx.outputs = {{t.dtype(), t.shape()}};
}

void ref_constant(const ir::Node& node, int64_t, std::span<const Tensor* const>,
                  std::span<Tensor* const> outputs) {
  Tensor t = constant_value(node);
  if (t.nbytes()) std::memcpy(outputs[0]->raw(), t.raw(), t.nbytes());
}

namespace {
Tensor fill_value(const ir::Node& node) {
  const ir::Attribute* a = node.attr("value");
  if (!a) return Tensor::scalar(0.0f);
  if (a->kind != ir::Attribute::Kind::Tensor || a->t.numel() != 1)
    fail("{}: attribute 'value' must be a one-element tensor", node.describe());
  return a->t;
}
}  // namespace

void infer_constant_of_shape(InferContext& ctx) {
  require_inputs(ctx, 1);
  std::vector<int64_t> shape = ctx.constant(0, "shape").to_int64();
  for (int64_t d : shape)
    if (d < 0) fail("{}: shape {} has a negative dim", ctx.node.describe(), shape_str(shape));
  ctx.outputs = {{fill_value(ctx.node).dtype(), shape}};
}

void ref_constant_of_shape(const ir::Node& node, int64_t, std::span<const Tensor* const>,
                           std::span<Tensor* const> outputs) {
  Tensor v = fill_value(node);
  const size_t es = dtype_size(v.dtype());
  auto* out = static_cast<std::byte*>(outputs[0]->raw());
  for (int64_t i = 0; i < outputs[0]->numel(); ++i) std::memcpy(out + i * es, v.raw(), es);
}

void infer_expand(InferContext& ctx) {
  require_inputs(ctx, 2);
  Shape target = ctx.constant(1, "shape").to_int64();
  ctx.outputs = {{ctx.inputs[0].dtype, broadcast_shapes(ctx.node, {ctx.inputs[0].shape, target})}};
}

void ref_expand(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs) {
  Tensor t = broadcast_to(*inputs[0], outputs[0]->shape());
  if (t.nbytes()) std::memcpy(outputs[0]->raw(), t.raw(), t.nbytes());
}

namespace {
// Number of Range elements, computed in the input's own arithmetic.
int64_t range_count(const InferContext& ctx) {
  const Tensor& s = ctx.constant(0, "start");
  const Tensor& l = ctx.constant(1, "limit");
  const Tensor& d = ctx.constant(2, "delta");
  for (const Tensor* t : {&s, &l, &d})
    if (t->numel() != 1)
      fail("{}: start, limit and delta must be scalars, found shape {}", ctx.node.describe(),
           shape_str(t->shape()));
  if (dtype_is_float(s.dtype())) {
    const double dv = element_as_double(d, 0);
    if (dv == 0) fail("{}: delta must not be 0", ctx.node.describe());
    return std::max<int64_t>(
        0,
        static_cast<int64_t>(std::ceil((element_as_double(l, 0) - element_as_double(s, 0)) / dv)));
  }
  const int64_t sv = s.to_int64()[0], lv = l.to_int64()[0], dv = d.to_int64()[0];
  if (dv == 0) fail("{}: delta must not be 0", ctx.node.describe());
  const int64_t diff = lv - sv;
  int64_t n = diff / dv;
  if (n * dv != diff && ((diff > 0) == (dv > 0))) ++n;  // ceil for same-signed operands
  return std::max<int64_t>(0, n);
}
}  // namespace

void infer_range(InferContext& ctx) {
  require_inputs(ctx, 3);
  const DType t = ctx.inputs[0].dtype;
  if (t != DType::F32 && t != DType::F64 && t != DType::I32 && t != DType::I64 && t != DType::I16)
    fail_dtype(ctx.node, t);
  for (size_t i = 1; i < 3; ++i)
    if (ctx.inputs[i].dtype != t)
      fail("{}: start, limit and delta must share a dtype; found {} and {}", ctx.node.describe(),
           dtype_name(t), dtype_name(ctx.inputs[i].dtype));
  ctx.outputs = {{t, {range_count(ctx)}}};
}

void ref_range(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs) {
  Tensor& y = *outputs[0];
  if (dtype_is_float(y.dtype())) {
    // ONNX defines element i as start + i * delta.
    const double s = element_as_double(*inputs[0], 0), d = element_as_double(*inputs[2], 0);
    for (int64_t i = 0; i < y.numel(); ++i) store_double(y, i, s + static_cast<double>(i) * d);
    return;
  }
  const int64_t s = inputs[0]->to_int64()[0], d = inputs[2]->to_int64()[0];
  if (y.dtype() == DType::I64) {
    int64_t* p = y.data<int64_t>();
    for (int64_t i = 0; i < y.numel(); ++i) p[i] = s + i * d;
    return;
  }
  for (int64_t i = 0; i < y.numel(); ++i) store_double(y, i, static_cast<double>(s + i * d));
}

}  // namespace qbench::kernels::ref
