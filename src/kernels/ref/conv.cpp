// Conv: 1-D, 2-D and 3-D convolution with groups, strides, pads, dilations and auto_pad.
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
  if (x.size() < 3 || x.size() > 5)
    fail("{}: input X must be rank 3, 4 or 5 (1-D to 3-D conv), found shape {}", node.describe(),
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
  // Every convolution runs as a 3-D one: 1-D and 2-D ones get leading spatial dims of size 1.
  struct Axis {
    int64_t in = 1, k = 1, out = 1, s = 1, d = 1, p = 0;
  };
  Axis ax[3];
  const size_t lead = 3 - g.in_spatial.size();
  for (size_t i = 0; i < g.in_spatial.size(); ++i)
    ax[lead + i] = {g.in_spatial[i], g.w.kernel[i],    g.w.out[i],
                    g.w.strides[i],  g.w.dilations[i], g.w.pad_begin[i]};
  const Axis &ad = ax[0], &ah = ax[1], &aw = ax[2];
  const int64_t in_plane = ad.in * ah.in * aw.in, k_plane = ad.k * ah.k * aw.k;
  const int64_t out_plane = ad.out * ah.out * aw.out;
  const int64_t cg = g.c / g.group, mg = g.m / g.group;

  const float* xp = x.data<float>();
  const float* wp = wt.data<float>();
  float* yp = outputs[0]->data<float>();
  std::vector<double> acc(static_cast<size_t>(out_plane));
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t oc = 0; oc < g.m; ++oc) {
      const int64_t grp = oc / mg;
      std::fill(acc.begin(), acc.end(), bias ? static_cast<double>(bias->data<float>()[oc]) : 0.0);
      for (int64_t ic = 0; ic < cg; ++ic) {
        const float* xplane = xp + ((n * g.c) + grp * cg + ic) * in_plane;
        const float* wk = wp + (oc * cg + ic) * k_plane;
        for (int64_t kd = 0; kd < ad.k; ++kd) {
          for (int64_t kh = 0; kh < ah.k; ++kh) {
            for (int64_t kw = 0; kw < aw.k; ++kw) {
              const double wv = wk[(kd * ah.k + kh) * aw.k + kw];
              for (int64_t od = 0; od < ad.out; ++od) {
                const int64_t id = od * ad.s - ad.p + kd * ad.d;
                if (id < 0 || id >= ad.in) continue;
                for (int64_t oh = 0; oh < ah.out; ++oh) {
                  const int64_t ih = oh * ah.s - ah.p + kh * ah.d;
                  if (ih < 0 || ih >= ah.in) continue;
                  const float* xrow = xplane + (id * ah.in + ih) * aw.in;
                  double* arow = acc.data() + (od * ah.out + oh) * aw.out;
                  for (int64_t ow = 0; ow < aw.out; ++ow) {
                    const int64_t iw = ow * aw.s - aw.p + kw * aw.d;
                    if (iw >= 0 && iw < aw.in) arow[ow] += wv * xrow[iw];
                  }
                }
              }
            }
          }
        }
      }
      float* yplane = yp + (n * g.m + oc) * out_plane;
      for (int64_t i = 0; i < out_plane; ++i) yplane[i] = static_cast<float>(acc[i]);
    }
  }
  apply_fused_activations(node, *outputs[0]);
}

// MACs: every output element sums over one group's input channels times the kernel, i.e. the
// weight's elements per output channel. Conv and ConvInteger read the weight at input 1,
// QLinearConv at input 3.
static int64_t conv_like_macs(std::span<const TensorType> out, const Shape& w) {
  if (out.empty() || w.size() < 3 || w[0] == 0) return 0;
  return shape_numel(out[0].shape) * (shape_numel(w) / w[0]);
}
int64_t macs_conv(const ir::Node&, std::span<const TensorType> in,
                  std::span<const TensorType> out) {
  return in.size() > 1 ? conv_like_macs(out, in[1].shape) : 0;
}
int64_t macs_qlinear_conv(const ir::Node&, std::span<const TensorType> in,
                          std::span<const TensorType> out) {
  return in.size() > 3 ? conv_like_macs(out, in[3].shape) : 0;
}

}  // namespace qbench::kernels::ref
