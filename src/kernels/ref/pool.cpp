// MaxPool, AveragePool (1-D to 3-D) and the global pools (any spatial rank).
#include <algorithm>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
WindowGeom pool_geometry(const ir::Node& node, const Shape& x) {
  if (x.size() < 3 || x.size() > 5)
    fail("{}: input must be rank 3, 4 or 5 (1-D to 3-D pool), found shape {}", node.describe(),
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

// One spatial axis of a pooling window: input size, kernel, stride, dilation, pads.
struct Axis {
  int64_t in = 1, k = 1, s = 1, d = 1, pb = 0, pe = 0;
  // Input index of window element `k` for the window starting at `start`, or -1 outside.
  int64_t at(int64_t start, int64_t kk) const {
    const int64_t v = start + kk * d;
    return v >= 0 && v < in ? v : -1;
  }
};

// Window walk shared by both pools, on 3-D volumes (1-D and 2-D pools get leading spatial dims
// of size 1). `visit` gets the volume, the window start on each axis and the axes, and returns
// the output element.
template <typename F>
void pool_planes(const WindowGeom& g, const Tensor& x, Tensor& y, F&& visit) {
  Axis ax[3];
  int64_t out[3] = {1, 1, 1};
  const size_t lead = 3 - g.out.size();
  for (size_t i = 0; i < g.out.size(); ++i) {
    ax[lead + i] = {x.dim(static_cast<int>(2 + i)),
                    g.kernel[i],
                    g.strides[i],
                    g.dilations[i],
                    g.pad_begin[i],
                    g.pad_end[i]};
    out[lead + i] = g.out[i];
  }
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t in_plane = ax[0].in * ax[1].in * ax[2].in;
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < out[0]; ++i)
      for (int64_t j = 0; j < out[1]; ++j)
        for (int64_t k = 0; k < out[2]; ++k)
          *yp++ = visit(xp + p * in_plane, i * ax[0].s - ax[0].pb, j * ax[1].s - ax[1].pb,
                        k * ax[2].s - ax[2].pb, ax);
}
}  // namespace

void infer_max_pool(InferContext& ctx) {
  // MaxPool also takes uint8/int8 (opset 12): max commutes with the exact int -> float widening.
  const DType t = ctx.num_inputs() > 0 ? ctx.inputs[0].dtype : DType::Undefined;
  const bool int8 = t == DType::U8 || t == DType::I8;
  if (int8) ctx.inputs[0].dtype = DType::F32;
  infer_pool(ctx);
  if (int8) ctx.inputs[0].dtype = ctx.outputs[0].dtype = t;
  if (ctx.node.outputs.size() > 1 && !ctx.node.outputs[1].empty())
    ctx.outputs.push_back({DType::I64, ctx.outputs[0].shape});
}

void ref_max_pool(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                  std::span<Tensor* const> outputs) {
  if (inputs[0]->dtype() != DType::F32) {
    const Tensor& x = *inputs[0];
    Tensor xf = Tensor::from_vector<float>(x.shape(), x.to_float());
    Tensor yf(DType::F32, outputs[0]->shape());
    std::vector<const Tensor*> in{&xf};
    std::vector<Tensor*> out{&yf};
    if (outputs.size() > 1) out.push_back(outputs[1]);
    ref_max_pool(node, opset, in, out);
    const float* y = yf.data<float>();
    for (int64_t i = 0; i < yf.numel(); ++i) {
      if (outputs[0]->dtype() == DType::U8)
        outputs[0]->data<uint8_t>()[i] = static_cast<uint8_t>(y[i]);
      else
        outputs[0]->data<int8_t>()[i] = static_cast<int8_t>(y[i]);
    }
    return;
  }
  WindowGeom g = pool_geometry(node, inputs[0]->shape());
  pool_planes(g, *inputs[0], *outputs[0],
              [](const float* vol, int64_t d0, int64_t h0, int64_t w0, const Axis* ax) {
                float m = -INFINITY;
                for (int64_t kd = 0; kd < ax[0].k; ++kd) {
                  const int64_t d = ax[0].at(d0, kd);
                  if (d < 0) continue;
                  for (int64_t kh = 0; kh < ax[1].k; ++kh) {
                    const int64_t h = ax[1].at(h0, kh);
                    if (h < 0) continue;
                    const float* row = vol + (d * ax[1].in + h) * ax[2].in;
                    for (int64_t kw = 0; kw < ax[2].k; ++kw) {
                      const int64_t w = ax[2].at(w0, kw);
                      if (w < 0) continue;
                      if (row[w] > m || std::isnan(row[w])) m = row[w];
                    }
                  }
                }
                return m;
              });
  if (outputs.size() > 1 && outputs[1]) max_pool_indices(node, *inputs[0], g, *outputs[1]);
}

void infer_average_pool(InferContext& ctx) {
  infer_pool(ctx);
}

void ref_average_pool(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                      std::span<Tensor* const> outputs) {
  WindowGeom g = pool_geometry(node, inputs[0]->shape());
  const bool include_pad = node.attr_int("count_include_pad", 0) != 0;
  pool_planes(g, *inputs[0], *outputs[0],
              [&](const float* vol, int64_t d0, int64_t h0, int64_t w0, const Axis* ax) {
                double sum = 0;
                int64_t count = 0;
                for (int64_t kd = 0; kd < ax[0].k; ++kd) {
                  const int64_t d = ax[0].at(d0, kd);
                  if (d < 0) continue;
                  for (int64_t kh = 0; kh < ax[1].k; ++kh) {
                    const int64_t h = ax[1].at(h0, kh);
                    if (h < 0) continue;
                    const float* row = vol + (d * ax[1].in + h) * ax[2].in;
                    for (int64_t kw = 0; kw < ax[2].k; ++kw) {
                      const int64_t w = ax[2].at(w0, kw);
                      if (w < 0) continue;
                      sum += row[w];
                      ++count;
                    }
                  }
                }
                if (include_pad) {
                  // Like PyTorch: padding cells count, but cells past the padded input
                  // (reached only through ceil_mode) do not.
                  auto span = [](int64_t start, const Axis& a) {
                    int64_t n = 0;
                    for (int64_t k = 0; k < a.k; ++k) {
                      const int64_t v = start + k * a.d;
                      if (v >= -a.pb && v < a.in + a.pe) ++n;
                    }
                    return n;
                  };
                  count = span(d0, ax[0]) * span(h0, ax[1]) * span(w0, ax[2]);
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
