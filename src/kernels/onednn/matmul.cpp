// MatMul (2-D and batched N-D with numpy broadcasting of batch dims) and Gemm (alpha, beta,
// transA, transB, constant or runtime C) on oneDNN's matmul primitive. A constant B is
// reordered once into the primitive's preferred layout; fused activations become post-ops.
// One or two rows times a large constant B with at most a bias run on qbench's matrix-vector
// kernel instead (gemv_f32.h).
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "kernels/onednn/common.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/onednn/factories.h"
#include "kernels/onednn/gemv_f32.h"
#include "kernels/onednn/loops.h"

namespace qbench::kernels::onednn {

namespace {

using tag = memory::format_tag;

// Shared core: one matmul primitive with plain A and dst, and B either reordered once
// (constant) or bound per run.
class MatMulCore {
 public:
  // bf16: A is converted by a reorder before the matmul, a constant B once; f32 output. A CPU
  // without native bf16 runs the f32 matmul on A rounded to bf16 (B's values already are).
  bool init(const memory::desc& a_md, const memory::desc& b_md, const memory::desc& dst_md,
            const memory::desc& bias_md, const Tensor* b_const, PreparedConstants* prepared,
            dnnl::primitive_attr attr, std::string& why_not, bool bf16 = false) {
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (bf16 && !b_const) {
      why_not = "bf16 compute needs constant weights";
      return false;
    }
    emulated_ = bf16 && !native_bf16();
    if (emulated_) bf16 = false;
    const memory::data_type cdt = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
    memory::desc b_pd_md = b_const ? memory::desc(b_md.dims(), cdt, tag::any) : b_md;
    memory::desc a_pd_md = bf16 ? memory::desc(a_md.dims(), cdt, tag::any) : a_md;
    dnnl::matmul::primitive_desc pd;
    if (!try_dnnl(why_not, bf16 ? "bf16 matmul" : "matmul", [&] {
          pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_pd_md, b_pd_md, bias_md, dst_md),
                                            attr, cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = fmt::format("oneDNN has only its reference {} matmul for this case",
                            bf16 ? "bf16" : "f32");
      return false;
    }
    impl_ = pd.impl_info_str();
    if (emulated_) impl_ += ", bf16 emulated in f32";
    a_ = user_memory(a_md);
    if (bf16) {
      a_conv_ = memory(pd.src_desc(), cpu_engine());
      convert_a_ = {dnnl::reorder(a_, a_conv_), {{DNNL_ARG_FROM, a_}, {DNNL_ARG_TO, a_conv_}}};
      has_convert_ = true;
    }
    dst_ = user_memory(dst_md);
    if (b_const) {
      b_ = reordered_constant(prepared, kept_, *b_const, b_md, pd.weights_desc());
      b_bound_ = true;
    } else {
      b_ = user_memory(b_md);
    }
    step_ = {dnnl::matmul(pd),
             {{DNNL_ARG_SRC, has_convert_ ? a_conv_ : a_},
              {DNNL_ARG_WEIGHTS, b_},
              {DNNL_ARG_DST, dst_}}};
    if (bias_md) {
      bias_ = user_memory(bias_md);
      step_.args[DNNL_ARG_BIAS] = bias_;
    }
    step_.use_scratchpad(pd);
    return true;
  }
  // Adds a constant source for binary post-op `index`.
  void bind_post_op_src(int index, const memory::desc& md, const Tensor& data) {
    memory m(md, cpu_engine(), const_cast<void*>(data.raw()));
    step_.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1] = m;
  }
  void run(const Tensor* a, const Tensor* b, const void* bias, Tensor* dst) {
    if (emulated_) {
      float* rounded = static_cast<float*>(thread_scratch(0, size_t(a->numel()) * sizeof(float)));
      round_to_bf16(a->data<float>(), rounded, a->numel());
      a_.set_data_handle(rounded);
    } else {
      bind(a_, a);
    }
    if (!b_bound_) bind(b_, b);
    if (bias) bias_.set_data_handle(const_cast<void*>(bias));
    bind(dst_, dst);
    if (has_convert_) convert_a_.execute();
    step_.execute();
    cpu_stream().wait();
  }

  const std::string& impl() const { return impl_; }
  bool emulated() const { return emulated_; }

 private:
  KeptConstants kept_;
  memory a_, b_, dst_, bias_, a_conv_;
  std::string impl_;
  bool b_bound_ = false, has_convert_ = false, emulated_ = false;
  Step step_, convert_a_;
};

// ---- Matrix-vector products ---------------------------------------------------------------

std::atomic<bool> g_gemv{true};

// [rows, k] x a constant [k, n] (element (i, j) at b[i * k_stride + j * n_stride]) + an optional
// constant bias of n values, on GemvF32. Its packed weights are made once per engine (`prepared`,
// as reordered oneDNN weights are): the batch-1 plans of a batch split into images one at a
// time share them.
class GemvKernel final : public Kernel {
 public:
  GemvKernel(const KernelInit& init, int64_t rows, int64_t k, int64_t n, int64_t k_stride,
             int64_t n_stride, const Tensor* bias)
      : rows_(rows) {
    const Tensor& b = *init.constants[1];
    auto make = [&] { return GemvF32(k, n, b.data<float>(), k_stride, n_stride); };
    gemv_ = init.prepared
                ? init.prepared->get<GemvF32>(
                      b, fmt::format("gemv_f32 {}x{} {} {}", k, n, k_stride, n_stride), make)
                : std::make_shared<const GemvF32>(make());
    if (bias) bias_ = *bias;
  }
  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    gemv_->run(in[0]->data<float>(), rows_, bias_.defined() ? bias_.data<float>() : nullptr,
               out[0]->data<float>());
  }
  std::string impl() const override { return "qbench_gemv_f32:avx512"; }

 private:
  std::shared_ptr<const GemvF32> gemv_;
  int64_t rows_;
  Tensor bias_;
};

// Whether a product with these fused steps takes GemvKernel: f32 compute, a constant B, no
// fused activation.
bool gemv_takes(const KernelInit& init, const std::vector<EltwiseStep>& post, int64_t rows,
                int64_t k, int64_t n) {
  return g_gemv && init.node.compute_type != DType::BF16 && init.constants[1] && post.empty() &&
         GemvF32::applies(rows, k, n);
}

// ---- MatMul -------------------------------------------------------------------------------

class MatMulKernel final : public Kernel {
 public:
  MatMulCore core;
  Tensor bias;  // qbench.MatMul's constant bias (N values), when present
  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    core.run(in[0], in[1], bias.defined() ? bias.raw() : nullptr, out[0]);
  }
  std::string impl() const override { return core.impl(); }
  bool emulated() const override { return core.emulated(); }
};

// ---- Gemm ---------------------------------------------------------------------------------

class GemmKernel final : public Kernel {
 public:
  MatMulCore core;
  Tensor bias;             // beta * C as a {1, N} bias, when used
  Tensor c_post;           // beta * C as a binary post-op source, when used
  bool runtime_c = false;  // C is written into Y before the matmul, added by a sum post-op
  float beta = 1.f;
  int64_t m = 0, n = 0;

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    if (runtime_c) expand_c(*in[2], *out[0]);
    core.run(in[0], in[1], bias.defined() ? bias.raw() : nullptr, out[0]);
  }
  std::string impl() const override { return core.impl(); }
  bool emulated() const override { return core.emulated(); }

  // Y = beta * broadcast(C) for the C shapes Gemm allows: [], [N], [1|M, 1|N].
  void expand_c(const Tensor& c, Tensor& y) const {
    const float* cp = c.data<float>();
    float* yp = y.data<float>();
    int64_t cm = c.rank() == 2 ? c.dim(0) : 1;
    int64_t cn = c.rank() >= 1 ? c.dim(-1) : 1;
    for (int64_t i = 0; i < m; ++i) {
      const float* row = cp + (cm == 1 ? 0 : i * cn);
      float* yrow = yp + i * n;
      if (cn == 1) {
        std::fill(yrow, yrow + n, beta * row[0]);
      } else {
        for (int64_t j = 0; j < n; ++j) yrow[j] = beta * row[j];
      }
    }
  }
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_matmul(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  // qbench.MatMul has a third input, a bias along N (passes/fuse_add.cpp).
  const bool has_bias = init.inputs.size() == 3;
  if ((init.inputs.size() != 2 && !has_bias) || init.outputs.size() != 1) {
    why_not = "expects two inputs (three with a bias) and one output";
    return nullptr;
  }
  Shape a = init.inputs[0].shape, b = init.inputs[1].shape;
  if (a.empty() || b.empty()) {
    why_not = "scalar operand";
    return nullptr;
  }
  if (shape_numel(a) == 0 || shape_numel(b) == 0 || shape_numel(init.outputs[0].shape) == 0) {
    why_not = "empty tensor";
    return nullptr;
  }
  // Numpy semantics: 1-D A is a row vector, 1-D B a column vector; the output drops those dims,
  // which leaves its dense buffer unchanged.
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  size_t r = std::max(a.size(), b.size());
  if (r > static_cast<size_t>(DNNL_MAX_NDIMS)) {
    why_not = fmt::format("rank {} > {}", r, DNNL_MAX_NDIMS);
    return nullptr;
  }
  a.insert(a.begin(), r - a.size(), 1);
  b.insert(b.begin(), r - b.size(), 1);
  int64_t M = a[r - 2], K = a[r - 1], N = b[r - 1];
  if (b[r - 2] != K) {
    why_not = fmt::format("inner dims differ: A {} B {}", shape_str(init.inputs[0].shape),
                          shape_str(init.inputs[1].shape));
    return nullptr;
  }
  Shape dst(r);
  bool b_batched = false;
  for (size_t i = 0; i + 2 < r; ++i) {
    if (a[i] != b[i] && a[i] != 1 && b[i] != 1) {
      why_not = "batch dims not broadcastable";
      return nullptr;
    }
    dst[i] = std::max(a[i], b[i]);
    b_batched |= b[i] != 1;
  }
  dst[r - 2] = M;
  dst[r - 1] = N;
  if (shape_numel(dst) != shape_numel(init.outputs[0].shape)) {
    why_not = "inferred output shape differs from numpy matmul";
    return nullptr;
  }
  // B without batch dims: fold A's batch into M so one 2-D GEMM does the work.
  if (!b_batched) {
    int64_t rows = shape_numel(a) / K;
    a = {rows, K};
    b = {K, N};
    dst = {rows, N};
  }
  memory::desc bias_md;
  if (has_bias) {
    // Only a constant bias of N values, added to every row: oneDNN's {1, N} bias.
    if (!init.constants[2] || init.inputs[2].dtype != DType::F32 ||
        shape_numel(init.inputs[2].shape) != N || init.inputs[2].shape.back() != N ||
        b_batched) {
      why_not = "bias is not a constant row of N values over an unbatched B";
      return nullptr;
    }
    bias_md = plain_desc(memory::dims{1, N});
  }
  std::vector<EltwiseStep> post;
  if (!fused_steps(init.node, post, why_not)) return nullptr;
  if (!b_batched && gemv_takes(init, post, a[0], K, N))
    return std::make_unique<GemvKernel>(init, a[0], K, N, N, 1,
                                        has_bias ? init.constants[2] : nullptr);
  dnnl::primitive_attr attr;
  dnnl::post_ops po;
  append_steps(po, post);
  attr.set_post_ops(po);
  auto k = std::make_unique<MatMulKernel>();
  if (!k->core.init(plain_desc(a), plain_desc(b), plain_desc(dst), bias_md, init.constants[1],
                    init.prepared, attr, why_not, init.node.compute_type == DType::BF16))
    return nullptr;
  if (has_bias) k->bias = *init.constants[2];
  return k;
}

std::unique_ptr<Kernel> make_onednn_gemm(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  const ir::Node& node = init.node;
  if (init.inputs.size() < 2 || init.outputs.size() != 1) {
    why_not = "expects A, B[, C] and one output";
    return nullptr;
  }
  const Shape& as = init.inputs[0].shape;
  const Shape& bs = init.inputs[1].shape;
  if (as.size() != 2 || bs.size() != 2) {
    why_not = "A and B must be 2-D";
    return nullptr;
  }
  bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  float alpha = node.attr_float("alpha", 1.f), beta = node.attr_float("beta", 1.f);
  int64_t M = ta ? as[1] : as[0], K = ta ? as[0] : as[1];
  int64_t N = tb ? bs[0] : bs[1], KB = tb ? bs[1] : bs[0];
  if (K != KB) {
    why_not = "inner dims differ";
    return nullptr;
  }
  if (M * N * K == 0) {
    why_not = "empty tensor";
    return nullptr;
  }
  memory::desc a_md({M, K}, memory::data_type::f32, ta ? memory::dims{1, M} : memory::dims{K, 1});
  memory::desc b_md({K, N}, memory::data_type::f32, tb ? memory::dims{1, K} : memory::dims{N, 1});
  memory::desc dst_md = plain_desc(memory::dims{M, N});

  auto k = std::make_unique<GemmKernel>();
  k->m = M;
  k->n = N;
  k->beta = beta;
  bool has_c = init.inputs.size() > 2 && init.inputs[2].dtype != DType::Undefined && beta != 0.f;
  dnnl::primitive_attr attr;
  if (alpha != 1.f) attr.set_output_scales(0, {alpha});
  dnnl::post_ops po;
  memory::desc bias_md, c_md;
  if (has_c) {
    const Shape& cs = init.inputs[2].shape;
    int64_t cm = cs.size() == 2 ? cs[0] : 1;
    int64_t cn = cs.empty() ? 1 : cs.back();
    if (cs.size() > 2 || (cm != 1 && cm != M) || (cn != 1 && cn != N)) {
      why_not = fmt::format("C shape {} not broadcastable to [{}, {}]", shape_str(cs), M, N);
      return nullptr;
    }
    if (const Tensor* c = init.constants[2]) {
      std::vector<float> cv = c->to_float();
      if (alpha == 1.f && cm == 1) {
        // The common nn.Linear case: a per-column bias (oneDNN adds bias before output scales,
        // hence only when alpha is 1).
        std::vector<float> bv(N);
        for (int64_t j = 0; j < N; ++j) bv[j] = beta * cv[cn == 1 ? 0 : j];
        k->bias = Tensor::from_vector<float>({1, N}, bv);
        bias_md = plain_desc(memory::dims{1, N});
      } else {
        // Per-row C has no JIT broadcast in binary post-ops: store it expanded to [M, N].
        bool expand = cm != 1 && cn == 1;
        int64_t sm = cm, sn = expand ? N : cn;
        std::vector<float> pv(sm * sn);
        for (int64_t i = 0; i < sm; ++i)
          for (int64_t j = 0; j < sn; ++j)
            pv[i * sn + j] = beta * cv[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
        k->c_post = Tensor::from_vector<float>({sm, sn}, pv);
        c_md = plain_desc(memory::dims{sm, sn});
        po.append_binary(dnnl::algorithm::binary_add, c_md);
      }
    } else {
      k->runtime_c = true;
      po.append_sum(1.f);
    }
  }
  std::vector<EltwiseStep> post;
  if (!fused_steps(node, post, why_not)) return nullptr;
  // No C or a per-column bias, alpha 1, A read as rows (not transposed unless a single row): the
  // matrix-vector kernel where it applies.
  if (!k->runtime_c && !k->c_post.defined() && alpha == 1.f && (!ta || M == 1) &&
      gemv_takes(init, post, M, K, N))
    return std::make_unique<GemvKernel>(init, M, K, N, tb ? 1 : N, tb ? K : 1,
                                        k->bias.defined() ? &k->bias : nullptr);
  append_steps(po, post);
  attr.set_post_ops(po);
  if (!k->core.init(a_md, b_md, dst_md, bias_md, init.constants[1], init.prepared, attr, why_not,
                    node.compute_type == DType::BF16))
    return nullptr;
  if (c_md) k->core.bind_post_op_src(0, c_md, k->c_post);
  return k;
}

void set_gemv_f32(bool on) {
  g_gemv = on;
}

}  // namespace qbench::kernels::onednn
