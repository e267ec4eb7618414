// Element-wise activations and unary math (Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid,
// HardSwish, Gelu, Elu, Exp, Log, Sqrt, Abs) on oneDNN's eltwise primitive over the flattened
// tensor. Multi-step ops (HardSigmoid) and fused activations run as extra in-place steps.
#include <fmt/format.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"

namespace qbench::kernels::onednn {

namespace {

class EltwiseKernel final : public Kernel {
 public:
  bool init(int64_t numel, const std::vector<EltwiseStep>& ops, std::string& why_not) {
    memory::desc md = plain_desc(memory::dims{numel});
    src_ = user_memory(md);
    dst_ = user_memory(md);
    for (size_t i = 0; i < ops.size(); ++i) {
      dnnl::eltwise_forward::primitive_desc pd;
      if (!try_dnnl(why_not, "eltwise", [&] {
            dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, ops[i].alg, md,
                                          ops[i].alpha, ops[i].beta);
            pd = dnnl::eltwise_forward::primitive_desc(d, cpu_engine());
          }))
        return false;
      impl_ += (impl_.empty() ? "" : " + ") + std::string(pd.impl_info_str());
      steps_.push_back({dnnl::eltwise_forward(pd),
                        {{DNNL_ARG_SRC, i == 0 ? src_ : dst_}, {DNNL_ARG_DST, dst_}}});
    }
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    bind(src_, in[0]);
    bind(dst_, out[0]);
    for (Step& s : steps_) s.execute();
    cpu_stream().wait();
  }

  std::string impl() const override { return impl_; }

 private:
  std::string impl_;
  memory src_, dst_;
  std::vector<Step> steps_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_eltwise(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  const ir::Node& n = init.node;
  if (init.inputs.empty() || init.outputs.size() != 1) {
    why_not = "expects one output";
    return nullptr;
  }
  int64_t numel = shape_numel(init.inputs[0].shape);
  if (numel == 0) {
    why_not = "empty tensor";
    return nullptr;
  }
  float lo = -INFINITY, hi = INFINITY;
  if (n.op_type == "Clip" && init.opset >= 11) {
    for (size_t i = 1; i < 3 && i < init.inputs.size(); ++i) {
      if (init.inputs[i].dtype == DType::Undefined) continue;
      if (!init.constants[i]) {
        why_not = fmt::format("Clip {} is not constant", i == 1 ? "min" : "max");
        return nullptr;
      }
      (i == 1 ? lo : hi) = init.constants[i]->to_float().at(0);
    }
  } else if (init.inputs.size() != 1) {
    why_not = "expects one input";
    return nullptr;
  }
  std::vector<EltwiseStep> ops;
  if (!activation_steps(n.op_type, n.attrs, lo, hi, ops, why_not)) return nullptr;
  if (!fused_steps(n, ops, why_not)) return nullptr;
  auto k = std::make_unique<EltwiseKernel>();
  if (!k->init(numel, ops, why_not)) return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
