// InstanceNormalization on oneDNN's batch_normalization_forward: X [N, C, spatial...] is viewed
// as one batch of N*C channels [1, N*C, S], so the batch statistics oneDNN computes are the
// per-instance ones; scale and B are repeated N times once, at kernel creation.
#include <fmt/format.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"

namespace qbench::kernels::onednn {

namespace {

class InstanceNormKernel final : public Kernel {
 public:
  bool init(const Shape& x, const Tensor& scale, const Tensor& bias, float eps,
            std::string& why_not) {
    const int64_t n = x[0], c = x[1];
    const memory::dims dims{1, n * c, dims_product(x, 2, x.size())};
    memory::desc md = plain_desc(dims);
    dnnl::batch_normalization_forward::primitive_desc pd;
    if (!try_dnnl(why_not, "batch normalization", [&] {
          dnnl::batch_normalization_forward::desc d(
              dnnl::prop_kind::forward_inference, md, eps,
              dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift);
          pd = dnnl::batch_normalization_forward::primitive_desc(d, scratch_attr(), cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference batch normalization for this shape";
      return false;
    }
    scale_ = memory(plain_desc(memory::dims{n * c}), cpu_engine());
    shift_ = memory(plain_desc(memory::dims{n * c}), cpu_engine());
    float* sp = static_cast<float*>(scale_.get_data_handle());
    float* bp = static_cast<float*>(shift_.get_data_handle());
    for (int64_t i = 0; i < n * c; ++i) {
      sp[i] = scale.data<float>()[i % c];
      bp[i] = bias.data<float>()[i % c];
    }
    // Inference without global statistics still writes the batch mean and variance.
    prim_.build(pd, dnnl::batch_normalization_forward(pd), md, md, md, md,
                {{DNNL_ARG_SCALE, scale_},
                 {DNNL_ARG_SHIFT, shift_},
                 {DNNL_ARG_MEAN, memory(pd.mean_desc(), cpu_engine())},
                 {DNNL_ARG_VARIANCE, memory(pd.variance_desc(), cpu_engine())}});
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    prim_.run(in[0], out[0]);
  }

  std::string impl() const override { return prim_.impl(); }

 private:
  memory scale_, shift_;
  PlainIoPrimitive prim_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_instance_norm(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  const Shape& x = init.inputs[0].shape;
  if (x.size() < 3 || shape_numel(x) == 0) {
    why_not = fmt::format("shape {} (needs [N, C, spatial...], not empty)", shape_str(x));
    return nullptr;
  }
  if (!init.constants[1] || !init.constants[2]) {
    why_not = "scale or B is not constant";
    return nullptr;
  }
  auto k = std::make_unique<InstanceNormKernel>();
  if (!k->init(x, *init.constants[1], *init.constants[2], init.node.attr_float("epsilon", 1e-5f),
               why_not))
    return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
