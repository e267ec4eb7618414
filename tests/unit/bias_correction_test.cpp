// Bias correction (quant/bias_correction.h) checked against what it promises, by hand: with the
// weights quantized (per tensor, so the error is large) and everything else float, a linear
// chain of layers keeps each output channel's mean over the calibration images equal to the
// FP32 model's (exact for 1x1 convolutions and Gemm: E[W_q x + b'] = W_q E[x] + b - (W_q - W)
// E[x] = E[W x + b]); without the correction the means drift by the weight error times the
// input means. The observer's channel means are checked on a tensor by hand.
#include "quant/bias_correction.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "quant/calibrate.h"
#include "quant/observer.h"
#include "quant/recipes.h"
#include "quant/weights.h"
#include "test_util.h"

using namespace qbench;
using test::add_constant;
using test::add_input;
using test::add_node;
using test::random_tensor;

namespace {

ir::Node& conv1x1(ir::Graph& g, const std::string& x, const std::string& y, int64_t cin,
                  int64_t cout, uint32_t seed, int64_t groups, bool bias) {
  Tensor w = random_tensor({cout, cin / groups, 1, 1}, seed, -1.0f, 1.0f);
  // Output channels three orders of magnitude apart: one scale per tensor rounds the small ones
  // coarsely, as folded BatchNorm does to depthwise convolutions.
  for (int64_t o = 0; o < cout; ++o)
    for (int64_t i = 0; i < cin / groups; ++i) w.data<float>()[o * (cin / groups) + i] *=
        std::pow(10.0f, -3.0f * float(o) / float(cout - 1));
  add_constant(g, y + "_w", w);
  std::vector<std::string> in = {x, y + "_w"};
  if (bias) {
    add_constant(g, y + "_b", random_tensor({cout}, seed + 1, -0.2f, 0.2f));
    in.push_back(y + "_b");
  }
  ir::Node& n = add_node(g, "Conv", in, {y});
  n.attrs["group"] = ir::Attribute::of_int(groups);
  return n;
}

// x[N,1,28,28] -> Conv a (1->8) -> Conv b (8->6, no bias) -> depthwise Conv d (6) ->
// GlobalAveragePool -> Flatten -> Gemm (6->5, transB): linear throughout.
ir::Graph chain() {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {1, ""}, {28, ""}, {28, ""}});
  conv1x1(g, "x", "a", 1, 8, 1, 1, true);
  conv1x1(g, "a", "b", 8, 6, 3, 1, false);
  conv1x1(g, "b", "d", 6, 6, 5, 6, true);
  add_node(g, "GlobalAveragePool", {"d"}, {"p"});
  add_node(g, "Flatten", {"p"}, {"f"});
  add_constant(g, "gw", random_tensor({5, 6}, 7, -1.0f, 1.0f));
  add_constant(g, "gb", random_tensor({5}, 8, -0.1f, 0.1f));
  ir::Node& gemm = add_node(g, "Gemm", {"f", "gw", "gb"}, {"y"});
  gemm.attrs["transB"] = ir::Attribute::of_int(1);
  g.outputs = {"y"};
  return g;
}

// g with the weights of every layer the plan quantizes replaced by their dequantized int8 values.
ir::Graph weights_quantized(ir::Graph g, const quant::QdqPlan& plan) {
  for (const auto& it : plan.intents)
    for (const auto& in : it.inputs) {
      if (in.role != quant::InputRole::Weight) continue;
      std::string& name = g.nodes[it.node].inputs[in.index];
      const Tensor& w = *g.constant(name);
      quant::QuantizedWeight q = quant::quantize_weight(w, in.per_channel, in.axis, 127);
      Tensor d(DType::F32, w.shape());
      const std::vector<float> s = q.scale.to_float();
      for (int64_t i = 0; i < w.numel(); ++i) {
        const int64_t c = q.per_channel ? i / (w.numel() / w.dim(0)) : 0;
        d.data<float>()[i] = float(q.q.data<int8_t>()[i]) * s[size_t(c)];
      }
      name = quant::add_initializer(g, name + "_wq", std::move(d));
    }
  return g;
}

quant::CalibOptions calib() {
  quant::CalibOptions c;
  c.data = "fashion-mnist";
  c.size = 128;
  c.batch = 64;
  return c;
}

// Each layer output's channel means over the calibration images.
std::map<std::string, std::vector<double>> output_means(const ir::Graph& g) {
  const std::vector<std::string> outs = {"a", "b", "d", "y"};
  std::map<std::string, int64_t> axes;
  for (const auto& o : outs) axes[o] = 1;
  quant::CalibStats st = quant::collect_statistics(g, outs, calib(), axes);
  std::map<std::string, std::vector<double>> m;
  for (const auto& o : outs) m[o] = st.observers.at(o).channel_means();
  return m;
}

}  // namespace

TEST(BiasCorrection, ObserverChannelMeansByHand) {
  // [2, 3, 2]: channel c holds {c, 10 + c} in batch 0 and {-c, 2c} in batch 1.
  Tensor t(DType::F32, {2, 3, 2});
  for (int64_t c = 0; c < 3; ++c) {
    float* b0 = t.data<float>() + c * 2;
    float* b1 = t.data<float>() + 6 + c * 2;
    b0[0] = float(c), b0[1] = float(10 + c), b1[0] = float(-c), b1[1] = float(2 * c);
  }
  quant::Observer a, b;
  a.track_channels(1);
  b.track_channels(1);
  a.observe(t);
  b.observe(t);
  a.merge(b);
  const std::vector<double> m = a.channel_means();
  ASSERT_EQ(m.size(), 3u);
  for (int c = 0; c < 3; ++c) EXPECT_DOUBLE_EQ(m[size_t(c)], (10.0 + 3 * c) / 4) << c;  // (c + 10 + c - c + 2c) / 4
  quant::Observer untracked;
  untracked.observe(t);
  EXPECT_TRUE(untracked.channel_means().empty());
  EXPECT_THROW(a.track_channels(0), Error);  // after observing
}

TEST(BiasCorrection, KeepsEachChannelsMeanWithQuantizedWeights) {
  const ir::Graph g = chain();
  quant::QdqOptions qo;
  qo.per_channel = false;
  const quant::QdqPlan plan = quant::plan_qdq(g, qo);
  ASSERT_EQ(plan.intents.size() >= 4, true);
  ir::Graph corrected = g;
  const quant::BiasCorrectionReport rep = quant::correct_biases(corrected, plan, 127, calib());
  EXPECT_EQ(rep.layers, 4);        // a, b, d and the Gemm
  EXPECT_EQ(rep.added_biases, 1);  // b had none
  // Every layer reads a new bias (b had none; biases may be shared, so none is changed in place).
  for (const auto& n : corrected.nodes)
    if (n.op_type == "Conv" || n.op_type == "Gemm") {
      ASSERT_TRUE(n.has_input(2)) << n.outputs[0];
      EXPECT_EQ(g.find(n.inputs[2]), nullptr) << n.outputs[0];
      EXPECT_NE(corrected.constant(n.inputs[2]), nullptr) << n.outputs[0];
    }

  const auto fp32 = output_means(g);
  const auto fixed = output_means(weights_quantized(corrected, plan));
  const auto drifted = output_means(weights_quantized(g, plan));
  for (const auto& [layer, want] : fp32) {
    double err_fixed = 0, err_drift = 0, scale = 0;
    for (size_t c = 0; c < want.size(); ++c) {
      err_fixed = std::max(err_fixed, std::fabs(fixed.at(layer)[c] - want[c]));
      err_drift = std::max(err_drift, std::fabs(drifted.at(layer)[c] - want[c]));
      scale = std::max(scale, std::fabs(want[c]));
    }
    EXPECT_LT(err_fixed, 1e-5 * (1 + scale)) << layer;
    EXPECT_GT(err_drift, 50 * err_fixed + 1e-6) << layer << ": the test cannot see the drift";
  }
}

TEST(BiasCorrection, AVariantOfStaticInt8Only) {
  EXPECT_TRUE(quant::parse_variant("static-int8+per-tensor+bias-correct").bias_correct);
  EXPECT_THROW(quant::parse_variant("bf16+bias-correct"), Error);
  quant::QuantizeOptions o;
  o.recipe = quant::Recipe::WeightOnlyInt8;
  o.bias_correct = true;
  EXPECT_THROW(quant::quantize(chain(), o), Error);
}
