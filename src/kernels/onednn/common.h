#pragma once
// Helpers shared by the oneDNN kernel files: dtype checks, plain memory descriptors, element-wise
// activations (standalone or fused as post-ops) and primitive execution.
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/onednn/context.h"

namespace qbench::kernels::onednn {

using dnnl::memory;

// True when every present input and every output is f32; otherwise sets why_not ("input 1 dtype
// i64"). Inputs listed in `skip` (e.g. shape-like inputs) are not checked, nor the outputs
// when `outputs` is false.
bool check_f32(const KernelInit& init, std::string& why_not,
               std::initializer_list<size_t> skip = {}, bool outputs = true);

// Shape and memory::dims are both std::vector<int64_t>; to_dims only documents the crossing.
inline memory::dims to_dims(const Shape& s) {
  return s;
}
// A dense row-major f32 descriptor; rank 0 becomes {1}.
memory::desc plain_desc(const memory::dims& dims);
// A memory object over a caller-owned buffer set later with set_data_handle().
memory user_memory(const memory::desc& md);
// Wraps a tensor's buffer; oneDNN only reads it when it is a source.
inline void bind(memory& m, const Tensor* t) {
  m.set_data_handle(const_cast<void*>(t->raw()));
}

// Starts output y as the residual z for a kernel that adds onto it in place, unless the plan
// gave y z's buffer already (Kernel::inplace_input). Same byte count.
inline void copy_residual(const Tensor& z, Tensor& y) {
  if (y.raw() != z.raw()) std::memcpy(y.raw(), z.raw(), size_t(y.numel()) * dtype_size(y.dtype()));
}

// One oneDNN eltwise operation: dst = alg(src; alpha, beta).
struct EltwiseStep {
  dnnl::algorithm alg;
  float alpha = 0;
  float beta = 0;
};

// Maps an ONNX activation to eltwise steps (HardSigmoid needs two). `clip_min`/`clip_max` are
// Clip's bounds when they come from inputs (opset >= 11). Returns false with why_not set when
// oneDNN has no exact match.
bool activation_steps(const std::string& op_type, const std::map<std::string, ir::Attribute>& attrs,
                      float clip_min, float clip_max, std::vector<EltwiseStep>& steps,
                      std::string& why_not);
// Eltwise steps for the activations the fusion pass absorbed into `node` (ir::Node::fused).
bool fused_steps(const ir::Node& node, std::vector<EltwiseStep>& steps, std::string& why_not);
void append_steps(dnnl::post_ops& po, const std::vector<EltwiseStep>& steps);

// Attributes with a user-managed scratchpad (Step::use_scratchpad), so execution never allocates.
dnnl::primitive_attr scratch_attr();

// A primitive with its argument map, built once; run() rebinds buffers via set_data_handle.
struct Step {
  Step() = default;
  Step(dnnl::primitive p, std::unordered_map<int, memory> a)
      : prim(std::move(p)), args(std::move(a)) {}

  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  // The scratchpad `pd` asks for, if any: the calling thread's scratch buffer, bound at each
  // execution (the primitives on one thread run one at a time, so a plan needs one scratchpad of
  // the largest size rather than one per kernel). Call after `args` is set.
  void use_scratchpad(const dnnl::primitive_desc_base& pd);
  void execute();

 private:
  memory scratchpad_;
  size_t scratchpad_bytes_ = 0;
};

// One primitive that reads a source and writes a destination, over plain (row-major) user
// buffers: the source and destination are reordered into and out of the layouts it runs on
// where those differ, and its scratchpad and workspace are allocated once. `extra` holds its
// other arguments (constant weights, scale and shift...). `accumulate`: the primitive adds to
// what the destination holds (a sum post-op), so the user's destination is reordered in too.
class PlainIoPrimitive {
 public:
  void build(const dnnl::primitive_desc_base& pd, dnnl::primitive prim,
             const memory::desc& src_plain, const memory::desc& dst_plain, const memory::desc& src,
             const memory::desc& dst, std::unordered_map<int, memory> extra = {},
             bool accumulate = false);
  void run(const Tensor* src, Tensor* dst) { run(src->raw(), dst->raw()); }
  void run(const void* src, void* dst);
  // oneDNN's name for the implementation ("brgconv:avx512_core").
  const std::string& impl() const { return impl_; }

 private:
  memory src_user_, dst_user_, workspace_;
  // The source and destination in the primitive's layouts where they differ from the user's:
  // bound to thread_scratch at each run; empty where not needed.
  memory src_mid_, dst_mid_;
  std::string impl_;
  std::vector<Step> steps_;
};

// A kernel that is just such a primitive: input 0 to output 0.
class PrimitiveKernel final : public Kernel {
 public:
  PlainIoPrimitive prim;
  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    prim.run(in[0], out[0]);
  }
  std::string impl() const override { return prim.impl(); }
};

// A convolution-like primitive (Conv, ConvTranspose): constant weights reordered once into the
// primitive's layout, an optional bias read from the user's buffer, plain source and destination
// as in PlainIoPrimitive.
// What a kernel holds of the engine's PreparedConstants, so that its other plans find them.
using KeptConstants = std::vector<std::shared_ptr<const memory>>;

// `source`'s values, described by `user`, reordered into `target` (with any compensation the
// layout carries): made once per engine and shared by its plans (KernelInit::prepared; null:
// not shared), kept
// alive through `kept`. Where the kernel transformed the values first (weight halves), `values`
// holds them and `variant` names the transformation.
memory reordered_constant(PreparedConstants* prepared, KeptConstants& kept, const Tensor& source,
                          const memory::desc& user, const memory::desc& target,
                          const std::string& variant = "", const void* values = nullptr);

class WeightedPrimitive {
 public:
  // `weights` is described by `wei_user`; `bias_md` is empty when there is no bias.
  void build(const KernelInit& init, const dnnl::primitive_desc_base& pd, dnnl::primitive prim,
             const memory::desc& wei_user, const Tensor& weights, const memory::desc& src_plain,
             const memory::desc& dst_plain, const memory::desc& bias_md, bool accumulate = false);
  // `bias` may be null when build() had no bias. `src` may be a copy of the input tensor's data
  // (in its layout), e.g. rounded to bf16.
  void run(const void* src, const Tensor* bias, Tensor* dst);
  const std::string& impl() const { return io_.impl(); }

 private:
  KeptConstants kept_;
  memory bias_user_;
  PlainIoPrimitive io_;
};

// Runs `fn` and turns a dnnl::error (no implementation for these descriptors) into a why_not
// reason; returns false in that case.
template <typename Fn>
bool try_dnnl(std::string& why_not, const char* what, Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const dnnl::error& e) {
    why_not = std::string("oneDNN ") + what + ": " + e.what();
    return false;
  }
}

// True when the descriptor resolved to oneDNN's slow reference implementation ("ref:any").
bool is_reference_impl(const dnnl::primitive_desc_base& pd);

// oneDNN 2.6 puts its brgemm convolution first whenever the CPU has AVX-512, but where each group
// has few output channels (one vector of f32, two of int8) its direct jit kernel for the same ISA
// is faster (one thread, channels-last, benchmarks/results/conv-impl-2026-12-05-zen5.txt): f32
// 3x3 16->16 at batch 100 1.43 ms against 1.68 (batch 1: 14.5 us against 15.9), 1->16 0.16
// against 0.31 ms; int8 16->16 4.4 us against 6.2, 32->32 3.8 against 4.6. From 64 channels on
// brgemm wins or the two trade places, and for 1x1 kernels the direct one is no faster. The same
// holds for f32 depthwise convolutions (one channel per group), brdgmm_dw against jit_dw
// (conv-impl-dw-2026-12-06-zen4.txt, MobileNetV2's ten depthwise shapes): at batch 1 544 us
// against 416 in all (each shape faster or even), at batch 100 204 ms against 198; in the
// model, MobileNetV2 b1 1 thread 7.59 -> 7.46 ms. int8 depthwise keeps brdgmm_dw (oneDNN's
// general jit_int8 kernel, the other choice there, is not measured faster). So for a spatial
// kernel with `small_groups` true, `pd` moves to that implementation when oneDNN has it;
// `remake` recreates the first choice otherwise (a primitive_desc walks its implementations in
// place).
template <typename PD, typename Remake>
void prefer_direct_jit(PD& pd, bool small_groups, Remake remake) {
  const std::string first = pd.impl_info_str();
  const size_t colon = first.find(':');
  // Depthwise (brdgmm_dw first): only oneDNN's depthwise kernel, jit_dw (f32; int8 has none).
  const bool depthwise = first.rfind("brdgmm", 0) == 0;
  if (!small_groups || (first.rfind("brg", 0) != 0 && !depthwise) || colon == std::string::npos)
    return;
  const std::string isa = first.substr(colon);
  while (pd.next_impl()) {
    const std::string impl = pd.impl_info_str();
    if (impl.rfind(depthwise ? "jit_dw" : "jit", 0) == 0 && impl.find("1x1") == std::string::npos &&
        impl.size() >= isa.size() && impl.compare(impl.size() - isa.size(), isa.size(), isa) == 0)
      return;
  }
  pd = remake();
}

// Product of dims [begin, end).
int64_t dims_product(const Shape& s, size_t begin, size_t end);

}  // namespace qbench::kernels::onednn
