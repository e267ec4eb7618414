// PRelu on oneDNN's prelu_forward. The slope is viewed at X's rank (numpy broadcasting, or the
// pre-opset-7 per-channel slope [C]); oneDNN broadcasts it like a binary operand.
#include <fmt/format.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"

namespace qbench::kernels::onednn {

namespace {

class PReluKernel final : public Kernel {
 public:
  bool init(const Shape& x, const Shape& slope, std::string& why_not) {
    memory::desc src = plain_desc(x), wei = plain_desc(slope);
    dnnl::prelu_forward::primitive_desc pd;
    if (!try_dnnl(why_not, "prelu", [&] {
          dnnl::prelu_forward::desc d(dnnl::prop_kind::forward_inference, src, wei);
          pd = dnnl::prelu_forward::primitive_desc(d, scratch_attr(), cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference prelu for this broadcast";
      return false;
    }
    impl_ = pd.impl_info_str();
    src_ = user_memory(src);
    wei_ = user_memory(wei);
    dst_ = user_memory(src);
    step_ = {dnnl::prelu_forward(pd),
             {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, wei_}, {DNNL_ARG_DST, dst_}}};
    step_.use_scratchpad(pd);
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    bind(src_, in[0]);
    bind(wei_, in[1]);
    bind(dst_, out[0]);
    step_.execute();
    cpu_stream().wait();
  }

  std::string impl() const override { return impl_; }

 private:
  std::string impl_;
  memory src_, wei_, dst_;
  Step step_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_prelu(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  if (init.inputs.size() != 2 || init.outputs.size() != 1) {
    why_not = "expects X, slope and one output";
    return nullptr;
  }
  const Shape& x = init.inputs[0].shape;
  const Shape& s = init.inputs[1].shape;
  if (x.empty() || x.size() > 6 || shape_numel(x) == 0) {
    why_not = x.empty() ? "scalar input" : fmt::format("rank {} or empty tensor", x.size());
    return nullptr;
  }
  // The slope at X's rank: right-aligned with leading 1s, or [C] against [N, C, ...].
  Shape view(x.size(), 1);
  bool ok = s.size() <= x.size();
  for (size_t i = 0; ok && i < s.size(); ++i) {
    const int64_t d = s[s.size() - 1 - i];
    view[x.size() - 1 - i] = d;
    ok = d == 1 || d == x[x.size() - 1 - i];
  }
  if (!ok && x.size() >= 2 && shape_numel(s) == x[1]) {
    std::fill(view.begin(), view.end(), 1);
    view[1] = x[1];
    ok = true;
  }
  if (!ok) {
    why_not = fmt::format("slope {} does not broadcast to {}", shape_str(s), shape_str(x));
    return nullptr;
  }
  auto k = std::make_unique<PReluKernel>();
  if (!k->init(x, view, why_not)) return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
