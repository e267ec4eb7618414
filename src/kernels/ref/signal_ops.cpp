// Signal processing: DFT, STFT and MelWeightMatrix (opset 17). Complex values are stored as a
// trailing dimension of 2 (real, imaginary); transforms are plain O(n^2) sums in double.
#include <cmath>

#include "kernels/ref/dispatch.h"
#include "kernels/ref/ops.h"

namespace qbench::kernels::ref {

namespace {
int64_t scalar_input(const InferContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.constant(i, what);
  if (t.numel() != 1)
    fail("{}: {} must hold one value, found shape {}", ctx.node.describe(), what,
         shape_str(t.shape()));
  return static_cast<int64_t>(element_as_double(t, 0));
}

// One transform along a strided line: out[k] = sum_j in[j] * e^(-+2 pi i jk / len), for the
// first `bins` k, reading `n` complex (or real) inputs zero-padded or truncated to `len`.
void dft_line(const std::vector<double>& re, const std::vector<double>& im, int64_t len,
              int64_t bins, bool inverse, std::vector<double>& out_re,
              std::vector<double>& out_im) {
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(re.size()), len);
  const double sign = inverse ? 1.0 : -1.0;
  for (int64_t k = 0; k < bins; ++k) {
    double sr = 0, si = 0;
    for (int64_t j = 0; j < n; ++j) {
      // Reduce jk mod len first so the angle stays small and exact for large transforms.
      const double a = sign * 2 * M_PI * static_cast<double>((j * k) % len) / len;
      const double c = std::cos(a), s = std::sin(a);
      sr += re[j] * c - im[j] * s;
      si += re[j] * s + im[j] * c;
    }
    out_re[k] = inverse ? sr / len : sr;
    out_im[k] = inverse ? si / len : si;
  }
}

void check_signal(const InferContext& ctx, const TensorType& x) {
  if (!is_float_like(x.dtype)) fail_dtype(ctx.node, x.dtype);
  if (x.shape.size() < 2 || (x.shape.back() != 1 && x.shape.back() != 2))
    fail("{}: input must be [batch, ..., 1 or 2] (real or complex), found {}", ctx.node.describe(),
         shape_str(x.shape));
}
}  // namespace

// ---- DFT

namespace {
struct DftPlan {
  int64_t axis = 1, len = 0, bins = 0;
  bool inverse = false;
};

DftPlan dft_plan(const InferContext& ctx) {
  const TensorType& x = ctx.inputs[0];
  const int64_t r = static_cast<int64_t>(x.shape.size());
  DftPlan p;
  p.axis = ctx.node.attr_int("axis", 1);
  if (p.axis < 0) p.axis += r;
  if (p.axis < 0 || p.axis > r - 2)
    fail("{}: axis {} must name a signal dim (not the trailing complex dim) of rank {}",
         ctx.node.describe(), ctx.node.attr_int("axis", 1), r);
  p.inverse = ctx.node.attr_int("inverse", 0) != 0;
  const bool onesided = ctx.node.attr_int("onesided", 0) != 0;
  if (onesided && x.shape.back() == 2)
    fail("{}: onesided=1 is only defined for real input", ctx.node.describe());
  p.len = ctx.has_input(1) ? scalar_input(ctx, 1, "dft_length") : x.shape[p.axis];
  if (p.len < 1) fail("{}: dft_length must be >= 1, found {}", ctx.node.describe(), p.len);
  p.bins = onesided ? p.len / 2 + 1 : p.len;
  return p;
}
}  // namespace

void infer_dft(InferContext& ctx) {
  require_inputs(ctx, 1);
  check_signal(ctx, ctx.inputs[0]);
  const DftPlan p = dft_plan(ctx);
  Shape out = ctx.inputs[0].shape;
  out[p.axis] = p.bins;
  out.back() = 2;
  ctx.outputs = {{ctx.inputs[0].dtype, out}};
}

void ref_dft(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  const DftPlan p = dft_plan(context_of(node, opset, inputs));
  const Tensor& x = *inputs[0];
  Tensor& y = *outputs[0];
  const int64_t c = x.dim(-1);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < p.axis; ++d) outer *= x.dim(static_cast<int>(d));
  for (int64_t d = p.axis + 1; d < x.rank() - 1; ++d) inner *= x.dim(static_cast<int>(d));
  const int64_t n = x.dim(static_cast<int>(p.axis));
  std::vector<double> re(n), im(n), ore(p.bins), oim(p.bins);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      for (int64_t j = 0; j < n; ++j) {
        const int64_t at = ((o * n + j) * inner + in) * c;
        re[j] = element_as_double(x, at);
        im[j] = c == 2 ? element_as_double(x, at + 1) : 0.0;
      }
      dft_line(re, im, p.len, p.bins, p.inverse, ore, oim);
      for (int64_t k = 0; k < p.bins; ++k) {
        const int64_t at = ((o * p.bins + k) * inner + in) * 2;
        store_double(y, at, ore[k]);
        store_double(y, at + 1, oim[k]);
      }
    }
}

// ---- STFT

namespace {
struct StftPlan {
  int64_t step = 0, frame = 0, frames = 0, bins = 0;
};

StftPlan stft_plan(const InferContext& ctx) {
  const TensorType& x = ctx.inputs[0];
  if (x.shape.size() != 3)
    fail("{}: signal must be [batch, length, 1 or 2], found {}", ctx.node.describe(),
         shape_str(x.shape));
  StftPlan p;
  require_input(ctx, 1, "frame_step");
  p.step = scalar_input(ctx, 1, "frame_step");
  if (ctx.has_input(2)) {
    if (ctx.inputs[2].shape.size() != 1)
      fail("{}: window must be 1-D, found {}", ctx.node.describe(), shape_str(ctx.inputs[2].shape));
    p.frame = ctx.inputs[2].shape[0];
  }
  if (ctx.has_input(3)) {
    const int64_t fl = scalar_input(ctx, 3, "frame_length");
    if (ctx.has_input(2) && fl != p.frame)
      fail("{}: frame_length {} differs from the window length {}", ctx.node.describe(), fl,
           p.frame);
    p.frame = fl;
  }
  if (p.frame < 1 || p.step < 1 || p.frame > x.shape[1])
    fail(
        "{}: need frame_step >= 1 and 1 <= frame_length <= signal length {}, found step {} and "
        "frame_length {} (a window or frame_length input is required)",
        ctx.node.describe(), x.shape[1], p.step, p.frame);
  const bool onesided = ctx.node.attr_int("onesided", 1) != 0;
  if (onesided && x.shape[2] == 2)
    fail("{}: onesided=1 is only defined for real input", ctx.node.describe());
  p.frames = (x.shape[1] - p.frame) / p.step + 1;
  p.bins = onesided ? p.frame / 2 + 1 : p.frame;
  return p;
}
}  // namespace

void infer_stft(InferContext& ctx) {
  require_inputs(ctx, 1);
  check_signal(ctx, ctx.inputs[0]);
  const StftPlan p = stft_plan(ctx);
  ctx.outputs = {{ctx.inputs[0].dtype, {ctx.inputs[0].shape[0], p.frames, p.bins, 2}}};
}

void ref_stft(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
              std::span<Tensor* const> outputs) {
  const StftPlan p = stft_plan(context_of(node, opset, inputs));
  const Tensor& x = *inputs[0];
  const Tensor* window = inputs.size() > 2 ? inputs[2] : nullptr;
  Tensor& y = *outputs[0];
  const int64_t len = x.dim(1), c = x.dim(2);
  std::vector<double> re(p.frame), im(p.frame), ore(p.bins), oim(p.bins);
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t f = 0; f < p.frames; ++f) {
      for (int64_t j = 0; j < p.frame; ++j) {
        const int64_t at = (b * len + f * p.step + j) * c;
        const double w = window ? element_as_double(*window, j) : 1.0;
        re[j] = element_as_double(x, at) * w;
        im[j] = c == 2 ? element_as_double(x, at + 1) * w : 0.0;
      }
      dft_line(re, im, p.frame, p.bins, false, ore, oim);
      for (int64_t k = 0; k < p.bins; ++k) {
        const int64_t at = ((b * p.frames + f) * p.bins + k) * 2;
        store_double(y, at, ore[k]);
        store_double(y, at + 1, oim[k]);
      }
    }
}

// ---- MelWeightMatrix

namespace {
struct MelPlan {
  int64_t mel_bins = 0, dft_length = 0, sample_rate = 0;
  double lower_hz = 0, upper_hz = 0;
};

MelPlan mel_plan(const InferContext& ctx) {
  require_inputs(ctx, 5);
  MelPlan p;
  p.mel_bins = scalar_input(ctx, 0, "num_mel_bins");
  p.dft_length = scalar_input(ctx, 1, "dft_length");
  p.sample_rate = scalar_input(ctx, 2, "sample_rate");
  p.lower_hz = element_as_double(ctx.constant(3, "lower_edge_hertz"), 0);
  p.upper_hz = element_as_double(ctx.constant(4, "upper_edge_hertz"), 0);
  if (p.mel_bins < 1 || p.dft_length < 1 || p.sample_rate < 1 || p.lower_hz < 0 ||
      p.upper_hz <= p.lower_hz)
    fail(
        "{}: need num_mel_bins, dft_length and sample_rate >= 1 and 0 <= lower_edge_hertz < "
        "upper_edge_hertz; found {}, {}, {}, {}, {}",
        ctx.node.describe(), p.mel_bins, p.dft_length, p.sample_rate, p.lower_hz, p.upper_hz);
  return p;
}
}  // namespace

void infer_mel_weight_matrix(InferContext& ctx) {
  const MelPlan p = mel_plan(ctx);
  const int64_t to = ctx.node.attr_int("output_datatype", 1);
  if (!dtype_valid(static_cast<int32_t>(to)) || !is_numeric(static_cast<DType>(to)))
    fail("{}: output_datatype {} is not a supported numeric type", ctx.node.describe(), to);
  ctx.outputs = {{static_cast<DType>(to), {p.dft_length / 2 + 1, p.mel_bins}}};
}

void ref_mel_weight_matrix(const ir::Node& node, int64_t opset,
                           std::span<const Tensor* const> inputs,
                           std::span<Tensor* const> outputs) {
  const MelPlan p = mel_plan(context_of(node, opset, inputs));
  Tensor& y = *outputs[0];
  const int64_t rows = p.dft_length / 2 + 1;
  // Triangular filters between num_mel_bins + 2 points spaced evenly on the mel scale, each
  // mapped to a spectrogram bin as ONNX's reference does: floor((dft_length + 1) * hz / rate).
  auto to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  const double lo = to_mel(p.lower_hz), hi = to_mel(p.upper_hz);
  const double step = (hi - lo) / static_cast<double>(p.mel_bins + 2);
  std::vector<int64_t> bin(static_cast<size_t>(p.mel_bins + 2));
  for (int64_t i = 0; i < p.mel_bins + 2; ++i) {
    const double hz = 700.0 * (std::pow(10.0, (static_cast<double>(i) * step + lo) / 2595.0) - 1);
    bin[i] = static_cast<int64_t>(std::floor(static_cast<double>(p.dft_length + 1) * hz /
                                             static_cast<double>(p.sample_rate)));
  }
  std::vector<double> w(static_cast<size_t>(rows * p.mel_bins), 0.0);
  auto set = [&](int64_t row, int64_t col, double v) {
    if (row < 0 || row >= rows)
      fail("{}: a filter edge falls on bin {}, outside the {} spectrogram bins", node.describe(),
           row, rows);
    w[row * p.mel_bins + col] = v;
  };
  for (int64_t i = 0; i < p.mel_bins; ++i) {
    const int64_t left = bin[i], center = bin[i + 1], right = bin[i + 2];
    if (center == left)
      set(center, i, 1.0);
    else
      for (int64_t j = left; j <= center; ++j)
        set(j, i, static_cast<double>(j - left) / static_cast<double>(center - left));
    for (int64_t j = center; j < right; ++j)
      set(j, i, static_cast<double>(right - j) / static_cast<double>(right - center));
  }
  for (int64_t i = 0; i < y.numel(); ++i) store_double(y, i, w[i]);
}

}  // namespace qbench::kernels::ref
