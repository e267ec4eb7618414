// Conv (1-D, 2-D, 3-D; groups, depthwise, strides, pads/auto_pad, dilations, bias, fused
// activations as post-ops) on oneDNN's convolution_forward. Weights are reordered once, at
// kernel creation, into the layout the primitive prefers. qbench's form of Conv adds a residual
// input Z before the activations (a sum post-op, in Z's buffer where the plan allows) and, with
// channels_last = 1, reads and writes NHWC tensors as they are.
#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <optional>

#include "kernels/onednn/common.h"
#include "kernels/onednn/conv_geometry.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/onednn/factories.h"
#include "kernels/onednn/loops.h"
#include "kernels/onednn/winograd_f32.h"
#include "kernels/ref/qbench_ops.h"

namespace qbench::kernels::onednn {

namespace {

using tag = memory::format_tag;

// Measured with benchmarks/micro/kernels.cpp (1 thread, AVX-512, reorders included): nChw16c
// ties NHWC on dense 3x3 64->64 @28x28 (244 vs 247 us at batch 1, 18.4 vs 18.7 ms at batch 64)
// and is 2.5x faster on depthwise (35 vs 86 us); plain NCHW (im2col + GEMM) is 2.5x slower.
std::atomic<ConvLayout> g_layout{ConvLayout::Blocked};

tag act_tag(ConvLayout layout, int ndims) {
  switch (layout) {
    case ConvLayout::Plain:
      return ndims == 3 ? tag::ncw : ndims == 4 ? tag::nchw : tag::ncdhw;
    case ConvLayout::Nhwc:
      return ndims == 3 ? tag::nwc : ndims == 4 ? tag::nhwc : tag::ndhwc;
    case ConvLayout::Blocked:
      return ndims == 3 ? tag::nCw16c : ndims == 4 ? tag::nChw16c : tag::nCdhw16c;
  }
  return tag::undef;
}

std::atomic<bool> g_winograd{true};

// Where oneDNN's Winograd convolution (F(2x2,3x3) or F(4x4,3x3), AVX-512 only) beats its direct
// kernels (one thread, benchmarks/results/conv-impl-winograd-2026-12-05-zen5.txt, without the
// two reorders an NHWC caller adds): a dense 3x3 convolution with stride 1, at least 64 channels
// in and out and an output of at least 14x14 runs 1.8-2.3x faster at batch 1 (64->64 at 56x56
// 437-483 us against brgconv's 881; 256->256 at 14x14 419 against 788) and 1.7-1.9x at batch 16.
// With 16 or 32 channels at larger batches it ties or loses, and at 7x7 (F(4x4) tiles mostly
// padding) it loses at batch 1. Its error against a double-precision sum is that of the direct
// kernels (tests/unit/onednn_conv_test.cpp WinogradWhereItPays).
bool winograd_pays(const Shape& x, const Shape& w, const Shape& y, const ConvGeometry& g,
                   int64_t groups) {
  if (x.size() != 4 || groups != 1 || w[2] != 3 || w[3] != 3) return false;
  for (size_t i = 0; i < 2; ++i)
    if (g.strides[i] != 1 || g.dilates[i] != 0 || y[2 + i] < 14) return false;
  return w[0] >= 64 && w[1] >= 64;
}

// On half-width AVX-512 (cpu_paths.h avx512_half_width: Zen 4), where oneDNN's Winograd does not
// pay, qbench's AVX2 F(2x2) Winograd beats its direct AVX-512 kernels from 32 source channels
// up: 2.25x fewer multiplies at the same FMAs per cycle. Measured there (one thread, in the
// whole model, qbench inspect --profile): the zoo ResNet's 3x3 layers at batch 100, 32 channels
// at 14x14 3286 -> 2518 us and 64 at 7x7 2705 -> 2377, but 16 at 28x28 3129 -> 3718 (oneDNN
// capped at AVX2); ResNet-50's layer-4 3x3 (512 at 7x7) at batch 1 1992 -> 1722 and 2084 -> 1921
// (against the same model as AVX2-only).
bool winograd_over_direct(const Shape& x, const Shape& w, const Shape& y, const ConvGeometry& g) {
  return w[1] >= 32 && !winograd_pays(x, w, y, g, 1);
}

// The Winograd primitive for these dimensions, on oneDNN's blocked activations (the only layout
// it takes), or an empty descriptor where oneDNN has none (no AVX-512, an unsupported post-op).
dnnl::convolution_forward::primitive_desc winograd_pd(const memory::dims& x,
                                                      const memory::desc& wei_any,
                                                      const memory::desc& bias_md,
                                                      const memory::dims& y, const ConvGeometry& g,
                                                      const dnnl::primitive_attr& attr) {
  try {
    const memory::desc src(x, memory::data_type::f32, tag::any);
    const memory::desc dst(y, memory::data_type::f32, tag::any);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                      dnnl::algorithm::convolution_winograd, src, wei_any, bias_md,
                                      dst, g.strides, g.dilates, g.pad_l, g.pad_r);
    dnnl::convolution_forward::primitive_desc pd(d, attr, cpu_engine());
    if (!is_reference_impl(pd)) return pd;
  } catch (const dnnl::error&) {
  }
  return {};
}

class ConvKernel final : public Kernel {
 public:
  // Returns false (why_not set) when no fast implementation exists for this layout.
  // `nhwc_io`: the node's tensors are NHWC (channels_last); `residual`: input 3 is added.
  bool init(const KernelInit& init, ConvLayout layout, bool nhwc_io, bool residual,
            std::string& why_not) {
    auto logical = [&](const Shape& s) { return nhwc_io ? Shape{s[0], s[3], s[1], s[2]} : s; };
    const Shape x = logical(init.inputs[0].shape);
    const Shape& w = init.inputs[1].shape;
    const Shape y = logical(init.outputs[0].shape);
    int nd = static_cast<int>(x.size());
    int64_t groups = init.node.attr_int("group", 1);
    ConvGeometry g;
    if (!conv_geometry(init.node, x, w, y, g, why_not)) return false;
    std::vector<EltwiseStep> post;
    if (!fused_steps(init.node, post, why_not)) return false;

    memory::dims wdims = to_dims(w);
    if (groups > 1) {
      wdims[0] = w[0] / groups;
      wdims.insert(wdims.begin(), groups);
    }
    const bool has_bias = init.inputs.size() > 2 && init.inputs[2].dtype != DType::Undefined;
    // bf16 activations between bf16 convolutions (passes/bf16_storage.cpp): the source and/or
    // destination tensors hold bf16.
    auto io_type = [](DType t) {
      return t == DType::BF16 ? memory::data_type::bf16 : memory::data_type::f32;
    };
    const memory::data_type src_type = io_type(init.inputs[0].dtype);
    const memory::data_type dst_type = io_type(init.outputs[0].dtype);
    if ((src_type == memory::data_type::bf16 || dst_type == memory::data_type::bf16) &&
        !nhwc_io) {
      why_not = "bf16 activations only in a channels-last convolution";
      return false;
    }
    if (dst_type == memory::data_type::bf16 && residual) {
      why_not = "a bf16 output cannot take a residual input";
      return false;
    }
    memory::desc src_plain =
        nhwc_io ? memory::desc(to_dims(x), src_type, tag::nhwc) : plain_desc(x);
    memory::desc dst_plain =
        nhwc_io ? memory::desc(to_dims(y), dst_type, tag::nhwc) : plain_desc(y);
    memory::desc wei_plain = plain_desc(wdims);
    memory::desc bias_md = has_bias ? plain_desc(Shape{w[0]}) : memory::desc();
    tag t = act_tag(layout, nd);
    // bf16 compute (ir::Node::compute_type, weights that were bfloat16): source and weights in
    // bf16, f32 accumulation and output; the source reorder converts the activations. A CPU
    // without native bf16 runs the f32 primitive on the source rounded to bf16 (the weights
    // already are), which is the same arithmetic up to the order of the f32 sums.
    const bool bf16 = init.node.compute_type == DType::BF16;
    emulated_ = bf16 && !native_bf16();
    const memory::data_type cdt =
        bf16 && !emulated_ ? memory::data_type::bf16 : memory::data_type::f32;
    memory::desc src_md(to_dims(x), cdt, t);
    memory::desc dst_md(to_dims(y), emulated_ ? memory::data_type::f32 : dst_type, t);
    memory::desc wei_any(wdims, cdt, tag::any);

    dnnl::primitive_attr attr = scratch_attr();
    dnnl::post_ops po;
    if (residual) po.append_sum(1.f);
    append_steps(po, post);
    attr.set_post_ops(po);
    dnnl::convolution_forward::primitive_desc pd;
    const bool f32 = cdt == memory::data_type::f32 && !emulated_ &&
                     src_type == memory::data_type::f32 && dst_type == memory::data_type::f32;
    if (f32 && winograd_pays(x, w, y, g, groups) && use_winograd())
      pd = winograd_pd(to_dims(x), wei_any, bias_md, to_dims(y), g, attr);
    if (!pd && !try_dnnl(why_not, "convolution", [&] {
          dnnl::convolution_forward::desc d(
              dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
              wei_any, bias_md, dst_md, g.strides, g.dilates, g.pad_l, g.pad_r);
          auto make = [&] {
            return dnnl::convolution_forward::primitive_desc(d, attr, cpu_engine());
          };
          pd = make();
          if (cdt == memory::data_type::f32)
            prefer_direct_jit(pd, spatial_kernel(w) && w[0] / groups <= 16, make);
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = fmt::format("oneDNN has only its reference {} convolution for this case",
                            cdt == memory::data_type::bf16 ? "bf16" : "f32");
      return false;
    }
    impl_ = pd.impl_info_str();
    if (emulated_) impl_ += ", bf16 emulated in f32";

    // Weights: reordered once from the constant ONNX layout into the primitive's.
    prim_.build(init, pd, dnnl::convolution_forward(pd), wei_plain, *init.constants[1], src_plain,
                dst_plain, bias_md, residual);
    residual_ = residual;
    bf16_src_ = src_type == memory::data_type::bf16;
    if (residual) impl_ += ", residual as sum post-op";
    return true;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           ExecContext&) override {
    const Tensor* bias = inputs.size() > 2 ? inputs[2] : nullptr;
    if (residual_) copy_residual(*inputs[3], *outputs[0]);
    // A bf16 source is already rounded; the emulated primitive's reorder widens it to f32.
    if (!emulated_ || bf16_src_) {
      prim_.run(inputs[0]->raw(), bias, outputs[0]);
      return;
    }
    const int64_t n = inputs[0]->numel();
    float* x = static_cast<float*>(thread_scratch(0, size_t(n) * sizeof(float)));
    round_to_bf16(inputs[0]->data<float>(), x, n);
    prim_.run(x, bias, outputs[0]);
  }

  std::string impl() const override { return impl_; }
  bool emulated() const override { return emulated_; }
  int inplace_input() const override { return residual_ ? 3 : -1; }

 private:
  WeightedPrimitive prim_;
  std::string impl_;
  bool emulated_ = false;
  bool residual_ = false;
  bool bf16_src_ = false;
};

// A channels-last f32 3x3 stride-1 convolution on qbench's AVX2 Winograd (winograd_f32.h),
// where WinogradF32Conv::applies and oneDNN has no Winograd of its own (no AVX-512), or on
// half-width AVX-512 (winograd_over_direct).
class WinogradF32Kernel final : public Kernel {
 public:
  WinogradF32Kernel(const WinogradF32Shape& s, const float* w, float lo, float hi, bool residual)
      : conv_(s, w, lo, hi), residual_(residual) {}

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           ExecContext&) override {
    const Tensor* bias = inputs.size() > 2 ? inputs[2] : nullptr;
    conv_.run(inputs[0]->data<float>(), bias ? bias->data<float>() : nullptr,
              residual_ ? inputs[3]->data<float>() : nullptr, outputs[0]->data<float>());
  }

  std::string impl() const override {
    return std::string("qbench_winograd_f32:avx2 (F(2x2,3x3))") +
           (residual_ ? ", residual added" : "");
  }
  // The residual is read at each pixel just before that pixel is written.
  int inplace_input() const override { return residual_ ? 3 : -1; }

 private:
  WinogradF32Conv conv_;
  bool residual_;
};

std::unique_ptr<Kernel> make_winograd_f32(const KernelInit& init, bool residual) {
  const Shape& x = init.inputs[0].shape;  // NHWC
  const Shape& w = init.inputs[1].shape;
  const Shape& y = init.outputs[0].shape;
  const bool avx512 = onednn_has_avx512_core();
  if (!use_winograd() || init.node.compute_type == DType::BF16 ||
      init.inputs[0].dtype != DType::F32 || init.outputs[0].dtype != DType::F32 ||
      (avx512 && !avx512_half_width()))
    return nullptr;
  const Shape xl{x[0], x[3], x[1], x[2]}, yl{y[0], y[3], y[1], y[2]};
  ConvGeometry g;
  std::string why;
  if (!conv_geometry(init.node, xl, w, yl, g, why) || init.node.attr_int("group", 1) != 1 ||
      w[2] != 3 || w[3] != 3 || g.strides != memory::dims{1, 1} || g.dilates != memory::dims{0, 0})
    return nullptr;
  if (avx512 && !winograd_over_direct(xl, w, yl, g)) return nullptr;
  WinogradF32Shape s{x[0], x[1], x[2], x[3], y[1], y[2], y[3], g.pad_l[0], g.pad_l[1]};
  if (!WinogradF32Conv::applies(s)) return nullptr;
  // Relu and Clip are clamps; any other fused activation stays on oneDNN.
  std::vector<EltwiseStep> post;
  if (!fused_steps(init.node, post, why)) return nullptr;
  float lo = -INFINITY, hi = INFINITY;
  for (const EltwiseStep& e : post) {
    if (e.alg == dnnl::algorithm::eltwise_relu && e.alpha == 0.f) {
      lo = std::max(lo, 0.f);
      hi = std::max(hi, 0.f);
    } else if (e.alg == dnnl::algorithm::eltwise_clip ||
               e.alg == dnnl::algorithm::eltwise_clip_v2) {
      lo = std::min(std::max(lo, e.alpha), e.beta);
      hi = std::min(std::max(hi, e.alpha), e.beta);
    } else {
      return nullptr;
    }
  }
  return std::make_unique<WinogradF32Kernel>(s, init.constants[1]->data<float>(), lo, hi, residual);
}

}  // namespace

bool conv_geometry(const ir::Node& n, const Shape& x, const Shape& w, const Shape& y,
                   ConvGeometry& g, std::string& why_not) {
  size_t ns = x.size() - 2;
  auto strides = n.attr_ints("strides", std::vector<int64_t>(ns, 1));
  auto dil = n.attr_ints("dilations", std::vector<int64_t>(ns, 1));
  auto pads = n.attr_ints("pads", std::vector<int64_t>(2 * ns, 0));
  std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  if (strides.size() != ns || dil.size() != ns || pads.size() != 2 * ns) {
    why_not = "strides/dilations/pads length does not match the spatial rank";
    return false;
  }
  if (n.has_attr("kernel_shape")) {
    auto ks = n.attr_ints("kernel_shape");
    if (ks.size() != ns || !std::equal(ks.begin(), ks.end(), w.begin() + 2)) {
      why_not = "kernel_shape does not match the weight shape";
      return false;
    }
  }
  for (size_t i = 0; i < ns; ++i) {
    int64_t in = x[2 + i], k = w[2 + i], s = strides[i], d = dil[i];
    if (s < 1 || d < 1) {
      why_not = "stride or dilation < 1";
      return false;
    }
    int64_t ext = (k - 1) * d + 1;
    int64_t pl = 0, pr = 0;
    if (auto_pad == "NOTSET") {
      pl = pads[i];
      pr = pads[i + ns];
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t out = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out - 1) * s + ext - in);
      pl = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pr = total - pl;
    } else if (auto_pad != "VALID") {
      why_not = fmt::format("auto_pad '{}'", auto_pad);
      return false;
    }
    if (pl < 0 || pr < 0) {
      why_not = "negative pads";
      return false;
    }
    int64_t out = (in + pl + pr - ext) / s + 1;
    if (out != y[2 + i]) {
      why_not = fmt::format("inferred output dim {} differs from oneDNN's {}", y[2 + i], out);
      return false;
    }
    g.strides.push_back(s);
    g.dilates.push_back(d - 1);  // oneDNN counts the gaps, ONNX the step
    g.pad_l.push_back(pl);
    g.pad_r.push_back(pr);
  }
  return true;
}

void set_winograd(bool on) {
  g_winograd = on;
}
bool use_winograd() {
  return g_winograd;
}

void set_conv_layout(ConvLayout layout) {
  g_layout = layout;
}
ConvLayout conv_layout() {
  return g_layout;
}

std::unique_ptr<Kernel> make_onednn_conv(const KernelInit& init, std::string& why_not) {
  if (init.inputs.size() < 2 || init.outputs.size() != 1) {
    why_not = "expects X, W[, B] and one output";
    return nullptr;
  }
  // X and Y may hold bf16 in a bf16 convolution (bf16 activations, passes/bf16_storage.cpp).
  const bool bf16 = init.node.compute_type == DType::BF16;
  for (const auto& [what, t] : {std::pair{"input", init.inputs[0].dtype},
                                 std::pair{"output", init.outputs[0].dtype}})
    if (t != DType::F32 && !(bf16 && t == DType::BF16)) {
      why_not = fmt::format("{} 0 dtype {} (only f32, or bf16 in a bf16 convolution)", what,
                            dtype_name(t));
      return nullptr;
    }
  if (!check_f32(init, why_not, {0}, /*outputs=*/false)) return nullptr;
  int nd = static_cast<int>(init.inputs[0].shape.size());
  if (nd < 3 || nd > 5 || init.inputs[1].shape.size() != init.inputs[0].shape.size()) {
    why_not = fmt::format("rank {} (only 1-D to 3-D convolutions)", nd);
    return nullptr;
  }
  if (!init.constants[1]) {
    why_not = "weights are not constant";
    return nullptr;
  }
  const bool nhwc_io = ref::channels_last(init.node);
  if (nhwc_io && nd != 4) {
    why_not = "channels_last needs a 2-D convolution";
    return nullptr;
  }
  const bool residual = init.inputs.size() > 3 && init.inputs[3].dtype != DType::Undefined;
  if (residual && init.inputs[3].shape != init.outputs[0].shape) {
    why_not = fmt::format("residual input {} broadcasts to the output {}",
                          shape_str(init.inputs[3].shape), shape_str(init.outputs[0].shape));
    return nullptr;
  }
  if (shape_numel(init.inputs[0].shape) == 0 || shape_numel(init.outputs[0].shape) == 0) {
    why_not = "empty tensor";
    return nullptr;
  }
  int64_t groups = init.node.attr_int("group", 1);
  const Shape& x = init.inputs[0].shape;
  const Shape& w = init.inputs[1].shape;
  const int64_t channels = nhwc_io ? x[3] : x[1];
  if (groups < 1 || channels % groups != 0 || w[0] % groups != 0 || w[1] * groups != channels) {
    why_not =
        fmt::format("group {} inconsistent with C={} and W {}", groups, channels, shape_str(w));
    return nullptr;
  }
  // The chosen layout first (NHWC for channels-last tensors), then the others: some shapes
  // (dilated grouped 1-D, odd strides with dilation) have a JIT implementation in one layout
  // only.
  if (nhwc_io)
    if (auto k = make_winograd_f32(init, residual)) return k;
  ConvLayout preferred = nhwc_io ? ConvLayout::Nhwc : conv_layout();
  const ConvLayout order[] = {preferred, ConvLayout::Nhwc, ConvLayout::Blocked, ConvLayout::Plain};
  std::string first_why;
  for (size_t i = 0; i < std::size(order); ++i) {
    if (i > 0 && order[i] == preferred) continue;
    auto k = std::make_unique<ConvKernel>();
    std::string why;
    if (k->init(init, order[i], nhwc_io, residual, why)) return k;
    if (first_why.empty()) first_why = why;
  }
  why_not = first_why;
  return nullptr;
}

}  // namespace qbench::kernels::onednn
