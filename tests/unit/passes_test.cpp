// Graph passes keep the function the graph computes (checked with the reference kernels on the
// unoptimized graph) while removing, folding and fusing the nodes they are meant to.
#include "passes/passes.h"

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "kernels/ref/qbench_ops.h"
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

Tensor run(const ir::Graph& g, const Tensor& x, engine::EngineOptions o) {
  return engine::Engine(g, o).run({x})[0];
}

int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

// x -> Conv -> BatchNormalization -> Relu -> y
ir::Graph conv_bn_relu(int64_t groups) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {4, ""}, {9, ""}, {9, ""}});
  add_constant(g, "w", random_tensor({8, 4 / groups, 3, 3}, 1));
  add_constant(g, "b", random_tensor({8}, 2));
  add_constant(g, "scale", random_tensor({8}, 3, 0.5f, 2.0f));
  add_constant(g, "shift", random_tensor({8}, 4));
  add_constant(g, "mean", random_tensor({8}, 5));
  add_constant(g, "var", random_tensor({8}, 6, 0.1f, 3.0f));
  auto& conv = add_node(g, "Conv", {"x", "w", "b"}, {"c"});
  conv.attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  conv.attrs["group"] = ir::Attribute::of_int(groups);
  auto& bn = add_node(g, "BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"bn"});
  bn.attrs["epsilon"] = ir::Attribute::of_float(1e-3f);
  add_node(g, "Relu", {"bn"}, {"y"});
  g.outputs = {"y"};
  return g;
}

}  // namespace

TEST(Passes, FoldBatchNormIntoConvAndFuseRelu) {
  for (int64_t groups : {1, 2, 4}) {
    ir::Graph g = conv_bn_relu(groups);
    ir::Graph opt = g;
    EXPECT_EQ(passes::fold_batchnorm(opt), 1);
    EXPECT_EQ(passes::fuse_activations(opt), 1);
    ASSERT_EQ(opt.nodes.size(), 1u);
    EXPECT_EQ(opt.nodes[0].op_type, "Conv");
    ASSERT_EQ(opt.nodes[0].fused.size(), 1u);
    EXPECT_EQ(opt.nodes[0].fused[0].op_type, "Relu");
    EXPECT_EQ(opt.nodes[0].outputs[0], "y");
    Tensor x = random_tensor({2, 4, 9, 9}, 9);
    Tensor want = run(g, x, reference_unoptimized());
    EXPECT_LT(test::max_rel_diff(run(opt, x, reference_unoptimized()), want), 1e-5f);
    EXPECT_LT(test::max_rel_diff(run(g, x, {}), want), 1e-5f);
  }
}

TEST(Passes, BatchNormNotFoldedWhenConvOutputHasOtherUsers) {
  ir::Graph g = conv_bn_relu(1);
  add_node(g, "Relu", {"c"}, {"y2"});
  g.outputs.push_back("y2");
  EXPECT_EQ(passes::fold_batchnorm(g), 0);
  EXPECT_EQ(count_op(g, "BatchNormalization"), 1);
}

TEST(Passes, FoldBatchNormIntoGemm) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {5, ""}});
  add_constant(g, "w", random_tensor({6, 5}, 1));
  add_constant(g, "b", random_tensor({6}, 2));
  add_constant(g, "scale", random_tensor({6}, 3, 0.5f, 2.0f));
  add_constant(g, "shift", random_tensor({6}, 4));
  add_constant(g, "mean", random_tensor({6}, 5));
  add_constant(g, "var", random_tensor({6}, 6, 0.1f, 3.0f));
  auto& gemm = add_node(g, "Gemm", {"x", "w", "b"}, {"h"});
  gemm.attrs["transB"] = ir::Attribute::of_int(1);
  add_node(g, "BatchNormalization", {"h", "scale", "shift", "mean", "var"}, {"y"});
  g.outputs = {"y"};
  ir::Graph opt = g;
  EXPECT_EQ(passes::fold_batchnorm(opt), 1);
  EXPECT_EQ(count_op(opt, "BatchNormalization"), 0);
  Tensor x = random_tensor({3, 5}, 8);
  EXPECT_LT(
      test::max_rel_diff(run(opt, x, reference_unoptimized()), run(g, x, reference_unoptimized())),
      1e-5f);
}

TEST(Passes, RemoveIdentityAndDropout) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{2, ""}, {3, ""}});
  add_node(g, "Identity", {"x"}, {"a"});
  add_node(g, "Dropout", {"a"}, {"b"});
  add_node(g, "Relu", {"b"}, {"c"});
  add_node(g, "Identity", {"c"}, {"y"});  // produces a graph output: kept
  g.outputs = {"y"};
  EXPECT_EQ(passes::remove_identity(g), 2);
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op_type, "Relu");
  EXPECT_EQ(g.nodes[0].inputs[0], "x");
  Tensor x = random_tensor({2, 3}, 1);
  Tensor y = run(g, x, reference_unoptimized());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y.data<float>()[i], std::max(0.0f, x.data<float>()[i]));
}

TEST(Passes, FoldConstantsThroughShapeArithmetic) {
  // Constant -> Mul by a constant -> used as Reshape's shape: everything but Reshape folds.
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{2, ""}, {6, ""}});
  auto& c = add_node(g, "Constant", {}, {"s0"});
  c.attrs["value"] = ir::Attribute::of_tensor(Tensor::from_vector<int64_t>({2}, {4, 6}));
  g.value("s0").dtype = DType::I64;
  add_constant(g, "k", Tensor::from_vector<int64_t>({2}, {1, 2}));
  add_node(g, "Div", {"s0", "k"}, {"s1"});
  g.value("s1").dtype = DType::I64;
  add_node(g, "Reshape", {"x", "s1"}, {"y"});
  g.outputs = {"y"};
  EXPECT_EQ(passes::fold_constants(g), 2);
  ASSERT_EQ(g.nodes.size(), 1u);
  ASSERT_TRUE(g.constant("s1"));
  EXPECT_EQ(g.constant("s1")->to_int64(), (std::vector<int64_t>{4, 3}));
  Tensor y = run(g, random_tensor({2, 6}, 3), reference_unoptimized());
  EXPECT_EQ(y.shape(), (Shape{4, 3}));
}

TEST(Passes, ClipWithConstantBoundsFusesIntoMatMul) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{4, ""}, {8, ""}});
  add_constant(g, "w", random_tensor({8, 5}, 1));
  add_constant(g, "lo", Tensor::scalar(0.0f));
  add_constant(g, "hi", Tensor::scalar(0.25f));
  add_node(g, "MatMul", {"x", "w"}, {"h"});
  add_node(g, "Clip", {"h", "lo", "hi"}, {"y"});
  g.outputs = {"y"};
  ir::Graph opt = g;
  EXPECT_EQ(passes::fuse_activations(opt), 1);
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.nodes[0].fused[0].clip_min, 0.0f);
  EXPECT_EQ(opt.nodes[0].fused[0].clip_max, 0.25f);
  Tensor x = random_tensor({4, 8}, 2);
  Tensor want = run(g, x, reference_unoptimized());
  EXPECT_LT(test::max_rel_diff(run(opt, x, reference_unoptimized()), want), 1e-6f);
  EXPECT_LT(test::max_rel_diff(run(g, x, {}), want), 1e-5f);
}

// GELU as exporters before opset 20 write it, in the three orders of the final products seen in
// PyTorch and TensorFlow exports: one qbench.Gelu node computing the same function.
TEST(Passes, GeluPatternsBecomeOneNode) {
  for (int spelling = 0; spelling < 3; ++spelling) {
    ir::Graph g;
    g.opsets[""] = 13;
    add_input(g, "x", {{3, ""}, {40, ""}});
    add_constant(g, "sqrt2", Tensor::scalar(1.4142135f));
    add_constant(g, "inv_sqrt2", Tensor::scalar(0.70710678f));
    add_constant(g, "one", Tensor::scalar(1.0f));
    add_constant(g, "half", Tensor::scalar(0.5f));
    if (spelling == 1)
      add_node(g, "Mul", {"x", "inv_sqrt2"}, {"s"});
    else
      add_node(g, "Div", {"x", "sqrt2"}, {"s"});
    add_node(g, "Erf", {"s"}, {"e"});
    add_node(g, "Add", {"one", "e"}, {"t"});
    if (spelling == 0) {  // PyTorch: (x * t) * 0.5
      add_node(g, "Mul", {"x", "t"}, {"m"});
      add_node(g, "Mul", {"m", "half"}, {"y"});
    } else if (spelling == 1) {  // (x * 0.5) * t
      add_node(g, "Mul", {"half", "x"}, {"m"});
      add_node(g, "Mul", {"m", "t"}, {"y"});
    } else {  // x * (t * 0.5)
      add_node(g, "Mul", {"t", "half"}, {"m"});
      add_node(g, "Mul", {"x", "m"}, {"y"});
    }
    g.outputs = {"y"};
    ir::Graph opt = g;
    EXPECT_EQ(passes::fuse_gelu(opt), 1) << spelling;
    ASSERT_EQ(opt.nodes.size(), 1u) << spelling;
    EXPECT_EQ(opt.nodes[0].op_type, "Gelu");
    Tensor x = random_tensor({3, 40}, 7, -4.0f, 4.0f);
    Tensor want = run(g, x, reference_unoptimized());
    EXPECT_LT(test::max_rel_diff(run(opt, x, reference_unoptimized()), want), 1e-6f) << spelling;
    EXPECT_LT(test::max_rel_diff(run(g, x, {}), want), 1e-5f) << spelling;
  }
}

// An intermediate read by another node must survive: the pattern is left alone.
TEST(Passes, GeluWithSharedIntermediateStays) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{2, ""}, {8, ""}});
  add_constant(g, "sqrt2", Tensor::scalar(1.4142135f));
  add_constant(g, "one", Tensor::scalar(1.0f));
  add_constant(g, "half", Tensor::scalar(0.5f));
  add_node(g, "Div", {"x", "sqrt2"}, {"s"});
  add_node(g, "Erf", {"s"}, {"e"});
  add_node(g, "Add", {"e", "one"}, {"t"});
  add_node(g, "Mul", {"x", "t"}, {"m"});
  add_node(g, "Mul", {"m", "half"}, {"y"});
  g.outputs = {"y", "e"};
  EXPECT_EQ(passes::fuse_gelu(g), 0);
  EXPECT_EQ(g.nodes.size(), 5u);
}

// Before a save (allow_growth false) folding must not store what a small node computes:
// ConstantOfShape [64, 64] stays a node, while a Cast of float16 weights (2x) still folds.
TEST(Passes, FoldingBeforeASaveDoesNotGrowTheFile) {
  auto build = [] {
    ir::Graph g;
    g.opsets[""] = 13;
    add_input(g, "x", {{64, ""}, {64, ""}});
    add_constant(g, "shape", Tensor::from_vector<int64_t>({2}, {64, 64}));
    std::vector<uint16_t> half(64 * 64, 0x3c00);  // 1.0 in float16
    add_constant(g, "w16", Tensor::from_vector<uint16_t>({64, 64}, half));
    g.value("w16").data = Tensor::from_data(DType::F16, {64, 64}, g.value("w16").data->raw());
    g.value("w16").dtype = DType::F16;
    auto& c = add_node(g, "ConstantOfShape", {"shape"}, {"zeros"});
    c.attrs["value"] = ir::Attribute::of_tensor(Tensor::from_vector<float>({1}, {0.5f}));
    auto& cast = add_node(g, "Cast", {"w16"}, {"w"});
    cast.attrs["to"] = ir::Attribute::of_int(static_cast<int64_t>(DType::F32));
    add_node(g, "Add", {"x", "zeros"}, {"a"});
    add_node(g, "MatMul", {"a", "w"}, {"y"});
    g.outputs = {"y"};
    return g;
  };
  ir::Graph saved = build(), engine = build();
  passes::fold_constants(saved, /*allow_growth=*/false);
  passes::fold_constants(engine);
  EXPECT_EQ(count_op(saved, "ConstantOfShape"), 1);
  EXPECT_EQ(count_op(saved, "Cast"), 0);
  EXPECT_EQ(count_op(engine, "ConstantOfShape"), 0);
  Tensor x = random_tensor({64, 64}, 3);
  EXPECT_LT(test::max_rel_diff(run(saved, x, reference_unoptimized()),
                               run(build(), x, reference_unoptimized())),
            1e-6f);
}

TEST(ShapeInference, SymbolicBatchStaysSymbolic) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {4, ""}, {9, ""}, {9, ""}});
  add_constant(g, "w", random_tensor({8, 4, 3, 3}, 1));
  auto& conv = add_node(g, "Conv", {"x", "w"}, {"c"});
  conv.attrs["strides"] = ir::Attribute::of_ints({2, 2});
  add_node(g, "Flatten", {"c"}, {"f"});
  add_node(g, "Shape", {"f"}, {"s"});
  g.outputs = {"f", "s"};
  engine::infer_shapes(g);
  EXPECT_EQ(ir::dims_str(*g.values.at("c").dims), "[N, 8, 4, 4]");
  EXPECT_EQ(ir::dims_str(*g.values.at("f").dims), "[N, 128]");
  EXPECT_EQ(ir::dims_str(*g.values.at("s").dims), "[2]");
  EXPECT_EQ(g.values.at("s").dtype, DType::I64);
}

// A Linear layer as exporters write it, x[N,T,K] -> MatMul(W[K,M]) -> Add(b[M]) -> Relu, becomes
// one qbench.MatMul with the bias and the Relu; a bias that is not one value per column stays an
// Add. Both compute what the graph as written computes.
TEST(Passes, MatMulBiasAndActivationFuseIntoOneNode) {
  for (Shape bias : {Shape{6}, Shape{1, 6}, Shape{5, 6}}) {
    ir::Graph g;
    g.opsets[""] = 13;
    add_input(g, "x", {{-1, "N"}, {5, ""}, {4, ""}});
    add_constant(g, "w", random_tensor({4, 6}, 1));
    add_constant(g, "b", random_tensor(bias, 2));
    add_node(g, "MatMul", {"x", "w"}, {"m"});
    add_node(g, "Add", {"m", "b"}, {"a"});
    add_node(g, "Relu", {"a"}, {"y"});
    g.outputs = {"y"};
    const bool row = bias.back() == 6 && shape_numel(bias) == 6;
    engine::Engine e(g);
    const ir::Graph& o = e.graph();
    EXPECT_EQ(count_op(o, "Add"), row ? 0 : 1) << shape_str(bias);
    if (row) {
      ASSERT_EQ(o.nodes.size(), 1u);
      EXPECT_EQ(o.nodes[0].domain, "qbench");
      ASSERT_EQ(o.nodes[0].fused.size(), 1u);
      EXPECT_EQ(o.nodes[0].fused[0].op_type, "Relu");
      EXPECT_EQ(e.plan_for(e.input_types(2)).steps()[0].kernel_name, "onednn");
    }
    Tensor x = random_tensor({2, 5, 4}, 3);
    Tensor want = run(g, x, reference_unoptimized());
    EXPECT_LT(test::max_rel_diff(e.run({x})[0], want), 1e-5f);
    engine::EngineOptions ref_rewritten;
    ref_rewritten.optimized_kernels = false;
    EXPECT_LT(test::max_rel_diff(run(g, x, ref_rewritten), want), 1e-6f);
  }
}

namespace {

// x -> QLinearConv (channels-last, qbench) -> c; QLinearAdd(c, r) + Relu -> y, as fuse_qdq and
// to_channels_last leave a residual block's end; `change` edits it before the pass runs.
template <typename Change>
int fuse_residual_block(Change&& change, ir::Graph& g) {
  g.opsets[""] = 13;
  add_input(g, "x", {{1, ""}, {5, ""}, {5, ""}, {8, ""}});
  add_input(g, "r", {{1, ""}, {5, ""}, {5, ""}, {16, ""}});
  auto scalar = [&](const std::string& n, Tensor t) { add_constant(g, n, std::move(t)); };
  for (const char* s : {"xs", "ws", "ys", "rs", "zs"}) scalar(s, Tensor::scalar(0.05f));
  for (const char* z : {"xz", "yz", "rz", "zz"}) scalar(z, Tensor::scalar<uint8_t>(100));
  scalar("wz", Tensor::scalar<int8_t>(0));
  add_constant(g, "w", Tensor(DType::I8, {16, 8, 1, 1}));
  ir::Node& conv =
      add_node(g, "QLinearConv", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"}, {"c"});
  conv.domain = "qbench";
  conv.attrs["channels_last"] = ir::Attribute::of_int(1);
  ir::Node& add = add_node(g, "QLinearAdd", {"c", "ys", "yz", "r", "rs", "rz", "zs", "zz"}, {"y"});
  add.domain = "qbench";
  add.fused.push_back(ir::FusedOp{});
  add.fused.back().op_type = "Relu";
  g.outputs = {"y"};
  change(g);
  return passes::fuse_int8_residual(g);
}

}  // namespace

TEST(Passes, Int8ResidualAddFoldsIntoTheConvolution) {
  ir::Graph g;
  ASSERT_EQ(fuse_residual_block([](ir::Graph&) {}, g), 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  const ir::Node& n = g.nodes[0];
  EXPECT_EQ(n.op_type, "QLinearConv");
  EXPECT_EQ(n.domain, "qbench");
  // The convolution's 8 inputs, no bias, then the residual, its quantization and the output's.
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "",
                                                "r", "rs", "rz", "zs", "zz"}));
  EXPECT_EQ(n.outputs, std::vector<std::string>{"y"});
  ASSERT_EQ(n.fused.size(), 1u);  // the Add's Relu, applied after the add
  EXPECT_EQ(n.fused[0].op_type, "Relu");
  EXPECT_TRUE(kernels::ref::has_residual(n));

  // Where the add would change what the convolution computes or where it is read, it stays.
  auto stays = [](const char* why, auto change) {
    ir::Graph h;
    EXPECT_EQ(fuse_residual_block(change, h), 0) << why;
    EXPECT_EQ(count_op(h, "QLinearAdd"), 1) << why;
  };
  stays("activation before the add", [](ir::Graph& h) {
    h.nodes[0].fused.push_back(ir::FusedOp{});
    h.nodes[0].fused.back().op_type = "Relu";
  });
  stays("conv output read elsewhere", [](ir::Graph& h) { h.outputs.push_back("c"); });
  stays("NCHW convolution", [](ir::Graph& h) { h.nodes[0].attrs.erase("channels_last"); });
  stays("constant residual", [](ir::Graph& h) {
    add_constant(h, "rc", Tensor(DType::U8, {1, 5, 5, 16}));
    h.nodes[1].inputs[3] = "rc";
  });
  stays("runtime output scale", [](ir::Graph& h) {
    add_input(h, "zs_in", {});
    h.nodes[1].inputs[6] = "zs_in";
  });
}

// Both addends convolutions: the one computed last hosts the add, so the other is ready.
TEST(Passes, Int8ResidualGoesIntoTheLaterConvolution) {
  ir::Graph g;
  ASSERT_EQ(fuse_residual_block(
                [](ir::Graph& h) {
                  ir::Node second = h.nodes[0];
                  second.name = "second";
                  second.outputs = {"c2"};
                  h.nodes.insert(h.nodes.begin() + 1, second);
                  h.nodes[2].inputs[3] = "c2";
                },
                g),
            1);
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[1].inputs[9], "c");
  EXPECT_EQ(g.nodes[1].outputs[0], "y");
}
