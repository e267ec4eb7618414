#include "quant/rewrites.h"

#include <map>

#include "core/error.h"
#include "kernels/kernel.h"
#include "quant/weights.h"

namespace qbench::quant {

namespace {

// Appends a node whose outputs are fresh names derived from `outs` (declared with `dtypes`, and
// the dims of `like` when given); returns the output names.
std::vector<std::string> emit(ir::Graph& g, std::vector<ir::Node>& out, const std::string& op,
                              const std::string& name, std::vector<std::string> inputs,
                              const std::vector<std::string>& outs,
                              const std::vector<DType>& dtypes, const ir::Value* like = nullptr,
                              std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.op_type = op;
  n.name = unique_name(g, name);
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  for (size_t i = 0; i < outs.size(); ++i) {
    // An existing name is kept when the node takes over an output of the node it replaces.
    const bool reuse = g.find(outs[i]) && !g.find(outs[i])->is_constant() && i == 0 && like &&
                       outs[i] == like->name;
    std::string o = reuse ? outs[i] : unique_name(g, outs[i]);
    if (!reuse) declare_value(g, o, dtypes[i], i == 0 ? like : nullptr);
    n.outputs.push_back(o);
  }
  out.push_back(std::move(n));
  return out.back().outputs;
}

const Tensor* f32_constant(const ir::Graph& g, const ir::Node& n, size_t i) {
  if (!n.has_input(i)) return nullptr;
  const Tensor* t = g.constant(n.inputs[i]);
  return t && t->dtype() == DType::F32 ? t : nullptr;
}

Tensor transpose2d(const Tensor& w) {
  const int64_t r = w.dim(0), c = w.dim(1);
  Tensor t(DType::F32, {c, r});
  const float* p = w.data<float>();
  float* q = t.data<float>();
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) q[j * r + i] = p[i * c + j];
  return t;
}

int64_t rank_of(const ir::Graph& g, const std::string& name) {
  const ir::Value* v = g.find(name);
  return v && v->dims ? static_cast<int64_t>(v->dims->size()) : -1;
}

}  // namespace

RewriteReport rewrite_dynamic(ir::Graph& g, bool per_channel, bool conv,
                              const std::vector<std::string>& exclude, int weight_qmax) {
  RewriteReport r;
  std::vector<ir::Node> result;
  struct Dq {
    std::string q, scale, zp;
  };
  std::map<std::string, Dq> dql;  // input tensor -> its DynamicQuantizeLinear outputs
  std::vector<ir::Node> nodes = std::move(g.nodes);
  g.nodes.clear();
  for (auto& n : nodes) {
    const kernels::Dense family = kernels::float_dense(n);
    const bool candidate = family != kernels::Dense::None;
    if (candidate && family == kernels::Dense::Conv && !conv)
      r.left_float.push_back({n.name, n.op_type, "Conv is quantized only with --dynamic-conv"});
    if (!candidate || (family == kernels::Dense::Conv && !conv)) {
      result.push_back(std::move(n));
      continue;
    }
    auto skip = [&](const std::string& why) {
      r.left_float.push_back({n.name, n.op_type, why});
      result.push_back(std::move(n));
    };
    if (is_excluded(n, exclude)) {
      skip("excluded by --exclude");
      continue;
    }
    const Tensor* w = f32_constant(g, n, 1);
    const ir::Value* xv = g.find(n.inputs[0]);
    if (!w) {
      skip("weight (input 1) is not a constant f32 tensor");
      continue;
    }
    if (!xv || xv->is_constant() || xv->dtype != DType::F32) {
      skip("input 0 is not a computed f32 tensor");
      continue;
    }
    Tensor wk = *w;  // MatMulInteger layout [K, N]; Conv keeps [M, C/g, kh, kw]
    float alpha = 1.0f;
    Tensor bias;
    std::string bias_input;  // a non-constant Gemm C
    int64_t channel_axis = 1;
    if (family == kernels::Dense::MatMul) {
      if (w->rank() != 2) {
        skip("weight is not 2-D");
        continue;
      }
      if (rank_of(g, n.inputs[0]) < 2) {
        skip("input 0 has rank < 2 or an unknown rank");
        continue;
      }
    } else if (family == kernels::Dense::Gemm) {
      if (n.attr_int("transA", 0) != 0) {
        skip("transA = 1 is not supported by MatMulInteger");
        continue;
      }
      if (n.attr_int("transB", 0) != 0) wk = transpose2d(*w);
      alpha = n.attr_float("alpha", 1.0f);
      const float beta = n.attr_float("beta", 1.0f);
      if (n.has_input(2) && beta != 0.0f) {
        if (const Tensor* c = f32_constant(g, n, 2)) {
          bias = c->clone();
          for (int64_t i = 0; i < bias.numel(); ++i) bias.data<float>()[i] *= beta;
        } else if (beta == 1.0f) {
          bias_input = n.inputs[2];
        } else {
          skip("C is not constant and beta != 1");
          continue;
        }
      }
    } else {
      channel_axis = 0;
      if (f32_constant(g, n, 2))
        bias = f32_constant(g, n, 2)->clone();
      else if (n.has_input(2)) {
        skip("bias is not constant");
        continue;
      }
    }
    QuantizedWeight q = quantize_weight(wk, per_channel, channel_axis, weight_qmax);
    if (alpha != 1.0f)
      for (int64_t i = 0; i < q.scale.numel(); ++i) q.scale.data<float>()[i] *= alpha;
    // Per-channel scales and the bias broadcast over Conv's spatial dimensions.
    if (family == kernels::Dense::Conv) {
      Shape s{wk.dim(0)};
      for (int d = 2; d < wk.rank(); ++d) s.push_back(1);
      if (q.per_channel) q.scale = q.scale.reshaped(s);
      if (bias.defined()) bias = bias.reshaped(s);
    }
    const std::string x = n.inputs[0];
    auto it = dql.find(x);
    if (it == dql.end()) {
      auto o = emit(g, result, "DynamicQuantizeLinear", x + "_QuantizeLinear", {x},
                    {x + "_quantized", x + "_scale", x + "_zero_point"},
                    {DType::U8, DType::F32, DType::U8}, xv);
      it = dql.emplace(x, Dq{o[0], o[1], o[2]}).first;
    }
    const std::string wname = n.inputs[1];
    std::string wq = add_initializer(g, wname + "_quantized", q.q);
    std::string ws = add_initializer(g, wname + "_scale", q.scale);
    std::string wz = add_initializer(g, wname + "_zero_point", Tensor::scalar<int8_t>(0));
    const std::string out = n.outputs[0];
    const ir::Value* ov = g.find(out);
    std::map<std::string, ir::Attribute> attrs;
    std::string int_op = "MatMulInteger";
    if (family == kernels::Dense::Conv) {
      int_op = "ConvInteger";
      attrs = n.attrs;
    }
    auto acc = emit(g, result, int_op, n.name + "_" + int_op, {it->second.q, wq, it->second.zp, wz},
                    {out + "_int32"}, {DType::I32}, ov, attrs);
    auto fl = emit(g, result, "Cast", n.name + "_Cast", {acc[0]}, {out + "_cast"}, {DType::F32}, ov,
                   {{"to", ir::Attribute::of_int(static_cast<int64_t>(DType::F32))}});
    auto sp = emit(g, result, "Mul", n.name + "_scales_mul", {it->second.scale, ws},
                   {out + "_scale_product"}, {DType::F32});
    const bool has_bias = bias.defined() || !bias_input.empty();
    if (!has_bias) {
      emit(g, result, "Mul", n.name + "_output_mul", {fl[0], sp[0]}, {out}, {DType::F32}, ov);
    } else {
      auto m = emit(g, result, "Mul", n.name + "_output_mul", {fl[0], sp[0]}, {out + "_unbiased"},
                    {DType::F32}, ov);
      std::string b = bias_input.empty() ? add_initializer(g, n.name + "_bias", bias) : bias_input;
      emit(g, result, "Add", n.name + "_bias_add", {m[0], b}, {out}, {DType::F32}, ov);
    }
    r.quantized.push_back(n.name);
  }
  g.nodes = std::move(result);
  g.toposort();
  g.remove_dead();
  return r;
}

RewriteReport rewrite_weight_only(ir::Graph& g, int bits, int64_t group, bool per_channel,
                                  const std::vector<std::string>& exclude) {
  RewriteReport r;
  const int qmax = bits == 4 ? 7 : 127;
  std::vector<ir::Node> added;
  std::map<std::string, std::string> done;  // weight|axis -> dequantized name
  bool fell_back = false;
  for (auto& n : g.nodes) {
    const kernels::Dense family = kernels::float_dense(n);
    if (family != kernels::Dense::MatMul && family != kernels::Dense::Gemm) continue;
    if (is_excluded(n, exclude)) {
      r.left_float.push_back({n.name, n.op_type, "excluded by --exclude"});
      continue;
    }
    const Tensor* w = f32_constant(g, n, 1);
    if (!w || w->rank() != 2) {
      r.left_float.push_back(
          {n.name, n.op_type, "weight (input 1) is not a constant 2-D f32 tensor"});
      continue;
    }
    const bool tb = family == kernels::Dense::Gemm && n.attr_int("transB", 0) != 0;
    const int64_t k_axis = tb ? 1 : 0, n_axis = tb ? 0 : 1;
    const std::string wname = n.inputs[1];
    int64_t grp = group;
    if (grp > 0 && w->dim(static_cast<int>(k_axis)) % grp != 0) {
      r.notes.push_back(fmt::format(
          "{}: group size {} does not divide the reduction dimension {}; used one scale per "
          "output channel",
          n.describe(), grp, w->dim(static_cast<int>(k_axis))));
      grp = 0;
      fell_back = true;
    }
    const std::string key = fmt::format("{}|{}|{}", wname, k_axis, grp);
    auto it = done.find(key);
    if (it == done.end()) {
      std::string dq_out;
      const ir::Value* wv = g.find(wname);
      if (grp == 0) {
        QuantizedWeight q = quantize_weight(*w, per_channel, n_axis, qmax);
        std::map<std::string, ir::Attribute> attrs;
        if (q.per_channel) attrs["axis"] = ir::Attribute::of_int(n_axis);
        dq_out = emit(g, added, "DequantizeLinear", wname + "_DequantizeLinear",
                      {add_initializer(g, wname + "_quantized", q.q),
                       add_initializer(g, wname + "_scale", q.scale),
                       add_initializer(g, wname + "_zero_point", q.zero_point)},
                      {wname + "_dequantized"}, {DType::F32}, wv, attrs)[0];
      } else {
        GroupQuantizedWeight q = quantize_weight_groups(*w, k_axis, grp, qmax);
        // Stored with the groups as their own axis so the scales broadcast:
        // [K/G, G, N] with scales [K/G, 1, N] (transB: [N, K/G, G] with [N, K/G, 1]).
        const int64_t kk = w->dim(static_cast<int>(k_axis)), nn = w->dim(static_cast<int>(n_axis));
        Shape qs = tb ? Shape{nn, kk / grp, grp} : Shape{kk / grp, grp, nn};
        Shape ss = tb ? Shape{nn, kk / grp, 1} : Shape{kk / grp, 1, nn};
        auto dq = emit(g, added, "DequantizeLinear", wname + "_DequantizeLinear",
                       {add_initializer(g, wname + "_quantized", q.q.reshaped(qs)),
                        add_initializer(g, wname + "_unit_scale", Tensor::scalar<float>(1.0f)),
                        add_initializer(g, wname + "_zero_point", Tensor::scalar<int8_t>(0))},
                       {wname + "_dequantized"}, {DType::F32});
        auto mul = emit(g, added, "Mul", wname + "_group_scale_mul",
                        {dq[0], add_initializer(g, wname + "_group_scale", q.scale.reshaped(ss))},
                        {wname + "_grouped"}, {DType::F32});
        dq_out = emit(g, added, "Reshape", wname + "_Reshape",
                      {mul[0], add_initializer(g, wname + "_shape",
                                               Tensor::from_vector<int64_t>({2}, w->shape()))},
                      {wname + "_dequantized"}, {DType::F32}, wv)[0];
      }
      it = done.emplace(key, dq_out).first;
    }
    n.inputs[1] = it->second;
    r.quantized.push_back(n.name);
  }
  if (bits == 4)
    r.notes.push_back(
        "int4 values are stored one per int8 byte: qbench's IR has no packed int4 type yet");
  (void)fell_back;
  for (auto& n : added) g.nodes.push_back(std::move(n));
  g.toposort();
  g.remove_dead();
  return r;
}

RewriteReport rewrite_half(ir::Graph& g, DType storage, const std::vector<std::string>& exclude) {
  RewriteReport r;
  std::vector<ir::Node> added;
  std::map<std::string, std::string> done;
  const char* tag = storage == DType::BF16 ? "_bf16" : "_fp16";
  for (auto& n : g.nodes) {
    if (kernels::float_dense(n) == kernels::Dense::None) continue;
    if (is_excluded(n, exclude)) {
      r.left_float.push_back({n.name, n.op_type, "excluded by --exclude"});
      continue;
    }
    bool any = false;
    for (size_t i = 1; i < 3; ++i) {
      const Tensor* w = f32_constant(g, n, i);
      if (!w) continue;
      auto it = done.find(n.inputs[i]);
      if (it == done.end()) {
        Tensor h(storage, w->shape());
        uint16_t* p = static_cast<uint16_t*>(h.raw());
        for (int64_t k = 0; k < w->numel(); ++k)
          p[k] = storage == DType::BF16 ? float_to_bf16(w->data<float>()[k])
                                        : float_to_half(w->data<float>()[k]);
        const std::string name = n.inputs[i];
        auto c = emit(g, added, "Cast", name + tag + "_Cast", {add_initializer(g, name + tag, h)},
                      {name + tag + "_float"}, {DType::F32}, g.find(name),
                      {{"to", ir::Attribute::of_int(static_cast<int64_t>(DType::F32))}});
        it = done.emplace(name, c[0]).first;
      }
      n.inputs[i] = it->second;
      any = true;
    }
    if (any)
      r.quantized.push_back(n.name);
    else
      r.left_float.push_back({n.name, n.op_type, "no constant f32 weight"});
  }
  for (auto& n : added) g.nodes.push_back(std::move(n));
  g.toposort();
  g.remove_dead();
  return r;
}

}  // namespace qbench::quant
