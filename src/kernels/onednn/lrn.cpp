// LRN on oneDNN's lrn_forward (across channels): y = x / (bias + alpha / size * sum x^2)^beta,
// the same formula as ONNX's. Only odd sizes: for even ones ONNX puts the longer half of the
// window after the channel and oneDNN before it.
#include <fmt/format.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"

namespace qbench::kernels::onednn {

namespace {

using tag = memory::format_tag;

class LrnKernel final : public Kernel {
 public:
  // oneDNN's JIT LRN kernels work on blocked or channels-last data; the activations are
  // reordered around the primitive when it wants another layout than plain NCHW.
  bool init(const Shape& x, tag layout, int64_t size, float alpha, float beta, float bias,
            std::string& why_not) {
    memory::desc plain = plain_desc(x);
    memory::desc md(to_dims(x), memory::data_type::f32, layout);
    dnnl::lrn_forward::primitive_desc pd;
    if (!try_dnnl(why_not, "lrn", [&] {
          dnnl::lrn_forward::desc d(dnnl::prop_kind::forward_inference,
                                    dnnl::algorithm::lrn_across_channels, md, size, alpha, beta,
                                    bias);
          pd = dnnl::lrn_forward::primitive_desc(d, scratch_attr(), cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference LRN for this case";
      return false;
    }
    src_user_ = user_memory(plain);
    dst_user_ = user_memory(plain);
    memory src = src_user_, dst = dst_user_;
    if (md != plain) {
      src = memory(md, cpu_engine());
      dst = memory(md, cpu_engine());
      steps_.push_back(
          {dnnl::reorder(src_user_, src), {{DNNL_ARG_FROM, src_user_}, {DNNL_ARG_TO, src}}});
    }
    Step lrn{dnnl::lrn_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}};
    scratch_ = make_scratchpad(pd);
    if (scratch_) lrn.args[DNNL_ARG_SCRATCHPAD] = scratch_;
    workspace_ =
        pd.workspace_desc().get_size() ? memory(pd.workspace_desc(), cpu_engine()) : memory();
    if (workspace_) lrn.args[DNNL_ARG_WORKSPACE] = workspace_;
    steps_.push_back(std::move(lrn));
    if (dst != dst_user_)
      steps_.push_back(
          {dnnl::reorder(dst, dst_user_), {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, dst_user_}}});
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    bind(src_user_, in[0]);
    bind(dst_user_, out[0]);
    for (Step& s : steps_) s.execute();
    cpu_stream().wait();
  }

 private:
  memory src_user_, dst_user_, scratch_, workspace_;
  std::vector<Step> steps_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_lrn(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  const Shape& x = init.inputs[0].shape;
  if (x.size() < 3 || x.size() > 5 || shape_numel(x) == 0) {
    why_not =
        fmt::format("shape {} (oneDNN needs [N, C, 1 to 3 spatial dims], not empty)", shape_str(x));
    return nullptr;
  }
  const int64_t size = init.node.attr_int("size", 1);
  if (size % 2 == 0) {
    why_not = fmt::format("even size {} (oneDNN centres the window differently)", size);
    return nullptr;
  }
  const int nd = static_cast<int>(x.size());
  const tag layouts[] = {nd == 3   ? tag::nCw16c
                         : nd == 4 ? tag::nChw16c
                                   : tag::nCdhw16c,
                         nd == 3   ? tag::nwc
                         : nd == 4 ? tag::nhwc
                                   : tag::ndhwc,
                         nd == 3   ? tag::ncw
                         : nd == 4 ? tag::nchw
                                   : tag::ncdhw};
  std::string first_why;
  for (tag t : layouts) {
    auto k = std::make_unique<LrnKernel>();
    std::string why;
    if (k->init(x, t, size, init.node.attr_float("alpha", 1e-4f),
                init.node.attr_float("beta", 0.75f), init.node.attr_float("bias", 1.0f), why))
      return k;
    if (first_why.empty()) first_why = why;
  }
  why_not = first_why;
  return nullptr;
}

}  // namespace qbench::kernels::onednn
