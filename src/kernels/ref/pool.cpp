// MaxPool, AveragePool (1-D and 2-D) and the global pools (any spatial rank).
#include <algorithm>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
WindowGeom pool_geometry(const ir::Node& node, const Shape& x) {
  if (x.size() != 3 && x.size() != 4)
    fail("{}: input must be rank 3 (1-D pool) or 4 (2-D pool), found shape {}", node.describe(),
         shape_str(x));
  if (!node.has_attr("kernel_shape"))
    fail("{}: attribute kernel_shape is required", node.describe());
  Shape spatial(x.begin() + 2, x.end());
  return window_geometry(node, spatial, node.attr_ints("kernel_shape"),
                         node.attr_int("ceil_mode", 0) != 0);
}

void infer_pool(InferContext& ctx) {
  require_inputs(ctx, 1);
  if (ctx.inputs[0].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[0].dtype);
  const Shape& x = ctx.inputs[0].shape;
  WindowGeom g = pool_geometry(ctx.node, x);
  Shape out{x[0], x[1]};
  out.insert(out.end(), g.out.begin(), g.out.end());
  ctx.outputs = {{DType::F32, out}};
}

// Window walk shared by both pools, on 2-D planes (1-D pools have height 1). `visit` gets the
// window bounds for one output element and returns its value.
template <typename F>
void pool_planes(const WindowGeom& g, const Tensor& x, Tensor& y, F&& visit) {
  const bool one_d = g.out.size() == 1;
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t ih = one_d ? 1 : x.dim(2), iw = x.dim(-1);
  const int64_t oh = one_d ? 1 : g.out[0], ow = g.out.back();
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  struct Axis {
    int64_t in, k, s, d, pb, pe;
  };
  Axis ah = one_d
                ? Axis{1, 1, 1, 1, 0, 0}
                : Axis{ih, g.kernel[0], g.strides[0], g.dilations[0], g.pad_begin[0], g.pad_end[0]};
  Axis aw{iw,
          g.kernel.back(),
          g.strides.back(),
          g.dilations.back(),
          g.pad_begin.back(),
          g.pad_end.back()};
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        yp[(p * oh + i) * ow + j] =
            visit(xp + p * ih * iw, iw, i * ah.s - ah.pb, ah, j * aw.s - aw.pb, aw);
}
}  // namespace

void infer_max_pool(InferContext& ctx) {
  if (ctx.node.outputs.size() > 1 && !ctx.node.outputs[1].empty())
    fail("{}: the Indices output of MaxPool is not supported", ctx.node.describe());
  infer_pool(ctx);
}

void ref_max_pool(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                  std::span<Tensor* const> outputs) {
  WindowGeom g = pool_geometry(node, inputs[0]->shape());
  pool_planes(
      g, *inputs[0], *outputs[0],
      [](const float* plane, int64_t iw, int64_t h0, const auto& ah, int64_t w0, const auto& aw) {
        float m = -INFINITY;
        for (int64_t kh = 0; kh < ah.k; ++kh) {
          const int64_t h = h0 + kh * ah.d;
          if (h < 0 || h >= ah.in) continue;
          for (int64_t kw = 0; kw < aw.k; ++kw) {
            const int64_t w = w0 + kw * aw.d;
            if (w < 0 || w >= aw.in) continue;
            const float v = plane[h * iw + w];
            if (v > m || std::isnan(v)) m = v;
          }
        }
        return m;
      });
}

void infer_average_pool(InferContext& ctx) {
  infer_pool(ctx);
}

void ref_average_pool(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                      std::span<Tensor* const> outputs) {
  WindowGeom g = pool_geometry(node, inputs[0]->shape());
  const bool include_pad = node.attr_int("count_include_pad", 0) != 0;
  pool_planes(
      g, *inputs[0], *outputs[0],
      [&](const float* plane, int64_t iw, int64_t h0, const auto& ah, int64_t w0, const auto& aw) {
        double sum = 0;
        int64_t count = 0;
        for (int64_t kh = 0; kh < ah.k; ++kh) {
          const int64_t h = h0 + kh * ah.d;
          if (h < 0 || h >= ah.in) continue;
          for (int64_t kw = 0; kw < aw.k; ++kw) {
            const int64_t w = w0 + kw * aw.d;
            if (w < 0 || w >= aw.in) continue;
            sum += plane[h * iw + w];
            ++count;
          }
        }
        if (include_pad) {
          // Like PyTorch: padding cells count, but cells past the padded input
          // (reached only through ceil_mode) do not.
          auto span = [](int64_t start, const auto& a) {
            int64_t n = 0;
            for (int64_t k = 0; k < a.k; ++k) {
              const int64_t v = start + k * a.d;
              if (v >= -a.pb && v < a.in + a.pe) ++n;
            }
            return n;
          };
          count = span(h0, ah) * span(w0, aw);
        }
        return count ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
      });
}

void infer_global_pool(InferContext& ctx) {
  require_inputs(ctx, 1);
  if (ctx.inputs[0].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[0].dtype);
  const Shape& x = ctx.inputs[0].shape;
  if (x.size() < 3)
    fail("{}: input must have rank >= 3 ([N, C, spatial...]), found shape {}", ctx.node.describe(),
         shape_str(x));
  Shape out(x.size(), 1);
  out[0] = x[0];
  out[1] = x[1];
  ctx.outputs = {{DType::F32, out}};
}

void ref_global_average_pool(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                             std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const int64_t planes = x.dim(0) * x.dim(1), size = x.numel() / std::max<int64_t>(planes, 1);
  const float* xp = x.data<float>();
  float* yp = outputs[0]->data<float>();
  for (int64_t p = 0; p < planes; ++p) {
    double s = 0;
    for (int64_t i = 0; i < size; ++i) s += xp[p * size + i];
    yp[p] = size ? static_cast<float>(s / static_cast<double>(size)) : 0.0f;
  }
}

void ref_global_max_pool(const ir::Node&, int64_t, std::span<const Tensor* const> inputs,
                         std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const int64_t planes = x.dim(0) * x.dim(1), size = x.numel() / std::max<int64_t>(planes, 1);
  const float* xp = x.data<float>();
  float* yp = outputs[0]->data<float>();
  for (int64_t p = 0; p < planes; ++p) {
    float m = -INFINITY;
    for (int64_t i = 0; i < size; ++i) m = std::max(m, xp[p * size + i]);
    yp[p] = m;
  }
}

}  // namespace qbench::kernels::ref
