// DepthToSpace (DCR and CRD), SpaceToDepth, MaxUnpool and MaxPool's Indices output.
#include <algorithm>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
int64_t block_size(const InferContext& ctx) {
  const int64_t b = ctx.node.attr_int("blocksize", 0);
  if (b <= 0) fail("{}: attribute blocksize must be a positive integer", ctx.node.describe());
  if (ctx.inputs[0].shape.size() != 4)
    fail("{}: input must be 4-D [N, C, H, W], found shape {}", ctx.node.describe(),
         shape_str(ctx.inputs[0].shape));
  return b;
}

// Copies x, viewed as `view` (a 6-D reshape of it), transposed by `perm` into y (any dtype).
void permute6(const Tensor& x, Tensor& y, const Shape& view, const int (&perm)[6]) {
  const std::vector<int64_t> vs = strides_of(view);
  Shape out(6);
  std::vector<int64_t> st(6);
  for (int i = 0; i < 6; ++i) out[i] = view[perm[i]], st[i] = vs[perm[i]];
  const size_t es = dtype_size(x.dtype());
  const char* xp = static_cast<const char*>(x.raw());
  char* yp = static_cast<char*>(y.raw());
  for_each_strided<1>(out, {st}, nullptr, [&](int64_t i, const int64_t* off) {
    std::memcpy(yp + i * es, xp + off[0] * es, es);
  });
}
}  // namespace

void infer_depth_to_space(InferContext& ctx) {
  require_inputs(ctx, 1);
  const int64_t b = block_size(ctx);
  const Shape& x = ctx.inputs[0].shape;
  if (x[1] % (b * b) != 0)
    fail("{}: channels ({}) must be divisible by blocksize^2 ({})", ctx.node.describe(), x[1],
         b * b);
  const std::string mode = ctx.node.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD")
    fail("{}: mode '{}' is not one of DCR, CRD", ctx.node.describe(), mode);
  ctx.outputs = {{ctx.inputs[0].dtype, {x[0], x[1] / (b * b), x[2] * b, x[3] * b}}};
}

void ref_depth_to_space(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                        std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const int64_t b = node.attr_int("blocksize", 1);
  const int64_t n = x.dim(0), c = x.dim(1) / (b * b), h = x.dim(2), w = x.dim(3);
  if (node.attr_string("mode", "DCR") == "DCR")
    permute6(x, *outputs[0], {n, b, b, c, h, w}, {0, 3, 4, 1, 5, 2});
  else
    permute6(x, *outputs[0], {n, c, b, b, h, w}, {0, 1, 4, 2, 5, 3});
}

void infer_space_to_depth(InferContext& ctx) {
  require_inputs(ctx, 1);
  const int64_t b = block_size(ctx);
  const Shape& x = ctx.inputs[0].shape;
  if (x[2] % b != 0 || x[3] % b != 0)
    fail("{}: height and width ({}, {}) must be divisible by blocksize {}", ctx.node.describe(),
         x[2], x[3], b);
  ctx.outputs = {{ctx.inputs[0].dtype, {x[0], x[1] * b * b, x[2] / b, x[3] / b}}};
}

void ref_space_to_depth(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                        std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const int64_t b = node.attr_int("blocksize", 1);
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2) / b, w = x.dim(3) / b;
  permute6(x, *outputs[0], {n, c, h, b, w, b}, {0, 3, 5, 1, 2, 4});
}

void max_pool_indices(const ir::Node& node, const Tensor& x, const WindowGeom& g, Tensor& idx) {
  const int64_t ns = static_cast<int64_t>(g.out.size());
  const bool col_major = node.attr_int("storage_order", 0) != 0;
  const Shape spatial(x.shape().begin() + 2, x.shape().end());
  const int64_t plane = shape_numel(spatial), planes = x.dim(0) * x.dim(1);
  // Flat offsets of spatial positions in the input (row-major) and as reported (storage_order).
  std::vector<int64_t> rs = strides_of(spatial), cs(ns);
  int64_t acc = 1;
  for (int64_t i = 0; i < ns; ++i) cs[i] = acc, acc *= spatial[i];
  const std::vector<int64_t>& report = col_major ? cs : rs;
  const float* xp = x.data<float>();
  int64_t* ip = idx.data<int64_t>();
  const int64_t out_plane = shape_numel(g.out);
  std::vector<int64_t> o(ns), k(ns);
  for (int64_t p = 0; p < planes; ++p) {
    std::fill(o.begin(), o.end(), 0);
    for (int64_t j = 0; j < out_plane; ++j) {
      float best = -INFINITY;
      int64_t best_at = -1;
      std::fill(k.begin(), k.end(), 0);
      // Walk the window in row-major order; the first maximum wins, as in ONNX Runtime.
      for (bool more = true; more;) {
        int64_t off = 0, rep = 0;
        bool inside = true;
        for (int64_t i = 0; i < ns; ++i) {
          const int64_t v = o[i] * g.strides[i] - g.pad_begin[i] + k[i] * g.dilations[i];
          if (v < 0 || v >= spatial[i]) inside = false;
          off += v * rs[i], rep += v * report[i];
        }
        if (inside) {
          const float val = xp[p * plane + off];
          if (best_at < 0 || val > best) best = val, best_at = rep;
        }
        more = false;
        for (int64_t i = ns - 1; i >= 0; --i) {
          if (++k[i] < g.kernel[i]) {
            more = true;
            break;
          }
          k[i] = 0;
        }
      }
      ip[p * out_plane + j] = p * plane + std::max<int64_t>(best_at, 0);
      for (int64_t i = ns - 1; i >= 0; --i) {
        if (++o[i] < g.out[i]) break;
        o[i] = 0;
      }
    }
  }
}

namespace {
// The unpooled shape implied by the attributes (the inverse of the pool's output size).
Shape max_unpool_inferred(const ir::Node& node, const Shape& x) {
  if (x.size() < 3)
    fail("{}: input must have rank >= 3, found shape {}", node.describe(), shape_str(x));
  const size_t ns = x.size() - 2;
  const auto ks = node.attr_ints("kernel_shape");
  const auto st = node.attr_ints("strides", std::vector<int64_t>(ns, 1));
  const auto pads = node.attr_ints("pads", std::vector<int64_t>(2 * ns, 0));
  if (ks.size() != ns || st.size() != ns || pads.size() != 2 * ns)
    fail("{}: kernel_shape, strides and pads must cover {} spatial dims", node.describe(), ns);
  Shape out{x[0], x[1]};
  for (size_t i = 0; i < ns; ++i)
    out.push_back((x[2 + i] - 1) * st[i] + ks[i] - pads[i] - pads[ns + i]);
  return out;
}

// MaxUnpool's output shape: the output_shape input when given, else the inferred shape.
Shape max_unpool_shape(const InferContext& ctx) {
  const Shape inferred = max_unpool_inferred(ctx.node, ctx.inputs[0].shape);
  if (!ctx.has_input(2)) return inferred;
  const Tensor& s = ctx.constant(2, "output_shape");
  Shape out;
  for (int64_t i = 0; i < s.numel(); ++i)
    out.push_back(static_cast<int64_t>(element_as_double(s, i)));
  if (out.size() != inferred.size())
    fail("{}: output_shape {} must have rank {}", ctx.node.describe(), shape_str(out),
         inferred.size());
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i] < inferred[i])
      fail("{}: output_shape {} is smaller than the unpooled shape {}", ctx.node.describe(),
           shape_str(out), shape_str(inferred));
  return out;
}
}  // namespace

void infer_max_unpool(InferContext& ctx) {
  require_inputs(ctx, 2);
  if (ctx.inputs[0].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[0].dtype, "X");
  if (ctx.inputs[1].dtype != DType::I64) fail_dtype(ctx.node, ctx.inputs[1].dtype, "I");
  if (ctx.inputs[1].shape != ctx.inputs[0].shape)
    fail("{}: indices I {} must have X's shape {}", ctx.node.describe(),
         shape_str(ctx.inputs[1].shape), shape_str(ctx.inputs[0].shape));
  ctx.outputs = {{DType::F32, max_unpool_shape(ctx)}};
}

void ref_max_unpool(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                    std::span<Tensor* const> outputs) {
  // As in ONNX's reference: indices address the inferred (unpooled) shape; a larger
  // output_shape holds that result in its leading corner, zeros elsewhere.
  const Shape inferred = max_unpool_inferred(node, inputs[0]->shape());
  const int64_t n = shape_numel(inferred);
  std::vector<float> y(static_cast<size_t>(n), 0.0f);
  const float* xp = inputs[0]->data<float>();
  const int64_t* ip = inputs[1]->data<int64_t>();
  for (int64_t i = 0; i < inputs[0]->numel(); ++i) {
    if (ip[i] < 0 || ip[i] >= n)
      fail("{}: index {} is outside the unpooled shape {}", node.describe(), ip[i],
           shape_str(inferred));
    y[ip[i]] = xp[i];
  }
  Tensor& out = *outputs[0];
  float* op = out.data<float>();
  std::fill(op, op + out.numel(), 0.0f);
  const std::vector<int64_t> os = strides_of(out.shape());
  for_each_strided<1>(inferred, {os}, nullptr,
                      [&](int64_t i, const int64_t* off) { op[off[0]] = y[i]; });
}

}  // namespace qbench::kernels::ref
