// QLinearConv (and qbench.QLinearConv with fused Relu/Clip) as one oneDNN int8 convolution:
// u8/s8 activations, s8 weights reordered once at creation, int32 bias, per-channel output
// scales x_scale * w_scale[c] / y_scale, source and destination zero points, Relu/Clip as a clip
// post-op before requantization, u8/s8 output. oneDNN converts to the output type with the
// CPU's round-to-nearest-even and saturates, as ONNX specifies; its float arithmetic (scale
// applied to acc + bias in f32) can differ from the reference's double by 1 LSB on ties.
#include <fmt/format.h>

#include "kernels/onednn/conv_geometry.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/onednn/exact_int8_conv.h"
#include "kernels/onednn/factories.h"
#include "kernels/onednn/loops.h"
#include "kernels/onednn/qcommon.h"
#include "kernels/onednn/qfactories.h"
#include "kernels/ref/qbench_ops.h"

namespace qbench::kernels::onednn {

namespace {

using tag = memory::format_tag;
using dt = memory::data_type;

// [N, H, W, C] as the logical [N, C, H, W] oneDNN describes.
Shape nchw_dims(const Shape& s) {
  return {s[0], s[3], s[1], s[2]};
}

bool channels_last(tag t) {
  return t == tag::nwc || t == tag::nhwc || t == tag::ndhwc;
}

// The QLinearAdd a residual QLinearConv (qbench_ops.h) applies to its convolution's output.
struct ResidualSpec {
  QAddArithmetic add;
  DType residual, output;  // the residual's type; the add's output type (the node's)

  // With the convolution's requantization (its zero point and range).
  ResidualEpilogue epilogue(const Requant& rq) const {
    return residual_epilogue(add, rq.dst_zp.value, rq.lo, rq.hi, residual == DType::I8,
                             output == DType::I8);
  }
};

class QConvKernel final : public Kernel {
 public:
  // ConvInteger: weights are input 1, no bias, int32 output without scales, and the input zero
  // point may be a runtime input (DynamicQuantizeLinear's).
  bool integer = false;
  int runtime_x_zp = -1;

  // `nhwc_io`: the node is channels_last, its tensors are NHWC and need no reorder.
  //
  // Where this CPU's int8 dot products saturate (cpu_paths.h), full-range weights run as two
  // convolutions over their 7-bit halves, each accumulating in int32; the halves are added and
  // requantized once, in the order of oneDNN's own epilogue (loops.h), so the output is what
  // one primitive computes on a CPU with VNNI. int8 sources go in as uint8 (x + 128) with the
  // zero point 128 higher, which is the same sum.
  //
  // With `residual`, `init` describes the convolution alone (its own int8 output type), and
  // post-ops round that output, add the residual the output buffer holds (a sum post-op) and
  // clamp: ResidualEpilogue's steps (loops.h), as the int16 kernel computes them.
  bool init(const KernelInit& init, tag act, bool nhwc_io, const Requant& rq,
            const ResidualSpec* residual, std::string& why_not) {
    const Shape x = nhwc_io ? nchw_dims(init.inputs[0].shape) : init.inputs[0].shape;
    const size_t wi = integer ? 1 : 3;
    const Shape& w = init.inputs[wi].shape;
    const Shape y = nhwc_io ? nchw_dims(init.outputs[0].shape) : init.outputs[0].shape;
    const int64_t groups = init.node.attr_int("group", 1);
    ConvGeometry g;
    if (!conv_geometry(init.node, x, w, y, g, why_not)) return false;
    rq_ = rq;
    memory::dims wdims = to_dims(w);
    if (groups > 1) {
      wdims[0] = w[0] / groups;
      wdims.insert(wdims.begin(), groups);
    }
    const Int8Behaviour& cpu = int8_behaviour();
    const bool depthwise = groups > 1 && w[1] == 1 && w[0] == groups;
    const dt user_xt = dnnl_type(init.inputs[0].dtype),
             yt = dnnl_type(residual ? residual->output : init.outputs[0].dtype);
    shift_src_ = user_xt == dt::s8 && cpu.conv_s8_source_inexact;
    const dt xt = shift_src_ ? dt::u8 : user_xt;
    if (shift_src_) rq_.src_zp.value += 128;
    const std::span<const int8_t> wvals(init.constants[wi]->data<int8_t>(), size_t(shape_numel(w)));
    split_ =
        (depthwise ? cpu.depthwise_pairs_saturate : cpu.conv_pairs_saturate) && !pair_safe(wvals);
    if (split_ && !integer && !channels_last(act)) {
      why_not = "weight halves are requantized in channels-last layout only";
      return false;
    }
    if (residual && (split_ || !nhwc_io)) {
      why_not = split_ ? "weight halves are requantized without a residual"
                       : "a residual needs channels-last tensors";
      return false;
    }
    has_bias_ = !integer && init.inputs.size() > 8 && init.inputs[8].dtype != DType::Undefined;
    memory::desc src_plain =
        nhwc_io ? memory::desc(to_dims(x), user_xt, tag::nhwc) : plain_desc(to_dims(x), user_xt);
    memory::desc dst_plain =
        nhwc_io ? memory::desc(to_dims(y), yt, tag::nhwc) : plain_desc(to_dims(y), yt);
    memory::desc bias_md =
        has_bias_ && !split_ ? plain_desc(memory::dims{w[0]}, dt::s32) : memory::desc();
    memory::desc src_md(to_dims(x), xt, act);
    // The halves write int32 accumulators; one primitive writes the requantized output.
    memory::desc dst_md(to_dims(y), split_ ? dt::s32 : yt, act);
    memory::desc wei_any(wdims, dt::s8, tag::any);

    dnnl::primitive_attr attr = scratch_attr();
    // The destination's zero point: the add's output's where there is a residual.
    dst_zp_ = rq_.dst_zp;
    if (residual) {
      residual_post_ops(rq_, *residual, attr);
      dst_zp_.value = residual->add.zero_point;
    } else if (!integer && !split_) {
      apply_requant(rq_, 1 << 1, attr);
    }
    if (runtime_x_zp >= 0) rq_.src_zp.value = 1;  // any non-zero: registered as runtime
    rq_.src_zp.apply(attr, DNNL_ARG_SRC);
    if (!split_) dst_zp_.apply(attr, DNNL_ARG_DST);
    dnnl::convolution_forward::primitive_desc pd;
    if (!try_dnnl(why_not, "int8 convolution", [&] {
          dnnl::convolution_forward::desc d(
              dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
              wei_any, bias_md, dst_md, g.strides, g.dilates, g.pad_l, g.pad_r);
          auto make = [&] {
            return dnnl::convolution_forward::primitive_desc(d, attr, cpu_engine());
          };
          pd = make();
          prefer_direct_jit(pd, spatial_kernel(w) && w[0] / groups <= 32, make);
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference int8 convolution for this case";
      return false;
    }
    if (residual && pd.dst_desc() != dst_plain) {
      why_not = "the int8 convolution's output layout is not the tensor's (NHWC)";
      return false;
    }
    impl_ = pd.impl_info_str();
    if (residual) impl_ += ", residual added by post-ops";
    residual_ = residual != nullptr;
    if (split_) impl_ += ", two 7-bit weight halves";
    if (shift_src_) impl_ += ", int8 source as uint8";

    // Weights: once, into the primitive's layout (with any compensation it wants).
    // Shared with the engine's other plans (reordered_constant).
    auto reorder_weights = [&](const char* variant, const int8_t* values) {
      return reordered_constant(init.prepared, kept_, *init.constants[wi],
                                plain_desc(wdims, dt::s8), pd.weights_desc(), variant, values);
    };
    if (split_) {
      std::vector<int8_t> hi, lo;
      split_halves(wvals, hi, lo);
      part_weights_ = reorder_weights("high 7-bit half", hi.data());
      weights_ = reorder_weights("low 7-bit half", lo.data());
    } else {
      weights_ = reorder_weights("", nullptr);
    }
    if (has_bias_) {
      bias_ = memory(plain_desc(memory::dims{w[0]}, dt::s32), cpu_engine());
      std::memcpy(bias_.get_data_handle(), init.constants[8]->raw(), w[0] * sizeof(int32_t));
    }

    src_user_ = user_memory(src_plain);
    dst_user_ = user_memory(dst_plain);
    // The source as the primitive reads it: reordered from the user's layout where they differ,
    // then shifted to uint8 where the CPU needs that.
    memory::desc src_layout = pd.src_desc();
    src_layout.data.data_type = memory::convert_to_c(user_xt);
    memory src = src_user_;
    if (src_layout != src_plain) {
      src_reordered_ = memory(src_layout, cpu_engine());
      src_reorder_ = {dnnl::reorder(src_user_, src_reordered_),
                      {{DNNL_ARG_FROM, src_user_}, {DNNL_ARG_TO, src_reordered_}}};
      src = src_reordered_;
    }
    if (shift_src_) {
      src_shifted_ = user_memory(pd.src_desc());
      src = src_shifted_;
    }
    // The output in the primitive's layout (requantized or int32), before any reorder to the
    // user's; with halves, the requantized output in that layout.
    memory::desc out_md = pd.dst_desc();
    out_md.data.data_type = memory::convert_to_c(yt);
    dst_ = out_md != dst_plain ? memory(out_md, cpu_engine()) : dst_user_;
    if (split_) {
      channels_ = w[0];
      acc_ = user_memory(pd.dst_desc());
      part_acc_ = user_memory(pd.dst_desc());
      if (!integer)
        requant_ = halves_requantization(
            rq_, has_bias_ ? static_cast<const int32_t*>(bias_.get_data_handle()) : nullptr,
            channels_, yt == dt::s8);
    }
    conv_ = {dnnl::convolution_forward(pd),
             {{DNNL_ARG_SRC, src},
              {DNNL_ARG_WEIGHTS, weights_},
              {DNNL_ARG_DST, split_ ? (integer ? dst_ : acc_) : dst_}}};
    if (has_bias_ && !split_) conv_.args[DNNL_ARG_BIAS] = bias_;
    rq_.src_zp.bind(conv_.args, DNNL_ARG_SRC);
    if (!split_) dst_zp_.bind(conv_.args, DNNL_ARG_DST);
    conv_.use_scratchpad(pd);
    if (split_) {
      part_conv_ = conv_;
      part_conv_.args[DNNL_ARG_WEIGHTS] = part_weights_;
      part_conv_.args[DNNL_ARG_DST] = part_acc_;
    }
    if (dst_ != dst_user_)
      dst_reorder_ = {dnnl::reorder(dst_, dst_user_),
                      {{DNNL_ARG_FROM, dst_}, {DNNL_ARG_TO, dst_user_}}};
    return true;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           ExecContext&) override {
    bind(src_user_, inputs[0]);
    bind(dst_user_, outputs[0]);
    if (residual_) copy_residual(*inputs[9], *outputs[0]);
    if (runtime_x_zp >= 0) {
      const Tensor* z = inputs[runtime_x_zp];
      *static_cast<int32_t*>(rq_.src_zp.mem.get_data_handle()) =
          (z->dtype() == DType::U8 ? int32_t(z->data<uint8_t>()[0])
                                   : int32_t(z->data<int8_t>()[0])) +
          (shift_src_ ? 128 : 0);
    }
    if (src_reorder_.prim) src_reorder_.execute();
    if (shift_src_) {
      // In place over the reordered copy (owned), else into a scratch buffer.
      const memory& from = src_reordered_ ? src_reordered_ : src_user_;
      const size_t n = from.get_desc().get_size();
      void* to = src_reordered_ ? src_reordered_.get_data_handle() : thread_scratch(0, n);
      cpu_stream().wait();
      int8_to_shifted_uint8(static_cast<const int8_t*>(from.get_data_handle()),
                            static_cast<uint8_t*>(to), int64_t(n));
      src_shifted_.set_data_handle(to);
    }
    if (split_) {
      const size_t bytes = part_acc_.get_desc().get_size();
      part_acc_.set_data_handle(thread_scratch(1, bytes));
      if (!integer) acc_.set_data_handle(thread_scratch(2, bytes));
      part_conv_.execute();
    }
    conv_.execute();
    if (split_) {
      cpu_stream().wait();
      const auto* part = static_cast<const int32_t*>(part_acc_.get_data_handle());
      const int64_t n = int64_t(part_acc_.get_desc().get_size() / sizeof(int32_t));
      if (integer)
        add_int32(part, static_cast<int32_t*>(dst_.get_data_handle()), n);
      else
        requantize_halves(part, static_cast<const int32_t*>(acc_.get_data_handle()), n / channels_,
                          channels_, requant_, dst_.get_data_handle());
    }
    if (dst_reorder_.prim) dst_reorder_.execute();
    cpu_stream().wait();
  }

  std::string impl() const override { return impl_; }
  int inplace_input() const override { return residual_ ? 9 : -1; }

 private:
  // The post-ops of a residual convolution, ResidualEpilogue's steps (loops.h): round, clip to
  // the convolution's range less its zero point, ka * q + beta (a linear post-op), + kb * r (a sum
  // post-op over the output buffer, which holds r), clip to the add's activations, and the
  // output's zero point as the destination's. oneDNN 2.6 keys its post-op injectors by algorithm
  // (a second linear post-op would run with the first's parameters), so each appears once: the
  // second clip is eltwise_clip, the first eltwise_clip_v2 (the same function forward).
  static void residual_post_ops(const Requant& rq, const ResidualSpec& r,
                                dnnl::primitive_attr& attr) {
    const ResidualEpilogue e = r.epilogue(rq);
    attr.set_output_scales(rq.scales.size() > 1 ? 1 << 1 : 0, rq.scales);
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_round, 0.f, 0.f);
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip_v2, e.q_lo, e.q_hi);
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, e.ka, e.beta);
    po.append_sum(e.kb, 0, dnnl_type(r.residual));
    if (e.clip) po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, e.lo, e.hi);
    attr.set_post_ops(po);
  }

  Requant rq_;
  ZeroPoint dst_zp_;
  KeptConstants kept_;
  memory weights_, part_weights_, bias_, src_user_, dst_user_, dst_;
  // The int32 accumulators of the two weight halves (scratch buffers).
  memory acc_, part_acc_;
  // The source reordered into the primitive's layout (owned), and shifted to uint8 (over the
  // reordered buffer or a scratch buffer).
  memory src_reordered_, src_shifted_;
  Step src_reorder_, part_conv_, conv_, dst_reorder_;
  Requantization requant_;
  int64_t channels_ = 0;
  std::string impl_;
  bool has_bias_ = false, split_ = false, shift_src_ = false, residual_ = false;
};

// qbench's exact kernel where it applies: where this CPU's int8 pair sums saturate, for
// full-range weights (int16 products), and for 7-bit weights where it runs Winograd or multiplies
// bytes (exact_int8_conv.h); or where a test forces it.
std::unique_ptr<Kernel> make_int16_conv(const KernelInit& init, const Requant& rq,
                                        const ResidualSpec* residual) {
  const Int16Kernels mode = int16_kernels();
  if (mode == Int16Kernels::Never || !ExactInt8Conv::available() ||
      !kernels::ref::channels_last(init.node) || init.node.attr_int("group", 1) != 1)
    return nullptr;
  const Shape& xs = init.inputs[0].shape;  // NHWC
  const Shape& w = init.inputs[3].shape;   // [M, C, KH, KW]
  const Shape& ys = init.outputs[0].shape;
  if (xs.size() != 4 || w.size() != 4 || w[1] != xs[3]) return nullptr;
  const std::span<const int8_t> wvals(init.constants[3]->data<int8_t>(), size_t(shape_numel(w)));
  const bool signed_source = init.inputs[0].dtype == DType::I8;
  // Where the pair sums do not saturate (VNNI), only Winograd F(4x4) on the VNNI tiles and the
  // direct products over few uint8 channels (the stem: 750 -> 630 us at 1 thread on Zen 4).
  const bool vnni_only = mode == Int16Kernels::Auto && !int8_behaviour().conv_pairs_saturate;
  if (vnni_only && !own_vnni_kernels()) return nullptr;
  ConvGeometry g;
  std::string why;
  if (!conv_geometry(init.node, nchw_dims(xs), w, nchw_dims(ys), g, why)) return nullptr;
  ExactConvShape s;
  s.batch = xs[0];
  s.in_h = xs[1];
  s.in_w = xs[2];
  s.in_c = xs[3];
  s.out_h = ys[1];
  s.out_w = ys[2];
  s.out_c = ys[3];
  s.kernel_h = w[2];
  s.kernel_w = w[3];
  s.stride_h = g.strides[0];
  s.stride_w = g.strides[1];
  s.dilation_h = g.dilates[0] + 1;  // oneDNN counts the gaps
  s.dilation_w = g.dilates[1] + 1;
  s.pad_top = g.pad_l[0];
  s.pad_left = g.pad_l[1];
  // Bytes where they apply (exact_int8_conv.h): full-range weights split over a source mostly
  // below 128, 7-bit weights where that pays. Otherwise full-range weights take int16 products,
  // and 7-bit ones run exactly on oneDNN's u8 x s8 kernels, as fast per multiply as int16
  // products: only Winograd F(4x4)'s fewer multiplies make it worth taking them there. F(2x2)
  // (where too few 4x4 tiles cover the output) streams int16 weights 3.6x the bytes of the
  // int8 ones past few tiles, for no gain: ResNet-50's layer-4 3x3 convolutions took 930-1000 us
  // in it and 920-955 on oneDNN (reduce-range file as AVX2-only, 1 thread).
  const bool vnni_direct = vnni_only && ExactInt8Conv::vnni_direct_applies(s, signed_source);
  if (vnni_only && !vnni_direct &&
      (!ExactInt8Conv::vnni_winograd_applies(s) ||
       !ExactInt8Conv::winograd4_fits(s, wvals.data(), rq.src_zp.value, signed_source)))
    return nullptr;
  const bool u8 = !vnni_only && mode != Int16Kernels::Always &&
                  ExactInt8Conv::u8_products_apply(s, wvals, signed_source, rq.src_zp.value);
  if (mode == Int16Kernels::Auto && !u8 && !vnni_direct && pair_safe(wvals) &&
      !ExactInt8Conv::winograd4_fits(s, wvals.data(), rq.src_zp.value, signed_source))
    return nullptr;
  const bool has_bias = init.inputs.size() > 8 && init.inputs[8].dtype != DType::Undefined;
  const bool signed_out = init.outputs[0].dtype == DType::I8;
  auto conv = std::make_unique<ExactInt8Conv>(
      s, wvals.data(), rq.src_zp.value, signed_source,
      halves_requantization(rq, has_bias ? init.constants[8]->data<int32_t>() : nullptr, w[0],
                            signed_out),
      u8);
  if (residual) conv->add_residual(residual->epilogue(rq));
  return make_exact_int8_kernel(std::move(conv), "convolution", residual ? 9 : -1);
}

// A residual QLinearConv whose add could not go into the convolution (weight halves, broadcasting,
// an output layout oneDNN does not write directly): the convolution into a buffer of its own,
// then the QLinearAdd kernel.
class ConvThenAddKernel final : public Kernel {
 public:
  ConvThenAddKernel(std::unique_ptr<Kernel> conv, std::unique_ptr<Kernel> add,
                    const kernels::TensorType& mid)
      : conv_(std::move(conv)), add_(std::move(add)), mid_(mid.dtype, mid.shape) {}

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           ExecContext& ctx) override {
    Tensor* mid[] = {&mid_};
    conv_->run(inputs.first(9), mid, ctx);
    add_->run(ref::residual_add_inputs<const Tensor*>(&mid_, inputs), outputs, ctx);
  }

  std::string impl() const override {
    return conv_->impl() + "; the residual added after it: " + add_->impl();
  }

 private:
  std::unique_ptr<Kernel> conv_, add_;
  Tensor mid_;
};

tag act_tag(int nd, int which) {
  static const tag nhwc[] = {tag::nwc, tag::nhwc, tag::ndhwc};
  static const tag blocked[] = {tag::nCw16c, tag::nChw16c, tag::nCdhw16c};
  static const tag plain[] = {tag::ncw, tag::nchw, tag::ncdhw};
  const tag* t = which == 0 ? nhwc : which == 1 ? blocked : plain;
  return t[nd - 3];
}

// QLinearConv from the KernelInit of the convolution (`residual`: the add after it, which the
// kernel applies before it writes, or declines).
std::unique_ptr<Kernel> make_qconv(const KernelInit& init, const ResidualSpec* residual,
                                   std::string& why_not) {
  if (init.inputs.size() < 8 || init.inputs.size() > 9 || init.outputs.size() != 1) {
    why_not = "expects the 8 or 9 QLinearConv inputs and one output";
    return nullptr;
  }
  const DType xt = init.inputs[0].dtype, wt = init.inputs[3].dtype, yt = init.outputs[0].dtype;
  if ((xt != DType::U8 && xt != DType::I8) || wt != DType::I8 ||
      (yt != DType::U8 && yt != DType::I8)) {
    why_not = fmt::format("x {} w {} y {} (only u8/s8 x, s8 w, u8/s8 y)", dtype_name(xt),
                          dtype_name(wt), dtype_name(yt));
    return nullptr;
  }
  const bool nhwc_io = kernels::ref::channels_last(init.node);
  if (nhwc_io && init.inputs[0].shape.size() != 4) {
    why_not = "channels_last needs a 2-D convolution";
    return nullptr;
  }
  const Shape x = nhwc_io ? nchw_dims(init.inputs[0].shape) : init.inputs[0].shape;
  const Shape& w = init.inputs[3].shape;
  const int nd = static_cast<int>(x.size());
  if (nd < 3 || nd > 5 || w.size() != x.size()) {
    why_not = fmt::format("rank {} (only 1-D to 3-D convolutions)", nd);
    return nullptr;
  }
  if (!init.constants[3]) {
    why_not = "weights are not constant";
    return nullptr;
  }
  if (init.inputs.size() > 8 && init.inputs[8].dtype != DType::Undefined && !init.constants[8]) {
    why_not = "bias is not constant";
    return nullptr;
  }
  if (shape_numel(x) == 0 || shape_numel(init.outputs[0].shape) == 0) {
    why_not = "empty tensor";
    return nullptr;
  }
  const int64_t groups = init.node.attr_int("group", 1);
  if (groups < 1 || x[1] % groups != 0 || w[0] % groups != 0 || w[1] * groups != x[1]) {
    why_not = fmt::format("group {} inconsistent with C={} and W {}", groups, x[1], shape_str(w));
    return nullptr;
  }
  Requant rq;
  if (!read_requant(init, w[0], rq, why_not)) return nullptr;
  if (auto k = make_int16_conv(init, rq, residual)) return k;
  // NHWC first: oneDNN's int8 convolutions on AVX-512 are written for channels-last.
  std::string first_why;
  for (int which = 0; which < (nhwc_io ? 1 : 3); ++which) {
    auto k = std::make_unique<QConvKernel>();
    std::string why;
    if (k->init(init, act_tag(nd, which), nhwc_io, rq, residual, why)) return k;
    if (first_why.empty()) first_why = why;
  }
  why_not = first_why;
  return nullptr;
}

// qbench.QLinearConv with a residual: the add in the convolution's epilogue where the residual
// and the convolution's output have the output's shape, else the two kernels one after the other.
std::unique_ptr<Kernel> make_residual_qconv(const KernelInit& init, std::string& why_not) {
  if (init.inputs.size() != 14 || init.outputs.size() != 1) {
    why_not = "expects the 14 inputs of a residual QLinearConv and one output";
    return nullptr;
  }
  const DType rt = init.inputs[9].dtype, yt = init.outputs[0].dtype;
  ResidualSpec residual{{}, rt, yt};
  if (!dtype_is_8bit(rt) || !dtype_is_8bit(yt)) {
    why_not = "only u8/s8 residuals and outputs";
    return nullptr;
  }
  if (!read_qadd(init, {6, 7, 10, 11, 12, 13}, yt, residual.add, why_not)) return nullptr;
  // The convolution alone: its first 9 inputs, no activations, its own int8 output.
  const ir::Node conv = ref::residual_conv(init.node);
  std::vector<kernels::TensorType> ins(init.inputs.begin(), init.inputs.begin() + 9);
  std::vector<const Tensor*> cs(init.constants.begin(), init.constants.begin() + 9);
  InferContext ic{conv, init.opset, ins, cs, {}};
  kernels::infer_checked(*kernels::find_op(ref::kQbenchDomain, "QLinearConv"), ic);
  const KernelInit part{conv, init.opset, ins, ic.outputs, cs, init.threads, init.prepared};
  const kernels::TensorType& mid = ic.outputs[0];
  std::string why;
  if (mid.shape == init.outputs[0].shape && init.inputs[9].shape == init.outputs[0].shape)
    if (auto k = make_qconv(part, &residual, why)) return k;
  auto conv_kernel = make_qconv(part, nullptr, why_not);
  if (!conv_kernel) return nullptr;
  const ir::Node add = ref::residual_add(init.node);
  const auto add_ins = ref::residual_add_inputs<kernels::TensorType>(mid, init.inputs);
  const auto add_cs = ref::residual_add_inputs<const Tensor*>(nullptr, init.constants);
  auto add_kernel = make_onednn_qadd(
      KernelInit{add, init.opset, add_ins, init.outputs, add_cs, init.threads, init.prepared},
      why_not);
  if (!add_kernel) return nullptr;
  return std::make_unique<ConvThenAddKernel>(std::move(conv_kernel), std::move(add_kernel), mid);
}

}  // namespace

std::unique_ptr<Kernel> make_onednn_qconv(const KernelInit& init, std::string& why_not) {
  if (ref::has_residual(init.node)) return make_residual_qconv(init, why_not);
  return make_qconv(init, nullptr, why_not);
}

// ConvInteger (dynamic quantization: DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul): the
// same int8 convolution with an int32 output, no scales, and the input zero point read at run
// time when it is not constant.
std::unique_ptr<Kernel> make_onednn_conv_integer(const KernelInit& init, std::string& why_not) {
  if (init.inputs.size() < 2 || init.outputs.size() != 1) {
    why_not = "expects x, w[, x_zero_point, w_zero_point] and one output";
    return nullptr;
  }
  const DType xt = init.inputs[0].dtype, wt = init.inputs[1].dtype;
  if ((xt != DType::U8 && xt != DType::I8) || wt != DType::I8) {
    why_not = fmt::format("x {} w {} (only u8/s8 x, s8 w)", dtype_name(xt), dtype_name(wt));
    return nullptr;
  }
  const Shape& x = init.inputs[0].shape;
  const Shape& w = init.inputs[1].shape;
  const int nd = static_cast<int>(x.size());
  if (nd < 3 || nd > 5 || w.size() != x.size() || !init.constants[1]) {
    why_not = "only 1-D to 3-D convolutions with constant weights";
    return nullptr;
  }
  const int64_t groups = init.node.attr_int("group", 1);
  if (groups < 1 || x[1] % groups != 0 || w[0] % groups != 0 || w[1] * groups != x[1] ||
      shape_numel(x) == 0) {
    why_not = "group inconsistent with the shapes, or empty input";
    return nullptr;
  }
  std::vector<int32_t> wz;
  if (!const_ints(init, 3, "w_zero_point", wz, why_not)) return nullptr;
  for (int32_t z : wz)
    if (z != 0) {
      why_not = fmt::format("weight zero point {} (only symmetric weights have a fast path)", z);
      return nullptr;
    }
  Requant rq;
  int runtime_zp = -1;
  if (init.inputs.size() > 2 && init.inputs[2].dtype != DType::Undefined) {
    if (shape_numel(init.inputs[2].shape) != 1) {
      why_not = "per-channel x_zero_point";
      return nullptr;
    }
    if (init.constants[2])
      rq.src_zp.value = static_cast<int32_t>(init.constants[2]->to_int64()[0]);
    else
      runtime_zp = 2;
  }
  std::string first_why;
  for (int which = 0; which < 3; ++which) {
    auto k = std::make_unique<QConvKernel>();
    k->integer = true;
    k->runtime_x_zp = runtime_zp;
    std::string why;
    if (k->init(init, act_tag(nd, which), false, rq, nullptr, why)) return k;
    if (first_why.empty()) first_why = why;
  }
  why_not = first_why;
  return nullptr;
}

}  // namespace qbench::kernels::onednn
