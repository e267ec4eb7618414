// Conv: 1-D and 2-D convolution with groups, strides, pads, dilations and auto_pad.
#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {
struct ConvGeom {
  int64_t n, c, m, group;
  Shape in_spatial;
  WindowGeom w;
};

ConvGeom conv_geometry(const ir::Node& node, const Shape& x, const Shape& wt) {
  if (x.size() != 3 && x.size() != 4)
    fail("{}: input X must be rank 3 (1-D conv) or 4 (2-D conv), found shape {}", node.describe(),
         shape_str(x));
  if (wt.size() != x.size())
    fail("{}: weight W must have rank {} like X, found shape {}", node.describe(), x.size(),
         shape_str(wt));
  ConvGeom g;
  g.n = x[0];
  g.c = x[1];
  g.m = wt[0];
  g.group = node.attr_int("group", 1);
  if (g.group <= 0 || g.c % g.group != 0 || g.m % g.group != 0 || wt[1] * g.group != g.c)
    fail(
        "{}: with group {} expected X channels ({}) = W.shape[1] ({}) * group and W.shape[0] "
        "({}) divisible by group",
        node.describe(), g.group, g.c, wt[1], g.m);
  g.in_spatial.assign(x.begin() + 2, x.end());
  std::vector<int64_t> kernel(wt.begin() + 2, wt.end());
  if (node.has_attr("kernel_shape") && node.attr_ints("kernel_shape") != kernel)
    fail("{}: kernel_shape {} does not match the weight's spatial shape {}", node.describe(),
         shape_str(node.attr_ints("kernel_shape")), shape_str(kernel));
  g.w = window_geometry(node, g.in_spatial, kernel, false);
  return g;
}
}  // namespace

void infer_conv(InferContext& ctx) {
  require_inputs(ctx, 2);
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && ctx.inputs[i].dtype != DType::F32)
      fail_dtype(ctx.node, ctx.inputs[i].dtype, i == 0 ? "X" : (i == 1 ? "W" : "B"));
  ConvGeom g = conv_geometry(ctx.node, ctx.inputs[0].shape, ctx.inputs[1].shape);
  if (ctx.has_input(2) && ctx.inputs[2].shape != Shape{g.m})
    fail("{}: bias B must have shape [{}], found {}", ctx.node.describe(), g.m,
         shape_str(ctx.inputs[2].shape));
  Shape out{g.n, g.m};
  out.insert(out.end(), g.w.out.begin(), g.w.out.end());
  ctx.outputs = {{DType::F32, out}};
}

void ref_conv(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const Tensor& wt = *inputs[1];
  const Tensor* bias = inputs.size() > 2 ? inputs[2] : nullptr;
  ConvGeom g = conv_geometry(node, x.shape(), wt.shape());
  // A 1-D convolution is a 2-D one with height 1.
  const bool one_d = g.in_spatial.size() == 1;
  const int64_t ih_n = one_d ? 1 : g.in_spatial[0], iw_n = g.in_spatial.back();
  const int64_t kh_n = one_d ? 1 : g.w.kernel[0], kw_n = g.w.kernel.back();
  const int64_t oh_n = one_d ? 1 : g.w.out[0], ow_n = g.w.out.back();
  const int64_t sh = one_d ? 1 : g.w.strides[0], sw = g.w.strides.back();
  const int64_t dh = one_d ? 1 : g.w.dilations[0], dw = g.w.dilations.back();
  const int64_t ph = one_d ? 0 : g.w.pad_begin[0], pw = g.w.pad_begin.back();
  const int64_t cg = g.c / g.group, mg = g.m / g.group;

  const float* xp = x.data<float>();
  const float* wp = wt.data<float>();
  float* yp = outputs[0]->data<float>();
  std::vector<double> acc(static_cast<size_t>(oh_n * ow_n));
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t oc = 0; oc < g.m; ++oc) {
      const int64_t grp = oc / mg;
      std::fill(acc.begin(), acc.end(), bias ? static_cast<double>(bias->data<float>()[oc]) : 0.0);
      for (int64_t ic = 0; ic < cg; ++ic) {
        const float* xplane = xp + ((n * g.c) + grp * cg + ic) * ih_n * iw_n;
        const float* wk = wp + (oc * cg + ic) * kh_n * kw_n;
        for (int64_t kh = 0; kh < kh_n; ++kh) {
          for (int64_t kw = 0; kw < kw_n; ++kw) {
            const double wv = wk[kh * kw_n + kw];
            for (int64_t oh = 0; oh < oh_n; ++oh) {
              const int64_t ih = oh * sh - ph + kh * dh;
              if (ih < 0 || ih >= ih_n) continue;
              const float* xrow = xplane + ih * iw_n;
              double* arow = acc.data() + oh * ow_n;
              for (int64_t ow = 0; ow < ow_n; ++ow) {
                const int64_t iw = ow * sw - pw + kw * dw;
                if (iw >= 0 && iw < iw_n) arow[ow] += wv * xrow[iw];
              }
            }
          }
        }
      }
      float* yplane = yp + (n * g.m + oc) * oh_n * ow_n;
      for (int64_t i = 0; i < oh_n * ow_n; ++i) yplane[i] = static_cast<float>(acc[i]);
    }
  }
  apply_fused_activations(node, *outputs[0]);
}

}  // namespace qbench::kernels::ref
