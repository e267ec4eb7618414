// ReduceMean/Sum/Max/Min and ArgMax. Axes come from an attribute before opset 18 (before 13 for
// ReduceSum) and from an optional input after; no axes means all, unless noop_with_empty_axes.
#include <algorithm>
#include <limits>

#include "kernels/ref/dispatch.h"
#include "kernels/ref/ops.h"

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

enum class ReduceKind { Mean, Sum, Max, Min, L1, L2, LogSum, LogSumExp, Prod, SumSquare };

// Accumulates in Acc (double for floats and for the kinds whose result is not an integer
// formula, int64 otherwise) and rounds once into T.
template <typename T, typename Acc>
void reduce_typed(const ReducePlan& p, const Tensor& x, Tensor& y, ReduceKind kind) {
  const int64_t n_out = shape_numel(p.kept);
  const T* xp = x.data<T>();
  std::vector<Acc> acc(static_cast<size_t>(n_out));
  std::vector<int64_t> count(static_cast<size_t>(n_out), 0);
  // LogSumExp subtracts each output's maximum before exponentiating, so large inputs do not
  // overflow.
  std::vector<double> shift;
  if (kind == ReduceKind::LogSumExp) {
    shift.assign(static_cast<size_t>(n_out), -INFINITY);
    for_each_broadcast<1>(x.shape(), {p.kept}, [&](int64_t i, const int64_t* off) {
      shift[off[0]] = std::max(shift[off[0]], static_cast<double>(xp[i]));
    });
    for (double& s : shift)
      if (!std::isfinite(s)) s = 0;
  }
  Acc init{0};
  if (kind == ReduceKind::Prod) init = Acc{1};
  if (kind == ReduceKind::Max) init = std::numeric_limits<Acc>::lowest();
  if (kind == ReduceKind::Min) init = std::numeric_limits<Acc>::max();
  if constexpr (std::is_floating_point_v<Acc>) {
    if (kind == ReduceKind::Max) init = -INFINITY;
    if (kind == ReduceKind::Min) init = INFINITY;
  }
  std::fill(acc.begin(), acc.end(), init);
  for_each_broadcast<1>(x.shape(), {p.kept}, [&](int64_t i, const int64_t* off) {
    Acc& a = acc[off[0]];
    const Acc v = static_cast<Acc>(xp[i]);
    switch (kind) {
      case ReduceKind::Mean:
      case ReduceKind::Sum:
      case ReduceKind::LogSum:
        a += v;
        break;
      case ReduceKind::Max:
        a = (v > a || v != v) ? v : a;
        break;
      case ReduceKind::Min:
        a = (v < a || v != v) ? v : a;
        break;
      case ReduceKind::L1:
        a += v < 0 ? -v : v;
        break;
      case ReduceKind::L2:
      case ReduceKind::SumSquare:
        a += v * v;
        break;
      case ReduceKind::Prod:
        a *= v;
        break;
      case ReduceKind::LogSumExp:
        a += static_cast<Acc>(std::exp(static_cast<double>(xp[i]) - shift[off[0]]));
        break;
    }
    ++count[off[0]];
  });
  T* yp = y.data<T>();
  for (int64_t i = 0; i < n_out; ++i) {
    Acc v = acc[i];
    switch (kind) {
      case ReduceKind::Mean:
        v = count[i] ? v / static_cast<Acc>(count[i]) : Acc{0};
        break;
      case ReduceKind::L2:
        v = static_cast<Acc>(std::sqrt(static_cast<double>(v)));
        break;
      case ReduceKind::LogSum:
        v = static_cast<Acc>(std::log(static_cast<double>(v)));
        break;
      case ReduceKind::LogSumExp:
        v = static_cast<Acc>(std::log(static_cast<double>(v)) + shift[i]);
        break;
      default:
        break;
    }
    yp[i] = static_cast<T>(v);
  }
}

void reduce_run(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                Tensor& y, ReduceKind kind) {
  InferContext ctx = context_of(node, opset, inputs);
  ReducePlan p = reduce_plan(ctx);
  if (p.noop) {
    const Tensor& x = *inputs[0];
    if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
    return;
  }
  Tensor* outs[1] = {&y};
  with_half_as_f32(inputs.first(1), outs, [&](auto ins, auto o) {
    const Tensor& x = *ins[0];
    const bool real =
        kind == ReduceKind::L2 || kind == ReduceKind::LogSum || kind == ReduceKind::LogSumExp;
    const bool ok = visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_floating_point_v<T>) {
        reduce_typed<T, double>(p, x, *o[0], kind);
      } else if (real) {
        reduce_typed<T, double>(p, x, *o[0], kind);
      } else if constexpr (std::is_unsigned_v<T>) {
        reduce_typed<T, uint64_t>(p, x, *o[0], kind);
      } else {
        reduce_typed<T, int64_t>(p, x, *o[0], kind);
      }
    });
    if (!ok) fail_dtype(node, x.dtype());
  });
}
}  // namespace

void infer_reduce(InferContext& ctx) {
  require_inputs(ctx, 1);
  const DType t = ctx.inputs[0].dtype;
  if (!is_numeric(t)) fail_dtype(ctx.node, t);
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

void ref_reduce_l1(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                   std::span<Tensor* const> outputs) {
  reduce_run(node, opset, inputs, *outputs[0], ReduceKind::L1);
}
void ref_reduce_l2(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                   std::span<Tensor* const> outputs) {
  reduce_run(node, opset, inputs, *outputs[0], ReduceKind::L2);
}
void ref_reduce_log_sum(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                        std::span<Tensor* const> outputs) {
  reduce_run(node, opset, inputs, *outputs[0], ReduceKind::LogSum);
}
void ref_reduce_log_sum_exp(const ir::Node& node, int64_t opset,
                            std::span<const Tensor* const> inputs,
                            std::span<Tensor* const> outputs) {
  reduce_run(node, opset, inputs, *outputs[0], ReduceKind::LogSumExp);
}
void ref_reduce_prod(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                     std::span<Tensor* const> outputs) {
  reduce_run(node, opset, inputs, *outputs[0], ReduceKind::Prod);
}
void ref_reduce_sum_square(const ir::Node& node, int64_t opset,
                           std::span<const Tensor* const> inputs,
                           std::span<Tensor* const> outputs) {
  reduce_run(node, opset, inputs, *outputs[0], ReduceKind::SumSquare);
}

// ArgMax and ArgMin share inference.
void infer_arg_max(InferContext& ctx) {
  require_inputs(ctx, 1);
  const DType t = ctx.inputs[0].dtype;
  if (!is_numeric(t)) fail_dtype(ctx.node, t);
  Shape s = ctx.inputs[0].shape;
  if (s.empty()) fail("{}: input must have rank >= 1", ctx.node.describe());
  const int64_t axis = norm_axis(ctx.node, ctx.node.attr_int("axis", 0), s.size());
  if (s[axis] == 0)
    fail("{}: cannot take {} over an empty axis", ctx.node.describe(), ctx.node.op_type);
  if (ctx.node.attr_int("keepdims", 1) != 0)
    s[axis] = 1;
  else
    s.erase(s.begin() + axis);
  ctx.outputs = {{DType::I64, s}};
}

namespace {
// Index of the largest (or smallest) element along the axis: the first one on ties, the last
// with select_last_index.
void arg_extreme(const ir::Node& node, const Tensor& x, Tensor& y, bool largest) {
  const int64_t axis = norm_axis(node, node.attr_int("axis", 0), x.rank());
  const bool last = node.attr_int("select_last_index", 0) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int64_t i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  const int64_t n = x.dim(axis);
  int64_t* yp = y.data<int64_t>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      int64_t best = 0;
      double bv = element_as_double(x, o * n * inner + in);
      for (int64_t i = 1; i < n; ++i) {
        const double v = element_as_double(x, (o * n + i) * inner + in);
        const bool better = largest ? v > bv : v < bv;
        if (better || (last && v == bv)) {
          bv = v;
          best = i;
        }
      }
      yp[o * inner + in] = best;
    }
}
}  // namespace

void ref_arg_max(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                 std::span<Tensor* const> outputs) {
  arg_extreme(node, *inputs[0], *outputs[0], true);
}
void ref_arg_min(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                 std::span<Tensor* const> outputs) {
  arg_extreme(node, *inputs[0], *outputs[0], false);
}

}  // namespace qbench::kernels::ref
