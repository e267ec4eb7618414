// Fused activations: element-wise ops the fusion pass folded into Conv/Gemm/MatMul/Add.
#include "kernels/ref/ref_util.h"

namespace qbench::kernels {

namespace {
float fused_float(const ir::FusedOp& f, const char* key, float def) {
  auto it = f.attrs.find(key);
  if (it == f.attrs.end()) return def;
  return it->second.kind == ir::Attribute::Kind::Int ? static_cast<float>(it->second.i)
                                                     : it->second.f;
}
}  // namespace

void apply_fused_activations(const ir::Node& node, Tensor& t) {
  if (node.fused.empty()) return;
  if (t.dtype() != DType::F32)
    fail("{}: fused activations need an f32 output, found {}", node.describe(),
         dtype_name(t.dtype()));
  float* p = t.data<float>();
  const int64_t n = t.numel();
  for (const ir::FusedOp& f : node.fused) {
    const std::string& op = f.op_type;
    if (op == "Relu") {
      for (int64_t i = 0; i < n; ++i) p[i] = ref::act_relu(p[i]);
    } else if (op == "Clip") {
      // Opset < 11 Clip keeps its bounds as attributes; later ones arrive in clip_min/clip_max.
      float lo = std::isnan(f.clip_min) ? -INFINITY : f.clip_min;
      float hi = std::isnan(f.clip_max) ? INFINITY : f.clip_max;
      lo = fused_float(f, "min", lo);
      hi = fused_float(f, "max", hi);
      for (int64_t i = 0; i < n; ++i) p[i] = ref::act_clip(p[i], lo, hi);
    } else if (op == "LeakyRelu") {
      const float alpha = fused_float(f, "alpha", 0.01f);
      for (int64_t i = 0; i < n; ++i) p[i] = ref::act_leaky_relu(p[i], alpha);
    } else if (op == "Sigmoid") {
      for (int64_t i = 0; i < n; ++i) p[i] = ref::act_sigmoid(p[i]);
    } else if (op == "Tanh") {
      for (int64_t i = 0; i < n; ++i) p[i] = std::tanh(p[i]);
    } else if (op == "HardSigmoid") {
      const float alpha = fused_float(f, "alpha", 0.2f), beta = fused_float(f, "beta", 0.5f);
      for (int64_t i = 0; i < n; ++i) p[i] = ref::act_hard_sigmoid(p[i], alpha, beta);
    } else if (op == "HardSwish") {
      for (int64_t i = 0; i < n; ++i) p[i] = ref::act_hard_swish(p[i]);
    } else if (op == "Gelu") {
      auto it = f.attrs.find("approximate");
      const bool tanh_approx = it != f.attrs.end() && it->second.s == "tanh";
      for (int64_t i = 0; i < n; ++i) p[i] = ref::act_gelu(p[i], tanh_approx);
    } else {
      fail(
          "{}: fused activation '{}' ('{}') is not supported; expected one of Relu, Clip, "
          "LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Gelu",
          node.describe(), op, f.name);
    }
  }
}

}  // namespace qbench::kernels
