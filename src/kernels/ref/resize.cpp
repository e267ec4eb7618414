// Resize (opsets 10, 11, 13, 18) and Upsample (opsets 7 and 9): nearest, linear and cubic
// interpolation over any number of axes, with every coordinate_transformation_mode and
// nearest_mode. Coordinates are computed in float like ONNX Runtime, so nearest-mode ties round
// the same way.
#include "kernels/ref/resize.h"

#include <algorithm>
#include <cmath>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {

enum class Mode { Nearest, Linear, Cubic };

struct ResizeParams {
  Mode mode = Mode::Nearest;
  std::string coord = "half_pixel";
  std::string nearest = "round_prefer_floor";  // "simple" before opset 11
  float cubic_a = -0.75f;
  bool exclude_outside = false;
  float extrapolation = 0.0f;
  std::vector<float> scales;  // per axis of X, as used by the coordinate transform
  std::vector<float> roi;     // [starts..., ends...] per axis of X (tf_crop_and_resize)
  // Output length per axis as the coordinate transforms see it: in * scale when scales are
  // given (not rounded down, as in ONNX's reference), else the output size.
  std::vector<float> length;
  Shape out;
};

bool is_upsample(const ir::Node& node) {
  return node.op_type == "Upsample";
}

// A 1-D float tensor's values; empty for an omitted input or a tensor with no elements.
std::vector<float> floats_of(const InferContext& ctx, size_t i, const char* what) {
  if (!ctx.has_input(i)) return {};
  const Tensor& t = ctx.constant(i, what);
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (int64_t k = 0; k < t.numel(); ++k) v[k] = static_cast<float>(element_as_double(t, k));
  return v;
}

ResizeParams resize_params(const InferContext& ctx) {
  const ir::Node& node = ctx.node;
  const Shape& x = ctx.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  ResizeParams p;
  const std::string mode = node.attr_string("mode", "nearest");
  if (mode == "nearest")
    p.mode = Mode::Nearest;
  else if (mode == "linear" || mode == "bilinear")
    p.mode = Mode::Linear;
  else if (mode == "cubic" && !is_upsample(node))
    p.mode = Mode::Cubic;
  else
    fail("{}: mode '{}' is not one of nearest, linear, cubic", node.describe(), mode);

  const bool old = is_upsample(node) || ctx.opset < 11;
  if (old) {
    // Upsample and Resize-10 map output to input coordinates by x / scale, and pick the nearest
    // pixel by truncation (rounding up when downsampling, as ONNX Runtime does).
    p.coord = "asymmetric";
    p.nearest = "simple";
  } else {
    p.coord = node.attr_string("coordinate_transformation_mode", "half_pixel");
    p.nearest = node.attr_string("nearest_mode", "round_prefer_floor");
    p.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
    p.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
    p.extrapolation = node.attr_float("extrapolation_value", 0.0f);
  }
  static const char* kCoords[] = {"half_pixel", "pytorch_half_pixel",   "align_corners",
                                  "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  if (std::find(std::begin(kCoords), std::end(kCoords), p.coord) == std::end(kCoords))
    fail("{}: coordinate_transformation_mode '{}' is not supported", node.describe(), p.coord);
  static const char* kNearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil",
                                   "simple"};
  if (std::find(std::begin(kNearest), std::end(kNearest), p.nearest) == std::end(kNearest))
    fail("{}: nearest_mode '{}' is not supported", node.describe(), p.nearest);
  if (node.attr_int("antialias", 0) != 0) fail("{}: antialias=1 is not supported", node.describe());

  // Where scales, sizes and roi come from in each version.
  std::vector<float> scales, roi;
  std::vector<int64_t> sizes;
  if (is_upsample(node)) {
    scales = ctx.opset < 9 ? node.attr_floats("scales") : floats_of(ctx, 1, "scales");
  } else if (ctx.opset < 11) {
    scales = floats_of(ctx, 1, "scales");
  } else {
    roi = floats_of(ctx, 1, "roi");
    scales = floats_of(ctx, 2, "scales");
    if (ctx.has_input(3)) {
      const Tensor& s = ctx.constant(3, "sizes");
      for (int64_t k = 0; k < s.numel(); ++k)
        sizes.push_back(static_cast<int64_t>(element_as_double(s, k)));
    }
  }
  if (scales.empty() == sizes.empty())
    fail("{}: exactly one of scales and sizes must be given (found {} scales, {} sizes)",
         node.describe(), scales.size(), sizes.size());

  // Opset 18's axes: scales, sizes and roi list only these axes; the others keep their size.
  std::vector<int64_t> axes;
  if (ctx.opset >= 18 && node.has_attr("axes")) {
    for (int64_t a : node.attr_ints("axes")) axes.push_back(norm_axis(node, a, rank, "axes"));
  } else {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  const size_t na = axes.size();
  if ((!scales.empty() && scales.size() != na) || (!sizes.empty() && sizes.size() != na))
    fail("{}: expected {} scales or sizes (one per resized axis), found {} scales, {} sizes",
         node.describe(), na, scales.size(), sizes.size());
  p.scales.assign(rank, 1.0f);
  p.out = x;
  p.roi.assign(2 * rank, 0.0f);
  for (int64_t a = 0; a < rank; ++a) p.roi[rank + a] = 1.0f;
  if (p.coord == "tf_crop_and_resize") {
    if (roi.size() != 2 * na)
      fail("{}: tf_crop_and_resize needs roi with {} values, found {}", node.describe(), 2 * na,
           roi.size());
    for (size_t i = 0; i < na; ++i) {
      p.roi[axes[i]] = roi[i];
      p.roi[rank + axes[i]] = roi[na + i];
    }
  }
  if (!scales.empty()) {
    for (size_t i = 0; i < na; ++i) {
      if (!(scales[i] > 0))
        fail("{}: scales must be positive, found {}", node.describe(), scales[i]);
      p.scales[axes[i]] = scales[i];
      p.out[axes[i]] = static_cast<int64_t>(scales[i] * static_cast<float>(x[axes[i]]));
    }
    for (int64_t a = 0; a < rank; ++a) p.length.push_back(p.scales[a] * static_cast<float>(x[a]));
  } else {
    const std::string policy = node.attr_string("keep_aspect_ratio_policy", "stretch");
    if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
      fail("{}: keep_aspect_ratio_policy '{}' is not one of stretch, not_larger, not_smaller",
           node.describe(), policy);
    if (ctx.opset >= 18 && policy != "stretch") {
      // One scale for every resized axis: the largest (smallest) that keeps within the sizes.
      float s = policy == "not_larger" ? INFINITY : 0.0f;
      for (size_t i = 0; i < na; ++i) {
        const float r = static_cast<float>(sizes[i]) / static_cast<float>(x[axes[i]]);
        s = policy == "not_larger" ? std::min(s, r) : std::max(s, r);
      }
      for (size_t i = 0; i < na; ++i) {
        p.scales[axes[i]] = s;
        p.out[axes[i]] = static_cast<int64_t>(std::round(s * static_cast<float>(x[axes[i]])));
      }
    } else {
      for (size_t i = 0; i < na; ++i) {
        if (sizes[i] < 0) fail("{}: sizes must be >= 0, found {}", node.describe(), sizes[i]);
        p.out[axes[i]] = sizes[i];
        p.scales[axes[i]] =
            x[axes[i]] ? static_cast<float>(sizes[i]) / static_cast<float>(x[axes[i]]) : 1.0f;
      }
    }
  }
  if (p.length.empty())
    for (int64_t a = 0; a < rank; ++a) p.length.push_back(static_cast<float>(p.out[a]));
  for (int64_t a = 0; a < rank; ++a)
    if (p.out[a] > 0 && x[a] == 0)
      fail("{}: axis {} has size 0 and cannot be resized to {}", node.describe(), a, p.out[a]);
  return p;
}

// Input coordinate of output index `o` on one axis.
float original_coordinate(const ResizeParams& p, int64_t axis, int64_t o, int64_t in) {
  const float xr = static_cast<float>(o), s = p.scales[axis];
  const float fin = static_cast<float>(in), fout = p.length[axis];
  if (p.coord == "asymmetric") return xr / s;
  if (p.coord == "pytorch_half_pixel") return fout > 1 ? (xr + 0.5f) / s - 0.5f : 0.0f;
  if (p.coord == "tf_half_pixel_for_nn") return (xr + 0.5f) / s;
  if (p.coord == "align_corners") return fout == 1 ? 0.0f : xr * (fin - 1) / (fout - 1);
  if (p.coord == "tf_crop_and_resize") {
    const int64_t rank = static_cast<int64_t>(p.scales.size());
    const double start = p.roi[axis], end = p.roi[rank + axis];
    return static_cast<float>(fout > 1
                                  ? start * (fin - 1) + xr * (end - start) * (fin - 1) / (fout - 1)
                                  : 0.5 * (start + end) * (fin - 1));
  }
  return (xr + 0.5f) / s - 0.5f;  // half_pixel
}

int64_t nearest_index(const std::string& mode, float x, bool downsampling) {
  if (mode == "simple")
    return downsampling ? static_cast<int64_t>(std::ceil(x)) : static_cast<int64_t>(x);
  if (mode == "floor") return static_cast<int64_t>(std::floor(x));
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(x));
  if (mode == "round_prefer_ceil") return static_cast<int64_t>(std::round(x));
  // round_prefer_floor: halves go down.
  if (x == std::floor(x) + 0.5f) return static_cast<int64_t>(std::floor(x));
  return static_cast<int64_t>(std::round(x));
}

using Taps = ResizeTaps;

std::vector<Taps> axis_taps(const ResizeParams& p, int64_t axis, int64_t in, int64_t out) {
  std::vector<Taps> taps(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    Taps& t = taps[o];
    if (in == out && p.scales[axis] == 1.0f && p.coord != "tf_crop_and_resize") {
      t.idx[0] = o, t.w[0] = 1, t.n = 1;  // an axis that is not resized
      continue;
    }
    float xo = original_coordinate(p, axis, o, in);
    if (p.coord == "tf_crop_and_resize" && (xo < 0 || xo > static_cast<float>(in - 1))) {
      t.outside = true;
      continue;
    }
    if (p.mode == Mode::Nearest) {
      int64_t i = nearest_index(p.nearest, xo, p.scales[axis] < 1.0f);
      t.idx[0] = std::clamp<int64_t>(i, 0, in - 1), t.w[0] = 1, t.n = 1;
    } else if (p.mode == Mode::Linear) {
      xo = std::clamp(xo, 0.0f, static_cast<float>(in - 1));
      const int64_t i0 = static_cast<int64_t>(std::floor(xo));
      const float f = xo - static_cast<float>(i0);
      t.idx[0] = i0, t.w[0] = 1 - f;
      t.idx[1] = std::min(i0 + 1, in - 1), t.w[1] = f;
      t.n = 2;
    } else {
      const int64_t i0 = static_cast<int64_t>(std::floor(xo));
      const double f = xo - static_cast<double>(i0), a = p.cubic_a;
      const double d[4] = {1 + f, f, 1 - f, 2 - f};
      double sum = 0;
      for (int k = 0; k < 4; ++k) {
        const double v = d[k];
        double c = k == 1 || k == 2 ? ((a + 2) * v - (a + 3)) * v * v + 1
                                    : ((a * v - 5 * a) * v + 8 * a) * v - 4 * a;
        const int64_t i = i0 - 1 + k;
        if (p.exclude_outside && (i < 0 || i >= in)) c = 0;
        t.idx[k] = std::clamp<int64_t>(i, 0, in - 1);
        t.w[k] = static_cast<float>(c);
        sum += c;
      }
      if (p.exclude_outside && sum != 0)
        for (float& w : t.w) w = static_cast<float>(w / sum);
      t.n = 4;
    }
  }
  return taps;
}

}  // namespace

ResizePlan resize_plan(const InferContext& ctx) {
  ResizeParams p = resize_params(ctx);
  ResizePlan plan;
  plan.mode = p.mode == Mode::Nearest  ? ResizePlan::Nearest
              : p.mode == Mode::Linear ? ResizePlan::Linear
                                       : ResizePlan::Cubic;
  plan.out = p.out;
  const Shape& x = ctx.inputs[0].shape;
  for (size_t a = 0; a < x.size(); ++a)
    plan.taps.push_back(axis_taps(p, static_cast<int64_t>(a), x[a], p.out[a]));
  return plan;
}

void infer_resize(InferContext& ctx) {
  require_inputs(ctx, 1);
  ResizeParams p = resize_params(ctx);
  if ((p.mode != Mode::Nearest || p.coord == "tf_crop_and_resize") &&
      ctx.inputs[0].dtype != DType::F32)
    fail("{}: interpolating modes and tf_crop_and_resize need f32 input, found {}",
         ctx.node.describe(), dtype_name(ctx.inputs[0].dtype));
  ctx.outputs = {{ctx.inputs[0].dtype, p.out}};
}

void ref_resize(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs) {
  InferContext ctx = context_of(node, opset, inputs);
  ResizeParams p = resize_params(ctx);
  const Tensor& x = *inputs[0];
  Tensor& y = *outputs[0];
  const int64_t rank = x.rank();
  if (y.numel() == 0) return;
  std::vector<std::vector<Taps>> taps(rank);
  for (int64_t a = 0; a < rank; ++a) taps[a] = axis_taps(p, a, x.dim(a), p.out[a]);

  if (p.mode == Mode::Nearest && p.coord != "tf_crop_and_resize") {
    // A gather: every output element copies one input element (any dtype).
    const std::vector<int64_t> xs = strides_of(x.shape());
    const size_t es = dtype_size(x.dtype());
    const char* xp = static_cast<const char*>(x.raw());
    char* yp = static_cast<char*>(y.raw());
    std::vector<int64_t> idx(rank, 0);
    for (int64_t i = 0; i < y.numel(); ++i) {
      int64_t off = 0;
      for (int64_t a = 0; a < rank; ++a) off += taps[a][idx[a]].idx[0] * xs[a];
      std::memcpy(yp + i * es, xp + off * es, es);
      for (int64_t a = rank - 1; a >= 0; --a) {
        if (++idx[a] < p.out[a]) break;
        idx[a] = 0;
      }
    }
    return;
  }

  // Interpolation is separable: resize one axis at a time, in double.
  Shape cur = x.shape();
  std::vector<double> buf(static_cast<size_t>(x.numel()));
  const float* xp = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) buf[i] = xp[i];
  for (int64_t a = 0; a < rank; ++a) {
    const int64_t in = cur[a], out = p.out[a];
    if (in == out && p.scales[a] == 1.0f && p.coord != "tf_crop_and_resize") continue;
    const int64_t outer = shape_numel(Shape(cur.begin(), cur.begin() + a));
    const int64_t inner = shape_numel(Shape(cur.begin() + a + 1, cur.end()));
    std::vector<double> next(static_cast<size_t>(outer * out * inner));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < out; ++j) {
        const Taps& t = taps[a][j];
        double* dst = next.data() + (o * out + j) * inner;
        if (t.outside) {
          std::fill(dst, dst + inner, static_cast<double>(p.extrapolation));
          continue;
        }
        for (int64_t k = 0; k < inner; ++k) dst[k] = 0;
        for (int n = 0; n < t.n; ++n) {
          const double* src = buf.data() + (o * in + t.idx[n]) * inner;
          const double w = t.w[n];
          for (int64_t k = 0; k < inner; ++k) dst[k] += w * src[k];
        }
      }
    cur[a] = out;
    buf.swap(next);
  }
  float* yp = y.data<float>();
  for (int64_t i = 0; i < y.numel(); ++i) yp[i] = static_cast<float>(buf[i]);
}

}  // namespace qbench::kernels::ref
