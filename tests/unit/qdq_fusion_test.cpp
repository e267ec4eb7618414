// The QDQ fusion pass on hand-built QDQ graphs (as ONNX Runtime's quantizer writes them): the
// fused graph computes what the unfused graph computes with the reference kernels, within 1 LSB
// of the output's quantization step, and the Q/DQ pairs between quantized ops are gone.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "engine/engine.h"
#include "engine/inspect.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/ref/qbench_ops.h"
#include "onnx/onnx_io.h"
#include "passes/passes.h"
#include "test_util.h"

using namespace qbench;

namespace {

engine::EngineOptions reference_unoptimized() {
  engine::EngineOptions o;
  o.optimized_kernels = false;
  o.optimize_graph = false;
  return o;
}

// Builds one model twice: in float (for calibration) and in QDQ form with the ranges the float
// model produced. Weights are per-channel symmetric int8, biases int32, activations uint8
// asymmetric (or int8 symmetric).
class QdqBuilder {
 public:
  QdqBuilder(bool quantized, std::map<std::string, std::pair<float, float>> ranges, bool s8 = false)
      : quantized_(quantized), ranges_(std::move(ranges)), s8_(s8) {
    g.opsets[""] = 13;
  }

  ir::Graph g;

  std::string input(const std::string& name, Shape s) {
    std::vector<ir::Dim> dims;
    for (int64_t d : s) dims.push_back({d, ""});
    test::add_input(g, name, dims);
    return qdq(name);
  }

  // Q -> DQ of activation `x` with its calibrated range (identity in the float model).
  std::string qdq(const std::string& x) {
    if (!quantized_) return x;
    auto [s, zp] = act_params(x);
    std::string sn = constant(x + "_scale", Tensor::scalar(s));
    std::string zn = constant(
        x + "_zp", s8_ ? Tensor::scalar<int8_t>(int8_t(zp)) : Tensor::scalar<uint8_t>(uint8_t(zp)));
    test::add_node(g, "QuantizeLinear", {x, sn, zn}, {x + "_q"});
    g.value(x + "_q").dtype = s8_ ? DType::I8 : DType::U8;
    test::add_node(g, "DequantizeLinear", {x + "_q", sn, zn}, {x + "_dq"});
    return x + "_dq";
  }

  // A Conv or Gemm (transB) weight [M, ...] quantized per output channel, and its bias.
  std::pair<std::string, std::string> weights(const std::string& name, Shape shape, uint32_t seed,
                                              const std::string& x) {
    Tensor w = test::random_tensor(shape, seed, -0.5f, 0.5f);
    Tensor b = test::random_tensor({shape[0]}, seed + 1, -0.2f, 0.2f);
    if (!quantized_) return {constant(name, w), constant(name + "_b", b)};
    const int64_t m = shape[0], per = w.numel() / m;
    std::vector<float> ws(m), bs(m);
    std::vector<int8_t> wq(w.numel());
    std::vector<int32_t> bq(m);
    const float xs = act_params(x).first;
    for (int64_t c = 0; c < m; ++c) {
      float mx = 1e-8f;
      for (int64_t i = 0; i < per; ++i) mx = std::max(mx, std::fabs(w.data<float>()[c * per + i]));
      ws[c] = mx / 127.f;
      for (int64_t i = 0; i < per; ++i)
        wq[c * per + i] = int8_t(std::nearbyint(w.data<float>()[c * per + i] / ws[c]));
      bs[c] = xs * ws[c];
      bq[c] = int32_t(std::nearbyint(b.data<float>()[c] / bs[c]));
    }
    std::string wn = constant(name + "_q", Tensor::from_vector<int8_t>(shape, wq));
    std::string wsn = constant(name + "_scale", Tensor::from_vector<float>({m}, ws));
    std::string wzn =
        constant(name + "_zp", Tensor::from_vector<int8_t>({m}, std::vector<int8_t>(m, 0)));
    ir::Node& d = test::add_node(g, "DequantizeLinear", {wn, wsn, wzn}, {name});
    d.attrs["axis"] = ir::Attribute::of_int(0);
    std::string bn = constant(name + "_b_q", Tensor::from_vector<int32_t>({m}, bq));
    std::string bsn = constant(name + "_b_scale", Tensor::from_vector<float>({m}, bs));
    ir::Node& db = test::add_node(g, "DequantizeLinear", {bn, bsn}, {name + "_b"});
    db.attrs["axis"] = ir::Attribute::of_int(0);
    return {name, name + "_b"};
  }

  ir::Node& node(const std::string& op, std::vector<std::string> in, const std::string& out) {
    return test::add_node(g, op, std::move(in), {out});
  }

 private:
  std::string constant(const std::string& name, Tensor t) {
    test::add_constant(g, name, std::move(t));
    return name;
  }
  std::pair<float, int> act_params(const std::string& x) const {
    auto [lo, hi] = ranges_.at(x);
    lo = std::min(lo, 0.f);
    hi = std::max(hi, 0.f);
    if (s8_) {
      float m = std::max(-lo, hi);
      return {std::max(m, 1e-6f) / 127.f, 0};
    }
    float s = std::max(hi - lo, 1e-6f) / 255.f;
    return {s, int(std::nearbyint(-lo / s))};
  }

  bool quantized_;
  std::map<std::string, std::pair<float, float>> ranges_;
  bool s8_;
};

// A small ResNet-like block: conv-relu, conv, add-relu, maxpool, global pool, flatten, gemm.
void build_block(QdqBuilder& b) {
  std::string x = b.input("x", {1, 8, 12, 12});
  auto [w1, b1] = b.weights("w1", {16, 8, 3, 3}, 10, "x");
  ir::Node& c1 = b.node("Conv", {x, w1, b1}, "c1");
  c1.attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  b.node("Relu", {"c1"}, "r1");
  std::string r1 = b.qdq("r1");
  auto [w2, b2] = b.weights("w2", {16, 1, 3, 3}, 20, "r1");
  ir::Node& c2 = b.node("Conv", {r1, w2, b2}, "c2");
  c2.attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  c2.attrs["group"] = ir::Attribute::of_int(16);
  std::string c2q = b.qdq("c2");
  b.node("Add", {c2q, r1}, "sum");
  b.node("Relu", {"sum"}, "r2");
  std::string r2 = b.qdq("r2");
  ir::Node& mp = b.node("MaxPool", {r2}, "mp");
  mp.attrs["kernel_shape"] = ir::Attribute::of_ints({3, 3});
  mp.attrs["strides"] = ir::Attribute::of_ints({2, 2});
  mp.attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  std::string mpq = b.qdq("mp");
  b.node("GlobalAveragePool", {mpq}, "gap");
  std::string gap = b.qdq("gap");
  b.node("Flatten", {gap}, "flat");
  std::string flat = b.qdq("flat");
  auto [w3, b3] = b.weights("w3", {10, 16}, 30, "flat");
  ir::Node& gm = b.node("Gemm", {flat, w3, b3}, "logits");
  gm.attrs["transB"] = ir::Attribute::of_int(1);
  std::string out = b.qdq("logits");
  b.g.outputs = {out};
  if (out != "logits") b.g.value(out).dtype = DType::F32;
}

// Min and max of every value of the float model on `x`, evaluated node by node.
std::map<std::string, std::pair<float, float>> calibrate(const ir::Graph& g, const Tensor& x) {
  std::map<std::string, Tensor> env{{"x", x}};
  std::map<std::string, std::pair<float, float>> r;
  auto record = [&](const std::string& n, const Tensor& t) {
    std::vector<float> v = t.to_float();
    r[n] = {*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
  };
  record("x", x);
  for (const auto& n : g.nodes) {
    std::vector<const Tensor*> ins;
    for (const auto& i : n.inputs) ins.push_back(env.count(i) ? &env.at(i) : g.constant(i));
    std::vector<Tensor> outs = kernels::run_reference(n, g.opset(), ins);
    env[n.outputs[0]] = outs[0];
    record(n.outputs[0], outs[0]);
  }
  return r;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.to_float(), y = b.to_float();
  if (x.size() != y.size()) return INFINITY;
  float d = 0;
  for (size_t i = 0; i < x.size(); ++i) d = std::max(d, std::fabs(x[i] - y[i]));
  return d;
}

int count(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

ir::Graph quantized_block(const Tensor& x, bool s8) {
  QdqBuilder f(false, {});
  build_block(f);
  QdqBuilder q(true, calibrate(f.g, x), s8);
  build_block(q);
  return q.g;
}

float output_step(const ir::Graph& g) {
  return g.constant("logits_scale")->to_float()[0];
}

TEST(QdqFusion, BlockFusesIntoIntegerOps) {
  Tensor x = test::random_tensor({1, 8, 12, 12}, 1, -1.f, 1.f);
  ir::Graph g = quantized_block(x, false);
  ASSERT_EQ(count(g, "QuantizeLinear"), 8);
  engine::Engine fused(g);
  const ir::Graph& o = fused.graph();
  // Only the input's Q and the output's DQ remain; every op runs on integers.
  EXPECT_EQ(count(o, "QuantizeLinear"), 1);
  EXPECT_EQ(count(o, "DequantizeLinear"), 1);
  EXPECT_EQ(count(o, "QLinearConv"), 2);
  // The residual Add went into the (depthwise) convolution that computes one of its addends.
  EXPECT_EQ(count(o, "QLinearAdd"), 0);
  int with_residual = 0;
  for (const auto& n : o.nodes) with_residual += kernels::ref::has_residual(n);
  EXPECT_EQ(with_residual, 1);
  EXPECT_EQ(count(o, "MaxPool"), 1);
  EXPECT_EQ(count(o, "QLinearGlobalAveragePool"), 1);
  EXPECT_EQ(count(o, "Flatten"), 1);
  EXPECT_EQ(count(o, "QGemm"), 1);
  EXPECT_EQ(count(o, "Conv") + count(o, "Gemm") + count(o, "Add") + count(o, "Relu"), 0);
  // The 2-D integer region runs channels-last: one Transpose in (after the input's Q), one out
  // (before Flatten).
  EXPECT_EQ(count(o, "Transpose"), 2);
  for (const auto& n : o.nodes)
    if (n.op_type == "QLinearConv" || n.op_type == "MaxPool" ||
        n.op_type == "QLinearGlobalAveragePool") {
      EXPECT_EQ(n.attr_int("channels_last", 0), 1) << n.name;
    }
  // The ReLU after the first conv is absorbed by saturation (zero point 0): a standard op.
  for (const auto& n : o.nodes)
    if (n.op_type == "QLinearConv") {
      EXPECT_TRUE(n.fused.empty());
    }

  const float step = output_step(g);
  Tensor want = engine::Engine(g, reference_unoptimized()).run({x})[0];
  Tensor got = fused.run({x})[0];
  EXPECT_LE(max_abs_diff(got, want), 1.01f * step + 1e-6f);
  // The fused graph on the reference kernels computes the same.
  engine::EngineOptions ref_fused;
  ref_fused.optimized_kernels = false;
  Tensor got_ref = engine::Engine(g, ref_fused).run({x})[0];
  EXPECT_LE(max_abs_diff(got_ref, want), 1.01f * step + 1e-6f);

  // Every integer node ran on an integer kernel (data movement is a copy on the reference).
  auto& plan = fused.plan_for(fused.input_types(1));
  engine::PlanReport r = engine::describe_plan(plan, fused.graph());
  for (const auto& n : r.nodes) {
    if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") continue;
    EXPECT_EQ(n.precision, "int8") << n.name << " " << n.op_type;
    if (n.op_type != "Flatten" && n.op_type != "Transpose") {
      EXPECT_NE(n.kernel, "reference") << n.name << " " << n.op_type << ": " << n.rejected;
    }
  }
  EXPECT_GT(r.macs_int8, 0);
  EXPECT_EQ(r.macs_int8, r.macs);
}

// int8 symmetric activations: the ReLUs are not absorbed by saturation, so they stay fused on
// the integer ops (qbench domain) and are applied before requantization.
TEST(QdqFusion, SignedActivationsKeepFusedRelu) {
  Tensor x = test::random_tensor({1, 8, 12, 12}, 2, -1.f, 1.f);
  ir::Graph g = quantized_block(x, true);
  engine::Engine fused(g);
  int with_relu = 0;
  for (const auto& n : fused.graph().nodes)
    if (n.op_type == "QLinearConv" || n.op_type == "QLinearAdd") {
      with_relu += !n.fused.empty();
      if (!n.fused.empty()) {
        EXPECT_EQ(n.domain, kernels::ref::kQbenchDomain);
      }
    }
  EXPECT_EQ(with_relu, 2);
  EXPECT_EQ(count(fused.graph(), "QuantizeLinear"), 1);
  const float step = output_step(g);
  Tensor want = engine::Engine(g, reference_unoptimized()).run({x})[0];
  EXPECT_LE(max_abs_diff(fused.run({x})[0], want), 1.01f * step + 1e-6f);
  engine::EngineOptions ref_fused;
  ref_fused.optimized_kernels = false;
  EXPECT_LE(max_abs_diff(engine::Engine(g, ref_fused).run({x})[0], want), 1.01f * step + 1e-6f);
}

// Asymmetric weights fuse into QLinearConv but have no oneDNN fast path: the reference kernel
// runs it, the result is still right, and the plan says why.
TEST(QdqFusion, DeclinedIntegerKernelFallsBackWithReason) {
  Tensor x = test::random_tensor({1, 8, 12, 12}, 3, -1.f, 1.f);
  ir::Graph g = quantized_block(x, false);
  Tensor& wz = *g.values.at("w1_zp").data;
  for (int64_t i = 0; i < wz.numel(); ++i) wz.data<int8_t>()[i] = 1;
  engine::Engine fused(g);
  auto& plan = fused.plan_for(fused.input_types(1));
  engine::PlanReport r = engine::describe_plan(plan, fused.graph());
  bool found = false;
  for (size_t i = 0; i < r.nodes.size(); ++i)
    if (plan.steps()[i].node.op_type == "QLinearConv" && plan.steps()[i].node.inputs[3] == "w1_q") {
      const engine::NodeReport& n = r.nodes[i];
      found = true;
      EXPECT_EQ(n.kernel, "reference");
      EXPECT_NE(n.rejected.find("weight zero point"), std::string::npos) << n.rejected;
    }
  EXPECT_TRUE(found);
  Tensor want = engine::Engine(g, reference_unoptimized()).run({x})[0];
  EXPECT_LE(max_abs_diff(fused.run({x})[0], want), 1.01f * output_step(g) + 1e-6f);
}

// The internal ops are never written to a file.
TEST(QdqFusion, SavingInternalOpsFails) {
  Tensor x = test::random_tensor({1, 8, 12, 12}, 4, -1.f, 1.f);
  engine::Engine fused(quantized_block(x, false));
  EXPECT_THROW(onnxio::save_model(fused.graph(), ::testing::TempDir() + "/fused.onnx"), Error);
}

// Weights stored as bfloat16 and cast to float: the Cast survives constant folding, the Conv
// and Gemm are marked to compute in bf16 and run on oneDNN's bf16 kernels, or, on a CPU without
// native bf16, emulated by the f32 kernels, which the coverage then counts as f32 (emulated).
TEST(QdqFusion, Bf16WeightsComputeInBf16) {
  ir::Graph g;
  g.opsets[""] = 13;
  test::add_input(g, "x", {{1, ""}, {8, ""}, {6, ""}, {6, ""}});
  auto bf16_const = [&](const std::string& name, Shape s, uint32_t seed) {
    Tensor f = test::random_tensor(s, seed, -0.5f, 0.5f);
    Tensor b(DType::BF16, s);
    for (int64_t i = 0; i < f.numel(); ++i) {
      uint32_t u;
      std::memcpy(&u, &f.data<float>()[i], 4);
      b.data<uint16_t>()[i] = static_cast<uint16_t>(u >> 16);
    }
    test::add_constant(g, name, b);
    ir::Node& c = test::add_node(g, "Cast", {name}, {name + "_f32"});
    c.attrs["to"] = ir::Attribute::of_int(1);
    return name + "_f32";
  };
  std::string w = bf16_const("w", {16, 8, 3, 3}, 1);
  test::add_node(g, "Conv", {"x", w}, {"c"});
  test::add_node(g, "Relu", {"c"}, {"r"});
  test::add_node(g, "Flatten", {"r"}, {"f"});
  std::string w2 = bf16_const("w2", {5, 256}, 2);
  ir::Node& gm = test::add_node(g, "Gemm", {"f", w2}, {"y"});
  gm.attrs["transB"] = ir::Attribute::of_int(1);
  g.outputs = {"y"};

  engine::Engine eng(g);
  int bf16_nodes = 0;
  for (const auto& n : eng.graph().nodes) bf16_nodes += n.compute_type == DType::BF16;
  EXPECT_EQ(bf16_nodes, 2);
  EXPECT_EQ(count(eng.graph(), "Cast"), 2);
  EXPECT_EQ(eng.graph().constant("w")->dtype(), DType::BF16);
  auto& plan = eng.plan_for(eng.input_types(1));
  engine::PlanReport r = engine::describe_plan(plan, eng.graph());
  if (kernels::onednn::native_bf16()) {
    EXPECT_EQ(r.macs_bf16, r.macs);
    EXPECT_EQ(r.params_bf16, r.params);
    EXPECT_EQ(r.macs_emulated, 0);
  } else {
    EXPECT_EQ(r.macs_bf16, 0);
    EXPECT_EQ(r.macs_emulated, r.macs);
    EXPECT_EQ(r.params_emulated, r.params);
    EXPECT_NE(engine::coverage_line(r).find("bf16 emulated in f32: 100.0% of MACs"),
              std::string::npos)
        << engine::coverage_line(r);
  }
  for (const auto& n : r.nodes) {
    if (n.macs > 0) {
      EXPECT_EQ(n.emulated, !kernels::onednn::native_bf16()) << n.name << n.impl;
    }
  }
  Tensor x = test::random_tensor({1, 8, 6, 6}, 3, -1.f, 1.f);
  Tensor want = engine::Engine(g, reference_unoptimized()).run({x})[0];
  EXPECT_LT(test::max_rel_diff(eng.run({x})[0], want), 2e-2f);
}

// Dynamic quantization (DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul): MatMulInteger
// runs on oneDNN's integer matmul with the runtime zero point, exactly.
TEST(QdqFusion, DynamicMatMulIntegerRunsInt8) {
  ir::Graph g;
  g.opsets[""] = 13;
  test::add_input(g, "x", {{4, ""}, {32, ""}});
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> wq(32 * 6);
  for (auto& v : wq) v = static_cast<int8_t>(d(rng));
  test::add_constant(g, "w", Tensor::from_vector<int8_t>({32, 6}, wq));
  test::add_constant(g, "w_scale", Tensor::scalar(0.01f));
  test::add_node(g, "DynamicQuantizeLinear", {"x"}, {"xq", "xs", "xz"});
  test::add_node(g, "MatMulInteger", {"xq", "w", "xz"}, {"acc"});
  ir::Node& c = test::add_node(g, "Cast", {"acc"}, {"accf"});
  c.attrs["to"] = ir::Attribute::of_int(1);
  test::add_node(g, "Mul", {"xs", "w_scale"}, {"s"});
  test::add_node(g, "Mul", {"accf", "s"}, {"y"});
  g.outputs = {"y"};
  engine::Engine eng(g);
  auto& plan = eng.plan_for(eng.input_types(4));
  engine::PlanReport r = engine::describe_plan(plan, eng.graph());
  for (const auto& n : r.nodes)
    if (n.op_type == "MatMulInteger") {
      EXPECT_EQ(n.kernel, "onednn") << n.rejected;
      EXPECT_EQ(n.precision, "int8");
    }
  EXPECT_EQ(r.macs_int8, r.macs);
  Tensor x = test::random_tensor({4, 32}, 9, -1.f, 2.f);
  Tensor want = engine::Engine(g, reference_unoptimized()).run({x})[0];
  EXPECT_LT(test::max_rel_diff(eng.run({x})[0], want), 1e-6f);
}

// A float bias that is NaN (a corrupt file; found by fuzz_run) cannot become an int32 bias: that
// convolution stays float (DQ -> Conv -> Q), the others still fuse, and nothing converts NaN to an
// integer (UBSan aborted in fuse_qdq on it).
TEST(QdqFusion, NanFloatBiasStaysFloat) {
  ir::Graph g = onnxio::load_model(test::test_data_dir() + "/torch_qdq.onnx");
  ir::Value* bias = g.find("conv1.bias");
  ASSERT_TRUE(bias && bias->data && bias->data->dtype() == DType::F32);
  bias->data->data<float>()[3] = std::nanf("");
  engine::Engine fused(g);
  EXPECT_EQ(count(fused.graph(), "QLinearConv"), 2);
  EXPECT_EQ(count(fused.graph(), "Conv"), 1);
  Tensor x = test::random_tensor({1, 1, 28, 28}, 3, 0.f, 1.f);
  const Tensor y = fused.run({x})[0];
  // conv1's NaN channel reaches every logit through conv2 (or is saturated by the Q after it):
  // what matters is that the run completes and matches the unfused graph on the reference.
  const Tensor want = engine::Engine(g, reference_unoptimized()).run({x})[0];
  ASSERT_EQ(y.numel(), want.numel());
  for (int64_t i = 0; i < y.numel(); ++i)
    EXPECT_EQ(std::isnan(y.data<float>()[i]), std::isnan(want.data<float>()[i])) << i;
}

}  // namespace
