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
  EXPECT_EQ(quant::equalize_cross_layer(e, 1), 1);
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

TEST(Equalize, LeavesSharedAndBranchingConvolutionsAlone) {
  ir::Graph g = two_convs();
  g.outputs.push_back("r");  // the intermediate is read outside the pair
  EXPECT_EQ(quant::equalize_cross_layer(g, 1), 0);
  ir::Graph h = two_convs();
  for (auto& n : h.nodes)
    if (n.outputs[0] == "y") n.attrs["group"] = ir::Attribute::of_int(2);  // grouped
  EXPECT_EQ(quant::equalize_cross_layer(h, 1), 0);
}
