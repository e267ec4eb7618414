#include "kernels/onednn/common.h"

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include <cmath>
#include <cstring>

#include "kernels/onednn/loops.h"

namespace qbench::kernels::onednn {

using dnnl::algorithm;

bool check_f32(const KernelInit& init, std::string& why_not, std::initializer_list<size_t> skip,
               bool outputs) {
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    bool skipped = false;
    for (size_t s : skip) skipped |= s == i;
    DType t = init.inputs[i].dtype;
    if (skipped || t == DType::Undefined || t == DType::F32) continue;
    why_not = fmt::format("input {} dtype {} (only f32)", i, dtype_name(t));
    return false;
  }
  for (size_t i = 0; outputs && i < init.outputs.size(); ++i) {
    DType t = init.outputs[i].dtype;
    if (t == DType::Undefined || t == DType::F32) continue;
    why_not = fmt::format("output {} dtype {} (only f32)", i, dtype_name(t));
    return false;
  }
  return true;
}

memory::desc plain_desc(const memory::dims& dims_in) {
  memory::dims dims = dims_in.empty() ? memory::dims{1} : dims_in;
  memory::dims strides(dims.size());
  memory::dim stride = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= dims[i];
  }
  return memory::desc(dims, memory::data_type::f32, strides);
}

memory user_memory(const memory::desc& md) {
  return memory(md, cpu_engine(), DNNL_MEMORY_NONE);
}

namespace {

float attr_float(const std::map<std::string, ir::Attribute>& attrs, const char* k, float def) {
  auto it = attrs.find(k);
  if (it == attrs.end()) return def;
  return it->second.kind == ir::Attribute::Kind::Int ? static_cast<float>(it->second.i)
                                                     : it->second.f;
}

std::string attr_string(const std::map<std::string, ir::Attribute>& attrs, const char* k,
                        const char* def) {
  auto it = attrs.find(k);
  return it == attrs.end() ? def : it->second.s;
}

}  // namespace

bool activation_steps(const std::string& op, const std::map<std::string, ir::Attribute>& attrs,
                      float clip_min, float clip_max, std::vector<EltwiseStep>& steps,
                      std::string& why_not) {
  if (op == "Relu") {
    steps.push_back({algorithm::eltwise_relu, 0.f, 0.f});
  } else if (op == "LeakyRelu") {
    steps.push_back({algorithm::eltwise_relu, attr_float(attrs, "alpha", 0.01f), 0.f});
  } else if (op == "Sigmoid") {
    steps.push_back({algorithm::eltwise_logistic, 0.f, 0.f});
  } else if (op == "Tanh") {
    steps.push_back({algorithm::eltwise_tanh, 0.f, 0.f});
  } else if (op == "Clip") {
    // Before opset 11 the bounds are attributes; later they are (constant) inputs.
    float lo = attrs.count("min") ? attr_float(attrs, "min", 0.f) : clip_min;
    float hi = attrs.count("max") ? attr_float(attrs, "max", 0.f) : clip_max;
    if (std::isnan(lo)) lo = -INFINITY;
    if (std::isnan(hi)) hi = INFINITY;
    if (lo > hi) {
      why_not = fmt::format("Clip min {} > max {}", lo, hi);
      return false;
    }
    steps.push_back({algorithm::eltwise_clip_v2, lo, hi});
  } else if (op == "HardSigmoid") {
    // max(0, min(1, alpha * x + beta)): oneDNN 2.6 has no hardsigmoid, so linear then clip.
    steps.push_back({algorithm::eltwise_linear, attr_float(attrs, "alpha", 0.2f),
                     attr_float(attrs, "beta", 0.5f)});
    steps.push_back({algorithm::eltwise_clip_v2, 0.f, 1.f});
  } else if (op == "HardSwish") {
    steps.push_back({algorithm::eltwise_hardswish, 0.f, 0.f});
  } else if (op == "Gelu") {
    std::string approx = attr_string(attrs, "approximate", "none");
    if (approx == "none") {
      steps.push_back({algorithm::eltwise_gelu_erf, 0.f, 0.f});
    } else if (approx == "tanh") {
      steps.push_back({algorithm::eltwise_gelu_tanh, 0.f, 0.f});
    } else {
      why_not = fmt::format("Gelu approximate='{}'", approx);
      return false;
    }
  } else if (op == "Elu") {
    steps.push_back({algorithm::eltwise_elu, attr_float(attrs, "alpha", 1.f), 0.f});
  } else if (op == "Softplus") {
    steps.push_back({algorithm::eltwise_soft_relu, 0.f, 0.f});
  } else if (op == "Neg") {
    steps.push_back({algorithm::eltwise_linear, -1.f, 0.f});
  } else if (op == "Exp") {
    steps.push_back({algorithm::eltwise_exp, 0.f, 0.f});
  } else if (op == "Log") {
    steps.push_back({algorithm::eltwise_log, 0.f, 0.f});
  } else if (op == "Sqrt") {
    steps.push_back({algorithm::eltwise_sqrt, 0.f, 0.f});
  } else if (op == "Abs") {
    steps.push_back({algorithm::eltwise_abs, 0.f, 0.f});
  } else {
    why_not = fmt::format("activation {} has no oneDNN eltwise equivalent", op);
    return false;
  }
  return true;
}

bool fused_steps(const ir::Node& node, std::vector<EltwiseStep>& steps, std::string& why_not) {
  for (const ir::FusedOp& f : node.fused) {
    std::string reason;
    if (!activation_steps(f.op_type, f.attrs, f.clip_min, f.clip_max, steps, reason)) {
      why_not = "fused " + reason;
      return false;
    }
  }
  // oneDNN 2.6 makes one injector per eltwise algorithm of a post-op chain: a second step of the
  // same algorithm runs with the first one's alpha and beta (a linear step after HardSigmoid's,
  // a Relu after a LeakyRelu), silently.
  for (size_t i = 0; i < steps.size(); ++i)
    for (size_t j = i + 1; j < steps.size(); ++j)
      if (steps[i].alg == steps[j].alg &&
          (steps[i].alpha != steps[j].alpha || steps[i].beta != steps[j].beta)) {
        why_not = fmt::format(
            "fused activations repeat oneDNN's {} with other parameters (oneDNN 2.6 would run "
            "the second with the first one's)",
            dnnl_alg_kind2str(dnnl::convert_to_c(steps[i].alg)));
        return false;
      }
  return true;
}

void append_steps(dnnl::post_ops& po, const std::vector<EltwiseStep>& steps) {
  for (const EltwiseStep& s : steps) po.append_eltwise(1.f, s.alg, s.alpha, s.beta);
}

dnnl::primitive_attr scratch_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void Step::use_scratchpad(const dnnl::primitive_desc_base& pd) {
  const memory::desc md = pd.scratchpad_desc();
  scratchpad_bytes_ = md.get_size();
  if (scratchpad_bytes_ == 0) return;
  scratchpad_ = memory(md, cpu_engine(), DNNL_MEMORY_NONE);
  args[DNNL_ARG_SCRATCHPAD] = scratchpad_;
}

void Step::execute() {
  if (scratchpad_bytes_ != 0)
    scratchpad_.set_data_handle(thread_scratch(kScratchpadSlot, scratchpad_bytes_));
  prim.execute(cpu_stream(), args);
}

bool is_reference_impl(const dnnl::primitive_desc_base& pd) {
  const char* impl = pd.impl_info_str();
  return impl && std::strncmp(impl, "ref", 3) == 0;
}

void PlainIoPrimitive::build(const dnnl::primitive_desc_base& pd, dnnl::primitive prim,
                             const memory::desc& src_plain, const memory::desc& dst_plain,
                             const memory::desc& src_md, const memory::desc& dst_md,
                             std::unordered_map<int, memory> extra, bool accumulate) {
  impl_ = pd.impl_info_str();
  src_user_ = user_memory(src_plain);
  dst_user_ = user_memory(dst_plain);
  // The reordered activations live in the calling thread's scratch buffers (bound in run()), as
  // the scratchpad does (Step::use_scratchpad): a model needs one of each, of the largest size,
  // not one per kernel.
  if (src_md != src_plain) src_mid_ = memory(src_md, cpu_engine(), DNNL_MEMORY_NONE);
  if (dst_md != dst_plain) dst_mid_ = memory(dst_md, cpu_engine(), DNNL_MEMORY_NONE);
  memory src = src_mid_ ? src_mid_ : src_user_;
  memory dst = dst_mid_ ? dst_mid_ : dst_user_;
  if (src != src_user_)
    steps_.push_back(
        {dnnl::reorder(src_user_, src), {{DNNL_ARG_FROM, src_user_}, {DNNL_ARG_TO, src}}});
  if (accumulate && dst != dst_user_)
    steps_.push_back(
        {dnnl::reorder(dst_user_, dst), {{DNNL_ARG_FROM, dst_user_}, {DNNL_ARG_TO, dst}}});
  Step main{std::move(prim), std::move(extra)};
  main.args[DNNL_ARG_SRC] = src;
  main.args[DNNL_ARG_DST] = dst;
  main.use_scratchpad(pd);
  if (pd.workspace_desc().get_size() != 0) {
    workspace_ = memory(pd.workspace_desc(), cpu_engine());
    main.args[DNNL_ARG_WORKSPACE] = workspace_;
  }
  steps_.push_back(std::move(main));
  if (dst != dst_user_)
    steps_.push_back(
        {dnnl::reorder(dst, dst_user_), {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, dst_user_}}});
}

void PlainIoPrimitive::run(const void* src, void* dst) {
  src_user_.set_data_handle(const_cast<void*>(src));
  dst_user_.set_data_handle(dst);
  if (src_mid_)
    src_mid_.set_data_handle(thread_scratch(kSourceSlot, src_mid_.get_desc().get_size()));
  if (dst_mid_)
    dst_mid_.set_data_handle(thread_scratch(kDestinationSlot, dst_mid_.get_desc().get_size()));
  for (Step& s : steps_) s.execute();
  cpu_stream().wait();
}

memory reordered_constant(PreparedConstants* prepared, KeptConstants& kept, const Tensor& source,
                          const memory::desc& user, const memory::desc& target,
                          const std::string& variant, const void* values) {
  auto make = [&] {
    memory m(target, cpu_engine());
    memory u(user, cpu_engine(), const_cast<void*>(values ? values : source.raw()));
    dnnl::reorder(u, m).execute(cpu_stream(), u, m);
    cpu_stream().wait();
    return m;
  };
  std::shared_ptr<const memory> m;
  if (prepared) {
    // The descriptors' bytes: equal bytes are equal layouts (a difference in padding bytes only
    // costs the sharing).
    std::string key = variant;
    key.append(reinterpret_cast<const char*>(&user.data), sizeof user.data);
    key.append(reinterpret_cast<const char*>(&target.data), sizeof target.data);
    m = prepared->get<memory>(source, key, make);
  } else {
    m = std::make_shared<const memory>(make());
  }
  kept.push_back(m);
  return *m;
}

void WeightedPrimitive::build(const KernelInit& init, const dnnl::primitive_desc_base& pd,
                              dnnl::primitive prim, const memory::desc& wei_user,
                              const Tensor& weights, const memory::desc& src_plain,
                              const memory::desc& dst_plain, const memory::desc& bias_md,
                              bool accumulate) {
  std::unordered_map<int, memory> extra{
      {DNNL_ARG_WEIGHTS,
       reordered_constant(init.prepared, kept_, weights, wei_user, pd.weights_desc(0))}};
  if (bias_md.get_size() != 0) {
    bias_user_ = user_memory(bias_md);
    extra[DNNL_ARG_BIAS] = bias_user_;
  }
  io_.build(pd, std::move(prim), src_plain, dst_plain, pd.src_desc(0), pd.dst_desc(0),
            std::move(extra), accumulate);
}

void WeightedPrimitive::run(const void* src, const Tensor* bias, Tensor* dst) {
  if (bias_user_) bind(bias_user_, bias);
  io_.run(src, dst->raw());
}

int64_t dims_product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i) p *= s[i];
  return p;
}

}  // namespace qbench::kernels::onednn
