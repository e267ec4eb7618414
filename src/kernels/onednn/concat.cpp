// Concat of f32 tensors on oneDNN's concat primitive over plain layouts. Inputs that are
// empty along the axis contribute nothing and are left out.
#include <fmt/format.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"

namespace qbench::kernels::onednn {

namespace {

class ConcatKernel final : public Kernel {
 public:
  std::vector<size_t> used;  // indices of the non-empty inputs, in order

  bool init(const std::vector<memory::desc>& srcs, const memory::desc& dst, int axis,
            std::string& why_not) {
    dnnl::concat::primitive_desc pd;
    if (!try_dnnl(why_not, "concat", [&] {
          pd = dnnl::concat::primitive_desc(dst, axis, srcs, cpu_engine(), scratch_attr());
        }))
      return false;
    impl_ = pd.impl_info_str();
    dst_ = user_memory(dst);
    step_ = {dnnl::concat(pd), {{DNNL_ARG_DST, dst_}}};
    for (size_t i = 0; i < srcs.size(); ++i) {
      srcs_.push_back(user_memory(srcs[i]));
      step_.args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = srcs_.back();
    }
    step_.use_scratchpad(pd);
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    for (size_t i = 0; i < used.size(); ++i) bind(srcs_[i], in[used[i]]);
    bind(dst_, out[0]);
    step_.execute();
    cpu_stream().wait();
  }

  std::string impl() const override { return impl_; }

 private:
  std::string impl_;
  std::vector<memory> srcs_;
  memory dst_;
  Step step_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_concat(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  const Shape& y = init.outputs[0].shape;
  int64_t r = static_cast<int64_t>(y.size());
  int64_t axis = init.node.attr_int("axis", 0);
  if (axis < 0) axis += r;
  if (r == 0 || axis < 0 || axis >= r) {
    why_not = fmt::format("axis {} out of range for rank {}", init.node.attr_int("axis", 0), r);
    return nullptr;
  }
  if (shape_numel(y) == 0) {
    why_not = "empty tensor";
    return nullptr;
  }
  auto k = std::make_unique<ConcatKernel>();
  std::vector<memory::desc> srcs;
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    if (init.inputs[i].dtype == DType::Undefined) {
      why_not = "omitted input";
      return nullptr;
    }
    if (shape_numel(init.inputs[i].shape) == 0) continue;
    k->used.push_back(i);
    srcs.push_back(plain_desc(init.inputs[i].shape));
  }
  if (!k->init(srcs, plain_desc(y), static_cast<int>(axis), why_not)) return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
