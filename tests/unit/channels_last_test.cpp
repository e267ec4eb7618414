// Float convolution regions: 2-D convolutions, pools and element-wise ops run on NHWC tensors
// with Transposes only at the region's borders (passes/channels_last.cpp), residual Adds fold
// into the convolution before them (passes/fuse_add.cpp, a sum post-op, in place where the
// plan allows). Each graph is checked against the reference kernels on the graph as written,
// with both the oneDNN kernels and the reference kernels on the rewritten graph.
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/ref/qbench_ops.h"
#include "passes/passes.h"
#include "test_util.h"

using namespace qbench;
using test::add_constant;
using test::add_input;
using test::add_node;
using test::random_tensor;

namespace {

engine::EngineOptions reference_unoptimized() {
  engine::EngineOptions o;
  o.optimized_kernels = false;
  o.optimize_graph = false;
  return o;
}

int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

ir::Node& conv(ir::Graph& g, const std::string& x, const std::string& y, int64_t cin,
               int64_t cout, int64_t k, uint32_t seed, int64_t groups = 1, int64_t stride = 1) {
  add_constant(g, y + "_w", random_tensor({cout, cin / groups, k, k}, seed, -0.5f, 0.5f));
  add_constant(g, y + "_b", random_tensor({cout}, seed + 1));
  ir::Node& n = add_node(g, "Conv", {x, y + "_w", y + "_b"}, {y});
  n.attrs["pads"] = ir::Attribute::of_ints({k / 2, k / 2, k / 2, k / 2});
  n.attrs["group"] = ir::Attribute::of_int(groups);
  n.attrs["strides"] = ir::Attribute::of_ints({stride, stride});
  return n;
}

// x[N,8,10,10] -> Conv3x3+Relu -> MaxPool -> {Conv1x1 a, Conv1x1 b} -> Add -> Relu
//   -> depthwise Conv (stride 2) -> AveragePool -> Mul by itself -> GlobalAveragePool -> Flatten
ir::Graph residual_cnn() {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {8, ""}, {10, ""}, {10, ""}});
  conv(g, "x", "c1", 8, 16, 3, 1);
  add_node(g, "Relu", {"c1"}, {"r1"});
  auto& mp = add_node(g, "MaxPool", {"r1"}, {"p"});
  mp.attrs["kernel_shape"] = ir::Attribute::of_ints({2, 2});
  mp.attrs["strides"] = ir::Attribute::of_ints({2, 2});
  conv(g, "p", "a", 16, 32, 1, 3);
  conv(g, "p", "b", 16, 32, 1, 5);
  add_node(g, "Add", {"a", "b"}, {"s"});
  add_node(g, "Relu", {"s"}, {"r2"});
  conv(g, "r2", "d", 32, 32, 3, 7, /*groups=*/32, /*stride=*/2);
  auto& ap = add_node(g, "AveragePool", {"d"}, {"ap"});
  ap.attrs["kernel_shape"] = ir::Attribute::of_ints({2, 2});
  ap.attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  add_node(g, "Mul", {"ap", "ap"}, {"m"});
  add_node(g, "GlobalAveragePool", {"m"}, {"gap"});
  add_node(g, "Flatten", {"gap"}, {"y"});
  g.outputs = {"y"};
  return g;
}

// Runs `g` three ways and checks the two optimized ones against the reference on `g` as written.
void expect_matches_reference(const ir::Graph& g, const Tensor& x) {
  Tensor want = engine::Engine(g, reference_unoptimized()).run({x})[0];
  Tensor fast = engine::Engine(g).run({x})[0];
  engine::EngineOptions ref_rewritten;
  ref_rewritten.optimized_kernels = false;
  Tensor ref = engine::Engine(g, ref_rewritten).run({x})[0];
  ASSERT_EQ(fast.shape(), want.shape());
  ASSERT_EQ(ref.shape(), want.shape());
  EXPECT_LT(test::max_rel_diff(fast, want), 1e-5f);
  EXPECT_LT(test::max_rel_diff(ref, want), 1e-6f);
}

}  // namespace

TEST(ChannelsLast, ResidualCnnRunsNhwcBetweenOneTransposeInAndOneOut) {
  ir::Graph g = residual_cnn();
  engine::Engine e(g);
  const ir::Graph& o = e.graph();
  // The Add and both Relus are gone: Add + Relu into the later 1x1 convolution, the first Relu
  // into the first convolution.
  EXPECT_EQ(count_op(o, "Add") + count_op(o, "Relu"), 0);
  EXPECT_EQ(count_op(o, "Conv"), 4);
  int residual = 0;
  for (const auto& n : o.nodes) {
    if (n.op_type == "Conv" || n.op_type == "MaxPool" || n.op_type == "AveragePool" ||
        n.op_type == "GlobalAveragePool") {
      EXPECT_EQ(n.domain, kernels::ref::kQbenchDomain) << n.name;
      EXPECT_TRUE(kernels::ref::channels_last(n)) << n.name;
    }
    if (n.op_type == "Conv" && n.inputs.size() == 4) {
      residual++;
      ASSERT_EQ(n.fused.size(), 1u);
      EXPECT_EQ(n.fused[0].op_type, "Relu");
    }
  }
  EXPECT_EQ(residual, 1);
  // NHWC from the first convolution to the global pool: one Transpose each way.
  EXPECT_EQ(count_op(o, "Transpose"), 2);
  for (int64_t batch : {1, 3}) expect_matches_reference(g, random_tensor({batch, 8, 10, 10}, 11));

  // Every convolution and pool ran on oneDNN, the residual one as a sum post-op.
  auto& plan = e.plan_for(e.input_types(2));
  int sums = 0;
  for (const auto& s : plan.steps()) {
    if (s.node.op_type == "Transpose" || s.node.op_type == "Flatten") continue;
    EXPECT_EQ(s.kernel_name, "onednn") << s.node.name << ": " << s.rejected;
    sums += s.impl.find("sum post-op") != std::string::npos;
  }
  EXPECT_EQ(sums, 1);
}

TEST(ChannelsLast, ResidualThatIsAlsoTheConvolutionInputIsNotOverwritten) {
  // y = Relu(Conv(a) + a): the residual is the convolution's own input, so its buffer must not
  // become the output's while the convolution reads it.
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {16, ""}, {6, ""}, {6, ""}});
  conv(g, "x", "a", 16, 16, 1, 1);
  conv(g, "a", "c", 16, 16, 3, 3);
  add_node(g, "Add", {"c", "a"}, {"s"});
  add_node(g, "Relu", {"s"}, {"y"});
  g.outputs = {"y"};
  engine::Engine e(g);
  EXPECT_EQ(count_op(e.graph(), "Add"), 0);
  expect_matches_reference(g, random_tensor({2, 16, 6, 6}, 4));
}

TEST(ChannelsLast, ResidualReadAgainLaterIsCopiedNotOverwritten) {
  // z feeds the residual Add and, after it, another Add: it must survive the fused convolution.
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {16, ""}, {6, ""}, {6, ""}});
  conv(g, "x", "z", 16, 16, 1, 1);
  conv(g, "x", "c", 16, 16, 3, 3);
  add_node(g, "Add", {"c", "z"}, {"s"});
  add_node(g, "Add", {"s", "z"}, {"y"});
  g.outputs = {"y"};
  engine::Engine e(g);
  EXPECT_EQ(count_op(e.graph(), "Add"), 1);
  expect_matches_reference(g, random_tensor({2, 16, 6, 6}, 5));
}

TEST(ChannelsLast, BroadcastResidualRunsOnTheReferenceForm) {
  // Add(Conv(x), GlobalAveragePool(x)): z is [N, C, 1, 1]; oneDNN's sum post-op needs z of the
  // output's shape, so the fused node declines it and the reference form broadcasts.
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {8, ""}, {5, ""}, {5, ""}});
  conv(g, "x", "c", 8, 8, 3, 2);
  add_node(g, "GlobalAveragePool", {"x"}, {"z"});
  add_node(g, "Add", {"c", "z"}, {"y"});
  g.outputs = {"y"};
  engine::Engine e(g);
  EXPECT_EQ(count_op(e.graph(), "Add"), 0);
  expect_matches_reference(g, random_tensor({2, 8, 5, 5}, 6));
  auto& plan = e.plan_for(e.input_types(2));
  for (const auto& s : plan.steps())
    if (s.node.op_type == "Conv") {
      EXPECT_EQ(s.kernel_name, "reference");
      EXPECT_NE(s.rejected.find("broadcasts"), std::string::npos) << s.rejected;
    }
}

TEST(ChannelsLast, LeftAloneWhereItDoesNotApply) {
  // A constant addend is a bias, not a residual; a convolution output read twice keeps its Add;
  // a 1-D convolution stays NCHW.
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {4, ""}, {6, ""}, {6, ""}});
  conv(g, "x", "c", 4, 4, 3, 1);
  add_constant(g, "k", random_tensor({1, 4, 1, 1}, 2));
  add_node(g, "Add", {"c", "k"}, {"y1"});
  conv(g, "x", "d", 4, 4, 1, 3);
  add_node(g, "Add", {"d", "x"}, {"y2"});
  add_node(g, "Relu", {"d"}, {"y3"});
  g.outputs = {"y1", "y2", "y3"};
  ir::Graph o = g;
  EXPECT_EQ(passes::fuse_residual(o), 0);

  ir::Graph g1;
  g1.opsets[""] = 13;
  add_input(g1, "x", {{-1, "N"}, {4, ""}, {9, ""}});
  add_constant(g1, "w", random_tensor({4, 4, 3}, 1));
  add_node(g1, "Conv", {"x", "w"}, {"y"});
  g1.outputs = {"y"};
  EXPECT_EQ(passes::to_channels_last(g1), 0);
}

namespace {

// The bf16 recipe's form of g: every Conv's weights become a bfloat16 constant feeding
// Cast(to float). With round_inputs, each Conv's data input also passes through Cast(to
// bfloat16) -> Cast(to float): bf16 compute spelled out in ONNX ops, for the reference kernels.
ir::Graph bf16_convs(ir::Graph g, bool round_inputs) {
  std::vector<ir::Node> added;
  for (auto& n : g.nodes) {
    if (n.op_type != "Conv") continue;
    const Tensor& w = *g.constant(n.inputs[1]);
    Tensor wb(DType::BF16, w.shape());
    for (int64_t i = 0; i < w.numel(); ++i)
      wb.data<uint16_t>()[i] = float_to_bf16(w.data<float>()[i]);
    const std::string wn = n.inputs[1] + "_bf16";
    add_constant(g, wn, std::move(wb));
    auto cast = [&](const std::string& from, const std::string& to, DType t) {
      ir::Node c;
      c.name = to;
      c.op_type = "Cast";
      c.inputs = {from};
      c.outputs = {to};
      c.attrs["to"] = ir::Attribute::of_int(int64_t(t));
      added.push_back(std::move(c));
    };
    cast(wn, wn + "_f32", DType::F32);
    n.inputs[1] = wn + "_f32";
    if (round_inputs) {
      cast(n.inputs[0], n.outputs[0] + "_xb", DType::BF16);
      cast(n.outputs[0] + "_xb", n.outputs[0] + "_xr", DType::F32);
      n.inputs[0] = n.outputs[0] + "_xr";
    }
  }
  for (auto& c : added) g.nodes.push_back(std::move(c));
  g.toposort();
  return g;
}

}  // namespace

TEST(ChannelsLast, Bf16ConvolutionsJoinTheRegionAndKeepBf16Arithmetic) {
  const ir::Graph f32 = residual_cnn();
  const ir::Graph g = bf16_convs(f32, false);
  engine::Engine e(g);
  const ir::Graph& o = e.graph();
  // Same region as the f32 graph: residual Add and Relus fused, NHWC between two Transposes.
  EXPECT_EQ(count_op(o, "Add") + count_op(o, "Relu"), 0);
  EXPECT_EQ(count_op(o, "Transpose"), 2);
  for (const auto& n : o.nodes)
    if (n.op_type == "Conv") {
      EXPECT_EQ(n.compute_type, DType::BF16) << n.name;
      EXPECT_TRUE(kernels::ref::channels_last(n)) << n.name;
    }
  // bf16 arithmetic is the f32 reference on bf16-rounded conv inputs, up to the order of the
  // f32 sums (and the rare input that rounds to the other bf16 neighbour because of it); plain
  // f32 arithmetic on the same weights is ~1.5e-3 away here.
  const ir::Graph spelled = bf16_convs(f32, true);
  for (int64_t batch : {1, 3}) {
    Tensor x = random_tensor({batch, 8, 10, 10}, 11);
    Tensor want = engine::Engine(spelled, reference_unoptimized()).run({x})[0];
    Tensor fast = e.run({x})[0];
    Tensor f32_out = engine::Engine(g, reference_unoptimized()).run({x})[0];
    ASSERT_EQ(fast.shape(), want.shape());
    EXPECT_LT(test::max_rel_diff(fast, want), 5e-4f);
    EXPECT_GT(test::max_rel_diff(f32_out, want), 1e-3f) << "the test cannot tell bf16 from f32";
  }
  auto& plan = e.plan_for(e.input_types(2));
  for (const auto& s : plan.steps()) {
    if (s.node.op_type == "Conv") {
      EXPECT_EQ(s.kernel_name, "onednn") << s.rejected;
    }
  }
}

TEST(ChannelsLast, Bf16ActivationsBetweenBf16Convolutions) {
  // A bottleneck: x -> 1x1 a + Relu -> 3x3 b + Relu -> 1x1 c, + x, Relu. a and b are read only
  // by the next convolution, so they are stored in bf16 (where the CPU has native bf16); c takes
  // the residual and stays f32. A second branch: d is read by a convolution and by a MaxPool (f32),
  // e is a graph output (f32).
  ir::Graph f32;
  f32.opsets[""] = 13;
  add_input(f32, "x", {{-1, "N"}, {16, ""}, {8, ""}, {8, ""}});
  conv(f32, "x", "a", 16, 8, 1, 21);
  add_node(f32, "Relu", {"a"}, {"ar"});
  conv(f32, "ar", "b", 8, 8, 3, 23);
  add_node(f32, "Relu", {"b"}, {"br"});
  conv(f32, "br", "c", 8, 16, 1, 25);
  add_node(f32, "Add", {"c", "x"}, {"s"});
  add_node(f32, "Relu", {"s"}, {"y"});
  conv(f32, "y", "d", 16, 8, 3, 27);
  conv(f32, "d", "e", 8, 4, 3, 29);
  auto& mp = add_node(f32, "MaxPool", {"d"}, {"p"});
  mp.attrs["kernel_shape"] = ir::Attribute::of_ints({2, 2});
  f32.outputs = {"y", "e", "p"};
  const ir::Graph g = bf16_convs(f32, false);
  engine::Engine e(g);
  std::map<std::string, DType> stored;  // original conv name -> dtype of its output
  for (const auto& n : e.graph().nodes)
    if (n.op_type == "Conv") {
      const std::string name = n.inputs[1].substr(0, 1);  // weights "a_w..." of conv a
      stored[name] = e.graph().values.at(n.outputs[0]).dtype;
      EXPECT_EQ(n.has_attr("output_dtype"), stored[name] == DType::BF16) << name;
    }
  // Only where the CPU computes in bf16: elsewhere the convolutions compute in f32 on inputs
  // they round themselves, and bf16 storage would only add conversions.
  const DType inner = kernels::onednn::native_bf16() ? DType::BF16 : DType::F32;
  const std::map<std::string, DType> want_stored = {
      {"a", inner}, {"b", inner}, {"c", DType::F32}, {"d", DType::F32}, {"e", DType::F32}};
  EXPECT_EQ(stored, want_stored);
  // The arithmetic is the bf16 recipe's, on the fast kernels and on the reference kernels of
  // the rewritten graph (which read and write the bf16 tensors).
  const ir::Graph spelled = bf16_convs(f32, true);
  engine::EngineOptions ref_rewritten;
  ref_rewritten.optimized_kernels = false;
  for (int64_t batch : {1, 2}) {
    Tensor x = random_tensor({batch, 16, 8, 8}, 31);
    std::vector<Tensor> want = engine::Engine(spelled, reference_unoptimized()).run({x});
    std::vector<Tensor> fast = e.run({x});
    std::vector<Tensor> ref = engine::Engine(g, ref_rewritten).run({x});
    std::vector<Tensor> f32_out = engine::Engine(g, reference_unoptimized()).run({x});
    for (size_t o = 0; o < want.size(); ++o) {
      ASSERT_EQ(fast[o].shape(), want[o].shape()) << o;
      EXPECT_EQ(fast[o].dtype(), DType::F32) << o;
      EXPECT_LT(test::max_rel_diff(fast[o], want[o]), 5e-4f) << o;
      EXPECT_LT(test::max_rel_diff(ref[o], want[o]), 1e-5f) << o;
    }
    EXPECT_GT(test::max_rel_diff(f32_out[1], want[1]), 1e-3f) << "cannot tell bf16 from f32";
  }
  auto& plan = e.plan_for(e.input_types(2));
  for (const auto& s : plan.steps()) {
    if (s.node.op_type == "Conv") {
      EXPECT_EQ(s.kernel_name, "onednn") << s.rejected;
    }
  }
}
