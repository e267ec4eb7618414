// Cross-layer equalization (quant/equalize.h) by hand: Conv -> Relu -> MaxPool -> Conv with
// per-channel weight ranges spread over three orders of magnitude. After equalization the FP32
// function is the same up to float rounding (the reference kernels on both graphs), each
// channel's range is sqrt(r1 * r2) in both convolutions, and per-tensor int8 weights lose far
// less of the output.
#include "quant/equalize.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/engine.h"
#include "quant/recipes.h"
#include "test_util.h"

using namespace qbench;
using test::add_constant;
using test::add_input;
using test::add_node;
using test::random_tensor;

namespace {

// x[N,3,8,8] -> Conv(3->6, 3x3) -> Relu -> MaxPool 2x2 -> Conv(6->4, 3x3) -> y; channel c of the
// first convolution scaled by 10^(c/2 - 1) and input channel c of the second by its inverse.
ir::Graph two_convs() {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {3, ""}, {8, ""}, {8, ""}});
  Tensor w1 = random_tensor({6, 3, 3, 3}, 1, -0.5f, 0.5f);
  Tensor b1 = random_tensor({6}, 2, -0.1f, 0.1f);
  Tensor w2 = random_tensor({4, 6, 3, 3}, 3, -0.5f, 0.5f);
  for (int64_t c = 0; c < 6; ++c) {
    const float k = std::pow(10.0f, float(c) / 2 - 1);
    for (int64_t j = 0; j < 27; ++j) w1.data<float>()[c * 27 + j] *= k;
    b1.data<float>()[c] *= k;
    for (int64_t o = 0; o < 4; ++o)
      for (int64_t j = 0; j < 9; ++j) w2.data<float>()[(o * 6 + c) * 9 + j] /= k;
  }
  add_constant(g, "w1", w1);
  add_constant(g, "b1", b1);
  add_constant(g, "w2", w2);
  add_node(g, "Conv", {"x", "w1", "b1"}, {"c1"}).attrs["pads"] =
      ir::Attribute::of_ints({1, 1, 1, 1});
  add_node(g, "Relu", {"c1"}, {"r"});
  auto& mp = add_node(g, "MaxPool", {"r"}, {"p"});
  mp.attrs["kernel_shape"] = ir::Attribute::of_ints({2, 2});
  mp.attrs["strides"] = ir::Attribute::of_ints({2, 2});
  add_node(g, "Conv", {"p", "w2"}, {"y"});
  g.outputs = {"y"};
  return g;
}

float channel_max(const Tensor& w, int64_t axis, int64_t c) {
  float m = 0;
  const int64_t channels = w.dim(axis);
  const int64_t inner = w.numel() / (axis == 0 ? channels : w.dim(0) * channels);
  for (int64_t i = 0; i < w.numel(); ++i) {
    const int64_t ch = axis == 0 ? i / inner : (i / inner) % channels;
    if (ch == c) m = std::max(m, std::abs(w.data<float>()[i]));
  }
  return m;
}

Tensor run_reference(const ir::Graph& g, const Tensor& x) {
  engine::EngineOptions o;
  o.optimized_kernels = false;
  o.optimize_graph = false;
  return engine::Engine(g, o).run({x})[0];
}

}  // namespace

TEST(Equalize, SameFunctionBalancedRanges) {
  const ir::Graph g = two_convs();
  ir::Graph e = g;
  EXPECT_EQ(quant::equalize_cross_layer(e, {1}).pairs, 1);
  const Tensor x = random_tensor({2, 3, 8, 8}, 7);
  EXPECT_LT(test::max_rel_diff(run_reference(e, x), run_reference(g, x)), 1e-5f);
  const Tensor& w1 = *g.constant("w1");
  const Tensor& w2 = *g.constant("w2");
  const Tensor& e1 = *e.constant("w1");
  const Tensor& e2 = *e.constant("w2");
  for (int64_t c = 0; c < 6; ++c) {
    const float want = std::sqrt(channel_max(w1, 0, c) * channel_max(w2, 1, c));
    EXPECT_NEAR(channel_max(e1, 0, c), want, 1e-5f * want) << c;
    EXPECT_NEAR(channel_max(e2, 1, c), want, 1e-5f * want) << c;
  }
  // The input graph's tensors are untouched (equalization copies before writing).
  EXPECT_EQ(channel_max(*g.constant("w1"), 0, 0), channel_max(w1, 0, 0));
}

TEST(Equalize, PerTensorWeightsLoseLess) {
  // Weight-only int8 per tensor, so only the weights' rounding differs between the two.
  const ir::Graph g = two_convs();
  const Tensor x = random_tensor({4, 3, 8, 8}, 9);
  const Tensor want = run_reference(g, x);
  auto error = [&](bool equalize) {
    quant::QuantizeOptions o;
    o.recipe = quant::Recipe::DynamicInt8;
    o.dynamic_conv = true;
    o.per_channel = false;
    o.equalize = equalize;
    return test::max_rel_diff(run_reference(quant::quantize(g, o).graph, x), want);
  };
  const float plain = error(false), equalized = error(true);
  EXPECT_LT(equalized * 5, plain) << "plain " << plain << ", equalized " << equalized;
}

TEST(Equalize, LeavesSharedConvolutionsAndRelu6Alone) {
  ir::Graph g = two_convs();
  g.outputs.push_back("r");  // the intermediate is read outside the pair
  EXPECT_EQ(quant::equalize_cross_layer(g, {1}).pairs, 0);
  // A Clip(0, 6) between them does not commute with a per-channel scale: left alone unless asked.
  ir::Graph h = two_convs();
  for (auto& n : h.nodes)
    if (n.op_type == "Relu") {
      n.op_type = "Clip";
      add_constant(h, "lo", Tensor::scalar<float>(0));
      add_constant(h, "hi", Tensor::scalar<float>(6));
      n.inputs = {n.inputs[0], "lo", "hi"};
    }
  EXPECT_EQ(quant::equalize_cross_layer(h, {1}).pairs, 0);
}

namespace {

// x[N,4,6,6] -> Conv(4->C, 1x1) -> Clip(0,6) -> Conv(C->C, 3x3, group C/per_group)
// -> Clip(0,6) -> Conv(C->3, 1x1) -> y: MobileNetV2's expand -> depthwise -> project when
// per_group is 1. Ranges spread over channels as in two_convs (the expansion's channel c scaled
// by 10^(c/2 - 1) and the grouped convolution's input channel c by its inverse).
ir::Graph triple(int64_t channels, int64_t per_group) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {4, ""}, {6, ""}, {6, ""}});
  Tensor w1 = random_tensor({channels, 4, 1, 1}, 11, -0.5f, 0.5f);
  Tensor b1 = random_tensor({channels}, 12, 0.0f, 0.2f);
  Tensor w2 = random_tensor({channels, per_group, 3, 3}, 13, -0.5f, 0.5f);
  Tensor b2 = random_tensor({channels}, 14, 0.0f, 0.2f);
  Tensor w3 = random_tensor({3, channels, 1, 1}, 15, -0.5f, 0.5f);
  for (int64_t c = 0; c < channels; ++c) {
    const float k = std::pow(10.0f, float(c % 5) / 2 - 1);
    for (int64_t j = 0; j < 4; ++j) w1.data<float>()[c * 4 + j] *= k;
    b1.data<float>()[c] *= k;
    const int64_t group = c / per_group, col = c % per_group;
    for (int64_t o = group * per_group; o < (group + 1) * per_group; ++o)
      for (int64_t j = 0; j < 9; ++j) w2.data<float>()[(o * per_group + col) * 9 + j] /= k;
  }
  add_constant(g, "w1", w1);
  add_constant(g, "b1", b1);
  add_constant(g, "w2", w2);
  add_constant(g, "b2", b2);
  add_constant(g, "w3", w3);
  add_constant(g, "lo", Tensor::scalar<float>(0));
  add_constant(g, "hi", Tensor::scalar<float>(6));
  add_node(g, "Conv", {"x", "w1", "b1"}, {"e"});
  add_node(g, "Clip", {"e", "lo", "hi"}, {"e6"});
  auto& dw = add_node(g, "Conv", {"e6", "w2", "b2"}, {"d"});
  dw.attrs["group"] = ir::Attribute::of_int(channels / per_group);
  dw.attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  add_node(g, "Clip", {"d", "lo", "hi"}, {"d6"});
  add_node(g, "Conv", {"d6", "w3"}, {"y"});
  g.outputs = {"y"};
  return g;
}

// The graph with every Clip replaced by Relu: the function relu6_to_relu must keep.
ir::Graph with_relu(ir::Graph g) {
  for (auto& n : g.nodes)
    if (n.op_type == "Clip") {
      n.op_type = "Relu";
      n.inputs.resize(1);
    }
  return g;
}

}  // namespace

TEST(Equalize, DepthwiseTripleThroughRelu6) {
  const ir::Graph g = triple(10, 1);
  ir::Graph e = g;
  quant::EqualizeOptions o;
  o.iterations = 1;
  o.relu6_to_relu = true;
  const quant::EqualizeReport r = quant::equalize_cross_layer(e, o);
  EXPECT_EQ(r.pairs, 2);  // expand -> depthwise, depthwise -> project
  EXPECT_EQ(r.clips_relu, 2);
  for (const auto& n : e.nodes) EXPECT_NE(n.op_type, "Clip");
  // Inputs scaled up so that many activations pass 6: the Relu graph's function, not ReLU6's.
  Tensor x = random_tensor({2, 4, 6, 6}, 21, -40.0f, 40.0f);
  const Tensor want = run_reference(with_relu(g), x);
  EXPECT_LT(test::max_rel_diff(run_reference(e, x), want), 1e-5f);
  EXPECT_GT(test::max_rel_diff(run_reference(g, x), want), 0.01f) << "no activation passed 6";
  // One sweep: the expand -> depthwise pair was balanced first, then depthwise -> project, so
  // the project's input channel c and the depthwise filter c end with the same range, and the
  // expansion's output channel c with the depthwise filter's range before the second pair.
  const Tensor& e2 = *e.constant("w2");
  const Tensor& e3 = *e.constant("w3");
  for (int64_t c = 0; c < 10; ++c) {
    const float dw = channel_max(e2, 0, c), proj = channel_max(e3, 1, c);
    EXPECT_NEAR(dw, proj, 1e-5f * proj) << c;
  }
  // Four sweeps: the per-channel ranges of the expansion spread far less than before.
  ir::Graph f = g;
  o.iterations = 4;
  quant::equalize_cross_layer(f, o);
  auto spread = [](const Tensor& w) {
    float lo = INFINITY, hi = 0;
    for (int64_t c = 0; c < w.dim(0); ++c) {
      lo = std::min(lo, channel_max(w, 0, c));
      hi = std::max(hi, channel_max(w, 0, c));
    }
    return hi / lo;
  };
  EXPECT_LT(spread(*f.constant("w1")) * 10, spread(*g.constant("w1")));
  EXPECT_LT(test::max_rel_diff(run_reference(f, x), want), 1e-5f);
}

TEST(Equalize, GroupedConvolutionBalancesEachInputChannelWithinItsGroup) {
  // Groups of 2 channels: input channel c of the grouped convolution is column c % 2 of the
  // output channels of group c / 2. Relu between them (no option needed).
  const ir::Graph g = with_relu(triple(6, 2));
  ir::Graph e = g;
  EXPECT_EQ(quant::equalize_cross_layer(e, {1}).pairs, 2);
  const Tensor x = random_tensor({2, 4, 6, 6}, 22);
  EXPECT_LT(test::max_rel_diff(run_reference(e, x), run_reference(g, x)), 1e-5f);
  // The first pair made expansion channel c's range sqrt(r1 * r2), r2 that of column c % 2 of
  // its group's filters; the second pair then rescaled the grouped convolution's outputs only.
  const Tensor& w1 = *g.constant("w1");
  const Tensor& w2 = *g.constant("w2");
  const Tensor& e1 = *e.constant("w1");
  for (int64_t c = 0; c < 6; ++c) {
    float r2 = 0;
    for (int64_t o = (c / 2) * 2; o < (c / 2) * 2 + 2; ++o)
      for (int64_t j = 0; j < 9; ++j)
        r2 = std::max(r2, std::abs(w2.data<float>()[(o * 2 + c % 2) * 9 + j]));
    const float want = std::sqrt(channel_max(w1, 0, c) * r2);
    EXPECT_NEAR(channel_max(e1, 0, c), want, 1e-5f * want) << c;
  }
}
