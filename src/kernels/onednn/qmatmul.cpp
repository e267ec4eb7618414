// QLinearMatMul, qbench.QGemm (QLinearMatMul + int32 bias, fused Relu/Clip) and MatMulInteger
// as one oneDNN int8 matmul each: u8/s8 A, s8 B (a constant B is reordered once), per-column
// output scales a_scale * b_scale[n] / y_scale, source/destination zero points, u8/s8 output
// (int32 for MatMulInteger). A's leading dimensions fold into M; B must be 2-D.
#include <fmt/format.h>

#include "kernels/onednn/factories.h"
#include "kernels/onednn/qcommon.h"

namespace qbench::kernels::onednn {

namespace {

using tag = memory::format_tag;
using dt = memory::data_type;

class QMatMulKernel final : public Kernel {
 public:
  // Input index of a runtime A zero point (MatMulInteger fed by DynamicQuantizeLinear), or -1.
  int runtime_a_zp = -1;

  bool init(const KernelInit& init, size_t b_index, int64_t rows, int64_t k, int64_t n,
            const Requant* rq, const Tensor* bias, std::string& why_not) {
    const dt at = dnnl_type(init.inputs[0].dtype), yt = dnnl_type(init.outputs[0].dtype);
    const Tensor* b_const = init.constants[b_index];
    memory::desc a_md = plain_desc({rows, k}, at), dst_md = plain_desc({rows, n}, yt);
    memory::desc b_md = plain_desc({k, n}, dt::s8);
    memory::desc b_pd = b_const ? memory::desc({k, n}, dt::s8, tag::any) : b_md;
    memory::desc bias_md = bias ? plain_desc({1, n}, dt::s32) : memory::desc();
    dnnl::primitive_attr attr = scratch_attr();
    rq_ = *rq;
    if (!rq_.scales.empty()) apply_requant(rq_, 1 << 1, attr);
    if (runtime_a_zp >= 0) rq_.src_zp.value = 1;  // any non-zero: registered as runtime
    rq_.src_zp.apply(attr, DNNL_ARG_SRC);
    rq_.dst_zp.apply(attr, DNNL_ARG_DST);
    dnnl::matmul::primitive_desc pd;
    if (!try_dnnl(why_not, "int8 matmul", [&] {
          pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_pd, bias_md, dst_md), attr,
                                            cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference int8 matmul for this case";
      return false;
    }
    a_ = user_memory(a_md);
    dst_ = user_memory(dst_md);
    b_index_ = b_index;
    if (b_const) {
      b_ = memory(pd.weights_desc(), cpu_engine());
      memory user(b_md, cpu_engine(), const_cast<void*>(b_const->raw()));
      dnnl::reorder(user, b_).execute(cpu_stream(), user, b_);
      cpu_stream().wait();
      b_bound_ = true;
    } else {
      b_ = user_memory(b_md);
    }
    step_ = {dnnl::matmul(pd), {{DNNL_ARG_SRC, a_}, {DNNL_ARG_WEIGHTS, b_}, {DNNL_ARG_DST, dst_}}};
    if (bias) {
      bias_ = memory(bias_md, cpu_engine());
      std::memcpy(bias_.get_data_handle(), bias->raw(), bias_md.get_size());
      step_.args[DNNL_ARG_BIAS] = bias_;
    }
    rq_.src_zp.bind(step_.args, DNNL_ARG_SRC);
    rq_.dst_zp.bind(step_.args, DNNL_ARG_DST);
    scratch_ = make_scratchpad(pd);
    if (scratch_) step_.args[DNNL_ARG_SCRATCHPAD] = scratch_;
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    bind(a_, in[0]);
    if (!b_bound_) bind(b_, in[b_index_]);
    if (runtime_a_zp >= 0) {
      const Tensor* z = in[runtime_a_zp];
      *static_cast<int32_t*>(rq_.src_zp.mem.get_data_handle()) =
          z->dtype() == DType::U8 ? int32_t(z->data<uint8_t>()[0]) : int32_t(z->data<int8_t>()[0]);
    }
    bind(dst_, out[0]);
    step_.execute();
    cpu_stream().wait();
  }

 private:
  Requant rq_;
  memory a_, b_, dst_, bias_, scratch_;
  size_t b_index_ = 1;
  bool b_bound_ = false;
  Step step_;
};

bool is_8bit(DType t) {
  return t == DType::U8 || t == DType::I8;
}

// A [..., M, K] times a 2-D B [K, N]: rows = product of A's leading dims and M.
bool matmul_dims(const KernelInit& init, size_t b_index, int64_t& rows, int64_t& k, int64_t& n,
                 std::string& why_not) {
  const Shape& a = init.inputs[0].shape;
  const Shape& b = init.inputs[b_index].shape;
  if (a.size() < 2 || b.size() != 2) {
    why_not =
        fmt::format("A {} B {} (only A of rank >= 2 times a 2-D B)", shape_str(a), shape_str(b));
    return false;
  }
  k = a.back();
  n = b[1];
  if (b[0] != k) {
    why_not = "inner dims differ";
    return false;
  }
  rows = shape_numel(a) / std::max<int64_t>(k, 1);
  if (rows * k * n == 0) {
    why_not = "empty tensor";
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<Kernel> make_onednn_qmatmul(const KernelInit& init, std::string& why_not) {
  const bool qgemm = init.node.op_type == "QGemm";
  if (init.inputs.size() < 8 || init.outputs.size() != 1) {
    why_not = "expects the QLinearMatMul inputs and one output";
    return nullptr;
  }
  const DType at = init.inputs[0].dtype, bt = init.inputs[3].dtype, yt = init.outputs[0].dtype;
  if (!is_8bit(at) || bt != DType::I8 || !is_8bit(yt)) {
    why_not = fmt::format("a {} b {} y {} (only u8/s8 a, s8 b, u8/s8 y)", dtype_name(at),
                          dtype_name(bt), dtype_name(yt));
    return nullptr;
  }
  int64_t rows, k, n;
  if (!matmul_dims(init, 3, rows, k, n, why_not)) return nullptr;
  const Tensor* bias = nullptr;
  if (qgemm && init.inputs.size() > 8 && init.inputs[8].dtype != DType::Undefined) {
    bias = init.constants[8];
    if (!bias) {
      why_not = "bias is not constant";
      return nullptr;
    }
  }
  Requant rq;
  if (!read_requant(init, n, rq, why_not)) return nullptr;
  auto kern = std::make_unique<QMatMulKernel>();
  if (!kern->init(init, 3, rows, k, n, &rq, bias, why_not)) return nullptr;
  return kern;
}

std::unique_ptr<Kernel> make_onednn_matmul_integer(const KernelInit& init, std::string& why_not) {
  if (init.inputs.size() < 2 || init.outputs.size() != 1) {
    why_not = "expects A, B[, a_zero_point, b_zero_point] and one output";
    return nullptr;
  }
  const DType at = init.inputs[0].dtype, bt = init.inputs[1].dtype;
  if (!is_8bit(at) || bt != DType::I8) {
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
  int64_t rows, k, n;
  if (!matmul_dims(init, 1, rows, k, n, why_not)) return nullptr;
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
  if (!kern->init(init, 1, rows, k, n, &rq, nullptr, why_not)) return nullptr;
  return kern;
}

}  // namespace qbench::kernels::onednn
