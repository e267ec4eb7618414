// Loading and saving ONNX: round trips and the errors bad files must give.
#include "onnx/onnx_io.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "engine/engine.h"
#include "passes/passes.h"
#include "test_util.h"

using namespace qbench;
namespace fs = std::filesystem;

namespace {

std::string tmp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "qbench_onnx_io_test";
  fs::create_directories(dir);
  return (dir / name).string();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Expects load_model to throw an Error whose message contains every fragment.
void expect_load_error(const std::string& path, std::vector<std::string> fragments) {
  try {
    onnxio::load_model(path);
    FAIL() << "loading " << path << " should fail";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "error should be one line: " << msg;
  }
}

// A one-node model (Relu) built with ONNX's own protobuf classes.
onnx::ModelProto relu_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("relu");
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_param("batch");
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("relu0");
  n->add_input("x");
  n->add_output("y");
  return m;
}

}  // namespace

TEST(OnnxIo, MissingFileNamesThePath) {
  expect_load_error("/nonexistent/model.onnx", {"/nonexistent/model.onnx", "does not exist"});
}

TEST(OnnxIo, TextFileIsNotOnnx) {
  std::string p = tmp_path("not_onnx.onnx");
  write_bytes(p, "this is a text file, not a model\n");
  expect_load_error(p, {p, "not a valid ONNX model"});
}

TEST(OnnxIo, EmptyFile) {
  std::string p = tmp_path("empty.onnx");
  write_bytes(p, "");
  expect_load_error(p, {p, "empty"});
}

TEST(OnnxIo, TruncatedProtobuf) {
  std::string bytes = read_bytes(test::models_dir() + "/lenet.onnx");
  ASSERT_GT(bytes.size(), 1000u);
  std::string p = tmp_path("truncated.onnx");
  write_bytes(p, bytes.substr(0, bytes.size() / 2));
  expect_load_error(p, {p, "not a valid ONNX model"});
}

TEST(OnnxIo, InitializerDataNotMatchingDims) {
  onnx::ModelProto m = relu_model();
  auto* w = m.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_dims(3);
  for (int i = 0; i < 5; ++i) w->add_float_data(1.0f);  // 5 values for 6 elements
  std::string p = tmp_path("bad_init.onnx");
  write_bytes(p, m.SerializeAsString());
  expect_load_error(p, {p, "'w'", "5 elements", "[2, 3]", "6"});

  w->clear_float_data();
  w->set_raw_data(std::string(20, '\0'));  // 20 bytes for 24
  write_bytes(p, m.SerializeAsString());
  expect_load_error(p, {p, "'w'", "[2, 3]"});
}

TEST(OnnxIo, UnsupportedOpNamesOpNodeAndOpset) {
  onnx::ModelProto m = relu_model();
  m.mutable_graph()->mutable_node(0)->set_op_type("FancyOp");
  std::string p = tmp_path("unsupported.onnx");
  write_bytes(p, m.SerializeAsString());
  ir::Graph g = onnxio::load_model(p);
  try {
    engine::Engine e(g);
    FAIL() << "an unsupported op must be rejected";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("FancyOp"), std::string::npos) << msg;
    EXPECT_NE(msg.find("relu0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("opset 13"), std::string::npos) << msg;
  }
}

TEST(OnnxIo, TypedFieldsAndSymbolicBatch) {
  onnx::ModelProto m = relu_model();
  ir::Graph g = onnxio::load_model_from_bytes(m.SerializeAsString(), "relu");
  ASSERT_EQ(g.inputs.size(), 1u);
  const auto& dims = *g.values.at("x").dims;
  ASSERT_EQ(dims.size(), 2u);
  EXPECT_FALSE(dims[0].known());
  EXPECT_EQ(dims[0].param, "batch");
  EXPECT_EQ(dims[1].value, 4);
  EXPECT_EQ(g.opset(), 13);

  // int64 initializer in int64_data, int8 in int32_data.
  auto* a = m.mutable_graph()->add_initializer();
  a->set_name("a");
  a->set_data_type(onnx::TensorProto::INT64);
  a->add_dims(2);
  a->add_int64_data(-7);
  a->add_int64_data(9);
  auto* b = m.mutable_graph()->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::INT8);
  b->add_dims(3);
  for (int v : {-128, 0, 127}) b->add_int32_data(v);
  g = onnxio::load_model_from_bytes(m.SerializeAsString(), "typed");
  EXPECT_EQ(g.constant("a")->to_int64(), (std::vector<int64_t>{-7, 9}));
  EXPECT_EQ(g.constant("b")->to_int64(), (std::vector<int64_t>{-128, 0, 127}));
}

// load -> save -> load gives the same graph, and the same outputs.
TEST(OnnxIo, ZooRoundTrip) {
  for (const char* name : {"mlp", "lenet", "resnet", "mobilenet", "vit", "mobilenetv2"}) {
    SCOPED_TRACE(name);
    std::string path = test::models_dir() + "/" + name + ".onnx";
    ir::Graph a = onnxio::load_model(path);
    std::string p = tmp_path(std::string(name) + "_rt.onnx");
    onnxio::save_model(a, p);
    ir::Graph b = onnxio::load_model(p);
    ASSERT_EQ(a.nodes.size(), b.nodes.size());
    for (size_t i = 0; i < a.nodes.size(); ++i) {
      EXPECT_EQ(a.nodes[i].op_type, b.nodes[i].op_type);
      EXPECT_EQ(a.nodes[i].inputs, b.nodes[i].inputs);
      EXPECT_EQ(a.nodes[i].outputs, b.nodes[i].outputs);
      EXPECT_EQ(a.nodes[i].attrs, b.nodes[i].attrs);
    }
    EXPECT_EQ(a.inputs, b.inputs);
    EXPECT_EQ(a.outputs, b.outputs);
    EXPECT_EQ(a.opsets, b.opsets);
    EXPECT_EQ(a.metadata, b.metadata);
    for (const auto& [n, v] : a.values) {
      if (!v.data) continue;
      ASSERT_TRUE(b.constant(n)) << n;
      EXPECT_TRUE(v.data->same_as(*b.constant(n))) << n;
    }
    Tensor x = test::random_tensor({3, 1, 28, 28}, 7, 0.0f, 1.0f);
    Tensor ya = engine::Engine(a).run({x})[0];
    Tensor yb = engine::Engine(b).run({x})[0];
    EXPECT_TRUE(ya.same_as(yb));
  }
}

// An optimized graph (folded and fused) saved to ONNX still computes the same function.
TEST(OnnxIo, SavingFusedGraphExpandsActivations) {
  ir::Graph a = onnxio::load_model(test::models_dir() + "/lenet.onnx");
  // The activation fusion alone (the whole optimization also makes qbench's internal forms,
  // which save_model refuses).
  ir::Graph optimized = a;
  passes::fold_batchnorm(optimized);
  ASSERT_GT(passes::fuse_activations(optimized), 0);
  std::string p = tmp_path("lenet_fused.onnx");
  onnxio::save_model(optimized, p);
  ir::Graph b = onnxio::load_model(p);
  for (const auto& n : b.nodes) EXPECT_TRUE(n.fused.empty());
  engine::EngineOptions ref;
  ref.optimized_kernels = false;
  ref.optimize_graph = false;
  Tensor x = test::random_tensor({2, 1, 28, 28}, 11, 0.0f, 1.0f);
  Tensor ya = engine::Engine(a, ref).run({x})[0];
  Tensor yb = engine::Engine(b, ref).run({x})[0];
  EXPECT_LT(test::max_rel_diff(yb, ya), 1e-5f);
}

// A model with an If whose branches read an outer value and hold their own initializer: saving
// writes the subgraphs, loading gives the same nodes, and both compute the same outputs.
TEST(OnnxIo, IfSubgraphsRoundTrip) {
  ir::Graph a;
  a.name = "if_model";
  a.opsets[""] = 13;
  test::add_input(a, "x", {{3, ""}});
  ir::Value& c = a.value("c");
  c.dtype = DType::Bool;
  c.dims = std::vector<ir::Dim>{};
  a.inputs.push_back("c");
  test::add_node(a, "Relu", {"x"}, {"rx"});
  ir::Node& node = test::add_node(a, "If", {"c"}, {"y"});
  auto branch = [&](const char* attr, const char* op) {
    auto g = std::make_shared<ir::Graph>();
    g->name = attr;
    test::add_constant(*g, std::string(attr) + "_k", Tensor::from_vector<float>({3}, {1, 2, 3}));
    test::add_node(*g, op, {"rx", std::string(attr) + "_k"}, {std::string(attr) + "_out"});
    g->outputs = {std::string(attr) + "_out"};
    ir::Attribute at;
    at.kind = ir::Attribute::Kind::Graph;
    at.g = g;
    node.attrs[attr] = at;
  };
  branch("then_branch", "Add");
  branch("else_branch", "Mul");
  a.outputs = {"y"};
  std::string p = tmp_path("if_rt.onnx");
  onnxio::save_model(a, p);
  ir::Graph b = onnxio::load_model(p);
  ASSERT_EQ(b.nodes.size(), 2u);
  EXPECT_EQ(b.nodes[1].op_type, "If");
  EXPECT_TRUE(b.nodes[1].attrs == a.nodes[1].attrs);
  EXPECT_EQ(b.nodes[1].subgraph_reads(), std::vector<std::string>{"rx"});
  Tensor x = Tensor::from_vector<float>({3}, {-1, 1, 2});
  for (bool cond : {true, false}) {
    // Relu(x) = [0, 1, 2]; then adds [1, 2, 3], else multiplies by it.
    std::vector<float> want = cond ? std::vector<float>{1, 3, 5} : std::vector<float>{0, 2, 6};
    for (const ir::Graph* g : {&a, &b}) {
      Tensor y = engine::Engine(*g).run({x, Tensor::scalar<bool>(cond)})[0];
      EXPECT_EQ(y.to_float(), want);
    }
  }
}

// Sequence and optional value types and a TypeProto attribute (Optional's `type`) survive a save
// and a load.
TEST(OnnxIo, SequenceAndOptionalTypesRoundTrip) {
  ir::Graph a;
  a.name = "seq_model";
  a.opsets[""] = 18;
  test::add_input(a, "seq", {{2, ""}});
  a.value("seq").kind = ir::ValueKind::Sequence;
  test::add_node(a, "SequenceLength", {"seq"}, {"n"});
  a.value("n").dtype = DType::I64;
  ir::Node& opt = test::add_node(a, "Optional", {}, {"none"});
  onnx::TypeProto tp;
  tp.mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  ir::Attribute type_attr;
  type_attr.kind = ir::Attribute::Kind::TypeProto;
  type_attr.s = tp.SerializeAsString();
  opt.attrs["type"] = type_attr;
  a.value("none").kind = ir::ValueKind::Optional;
  a.outputs = {"n", "none"};
  std::string p = tmp_path("seq_rt.onnx");
  onnxio::save_model(a, p);
  ir::Graph b = onnxio::load_model(p);
  EXPECT_EQ(b.values.at("seq").kind, ir::ValueKind::Sequence);
  EXPECT_EQ(b.values.at("seq").dtype, DType::F32);
  EXPECT_EQ(b.values.at("none").kind, ir::ValueKind::Optional);
  ASSERT_EQ(b.nodes.size(), 2u);
  EXPECT_TRUE(b.nodes[1].attrs == a.nodes[1].attrs);
  auto out = engine::Engine(b).run_values({engine::RunValue::of_sequence(
      {Tensor(DType::F32, {2}), Tensor(DType::F32, {2}), Tensor(DType::F32, {2})})});
  EXPECT_EQ(out[0].tensor.to_int64(), std::vector<int64_t>{3});
  EXPECT_EQ(out[1].kind, engine::RunValue::Kind::None);
}

// A value whose type is present but empty (`type {}`, as Silero VAD v5's If branch outputs are)
// loads as a value of unknown type, as ONNX allows.
TEST(OnnxIo, EmptyTypeProtoMeansUnknownType) {
  onnx::ModelProto m = relu_model();
  m.mutable_graph()->mutable_output(0)->mutable_type()->Clear();
  ASSERT_TRUE(m.graph().output(0).has_type());
  ir::Graph g = onnxio::load_model_from_bytes(m.SerializeAsString(), "empty_type", ".");
  EXPECT_EQ(g.values.at("y").dtype, DType::Undefined);
  Tensor y = engine::Engine(g).run({Tensor::from_vector<float>({1, 4}, {-1, 2, -3, 4})})[0];
  EXPECT_EQ(y.to_float(), (std::vector<float>{0, 2, 0, 4}));
}
