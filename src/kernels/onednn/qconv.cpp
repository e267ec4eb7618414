// QLinearConv (and qbench.QLinearConv with fused Relu/Clip) as one oneDNN int8 convolution:
// u8/s8 activations, s8 weights reordered once at creation, int32 bias, per-channel output
// scales x_scale * w_scale[c] / y_scale, source and destination zero points, Relu/Clip as a clip
// post-op before requantization, u8/s8 output. oneDNN converts to the output type with the
// CPU's round-to-nearest-even and saturates, as ONNX specifies; its float arithmetic (scale
// applied to acc + bias in f32) can differ from the reference's double by 1 LSB on ties.
#include <fmt/format.h>

#include "kernels/onednn/conv_geometry.h"
#include "kernels/onednn/factories.h"
#include "kernels/onednn/qcommon.h"
#include "kernels/ref/qbench_ops.h"

namespace qbench::kernels::onednn {

namespace {

using tag = memory::format_tag;
using dt = memory::data_type;

// [N, H, W, C] as the logical [N, C, H, W] oneDNN describes.
Shape nchw_dims(const Shape& s) {
  return {s[0], s[3], s[1], s[2]};
}

class QConvKernel final : public Kernel {
 public:
  // ConvInteger: weights are input 1, no bias, int32 output without scales, and the input zero
  // point may be a runtime input (DynamicQuantizeLinear's).
  bool integer = false;
  int runtime_x_zp = -1;

  // `nhwc_io`: the node is channels_last, its tensors are NHWC and need no reorder.
  bool init(const KernelInit& init, tag act, bool nhwc_io, const Requant& rq,
            std::string& why_not) {
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
    const dt xt = dnnl_type(init.inputs[0].dtype), yt = dnnl_type(init.outputs[0].dtype);
    has_bias_ = !integer && init.inputs.size() > 8 && init.inputs[8].dtype != DType::Undefined;
    memory::desc src_plain =
        nhwc_io ? memory::desc(to_dims(x), xt, tag::nhwc) : plain_desc(to_dims(x), xt);
    memory::desc dst_plain =
        nhwc_io ? memory::desc(to_dims(y), yt, tag::nhwc) : plain_desc(to_dims(y), yt);
    memory::desc bias_md = has_bias_ ? plain_desc(memory::dims{w[0]}, dt::s32) : memory::desc();
    memory::desc src_md(to_dims(x), xt, act), dst_md(to_dims(y), yt, act);
    memory::desc wei_any(wdims, dt::s8, tag::any);

    dnnl::primitive_attr attr = scratch_attr();
    if (!integer) apply_requant(rq_, 1 << 1, attr);
    if (runtime_x_zp >= 0) rq_.src_zp.value = 1;  // any non-zero: registered as runtime
    rq_.src_zp.apply(attr, DNNL_ARG_SRC);
    rq_.dst_zp.apply(attr, DNNL_ARG_DST);
    dnnl::convolution_forward::primitive_desc pd;
    if (!try_dnnl(why_not, "int8 convolution", [&] {
          dnnl::convolution_forward::desc d(
              dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
              wei_any, bias_md, dst_md, g.strides, g.dilates, g.pad_l, g.pad_r);
          pd = dnnl::convolution_forward::primitive_desc(d, attr, cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference int8 convolution for this case";
      return false;
    }
    // Weights: once, into the primitive's layout (with any compensation it wants).
    weights_ = memory(pd.weights_desc(), cpu_engine());
    memory wuser(plain_desc(wdims, dt::s8), cpu_engine(),
                 const_cast<void*>(init.constants[wi]->raw()));
    dnnl::reorder(wuser, weights_).execute(cpu_stream(), wuser, weights_);
    if (has_bias_) {
      bias_ = memory(bias_md, cpu_engine());
      std::memcpy(bias_.get_data_handle(), init.constants[8]->raw(), bias_md.get_size());
    }
    cpu_stream().wait();

    src_user_ = user_memory(src_plain);
    dst_user_ = user_memory(dst_plain);
    memory src = src_user_, dst = dst_user_;
    if (pd.src_desc() != src_plain) {
      src = memory(pd.src_desc(), cpu_engine());
      steps_.push_back(
          {dnnl::reorder(src_user_, src), {{DNNL_ARG_FROM, src_user_}, {DNNL_ARG_TO, src}}});
    }
    if (pd.dst_desc() != dst_plain) dst = memory(pd.dst_desc(), cpu_engine());
    Step conv{dnnl::convolution_forward(pd),
              {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst}}};
    if (has_bias_) conv.args[DNNL_ARG_BIAS] = bias_;
    rq_.src_zp.bind(conv.args, DNNL_ARG_SRC);
    rq_.dst_zp.bind(conv.args, DNNL_ARG_DST);
    scratch_ = make_scratchpad(pd);
    if (scratch_) conv.args[DNNL_ARG_SCRATCHPAD] = scratch_;
    steps_.push_back(std::move(conv));
    if (dst != dst_user_)
      steps_.push_back(
          {dnnl::reorder(dst, dst_user_), {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, dst_user_}}});
    return true;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           ExecContext&) override {
    bind(src_user_, inputs[0]);
    bind(dst_user_, outputs[0]);
    if (runtime_x_zp >= 0) {
      const Tensor* z = inputs[runtime_x_zp];
      *static_cast<int32_t*>(rq_.src_zp.mem.get_data_handle()) =
          z->dtype() == DType::U8 ? int32_t(z->data<uint8_t>()[0]) : int32_t(z->data<int8_t>()[0]);
    }
    for (Step& s : steps_) s.execute();
    cpu_stream().wait();
  }

 private:
  Requant rq_;
  memory weights_, bias_, src_user_, dst_user_, scratch_;
  std::vector<Step> steps_;
  bool has_bias_ = false;
};

tag act_tag(int nd, int which) {
  static const tag nhwc[] = {tag::nwc, tag::nhwc, tag::ndhwc};
  static const tag blocked[] = {tag::nCw16c, tag::nChw16c, tag::nCdhw16c};
  static const tag plain[] = {tag::ncw, tag::nchw, tag::ncdhw};
  const tag* t = which == 0 ? nhwc : which == 1 ? blocked : plain;
  return t[nd - 3];
}

}  // namespace

std::unique_ptr<Kernel> make_onednn_qconv(const KernelInit& init, std::string& why_not) {
  if (init.inputs.size() < 8 || init.outputs.size() != 1) {
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
  // NHWC first: oneDNN's int8 convolutions on AVX-512 are written for channels-last.
  std::string first_why;
  for (int which = 0; which < (nhwc_io ? 1 : 3); ++which) {
    auto k = std::make_unique<QConvKernel>();
    std::string why;
    if (k->init(init, act_tag(nd, which), nhwc_io, rq, why)) return k;
    if (first_why.empty()) first_why = why;
  }
  why_not = first_why;
  return nullptr;
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
    if (k->init(init, act_tag(nd, which), false, rq, why)) return k;
    if (first_why.empty()) first_why = why;
  }
  why_not = first_why;
  return nullptr;
}

}  // namespace qbench::kernels::onednn
