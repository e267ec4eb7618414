// MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool on oneDNN's pooling_v2 (which has
// dilation), working directly on the plain NC[D]HW tensors, or on NHWC ones for qbench's
// channels_last forms.
#include <fmt/format.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"
#include "kernels/ref/qbench_ops.h"

namespace qbench::kernels::onednn {

namespace {

class PoolKernel final : public Kernel {
 public:
  // x and y are the logical NC[D]HW shapes; `nhwc` says the tensors hold them as NHWC.
  bool init(const Shape& x, const Shape& y, bool nhwc, dnnl::algorithm alg,
            const memory::dims& kernel, const memory::dims& strides, const memory::dims& dilates,
            const memory::dims& pad_l, const memory::dims& pad_r, std::string& why_not) {
    auto desc = [nhwc](const Shape& s) {
      return nhwc ? memory::desc(to_dims(s), memory::data_type::f32, memory::format_tag::nhwc)
                  : plain_desc(s);
    };
    memory::desc src_md = desc(x), dst_md = desc(y);
    dnnl::pooling_v2_forward::primitive_desc pd;
    if (!try_dnnl(why_not, "pooling", [&] {
          dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, src_md, dst_md,
                                           strides, kernel, dilates, pad_l, pad_r);
          pd = dnnl::pooling_v2_forward::primitive_desc(d, scratch_attr(), cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference pooling for this case";
      return false;
    }
    prim_.build(pd, dnnl::pooling_v2_forward(pd), src_md, dst_md, src_md, dst_md);
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    prim_.run(in[0], out[0]);
  }

  std::string impl() const override { return prim_.impl(); }

 private:
  PlainIoPrimitive prim_;
};

// The logical NC[D]HW shape of a pooling input or output (NHWC in a channels_last node).
Shape logical(const KernelInit& init, const Shape& s) {
  return ref::channels_last(init.node) && s.size() == 4 ? Shape{s[0], s[3], s[1], s[2]} : s;
}

bool check_pool_io(const KernelInit& init, std::string& why_not) {
  if (init.outputs.size() > 1 && init.outputs[1].dtype != DType::Undefined) {
    why_not = "MaxPool Indices output requested";
    return false;
  }
  if (!check_f32(init, why_not)) return false;
  size_t nd = init.inputs[0].shape.size();
  if (nd < 3 || nd > 5) {
    why_not = fmt::format("rank {} (only 1-D to 3-D pooling)", nd);
    return false;
  }
  if (shape_numel(init.inputs[0].shape) == 0 || shape_numel(init.outputs[0].shape) == 0) {
    why_not = "empty tensor";
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<Kernel> make_onednn_pool(const KernelInit& init, std::string& why_not) {
  if (!check_pool_io(init, why_not)) return nullptr;
  const ir::Node& n = init.node;
  const Shape x = logical(init, init.inputs[0].shape);
  const Shape y = logical(init, init.outputs[0].shape);
  size_t ns = x.size() - 2;
  bool is_max = n.op_type == "MaxPool";
  auto ks = n.attr_ints("kernel_shape");
  auto strides = n.attr_ints("strides", std::vector<int64_t>(ns, 1));
  auto dil = n.attr_ints("dilations", std::vector<int64_t>(ns, 1));
  auto pads = n.attr_ints("pads", std::vector<int64_t>(2 * ns, 0));
  std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  bool include_pad = !is_max && n.attr_int("count_include_pad", 0) != 0;
  if (ks.size() != ns || strides.size() != ns || dil.size() != ns || pads.size() != 2 * ns) {
    why_not = "kernel_shape/strides/dilations/pads length does not match the spatial rank";
    return nullptr;
  }
  memory::dims mstrides, mdil, pad_l, pad_r;
  for (size_t i = 0; i < ns; ++i) {
    int64_t in = x[2 + i], k = ks[i], s = strides[i], d = dil[i], out = y[2 + i];
    if (k < 1 || s < 1 || d < 1) {
      why_not = "kernel, stride or dilation < 1";
      return nullptr;
    }
    int64_t ext = (k - 1) * d + 1;
    int64_t pl = 0, pr = 0;
    if (auto_pad == "NOTSET") {
      pl = pads[i];
      pr = pads[i + ns];
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t total = std::max<int64_t>(0, (out - 1) * s + ext - in);
      pl = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pr = total - pl;
    } else if (auto_pad != "VALID") {
      why_not = fmt::format("auto_pad '{}'", auto_pad);
      return nullptr;
    }
    if (d != 1) {
      why_not = "dilations > 1 (oneDNN 2.6 has only a reference dilated pooling)";
      return nullptr;
    }
    // ceil_mode (and any output size the inference chose) is expressed as a right padding that
    // makes oneDNN's floor formula give the inferred size: the declared one when it already
    // does, else the smallest that does.
    int64_t pr_eff = pr;
    if (pr < 0 || (in + pl + pr - ext) / s + 1 != out)
      pr_eff = std::max<int64_t>(0, (out - 1) * s + ext - in - pl);
    if (pl < 0 || in + pl + pr_eff < ext || (in + pl + pr_eff - ext) / s + 1 != out) {
      why_not = "negative padding";
      return nullptr;
    }
    if (pl >= ext || (out - 1) * s - pl >= in) {
      why_not = "a pooling window lies entirely in the padding";
      return nullptr;
    }
    if (include_pad && pr_eff > pr) {
      // ONNX divides by the window clipped to the declared pads; oneDNN by the kernel size.
      why_not = "count_include_pad with ceil_mode windows past the pads";
      return nullptr;
    }
    mstrides.push_back(s);
    mdil.push_back(d - 1);
    pad_l.push_back(pl);
    pad_r.push_back(pr_eff);
  }
  dnnl::algorithm alg = is_max        ? dnnl::algorithm::pooling_max
                        : include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                      : dnnl::algorithm::pooling_avg_exclude_padding;
  auto k = std::make_unique<PoolKernel>();
  if (!k->init(x, y, ref::channels_last(n), alg, memory::dims(ks.begin(), ks.end()), mstrides,
               mdil, pad_l, pad_r, why_not))
    return nullptr;
  return k;
}

std::unique_ptr<Kernel> make_onednn_global_pool(const KernelInit& init, std::string& why_not) {
  if (!check_pool_io(init, why_not)) return nullptr;
  const Shape x = logical(init, init.inputs[0].shape);
  size_t ns = x.size() - 2;
  memory::dims kernel(x.begin() + 2, x.end());
  memory::dims ones(ns, 1), zeros(ns, 0);
  bool is_max = init.node.op_type == "GlobalMaxPool";
  auto k = std::make_unique<PoolKernel>();
  if (!k->init(x, logical(init, init.outputs[0].shape), ref::channels_last(init.node),
               is_max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding,
               kernel, ones, zeros, zeros, zeros, why_not))
    return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
