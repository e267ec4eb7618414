// Ops with data-dependent output shapes: their infer functions compute from the input values
// (InferContext::constant), so with run-time data the engine runs them in dynamic mode.
#include "kernels/ref/dynamic_ops.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>

#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {

int64_t prod(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= s[i];
  return p;
}

// Three-way comparison of elements i and j of two tensors of the same dtype; int64 compares
// exactly, the rest as double.
int compare_elements(const Tensor& a, int64_t i, const Tensor& b, int64_t j) {
  if (a.dtype() == DType::I64) {
    const int64_t x = a.data<int64_t>()[i], y = b.data<int64_t>()[j];
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const double x = element_as_double(a, i), y = element_as_double(b, j);
  return x < y ? -1 : (x > y ? 1 : 0);
}

}  // namespace

// ---- NonZero

void infer_non_zero(InferContext& ctx) {
  require_input(ctx, 0, "X");
  const Tensor& x = ctx.constant(0, "X");
  int64_t n = 0;
  for (int64_t i = 0; i < x.numel(); ++i) n += element_as_double(x, i) != 0;
  ctx.outputs = {{DType::I64, {x.rank(), n}}};
}

void ref_non_zero(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                  std::span<Tensor* const> outputs) {
  (void)node;
  (void)opset;
  const Tensor& x = *inputs[0];
  Tensor& y = *outputs[0];
  const int64_t n = y.dim(1);
  const std::vector<int64_t> st = strides_of(x.shape());
  int64_t* out = y.data<int64_t>();
  int64_t k = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (element_as_double(x, i) == 0) continue;
    for (int d = 0; d < x.rank(); ++d) out[d * n + k] = (i / st[d]) % x.shape()[d];
    k++;
  }
}

// ---- Unique

namespace {

struct UniqueResult {
  Shape y_shape;
  std::vector<int64_t> first;    // index of each unique slice's first occurrence
  std::vector<int64_t> inverse;  // for each slice, its unique index
  std::vector<int64_t> counts;
};

// Slices along `axis` (or single elements of the flattened input) compared lexicographically,
// as numpy.unique does after moving the axis to the front.
UniqueResult unique_of(const ir::Node& node, const Tensor& x) {
  const bool has_axis = node.has_attr("axis");
  int64_t outer = 1, n = x.numel(), inner = 1, axis = 0;
  if (has_axis) {
    axis = norm_axis(node, node.attr_int("axis", 0), x.rank());
    outer = prod(x.shape(), 0, axis);
    n = x.shape()[axis];
    inner = prod(x.shape(), axis + 1, x.shape().size());
  }
  auto cmp = [&](int64_t a, int64_t b) {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * n * inner + i;
        if (int c = compare_elements(x, base + a * inner, x, base + b * inner)) return c;
      }
    return 0;
  };
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
  // Groups of equal slices in sorted order; each group's first member is its first occurrence.
  std::vector<int64_t> group_of(n);
  std::vector<int64_t> group_first;
  for (int64_t k = 0; k < n; ++k) {
    if (k == 0 || cmp(order[k - 1], order[k]) != 0) group_first.push_back(order[k]);
    group_of[order[k]] = static_cast<int64_t>(group_first.size()) - 1;
  }
  const int64_t u = static_cast<int64_t>(group_first.size());
  // Output order: sorted groups, or by first occurrence.
  std::vector<int64_t> rank(u);
  std::iota(rank.begin(), rank.end(), 0);
  if (node.attr_int("sorted", 1) == 0)
    std::sort(rank.begin(), rank.end(),
              [&](int64_t a, int64_t b) { return group_first[a] < group_first[b]; });
  std::vector<int64_t> position(u);
  for (int64_t p = 0; p < u; ++p) position[rank[p]] = p;
  UniqueResult r;
  r.first.resize(u);
  r.counts.assign(u, 0);
  for (int64_t g = 0; g < u; ++g) r.first[position[g]] = group_first[g];
  for (int64_t k = 0; k < n; ++k) {
    r.inverse.push_back(position[group_of[k]]);
    r.counts[position[group_of[k]]]++;
  }
  if (has_axis) {
    r.y_shape = x.shape();
    r.y_shape[axis] = u;
  } else {
    r.y_shape = {u};
  }
  return r;
}

}  // namespace

void infer_unique(InferContext& ctx) {
  require_input(ctx, 0, "X");
  const Tensor& x = ctx.constant(0, "X");
  UniqueResult r = unique_of(ctx.node, x);
  const int64_t u = static_cast<int64_t>(r.first.size());
  ctx.outputs = {{x.dtype(), r.y_shape},
                 {DType::I64, {u}},
                 {DType::I64, {static_cast<int64_t>(r.inverse.size())}},
                 {DType::I64, {u}}};
}

void ref_unique(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs) {
  (void)opset;
  const Tensor& x = *inputs[0];
  UniqueResult r = unique_of(node, x);
  Tensor& y = *outputs[0];
  const bool has_axis = node.has_attr("axis");
  const int64_t axis = has_axis ? norm_axis(node, node.attr_int("axis", 0), x.rank()) : 0;
  const int64_t outer = has_axis ? prod(x.shape(), 0, axis) : 1;
  const int64_t n = has_axis ? x.shape()[axis] : x.numel();
  const int64_t inner_bytes = (has_axis ? prod(x.shape(), axis + 1, x.shape().size()) : 1) *
                              static_cast<int64_t>(dtype_size(x.dtype()));
  const int64_t u = static_cast<int64_t>(r.first.size());
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y.raw());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t p = 0; p < u; ++p)
      std::memcpy(dst + (o * u + p) * inner_bytes, src + (o * n + r.first[p]) * inner_bytes,
                  static_cast<size_t>(inner_bytes));
  const std::vector<int64_t>* lists[] = {&r.first, &r.inverse, &r.counts};
  for (size_t k = 0; k < 3; ++k)
    if (outputs.size() > k + 1 && outputs[k + 1] && !lists[k]->empty())
      std::memcpy(outputs[k + 1]->raw(), lists[k]->data(), lists[k]->size() * sizeof(int64_t));
}

// ---- Compress

namespace {

// Indices along the axis (or of the flattened input) whose condition is true.
std::vector<int64_t> compress_selected(const ir::Node& node, const Tensor& cond, int64_t len) {
  if (cond.rank() != 1)
    fail("{}: condition must be 1-D, got {}", node.describe(), shape_str(cond.shape()));
  std::vector<int64_t> sel;
  for (int64_t i = 0; i < cond.numel(); ++i) {
    if (element_as_double(cond, i) == 0) continue;
    if (i >= len)
      fail("{}: condition selects index {} but the input has only {} along the axis",
           node.describe(), i, len);
    sel.push_back(i);
  }
  return sel;
}

}  // namespace

void infer_compress(InferContext& ctx) {
  require_input(ctx, 0, "input");
  require_input(ctx, 1, "condition");
  const TensorType& x = ctx.inputs[0];
  const Tensor& cond = ctx.constant(1, "condition");
  if (ctx.node.has_attr("axis")) {
    const int64_t axis =
        norm_axis(ctx.node, ctx.node.attr_int("axis", 0), static_cast<int64_t>(x.shape.size()));
    Shape out = x.shape;
    out[axis] = static_cast<int64_t>(compress_selected(ctx.node, cond, x.shape[axis]).size());
    ctx.outputs = {{x.dtype, out}};
  } else {
    const int64_t n =
        static_cast<int64_t>(compress_selected(ctx.node, cond, shape_numel(x.shape)).size());
    ctx.outputs = {{x.dtype, {n}}};
  }
}

void ref_compress(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                  std::span<Tensor* const> outputs) {
  (void)opset;
  const Tensor& x = *inputs[0];
  const bool has_axis = node.has_attr("axis");
  const int64_t axis = has_axis ? norm_axis(node, node.attr_int("axis", 0), x.rank()) : 0;
  const int64_t outer = has_axis ? prod(x.shape(), 0, axis) : 1;
  const int64_t n = has_axis ? x.shape()[axis] : x.numel();
  const int64_t inner_bytes = (has_axis ? prod(x.shape(), axis + 1, x.shape().size()) : 1) *
                              static_cast<int64_t>(dtype_size(x.dtype()));
  const std::vector<int64_t> sel = compress_selected(node, *inputs[1], n);
  const int64_t m = static_cast<int64_t>(sel.size());
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(outputs[0]->raw());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < m; ++k)
      std::memcpy(dst + (o * m + k) * inner_bytes, src + (o * n + sel[k]) * inner_bytes,
                  static_cast<size_t>(inner_bytes));
}

// ---- NonMaxSuppression

namespace {

// Selected (batch, class, box) triples, following ONNX Runtime: boxes scoring above
// score_threshold (when given) in descending score order, each kept unless its IoU with an
// already kept box of the same class exceeds iou_threshold.
std::vector<int64_t> nms_select(const ir::Node& node, std::span<const Tensor* const> in) {
  const Tensor& boxes = *in[0];
  const Tensor& scores = *in[1];
  if (boxes.rank() != 3 || boxes.shape()[2] != 4)
    fail("{}: boxes must be [batches, boxes, 4], got {}", node.describe(),
         shape_str(boxes.shape()));
  if (scores.rank() != 3 || scores.shape()[0] != boxes.shape()[0] ||
      scores.shape()[2] != boxes.shape()[1])
    fail("{}: scores must be [batches, classes, boxes] matching boxes {}, got {}", node.describe(),
         shape_str(boxes.shape()), shape_str(scores.shape()));
  const int64_t max_out = in.size() > 2 && in[2] && in[2]->numel() ? in[2]->to_int64()[0] : 0;
  const float iou_th = in.size() > 3 && in[3] && in[3]->numel() ? in[3]->to_float()[0] : 0.0f;
  const bool has_score_th = in.size() > 4 && in[4] && in[4]->numel();
  const float score_th = has_score_th ? in[4]->to_float()[0] : 0.0f;
  const bool center = node.attr_int("center_point_box", 0) != 0;
  const std::vector<float> b = boxes.to_float(), s = scores.to_float();
  const int64_t nb = boxes.shape()[0], nc = scores.shape()[1], n = boxes.shape()[1];
  // Corners as (y1, x1, y2, x2) with y1 <= y2, x1 <= x2.
  auto corners = [&](int64_t batch, int64_t i) {
    const float* p = &b[(batch * n + i) * 4];
    std::array<float, 4> c;
    if (center) {
      c = {p[1] - p[3] / 2, p[0] - p[2] / 2, p[1] + p[3] / 2, p[0] + p[2] / 2};
    } else {
      c = {std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]), std::max(p[1], p[3])};
    }
    return c;
  };
  auto iou = [&](const std::array<float, 4>& a, const std::array<float, 4>& c) {
    const float ih = std::min(a[2], c[2]) - std::max(a[0], c[0]);
    const float iw = std::min(a[3], c[3]) - std::max(a[1], c[1]);
    if (ih <= 0 || iw <= 0) return 0.0f;
    const float inter = ih * iw;
    const float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_c = (c[2] - c[0]) * (c[3] - c[1]);
    const float uni = area_a + area_c - inter;
    return uni <= 0 ? 0.0f : inter / uni;
  };
  std::vector<int64_t> out;
  for (int64_t batch = 0; batch < nb; ++batch)
    for (int64_t cls = 0; cls < nc; ++cls) {
      const float* sc = &s[(batch * nc + cls) * n];
      std::vector<int64_t> cand;
      for (int64_t i = 0; i < n; ++i)
        if (!has_score_th || sc[i] > score_th) cand.push_back(i);
      std::stable_sort(cand.begin(), cand.end(),
                       [&](int64_t x, int64_t y) { return sc[x] > sc[y]; });
      std::vector<std::array<float, 4>> kept;
      for (int64_t i : cand) {
        if (static_cast<int64_t>(kept.size()) >= max_out) break;
        const auto c = corners(batch, i);
        bool suppressed = false;
        for (const auto& k : kept) suppressed = suppressed || iou(k, c) > iou_th;
        if (suppressed) continue;
        kept.push_back(c);
        out.insert(out.end(), {batch, cls, i});
      }
    }
  return out;
}

}  // namespace

void infer_non_max_suppression(InferContext& ctx) {
  require_input(ctx, 0, "boxes");
  require_input(ctx, 1, "scores");
  std::vector<const Tensor*> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    in.push_back(ctx.has_input(i) ? &ctx.constant(i, i == 0 ? "boxes" : "scores and thresholds")
                                  : nullptr);
  const int64_t n = static_cast<int64_t>(nms_select(ctx.node, in).size()) / 3;
  ctx.outputs = {{DType::I64, {n, 3}}};
}

void ref_non_max_suppression(const ir::Node& node, int64_t opset,
                             std::span<const Tensor* const> inputs,
                             std::span<Tensor* const> outputs) {
  (void)opset;
  const std::vector<int64_t> sel = nms_select(node, inputs);
  if (!sel.empty()) std::memcpy(outputs[0]->raw(), sel.data(), sel.size() * sizeof(int64_t));
}

// ---- If, Loop, Scan, sequences, optionals

void infer_control_flow(InferContext& ctx) {
  fail_data_dependent(ctx.node, "the result of control flow or a sequence op");
}

void ref_control_flow(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                      std::span<Tensor* const> outputs) {
  (void)opset;
  (void)inputs;
  (void)outputs;
  fail("{}: control flow, sequences and optionals run only inside the engine's interpreter",
       node.describe());
}

}  // namespace qbench::kernels::ref
