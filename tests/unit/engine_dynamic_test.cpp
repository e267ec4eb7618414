// The engine's dynamic mode: graphs whose shapes depend on run-time values (a Reshape shape fed
// by a graph input, NonZero, Unique, Compress) and control flow (If, Loop, Scan with outer-scope
// values). Expected outputs are computed by hand in the comments next to them.
#include <gtest/gtest.h>

#include "core/error.h"
#include "engine/engine.h"
#include "engine/interpreter.h"
#include "passes/passes.h"
#include "test_util.h"

using namespace qbench;
using test::add_constant;
using test::add_input;
using test::add_node;

namespace {

engine::EngineOptions reference_only() {
  engine::EngineOptions o;
  o.optimized_kernels = false;
  o.optimize_graph = false;
  return o;
}

void add_typed_input(ir::Graph& g, const std::string& name, DType t, std::vector<ir::Dim> dims) {
  add_input(g, name, std::move(dims));
  g.value(name).dtype = t;
}

Tensor bools(Shape shape, std::vector<uint8_t> v) {
  return Tensor::from_data(DType::Bool, std::move(shape), v.data());
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

std::shared_ptr<ir::Graph> graph_attr(ir::Node& n, const std::string& name) {
  auto g = std::make_shared<ir::Graph>();
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::Graph;
  a.g = g;
  n.attrs[name] = a;
  return g;
}

// y = Reshape(x, shape) with `shape` a graph input.
ir::Graph reshape_by_input() {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{2, ""}, {3, ""}});
  add_typed_input(g, "shape", DType::I64, {{2, ""}});
  add_node(g, "Relu", {"x"}, {"r"});
  add_node(g, "Reshape", {"r", "shape"}, {"y"});
  g.outputs = {"y"};
  return g;
}

// Loop summing: s_{k+1} = s_k + k * scale for k < M, with `scale` an outer-scope graph input the
// body reads; the scan output stacks every s_{k+1}.
ir::Graph loop_sum() {
  ir::Graph g;
  g.opsets[""] = 13;
  add_typed_input(g, "M", DType::I64, {});
  add_typed_input(g, "scale_in", DType::F32, {});
  add_constant(g, "s0", Tensor::scalar<float>(0.0f));
  add_constant(g, "cond", Tensor::scalar<bool>(true));
  // The body reads `scale`, produced by a main-graph node: passes must keep it and order it first.
  add_node(g, "Identity", {"scale_in"}, {"scale_mid"});
  add_node(g, "Relu", {"scale_mid"}, {"scale"});
  auto& loop = add_node(g, "Loop", {"M", "cond", "s0"}, {"s_final", "s_all"});
  auto body = graph_attr(loop, "body");
  body->name = "body";
  add_typed_input(*body, "i", DType::I64, {});
  add_typed_input(*body, "c", DType::Bool, {});
  add_typed_input(*body, "s", DType::F32, {});
  add_node(*body, "Cast", {"i"}, {"fi"}).attrs["to"] = ir::Attribute::of_int(1);
  add_node(*body, "Mul", {"fi", "scale"}, {"step"});
  add_node(*body, "Add", {"s", "step"}, {"s_out"});
  add_node(*body, "Identity", {"c"}, {"c_out"});
  add_node(*body, "Identity", {"s_out"}, {"scan"});
  body->outputs = {"c_out", "s_out", "scan"};
  g.outputs = {"s_final", "s_all"};
  return g;
}

}  // namespace

TEST(EngineDynamic, StaticGraphsStayStatic) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{2, ""}, {3, ""}});
  add_constant(g, "shape", Tensor::from_vector<int64_t>({2}, {3, 2}));
  add_node(g, "Reshape", {"x", "shape"}, {"y"});
  g.outputs = {"y"};
  engine::Engine eng(g);
  EXPECT_FALSE(eng.plan_for({{DType::F32, {2, 3}}}).dynamic());
  EXPECT_FALSE(eng.dynamic());
}

TEST(EngineDynamic, ReshapeShapeFromGraphInput) {
  for (bool optimized : {true, false}) {
    SCOPED_TRACE(optimized);
    engine::Engine eng(reshape_by_input(), optimized ? engine::EngineOptions{} : reference_only());
    Tensor x = Tensor::from_vector<float>({2, 3}, {0, -1, 2, -3, 4, -5});
    // Relu: [0, 0, 2, 0, 4, 0], then reshaped as the second input says.
    for (auto shape : {std::vector<int64_t>{3, 2}, std::vector<int64_t>{6, -1}, {1, 6}}) {
      Tensor y = eng.run({x, Tensor::from_vector<int64_t>({2}, shape)})[0];
      Shape want = shape[1] == -1 ? Shape{6, 1} : Shape{shape[0], shape[1]};
      EXPECT_EQ(y.shape(), want);
      EXPECT_EQ(values<float>(y), (std::vector<float>{0, 0, 2, 0, 4, 0}));
    }
    engine::Plan& plan = eng.plan_for({{DType::F32, {2, 3}}, {DType::I64, {2}}});
    EXPECT_TRUE(plan.dynamic());
    EXPECT_NE(plan.dynamic_reason().find("Reshape"), std::string::npos) << plan.dynamic_reason();
    // The latest run's steps, with its shapes, are what inspect shows.
    ASSERT_EQ(plan.steps().size(), 2u);
    EXPECT_EQ(plan.steps()[1].out_types[0].shape, (Shape{1, 6}));
    EXPECT_EQ(plan.value_types().at("y").shape, (Shape{1, 6}));
  }
}

TEST(EngineDynamic, BadRuntimeShapeNamesTheNode) {
  engine::Engine eng(reshape_by_input(), reference_only());
  Tensor x(DType::F32, {2, 3});
  try {
    eng.run({x, Tensor::from_vector<int64_t>({2}, {4, 2})});
    FAIL() << "a reshape of 6 elements to [4, 2] must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Reshape"), std::string::npos) << e.what();
  }
  // The engine is still usable after an error.
  Tensor y = eng.run({x, Tensor::from_vector<int64_t>({2}, {3, 2})})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
}

TEST(EngineDynamic, NonZeroUniqueCompress) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{2, ""}, {3, ""}});
  add_typed_input(g, "cond", DType::Bool, {{2, ""}});
  add_node(g, "NonZero", {"x"}, {"nz"});
  add_node(g, "Unique", {"x"}, {"u", "u_idx", "u_inv", "u_cnt"});
  add_node(g, "Compress", {"x", "cond"}, {"c"}).attrs["axis"] = ir::Attribute::of_int(0);
  g.outputs = {"nz", "u", "u_idx", "u_inv", "u_cnt", "c"};
  for (bool optimized : {true, false}) {
    SCOPED_TRACE(optimized);
    engine::Engine eng(g, optimized ? engine::EngineOptions{} : reference_only());
    // x = [[3, 0, 1], [0, 3, 2]]
    Tensor x = Tensor::from_vector<float>({2, 3}, {3, 0, 1, 0, 3, 2});
    Tensor cond = bools({2}, {0, 1});
    auto out = eng.run({x, cond});
    // Non-zeros at (0,0), (0,2), (1,1), (1,2): rows then columns.
    EXPECT_EQ(out[0].shape(), (Shape{2, 4}));
    EXPECT_EQ(values<int64_t>(out[0]), (std::vector<int64_t>{0, 0, 1, 1, 0, 2, 1, 2}));
    // Sorted unique of [3, 0, 1, 0, 3, 2]: [0, 1, 2, 3]; first occurrences [1, 2, 5, 0];
    // inverse [3, 0, 1, 0, 3, 2]; counts [2, 1, 1, 2].
    EXPECT_EQ(values<float>(out[1]), (std::vector<float>{0, 1, 2, 3}));
    EXPECT_EQ(values<int64_t>(out[2]), (std::vector<int64_t>{1, 2, 5, 0}));
    EXPECT_EQ(values<int64_t>(out[3]), (std::vector<int64_t>{3, 0, 1, 0, 3, 2}));
    EXPECT_EQ(values<int64_t>(out[4]), (std::vector<int64_t>{2, 1, 1, 2}));
    // Row 1 only.
    EXPECT_EQ(out[5].shape(), (Shape{1, 3}));
    EXPECT_EQ(values<float>(out[5]), (std::vector<float>{0, 3, 2}));
    // A different condition with the same shapes selects a different number of rows.
    out = eng.run({x, bools({2}, {1, 1})});
    EXPECT_EQ(out[5].shape(), (Shape{2, 3}));
  }
}

TEST(EngineDynamic, IfPicksBranchByRuntimeBool) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{3, ""}});
  add_typed_input(g, "c", DType::Bool, {});
  add_node(g, "Relu", {"x"}, {"rx"});
  auto& node = add_node(g, "If", {"c"}, {"y"});
  // then: rx + 1 (shape [3], reads the outer value rx); else: a constant of shape [2].
  auto then_g = graph_attr(node, "then_branch");
  add_constant(*then_g, "one", Tensor::scalar<float>(1.0f));
  add_node(*then_g, "Add", {"rx", "one"}, {"t"});
  then_g->outputs = {"t"};
  auto else_g = graph_attr(node, "else_branch");
  add_node(*else_g, "Constant", {}, {"e"}).attrs["value"] =
      ir::Attribute::of_tensor(Tensor::from_vector<float>({2}, {7, 8}));
  else_g->outputs = {"e"};
  g.outputs = {"y"};
  for (bool optimized : {true, false}) {
    SCOPED_TRACE(optimized);
    engine::Engine eng(g, optimized ? engine::EngineOptions{} : reference_only());
    Tensor x = Tensor::from_vector<float>({3}, {-1, 2, 3});
    Tensor y = eng.run({x, Tensor::scalar<bool>(true)})[0];
    EXPECT_EQ(values<float>(y), (std::vector<float>{1, 3, 4}));
    y = eng.run({x, Tensor::scalar<bool>(false)})[0];
    EXPECT_EQ(values<float>(y), (std::vector<float>{7, 8}));
  }
}

// An If whose condition follows from shapes is inlined into a static plan: x [N, 2] takes the
// then branch (Max with 0) when Size(x) = 2N > 4, else the else branch (Neg).
TEST(EngineDynamic, IfWithCompileTimeConditionStaysStatic) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {2, ""}});
  add_constant(g, "four", Tensor::scalar<int64_t>(4));
  add_node(g, "Size", {"x"}, {"n"});
  add_node(g, "Greater", {"n", "four"}, {"big"});
  auto& node = add_node(g, "If", {"big"}, {"y"});
  // The then branch reads a main-graph constant (the engine copies it into its branch).
  add_constant(g, "zero", Tensor::scalar<float>(0.0f));
  auto then_g = graph_attr(node, "then_branch");
  add_node(*then_g, "Max", {"x", "zero"}, {"t"});
  then_g->outputs = {"t"};
  auto else_g = graph_attr(node, "else_branch");
  add_node(*else_g, "Neg", {"x"}, {"e"});
  else_g->outputs = {"e"};
  g.outputs = {"y"};
  for (bool optimized : {true, false}) {
    SCOPED_TRACE(optimized);
    engine::Engine eng(g, optimized ? engine::EngineOptions{} : reference_only());
    Tensor y = eng.run({Tensor::from_vector<float>({1, 2}, {-1, 2})})[0];
    EXPECT_EQ(values<float>(y), (std::vector<float>{1, -2}));
    y = eng.run({Tensor::from_vector<float>({3, 2}, {-1, 2, -3, 4, 5, -6})})[0];
    EXPECT_EQ(values<float>(y), (std::vector<float>{0, 2, 0, 4, 5, 0}));
    EXPECT_FALSE(eng.dynamic());
    EXPECT_EQ(eng.plan_for({{DType::F32, {3, 2}}}).steps().back().node.op_type, "Max");
  }
}

TEST(EngineDynamic, LoopSumsWithOuterValue) {
  ir::Graph g = loop_sum();
  for (bool optimized : {true, false}) {
    SCOPED_TRACE(optimized);
    engine::Engine eng(g, optimized ? engine::EngineOptions{} : reference_only());
    // scale 2, M 5: s = 0, 2, 6, 12, 20.
    auto out = eng.run({Tensor::scalar<int64_t>(5), Tensor::scalar<float>(2.0f)});
    EXPECT_EQ(values<float>(out[0]), (std::vector<float>{20}));
    EXPECT_EQ(out[1].shape(), (Shape{5}));
    EXPECT_EQ(values<float>(out[1]), (std::vector<float>{0, 2, 6, 12, 20}));
    // M 0: the initial value, and an empty scan output.
    out = eng.run({Tensor::scalar<int64_t>(0), Tensor::scalar<float>(2.0f)});
    EXPECT_EQ(values<float>(out[0]), (std::vector<float>{0}));
    EXPECT_EQ(out[1].numel(), 0);
  }
}

// One scan input; the body adds each slice (2 values) to the state and emits the new state.
void add_running_sum_body(ir::Node& scan) {
  scan.attrs["num_scan_inputs"] = ir::Attribute::of_int(1);
  auto body = graph_attr(scan, "body");
  add_input(*body, "s", {{2, ""}});
  add_input(*body, "xt", {{2, ""}});
  add_node(*body, "Add", {"s", "xt"}, {"s_out"});
  add_node(*body, "Identity", {"s_out"}, {"y"});
  body->outputs = {"s_out", "y"};
}

TEST(EngineDynamic, ScanCumulativeSum) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{3, ""}, {2, ""}});
  add_constant(g, "s0", Tensor::from_vector<float>({2}, {0, 0}));
  auto& scan = add_node(g, "Scan", {"s0", "x"}, {"s_final", "ys"});
  add_running_sum_body(scan);
  g.outputs = {"s_final", "ys"};
  engine::Engine eng(g);
  // x = [[1, 2], [3, 4], [5, 6]]: running sums [1, 2], [4, 6], [9, 12].
  auto out = eng.run({Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{9, 12}));
  EXPECT_EQ(out[1].shape(), (Shape{3, 2}));
  EXPECT_EQ(values<float>(out[1]), (std::vector<float>{1, 2, 4, 6, 9, 12}));
  // Reverse direction over the sequence: sums [5, 6], [8, 10], [9, 12], stored in scan order.
  ir::Graph r = g;
  r.nodes[0].attrs["scan_input_directions"] = ir::Attribute::of_ints({1});
  out = engine::Engine(r).run({Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(values<float>(out[1]), (std::vector<float>{5, 6, 8, 10, 9, 12}));
}

// Opset 8's Scan puts a batch axis before everything: each state input needs rank >= 1, each scan
// input rank >= 2 (batch, sequence), all with one batch size. Inputs without those axes get an
// error naming the node and the input (a fuzzed rank-1 scan input read past its shape).
TEST(EngineDynamic, Opset8ScanRefusesInputsWithoutItsAxes) {
  auto scan8 = [](Shape x_shape, Shape s_shape) {
    ir::Graph g;
    g.opsets[""] = 8;
    auto dims_of = [](const Shape& s) {
      std::vector<ir::Dim> d;
      for (int64_t v : s) d.push_back({v, ""});
      return d;
    };
    add_input(g, "x", dims_of(x_shape));
    add_input(g, "s0", dims_of(s_shape));
    auto& scan = add_node(g, "Scan", {"", "s0", "x"}, {"s_final", "ys"});
    scan.name = "scan8";
    add_running_sum_body(scan);
    g.outputs = {"s_final", "ys"};
    std::vector<float> xv(size_t(shape_numel(x_shape)), 1.f), sv(size_t(shape_numel(s_shape)), 0.f);
    return engine::Engine(g, reference_only())
        .run({Tensor::from_vector<float>(x_shape, xv), Tensor::from_vector<float>(s_shape, sv)});
  };
  // Batch 1, sequence 3, 2 values: the sums of three ones.
  auto out = scan8({1, 3, 2}, {1, 2});
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{3, 3}));
  auto error_of = [&](Shape x_shape, Shape s_shape) {
    try {
      scan8(x_shape, s_shape);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string e = error_of({3}, {1, 2});
  EXPECT_NE(e.find("scan8"), std::string::npos) << e;
  EXPECT_NE(e.find("scan input 0 has shape [3]"), std::string::npos) << e;
  e = error_of({1, 3, 2}, {});
  EXPECT_NE(e.find("state input 0 has shape []"), std::string::npos) << e;
  e = error_of({2, 3, 2}, {1, 2});
  EXPECT_NE(e.find("scan input 0 has batch size 2, the inputs before it 1"), std::string::npos)
      << e;
}

TEST(EngineDynamic, GraphHelpersSeeSubgraphReads) {
  ir::Graph g = loop_sum();
  const ir::Node& loop = g.nodes[2];
  EXPECT_TRUE(loop.has_subgraph());
  EXPECT_EQ(loop.subgraph_reads(), (std::vector<std::string>{"scale"}));
  EXPECT_EQ(g.use_counts()["scale"], 1);
  // Put the Loop first: toposort must move the producer of `scale` before it.
  std::swap(g.nodes[0], g.nodes[2]);
  g.toposort();
  EXPECT_EQ(g.nodes.back().op_type, "Loop");
  // remove_dead keeps the nodes only the body reads; the passes keep `scale` computable.
  g.remove_dead();
  EXPECT_EQ(g.nodes.size(), 3u);
  passes::optimize(g);
  EXPECT_TRUE(g.find("scale"));
  auto out = engine::Engine(g, reference_only())
                 .run({Tensor::scalar<int64_t>(3), Tensor::scalar<float>(1.0f)});
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{3}));  // 0 + 1 + 2
}

// Sequences inside a graph with tensor inputs and outputs: x [3, 2] split into rows, the last
// row taken, a new row inserted at the front, everything concatenated back along axis 0.
TEST(EngineDynamic, SequenceOps) {
  ir::Graph g;
  g.opsets[""] = 17;
  add_input(g, "x", {{3, ""}, {2, ""}});
  add_constant(g, "last", Tensor::scalar<int64_t>(-1));
  add_constant(g, "front", Tensor::scalar<int64_t>(0));
  add_constant(g, "row", Tensor::from_vector<float>({1, 2}, {9, 9}));
  add_node(g, "SplitToSequence", {"x"}, {"rows"});  // keepdims=1: rows of shape [1, 2]
  add_node(g, "SequenceAt", {"rows", "last"}, {"r_last"});
  add_node(g, "SequenceInsert", {"rows", "row", "front"}, {"rows2"});
  add_node(g, "SequenceLength", {"rows2"}, {"n"});
  add_node(g, "ConcatFromSequence", {"rows2"}, {"cat"}).attrs["axis"] = ir::Attribute::of_int(0);
  add_node(g, "Optional", {"r_last"}, {"opt"});
  add_node(g, "OptionalHasElement", {"opt"}, {"has"});
  g.outputs = {"r_last", "n", "cat", "has"};
  engine::Engine eng(g);
  auto out = eng.run({Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(out[0].shape(), (Shape{1, 2}));
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{5, 6}));
  EXPECT_EQ(values<int64_t>(out[1]), (std::vector<int64_t>{4}));
  EXPECT_EQ(out[2].shape(), (Shape{4, 2}));
  EXPECT_EQ(values<float>(out[2]), (std::vector<float>{9, 9, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(values<bool>(out[3]), (std::vector<bool>{true}));
}

// A model whose input and output are sequences runs through run_values; run() refuses it.
TEST(EngineDynamic, SequenceInputsAndOutputs) {
  ir::Graph g;
  g.opsets[""] = 17;
  add_input(g, "seq", {});
  g.value("seq").kind = ir::ValueKind::Sequence;
  g.value("seq").dims.reset();
  add_input(g, "t", {{2, ""}});
  auto& map = add_node(g, "SequenceMap", {"seq", "t"}, {"sums"});
  auto body = graph_attr(map, "body");
  add_input(*body, "a", {{2, ""}});
  add_input(*body, "b", {{2, ""}});
  add_node(*body, "Add", {"a", "b"}, {"c"});
  body->outputs = {"c"};
  g.value("sums").kind = ir::ValueKind::Sequence;
  g.outputs = {"sums"};
  engine::Engine eng(g);
  auto seq = engine::RunValue::of_sequence(
      {Tensor::from_vector<float>({2}, {1, 2}), Tensor::from_vector<float>({2}, {3, 4})});
  auto out = eng.run_values({seq, Tensor::from_vector<float>({2}, {10, 20})});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].kind, engine::RunValue::Kind::Sequence);
  ASSERT_EQ(out[0].sequence.size(), 2u);
  EXPECT_EQ(values<float>(out[0].sequence[0]), (std::vector<float>{11, 22}));
  EXPECT_EQ(values<float>(out[0].sequence[1]), (std::vector<float>{13, 24}));
  EXPECT_THROW(eng.run({Tensor(DType::F32, {2}), Tensor(DType::F32, {2})}), Error);
}

// Repeated runs with the same shapes create no kernels; new shapes create one per node.
TEST(EngineDynamic, KernelsAreCachedPerShape) {
  ir::Graph g = reshape_by_input();
  engine::Interpreter interp(g, 13, engine::EngineOptions{});
  kernels::ExecContext ctx{1};
  auto run = [&](Shape x_shape, std::vector<int64_t> shape) {
    interp.run({Tensor(DType::F32, x_shape), Tensor::from_vector<int64_t>({2}, shape)}, nullptr,
               ctx);
  };
  run({2, 3}, {3, 2});
  EXPECT_EQ(interp.kernels_created(), 2);  // Relu, Reshape
  run({2, 3}, {3, 2});
  run({2, 3}, {3, 2});
  EXPECT_EQ(interp.kernels_created(), 2);
  run({2, 3}, {6, 1});  // Reshape's output type changes; Relu's does not
  EXPECT_EQ(interp.kernels_created(), 3);
  run({2, 3}, {3, 2});
  EXPECT_EQ(interp.kernels_created(), 3);
}

// A Loop body multiplies by a weight that lives in the main graph (as exporters write it): the
// body sees it as a constant. W = [[0, 1], [1, 0]] swaps the two entries, three times.
TEST(EngineDynamic, SubgraphUsesOuterConstantWeight) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{1, ""}, {2, ""}});
  add_constant(g, "W", Tensor::from_vector<float>({2, 2}, {0, 1, 1, 0}));
  add_constant(g, "M", Tensor::scalar<int64_t>(3));
  auto& loop = add_node(g, "Loop", {"M", "", "x"}, {"y"});
  auto body = graph_attr(loop, "body");
  add_typed_input(*body, "i", DType::I64, {});
  add_typed_input(*body, "c", DType::Bool, {});
  add_input(*body, "s", {{1, ""}, {2, ""}});
  add_node(*body, "MatMul", {"s", "W"}, {"s_out"});
  add_node(*body, "Identity", {"c"}, {"c_out"});
  body->outputs = {"c_out", "s_out"};
  g.outputs = {"y"};
  for (bool optimized : {true, false}) {
    SCOPED_TRACE(optimized);
    engine::Engine eng(g, optimized ? engine::EngineOptions{} : reference_only());
    Tensor y = eng.run({Tensor::from_vector<float>({1, 2}, {1, 2})})[0];
    EXPECT_EQ(values<float>(y), (std::vector<float>{2, 1}));
  }
}

// The engine optimizes subgraphs on its own copy: the caller's If branch keeps its nodes, while
// the engine's branch has the main-graph weight as a constant and Relu fused into MatMul.
TEST(EngineDynamic, SubgraphPassesWorkOnACopy) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{1, ""}, {2, ""}});
  add_typed_input(g, "c", DType::Bool, {});
  add_constant(g, "W", Tensor::from_vector<float>({2, 2}, {1, -1, -1, 1}));
  auto& node = add_node(g, "If", {"c"}, {"y"});
  auto then_g = graph_attr(node, "then_branch");
  add_node(*then_g, "MatMul", {"x", "W"}, {"m"});
  add_node(*then_g, "Relu", {"m"}, {"t"});
  then_g->outputs = {"t"};
  auto else_g = graph_attr(node, "else_branch");
  add_node(*else_g, "Neg", {"x"}, {"e"});
  else_g->outputs = {"e"};
  g.outputs = {"y"};
  engine::Engine eng(g);
  EXPECT_EQ(then_g->nodes.size(), 2u);
  const ir::Graph& copy = *eng.graph().nodes[0].attr("then_branch")->g;
  EXPECT_NE(&copy, then_g.get());
  ASSERT_EQ(copy.nodes.size(), 1u);
  EXPECT_EQ(copy.nodes[0].fused.size(), 1u);
  EXPECT_TRUE(copy.constant("W"));
  // x W = [1 - 3, -1 + 3] = [-2, 2]; Relu: [0, 2].
  Tensor x = Tensor::from_vector<float>({1, 2}, {1, 3});
  EXPECT_EQ(values<float>(eng.run({x, Tensor::scalar<bool>(true)})[0]), (std::vector<float>{0, 2}));
  EXPECT_EQ(values<float>(eng.run({x, Tensor::scalar<bool>(false)})[0]),
            (std::vector<float>{-1, -3}));
}

// infer_shapes on a dynamic graph records dtypes and ranks only: its shapes depend on values.
TEST(EngineDynamic, InferShapesOfDynamicGraphGivesDtypeAndRank) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {3, ""}});
  add_node(g, "Relu", {"x"}, {"r"});
  add_node(g, "NonZero", {"r"}, {"nz"});
  g.value("r").dtype = DType::Undefined;
  g.value("nz").dtype = DType::Undefined;
  g.outputs = {"nz"};
  engine::infer_shapes(g);
  EXPECT_EQ(g.values.at("r").dtype, DType::F32);
  EXPECT_EQ(g.values.at("nz").dtype, DType::I64);
  ASSERT_TRUE(g.values.at("nz").dims);
  EXPECT_EQ(ir::dims_str(*g.values.at("nz").dims), "[?, ?]");
}
