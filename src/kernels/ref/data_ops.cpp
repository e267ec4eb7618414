// Data movement: Concat, Transpose, Gather, Slice, Split, Tile, Pad, Cast, CastLike and Size.
// All but the casts move whole elements and so work for every dtype.
#include <algorithm>
#include <limits>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
const std::byte* bytes(const Tensor& t) {
  return static_cast<const std::byte*>(t.raw());
}
std::byte* bytes(Tensor& t) {
  return static_cast<std::byte*>(t.raw());
}

int64_t prod(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= s[i];
  return p;
}
}  // namespace

// ---- Concat

void infer_concat(InferContext& ctx) {
  if (ctx.num_inputs() == 0) fail("{}: expected at least one input", ctx.node.describe());
  require_inputs(ctx, ctx.num_inputs());
  const TensorType& first = ctx.inputs[0];
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  if (rank == 0) fail("{}: inputs must have rank >= 1, found a scalar", ctx.node.describe());
  if (!ctx.node.has_attr("axis")) fail("{}: attribute axis is required", ctx.node.describe());
  const int64_t axis = norm_axis(ctx.node, ctx.node.attr_int("axis", 0), rank);
  Shape out = first.shape;
  out[axis] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const TensorType& t = ctx.inputs[i];
    if (t.dtype != first.dtype)
      fail("{}: input {} has dtype {} but input 0 has {}", ctx.node.describe(), i,
           dtype_name(t.dtype), dtype_name(first.dtype));
    bool ok = static_cast<int64_t>(t.shape.size()) == rank;
    for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis || t.shape[d] == first.shape[d];
    if (!ok)
      fail("{}: input {} has shape {} which does not match input 0 {} outside axis {}",
           ctx.node.describe(), i, shape_str(t.shape), shape_str(first.shape), axis);
    out[axis] += t.shape[axis];
  }
  ctx.outputs = {{first.dtype, out}};
}

void ref_concat(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs) {
  Tensor& y = *outputs[0];
  const int64_t axis = norm_axis(node, node.attr_int("axis", 0), y.rank());
  const size_t es = dtype_size(y.dtype());
  const int64_t outer = prod(y.shape(), 0, axis), inner = prod(y.shape(), axis + 1, y.rank());
  const int64_t out_row = y.dim(static_cast<int>(axis)) * inner * es;
  int64_t col = 0;
  for (const Tensor* t : inputs) {
    const int64_t row = t->dim(static_cast<int>(axis)) * inner * es;
    for (int64_t o = 0; o < outer; ++o)
      if (row) std::memcpy(bytes(y) + o * out_row + col, bytes(*t) + o * row, row);
    col += row;
  }
}

// ---- Transpose

namespace {
std::vector<int64_t> transpose_perm(const ir::Node& node, size_t rank) {
  std::vector<int64_t> def(rank);
  for (size_t i = 0; i < rank; ++i) def[i] = static_cast<int64_t>(rank - 1 - i);
  std::vector<int64_t> perm = node.attr_ints("perm", def);
  std::vector<bool> seen(rank, false);
  bool ok = perm.size() == rank;
  for (int64_t p : perm) {
    ok = ok && p >= 0 && p < static_cast<int64_t>(rank) && !seen[p];
    if (ok) seen[p] = true;
  }
  if (!ok)
    fail("{}: perm {} is not a permutation of {} axes", node.describe(), shape_str(perm), rank);
  return perm;
}
}  // namespace

void infer_transpose(InferContext& ctx) {
  require_inputs(ctx, 1);
  const Shape& in = ctx.inputs[0].shape;
  std::vector<int64_t> perm = transpose_perm(ctx.node, in.size());
  Shape out(in.size());
  for (size_t i = 0; i < in.size(); ++i) out[i] = in[perm[i]];
  ctx.outputs = {{ctx.inputs[0].dtype, out}};
}

void ref_transpose(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                   std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  Tensor& y = *outputs[0];
  std::vector<int64_t> perm = transpose_perm(node, x.shape().size());
  std::vector<int64_t> in_st = strides_of(x.shape());
  std::vector<std::vector<int64_t>> st(1, std::vector<int64_t>(perm.size()));
  for (size_t i = 0; i < perm.size(); ++i) st[0][i] = in_st[perm[i]];
  const size_t es = dtype_size(x.dtype());
  for_each_strided<1>(y.shape(), st, nullptr, [&](int64_t i, const int64_t* off) {
    std::memcpy(bytes(y) + i * es, bytes(x) + off[0] * es, es);
  });
}

// ---- Gather

void infer_gather(InferContext& ctx) {
  require_inputs(ctx, 2);
  const Shape& data = ctx.inputs[0].shape;
  const DType it = ctx.inputs[1].dtype;
  if (it != DType::I64 && it != DType::I32) fail_dtype(ctx.node, it, "indices");
  if (data.empty()) fail("{}: data must have rank >= 1", ctx.node.describe());
  const int64_t axis = norm_axis(ctx.node, ctx.node.attr_int("axis", 0), data.size());
  Shape out(data.begin(), data.begin() + axis);
  out.insert(out.end(), ctx.inputs[1].shape.begin(), ctx.inputs[1].shape.end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  ctx.outputs = {{ctx.inputs[0].dtype, out}};
}

void ref_gather(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs) {
  const Tensor& data = *inputs[0];
  std::vector<int64_t> idx = inputs[1]->to_int64();
  const int64_t axis = norm_axis(node, node.attr_int("axis", 0), data.rank());
  const int64_t n = data.dim(static_cast<int>(axis));
  const int64_t outer = prod(data.shape(), 0, axis);
  const int64_t inner_bytes = prod(data.shape(), axis + 1, data.rank()) * dtype_size(data.dtype());
  for (int64_t& i : idx) {
    if (i < -n || i >= n)
      fail("{}: index {} is out of range for axis {} of size {}", node.describe(), i, axis, n);
    if (i < 0) i += n;
  }
  std::byte* y = bytes(*outputs[0]);
  const int64_t k = static_cast<int64_t>(idx.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < k; ++j)
      if (inner_bytes)
        std::memcpy(y + (o * k + j) * inner_bytes, bytes(data) + (o * n + idx[j]) * inner_bytes,
                    inner_bytes);
}

// ---- Slice

namespace {
struct SlicePlan {
  Shape out;
  std::vector<int64_t> start, step;  // per input dim
};

SlicePlan slice_plan(const InferContext& ctx) {
  const ir::Node& node = ctx.node;
  const Shape& in = ctx.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset < 10) {
    starts = node.attr_ints("starts");
    ends = node.attr_ints("ends");
    axes = node.attr_ints("axes");
  } else {
    if (!ctx.has_input(1) || !ctx.has_input(2))
      fail("{}: inputs starts and ends are required", node.describe());
    starts = ctx.constant(1, "starts").to_int64();
    ends = ctx.constant(2, "ends").to_int64();
    if (ctx.has_input(3)) axes = ctx.constant(3, "axes").to_int64();
    if (ctx.has_input(4)) steps = ctx.constant(4, "steps").to_int64();
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    fail("{}: starts, ends, axes and steps must have equal lengths; found {}, {}, {}, {}",
         node.describe(), starts.size(), ends.size(), axes.size(), steps.size());
  SlicePlan p;
  p.out = in;
  p.start.assign(rank, 0);
  p.step.assign(rank, 1);
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t ax = norm_axis(node, axes[i], rank);
    if (seen[ax]) fail("{}: axis {} is sliced twice", node.describe(), axes[i]);
    seen[ax] = true;
    const int64_t dim = in[ax], step = steps[i];
    if (step == 0) fail("{}: step for axis {} is 0", node.describe(), axes[i]);
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t count;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      count = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      count = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    p.out[ax] = count;
    p.start[ax] = count ? s : 0;
    p.step[ax] = step;
  }
  return p;
}
}  // namespace

void infer_slice(InferContext& ctx) {
  require_inputs(ctx, 1);
  ctx.outputs = {{ctx.inputs[0].dtype, slice_plan(ctx).out}};
}

void ref_slice(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  Tensor& y = *outputs[0];
  SlicePlan p = slice_plan(context_of(node, opset, inputs));
  std::vector<int64_t> in_st = strides_of(x.shape());
  std::vector<std::vector<int64_t>> st(1, std::vector<int64_t>(in_st.size()));
  int64_t base = 0;
  for (size_t d = 0; d < in_st.size(); ++d) {
    st[0][d] = in_st[d] * p.step[d];
    base += p.start[d] * in_st[d];
  }
  const size_t es = dtype_size(x.dtype());
  for_each_strided<1>(y.shape(), st, &base, [&](int64_t i, const int64_t* off) {
    std::memcpy(bytes(y) + i * es, bytes(x) + off[0] * es, es);
  });
}

// ---- Split

namespace {
std::vector<int64_t> split_sizes(const InferContext& ctx, int64_t axis) {
  const ir::Node& node = ctx.node;
  const int64_t dim = ctx.inputs[0].shape[axis];
  const int64_t n_out = static_cast<int64_t>(node.outputs.size());
  std::vector<int64_t> sizes;
  if (ctx.opset < 13) {
    sizes = node.attr_ints("split");
  } else if (ctx.has_input(1)) {
    sizes = ctx.constant(1, "split").to_int64();
  }
  if (!sizes.empty()) {
    int64_t sum = 0;
    for (int64_t s : sizes) sum += s;
    if (static_cast<int64_t>(sizes.size()) != n_out || sum != dim)
      fail("{}: split {} must have one entry per output ({}) summing to axis size {}",
           node.describe(), shape_str(sizes), n_out, dim);
    return sizes;
  }
  if (ctx.opset >= 18 && node.has_attr("num_outputs")) {
    const int64_t n = node.attr_int("num_outputs", 0);
    if (n != n_out || n <= 0)
      fail("{}: num_outputs is {} but the node has {} outputs", node.describe(), n, n_out);
    const int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i) sizes.push_back(std::clamp<int64_t>(dim - i * chunk, 0, chunk));
    return sizes;
  }
  if (n_out <= 0 || dim % n_out != 0)
    fail("{}: axis size {} cannot be split into {} equal parts", node.describe(), dim, n_out);
  return std::vector<int64_t>(n_out, dim / n_out);
}
}  // namespace

void infer_split(InferContext& ctx) {
  require_inputs(ctx, 1);
  const Shape& in = ctx.inputs[0].shape;
  if (in.empty()) fail("{}: input must have rank >= 1", ctx.node.describe());
  const int64_t axis = norm_axis(ctx.node, ctx.node.attr_int("axis", 0), in.size());
  ctx.outputs.clear();
  for (int64_t s : split_sizes(ctx, axis)) {
    Shape o = in;
    o[axis] = s;
    ctx.outputs.push_back({ctx.inputs[0].dtype, o});
  }
}

void ref_split(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const int64_t axis = norm_axis(node, node.attr_int("axis", 0), x.rank());
  const size_t es = dtype_size(x.dtype());
  const int64_t outer = prod(x.shape(), 0, axis), inner = prod(x.shape(), axis + 1, x.rank());
  const int64_t in_row = x.dim(static_cast<int>(axis)) * inner * es;
  int64_t col = 0;
  for (Tensor* y : outputs) {
    if (!y) continue;
    const int64_t row = y->dim(static_cast<int>(axis)) * inner * es;
    for (int64_t o = 0; o < outer; ++o)
      if (row) std::memcpy(bytes(*y) + o * row, bytes(x) + o * in_row + col, row);
    col += row;
  }
}

// ---- Tile

void infer_tile(InferContext& ctx) {
  require_inputs(ctx, 2);
  const Shape& in = ctx.inputs[0].shape;
  std::vector<int64_t> rep = ctx.constant(1, "repeats").to_int64();
  if (rep.size() != in.size())
    fail("{}: repeats {} must have one entry per input dim ({})", ctx.node.describe(),
         shape_str(rep), in.size());
  Shape out = in;
  for (size_t i = 0; i < in.size(); ++i) {
    if (rep[i] < 0)
      fail("{}: repeats {} has a negative entry", ctx.node.describe(), shape_str(rep));
    out[i] *= rep[i];
  }
  ctx.outputs = {{ctx.inputs[0].dtype, out}};
}

namespace {
// Copies y[out_index] = x[map(out_index)] where map works per dim; `coord(d, o)` returns the
// input coordinate along dim d for output coordinate o, or -1 for "use the fill element".
template <typename Coord>
void gather_by_coords(const Tensor& x, Tensor& y, Coord&& coord, const std::byte* fill) {
  const size_t es = dtype_size(x.dtype());
  const Shape& out = y.shape();
  const int r = static_cast<int>(out.size());
  const int64_t total = y.numel();
  std::vector<int64_t> in_st = strides_of(x.shape());
  std::vector<int64_t> idx(r, 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t off = 0;
    bool inside = true;
    for (int d = 0; d < r && inside; ++d) {
      const int64_t c = coord(d, idx[d]);
      inside = c >= 0;
      off += c * in_st[d];
    }
    std::memcpy(bytes(y) + i * es, inside ? bytes(x) + off * es : fill, es);
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
}
}  // namespace

void ref_tile(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  gather_by_coords(
      x, *outputs[0], [&](int d, int64_t o) { return o % x.dim(d); }, nullptr);
}

// ---- Pad

namespace {
struct PadPlan {
  std::string mode;
  std::vector<int64_t> begin, end;  // per dim
  double value = 0;
};

PadPlan pad_plan(const InferContext& ctx) {
  const ir::Node& node = ctx.node;
  const int64_t rank = static_cast<int64_t>(ctx.inputs[0].shape.size());
  PadPlan p;
  p.mode = node.attr_string("mode", "constant");
  if (p.mode != "constant" && p.mode != "reflect" && p.mode != "edge")
    fail("{}: mode '{}' is not supported (expected constant, reflect or edge)", node.describe(),
         p.mode);
  std::vector<int64_t> pads, axes;
  if (ctx.opset < 11) {
    pads = node.attr_ints(node.has_attr("paddings") ? "paddings" : "pads");
    p.value = node.attr_float("value", 0.0f);
  } else {
    if (!ctx.has_input(1)) fail("{}: input pads is required", node.describe());
    pads = ctx.constant(1, "pads").to_int64();
    if (ctx.has_input(2)) {
      const Tensor& v = ctx.constant(2, "constant_value");
      if (v.numel() != 1)
        fail("{}: constant_value must be a scalar, found shape {}", node.describe(),
             shape_str(v.shape()));
      p.value = element_as_double(v, 0);
    }
    if (ctx.has_input(3)) axes = ctx.constant(3, "axes").to_int64();
  }
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  if (pads.size() != 2 * axes.size())
    fail("{}: expected {} pads (begin and end for {} axes), found {}", node.describe(),
         2 * axes.size(), axes.size(), pads.size());
  p.begin.assign(rank, 0);
  p.end.assign(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t ax = norm_axis(node, axes[i], rank);
    p.begin[ax] = pads[i];
    p.end[ax] = pads[i + axes.size()];
  }
  return p;
}
}  // namespace

void infer_pad(InferContext& ctx) {
  require_inputs(ctx, 1);
  PadPlan p = pad_plan(ctx);
  Shape out = ctx.inputs[0].shape;
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t in = out[i];
    out[i] += p.begin[i] + p.end[i];
    if (out[i] < 0)
      fail("{}: pads {}+{} on dim {} of size {} give a negative size", ctx.node.describe(),
           p.begin[i], p.end[i], i, in);
    if (p.mode != "constant" && in == 0 && out[i] > 0)
      fail("{}: {} padding of an empty dim {} is undefined", ctx.node.describe(), p.mode, i);
  }
  ctx.outputs = {{ctx.inputs[0].dtype, out}};
}

void ref_pad(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  PadPlan p = pad_plan(context_of(node, opset, inputs));
  Tensor fill(x.dtype(), {1});
  store_double(fill, 0, p.value);
  const int mode = p.mode == "constant" ? 0 : (p.mode == "reflect" ? 1 : 2);
  gather_by_coords(
      x, *outputs[0],
      [&](int d, int64_t o) -> int64_t {
        const int64_t n = x.dim(d);
        int64_t i = o - p.begin[d];
        if (i >= 0 && i < n) return i;
        if (mode == 0) return -1;
        if (mode == 2) return std::clamp<int64_t>(i, 0, n - 1);
        if (n == 1) return 0;
        // Reflect without repeating the edge, bouncing as often as needed.
        const int64_t period = 2 * (n - 1);
        i = ((i % period) + period) % period;
        return i < n ? i : period - i;
      },
      bytes(fill));
}

// ---- Cast

namespace {
bool cast_supported(DType t) {
  switch (t) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::F64:
    case DType::I8:
    case DType::U8:
    case DType::I32:
    case DType::I64:
    case DType::Bool:
      return true;
    default:
      return false;
  }
}
}  // namespace

void infer_cast(InferContext& ctx) {
  require_inputs(ctx, 1);
  const int64_t to = ctx.node.attr_int("to", 0);
  if (!dtype_valid(static_cast<int32_t>(to)) || !cast_supported(static_cast<DType>(to)))
    fail(
        "{}: cast to ONNX type {} is not supported (expected f32, f16, bf16, f64, i8, u8, i32, "
        "i64 or bool)",
        ctx.node.describe(), to);
  if (!cast_supported(ctx.inputs[0].dtype)) fail_dtype(ctx.node, ctx.inputs[0].dtype);
  ctx.outputs = {{static_cast<DType>(to), ctx.inputs[0].shape}};
}

// CastLike casts input 0 to input 1's dtype and shares Cast's kernel, which reads the output's.
void infer_cast_like(InferContext& ctx) {
  require_inputs(ctx, 2);
  const DType to = ctx.inputs[1].dtype;
  if (!cast_supported(to)) fail_dtype(ctx.node, to, "target_type");
  if (!cast_supported(ctx.inputs[0].dtype)) fail_dtype(ctx.node, ctx.inputs[0].dtype);
  ctx.outputs = {{to, ctx.inputs[0].shape}};
}

// ---- Size

void infer_size(InferContext& ctx) {
  require_inputs(ctx, 1);
  ctx.outputs = {{DType::I64, {}}};
}

void ref_size(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  outputs[0]->data<int64_t>()[0] = inputs[0]->numel();
}

void ref_cast(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  Tensor& y = *outputs[0];
  if (x.dtype() == y.dtype()) {
    if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
    return;
  }
  const int64_t n = x.numel();
  if (!dtype_is_float(x.dtype()) && !dtype_is_float(y.dtype())) {
    // Integer to integer goes through int64 so large i64 values stay exact; narrowing wraps
    // like a C++ conversion.
    std::vector<int64_t> v = x.to_int64();
    void* p = y.raw();
    for (int64_t i = 0; i < n; ++i) {
      switch (y.dtype()) {
        case DType::I8:
          static_cast<int8_t*>(p)[i] = static_cast<int8_t>(v[i]);
          break;
        case DType::U8:
          static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v[i]);
          break;
        case DType::I32:
          static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v[i]);
          break;
        case DType::I64:
          static_cast<int64_t*>(p)[i] = v[i];
          break;
        case DType::Bool:
          static_cast<bool*>(p)[i] = v[i] != 0;
          break;
        default:
          break;
      }
    }
    return;
  }
  // Float to int truncates toward zero (saturating out of range values, NaN -> 0).
  for (int64_t i = 0; i < n; ++i) store_double(y, i, element_as_double(x, i));
}

}  // namespace qbench::kernels::ref
