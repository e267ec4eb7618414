// ConvTranspose (1-D, 2-D, 3-D; groups, strides, pads, output_padding/output_shape, auto_pad,
// dilations, bias, fused activations as post-ops) on oneDNN's deconvolution_forward. The
// geometry comes from the reference's conv_transpose_geometry, so both agree on every
// attribute; weights are reordered once, at kernel creation.
#include <fmt/format.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"
#include "kernels/ref/conv_transpose.h"

namespace qbench::kernels::onednn {

namespace {

using tag = memory::format_tag;

class DeconvKernel final : public Kernel {
 public:
  bool init(const KernelInit& init, std::string& why_not) {
    const Shape& x = init.inputs[0].shape;
    const Shape& w = init.inputs[1].shape;
    const Shape& y = init.outputs[0].shape;
    ref::ConvTransposeGeom g = ref::conv_transpose_geometry(init.node, x, w);
    const size_t ns = x.size() - 2;
    memory::dims strides, dilates, pad_l, pad_r;
    for (size_t i = 0; i < ns; ++i) {
      const int64_t ext = (g.kernel[i] - 1) * g.dilations[i] + 1;
      // oneDNN's output size is (in - 1) * s - pl - pr + ext; output_padding makes pr smaller.
      const int64_t pr = (g.in[i] - 1) * g.strides[i] + ext - g.pad_begin[i] - y[2 + i];
      if (g.pad_begin[i] < 0) {
        why_not = fmt::format("negative padding on spatial dim {} ({}, {})", i, g.pad_begin[i], pr);
        return false;
      }
      strides.push_back(g.strides[i]);
      dilates.push_back(g.dilations[i] - 1);  // oneDNN counts the gaps, ONNX the step
      pad_l.push_back(g.pad_begin[i]);
      pad_r.push_back(pr);
    }
    std::vector<EltwiseStep> post;
    if (!fused_steps(init.node, post, why_not)) return false;

    // ONNX weights are [C, M/group, k...]; oneDNN wants ([G,] OC/G, IC/G, k...). Describe the
    // ONNX buffer with strides instead of copying it.
    const int64_t k_elems = dims_product(w, 2, w.size());
    const int64_t ocg = g.m / g.group, icg = g.c / g.group;
    memory::dims wdims{ocg, icg}, wstrides{k_elems, ocg * k_elems};
    if (g.group > 1) {
      wdims.insert(wdims.begin(), g.group);
      wstrides.insert(wstrides.begin(), icg * ocg * k_elems);
    }
    memory::dims kstrides(ns);
    int64_t st = 1;
    for (size_t i = ns; i-- > 0;) kstrides[i] = st, st *= w[2 + i];
    for (size_t i = 0; i < ns; ++i) wdims.push_back(w[2 + i]), wstrides.push_back(kstrides[i]);
    memory::desc wei_user_md(wdims, memory::data_type::f32, wstrides);

    const bool has_bias = init.inputs.size() > 2 && init.inputs[2].dtype != DType::Undefined;
    memory::desc src_plain = plain_desc(x), dst_plain = plain_desc(y);
    memory::desc bias_md = has_bias ? plain_desc(Shape{g.m}) : memory::desc();
    memory::desc src_any(to_dims(x), memory::data_type::f32, tag::any);
    memory::desc dst_any(to_dims(y), memory::data_type::f32, tag::any);
    memory::desc wei_any(wdims, memory::data_type::f32, tag::any);

    dnnl::primitive_attr attr = scratch_attr();
    dnnl::post_ops po;
    append_steps(po, post);
    attr.set_post_ops(po);
    dnnl::deconvolution_forward::primitive_desc pd;
    if (!try_dnnl(why_not, "deconvolution", [&] {
          dnnl::deconvolution_forward::desc d(
              dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, src_any,
              wei_any, bias_md, dst_any, strides, dilates, pad_l, pad_r);
          pd = dnnl::deconvolution_forward::primitive_desc(d, attr, cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference deconvolution for this case";
      return false;
    }

    prim_.build(init, pd, dnnl::deconvolution_forward(pd), wei_user_md, *init.constants[1],
                src_plain, dst_plain, bias_md);
    return true;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           ExecContext&) override {
    prim_.run(inputs[0]->raw(), inputs.size() > 2 ? inputs[2] : nullptr, outputs[0]);
  }

  std::string impl() const override { return prim_.impl(); }

 private:
  WeightedPrimitive prim_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_deconv(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  if (init.inputs.size() < 2 || init.outputs.size() != 1) {
    why_not = "expects X, W[, B] and one output";
    return nullptr;
  }
  const size_t nd = init.inputs[0].shape.size();
  if (nd < 3 || nd > 5 || init.inputs[1].shape.size() != nd) {
    why_not = fmt::format("rank {} (only 1-D to 3-D transposed convolutions)", nd);
    return nullptr;
  }
  if (!init.constants[1]) {
    why_not = "weights are not constant";
    return nullptr;
  }
  if (shape_numel(init.inputs[0].shape) == 0 || shape_numel(init.outputs[0].shape) == 0) {
    why_not = "empty tensor";
    return nullptr;
  }
  auto k = std::make_unique<DeconvKernel>();
  if (!k->init(init, why_not)) return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
