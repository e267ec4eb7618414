// LayerNormalization (opset 17) on oneDNN's layer_normalization: X is viewed as
// [outer, normalized] (dims before `axis` x dims from `axis`), Scale and B as use_scale /
// use_shift. The optional Mean and InvStdDev outputs come from the training-mode statistics.
#include <fmt/format.h>

#include <cmath>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"

namespace qbench::kernels::onednn {

namespace {

class LayerNormKernel final : public Kernel {
 public:
  bool init(int64_t outer, int64_t inner, bool shift, bool stats, float eps, std::string& why_not) {
    outer_ = outer;
    eps_ = eps;
    stats_ = stats;
    has_shift_ = shift;
    memory::desc md = plain_desc(memory::dims{outer, inner});
    memory::desc stat_md = plain_desc(memory::dims{outer});
    memory::desc ss_md = plain_desc(memory::dims{inner});
    auto flags = dnnl::normalization_flags::use_scale;
    if (shift) flags |= dnnl::normalization_flags::use_shift;
    auto prop = stats ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    dnnl::layer_normalization_forward::primitive_desc pd;
    if (!try_dnnl(why_not, "layer_normalization", [&] {
          dnnl::layer_normalization_forward::desc d(prop, md, stat_md, eps, flags);
          pd = dnnl::layer_normalization_forward::primitive_desc(d, scratch_attr(), cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference layer normalization for this case";
      return false;
    }
    impl_ = pd.impl_info_str();
    src_ = user_memory(md);
    dst_ = user_memory(md);
    scale_ = user_memory(ss_md);
    step_ = {dnnl::layer_normalization_forward(pd),
             {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}, {DNNL_ARG_SCALE, scale_}}};
    if (shift) {
      shift_ = user_memory(ss_md);
      step_.args[DNNL_ARG_SHIFT] = shift_;
    }
    if (stats) {
      mean_ = memory(stat_md, cpu_engine());
      var_ = memory(stat_md, cpu_engine());
      step_.args[DNNL_ARG_MEAN] = mean_;
      step_.args[DNNL_ARG_VARIANCE] = var_;
    }
    step_.use_scratchpad(pd);
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    bind(src_, in[0]);
    bind(scale_, in[1]);
    if (has_shift_) bind(shift_, in[2]);
    bind(dst_, out[0]);
    step_.execute();
    cpu_stream().wait();
    if (!stats_) return;
    const float* mean = static_cast<const float*>(mean_.get_data_handle());
    const float* var = static_cast<const float*>(var_.get_data_handle());
    if (out.size() > 1 && out[1]) std::copy(mean, mean + outer_, out[1]->data<float>());
    if (out.size() > 2 && out[2]) {
      float* inv = out[2]->data<float>();
      for (int64_t i = 0; i < outer_; ++i) inv[i] = 1.f / std::sqrt(var[i] + eps_);
    }
  }

  std::string impl() const override { return impl_; }

 private:
  std::string impl_;
  memory src_, dst_, scale_, shift_, mean_, var_;
  Step step_;
  int64_t outer_ = 0;
  float eps_ = 0;
  bool stats_ = false, has_shift_ = false;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_layernorm(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  const ir::Node& n = init.node;
  if (init.inputs.size() < 2) {
    why_not = "expects X, Scale[, B]";
    return nullptr;
  }
  const Shape& x = init.inputs[0].shape;
  int64_t r = static_cast<int64_t>(x.size());
  int64_t axis = n.attr_int("axis", -1);
  if (axis < 0) axis += r;
  if (r == 0 || axis < 0 || axis >= r) {
    why_not = fmt::format("axis {} out of range for rank {}", n.attr_int("axis", -1), r);
    return nullptr;
  }
  if (n.attr_int("stash_type", 1) != 1) {
    why_not = "stash_type other than f32";
    return nullptr;
  }
  int64_t outer = dims_product(x, 0, axis), inner = dims_product(x, axis, r);
  if (outer * inner == 0) {
    why_not = "empty tensor";
    return nullptr;
  }
  bool shift = init.inputs.size() > 2 && init.inputs[2].dtype != DType::Undefined;
  for (size_t i = 1; i < (shift ? 3u : 2u); ++i) {
    if (shape_numel(init.inputs[i].shape) != inner) {
      why_not = fmt::format("{} shape {} is broadcast (only the full normalized shape)",
                            i == 1 ? "Scale" : "B", shape_str(init.inputs[i].shape));
      return nullptr;
    }
  }
  bool stats = false;
  for (size_t i = 1; i < init.outputs.size(); ++i)
    stats |= init.outputs[i].dtype != DType::Undefined;
  auto k = std::make_unique<LayerNormKernel>();
  if (!k->init(outer, inner, shift, stats, n.attr_float("epsilon", 1e-5f), why_not)) return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
