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
    prim_.build(pd, dnnl::lrn_forward(pd), plain, plain, md, md);
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    prim_.run(in[0], out[0]);
  }

  std::string impl() const override { return prim_.impl(); }

 private:
  PlainIoPrimitive prim_;
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
