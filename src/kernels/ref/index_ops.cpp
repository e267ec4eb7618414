// Indexing ops: GatherElements, GatherND, ScatterElements (and the older Scatter), ScatterND,
// TopK, CumSum, Trilu, OneHot, EyeLike and ReverseSequence. Ops that only move elements work
// for every dtype; the ones that add or compare values take numeric dtypes.
#include <algorithm>
#include <numeric>

#include "kernels/ref/dispatch.h"
#include "kernels/ref/ops.h"

namespace qbench::kernels::ref {

namespace {
const std::byte* bytes(const Tensor& t) {
  return static_cast<const std::byte*>(t.raw());
}
std::byte* bytes(Tensor& t) {
  return static_cast<std::byte*>(t.raw());
}

void copy_all(const Tensor& from, Tensor& to) {
  if (from.nbytes()) std::memcpy(to.raw(), from.raw(), from.nbytes());
}

// An index into a dimension of size n, negative ones counted from the end; an Error when out of
// range.
int64_t checked_index(const ir::Node& node, int64_t i, int64_t n, int64_t axis) {
  if (i < -n || i >= n)
    fail("{}: index {} is out of range for axis {} of size {}", node.describe(), i, axis, n);
  return i < 0 ? i + n : i;
}

void require_index_dtype(const InferContext& ctx, size_t i) {
  const DType t = ctx.inputs[i].dtype;
  if (t != DType::I64 && t != DType::I32) fail_dtype(ctx.node, t, "indices");
}

// Applies a Scatter reduction to one element: "none" overwrites, the others combine the
// existing value with the update.
enum class ScatterReduce { None, Add, Mul, Max, Min };

ScatterReduce scatter_reduction(const ir::Node& node) {
  const std::string r = node.attr_string("reduction", "none");
  if (r == "none") return ScatterReduce::None;
  if (r == "add") return ScatterReduce::Add;
  if (r == "mul") return ScatterReduce::Mul;
  if (r == "max") return ScatterReduce::Max;
  if (r == "min") return ScatterReduce::Min;
  fail("{}: reduction must be none, add, mul, max or min, found '{}'", node.describe(), r);
}

void scatter_one(Tensor& y, int64_t dst, const Tensor& updates, int64_t src, ScatterReduce red,
                 size_t es) {
  if (red == ScatterReduce::None) {
    std::memcpy(bytes(y) + dst * es, bytes(updates) + src * es, es);
    return;
  }
  const double a = element_as_double(y, dst), b = element_as_double(updates, src);
  double v = a;
  switch (red) {
    case ScatterReduce::Add:
      v = a + b;
      break;
    case ScatterReduce::Mul:
      v = a * b;
      break;
    case ScatterReduce::Max:
      v = std::max(a, b);
      break;
    case ScatterReduce::Min:
      v = std::min(a, b);
      break;
    case ScatterReduce::None:
      break;
  }
  store_double(y, dst, v);
}

void check_reduction_dtype(const InferContext& ctx) {
  if (scatter_reduction(ctx.node) != ScatterReduce::None && !is_numeric(ctx.inputs[0].dtype))
    fail_dtype(ctx.node, ctx.inputs[0].dtype, "data (with a reduction)");
}
}  // namespace

// ---- GatherElements, ScatterElements

void infer_gather_elements(InferContext& ctx) {
  require_inputs(ctx, 2);
  require_index_dtype(ctx, 1);
  const Shape& data = ctx.inputs[0].shape;
  const Shape& idx = ctx.inputs[1].shape;
  if (data.empty() || idx.size() != data.size())
    fail("{}: data and indices must have the same rank >= 1, found {} and {}", ctx.node.describe(),
         shape_str(data), shape_str(idx));
  norm_axis(ctx.node, ctx.node.attr_int("axis", 0), data.size());
  ctx.outputs = {{ctx.inputs[0].dtype, idx}};
}

void ref_gather_elements(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                         std::span<Tensor* const> outputs) {
  const Tensor& data = *inputs[0];
  const Tensor& indices = *inputs[1];
  const int64_t axis = norm_axis(node, node.attr_int("axis", 0), data.rank());
  const std::vector<int64_t> idx = indices.to_int64();
  const std::vector<int64_t> dst = strides_of(data.shape());
  const size_t es = dtype_size(data.dtype());
  const int64_t n = data.dim(static_cast<int>(axis));
  std::byte* y = bytes(*outputs[0]);
  // Walks indices' shape; offset 0 follows data's strides with the axis coordinate left out.
  std::vector<int64_t> st = dst;
  st[axis] = 0;
  for_each_strided<1>(indices.shape(), {st}, nullptr, [&](int64_t i, const int64_t* off) {
    const int64_t k = checked_index(node, idx[i], n, axis);
    std::memcpy(y + i * es, bytes(data) + (off[0] + k * dst[axis]) * es, es);
  });
}

void infer_scatter_elements(InferContext& ctx) {
  require_inputs(ctx, 3);
  require_index_dtype(ctx, 1);
  const Shape& data = ctx.inputs[0].shape;
  const Shape& idx = ctx.inputs[1].shape;
  if (data.empty() || idx.size() != data.size() || ctx.inputs[2].shape != idx)
    fail(
        "{}: indices and updates must have data's rank and equal shapes, found data {}, "
        "indices {}, updates {}",
        ctx.node.describe(), shape_str(data), shape_str(idx), shape_str(ctx.inputs[2].shape));
  if (ctx.inputs[2].dtype != ctx.inputs[0].dtype)
    fail("{}: updates dtype {} differs from data dtype {}", ctx.node.describe(),
         dtype_name(ctx.inputs[2].dtype), dtype_name(ctx.inputs[0].dtype));
  norm_axis(ctx.node, ctx.node.attr_int("axis", 0), data.size());
  check_reduction_dtype(ctx);
  ctx.outputs = {ctx.inputs[0]};
}

void ref_scatter_elements(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                          std::span<Tensor* const> outputs) {
  const Tensor& data = *inputs[0];
  const Tensor& updates = *inputs[2];
  Tensor& y = *outputs[0];
  copy_all(data, y);
  const int64_t axis = norm_axis(node, node.attr_int("axis", 0), data.rank());
  const ScatterReduce red = scatter_reduction(node);
  const std::vector<int64_t> idx = inputs[1]->to_int64();
  const std::vector<int64_t> dst = strides_of(data.shape());
  const int64_t n = data.dim(static_cast<int>(axis));
  const size_t es = dtype_size(data.dtype());
  std::vector<int64_t> st = dst;
  st[axis] = 0;
  // Updates are applied in index order, so with reduction none the last duplicate wins.
  for_each_strided<1>(inputs[1]->shape(), {st}, nullptr, [&](int64_t i, const int64_t* off) {
    const int64_t k = checked_index(node, idx[i], n, axis);
    scatter_one(y, off[0] + k * dst[axis], updates, i, red, es);
  });
}

// ---- GatherND, ScatterND

namespace {
struct NdPlan {
  int64_t batch = 1;       // product of the batch dims
  int64_t per_batch = 1;   // index tuples per batch
  int64_t k = 0;           // length of an index tuple
  int64_t slice = 1;       // elements per gathered slice
  int64_t data_batch = 1;  // data elements per batch
  Shape indexed;           // data dims the tuple indexes
};

NdPlan nd_plan(const ir::Node& node, const Shape& data, const Shape& idx, int64_t b) {
  NdPlan p;
  const int64_t r = static_cast<int64_t>(data.size()), q = static_cast<int64_t>(idx.size());
  if (q < 1 || r < 1) fail("{}: data and indices must have rank >= 1", node.describe());
  if (b < 0 || b >= std::min(q, r))
    fail("{}: batch_dims {} must be below the ranks of data ({}) and indices ({})", node.describe(),
         b, r, q);
  p.k = idx.back();
  if (p.k < 1 || p.k > r - b)
    fail("{}: the last indices dim {} must be in [1, {}] (data rank {} minus batch_dims {})",
         node.describe(), p.k, r - b, r, b);
  for (int64_t d = 0; d < b; ++d) {
    if (data[d] != idx[d])
      fail("{}: batch dim {} differs between data {} and indices {}", node.describe(), d,
           shape_str(data), shape_str(idx));
    p.batch *= data[d];
  }
  for (int64_t d = b; d < q - 1; ++d) p.per_batch *= idx[d];
  for (int64_t d = b + p.k; d < r; ++d) p.slice *= data[d];
  for (int64_t d = b; d < r; ++d) p.data_batch *= data[d];
  p.indexed.assign(data.begin() + b, data.begin() + b + p.k);
  return p;
}

// Offset (in elements) of the slice addressed by index tuple t of batch bi.
int64_t nd_offset(const ir::Node& node, const NdPlan& p, const std::vector<int64_t>& idx,
                  int64_t bi, int64_t t) {
  const int64_t* tuple = idx.data() + (bi * p.per_batch + t) * p.k;
  int64_t off = 0;
  for (int64_t j = 0; j < p.k; ++j)
    off = off * p.indexed[j] + checked_index(node, tuple[j], p.indexed[j], j);
  return bi * p.data_batch + off * p.slice;
}
}  // namespace

void infer_gather_nd(InferContext& ctx) {
  require_inputs(ctx, 2);
  if (ctx.inputs[1].dtype != DType::I64) fail_dtype(ctx.node, ctx.inputs[1].dtype, "indices");
  const Shape& data = ctx.inputs[0].shape;
  const Shape& idx = ctx.inputs[1].shape;
  const int64_t b = ctx.node.attr_int("batch_dims", 0);
  const NdPlan p = nd_plan(ctx.node, data, idx, b);
  Shape out(idx.begin(), idx.end() - 1);
  out.insert(out.end(), data.begin() + b + p.k, data.end());
  ctx.outputs = {{ctx.inputs[0].dtype, out}};
}

void ref_gather_nd(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                   std::span<Tensor* const> outputs) {
  const Tensor& data = *inputs[0];
  const NdPlan p = nd_plan(node, data.shape(), inputs[1]->shape(), node.attr_int("batch_dims", 0));
  const std::vector<int64_t> idx = inputs[1]->to_int64();
  const size_t es = dtype_size(data.dtype());
  const size_t row = static_cast<size_t>(p.slice) * es;
  std::byte* y = bytes(*outputs[0]);
  for (int64_t bi = 0; bi < p.batch; ++bi)
    for (int64_t t = 0; t < p.per_batch; ++t) {
      const int64_t src = nd_offset(node, p, idx, bi, t);
      if (row) std::memcpy(y + (bi * p.per_batch + t) * row, bytes(data) + src * es, row);
    }
}

void infer_scatter_nd(InferContext& ctx) {
  require_inputs(ctx, 3);
  if (ctx.inputs[1].dtype != DType::I64) fail_dtype(ctx.node, ctx.inputs[1].dtype, "indices");
  const Shape& data = ctx.inputs[0].shape;
  const Shape& idx = ctx.inputs[1].shape;
  const NdPlan p = nd_plan(ctx.node, data, idx, 0);
  Shape want(idx.begin(), idx.end() - 1);
  want.insert(want.end(), data.begin() + p.k, data.end());
  if (ctx.inputs[2].shape != want)
    fail("{}: updates must have shape {} (indices.shape[:-1] + data.shape[k:]), found {}",
         ctx.node.describe(), shape_str(want), shape_str(ctx.inputs[2].shape));
  if (ctx.inputs[2].dtype != ctx.inputs[0].dtype)
    fail("{}: updates dtype {} differs from data dtype {}", ctx.node.describe(),
         dtype_name(ctx.inputs[2].dtype), dtype_name(ctx.inputs[0].dtype));
  check_reduction_dtype(ctx);
  ctx.outputs = {ctx.inputs[0]};
}

void ref_scatter_nd(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  const Tensor& data = *inputs[0];
  const Tensor& updates = *inputs[2];
  Tensor& y = *outputs[0];
  copy_all(data, y);
  const NdPlan p = nd_plan(node, data.shape(), inputs[1]->shape(), 0);
  const ScatterReduce red = scatter_reduction(node);
  const std::vector<int64_t> idx = inputs[1]->to_int64();
  const size_t es = dtype_size(data.dtype());
  for (int64_t t = 0; t < p.per_batch; ++t) {
    const int64_t dst = nd_offset(node, p, idx, 0, t);
    for (int64_t e = 0; e < p.slice; ++e)
      scatter_one(y, dst + e, updates, t * p.slice + e, red, es);
  }
}

// ---- TopK

namespace {
int64_t topk_k(const InferContext& ctx) {
  if (ctx.opset < 10) return ctx.node.attr_int("k", -1);
  require_input(ctx, 1, "K");
  const Tensor& k = ctx.constant(1, "K");
  if (k.numel() != 1)
    fail("{}: K must hold one value, found shape {}", ctx.node.describe(), shape_str(k.shape()));
  return k.to_int64()[0];
}
}  // namespace

void infer_top_k(InferContext& ctx) {
  require_inputs(ctx, 1);
  const TensorType& x = ctx.inputs[0];
  if (!is_numeric(x.dtype)) fail_dtype(ctx.node, x.dtype);
  if (x.shape.empty()) fail("{}: input must have rank >= 1", ctx.node.describe());
  const int64_t axis = norm_axis(ctx.node, ctx.node.attr_int("axis", -1), x.shape.size());
  const int64_t k = topk_k(ctx);
  if (k < 0 || k > x.shape[axis])
    fail("{}: K = {} must be in [0, {}] (the size of axis {})", ctx.node.describe(), k,
         x.shape[axis], axis);
  Shape out = x.shape;
  out[axis] = k;
  ctx.outputs = {{x.dtype, out}, {DType::I64, out}};
}

void ref_top_k(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  Tensor& values = *outputs[0];
  const int64_t axis = norm_axis(node, node.attr_int("axis", -1), x.rank());
  const int64_t k = topk_k(context_of(node, opset, inputs));
  const bool largest = node.attr_int("largest", 1) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const int64_t n = x.dim(static_cast<int>(axis));
  const size_t es = dtype_size(x.dtype());
  int64_t* ip = outputs.size() > 1 && outputs[1] ? outputs[1]->data<int64_t>() : nullptr;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      for (int64_t i = 0; i < n; ++i) v[i] = element_as_double(x, (o * n + i) * inner + in);
      std::iota(order.begin(), order.end(), 0);
      // Equal values keep the lower index first, as ONNX specifies (stable sort).
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t a, int64_t b) { return largest ? v[a] > v[b] : v[a] < v[b]; });
      for (int64_t j = 0; j < k; ++j) {
        const int64_t dst = (o * k + j) * inner + in;
        std::memcpy(bytes(values) + dst * es, bytes(x) + ((o * n + order[j]) * inner + in) * es,
                    es);
        if (ip) ip[dst] = order[j];
      }
    }
}

// ---- CumSum

void infer_cum_sum(InferContext& ctx) {
  require_inputs(ctx, 2);
  if (!is_numeric(ctx.inputs[0].dtype)) fail_dtype(ctx.node, ctx.inputs[0].dtype);
  const DType at = ctx.inputs[1].dtype;
  if (at != DType::I32 && at != DType::I64) fail_dtype(ctx.node, at, "axis");
  if (ctx.inputs[0].shape.empty()) fail("{}: input must have rank >= 1", ctx.node.describe());
  ctx.outputs = {ctx.inputs[0]};
}

void ref_cum_sum(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                 std::span<Tensor* const> outputs) {
  if (inputs[1]->numel() != 1)
    fail("{}: axis must hold one value, found shape {}", node.describe(),
         shape_str(inputs[1]->shape()));
  const int64_t axis = norm_axis(node, inputs[1]->to_int64()[0], inputs[0]->rank());
  const bool exclusive = node.attr_int("exclusive", 0) != 0;
  const bool reverse = node.attr_int("reverse", 0) != 0;
  with_half_as_f32(inputs, outputs, [&](auto ins, auto outs) {
    const Tensor& x = *ins[0];
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const int64_t n = x.dim(static_cast<int>(axis));
    const bool ok = visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.template data<T>();
      T* yp = outs[0]->template data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t in = 0; in < inner; ++in) {
          T acc{0};
          for (int64_t s = 0; s < n; ++s) {
            const int64_t i = reverse ? n - 1 - s : s;
            const int64_t at = (o * n + i) * inner + in;
            if (exclusive) {
              yp[at] = acc;
              acc = static_cast<T>(acc + xp[at]);
            } else {
              acc = static_cast<T>(acc + xp[at]);
              yp[at] = acc;
            }
          }
        }
    });
    if (!ok) fail_dtype(node, x.dtype());
  });
}

// ---- Trilu, EyeLike

void infer_trilu(InferContext& ctx) {
  require_inputs(ctx, 1);
  if (ctx.inputs[0].shape.size() < 2)
    fail("{}: input must have rank >= 2, found {}", ctx.node.describe(),
         shape_str(ctx.inputs[0].shape));
  if (ctx.has_input(1) && ctx.inputs[1].dtype != DType::I64)
    fail_dtype(ctx.node, ctx.inputs[1].dtype, "k");
  ctx.outputs = {ctx.inputs[0]};
}

void ref_trilu(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  Tensor& y = *outputs[0];
  int64_t k = 0;
  if (inputs.size() > 1 && inputs[1]) {
    if (inputs[1]->numel() != 1)
      fail("{}: k must hold one value, found shape {}", node.describe(),
           shape_str(inputs[1]->shape()));
    k = inputs[1]->to_int64()[0];
  }
  const bool upper = node.attr_int("upper", 1) != 0;
  const int64_t rows = x.dim(-2), cols = x.dim(-1);
  const size_t es = dtype_size(x.dtype());
  std::memset(y.raw(), 0, y.nbytes());
  for (int64_t m = 0; m < x.numel() / std::max<int64_t>(rows * cols, 1); ++m)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        if (upper ? j - i < k : j - i > k) continue;
        const int64_t at = (m * rows + i) * cols + j;
        std::memcpy(bytes(y) + at * es, bytes(x) + at * es, es);
      }
}

void infer_eye_like(InferContext& ctx) {
  require_inputs(ctx, 1);
  if (ctx.inputs[0].shape.size() != 2)
    fail("{}: input must be 2-D, found {}", ctx.node.describe(), shape_str(ctx.inputs[0].shape));
  DType t = ctx.inputs[0].dtype;
  if (ctx.node.has_attr("dtype")) {
    const int64_t d = ctx.node.attr_int("dtype", 0);
    if (!dtype_valid(static_cast<int32_t>(d)))
      fail("{}: dtype {} is not supported", ctx.node.describe(), d);
    t = static_cast<DType>(d);
  }
  if (!is_numeric(t) && t != DType::Bool) fail_dtype(ctx.node, t, "output");
  ctx.outputs = {{t, ctx.inputs[0].shape}};
}

void ref_eye_like(const ir::Node& node, int64_t, std::span<const Tensor* const>,
                  std::span<Tensor* const> outputs) {
  Tensor& y = *outputs[0];
  const int64_t k = node.attr_int("k", 0);
  const int64_t rows = y.dim(0), cols = y.dim(1);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) store_double(y, i * cols + j, j - i == k ? 1.0 : 0.0);
}

// ---- OneHot

namespace {
int64_t one_hot_depth(const InferContext& ctx) {
  const Tensor& d = ctx.constant(1, "depth");
  if (d.numel() != 1)
    fail("{}: depth must hold one value, found shape {}", ctx.node.describe(),
         shape_str(d.shape()));
  const double v = element_as_double(d, 0);
  if (!(v >= 1)) fail("{}: depth must be >= 1, found {}", ctx.node.describe(), v);
  return static_cast<int64_t>(v);
}
}  // namespace

void infer_one_hot(InferContext& ctx) {
  require_inputs(ctx, 3);
  if (!is_numeric(ctx.inputs[0].dtype)) fail_dtype(ctx.node, ctx.inputs[0].dtype, "indices");
  if (shape_numel(ctx.inputs[2].shape) != 2)
    fail("{}: values must hold two elements [off, on], found shape {}", ctx.node.describe(),
         shape_str(ctx.inputs[2].shape));
  Shape out = ctx.inputs[0].shape;
  const int64_t axis =
      norm_axis(ctx.node, ctx.node.attr_int("axis", -1), static_cast<int64_t>(out.size()) + 1);
  out.insert(out.begin() + axis, one_hot_depth(ctx));
  ctx.outputs = {{ctx.inputs[2].dtype, out}};
}

void ref_one_hot(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                 std::span<Tensor* const> outputs) {
  const Tensor& indices = *inputs[0];
  const Tensor& values = *inputs[2];
  Tensor& y = *outputs[0];
  const int64_t axis = norm_axis(node, node.attr_int("axis", -1), y.rank());
  const int64_t depth = y.dim(static_cast<int>(axis));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= y.dim(d);
  for (int64_t d = axis + 1; d < y.rank(); ++d) inner *= y.dim(d);
  const size_t es = dtype_size(y.dtype());
  for (int64_t i = 0; i < y.numel(); ++i) std::memcpy(bytes(y) + i * es, bytes(values), es);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      // Indices may be any numeric type; fractions truncate, negatives count from depth, and
      // out-of-range ones leave the row all off.
      int64_t h = static_cast<int64_t>(element_as_double(indices, o * inner + in));
      if (h < 0) h += depth;
      if (h < 0 || h >= depth) continue;
      std::memcpy(bytes(y) + ((o * depth + h) * inner + in) * es, bytes(values) + es, es);
    }
}

// ---- ReverseSequence

void infer_reverse_sequence(InferContext& ctx) {
  require_inputs(ctx, 2);
  const Shape& x = ctx.inputs[0].shape;
  if (x.size() < 2) fail("{}: input must have rank >= 2", ctx.node.describe());
  const int64_t t = norm_axis(ctx.node, ctx.node.attr_int("time_axis", 0), 2, "time_axis");
  const int64_t b = norm_axis(ctx.node, ctx.node.attr_int("batch_axis", 1), 2, "batch_axis");
  if (t == b) fail("{}: time_axis and batch_axis must differ", ctx.node.describe());
  if (ctx.inputs[1].dtype != DType::I64) fail_dtype(ctx.node, ctx.inputs[1].dtype, "sequence_lens");
  if (ctx.inputs[1].shape != Shape{x[b]})
    fail("{}: sequence_lens must have shape [{}], found {}", ctx.node.describe(), x[b],
         shape_str(ctx.inputs[1].shape));
  ctx.outputs = {ctx.inputs[0]};
}

void ref_reverse_sequence(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                          std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  Tensor& y = *outputs[0];
  copy_all(x, y);
  const int64_t ta = norm_axis(node, node.attr_int("time_axis", 0), 2, "time_axis");
  const int64_t ba = 1 - ta;
  const std::vector<int64_t> lens = inputs[1]->to_int64();
  const std::vector<int64_t> st = strides_of(x.shape());
  const int64_t inner = st[1];  // elements per [dim0, dim1] position
  const int64_t steps = x.dim(static_cast<int>(ta));
  const size_t row = static_cast<size_t>(inner) * dtype_size(x.dtype());
  for (int64_t b = 0; b < x.dim(static_cast<int>(ba)); ++b) {
    const int64_t len = lens[b];
    if (len < 0 || len > steps)
      fail("{}: sequence_lens[{}] = {} is outside [0, {}]", node.describe(), b, len, steps);
    for (int64_t t = 0; t < len; ++t) {
      auto at = [&](int64_t time) {
        return (ta == 0 ? time * x.dim(1) + b : b * x.dim(1) + time) * row;
      };
      std::memcpy(bytes(y) + at(t), bytes(x) + at(len - 1 - t), row);
    }
  }
}

}  // namespace qbench::kernels::ref
