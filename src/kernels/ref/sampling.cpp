// GridSample (opset 16; 2-D, bilinear/nearest/bicubic, zeros/border/reflection padding) and
// RoiAlign (opsets 10 and 16, avg and max). Both follow PyTorch/ONNX Runtime arithmetic.
#include <algorithm>
#include <cmath>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {

struct GridSpec {
  enum Mode { Bilinear, Nearest, Bicubic } mode;
  enum Pad { Zeros, Border, Reflection } pad;
  bool align;
};

GridSpec grid_spec(const ir::Node& node) {
  GridSpec s;
  const std::string mode = node.attr_string("mode", "bilinear");
  if (mode == "bilinear" || mode == "linear")
    s.mode = GridSpec::Bilinear;
  else if (mode == "nearest")
    s.mode = GridSpec::Nearest;
  else if (mode == "bicubic" || mode == "cubic")
    s.mode = GridSpec::Bicubic;
  else
    fail("{}: mode '{}' is not one of bilinear, nearest, bicubic", node.describe(), mode);
  const std::string pad = node.attr_string("padding_mode", "zeros");
  if (pad == "zeros")
    s.pad = GridSpec::Zeros;
  else if (pad == "border")
    s.pad = GridSpec::Border;
  else if (pad == "reflection")
    s.pad = GridSpec::Reflection;
  else
    fail("{}: padding_mode '{}' is not one of zeros, border, reflection", node.describe(), pad);
  s.align = node.attr_int("align_corners", 0) != 0;
  return s;
}

double unnormalize(double c, int64_t size, bool align) {
  return align ? (c + 1) / 2 * (size - 1) : ((c + 1) * size - 1) / 2;
}

double reflect(double v, double twice_low, double twice_high) {
  if (twice_low == twice_high) return 0;
  const double lo = twice_low / 2, span = (twice_high - twice_low) / 2;
  v = std::fabs(v - lo);
  const double extra = std::fmod(v, span);
  // The parity in floating point: a grid value of 1e30 has no int64 count of flips.
  const double flips = std::floor(v / span);
  return std::fmod(flips, 2.0) == 0 ? extra + lo : span - extra + lo;
}

// A sampling position (already floored or rounded) as an index into [0, size): positions past
// -1 or size, or not finite (grid values are data: NaN, 1e30), give -2, so that the index and
// its right neighbour both lie in the padding and no conversion overflows.
int64_t index_of(double v, int64_t size) {
  return v >= -1.0 && v <= static_cast<double>(size) ? static_cast<int64_t>(v) : -2;
}

// Applies border or reflection padding to a source coordinate.
double pad_coordinate(const GridSpec& s, double v, int64_t size) {
  if (s.pad == GridSpec::Zeros) return v;
  if (s.pad == GridSpec::Reflection)
    v = s.align ? reflect(v, 0, 2.0 * (size - 1)) : reflect(v, -1, 2.0 * size - 1);
  return std::clamp(v, 0.0, static_cast<double>(size - 1));
}

double cubic_weight(double x, double a) {
  x = std::fabs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

}  // namespace

void infer_grid_sample(InferContext& ctx) {
  require_inputs(ctx, 2);
  for (size_t i = 0; i < 2; ++i)
    if (ctx.inputs[i].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[i].dtype);
  grid_spec(ctx.node);
  const Shape& x = ctx.inputs[0].shape;
  const Shape& g = ctx.inputs[1].shape;
  if (x.size() != 4 || g.size() != 4 || g[0] != x[0] || g[3] != 2)
    fail("{}: expected X [N, C, H, W] and grid [N, H_out, W_out, 2], found {} and {}",
         ctx.node.describe(), shape_str(x), shape_str(g));
  ctx.outputs = {{DType::F32, {x[0], x[1], g[1], g[2]}}};
}

void ref_grid_sample(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                     std::span<Tensor* const> outputs) {
  const GridSpec s = grid_spec(node);
  const Tensor& x = *inputs[0];
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t ho = inputs[1]->dim(1), wo = inputs[1]->dim(2);
  const float* xp = x.data<float>();
  const float* gp = inputs[1]->data<float>();
  float* yp = outputs[0]->data<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < ho; ++i)
      for (int64_t j = 0; j < wo; ++j) {
        const float* gxy = gp + ((b * ho + i) * wo + j) * 2;
        const double ux = unnormalize(gxy[0], w, s.align), uy = unnormalize(gxy[1], h, s.align);
        for (int64_t ch = 0; ch < c; ++ch) {
          const float* plane = xp + (b * c + ch) * h * w;
          auto at = [&](int64_t yy, int64_t xx) -> double {
            return yy >= 0 && yy < h && xx >= 0 && xx < w ? plane[yy * w + xx] : 0.0;
          };
          double v = 0;
          if (s.mode == GridSpec::Bicubic) {
            // Each tap is padded on its own (PyTorch's get_value_bounded).
            const double fx = std::floor(ux), fy = std::floor(uy);
            const double tx = ux - fx, ty = uy - fy;
            for (int r = 0; r < 4; ++r) {
              double row = 0;
              for (int q = 0; q < 4; ++q) {
                const double px = pad_coordinate(s, fx - 1 + q, w);
                const double py = pad_coordinate(s, fy - 1 + r, h);
                row += cubic_weight(tx - (q - 1), -0.75) *
                       at(index_of(std::floor(py), h), index_of(std::floor(px), w));
              }
              v += cubic_weight(ty - (r - 1), -0.75) * row;
            }
          } else {
            const double sx = pad_coordinate(s, ux, w), sy = pad_coordinate(s, uy, h);
            if (s.mode == GridSpec::Nearest) {
              v = at(index_of(std::nearbyint(sy), h), index_of(std::nearbyint(sx), w));
            } else {
              const double x0 = std::floor(sx), y0 = std::floor(sy);
              const double dx = sx - x0, dy = sy - y0;
              const int64_t ix = index_of(x0, w), iy = index_of(y0, h);
              v = at(iy, ix) * (1 - dx) * (1 - dy) + at(iy, ix + 1) * dx * (1 - dy) +
                  at(iy + 1, ix) * (1 - dx) * dy + at(iy + 1, ix + 1) * dx * dy;
            }
          }
          yp[((b * c + ch) * ho + i) * wo + j] = static_cast<float>(v);
        }
      }
}

// RoiAlign's sampling grid per output bin along each axis, at most: sampling_ratio, or where it is
// 0 ceil(roi extent / output extent), which follows the rois' values (a roi 10^30 wide would
// need 10^29 samples per bin). 4096 is a roi 28,672 feature pixels tall over a 7 x 7 output.
constexpr int64_t kMaxRoiGrid = 4096;

void infer_roi_align(InferContext& ctx) {
  require_inputs(ctx, 3);
  for (size_t i = 0; i < 2; ++i)
    if (ctx.inputs[i].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[i].dtype);
  if (ctx.inputs[2].dtype != DType::I64 && ctx.inputs[2].dtype != DType::I32)
    fail_dtype(ctx.node, ctx.inputs[2].dtype, "batch_indices");
  const Shape& x = ctx.inputs[0].shape;
  const Shape& rois = ctx.inputs[1].shape;
  if (x.size() != 4 || rois.size() != 2 || rois[1] != 4 || ctx.inputs[2].shape != Shape{rois[0]})
    fail("{}: expected X [N, C, H, W], rois [R, 4], batch_indices [R]; found {}, {}, {}",
         ctx.node.describe(), shape_str(x), shape_str(rois), shape_str(ctx.inputs[2].shape));
  const std::string mode = ctx.node.attr_string("mode", "avg");
  if (mode != "avg" && mode != "max")
    fail("{}: mode '{}' is not one of avg, max", ctx.node.describe(), mode);
  for (const char* a : {"output_height", "output_width"})
    if (ctx.node.attr_int(a, 1) < 1)
      fail("{}: {} must be >= 1, found {}", ctx.node.describe(), a, ctx.node.attr_int(a, 1));
  const int64_t ratio = ctx.node.attr_int("sampling_ratio", 0);
  if (ratio > kMaxRoiGrid)
    fail("{}: sampling_ratio {} takes more than {} samples per bin along each axis",
         ctx.node.describe(), ratio, kMaxRoiGrid);
  ctx.outputs = {{DType::F32,
                  {rois[0], x[1], ctx.node.attr_int("output_height", 1),
                   ctx.node.attr_int("output_width", 1)}}};
}

void ref_roi_align(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
                   std::span<Tensor* const> outputs) {
  const Tensor& x = *inputs[0];
  const int64_t c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t nroi = inputs[1]->dim(0);
  const int64_t oh = node.attr_int("output_height", 1), ow = node.attr_int("output_width", 1);
  const int64_t ratio = node.attr_int("sampling_ratio", 0);
  const double scale = node.attr_float("spatial_scale", 1.0f);
  const bool is_max = node.attr_string("mode", "avg") == "max";
  // Opset 16 added half_pixel (the default); opset 10's behaviour is output_half_pixel.
  const bool half_pixel = opset >= 16 && node.attr_string("coordinate_transformation_mode",
                                                          "half_pixel") == "half_pixel";
  const double offset = half_pixel ? 0.5 : 0.0;
  const float* xp = x.data<float>();
  const float* rp = inputs[1]->data<float>();
  float* yp = outputs[0]->data<float>();
  for (int64_t r = 0; r < nroi; ++r) {
    const double bd = element_as_double(*inputs[2], r);
    if (!(bd >= 0 && bd < static_cast<double>(x.dim(0))))
      fail("{}: batch index {} of roi {} is outside [0, {})", node.describe(), bd, r, x.dim(0));
    const auto b = static_cast<int64_t>(bd);
    const double x0 = rp[r * 4] * scale - offset, y0 = rp[r * 4 + 1] * scale - offset;
    double rw = rp[r * 4 + 2] * scale - offset - x0, rh = rp[r * 4 + 3] * scale - offset - y0;
    if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(rw) || !std::isfinite(rh))
      fail("{}: roi {} ({}, {}, {}, {}) times spatial_scale {} is not finite", node.describe(), r,
           rp[r * 4], rp[r * 4 + 1], rp[r * 4 + 2], rp[r * 4 + 3], scale);
    if (!half_pixel) rw = std::max(rw, 1.0), rh = std::max(rh, 1.0);
    const double bh = rh / oh, bw = rw / ow;
    // The adaptive grid: an empty or reversed roi gives <= 0 (no samples, as before).
    auto grid = [&](double extent, int64_t out, const char* axis) -> int64_t {
      if (ratio > 0) return ratio;
      const double g = std::ceil(extent / static_cast<double>(out));
      if (g > static_cast<double>(kMaxRoiGrid))
        fail(
            "{}: roi {} is {} feature pixels {} (times spatial_scale {}): with sampling_ratio 0 "
            "that is {} samples per bin along it, more than {}",
            node.describe(), r, extent, axis, scale, g, kMaxRoiGrid);
      return static_cast<int64_t>(std::max(g, -1.0));
    };
    const int64_t gh = grid(rh, oh, "tall"), gw = grid(rw, ow, "wide");
    const double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* plane = xp + (b * c + ch) * h * w;
      for (int64_t ph = 0; ph < oh; ++ph)
        for (int64_t pw = 0; pw < ow; ++pw) {
          double acc = 0;
          bool first = true;
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix) {
              double yy = y0 + ph * bh + (iy + 0.5) * bh / gh;
              double xx = x0 + pw * bw + (ix + 0.5) * bw / gw;
              double v[4] = {0, 0, 0, 0};
              if (!(yy < -1.0 || yy > h || xx < -1.0 || xx > w)) {
                yy = std::max(yy, 0.0), xx = std::max(xx, 0.0);
                int64_t ylo = static_cast<int64_t>(yy), xlo = static_cast<int64_t>(xx);
                if (ylo >= h - 1) ylo = h - 1, yy = static_cast<double>(ylo);
                if (xlo >= w - 1) xlo = w - 1, xx = static_cast<double>(xlo);
                const int64_t yhi = std::min(ylo + 1, h - 1), xhi = std::min(xlo + 1, w - 1);
                const double ly = yy - ylo, lx = xx - xlo, hy = 1 - ly, hx = 1 - lx;
                v[0] = hy * hx * plane[ylo * w + xlo];
                v[1] = hy * lx * plane[ylo * w + xhi];
                v[2] = ly * hx * plane[yhi * w + xlo];
                v[3] = ly * lx * plane[yhi * w + xhi];
              }
              if (is_max) {
                // ONNX Runtime's max mode takes the largest weighted corner, not an
                // interpolated value.
                for (double t : v) {
                  acc = first ? t : std::max(acc, t);
                  first = false;
                }
              } else {
                acc += v[0] + v[1] + v[2] + v[3];
              }
            }
          yp[((r * c + ch) * oh + ph) * ow + pw] = static_cast<float>(is_max ? acc : acc / count);
        }
    }
  }
}

}  // namespace qbench::kernels::ref
