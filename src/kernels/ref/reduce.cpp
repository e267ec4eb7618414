// ReduceMean/Sum/Max/Min and ArgMax. Axes come from an attribute before opset 18 (before 13 for
// ReduceSum) and from an optional input after; no axes means all, unless noop_with_empty_axes.
#include <algorithm>
#include <limits>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
struct ReducePlan {
  bool noop = false;
  Shape kept;  // input shape with reduced dims set to 1
  Shape out;
};

ReducePlan reduce_plan(const InferContext& ctx) {
  const ir::Node& node = ctx.node;
  const Shape& x = ctx.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t since = node.op_type == "ReduceSum" ? 13 : 18;
  bool present = false;
  std::vector<int64_t> axes = axes_attr_or_input(ctx, since, 1, present);
  ReducePlan p;
  if (axes.empty() && node.attr_int("noop_with_empty_axes", 0) != 0) {
    p.noop = true;
    p.kept = p.out = x;
    return p;
  }
  std::vector<bool> reduce(rank, axes.empty());
  for (int64_t a : axes) reduce[norm_axis(node, a, rank, "reduction axis")] = true;
  const bool keep = node.attr_int("keepdims", 1) != 0;
  p.kept = x;
  for (int64_t i = 0; i < rank; ++i) {
    if (reduce[i]) p.kept[i] = 1;
    if (!reduce[i] || keep) p.out.push_back(p.kept[i]);
  }
  return p;
}

enum class ReduceKind { Mean, Sum, Max, Min };

template <typename T>
void reduce_typed(const ReducePlan& p, const Tensor& x, Tensor& y, ReduceKind kind) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  const int64_t n_out = shape_numel(p.kept);
  std::vector<Acc> acc(static_cast<size_t>(n_out));
  std::vector<int64_t> count(static_cast<size_t>(n_out), 0);
  const Acc init = kind == ReduceKind::Max   ? std::numeric_limits<Acc>::lowest()
                   : kind == ReduceKind::Min ? std::numeric_limits<Acc>::max()
                                             : Acc{0};
  if (std::is_floating_point_v<T> && (kind == ReduceKind::Max || kind == ReduceKind::Min))
    std::fill(acc.begin(), acc.end(), kind == ReduceKind::Max ? -INFINITY : INFINITY);
  else
    std::fill(acc.begin(), acc.end(), init);
  const T* xp = x.data<T>();
  for_each_broadcast<1>(x.shape(), {p.kept}, [&](int64_t i, const int64_t* off) {
    Acc& a = acc[off[0]];
    const Acc v = static_cast<Acc>(xp[i]);
    switch (kind) {
      case ReduceKind::Mean:
      case ReduceKind::Sum:
        a += v;
        break;
      case ReduceKind::Max:
        a = (v > a || v != v) ? v : a;
        break;
      case ReduceKind::Min:
        a = (v < a || v != v) ? v : a;
        break;
    }
    ++count[off[0]];
  });
  T* yp = y.data<T>();
  for (int64_t i = 0; i < n_out; ++i) {
    Acc v = acc[i];
    if (kind == ReduceKind::Mean) v = count[i] ? v / static_cast<Acc>(count[i]) : Acc{0};
    yp[i] = static_cast<T>(v);
  }
}

void reduce_run(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                Tensor& y, ReduceKind kind) {
  InferContext ctx = context_of(node, opset, inputs);
  ReducePlan p = reduce_plan(ctx);
  const Tensor& x = *inputs[0];
  if (p.noop) {
    if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
    return;
  }
  switch (x.dtype()) {
    case DType::F32:
      reduce_typed<float>(p, x, y, kind);
      break;
    case DType::I32:
      reduce_typed<int32_t>(p, x, y, kind);
      break;
    case DType::I64:
      reduce_typed<int64_t>(p, x, y, kind);
      break;
    default:
      fail_dtype(node, x.dtype());
  }
}
}  // namespace

void infer_reduce(InferContext& ctx) {
  require_inputs(ctx, 1);
  const DType t = ctx.inputs[0].dtype;
  if (t != DType::F32 && t != DType::I32 && t != DType::I64) fail_dtype(ctx.node, t);
  ctx.outputs = {{t, reduce_plan(ctx).out}};
}

void ref_reduce_mean(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                     std::span<Tensor* const> outputs) {
  reduce_run(node, opset, inputs, *outputs[0], ReduceKind::Mean);
}
void ref_reduce_sum(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  reduce_run(node, opset, inputs, *outputs[0], ReduceKind::Sum);
}
void ref_reduce_max(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  reduce_run(node, opset, inputs, *outputs[0], ReduceKind::Max);
}
void ref_reduce_min(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  reduce_run(node, opset, inputs, *outputs[0], ReduceKind::Min);
}

void infer_arg_max(InferContext& ctx) {
  require_inputs(ctx, 1);
  const DType t = ctx.inputs[0].dtype;
  if (t != DType::F32 && t != DType::I32 && t != DType::I64) fail_dtype(ctx.node, t);
  Shape s = ctx.inputs[0].shape;
  if (s.empty()) fail("{}: input must have rank >= 1", ctx.node.describe());
  const int64_t axis = norm_axis(ctx.node, ctx.node.attr_int("axis", 0), s.size());
  if (s[axis] == 0) fail("{}: cannot take ArgMax over an empty axis", ctx.node.describe());
  if (ctx.node.attr_int("keepdims", 1) != 0)
    s[axis] = 1;
  else
    s.erase(s.begin() + axis);
  ctx.outputs = {{DType::I64, s}};
}

void ref_arg_max(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                 std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const int64_t axis = norm_axis(node, node.attr_int("axis", 0), x.rank());
  const bool last = node.attr_int("select_last_index", 0) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int64_t i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  const int64_t n = x.dim(axis);
  int64_t* yp = outputs[0]->data<int64_t>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      int64_t best = 0;
      double bv = element_as_double(x, o * n * inner + in);
      for (int64_t i = 1; i < n; ++i) {
        const double v = element_as_double(x, (o * n + i) * inner + in);
        if (v > bv || (last && v == bv)) {
          bv = v;
          best = i;
        }
      }
      yp[o * inner + in] = best;
    }
}

}  // namespace qbench::kernels::ref
