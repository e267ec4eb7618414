// Softmax and LogSoftmax on oneDNN's softmax_v2. The tensor is viewed as [outer, axis, inner]
// (opset >= 13) or as ONNX's coerced 2-D [outer, inner] (opset < 13), which is exactly the
// older semantics, so every axis is handled.
#include <fmt/format.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"

namespace qbench::kernels::onednn {

namespace {

class SoftmaxKernel final : public Kernel {
 public:
  bool init(dnnl::algorithm alg, const memory::dims& dims, int axis, std::string& why_not) {
    memory::desc md = plain_desc(dims);
    dnnl::softmax_v2_forward::primitive_desc pd;
    if (!try_dnnl(why_not, "softmax", [&] {
          dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, md, axis);
          pd = dnnl::softmax_v2_forward::primitive_desc(d, scratch_attr(), cpu_engine());
        }))
      return false;
    prim_.build(pd, dnnl::softmax_v2_forward(pd), md, md, md, md);
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

std::unique_ptr<Kernel> make_onednn_softmax(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  if (init.inputs.size() != 1 || init.outputs.size() != 1) {
    why_not = "expects one input and one output";
    return nullptr;
  }
  const Shape& x = init.inputs[0].shape;
  int64_t r = static_cast<int64_t>(x.size());
  if (r == 0 || shape_numel(x) == 0) {
    why_not = r == 0 ? "scalar input" : "empty tensor";
    return nullptr;
  }
  bool v13 = init.opset >= 13;
  int64_t axis = init.node.attr_int("axis", v13 ? -1 : 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) {
    why_not = fmt::format("axis {} out of range for rank {}", init.node.attr_int("axis", 0), r);
    return nullptr;
  }
  memory::dims dims;
  if (v13) {
    int64_t inner = dims_product(x, axis + 1, r);
    dims = {dims_product(x, 0, axis), x[axis]};
    if (inner != 1) dims.push_back(inner);
  } else {
    dims = {dims_product(x, 0, axis), dims_product(x, axis, r)};
  }
  dnnl::algorithm alg = init.node.op_type == "LogSoftmax" ? dnnl::algorithm::softmax_log
                                                          : dnnl::algorithm::softmax_accurate;
  auto k = std::make_unique<SoftmaxKernel>();
  if (!k->init(alg, dims, 1, why_not)) return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
