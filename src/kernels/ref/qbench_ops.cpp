// Reference kernels of qbench's internal quantized ops (qbench_ops.h). Each delegates the
// arithmetic to the standard ONNX reference kernels (QLinearConv, MatMulInteger, Add, pools...)
// so there is one definition of the integer math, and adds only what the fusion changed.
#include "kernels/ref/qbench_ops.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/qmath.h"
#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

void int8_range(DType t, int32_t& lo, int32_t& hi) {
  if (t == DType::I8) {
    lo = -128;
    hi = 127;
  } else {
    lo = 0;
    hi = 255;
  }
}

bool fused_int_bounds(const ir::Node& node, float y_scale, int32_t y_zp, DType y_type, int32_t& lo,
                      int32_t& hi, std::string& why_not) {
  int8_range(y_type, lo, hi);
  const int32_t qmin = lo, qmax = hi;
  for (const ir::FusedOp& f : node.fused) {
    if (f.op_type == "Relu") {
      lo = std::max(lo, y_zp);
      continue;
    }
    if (f.op_type != "Clip") {
      why_not = "fused " + f.op_type + " is not monotonic piecewise-linear (only Relu, Clip)";
      return false;
    }
    auto bound = [&](const char* k, float from_input) {
      auto it = f.attrs.find(k);
      float v = it == f.attrs.end() ? from_input : it->second.f;
      return std::isnan(v) ? (k[1] == 'i' ? -INFINITY : INFINITY) : v;
    };
    const float a = bound("min", f.clip_min), b = bound("max", f.clip_max);
    if (std::isfinite(a)) lo = std::max(lo, quant::quantize_value(a, y_scale, y_zp, qmin, qmax));
    if (std::isfinite(b)) hi = std::min(hi, quant::quantize_value(b, y_scale, y_zp, qmin, qmax));
  }
  return true;
}

bool channels_last(const ir::Node& node) {
  return node.attr_int("channels_last", 0) != 0;
}

bool has_residual(const ir::Node& node) {
  return node.domain == kQbenchDomain && node.op_type == "QLinearConv" && node.inputs.size() > 9;
}

ir::Node residual_conv(const ir::Node& node) {
  ir::Node conv = node;
  conv.inputs.resize(9);
  conv.fused.clear();
  return conv;
}

ir::Node residual_add(const ir::Node& node) {
  ir::Node add;
  add.name = node.name;
  add.domain = kQbenchDomain;
  add.op_type = "QLinearAdd";
  // Input 0, the convolution's own output, has no name in the graph.
  const auto in = residual_add_inputs<std::string>(node.outputs[0] + ":conv", node.inputs);
  add.inputs.assign(in.begin(), in.end());
  add.outputs = node.outputs;
  add.fused = node.fused;
  return add;
}

namespace {

// ---- NHWC <-> NCHW, for the channels_last forms ---------------------------------------------

Shape nhwc_to_nchw(const Shape& s) {
  return s.size() == 4 ? Shape{s[0], s[3], s[1], s[2]} : s;
}
Shape nchw_to_nhwc(const Shape& s) {
  return s.size() == 4 ? Shape{s[0], s[2], s[3], s[1]} : s;
}

Tensor transpose(const Tensor& t, std::vector<int64_t> perm) {
  ir::Node n;
  n.name = "channels_last";
  n.op_type = "Transpose";
  n.attrs["perm"] = ir::Attribute::of_ints(std::move(perm));
  return run_reference(n, 13, {&t})[0];
}

// Runs `body` (a reference computing on NCHW tensors) for a node whose input 0 and output 0 may
// be NHWC: transposes in and out around it.
template <typename Body>
void with_nchw(const ir::Node& node, std::span<const Tensor* const> in,
               std::span<Tensor* const> out, Body&& body) {
  if (!channels_last(node)) {
    body(in, out);
    return;
  }
  Tensor x = transpose(*in[0], {0, 3, 1, 2});
  std::vector<const Tensor*> ins(in.begin(), in.end());
  ins[0] = &x;
  Tensor y(out[0]->dtype(), nhwc_to_nchw(out[0]->shape()));
  std::vector<Tensor*> outs(out.begin(), out.end());
  outs[0] = &y;
  body(std::span<const Tensor* const>(ins), std::span<Tensor* const>(outs));
  Tensor back = transpose(y, {0, 2, 3, 1});
  std::memcpy(out[0]->raw(), back.raw(), back.numel() * dtype_size(back.dtype()));
}

// Inference of a channels_last node: the NCHW inference on transposed shapes.
template <typename Infer>
void infer_nchw(InferContext& ctx, Infer&& infer) {
  if (!channels_last(ctx.node)) {
    infer(ctx);
    return;
  }
  InferContext c{ctx.node, ctx.opset, ctx.inputs, ctx.constants, {}};
  c.inputs[0].shape = nhwc_to_nchw(c.inputs[0].shape);
  infer(c);
  ctx.outputs = c.outputs;
  ctx.outputs[0].shape = nchw_to_nhwc(ctx.outputs[0].shape);
}

// The same node as a standard ONNX op (domain "", no fused activations).
ir::Node standard(const ir::Node& n, const char* op_type = nullptr) {
  ir::Node s = n;
  s.domain.clear();
  s.fused.clear();
  if (op_type) s.op_type = op_type;
  s.attrs.erase("channels_last");
  return s;
}

const OpDef& std_op(const char* op_type) {
  const OpDef* d = find_op("", op_type);
  if (!d) fail("internal error: ONNX op {} has no reference kernel", op_type);
  return *d;
}

// Runs a standard op's inference on a context with the given input types.
std::vector<TensorType> std_infer(const ir::Node& n, int64_t opset, std::vector<TensorType> inputs,
                                  std::vector<const Tensor*> constants) {
  InferContext ic{n, opset, std::move(inputs), std::move(constants), {}};
  std_op(n.op_type.c_str()).infer(ic);
  return ic.outputs;
}

float scalar_f(const Tensor* t) {
  return t->to_float()[0];
}
int32_t scalar_i(const Tensor* t) {
  return t ? static_cast<int32_t>(t->to_int64()[0]) : 0;
}

Tensor dequantize(const Tensor& x, float scale, int32_t zp) {
  Tensor y(DType::F32, x.shape());
  std::vector<float> v = x.to_float();
  float* p = y.data<float>();
  for (size_t i = 0; i < v.size(); ++i)
    p[i] = quant::dequantize_value(static_cast<int32_t>(v[i]), scale, zp);
  return y;
}

void store_int(Tensor& y, int64_t i, int32_t v) {
  if (y.dtype() == DType::U8)
    y.data<uint8_t>()[i] = static_cast<uint8_t>(v);
  else
    y.data<int8_t>()[i] = static_cast<int8_t>(v);
}

void quantize_into(const Tensor& x, float scale, int32_t zp, int32_t lo, int32_t hi, Tensor& y) {
  const float* p = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i)
    store_int(y, i, quant::quantize_value(p[i], scale, zp, lo, hi));
}

void clamp_ints(Tensor& y, int32_t lo, int32_t hi) {
  for (int64_t i = 0; i < y.numel(); ++i) {
    int32_t v = y.dtype() == DType::U8 ? y.data<uint8_t>()[i] : y.data<int8_t>()[i];
    store_int(y, i, std::clamp(v, lo, hi));
  }
}

void bounds_or_fail(const ir::Node& node, const Tensor* y_scale, const Tensor* y_zp, DType t,
                    int32_t& lo, int32_t& hi) {
  std::string why;
  if (!fused_int_bounds(node, scalar_f(y_scale), scalar_i(y_zp), t, lo, hi, why))
    fail("{}: {}", node.describe(), why);
}

// ---- QLinearConv / QLinearMatMul with fused Relu/Clip ----------------------------------------

constexpr size_t kResidualInputs = 14;

void infer_qlinear_add(InferContext& ctx);
void ref_qlinear_add(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in,
                     std::span<Tensor* const> out);

void infer_fused_qlinear(InferContext& ctx) {
  const bool residual = has_residual(ctx.node);
  if (residual) {
    require_inputs(ctx, 8);
    for (size_t i = 9; i < kResidualInputs; ++i)
      if (!ctx.has_input(i))
        fail("{}: a residual QLinearConv needs inputs 9 to 13, input {} is missing",
             ctx.node.describe(), i);
  }
  const size_t n = residual ? 9 : ctx.inputs.size();
  InferContext conv{ctx.node,
                    ctx.opset,
                    {ctx.inputs.begin(), ctx.inputs.begin() + n},
                    {ctx.constants.begin(), ctx.constants.begin() + n},
                    {}};
  infer_nchw(conv, [n](InferContext& c) {
    ir::Node s = standard(c.node);
    s.inputs.resize(n);
    c.outputs = std_infer(s, c.opset, c.inputs, c.constants);
  });
  if (!residual) {
    ctx.outputs = conv.outputs;
    return;
  }
  const ir::Node add = residual_add(ctx.node);
  const auto types = residual_add_inputs<TensorType>(conv.outputs[0], ctx.inputs);
  const auto constants = residual_add_inputs<const Tensor*>(nullptr, ctx.constants);
  InferContext a{
      add, ctx.opset, {types.begin(), types.end()}, {constants.begin(), constants.end()}, {}};
  infer_qlinear_add(a);
  ctx.outputs = a.outputs;
}

void ref_fused_qlinear(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in,
                       std::span<Tensor* const> out) {
  if (has_residual(node)) {
    // The convolution writes its own int8 output (y_zero_point's type; the activations follow
    // the add), then QLinearAdd adds the residual to it.
    const ir::Node conv = residual_conv(node);
    InferContext c{conv, opset, {}, {in.begin(), in.begin() + 9}, {}};
    for (const Tensor* t : c.constants)
      c.inputs.push_back(t ? TensorType{t->dtype(), t->shape()} : TensorType{});
    infer_fused_qlinear(c);
    Tensor mid(c.outputs[0].dtype, c.outputs[0].shape);
    Tensor* mid_out[] = {&mid};
    ref_fused_qlinear(conv, opset, in.first(9), mid_out);
    ref_qlinear_add(residual_add(node), opset, residual_add_inputs<const Tensor*>(&mid, in), out);
    return;
  }
  ir::Node s = standard(node);
  with_nchw(node, in, out, [&](std::span<const Tensor* const> i, std::span<Tensor* const> o) {
    std_op(s.op_type.c_str()).reference(s, opset, i, o);
  });
  int32_t lo, hi;
  bounds_or_fail(node, in[6], in.size() > 7 ? in[7] : nullptr, out[0]->dtype(), lo, hi);
  clamp_ints(*out[0], lo, hi);
}

// ---- QGemm ------------------------------------------------------------------------------------

void infer_qgemm(InferContext& ctx) {
  ir::Node s = standard(ctx.node, "QLinearMatMul");
  std::vector<TensorType> ins(ctx.inputs.begin(),
                              ctx.inputs.begin() + std::min<size_t>(8, ctx.inputs.size()));
  std::vector<const Tensor*> cs(ctx.constants.begin(), ctx.constants.begin() + ins.size());
  ctx.outputs = std_infer(s, ctx.opset, ins, cs);
  if (ctx.has_input(8)) {
    const Shape& y = ctx.outputs[0].shape;
    if (ctx.inputs[8].dtype != DType::I32) fail_dtype(ctx.node, ctx.inputs[8].dtype, "bias");
    if (shape_numel(ctx.inputs[8].shape) != y.back())
      fail("{}: bias has shape {}, expected [{}]", ctx.node.describe(),
           shape_str(ctx.inputs[8].shape), y.back());
  }
}

void ref_qgemm(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in,
               std::span<Tensor* const> out) {
  ir::Node mm = standard(node, "MatMulInteger");
  std::vector<Tensor> acc_t = run_reference(mm, opset, {in[0], in[3], in[2], in[5]});
  const int32_t* acc = acc_t[0].data<int32_t>();
  const int64_t n = acc_t[0].shape().back();
  const float as = scalar_f(in[1]), ys = scalar_f(in[6]);
  std::vector<float> bs = in[4]->to_float();
  std::vector<int64_t> bias = in.size() > 8 && in[8] ? in[8]->to_int64() : std::vector<int64_t>();
  int32_t lo, hi;
  bounds_or_fail(node, in[6], in[7], out[0]->dtype(), lo, hi);
  const int32_t zp = scalar_i(in[7]);
  for (int64_t i = 0; i < acc_t[0].numel(); ++i) {
    const int64_t c = i % n;
    const float mult = as * bs[bs.size() == 1 ? 0 : c] / ys;
    const int64_t a = int64_t(acc[i]) + (bias.empty() ? 0 : bias[c]);
    store_int(*out[0], i, quant::requantize_value(a, mult, zp, lo, hi));
  }
}

// ---- MatMulIntegerToFloat ---------------------------------------------------------------------

// ONNX Runtime's com.microsoft.MatMulIntegerToFloat: A, B, a_scale, b_scale[, a_zero_point,
// b_zero_point, bias] -> f32 (A - a_zp) a_scale x (B - b_zp) b_scale + bias, then any fused
// activations. The QDQ fusion pass makes it for DQ -> MatMul whose output stays float.
ir::Node matmul_integer_of(const ir::Node& node) {
  return standard(node, "MatMulInteger");
}

void infer_matmul_integer_to_float(InferContext& ctx) {
  if (ctx.num_inputs() < 4)
    fail("{}: expects at least A, B, a_scale, b_scale", ctx.node.describe());
  std::vector<TensorType> ins = {ctx.inputs[0], ctx.inputs[1]};
  std::vector<const Tensor*> cs = {ctx.constants[0], ctx.constants[1]};
  for (size_t i : {4, 5}) {
    ins.push_back(ctx.has_input(i) ? ctx.inputs[i] : TensorType{});
    cs.push_back(ctx.has_input(i) ? ctx.constants[i] : nullptr);
  }
  ctx.outputs = std_infer(matmul_integer_of(ctx.node), ctx.opset, ins, cs);
  ctx.outputs[0].dtype = DType::F32;
  const int64_t n = ctx.outputs[0].shape.back();
  for (size_t i : {2, 3})
    if (ctx.inputs[i].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[i].dtype, "scale");
  if (shape_numel(ctx.inputs[2].shape) != 1)
    fail("{}: a_scale must hold one value", ctx.node.describe());
  const int64_t bs = shape_numel(ctx.inputs[3].shape);
  if (bs != 1 && bs != n)
    fail("{}: b_scale has {} values, expected 1 or {}", ctx.node.describe(), bs, n);
  if (ctx.has_input(6)) {
    if (ctx.inputs[6].dtype != DType::F32) fail_dtype(ctx.node, ctx.inputs[6].dtype, "bias");
    if (shape_numel(ctx.inputs[6].shape) != n)
      fail("{}: bias has shape {}, expected [{}]", ctx.node.describe(),
           shape_str(ctx.inputs[6].shape), n);
  }
}

void ref_matmul_integer_to_float(const ir::Node& node, int64_t opset,
                                 std::span<const Tensor* const> in, std::span<Tensor* const> out) {
  auto opt = [&](size_t i) { return in.size() > i ? in[i] : nullptr; };
  std::vector<Tensor> acc_t =
      run_reference(matmul_integer_of(node), opset, {in[0], in[1], opt(4), opt(5)});
  const int32_t* acc = acc_t[0].data<int32_t>();
  const int64_t n = acc_t[0].shape().back();
  const float as = scalar_f(in[2]);
  std::vector<float> bs = in[3]->to_float();
  std::vector<float> bias = opt(6) ? opt(6)->to_float() : std::vector<float>();
  float* y = out[0]->data<float>();
  for (int64_t i = 0; i < acc_t[0].numel(); ++i) {
    const int64_t c = i % n;
    y[i] = static_cast<float>(acc[i]) * (as * bs[bs.size() == 1 ? 0 : c]) +
           (bias.empty() ? 0.0f : bias[c]);
  }
  apply_fused_activations(node, *out[0]);
}

// ---- QLinearAdd -------------------------------------------------------------------------------

void infer_qlinear_add(InferContext& ctx) {
  require_inputs(ctx, 8);
  for (size_t i : {0, 3, 7})
    if (ctx.inputs[i].dtype != DType::U8 && ctx.inputs[i].dtype != DType::I8)
      fail_dtype(ctx.node, ctx.inputs[i].dtype);
  Shape y = broadcast_shapes(ctx.node, {ctx.inputs[0].shape, ctx.inputs[3].shape});
  ctx.outputs = {{ctx.inputs[7].dtype, y}};
}

void ref_qlinear_add(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in,
                     std::span<Tensor* const> out) {
  Tensor a = dequantize(*in[0], scalar_f(in[1]), scalar_i(in[2]));
  Tensor b = dequantize(*in[3], scalar_f(in[4]), scalar_i(in[5]));
  ir::Node add = standard(node, "Add");
  std::vector<Tensor> sum = run_reference(add, opset, {&a, &b});
  int32_t lo, hi;
  bounds_or_fail(node, in[6], in[7], out[0]->dtype(), lo, hi);
  quantize_into(sum[0], scalar_f(in[6]), scalar_i(in[7]), lo, hi, *out[0]);
}

// ---- QLinearGlobalAveragePool / QLinearAveragePool -------------------------------------------

const char* float_pool(const std::string& op) {
  return op == "QLinearGlobalAveragePool" ? "GlobalAveragePool" : "AveragePool";
}

void infer_qlinear_pool(InferContext& ctx) {
  require_inputs(ctx, 5);
  if (ctx.inputs[0].dtype != DType::U8 && ctx.inputs[0].dtype != DType::I8)
    fail_dtype(ctx.node, ctx.inputs[0].dtype, "X");
  infer_nchw(ctx, [](InferContext& c) {
    ir::Node s = standard(c.node, float_pool(c.node.op_type));
    s.inputs.resize(1);
    auto outs = std_infer(s, c.opset, {{DType::F32, c.inputs[0].shape}}, {nullptr});
    c.outputs = {{c.inputs[4].dtype, outs[0].shape}};
  });
}

void ref_qlinear_pool(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in,
                      std::span<Tensor* const> out) {
  with_nchw(node, in, out, [&](std::span<const Tensor* const> i, std::span<Tensor* const> o) {
    Tensor x = dequantize(*i[0], scalar_f(i[1]), scalar_i(i[2]));
    ir::Node s = standard(node, float_pool(node.op_type));
    s.inputs.resize(1);
    std::vector<Tensor> y = run_reference(s, opset, {&x});
    int32_t lo, hi;
    int8_range(o[0]->dtype(), lo, hi);
    quantize_into(y[0], scalar_f(i[3]), scalar_i(i[4]), lo, hi, *o[0]);
  });
}

// ---- MaxPool on integers ----------------------------------------------------------------------

void infer_int_max_pool(InferContext& ctx) {
  require_inputs(ctx, 1);
  const DType t = ctx.inputs[0].dtype;
  infer_nchw(ctx, [t](InferContext& c) {
    ir::Node s = standard(c.node);
    auto outs = std_infer(s, c.opset, {{DType::F32, c.inputs[0].shape}}, {nullptr});
    c.outputs = {{t, outs[0].shape}};
  });
}

// Integers are exact in float and max commutes with the conversion.
void ref_int_max_pool(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in,
                      std::span<Tensor* const> out) {
  with_nchw(node, in, out, [&](std::span<const Tensor* const> i, std::span<Tensor* const> o) {
    Tensor x = dequantize(*i[0], 1.0f, 0);
    ir::Node s = standard(node);
    std::vector<Tensor> y = run_reference(s, opset, {&x});
    quantize_into(y[0], 1.0f, 0, -128, 255, *o[0]);
  });
}

// ---- Float ops in their channels_last form ----------------------------------------------------

// A standard op on NHWC input 0 and output 0 (AveragePool, GlobalAveragePool, float MaxPool).
void infer_channels_last(InferContext& ctx) {
  infer_nchw(ctx, [](InferContext& c) {
    c.outputs = std_infer(standard(c.node), c.opset, c.inputs, c.constants);
  });
}

void ref_channels_last(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in,
                       std::span<Tensor* const> out) {
  ir::Node s = standard(node);
  with_nchw(node, in, out, [&](std::span<const Tensor* const> i, std::span<Tensor* const> o) {
    std_op(s.op_type.c_str()).reference(s, opset, i, o);
  });
}

// MaxPool: on uint8/int8 data (the QDQ fusion's) or float (the channels_last form).
void infer_qbench_max_pool(InferContext& ctx) {
  require_inputs(ctx, 1);
  const DType t = ctx.inputs[0].dtype;
  if (dtype_is_8bit(t)) return infer_int_max_pool(ctx);
  if (t != DType::F32) fail_dtype(ctx.node, t, "X");
  infer_channels_last(ctx);
}

void ref_qbench_max_pool(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in,
                         std::span<Tensor* const> out) {
  if (dtype_is_8bit(in[0]->dtype())) return ref_int_max_pool(node, opset, in, out);
  ref_channels_last(node, opset, in, out);
}

// ---- Conv with a residual input ---------------------------------------------------------------

// qbench.Conv: X, W[, B][, Z] -> activations(Conv(X, W, B) + Z), with numpy broadcasting of Z
// (passes/fuse_add.cpp); channels_last = 1 makes X, Z and Y NHWC. One that computes in bf16
// (ir::Node::compute_type; its weights are bf16 values already) rounds X to bf16 first, as the
// fast kernels do; X may arrive in bf16 and output_dtype = BFLOAT16 rounds Y to bf16
// (passes/bf16_storage.cpp).
DType conv_output_dtype(const ir::Node& node) {
  const int64_t t = node.attr_int("output_dtype", int64_t(DType::F32));
  if (t != int64_t(DType::F32) && t != int64_t(DType::BF16))
    fail("{}: output_dtype must be FLOAT or BFLOAT16, got {}", node.describe(), t);
  return DType(t);
}

// X as f32, rounded to bf16 values when `bf16`.
Tensor conv_input(const Tensor& t, bool bf16) {
  Tensor f(DType::F32, t.shape());
  float* y = f.data<float>();
  if (t.dtype() == DType::BF16)
    for (int64_t i = 0; i < t.numel(); ++i) y[i] = bf16_to_float(t.data<uint16_t>()[i]);
  else if (bf16)
    for (int64_t i = 0; i < t.numel(); ++i) y[i] = bf16_to_float(float_to_bf16(t.data<float>()[i]));
  else
    std::memcpy(y, t.raw(), t.numel() * sizeof(float));
  return f;
}

Tensor conv_plus_z(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in) {
  const bool nhwc = channels_last(node);
  ir::Node conv = standard(node);
  conv.inputs.resize(std::min<size_t>(conv.inputs.size(), 3));
  Tensor x = conv_input(*in[0], node.compute_type == DType::BF16);
  if (nhwc) x = transpose(x, {0, 3, 1, 2});
  std::vector<const Tensor*> ins(in.begin(), in.begin() + std::min<size_t>(in.size(), 3));
  ins[0] = &x;
  Tensor y = run_reference(conv, opset, ins)[0];
  if (in.size() > 3 && in[3]) {
    Tensor z = nhwc ? transpose(*in[3], {0, 3, 1, 2}) : Tensor();
    ir::Node add;
    add.name = node.name;
    add.op_type = "Add";
    y = run_reference(add, 14, {&y, nhwc ? &z : in[3]})[0];
  }
  apply_fused_activations(node, y);
  return nhwc ? transpose(y, {0, 2, 3, 1}) : y;
}

void infer_qbench_conv(InferContext& ctx) {
  require_inputs(ctx, 2);
  ir::Node conv = standard(ctx.node);
  const bool nhwc = channels_last(ctx.node);
  std::vector<TensorType> in(ctx.inputs.begin(),
                             ctx.inputs.begin() + std::min<size_t>(ctx.inputs.size(), 3));
  std::vector<const Tensor*> consts(
      ctx.constants.begin(), ctx.constants.begin() + std::min<size_t>(ctx.constants.size(), 3));
  conv.inputs.resize(in.size());
  if (nhwc) in[0].shape = nhwc_to_nchw(in[0].shape);
  if (in[0].dtype != DType::F32 && in[0].dtype != DType::BF16)
    fail("{}: X must be float or bfloat16, got {}", ctx.node.describe(), dtype_name(in[0].dtype));
  in[0].dtype = DType::F32;  // bf16 activations (see above)
  std::vector<TensorType> y = std_infer(conv, ctx.opset, in, consts);
  if (ctx.has_input(3)) {
    TensorType z = ctx.inputs[3];
    if (nhwc) z.shape = nhwc_to_nchw(z.shape);
    ir::Node add = standard(ctx.node, "Add");
    add.attrs.clear();
    y = std_infer(add, 14, {y[0], z}, {nullptr, nullptr});
  }
  if (nhwc) y[0].shape = nchw_to_nhwc(y[0].shape);
  if (ctx.node.has_attr("output_dtype")) y[0].dtype = conv_output_dtype(ctx.node);
  if (y[0].dtype == DType::BF16 && ctx.has_input(3))
    fail("{}: a bf16 output_dtype cannot take a residual input", ctx.node.describe());
  ctx.outputs = {y[0]};
}

void ref_qbench_conv(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in,
                     std::span<Tensor* const> out) {
  Tensor y = conv_plus_z(node, opset, in);
  if (out[0]->dtype() == DType::BF16) {
    for (int64_t i = 0; i < y.numel(); ++i)
      out[0]->data<uint16_t>()[i] = float_to_bf16(y.data<float>()[i]);
    return;
  }
  std::memcpy(out[0]->raw(), y.raw(), y.numel() * sizeof(float));
}

// ---- Gelu ---------------------------------------------------------------------------------------

// ONNX Gelu (opset 20) for graphs of any opset: the GELU fusion pass makes it from the five ops
// exporters wrote before opset 20.
void infer_gelu(InferContext& ctx) {
  ctx.outputs = std_infer(standard(ctx.node), 20, ctx.inputs, ctx.constants);
}

void ref_qbench_gelu(const ir::Node& node, int64_t, std::span<const Tensor* const> in,
                     std::span<Tensor* const> out) {
  std_op("Gelu").reference(standard(node), 20, in, out);
}

// ---- MatMul with a bias ----------------------------------------------------------------------

// qbench.MatMul: A, B, bias -> activations(MatMul(A, B) + bias), numpy broadcasting of the bias
// (passes/fuse_add.cpp).
void infer_qbench_matmul(InferContext& ctx) {
  require_inputs(ctx, 3);
  ir::Node mm = standard(ctx.node);
  mm.inputs.resize(2);
  std::vector<TensorType> y = std_infer(mm, ctx.opset, {ctx.inputs[0], ctx.inputs[1]},
                                        {ctx.constants[0], ctx.constants[1]});
  ir::Node add = standard(ctx.node, "Add");
  add.attrs.clear();
  ctx.outputs = std_infer(add, 14, {y[0], ctx.inputs[2]}, {nullptr, ctx.constants[2]});
}

void ref_qbench_matmul(const ir::Node& node, int64_t opset, std::span<const Tensor* const> in,
                       std::span<Tensor* const> out) {
  ir::Node mm = standard(node);
  mm.inputs.resize(2);
  Tensor y = run_reference(mm, opset, {in[0], in[1]})[0];
  ir::Node add = standard(node, "Add");
  add.attrs.clear();
  add.inputs.resize(2);
  y = run_reference(add, 14, {&y, in[2]})[0];
  apply_fused_activations(node, y);
  std::memcpy(out[0]->raw(), y.raw(), y.numel() * sizeof(float));
}

// qbench.Conv: Conv's traits, less its quantization roles (an engine-internal form), plus the
// residual input Z as a second channels-last input.
constexpr OpTraits kConvChannelsLastTraits = {.dense = Dense::Conv,
                                              .weight_input = 1,
                                              .macs = macs_conv,
                                              .hosts_activations = true,
                                              .nhwc_inputs = 1 | 1 << 3,
                                              .residual_input = 3,
                                              .nhwc_seed = true,
                                              .nhwc_attr = true};

// qbench.QLinearConv: QLinearConv's traits plus the optional residual (input 9, channels-last
// like input 0).
constexpr OpTraits kQLinearConvResidualTraits = [] {
  OpTraits t = kQLinearConvTraits;
  t.nhwc_inputs |= 1 << 9;
  t.residual_input = 9;
  return t;
}();

// qbench's internal ops, with their traits (op_traits.h): integer compute, MACs, and which
// inputs take the channels-last layout (fuse_qdq's to_channels_last).
constexpr std::array kQbenchOps = {
    OpDef{"QLinearConv", 10, infer_fused_qlinear, ref_fused_qlinear, kQLinearConvResidualTraits},
    OpDef{"QLinearMatMul", 10, infer_fused_qlinear, ref_fused_qlinear, kQLinearMatMulTraits},
    OpDef{"QGemm",
          10,
          infer_qgemm,
          ref_qgemm,
          {.dense = Dense::MatMul, .weight_input = 3, .integer = true, .macs = macs_matmul}},
    OpDef{"MatMulIntegerToFloat",
          10,
          infer_matmul_integer_to_float,
          ref_matmul_integer_to_float,
          {.dense = Dense::MatMul, .weight_input = 1, .integer = true, .macs = macs_matmul}},
    OpDef{"QLinearAdd",
          10,
          infer_qlinear_add,
          ref_qlinear_add,
          {.integer = true, .nhwc_inputs = 1 | 1 << 3}},
    OpDef{"QLinearGlobalAveragePool",
          10,
          infer_qlinear_pool,
          ref_qlinear_pool,
          {.integer = true, .nhwc_inputs = 1, .nhwc_attr = true}},
    OpDef{"QLinearAveragePool", 10, infer_qlinear_pool, ref_qlinear_pool, {.integer = true}},
    OpDef{"MaxPool",
          12,
          infer_qbench_max_pool,
          ref_qbench_max_pool,
          {.nhwc_inputs = 1, .nhwc_attr = true}},
    OpDef{"AveragePool",
          1,
          infer_channels_last,
          ref_channels_last,
          {.nhwc_inputs = 1, .nhwc_attr = true}},
    OpDef{"GlobalAveragePool",
          1,
          infer_channels_last,
          ref_channels_last,
          {.nhwc_inputs = 1, .nhwc_attr = true}},
    OpDef{"Conv", 1, infer_qbench_conv, ref_qbench_conv, kConvChannelsLastTraits},
    OpDef{"MatMul",
          1,
          infer_qbench_matmul,
          ref_qbench_matmul,
          {.dense = Dense::MatMul,
           .weight_input = 1,
           .macs = macs_matmul,
           .hosts_activations = true}},
    OpDef{"Gelu", 1, infer_gelu, ref_qbench_gelu, {.fusable = Fusable::Yes}},
};

}  // namespace

const OpDef* find_qbench_op(const std::string& op_type) {
  for (const OpDef& d : kQbenchOps)
    if (op_type == d.op_type) return &d;
  return nullptr;
}

}  // namespace qbench::kernels::ref
