// SmoothQuant (quant/smooth_quant.h) by hand: a LayerNormalization whose scale gives a few
// channels 25-30x the others, read by two MatMuls. Smoothing leaves the FP32 function as it was
// (reference kernels on both graphs), makes each channel's largest |activation| equal its
// largest |weight| (alpha 0.5: both become sqrt(max|X_k| max|W_k|)), and cuts the int8 error of
// the static-int8 model, whose activations have one scale per tensor.
#include "quant/smooth_quant.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "engine/engine.h"
#include "quant/recipes.h"
#include "test_util.h"

using namespace qbench;
using test::add_constant;
using test::add_input;
using test::add_node;
using test::random_tensor;

namespace {

// x[N,1,28,28] -> Reshape [N,28,28] -> LayerNormalization (outlier channels 3 and 10) ->
// MatMul [28,16] -> y1, and MatMul [28,8] -> y2.
ir::Graph norm_matmuls() {
  ir::Graph g;
  g.opsets[""] = 17;
  add_input(g, "x", {{-1, "N"}, {1, ""}, {28, ""}, {28, ""}});
  Tensor shape(DType::I64, {3});
  shape.data<int64_t>()[0] = -1, shape.data<int64_t>()[1] = 28, shape.data<int64_t>()[2] = 28;
  add_constant(g, "shape", shape);
  add_node(g, "Reshape", {"x", "shape"}, {"r"});
  Tensor gamma = random_tensor({28}, 1, 0.5f, 1.5f);
  gamma.data<float>()[3] = 30.0f;
  gamma.data<float>()[10] = -25.0f;
  add_constant(g, "gamma", gamma);
  add_constant(g, "beta", random_tensor({28}, 2, -0.2f, 0.2f));
  add_node(g, "LayerNormalization", {"r", "gamma", "beta"}, {"n"}).attrs["axis"] =
      ir::Attribute::of_int(-1);
  add_constant(g, "w1", random_tensor({28, 16}, 3, -0.5f, 0.5f));
  add_constant(g, "w2", random_tensor({28, 8}, 4, -0.5f, 0.5f));
  add_node(g, "MatMul", {"n", "w1"}, {"y1"});
  add_node(g, "MatMul", {"n", "w2"}, {"y2"});
  g.outputs = {"y1", "y2"};
  return g;
}

quant::CalibOptions calib() {
  quant::CalibOptions c;
  c.data = "fashion-mnist";
  c.size = 128;
  return c;
}

engine::EngineOptions reference() {
  engine::EngineOptions o;
  o.optimized_kernels = false;
  o.optimize_graph = false;
  return o;
}

std::vector<Tensor> run(const ir::Graph& g, const Tensor& x, engine::EngineOptions o = {}) {
  return engine::Engine(g, o).run({x});
}

}  // namespace

TEST(SmoothQuant, SameFunctionBalancedChannels) {
  const ir::Graph g = quant::prepare_for_quantization(norm_matmuls(), {});
  ir::Graph s = g;
  const quant::SmoothQuantReport rep = quant::smooth_quant(s, calib(), 0.5f);
  EXPECT_EQ(rep.pairs, 1);
  EXPECT_GT(rep.largest_ratio, 10.0);  // the outlier channels, before
  // The original constants are left for other readers; the smoothed graph reads new ones.
  for (const auto& n : s.nodes) {
    if (n.op_type == "LayerNormalization") {
      EXPECT_EQ(g.find(n.inputs[1]), nullptr) << n.inputs[1];
      EXPECT_EQ(g.find(n.inputs[2]), nullptr) << n.inputs[2];
    }
    if (n.op_type == "MatMul") {
      EXPECT_EQ(g.find(n.inputs[1]), nullptr) << n.inputs[1];
    }
  }

  const Tensor x = random_tensor({2, 1, 28, 28}, 9, 0.0f, 1.0f);
  const std::vector<Tensor> want = run(g, x, reference()), got = run(s, x, reference());
  for (size_t o = 0; o < want.size(); ++o) EXPECT_LT(test::max_rel_diff(got[o], want[o]), 1e-5f);

  // Per channel: max|X'_k| (measured again on the same images) = max over both weights of
  // max|W'_k|.
  quant::CalibStats st = quant::collect_statistics(s, {"n"}, calib(), {{"n", 2}});
  const std::vector<float>& xs = st.observers.at("n").channel_absmax();
  ASSERT_EQ(xs.size(), 28u);
  const Tensor* w1 = nullptr;
  const Tensor* w2 = nullptr;
  for (const auto& n : s.nodes) {
    if (n.outputs[0] == "y1") w1 = s.constant(n.inputs[1]);
    if (n.outputs[0] == "y2") w2 = s.constant(n.inputs[1]);
  }
  ASSERT_TRUE(w1 && w2);
  float spread_x = 0, low_x = 1e30f;
  for (int64_t k = 0; k < 28; ++k) {
    float w = 0;
    for (int64_t j = 0; j < 16; ++j) w = std::max(w, std::fabs(w1->data<float>()[k * 16 + j]));
    for (int64_t j = 0; j < 8; ++j) w = std::max(w, std::fabs(w2->data<float>()[k * 8 + j]));
    EXPECT_NEAR(xs[size_t(k)], w, 1e-4f * w) << k;
    spread_x = std::max(spread_x, xs[size_t(k)]);
    low_x = std::min(low_x, xs[size_t(k)]);
  }
  EXPECT_LT(spread_x / low_x, rep.largest_ratio);  // the outliers are tamer
}

TEST(SmoothQuant, CutsTheInt8ErrorOfOutlierChannels) {
  const ir::Graph g = norm_matmuls();
  quant::QuantizeOptions o;
  o.recipe = quant::Recipe::StaticInt8;
  o.calib = calib();
  const ir::Graph plain = quant::quantize(g, o).graph;
  o.smooth_quant = true;
  const quant::QuantizeResult smoothed = quant::quantize(g, o);
  bool noted = false;
  for (const auto& n : smoothed.notes) noted |= n.find("SmoothQuant") != std::string::npos;
  EXPECT_TRUE(noted);
  const Tensor x = random_tensor({4, 1, 28, 28}, 11, 0.0f, 1.0f);
  const std::vector<Tensor> want = run(g, x, reference());
  const std::vector<Tensor> a = run(plain, x), b = run(smoothed.graph, x);
  for (size_t k = 0; k < want.size(); ++k) {
    const float plain_err = test::max_rel_diff(a[k], want[k]);
    const float smooth_err = test::max_rel_diff(b[k], want[k]);
    EXPECT_LT(smooth_err, 0.5f * plain_err) << "output " << k;
    std::printf("output %zu: int8 error %.4f plain, %.4f smoothed\n", k, plain_err, smooth_err);
  }
  ir::Graph copy = g;
  EXPECT_THROW(quant::smooth_quant(copy, calib(), 1.5f), Error);
  o.recipe = quant::Recipe::Bf16;
  EXPECT_THROW(quant::quantize(g, o), Error);
  EXPECT_TRUE(quant::parse_variant("static-int8+smooth-quant").smooth_quant);
  EXPECT_THROW(quant::parse_variant("dynamic-int8+smooth-quant"), Error);
}
