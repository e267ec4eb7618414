// QDQ fusion: rewrites the DequantizeLinear -> op -> QuantizeLinear patterns of a QDQ model into
// integer ops, so tensors between consecutive quantized ops stay uint8/int8 and the Q -> DQ pairs
// between them disappear (remove_dead drops the DQ nodes nobody reads any more). Anything that
// does not match stays float and still runs correctly.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "kernels/ref/qbench_ops.h"
#include "passes/passes.h"

namespace qbench::passes {
namespace {

using kernels::ref::kQbenchDomain;

// The operands of a DequantizeLinear or QuantizeLinear node: the names of its integer tensor,
// scale and zero point, and the constants behind them (quant::QParams is the numbers alone).
struct QdqOperands {
  std::string data;   // DQ: the integer tensor it reads; Q: the integer tensor it writes
  std::string scale;  // constant
  std::string zp;     // constant, "" when absent
  const Tensor* s = nullptr;
  const Tensor* z = nullptr;
  DType type = DType::Undefined;  // integer dtype of `data`
  bool per_axis = false;
  int64_t axis = 1;

  float scale0() const { return s->to_float()[0]; }
  int32_t zp0() const { return z ? static_cast<int32_t>(z->to_int64()[0]) : 0; }
};

class Fuser {
 public:
  explicit Fuser(ir::Graph& g) : g_(g), drop_(g.nodes.size(), false) {
    producers_ = g.producers();
    uses_ = g.use_counts();
    outputs_.insert(g.outputs.begin(), g.outputs.end());
    for (size_t i = 0; i < g.nodes.size(); ++i)
      for (const auto& in : g.nodes[i].inputs)
        if (!in.empty()) consumers_[in].push_back(i);
  }

  int run() {
    int fused = 0;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (drop_[i] || !g_.nodes[i].domain.empty()) continue;
      fused += fuse(i, kernels::traits_of(g_.nodes[i]).integer_form);
    }
    std::vector<ir::Node> kept;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!drop_[i]) kept.push_back(std::move(g_.nodes[i]));
    g_.nodes = std::move(kept);
    return fused;
  }

 private:
  // The rewrite of the op's integer form (kernels::IntegerForm, in its descriptor).
  bool fuse(size_t i, kernels::IntegerForm form) {
    using F = kernels::IntegerForm;
    switch (form) {
      case F::Conv: return fuse_conv(i);
      case F::MatMul: return fuse_matmul(i);
      case F::Gemm: return fuse_gemm(i);
      case F::MatMulInteger: return fuse_dynamic_matmul(i);
      case F::Add: return fuse_add(i);
      case F::AveragePool: return fuse_avg_pool(i);
      case F::Concat: return fuse_concat(i);
      case F::SameScale:
      case F::SameScaleInt:
      case F::ClampIdentity: return fuse_passthrough(i, form);
      case F::None: return false;
    }
    return false;
  }

  const ir::Node* producer(const std::string& v) const {
    auto it = producers_.find(v);
    return it == producers_.end() ? nullptr : &g_.nodes[it->second];
  }

  // Integer dtype of a tensor read by a DQ whose zero point is absent.
  DType int_type_of(const std::string& v) const {
    if (const Tensor* t = g_.constant(v)) return t->dtype();
    const ir::Value* val = g_.find(v);
    if (val && val->dtype != DType::Undefined) return val->dtype;
    const ir::Node* p = producer(v);
    if (p && p->op_type == "QuantizeLinear" && p->domain.empty()) {
      if (!p->has_input(2)) return DType::U8;
      if (const Tensor* z = g_.constant(p->inputs[2])) return z->dtype();
    }
    return DType::Undefined;
  }

  bool read_params(const ir::Node& n, QdqOperands& q, const std::string& data) const {
    if (n.inputs.size() < 2) return false;
    q.data = data;
    q.scale = n.inputs[1];
    q.s = g_.constant(q.scale);
    if (!q.s || q.s->dtype() != DType::F32 || q.s->numel() == 0) return false;
    if (n.has_input(2)) {
      q.zp = n.inputs[2];
      q.z = g_.constant(q.zp);
      if (!q.z || q.z->numel() != q.s->numel()) return false;
      q.type = q.z->dtype();
    }
    if (n.attr_int("block_size", 0) != 0) return false;
    q.per_axis = q.s->rank() == 1 && q.s->numel() > 1;
    q.axis = n.attr_int("axis", 1);
    return true;
  }

  // `v` is the output of a DequantizeLinear: its parameters.
  bool match_dq(const std::string& v, QdqOperands& q) const {
    const ir::Node* p = producer(v);
    if (!p || p->op_type != "DequantizeLinear" || !p->domain.empty() || p->inputs.empty())
      return false;
    if (!read_params(*p, q, p->inputs[0])) return false;
    if (q.type == DType::Undefined) q.type = int_type_of(q.data);
    return dtype_is_8bit(q.type) || q.type == DType::I32;
  }

  bool match_dq_tensor(const std::string& v, QdqOperands& q) const {
    return match_dq(v, q) && !q.per_axis && dtype_is_8bit(q.type);
  }

  // `v` is read only by one QuantizeLinear with per-tensor parameters: its index.
  bool match_q(const std::string& v, QdqOperands& q, size_t& qi) const {
    const long k = sole_consumer(v);
    if (k < 0) return false;
    qi = static_cast<size_t>(k);
    const ir::Node& n = g_.nodes[qi];
    if (n.op_type != "QuantizeLinear" || !n.domain.empty() || n.inputs[0] != v ||
        n.outputs.size() != 1)
      return false;
    if (!read_params(n, q, n.outputs[0]) || q.per_axis) return false;
    if (q.type == DType::Undefined) q.type = DType::U8;
    return dtype_is_8bit(q.type);
  }

  // The only consumer of `v` (not a graph output, not dropped), or -1.
  long sole_consumer(const std::string& v) const {
    auto u = uses_.find(v);
    auto c = consumers_.find(v);
    if (outputs_.count(v) || u == uses_.end() || u->second != 1 || c == consumers_.end() ||
        c->second.size() != 1 || drop_[c->second[0]])
      return -1;
    return static_cast<long>(c->second[0]);
  }

  // The only consumer of `v` when it is a Relu (domain ""), else -1.
  long single_relu(const std::string& v) const {
    const long k = sole_consumer(v);
    if (k < 0) return -1;
    const ir::Node& n = g_.nodes[k];
    return n.domain.empty() && kernels::traits_of(n).integer_form ==
                                   kernels::IntegerForm::ClampIdentity
               ? k
               : -1;
  }

  static bool same_params(const QdqOperands& a, const QdqOperands& b) {
    if (a.type != b.type || a.s->numel() != 1 || b.s->numel() != 1) return false;
    return a.scale0() == b.scale0() && a.zp0() == b.zp0();
  }

  std::string add_constant(const std::string& base, Tensor t) {
    return ir::add_initializer(g_, base, std::move(t));
  }

  // The zero point input, made explicit (QLinear ops require it).
  std::string zp_name(const QdqOperands& q) {
    if (!q.zp.empty()) return q.zp;
    Tensor z = q.type == DType::I8 ? Tensor::scalar<int8_t>(0) : Tensor::scalar<uint8_t>(0);
    return add_constant(q.scale + "_zero_point", std::move(z));
  }

  // Decides where fused activations go: dropped when saturation already does their work, kept
  // (qbench domain) when they clamp further, refused when they are not Relu/Clip.
  bool place_activations(ir::Node& q, const QdqOperands& y) {
    if (q.fused.empty()) return true;
    int32_t lo, hi, qmin, qmax;
    std::string why;
    if (!kernels::ref::fused_int_bounds(q, y.scale0(), y.zp0(), y.type, lo, hi, why)) return false;
    kernels::ref::int8_range(y.type, qmin, qmax);
    if (lo == qmin && hi == qmax)
      q.fused.clear();
    else
      q.domain = kQbenchDomain;
    return true;
  }

  // Int32 bias with scale x_scale * w_scale[c] and zero point 0, from a DQ of an int32 constant
  // (rescaled if its scale differs) or a float constant (quantized). "" with ok=false when the
  // bias cannot be expressed.
  std::string quantized_bias(const std::string& v, float xs, const std::vector<float>& ws,
                             int64_t channels, bool& ok) {
    ok = false;
    std::vector<double> real;  // the bias in float
    QdqOperands b;
    bool exact = false;
    if (match_dq(v, b)) {
      const Tensor* bt = g_.constant(b.data);
      if (!bt || bt->dtype() != DType::I32 || bt->numel() != channels) return "";
      if (b.z)
        for (int64_t z : b.z->to_int64())
          if (z != 0) return "";
      std::vector<float> bs = b.s->to_float();
      std::vector<int64_t> bv = bt->to_int64();
      exact = true;
      for (int64_t c = 0; c < channels; ++c) {
        float s = bs[bs.size() == 1 ? 0 : c];
        float want = xs * ws[ws.size() == 1 ? 0 : c];
        exact = exact && std::fabs(s - want) <= 1e-6f * std::fabs(want);
        real.push_back(double(bv[c]) * s);
      }
      if (exact) {
        ok = true;
        return b.data;
      }
    } else if (const Tensor* bt = g_.constant(v);
               bt && bt->dtype() == DType::F32 && bt->numel() == channels) {
      for (float f : bt->to_float()) real.push_back(f);
    } else {
      return "";
    }
    std::vector<int32_t> q(channels);
    for (int64_t c = 0; c < channels; ++c) {
      double s = double(xs) * ws[ws.size() == 1 ? 0 : c];
      double r = s > 0 ? std::nearbyint(real[c] / s) : 0;
      if (!(std::fabs(r) <= 2147483647.0)) return "";  // past int32, or a NaN bias: stays float
      q[c] = static_cast<int32_t>(r);
    }
    ok = true;
    return add_constant(v + "_int32", Tensor::from_vector<int32_t>({channels}, q));
  }

  // Replaces node i by `q`, drops the QuantizeLinear qi (and an absorbed activation).
  void replace(size_t i, ir::Node q, size_t qi, long absorbed = -1) {
    q.name = g_.nodes[i].name;
    g_.nodes[i] = std::move(q);
    drop_[qi] = true;
    if (absorbed >= 0) drop_[absorbed] = true;
  }

  // Every fused activation is a clamp (Relu, Clip), which integer saturation can do.
  static bool only_clamps(const ir::Node& n) {
    for (const auto& f : n.fused) {
      const kernels::OpDef* d = kernels::find_op("", f.op_type);
      if (!d || !d->traits.clamp) return false;
    }
    return true;
  }

  bool fuse_conv(size_t i) {
    const ir::Node& n = g_.nodes[i];
    if (n.inputs.size() < 2 || n.outputs.size() != 1 || !only_clamps(n)) return false;
    QdqOperands x, w, y;
    size_t qi;
    if (!match_dq_tensor(n.inputs[0], x) || !match_dq(n.inputs[1], w) || !dtype_is_8bit(w.type))
      return false;
    const Tensor* wt = g_.constant(w.data);
    if (!wt || wt->rank() < 3) return false;
    const int64_t m = wt->dim(0);
    if (w.per_axis && (w.axis != 0 || w.s->numel() != m)) return false;
    if (!match_q(n.outputs[0], y, qi)) return false;
    ir::Node q;
    q.op_type = "QLinearConv";
    q.attrs = n.attrs;
    q.fused = n.fused;
    q.inputs = {x.data, x.scale, zp_name(x), w.data, w.scale, zp_name(w), y.scale, zp_name(y)};
    if (n.has_input(2)) {
      bool ok;
      std::string b = quantized_bias(n.inputs[2], x.scale0(), w.s->to_float(), m, ok);
      if (!ok) return false;
      q.inputs.push_back(b);
    }
    q.outputs = {y.data};
    if (!place_activations(q, y)) return false;
    replace(i, std::move(q), qi);
    return true;
  }

  // The only consumer of `v` when it is an Add of a constant f32 bias with one value per output
  // column (either operand order, as exporters write Linear as MatMul + Add): its index and the
  // bias name; -1 otherwise.
  long single_bias_add(const std::string& v, int64_t columns, std::string& bias) const {
    const long k = sole_consumer(v);
    if (k < 0) return -1;
    const ir::Node& a = g_.nodes[k];
    if (a.op_type != "Add" || !a.domain.empty() || a.inputs.size() != 2 || a.outputs.size() != 1 ||
        !a.fused.empty())
      return -1;
    bias = a.inputs[0] == v ? a.inputs[1] : a.inputs[0];
    const Tensor* t = g_.constant(bias);
    if (!t || t->dtype() != DType::F32 || t->numel() != columns || t->shape().back() != columns)
      return -1;
    // The sum must keep the MatMul's shape: a bias of higher rank would broadcast it. A 1-D
    // bias never does.
    const ir::Value* out = g_.find(v);
    if (t->rank() > 1 && (!out || !out->dims || t->rank() > int64_t(out->dims->size()))) return -1;
    return k;
  }

  // A float bias of `columns` values: a constant, or the DQ of an int32 constant (as the
  // quantizer writes a bias) evaluated here; "" when it is neither.
  std::string float_bias(const std::string& v, int64_t columns) {
    QdqOperands b;
    if (match_dq(v, b) && (b.s->numel() == 1 || b.s->numel() == columns)) {
      const Tensor* t = g_.constant(b.data);
      if (!t || t->numel() != columns) return "";
      std::vector<float> s = b.s->to_float(), f(columns);
      std::vector<int64_t> q = t->to_int64(), z = b.z ? b.z->to_int64() : std::vector<int64_t>();
      for (int64_t c = 0; c < columns; ++c) {
        const size_t k = s.size() == 1 ? 0 : c;
        f[c] = static_cast<float>(q[c] - (z.empty() ? 0 : z[k])) * s[k];
      }
      return add_constant(v + "_float", Tensor::from_vector<float>({columns}, f));
    }
    const Tensor* c = g_.constant(v);
    if (!c || c->dtype() != DType::F32 || c->numel() != columns || c->shape().back() != columns)
      return "";
    return v;
  }

  // A 1-D copy of a constant bias (it may be stored [1, N]).
  std::string flat_bias(const std::string& name) {
    const Tensor* t = g_.constant(name);
    if (t->rank() == 1) return name;
    return add_constant(name + "_1d", Tensor::from_vector<float>({t->numel()}, t->to_float()));
  }

  // DQ(a), DQ(b) -> MatMul [-> Add(bias)] whose result stays float: one integer matmul with a
  // float output (qbench.MatMulIntegerToFloat), so the MACs run in int8 even where the next op
  // (Softmax, LayerNorm, GELU) is float.
  bool to_float_output(size_t i, const QdqOperands& a, const QdqOperands& b, const std::string& b_name,
                       std::string bias, long bias_add) {
    const ir::Node& n = g_.nodes[i];
    ir::Node q;
    q.op_type = "MatMulIntegerToFloat";
    q.domain = kQbenchDomain;
    q.fused = n.fused;
    q.inputs = {a.data, b_name, a.scale, b.scale, zp_name(a), zp_name(b)};
    if (!bias.empty()) q.inputs.push_back(flat_bias(bias));
    q.outputs = {bias_add >= 0 ? g_.nodes[bias_add].outputs[0] : n.outputs[0]};
    q.name = n.name;
    g_.nodes[i] = std::move(q);
    if (bias_add >= 0) drop_[bias_add] = true;
    return true;
  }

  bool fuse_matmul(size_t i) {
    const ir::Node& n = g_.nodes[i];
    if (n.inputs.size() != 2 || n.outputs.size() != 1) return false;
    QdqOperands a, b, y;
    size_t qi;
    if (!match_dq_tensor(n.inputs[0], a) || !match_dq(n.inputs[1], b) || !dtype_is_8bit(b.type))
      return false;
    const ir::Value* bv = g_.find(b.data);
    const Tensor* bt = g_.constant(b.data);
    const int64_t b_rank = bt ? bt->rank() : (bv && bv->dims ? int64_t(bv->dims->size()) : -1);
    if (b.per_axis) {
      // Per column of a 2-D B only (QLinearMatMul's b_scale).
      if (b_rank != 2 || (b.axis != 1 && b.axis != -1)) return false;
      if (bt && bt->dim(1) != b.s->numel()) return false;
    }
    if (only_clamps(n) && match_q(n.outputs[0], y, qi)) {
      ir::Node q;
      q.op_type = "QLinearMatMul";
      q.fused = n.fused;
      q.inputs = {a.data, a.scale, zp_name(a), b.data, b.scale, zp_name(b), y.scale, zp_name(y)};
      q.outputs = {y.data};
      if (!place_activations(q, y)) return false;
      replace(i, std::move(q), qi);
      return true;
    }
    // Linear layers: MatMul with a constant 2-D B, then Add(bias).
    std::string bias;
    const long add =
        bt && b_rank == 2 && n.fused.empty() ? single_bias_add(n.outputs[0], bt->dim(1), bias) : -1;
    if (add >= 0 && b.type == DType::I8 && match_q(g_.nodes[add].outputs[0], y, qi)) {
      bool ok;
      std::string qb = quantized_bias(bias, a.scale0(), b.s->to_float(), bt->dim(1), ok);
      if (ok) {
        ir::Node q;
        q.op_type = "QGemm";
        q.domain = kQbenchDomain;
        q.inputs = {a.data,     a.scale, zp_name(a), b.data, b.scale,
                    zp_name(b), y.scale, zp_name(y), qb};
        q.outputs = {y.data};
        replace(i, std::move(q), qi, add);
        return true;
      }
    }
    // Only an int8 B has a fast integer kernel; a uint8 activation B stays a float MatMul.
    if (b.type != DType::I8 || (b.per_axis && b_rank != 2)) return false;
    return to_float_output(i, a, b, b.data, add >= 0 ? bias : "", add);
  }

  // Gemm with constant B: QLinearMatMul on B laid out [K, N], plus an int32 bias (QGemm); when
  // its output is not quantized, MatMulIntegerToFloat with the float bias.
  bool fuse_gemm(size_t i) {
    const ir::Node& n = g_.nodes[i];
    if (n.inputs.size() < 2 || n.outputs.size() != 1) return false;
    if (n.attr_int("transA", 0) != 0 || n.attr_float("alpha", 1.f) != 1.f) return false;
    const bool has_c = n.has_input(2);
    if (has_c && n.attr_float("beta", 1.f) != 1.f) return false;
    QdqOperands a, b, y;
    size_t qi;
    if (!match_dq_tensor(n.inputs[0], a) || !match_dq(n.inputs[1], b) || b.type != DType::I8)
      return false;
    const Tensor* bt = g_.constant(b.data);
    if (!bt || bt->rank() != 2) return false;
    const bool tb = n.attr_int("transB", 0) != 0;
    const int64_t nn = tb ? bt->dim(0) : bt->dim(1), k = tb ? bt->dim(1) : bt->dim(0);
    if (b.per_axis && (b.s->numel() != nn || b.axis != (tb ? 0 : 1))) return false;
    const bool quantized_out = only_clamps(n) && match_q(n.outputs[0], y, qi);
    std::string bias;
    if (has_c) {
      if (quantized_out) {
        bool ok;
        bias = quantized_bias(n.inputs[2], a.scale0(), b.s->to_float(), nn, ok);
        if (!ok) return false;
      } else {
        bias = float_bias(n.inputs[2], nn);
        if (bias.empty()) return false;
      }
    }
    std::string b_name = b.data;
    if (tb) {
      Tensor t(DType::I8, {k, nn});
      const int8_t* src = bt->data<int8_t>();
      int8_t* dst = t.data<int8_t>();
      for (int64_t r = 0; r < nn; ++r)
        for (int64_t c = 0; c < k; ++c) dst[c * nn + r] = src[r * k + c];
      b_name = add_constant(b.data + "_kn", std::move(t));
    }
    if (!quantized_out) return to_float_output(i, a, b, b_name, bias, -1);
    ir::Node q;
    q.op_type = has_c ? "QGemm" : "QLinearMatMul";
    q.fused = n.fused;
    q.inputs = {a.data, a.scale, zp_name(a), b_name, b.scale, zp_name(b), y.scale, zp_name(y)};
    if (has_c) q.inputs.push_back(bias);
    q.outputs = {y.data};
    if (!place_activations(q, y)) return false;
    if (has_c) q.domain = kQbenchDomain;
    replace(i, std::move(q), qi);
    return true;
  }

  // Dynamic quantization as the dynamic-int8 recipe (and ONNX Runtime's quantize_dynamic)
  // writes it: DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp, w_zp) -> Cast(float)
  // -> Mul(., Mul(x_scale, w_scale)) [-> Add(bias)]. Four float passes over the output become
  // one MatMulIntegerToFloat whose A scale and zero point are the runtime outputs of
  // DynamicQuantizeLinear.
  bool fuse_dynamic_matmul(size_t i) {
    const ir::Node& n = g_.nodes[i];
    if (n.inputs.size() < 3 || n.outputs.size() != 1 || !n.has_input(2)) return false;
    const ir::Node* dql = producer(n.inputs[0]);
    if (!dql || dql->op_type != "DynamicQuantizeLinear" || !dql->domain.empty() ||
        dql->outputs.size() != 3 || dql->outputs[0] != n.inputs[0] ||
        dql->outputs[2] != n.inputs[2])
      return false;
    const Tensor* b = g_.constant(n.inputs[1]);
    if (!b || b->dtype() != DType::I8 || b->rank() != 2) return false;
    const int64_t columns = b->dim(1);
    const long cast = sole_consumer(n.outputs[0]);
    if (cast < 0) return false;
    const ir::Node& c = g_.nodes[cast];
    if (c.op_type != "Cast" || !c.domain.empty() ||
        c.attr_int("to", 0) != static_cast<int64_t>(DType::F32))
      return false;
    const long mul = sole_consumer(c.outputs[0]);
    if (mul < 0) return false;
    const ir::Node& m = g_.nodes[mul];
    if (m.op_type != "Mul" || !m.domain.empty() || m.inputs.size() != 2 || !m.fused.empty())
      return false;
    const std::string& sp_name = m.inputs[0] == c.outputs[0] ? m.inputs[1] : m.inputs[0];
    const ir::Node* sp = producer(sp_name);
    const auto sp_uses = uses_.find(sp_name);
    if (!sp || sp->op_type != "Mul" || !sp->domain.empty() || sp->inputs.size() != 2 ||
        sp_uses == uses_.end() || sp_uses->second != 1 || outputs_.count(sp_name))
      return false;
    const int xs =
        sp->inputs[0] == dql->outputs[1] ? 0 : (sp->inputs[1] == dql->outputs[1] ? 1 : -1);
    if (xs < 0) return false;
    const std::string& ws = sp->inputs[1 - xs];
    const Tensor* wst = g_.constant(ws);
    if (!wst || wst->dtype() != DType::F32 ||
        (wst->numel() != 1 && (wst->numel() != columns || wst->shape().back() != columns)))
      return false;
    std::string bias;
    const long add = single_bias_add(m.outputs[0], columns, bias);
    ir::Node q;
    q.op_type = "MatMulIntegerToFloat";
    q.domain = kQbenchDomain;
    q.name = n.name;
    q.inputs = {n.inputs[0], n.inputs[1], dql->outputs[1], wst->rank() <= 1 ? ws : flat_bias(ws),
                n.inputs[2]};
    q.inputs.push_back(n.has_input(3) ? n.inputs[3] : "");
    if (add >= 0) q.inputs.push_back(flat_bias(bias));
    q.outputs = {add >= 0 ? g_.nodes[add].outputs[0] : m.outputs[0]};
    const size_t sp_index = producers_.at(sp_name);
    g_.nodes[i] = std::move(q);
    drop_[cast] = drop_[mul] = drop_[sp_index] = true;
    if (add >= 0) drop_[add] = true;
    return true;
  }

  bool fuse_add(size_t i) {
    const ir::Node& n = g_.nodes[i];
    if (n.inputs.size() != 2 || n.outputs.size() != 1 || !n.fused.empty()) return false;
    QdqOperands a, b, y;
    size_t qi;
    if (!match_dq_tensor(n.inputs[0], a) || !match_dq_tensor(n.inputs[1], b)) return false;
    ir::Node q;
    long relu = single_relu(n.outputs[0]);
    if (relu >= 0) {
      if (!match_q(g_.nodes[relu].outputs[0], y, qi)) return false;
      ir::FusedOp f;
      f.op_type = "Relu";
      f.name = g_.nodes[relu].name;
      q.fused.push_back(f);
    } else if (!match_q(n.outputs[0], y, qi)) {
      return false;
    }
    q.op_type = "QLinearAdd";
    q.domain = kQbenchDomain;
    q.inputs = {a.data, a.scale, zp_name(a), b.data, b.scale, zp_name(b), y.scale, zp_name(y)};
    q.outputs = {y.data};
    if (!place_activations(q, y)) return false;
    q.domain = kQbenchDomain;
    replace(i, std::move(q), qi, relu);
    return true;
  }

  bool fuse_avg_pool(size_t i) {
    const ir::Node& n = g_.nodes[i];
    if (n.inputs.size() != 1 || n.outputs.size() != 1) return false;
    QdqOperands x, y;
    size_t qi;
    if (!match_dq_tensor(n.inputs[0], x) || !match_q(n.outputs[0], y, qi)) return false;
    ir::Node q;
    q.op_type = n.op_type == "AveragePool" ? "QLinearAveragePool" : "QLinearGlobalAveragePool";
    q.domain = kQbenchDomain;
    q.attrs = n.attrs;
    q.inputs = {x.data, x.scale, zp_name(x), y.scale, zp_name(y)};
    q.outputs = {y.data};
    replace(i, std::move(q), qi);
    return true;
  }

  // Concat of tensors that all share the output's scale and zero point: on the integers.
  bool fuse_concat(size_t i) {
    const ir::Node& n = g_.nodes[i];
    if (n.inputs.empty() || n.outputs.size() != 1) return false;
    QdqOperands y;
    size_t qi;
    if (!match_q(n.outputs[0], y, qi)) return false;
    std::vector<std::string> ins;
    for (const auto& in : n.inputs) {
      QdqOperands x;
      if (!match_dq_tensor(in, x) || !same_params(x, y)) return false;
      ins.push_back(x.data);
    }
    ir::Node q = n;
    q.inputs = ins;
    q.outputs = {y.data};
    replace(i, std::move(q), qi);
    return true;
  }

  // Data movement (and MaxPool) with the same scale and zero point on both sides: the op runs on
  // the integers. A Relu whose output zero point is the lowest integer is an identity there.
  bool fuse_passthrough(size_t i, kernels::IntegerForm form) {
    const ir::Node& n = g_.nodes[i];
    if (n.inputs.empty() || n.outputs.empty() || !n.fused.empty()) return false;
    for (size_t o = 1; o < n.outputs.size(); ++o)
      if (!n.outputs[o].empty()) return false;
    QdqOperands x, y;
    size_t qi;
    if (!match_dq_tensor(n.inputs[0], x) || !match_q(n.outputs[0], y, qi) || !same_params(x, y))
      return false;
    ir::Node q = n;
    q.inputs[0] = x.data;
    q.outputs = {y.data};
    if (form == kernels::IntegerForm::SameScaleInt) {
      if (g_.opset() < 12) return false;
      q.domain = kQbenchDomain;
    } else if (form == kernels::IntegerForm::ClampIdentity) {
      int32_t qmin, qmax;
      kernels::ref::int8_range(y.type, qmin, qmax);
      if (y.zp0() != qmin) return false;
      q.op_type = "Identity";
    }
    replace(i, std::move(q), qi);
    return true;
  }

  ir::Graph& g_;
  std::vector<bool> drop_;
  std::unordered_map<std::string, size_t> producers_;
  std::unordered_map<std::string, int> uses_;
  std::unordered_map<std::string, std::vector<size_t>> consumers_;
  std::unordered_set<std::string> outputs_;
};

}  // namespace

const Tensor* bf16_weight(const ir::Graph& g,
                          const std::unordered_map<std::string, size_t>& producers,
                          const std::string& value) {
  auto it = producers.find(value);
  if (it == producers.end()) return nullptr;
  const ir::Node& c = g.nodes[it->second];
  if (c.op_type != "Cast" || !c.domain.empty() || c.inputs.empty()) return nullptr;
  const Tensor* t = g.constant(c.inputs[0]);
  return t && t->dtype() == DType::BF16 && c.attr_int("to", 0) == int64_t(DType::F32) ? t
                                                                                      : nullptr;
}

bool is_quantized_weight_producer(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty() || n.inputs.empty()) return false;
  if (n.op_type == "DequantizeLinear") return true;
  if (n.op_type != "Cast" || n.attr_int("to", 0) != int64_t(DType::F32)) return false;
  const Tensor* t = g.constant(n.inputs[0]);
  return t && t->dtype() == DType::BF16;
}

int fuse_qdq(ir::Graph& g) {
  int changed = Fuser(g).run();
  auto producers = g.producers();
  for (ir::Node& n : g.nodes) {
    if (!n.domain.empty() || n.compute_type != DType::Undefined) continue;
    if (kernels::float_dense(n) == kernels::Dense::None) continue;
    if (n.has_input(1) && bf16_weight(g, producers, n.inputs[1])) {
      n.compute_type = DType::BF16;
      changed++;
    }
  }
  if (changed) g.remove_dead();
  return changed;
}

}  // namespace qbench::passes
