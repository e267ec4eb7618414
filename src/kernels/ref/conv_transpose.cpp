// ConvTranspose: 1-D, 2-D and 3-D transposed convolution with groups, strides, pads, dilations,
// output_padding, output_shape and auto_pad (opsets 1..18 share these semantics).
#include "kernels/ref/conv_transpose.h"

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

ConvTransposeGeom conv_transpose_geometry(const ir::Node& node, const Shape& x, const Shape& wt) {
  if (x.size() < 3 || x.size() > 5)
    fail("{}: input X must be rank 3, 4 or 5 (1-D to 3-D), found shape {}", node.describe(),
         shape_str(x));
  if (wt.size() != x.size())
    fail("{}: weight W must have rank {} like X, found shape {}", node.describe(), x.size(),
         shape_str(wt));
  const size_t ns = x.size() - 2;
  ConvTransposeGeom g;
  g.n = x[0];
  g.c = x[1];
  g.group = node.attr_int("group", 1);
  if (g.group <= 0 || g.c % g.group != 0 || wt[0] != g.c)
    fail("{}: with group {} expected W.shape[0] ({}) = X channels ({}) divisible by group",
         node.describe(), g.group, wt[0], g.c);
  g.m = wt[1] * g.group;
  g.in.assign(x.begin() + 2, x.end());
  g.kernel.assign(wt.begin() + 2, wt.end());
  if (node.has_attr("kernel_shape") && node.attr_ints("kernel_shape") != g.kernel)
    fail("{}: kernel_shape {} does not match the weight's spatial shape {}", node.describe(),
         shape_str(node.attr_ints("kernel_shape")), shape_str(g.kernel));
  g.strides = node.attr_ints("strides", std::vector<int64_t>(ns, 1));
  g.dilations = node.attr_ints("dilations", std::vector<int64_t>(ns, 1));
  std::vector<int64_t> pads = node.attr_ints("pads", std::vector<int64_t>(2 * ns, 0));
  std::vector<int64_t> out_pad = node.attr_ints("output_padding", std::vector<int64_t>(ns, 0));
  std::vector<int64_t> out_shape = node.attr_ints("output_shape");
  // output_shape may list only the spatial dims or all of them.
  if (out_shape.size() == ns + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (g.strides.size() != ns || g.dilations.size() != ns || pads.size() != 2 * ns ||
      out_pad.size() != ns || (!out_shape.empty() && out_shape.size() != ns))
    fail(
        "{}: expected {} spatial dims in strides/dilations/output_padding/output_shape and {} "
        "pads; found strides {}, dilations {}, output_padding {}, output_shape {}, pads {}",
        node.describe(), ns, 2 * ns, g.strides.size(), g.dilations.size(), out_pad.size(),
        out_shape.size(), pads.size());
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER")
    fail("{}: auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", node.describe(),
         auto_pad);
  g.pad_begin.assign(ns, 0);
  g.out.assign(ns, 0);
  for (size_t i = 0; i < ns; ++i) {
    const int64_t s = g.strides[i], d = g.dilations[i], k = g.kernel[i];
    if (s <= 0 || d <= 0 || k <= 0)
      fail("{}: strides, dilations and kernel sizes must be positive (dim {}: {}, {}, {})",
           node.describe(), i, s, d, k);
    const int64_t full = s * (g.in[i] - 1) + out_pad[i] + (k - 1) * d + 1;
    if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      // The output size is given (or is in * stride); the padding absorbs the difference, with
      // the odd cell at the end for SAME_UPPER and at the start otherwise.
      g.out[i] = out_shape.empty() ? g.in[i] * s : out_shape[i];
      // Like ONNX Runtime, an output larger than the full result gets no negative padding: the
      // extra cells (bias only) go at the end.
      const int64_t total = std::max<int64_t>(0, full - g.out[i]);
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else {
      if (auto_pad == "NOTSET") g.pad_begin[i] = pads[i];
      const int64_t pad_end = auto_pad == "NOTSET" ? pads[i + ns] : 0;
      g.out[i] = full - g.pad_begin[i] - pad_end;
    }
    if (g.out[i] <= 0)
      fail("{}: spatial dim {} of the output would be {} (input {}, kernel {}, stride {})",
           node.describe(), i, g.out[i], g.in[i], k, s);
  }
  return g;
}

void infer_conv_transpose(InferContext& ctx) {
  require_inputs(ctx, 2);
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && ctx.inputs[i].dtype != DType::F32)
      fail_dtype(ctx.node, ctx.inputs[i].dtype, i == 0 ? "X" : (i == 1 ? "W" : "B"));
  ConvTransposeGeom g = conv_transpose_geometry(ctx.node, ctx.inputs[0].shape, ctx.inputs[1].shape);
  if (ctx.has_input(2) && ctx.inputs[2].shape != Shape{g.m})
    fail("{}: bias B must have shape [{}], found {}", ctx.node.describe(), g.m,
         shape_str(ctx.inputs[2].shape));
  Shape out{g.n, g.m};
  out.insert(out.end(), g.out.begin(), g.out.end());
  ctx.outputs = {{DType::F32, out}};
}

void ref_conv_transpose(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                        std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const Tensor& wt = *inputs[1];
  const Tensor* bias = inputs.size() > 2 ? inputs[2] : nullptr;
  ConvTransposeGeom g = conv_transpose_geometry(node, x.shape(), wt.shape());
  // Every case runs as a 3-D one: 1-D and 2-D ones get leading spatial dims of size 1.
  struct Axis {
    int64_t in = 1, k = 1, out = 1, s = 1, d = 1, p = 0;
  };
  Axis ax[3];
  const size_t lead = 3 - g.in.size();
  for (size_t i = 0; i < g.in.size(); ++i)
    ax[lead + i] = {g.in[i], g.kernel[i], g.out[i], g.strides[i], g.dilations[i], g.pad_begin[i]};
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
      const int64_t grp = oc / mg, om = oc % mg;
      std::fill(acc.begin(), acc.end(), bias ? static_cast<double>(bias->data<float>()[oc]) : 0.0);
      for (int64_t ic = 0; ic < cg; ++ic) {
        const int64_t c = grp * cg + ic;
        const float* xplane = xp + (n * g.c + c) * in_plane;
        const float* wk = wp + (c * mg + om) * k_plane;
        // Each input cell scatters into the output cells its kernel window covers.
        for (int64_t id = 0; id < ad.in; ++id)
          for (int64_t ih = 0; ih < ah.in; ++ih)
            for (int64_t iw = 0; iw < aw.in; ++iw) {
              const double xv = xplane[(id * ah.in + ih) * aw.in + iw];
              for (int64_t kd = 0; kd < ad.k; ++kd) {
                const int64_t od = id * ad.s - ad.p + kd * ad.d;
                if (od < 0 || od >= ad.out) continue;
                for (int64_t kh = 0; kh < ah.k; ++kh) {
                  const int64_t oh = ih * ah.s - ah.p + kh * ah.d;
                  if (oh < 0 || oh >= ah.out) continue;
                  const float* wrow = wk + (kd * ah.k + kh) * aw.k;
                  double* arow = acc.data() + (od * ah.out + oh) * aw.out;
                  for (int64_t kw = 0; kw < aw.k; ++kw) {
                    const int64_t ow = iw * aw.s - aw.p + kw * aw.d;
                    if (ow >= 0 && ow < aw.out) arow[ow] += xv * wrow[kw];
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

// MACs: every input element meets every weight of its group: numel(X) * (M / group) * kernel.
int64_t macs_conv_transpose(const ir::Node&, std::span<const TensorType> in,
                            std::span<const TensorType>) {
  if (in.size() < 2) return 0;
  const Shape& w = in[1].shape;
  if (w.size() < 3 || w[0] == 0) return 0;
  return shape_numel(in[0].shape) * (shape_numel(w) / w[0]);
}

}  // namespace qbench::kernels::ref
