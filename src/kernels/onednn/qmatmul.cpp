// QLinearMatMul, qbench.QGemm (QLinearMatMul + int32 bias, fused Relu/Clip), MatMulInteger and
// qbench.MatMulIntegerToFloat as one oneDNN int8 matmul each: u8/s8 A, s8 B (a constant B is
// reordered once), per-column output scales, source/destination zero points, u8/s8 output
// (int32 for MatMulInteger, f32 for MatMulIntegerToFloat). With a 2-D B, A's leading dimensions
// fold into M; otherwise A and B are batched with numpy broadcasting of the batch dimensions
// (attention's Q x K^T and softmax x V).
#include <fmt/format.h>

#include "kernels/onednn/cpu_paths.h"
#include "kernels/onednn/exact_int8_conv.h"
#include "kernels/onednn/factories.h"
#include "kernels/onednn/loops.h"
#include "kernels/onednn/qcommon.h"

namespace qbench::kernels::onednn {

namespace {

using tag = memory::format_tag;
using dt = memory::data_type;

// The matmul as oneDNN sees it: dims of A, B and the output, and N (the last output dim).
struct MatMulDims {
  memory::dims a, b, y;
  int64_t n = 0;
  int rank() const { return static_cast<int>(y.size()); }
};

class QMatMulKernel final : public Kernel {
 public:
  // Input index of a runtime A zero point (MatMulInteger fed by DynamicQuantizeLinear), or -1.
  int runtime_a_zp = -1;
  // Input index of a runtime A scale (MatMulIntegerToFloat after DynamicQuantizeLinear), or -1;
  // the output scales are then a_scale * b_scales[n], recomputed on every run.
  int runtime_a_scale = -1;
  std::vector<float> b_scales;
  // A float bias [N] added after the scales (a binary post-op), for float outputs.
  const Tensor* post_bias = nullptr;

  // `bias` is the s32 bias of QGemm, in accumulator units; `post` are extra eltwise post-ops
  // (fused float activations), applied after post_bias.
  //
  // Where this CPU's int8 dot products saturate (cpu_paths.h), a B with full-range values runs
  // as two matmuls over its 7-bit halves (a runtime B is split on every run). For uint8/int8
  // and int32 outputs both halves accumulate in int32 and are added (and requantized once, in
  // the order of oneDNN's own epilogue, loops.h), so the output is what one primitive computes
  // on a CPU with VNNI; for float outputs the first half's scaled result is added by the
  // second's first post-op.
  bool init(const KernelInit& init, size_t b_index, const MatMulDims& d, const Requant* rq,
            const Tensor* bias, const std::vector<EltwiseStep>& post, std::string& why_not) {
    const dt at = dnnl_type(init.inputs[0].dtype), yt = dnnl_type(init.outputs[0].dtype);
    const Tensor* b_const = init.constants[b_index];
    memory::desc a_md = plain_desc(d.a, at);
    memory::desc b_md = plain_desc(d.b, dt::s8);
    memory::desc b_pd = b_const ? memory::desc(d.b, dt::s8, tag::any) : b_md;
    memory::dims bias_dims(d.rank(), 1);
    bias_dims.back() = d.n;
    const size_t b_numel = size_t(dims_product(d.b, 0, d.b.size()));
    split_ = int8_behaviour().matmul_pairs_saturate &&
             (!b_const || !pair_safe({b_const->data<int8_t>(), b_numel}));
    float_out_ = yt == dt::f32;
    // Integer halves: int32 accumulators, everything else applied by requantize_halves().
    const bool int_halves = split_ && !float_out_;
    memory::desc dst_md = plain_desc(d.y, int_halves ? dt::s32 : yt);
    memory::desc bias_md = bias && !int_halves ? plain_desc(bias_dims, dt::s32) : memory::desc();
    memory::desc part_md = plain_desc(d.y, float_out_ ? dt::f32 : dt::s32);
    rq_ = *rq;
    const int n_mask = 1 << (d.rank() - 1);
    const int scale_mask = b_scales.size() > 1 || rq_.scales.size() > 1 ? n_mask : 0;
    // The scales of a float output: constant, or set on every run (runtime A scale).
    auto set_scales = [&](dnnl::primitive_attr& attr) {
      if (runtime_a_scale >= 0)
        attr.set_output_scales(scale_mask, {DNNL_RUNTIME_F32_VAL});
      else if (!rq_.scales.empty())
        attr.set_output_scales(scale_mask, rq_.scales);
    };
    dnnl::primitive_attr attr = scratch_attr();
    int bias_post_op = -1;
    if (!int_halves) {
      if (runtime_a_scale >= 0)
        scales_ = memory(plain_desc({int64_t(b_scales.size())}, dt::f32), cpu_engine());
      if (float_out_) {
        set_scales(attr);
        dnnl::post_ops po;
        if (split_) po.append_binary(dnnl::algorithm::binary_add, part_md);  // post-op 0
        if (post_bias) {
          bias_post_op = po.len();
          po.append_binary(dnnl::algorithm::binary_add, plain_desc(bias_dims, dt::f32));
        }
        append_steps(po, post);
        if (po.len() > 0) attr.set_post_ops(po);
      } else if (!rq_.scales.empty()) {
        apply_requant(rq_, n_mask, attr);
      }
    }
    if (runtime_a_zp >= 0) rq_.src_zp.value = 1;  // any non-zero: registered as runtime
    rq_.src_zp.apply(attr, DNNL_ARG_SRC);
    if (!int_halves) rq_.dst_zp.apply(attr, DNNL_ARG_DST);
    dnnl::matmul::primitive_desc pd, part_pd;
    if (!try_dnnl(why_not, "int8 matmul", [&] {
          pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_pd, bias_md, dst_md), attr,
                                            cpu_engine());
          if (split_ && float_out_) {
            dnnl::primitive_attr part_attr = scratch_attr();
            set_scales(part_attr);
            rq_.src_zp.apply(part_attr, DNNL_ARG_SRC);
            part_pd = dnnl::matmul::primitive_desc(
                dnnl::matmul::desc(a_md, b_pd, memory::desc(), part_md), part_attr, cpu_engine());
          } else {
            part_pd = pd;
          }
        }))
      return false;
    if (is_reference_impl(pd) || is_reference_impl(part_pd)) {
      why_not = "oneDNN has only its reference int8 matmul for this case";
      return false;
    }
    impl_ = pd.impl_info_str();
    if (split_) impl_ += ", two 7-bit B halves";
    a_ = user_memory(a_md);
    dst_ = user_memory(plain_desc(d.y, yt));
    b_index_ = b_index;
    // Shared with the engine's other plans (reordered_constant).
    auto reorder_b = [&](const dnnl::matmul::primitive_desc& p, const char* variant,
                         const int8_t* values) {
      return reordered_constant(init.prepared, kept_, *b_const, b_md, p.weights_desc(), variant,
                                values);
    };
    if (b_const && split_) {
      std::vector<int8_t> hi, lo;
      split_halves({b_const->data<int8_t>(), b_numel}, hi, lo);
      part_b_ = reorder_b(part_pd, "high 7-bit half", hi.data());
      b_ = reorder_b(pd, "low 7-bit half", lo.data());
      b_bound_ = true;
    } else if (b_const) {
      b_ = reorder_b(pd, "", nullptr);
      b_bound_ = true;
    } else {
      b_ = user_memory(b_md);
      if (split_) part_b_ = user_memory(b_md);
    }
    acc_ = int_halves && yt != dt::s32 ? user_memory(dst_md) : dst_;
    step_ = {dnnl::matmul(pd), {{DNNL_ARG_SRC, a_}, {DNNL_ARG_WEIGHTS, b_}, {DNNL_ARG_DST, acc_}}};
    if (bias) {
      bias_ = memory(plain_desc(bias_dims, dt::s32), cpu_engine());
      std::memcpy(bias_.get_data_handle(), bias->raw(), d.n * sizeof(int32_t));
      if (!int_halves) step_.args[DNNL_ARG_BIAS] = bias_;
    }
    if (post_bias) {
      post_bias_ = memory(plain_desc(bias_dims, dt::f32), cpu_engine());
      std::memcpy(post_bias_.get_data_handle(), post_bias->raw(), d.n * sizeof(float));
      step_.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(bias_post_op) | DNNL_ARG_SRC_1] = post_bias_;
    }
    if (scales_) step_.args[DNNL_ARG_ATTR_OUTPUT_SCALES] = scales_;
    rq_.src_zp.bind(step_.args, DNNL_ARG_SRC);
    if (!int_halves) rq_.dst_zp.bind(step_.args, DNNL_ARG_DST);
    step_.use_scratchpad(pd);
    if (split_) {
      part_ = user_memory(part_md);
      part_step_ = {dnnl::matmul(part_pd),
                    {{DNNL_ARG_SRC, a_}, {DNNL_ARG_WEIGHTS, part_b_}, {DNNL_ARG_DST, part_}}};
      if (scales_ && float_out_) part_step_.args[DNNL_ARG_ATTR_OUTPUT_SCALES] = scales_;
      rq_.src_zp.bind(part_step_.args, DNNL_ARG_SRC);
      part_step_.use_scratchpad(part_pd);
      if (float_out_) step_.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = part_;
    }
    if (int_halves && yt != dt::s32) {
      n_ = d.n;
      requant_ = halves_requantization(
          rq_, bias ? static_cast<const int32_t*>(bias_.get_data_handle()) : nullptr, d.n,
          yt == dt::s8);
    }
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    bind(a_, in[0]);
    if (!b_bound_) {
      const Tensor* b = in[b_index_];
      if (split_) {
        const size_t n = size_t(b->numel());
        auto* hi = static_cast<int8_t*>(thread_scratch(2, n));
        auto* lo = static_cast<int8_t*>(thread_scratch(3, n));
        split_int8_halves(b->data<int8_t>(), hi, lo, int64_t(n));
        part_b_.set_data_handle(hi);
        b_.set_data_handle(lo);
      } else {
        bind(b_, b);
      }
    }
    if (runtime_a_zp >= 0) {
      const Tensor* z = in[runtime_a_zp];
      *static_cast<int32_t*>(rq_.src_zp.mem.get_data_handle()) =
          z->dtype() == DType::U8 ? int32_t(z->data<uint8_t>()[0]) : int32_t(z->data<int8_t>()[0]);
    }
    if (runtime_a_scale >= 0) {
      const float a = in[runtime_a_scale]->data<float>()[0];
      float* sc = static_cast<float*>(scales_.get_data_handle());
      for (size_t c = 0; c < b_scales.size(); ++c) sc[c] = a * b_scales[c];
    }
    bind(dst_, out[0]);
    const bool requantize = split_ && n_ > 0;
    if (split_) {
      const size_t bytes = part_.get_desc().get_size();
      part_.set_data_handle(thread_scratch(1, bytes));
      if (requantize) acc_.set_data_handle(thread_scratch(0, bytes));
      part_step_.execute();
    }
    step_.execute();
    cpu_stream().wait();
    if (!split_ || float_out_) return;
    const auto* part = static_cast<const int32_t*>(part_.get_data_handle());
    if (requantize)
      requantize_halves(part, static_cast<const int32_t*>(acc_.get_data_handle()),
                        out[0]->numel() / n_, n_, requant_, out[0]->raw());
    else
      add_int32(part, out[0]->data<int32_t>(), out[0]->numel());
  }

  std::string impl() const override { return impl_; }

 private:
  Requant rq_;
  KeptConstants kept_;
  memory a_, b_, part_b_, dst_, acc_, part_, bias_, post_bias_, scales_;
  size_t b_index_ = 1;
  bool b_bound_ = false, split_ = false, float_out_ = false;
  Step step_, part_step_;
  Requantization requant_;
  int64_t n_ = 0;  // columns, when the halves are requantized here
  std::string impl_;
};

// A [..., M, K] times B [K, N] (A's leading dims fold into M) or times a batched B [..., K, N]
// (batch dims broadcast as in numpy; oneDNN broadcasts a batch dim of 1).
bool matmul_dims(const KernelInit& init, size_t b_index, MatMulDims& d, std::string& why_not) {
  const Shape& a = init.inputs[0].shape;
  const Shape& b = init.inputs[b_index].shape;
  const Shape& y = init.outputs[0].shape;
  if (a.size() < 2 || b.size() < 2) {
    why_not = fmt::format("A {} B {} (only A and B of rank >= 2)", shape_str(a), shape_str(b));
    return false;
  }
  const int64_t k = a.back();
  d.n = b.back();
  if (b[b.size() - 2] != k) {
    why_not = "inner dims differ";
    return false;
  }
  if (shape_numel(a) == 0 || shape_numel(b) == 0) {
    why_not = "empty tensor";
    return false;
  }
  if (b.size() == 2) {
    const int64_t rows = shape_numel(a) / k;
    d.a = {rows, k};
    d.b = {k, d.n};
    d.y = {rows, d.n};
    return true;
  }
  const size_t r = std::max(a.size(), b.size());
  if (r > 6) {
    why_not = fmt::format("rank {} (oneDNN matmul takes at most 6)", r);
    return false;
  }
  d.a = memory::dims(r - a.size(), 1);
  d.a.insert(d.a.end(), a.begin(), a.end());
  d.b = memory::dims(r - b.size(), 1);
  d.b.insert(d.b.end(), b.begin(), b.end());
  d.y = y;
  return d.y.size() == r;
}
// QLinearMatMul / QGemm with a constant 2-D B on qbench's exact kernel, as a 1x1 convolution
// over A's rows (exact_int8_conv.h): wherever this CPU's int8 pair sums saturate, or where a test
// forces it. A 7-bit B would run exactly on oneDNN there too, but oneDNN 2.6's int8 matmul on
// such CPUs is gemm:jit, which packs B again on every call: ResNet-50's fc (2048 x 1000) took
// 330 us at batch 1 there against 122 us here in int16, 828 against 798 at batch 32; a 7-bit B
// over a uint8 A multiplies bytes: 42-47 us.
std::unique_ptr<Kernel> make_int16_matmul(const KernelInit& init, const MatMulDims& d,
                                          const Requant& rq, const Tensor* bias) {
  const Int16Kernels mode = int16_kernels();
  const Tensor* b = init.constants[3];
  if (mode == Int16Kernels::Never || !b || d.b.size() != 2 || !ExactInt8Conv::available())
    return nullptr;
  const int64_t k = d.b[0], n = d.b[1];
  const std::span<const int8_t> bvals(b->data<int8_t>(), size_t(k * n));
  if (mode == Int16Kernels::Auto && !int8_behaviour().matmul_pairs_saturate) return nullptr;
  ExactConvShape s;
  s.in_h = s.out_h = 1;
  s.in_w = s.out_w = d.a[0];  // A's rows as pixels
  s.in_c = k;
  s.out_c = n;
  std::vector<int8_t> w(size_t(k * n));  // [N, K]: B transposed, the layout of conv weights
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) w[size_t(j * k + i)] = bvals[size_t(i * n + j)];
  const bool signed_source = init.inputs[0].dtype == DType::I8;
  const bool u8 = mode != Int16Kernels::Always &&
                  ExactInt8Conv::u8_products_apply(s, w, signed_source, rq.src_zp.value);
  return make_exact_int8_kernel(
      std::make_unique<ExactInt8Conv>(
          s, w.data(), rq.src_zp.value, signed_source,
          halves_requantization(rq, bias ? bias->data<int32_t>() : nullptr, n,
                                init.outputs[0].dtype == DType::I8),
          u8),
      "matmul");
}

}  // namespace

std::unique_ptr<Kernel> make_onednn_qmatmul(const KernelInit& init, std::string& why_not) {
  const bool qgemm = init.node.op_type == "QGemm";
  if (init.inputs.size() < 8 || init.outputs.size() != 1) {
    why_not = "expects the QLinearMatMul inputs and one output";
    return nullptr;
  }
  const DType at = init.inputs[0].dtype, bt = init.inputs[3].dtype, yt = init.outputs[0].dtype;
  if (!dtype_is_8bit(at) || bt != DType::I8 || !dtype_is_8bit(yt)) {
    why_not = fmt::format("a {} b {} y {} (only u8/s8 a, s8 b, u8/s8 y)", dtype_name(at),
                          dtype_name(bt), dtype_name(yt));
    return nullptr;
  }
  MatMulDims d;
  if (!matmul_dims(init, 3, d, why_not)) return nullptr;
  const Tensor* bias = nullptr;
  if (qgemm && init.inputs.size() > 8 && init.inputs[8].dtype != DType::Undefined) {
    bias = init.constants[8];
    if (!bias) {
      why_not = "bias is not constant";
      return nullptr;
    }
  }
  Requant rq;
  if (!read_requant(init, d.n, rq, why_not)) return nullptr;
  if (auto k = make_int16_matmul(init, d, rq, bias)) return k;
  auto kern = std::make_unique<QMatMulKernel>();
  if (!kern->init(init, 3, d, &rq, bias, {}, why_not)) return nullptr;
  return kern;
}

std::unique_ptr<Kernel> make_onednn_matmul_integer(const KernelInit& init, std::string& why_not) {
  if (init.inputs.size() < 2 || init.outputs.size() != 1) {
    why_not = "expects A, B[, a_zero_point, b_zero_point] and one output";
    return nullptr;
  }
  const DType at = init.inputs[0].dtype, bt = init.inputs[1].dtype;
  if (!dtype_is_8bit(at) || bt != DType::I8) {
    why_not = fmt::format("a {} b {} (only u8/s8 A, s8 B)", dtype_name(at), dtype_name(bt));
    return nullptr;
  }
  std::vector<int32_t> bz;
  if (!const_ints(init, 3, "b_zero_point", bz, why_not)) return nullptr;
  for (int32_t z : bz)
    if (z != 0) {
      why_not = fmt::format("b_zero_point {} (only symmetric B has a fast path)", z);
      return nullptr;
    }
  MatMulDims d;
  if (!matmul_dims(init, 1, d, why_not)) return nullptr;
  auto kern = std::make_unique<QMatMulKernel>();
  Requant rq;  // no scales: the s32 destination keeps the exact accumulator
  if (init.inputs.size() > 2 && init.inputs[2].dtype != DType::Undefined) {
    if (shape_numel(init.inputs[2].shape) != 1) {
      why_not = "per-row a_zero_point";
      return nullptr;
    }
    if (init.constants[2])
      rq.src_zp.value = static_cast<int32_t>(init.constants[2]->to_int64()[0]);
    else
      kern->runtime_a_zp = 2;
  }
  if (!kern->init(init, 1, d, &rq, nullptr, {}, why_not)) return nullptr;
  return kern;
}

std::unique_ptr<Kernel> make_onednn_matmul_integer_to_float(const KernelInit& init,
                                                            std::string& why_not) {
  auto present = [&](size_t i) {
    return i < init.inputs.size() && init.inputs[i].dtype != DType::Undefined;
  };
  if (init.inputs.size() < 4 || init.outputs.size() != 1) {
    why_not = "expects A, B, a_scale, b_scale[, a_zp, b_zp, bias] and one output";
    return nullptr;
  }
  const DType at = init.inputs[0].dtype, bt = init.inputs[1].dtype;
  if (!dtype_is_8bit(at) || bt != DType::I8) {
    why_not = fmt::format("a {} b {} (only u8/s8 A, s8 B)", dtype_name(at), dtype_name(bt));
    return nullptr;
  }
  MatMulDims d;
  if (!matmul_dims(init, 1, d, why_not)) return nullptr;
  auto kern = std::make_unique<QMatMulKernel>();
  std::vector<float> as, bs;
  std::vector<int32_t> az, bz;
  if (!const_floats(init, 3, "b_scale", bs, why_not)) return nullptr;
  if (init.constants[2]) {
    as = init.constants[2]->to_float();
  } else {
    kern->runtime_a_scale = 2;
    as = {1.0f};
  }
  if (shape_numel(init.inputs[2].shape) != 1) {
    why_not = "per-row A quantization";
    return nullptr;
  }
  if (present(4)) {
    if (shape_numel(init.inputs[4].shape) != 1) {
      why_not = "per-row A quantization";
      return nullptr;
    }
    if (init.constants[4])
      az = {static_cast<int32_t>(init.constants[4]->to_int64()[0])};
    else
      kern->runtime_a_zp = 4;
  }
  if (present(5) && !const_ints(init, 5, "b_zero_point", bz, why_not)) return nullptr;
  for (int32_t z : bz)
    if (z != 0) {
      why_not = fmt::format("b_zero_point {} (only symmetric B has a fast path)", z);
      return nullptr;
    }
  if (bs.size() != 1 && static_cast<int64_t>(bs.size()) != d.n) {
    why_not = fmt::format("{} b scales for {} columns", bs.size(), d.n);
    return nullptr;
  }
  Requant rq;
  kern->b_scales = bs;
  for (float b : bs) rq.scales.push_back(as[0] * b);
  if (!az.empty()) rq.src_zp.value = az[0];
  if (present(6)) {
    kern->post_bias = init.constants[6];
    if (!kern->post_bias) {
      why_not = "bias is not constant";
      return nullptr;
    }
  }
  std::vector<EltwiseStep> post;
  if (!fused_steps(init.node, post, why_not)) return nullptr;
  if (!kern->init(init, 1, d, &rq, nullptr, post, why_not)) return nullptr;
  return kern;
}

}  // namespace qbench::kernels::onednn
