// The QDQ pass and the recipe rewrites on small hand-built graphs: where Q/DQ pairs go (ONNX
// Runtime's placement), what stays float and why, and that every rewritten graph computes what
// the float graph computes within quantization error (reference kernels).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "engine/engine.h"
#include "engine/inspect.h"
#include "quant/qdq.h"
#include "quant/recipes.h"
#include "test_util.h"

using namespace qbench;
using namespace qbench::quant;
using test::add_constant;
using test::add_input;
using test::add_node;
using test::random_tensor;

namespace {

// The coverage qbench prints: the written graph's compiled plan at batch 1.
engine::PlanReport coverage_of(const ir::Graph& g) {
  return engine::describe_graph(g, {});
}

engine::EngineOptions reference() {
  engine::EngineOptions o;
  o.optimized_kernels = false;
  return o;
}

Tensor run(const ir::Graph& g, const Tensor& x) {
  return engine::Engine(g, reference()).run({x})[0];
}

int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

const ir::Node* producer(const ir::Graph& g, const std::string& value) {
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs)
      if (o == value) return &n;
  return nullptr;
}

const ir::Node* node_named(const ir::Graph& g, const std::string& name) {
  for (const auto& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

// x[N,2,6,6] -> Conv(4x2x3x3, pad 1) -> Relu -> MaxPool(2) -> Flatten -> Gemm(transB, W[5,36]) -> y
ir::Graph small_cnn() {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {2, ""}, {6, ""}, {6, ""}});
  add_constant(g, "w", random_tensor({4, 2, 3, 3}, 1, -0.5f, 0.5f));
  add_constant(g, "b", random_tensor({4}, 2, -0.1f, 0.1f));
  add_constant(g, "fw", random_tensor({5, 36}, 3, -0.3f, 0.3f));
  add_constant(g, "fb", random_tensor({5}, 4, -0.1f, 0.1f));
  auto& conv = add_node(g, "Conv", {"x", "w", "b"}, {"c"});
  conv.name = "conv";
  conv.attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  add_node(g, "Relu", {"c"}, {"r"}).name = "relu";
  auto& pool = add_node(g, "MaxPool", {"r"}, {"p"});
  pool.name = "pool";
  pool.attrs["kernel_shape"] = ir::Attribute::of_ints({2, 2});
  pool.attrs["strides"] = ir::Attribute::of_ints({2, 2});
  add_node(g, "Flatten", {"p"}, {"f"}).name = "flatten";
  auto& gemm = add_node(g, "Gemm", {"f", "fw", "fb"}, {"y"});
  gemm.name = "fc";
  gemm.attrs["transB"] = ir::Attribute::of_int(1);
  g.outputs = {"y"};
  engine::infer_shapes(g);
  return g;
}

// Per process: the ISA matrix runs this test binary several times at once (ctest -j).
std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("qbench_quant_qdq_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

}  // namespace

TEST(QuantQdq, PlanFollowsOnnxRuntimePlacement) {
  ir::Graph g = small_cnn();
  QdqPlan plan = plan_qdq(g, {});
  // Conv's input, the Relu output (Relu absorbed), MaxPool and Flatten outputs; not the logits.
  EXPECT_EQ(plan.tensors, (std::vector<std::string>{"x", "r", "p", "f"}));
  EXPECT_EQ(plan.scale_source.at("p"), "r");  // MaxPool keeps its input's scale
  EXPECT_EQ(plan.scale_source.at("f"), "r");  // so does Flatten, through MaxPool
  EXPECT_EQ(plan.calibrated_tensors(), (std::vector<std::string>{"x", "r"}));
  EXPECT_EQ(plan.intents.size(), 4u);
  EXPECT_TRUE(plan.left_float.empty());
  const NodeIntent& conv = plan.intents[0];
  EXPECT_EQ(conv.absorbed, "relu");
  EXPECT_EQ(conv.output_tensor, "r");
  ASSERT_EQ(conv.inputs.size(), 3u);
  EXPECT_EQ(conv.inputs[1].role, InputRole::Weight);
  EXPECT_TRUE(conv.inputs[1].per_channel);
  EXPECT_EQ(conv.inputs[1].axis, 0);
  EXPECT_EQ(conv.inputs[2].role, InputRole::Bias);
  const NodeIntent& gemm = plan.intents[3];
  EXPECT_EQ(gemm.inputs[1].axis, 0);  // transB: output channels are rows
}

TEST(QuantQdq, InsertedGraphMatchesFloatWithinQuantizationError) {
  ir::Graph g = small_cnn();
  QdqPlan plan = plan_qdq(g, {});
  // Hand-picked ranges: x in [-1, 1], Relu output in [0, 3].
  std::map<std::string, QParams> params = {
      {"x", activation_qparams({-1.0f, 1.0f}, ActType::U8Asymmetric)},
      {"r", activation_qparams({0.0f, 3.0f}, ActType::U8Asymmetric)}};
  ir::Graph q = g;
  insert_qdq(q, plan, params, {});
  EXPECT_EQ(count_op(q, "QuantizeLinear"), 4);
  EXPECT_EQ(count_op(q, "DequantizeLinear"), 8);  // 4 activations, 2 weights, 2 biases
  const ir::Node* conv = node_named(q, "conv");
  ASSERT_TRUE(conv);
  const ir::Node* wdq = producer(q, conv->inputs[1]);
  ASSERT_TRUE(wdq && wdq->op_type == "DequantizeLinear");
  EXPECT_EQ(q.constant(wdq->inputs[0])->dtype(), DType::I8);
  EXPECT_EQ(wdq->attr_int("axis", -1), 0);
  const ir::Node* bdq = producer(q, conv->inputs[2]);
  ASSERT_TRUE(bdq && bdq->op_type == "DequantizeLinear");
  EXPECT_EQ(q.constant(bdq->inputs[0])->dtype(), DType::I32);
  // Bias scale = x_scale * w_scale per channel.
  const Tensor* bs = q.constant(bdq->inputs[1]);
  const Tensor* ws = q.constant(wdq->inputs[1]);
  for (int c = 0; c < 4; ++c)
    EXPECT_FLOAT_EQ(bs->data<float>()[c], params["x"].scale * ws->data<float>()[c]);
  // The Relu feeds the Q, MaxPool reads the DQ; the graph output stays float.
  const ir::Node* relu = node_named(q, "relu");
  EXPECT_EQ(relu->inputs[0], "c");
  EXPECT_EQ(producer(q, node_named(q, "pool")->inputs[0])->op_type, "DequantizeLinear");
  EXPECT_EQ(producer(q, "y")->op_type, "Gemm");
  Tensor x = random_tensor({3, 2, 6, 6}, 9);
  Tensor want = run(g, x), got = run(q, x);
  EXPECT_LT(test::max_rel_diff(got, want), 0.05f);
  EXPECT_GT(test::max_rel_diff(got, want), 0.0f) << "quantization must change something";
}

TEST(QuantQdq, OneSharedPairPerTensorAndExclusions) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{2, ""}, {8, ""}});
  add_constant(g, "w1", random_tensor({8, 4}, 1));
  add_constant(g, "w2", random_tensor({8, 4}, 2));
  add_node(g, "MatMul", {"x", "w1"}, {"a"}).name = "m1";
  add_node(g, "MatMul", {"x", "w2"}, {"b"}).name = "m2";
  add_node(g, "Add", {"a", "b"}, {"y"}).name = "add";
  g.outputs = {"y"};
  engine::infer_shapes(g);
  QdqPlan plan = plan_qdq(g, {});
  EXPECT_EQ(plan.tensors, (std::vector<std::string>{"x", "a", "b"}));
  std::map<std::string, QParams> params;
  for (const auto& t : plan.calibrated_tensors())
    params[t] = activation_qparams({-4.0f, 4.0f}, ActType::S8Symmetric);
  ir::Graph q = g;
  insert_qdq(q, plan, params, {});
  EXPECT_EQ(count_op(q, "QuantizeLinear"), 3);  // x once for both MatMuls
  EXPECT_EQ(node_named(q, "m1")->inputs[0], node_named(q, "m2")->inputs[0]);
  // Per channel on a MatMul weight: the column axis.
  EXPECT_EQ(producer(q, node_named(q, "m1")->inputs[1])->attr_int("axis", -1), 1);

  QdqOptions ex;
  ex.exclude = {"m2", "Add"};
  QdqPlan p2 = plan_qdq(g, ex);
  EXPECT_EQ(p2.tensors, (std::vector<std::string>{"x"}));
  ASSERT_EQ(p2.left_float.size(), 2u);
  EXPECT_EQ(p2.left_float[0].name, "m2");
  EXPECT_EQ(p2.left_float[0].reason, "excluded by --exclude");
}

TEST(QuantRecipes, StaticFromATableWithConstantNodeWeightsAndCoverage) {
  ir::Graph g = small_cnn();
  // Move the Conv weight into a Constant node, as some exporters do.
  ir::Node c;
  c.name = "wconst";
  c.op_type = "Constant";
  c.outputs = {"w_from_node"};
  c.attrs["value"] = ir::Attribute::of_tensor(*g.constant("w"));
  g.nodes.insert(g.nodes.begin(), c);
  g.value("w_from_node").dtype = DType::F32;
  g.nodes[1].inputs[1] = "w_from_node";
  g.values.erase("w");
  const std::string table = temp_path("small.table");
  std::ofstream(table)
      << "# test\nx edited -1 1 0.00784313772 128 u8\nr edited 0 3 0.0117647061 0 u8\n";
  QuantizeOptions o;
  o.recipe = Recipe::StaticInt8;
  o.calib_table = table;
  QuantizeResult r = quantize(g, o);
  EXPECT_EQ(r.quantized_by_op["Conv"], 1);
  EXPECT_EQ(r.quantized_by_op["Gemm"], 1);
  EXPECT_EQ(r.quantized_by_op["MaxPool"], 1);
  EXPECT_NE(r.calib_source.find("loaded from"), std::string::npos);
  // MACs: Conv 4*6*6 outputs x 18, Gemm 5 x 36 at batch 1, all in integer kernels; no float
  // weight is left.
  const engine::PlanReport cov = coverage_of(r.graph);
  EXPECT_EQ(cov.macs, 4 * 36 * 18 + 5 * 36);
  EXPECT_EQ(cov.macs_int8, cov.macs);
  EXPECT_GE(cov.params_int8, 4 * 2 * 9 + 5 * 36);
  Tensor x = random_tensor({2, 2, 6, 6}, 5);
  EXPECT_LT(test::max_rel_diff(run(r.graph, x), run(g, x)), 0.05f);

  o.exclude = {"fc"};
  QuantizeResult e = quantize(g, o);
  EXPECT_EQ(e.quantized_by_op.count("Gemm"), 0u);
  // The excluded Gemm computes in f32 with its float weight and bias.
  const engine::PlanReport ce = coverage_of(e.graph);
  EXPECT_EQ(ce.macs_int8, 4 * 36 * 18);
  EXPECT_EQ(ce.macs_f32, 5 * 36);
  EXPECT_GE(ce.params_f32, 5 * 36 + 5);
  // A table that lacks a tensor is an error naming it.
  std::ofstream(table) << "x edited -1 1 0.00784313772 128 u8\n";
  o.exclude.clear();
  try {
    quantize(g, o);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("needs: r"), std::string::npos) << err.what();
  }
}

TEST(QuantRecipes, SliceRunsOnIntegersBetweenConvs) {
  // x[N,2,6,6] -> Conv(4 channels) -> Relu -> Slice(channels 1..2) -> Conv(3 channels)
  //   -> GlobalAveragePool -> y.
  // Slice is a data-movement op whose descriptor says QdqRole::SameScale and
  // IntegerForm::SameScale: it shares its input's scale, so the integer tensor flows through
  // it and both convolutions run int8 with no float round trip between them.
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {2, ""}, {6, ""}, {6, ""}});
  add_constant(g, "w1", random_tensor({4, 2, 3, 3}, 11, -0.5f, 0.5f));
  add_constant(g, "w2", random_tensor({3, 2, 1, 1}, 12, -0.5f, 0.5f));
  add_constant(g, "starts", Tensor::from_vector<int64_t>({1}, {1}));
  add_constant(g, "ends", Tensor::from_vector<int64_t>({1}, {3}));
  add_constant(g, "axes", Tensor::from_vector<int64_t>({1}, {1}));
  add_node(g, "Conv", {"x", "w1"}, {"c"}).attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  add_node(g, "Relu", {"c"}, {"r"});
  add_node(g, "Slice", {"r", "starts", "ends", "axes"}, {"s"}).name = "slice";
  add_node(g, "Conv", {"s", "w2"}, {"c2"});
  add_node(g, "GlobalAveragePool", {"c2"}, {"y"});
  g.outputs = {"y"};
  const std::string table = temp_path("slice.table");
  std::ofstream(table) << "x edited -1 1 0.00784313772 128 u8\nr edited 0 3 0.0117647061 0 u8\n"
                          "c2 edited -2 2 0.0156862754 128 u8\n";
  QuantizeOptions o;
  o.recipe = Recipe::StaticInt8;
  o.calib_table = table;
  QuantizeResult r = quantize(g, o);
  EXPECT_EQ(r.quantized_by_op["Slice"], 1);
  const engine::PlanReport cov = coverage_of(r.graph);
  EXPECT_EQ(cov.macs_int8, cov.macs);
  bool found = false;
  for (const auto& n : cov.nodes)
    if (n.op_type == "Slice") {
      found = true;
      EXPECT_EQ(n.precision, "int8") << n.name;
    }
  EXPECT_TRUE(found);
  Tensor x = random_tensor({2, 2, 6, 6}, 13);
  EXPECT_LT(test::max_rel_diff(run(r.graph, x), run(g, x)), 0.05f);
  // The optimized plan computes what the reference kernels compute on the same QDQ graph.
  EXPECT_LT(test::max_rel_diff(engine::Engine(r.graph, {}).run({x})[0], run(r.graph, x)), 1e-5f);
}

TEST(QuantRecipes, DynamicInt8MatchesFloat) {
  // Gemm(transB, alpha, beta, C) -> Relu -> MatMul, and a Conv with --dynamic-conv.
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {12, ""}});
  add_constant(g, "w", random_tensor({6, 12}, 1));
  add_constant(g, "c", random_tensor({6}, 2));
  add_constant(g, "w2", random_tensor({6, 3}, 3));
  auto& gemm = add_node(g, "Gemm", {"x", "w", "c"}, {"h"});
  gemm.name = "fc1";
  gemm.attrs["transB"] = ir::Attribute::of_int(1);
  gemm.attrs["alpha"] = ir::Attribute::of_float(0.5f);
  gemm.attrs["beta"] = ir::Attribute::of_float(2.0f);
  add_node(g, "Relu", {"h"}, {"r"});
  add_node(g, "MatMul", {"r", "w2"}, {"y"}).name = "fc2";
  g.outputs = {"y"};
  for (bool per_channel : {true, false}) {
    QuantizeOptions o;
    o.recipe = Recipe::DynamicInt8;
    o.per_channel = per_channel;
    QuantizeResult r = quantize(g, o);
    EXPECT_EQ(count_op(r.graph, "MatMulInteger"), 2);
    EXPECT_EQ(count_op(r.graph, "DynamicQuantizeLinear"), 2);
    EXPECT_EQ(count_op(r.graph, "Gemm") + count_op(r.graph, "MatMul"), 0);
    const ir::Node* mmi = node_named(r.graph, "fc1_MatMulInteger");
    ASSERT_TRUE(mmi);
    EXPECT_EQ(shape_str(r.graph.constant(mmi->inputs[1])->shape()), "[12, 6]");  // transposed
    const engine::PlanReport c = coverage_of(r.graph);
    EXPECT_GT(c.macs, 0);
    EXPECT_EQ(c.macs_int8, c.macs);
    Tensor x = random_tensor({4, 12}, 7);
    EXPECT_LT(test::max_rel_diff(run(r.graph, x), run(g, x)), 0.03f) << per_channel;
  }
  ir::Graph cg;
  cg.opsets[""] = 13;
  add_input(cg, "x", {{-1, "N"}, {3, ""}, {5, ""}, {5, ""}});
  add_constant(cg, "w", random_tensor({4, 3, 3, 3}, 4));
  add_constant(cg, "b", random_tensor({4}, 5));
  auto& conv = add_node(cg, "Conv", {"x", "w", "b"}, {"y"});
  conv.attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  cg.outputs = {"y"};
  QuantizeOptions o;
  o.recipe = Recipe::DynamicInt8;
  EXPECT_EQ(count_op(quantize(cg, o).graph, "ConvInteger"), 0);
  EXPECT_EQ(quantize(cg, o).left_float.size(), 1u);
  o.dynamic_conv = true;
  QuantizeResult r = quantize(cg, o);
  EXPECT_EQ(count_op(r.graph, "ConvInteger"), 1);
  Tensor x = random_tensor({2, 3, 5, 5}, 8);
  EXPECT_LT(test::max_rel_diff(run(r.graph, x), run(cg, x)), 0.03f);
}

TEST(QuantRecipes, WeightOnlyAndHalfPrecisionMatchFloat) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {64, ""}});
  add_constant(g, "w", random_tensor({64, 8}, 1));
  add_constant(g, "w2", random_tensor({4, 8}, 2));
  add_node(g, "MatMul", {"x", "w"}, {"h"}).name = "fc1";
  auto& gemm = add_node(g, "Gemm", {"h", "w2"}, {"y"});
  gemm.name = "fc2";
  gemm.attrs["transB"] = ir::Attribute::of_int(1);
  g.outputs = {"y"};
  Tensor x = random_tensor({3, 64}, 3);
  const Tensor want = run(g, x);
  struct Case {
    Recipe recipe;
    int64_t group;
    float tol;
  };
  for (Case c : {Case{Recipe::WeightOnlyInt8, -1, 0.02f}, Case{Recipe::WeightOnlyInt8, 32, 0.02f},
                 Case{Recipe::WeightOnlyInt4, -1, 0.2f}, Case{Recipe::Fp16, -1, 0.002f},
                 Case{Recipe::Bf16, -1, 0.02f}}) {
    QuantizeOptions o;
    o.recipe = c.recipe;
    o.group_size = c.group;
    QuantizeResult r = quantize(g, o);
    SCOPED_TRACE(recipe_name(c.recipe) + std::string(" group ") + std::to_string(c.group));
    // Weight-only and fp16 store smaller weights but compute in f32; bf16 computes in bf16
    // (emulated in f32 on CPUs without native bf16).
    const engine::PlanReport cov = coverage_of(r.graph);
    EXPECT_GT(cov.macs, 0);
    if (c.recipe == Recipe::Bf16)
      EXPECT_EQ(cov.macs_bf16 + cov.macs_emulated, cov.macs);
    else
      EXPECT_EQ(cov.macs_f32, cov.macs);
    EXPECT_EQ(cov.macs_int8, 0);
    EXPECT_EQ(r.graph.constant("w"), nullptr) << "the float weight is gone";
    const float d = test::max_rel_diff(run(r.graph, x), want);
    EXPECT_LT(d, c.tol);
    EXPECT_GT(d, 0.0f);
  }
  // int4: values within [-7, 7]; groups of 32 along K=64 for fc1, per channel for fc2 (K=8).
  QuantizeOptions o;
  o.recipe = Recipe::WeightOnlyInt4;
  QuantizeResult r = quantize(g, o);
  const Tensor* q = r.graph.constant("w_quantized");
  ASSERT_TRUE(q);
  EXPECT_EQ(shape_str(q->shape()), "[2, 32, 8]");
  for (int64_t i = 0; i < q->numel(); ++i) {
    EXPECT_LE(q->data<int8_t>()[i], 7);
    EXPECT_GE(q->data<int8_t>()[i], -7);
  }
  ASSERT_FALSE(r.notes.empty());
  // Half precision stores the weights as 16-bit initializers behind a Cast.
  o.recipe = Recipe::Bf16;
  r = quantize(g, o);
  EXPECT_EQ(r.graph.constant("w_bf16")->dtype(), DType::BF16);
  EXPECT_EQ(count_op(r.graph, "Cast"), 2);
}

TEST(QuantRecipes, OpsetUpgradeRewritesChangedOpsOrFallsBackToPerTensor) {
  ir::Graph g;
  g.opsets[""] = 11;
  add_input(g, "x", {{2, ""}, {6, ""}});
  add_constant(g, "w", random_tensor({6, 4}, 1));
  add_node(g, "MatMul", {"x", "w"}, {"h"});
  auto& un = add_node(g, "Unsqueeze", {"h"}, {"u"});
  un.attrs["axes"] = ir::Attribute::of_ints({1});
  auto& sm = add_node(g, "Softmax", {"u"}, {"y"});
  sm.attrs["axis"] = ir::Attribute::of_int(2);
  g.outputs = {"y"};
  engine::infer_shapes(g);
  ir::Graph up = g;
  std::string why;
  ASSERT_TRUE(upgrade_opset(up, 13, why)) << why;
  EXPECT_EQ(up.opset(), 13);
  EXPECT_EQ(up.nodes[1].inputs.size(), 2u);  // axes became an input
  Tensor x = random_tensor({2, 6}, 2);
  EXPECT_LT(test::max_rel_diff(run(up, x), run(g, x)), 1e-6f);
  // Softmax over axis 1 of a rank-3 input coerces to 2-D before 13: not carried over.
  g.nodes[2].attrs["axis"] = ir::Attribute::of_int(1);
  up = g;
  EXPECT_FALSE(upgrade_opset(up, 13, why));
  EXPECT_NE(why.find("Softmax"), std::string::npos) << why;
  QuantizeOptions o;
  o.recipe = Recipe::WeightOnlyInt8;
  QuantizeResult r = quantize(g, o);
  EXPECT_EQ(r.graph.opset(), 11);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("one scale per tensor"), std::string::npos) << r.notes[0];
  EXPECT_EQ(r.graph.constant("w_scale")->numel(), 1);
}

TEST(QuantRecipes, NamesAndErrors) {
  for (Recipe r : all_recipes()) EXPECT_EQ(parse_recipe(recipe_name(r)), r);
  try {
    parse_recipe("int3");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("static-int8"), std::string::npos) << e.what();
  }
}

TEST(QuantRecipes, VariantsWithOptions) {
  VariantSpec v = parse_variant("static-int8");
  EXPECT_EQ(v.recipe, Recipe::StaticInt8);
  EXPECT_FALSE(v.per_tensor || v.equalize);
  v = parse_variant("static-int8-rr+equalize+per-tensor");
  EXPECT_EQ(v.recipe, Recipe::StaticInt8ReduceRange);
  EXPECT_TRUE(v.per_tensor && v.equalize && !v.relu6_to_relu);
  EXPECT_TRUE(parse_variant("static-int8+equalize+relu6-to-relu").relu6_to_relu);
  for (const char* bad : {"static-int8+", "static-int8+fast", "fp32+equalize", "int3+per-tensor",
                          "static-int8+relu6-to-relu"})
    EXPECT_THROW(parse_variant(bad), Error) << bad;
}
