// Batch split (engine::Engine::batch_split): a batch on 2 threads runs as 2 sub-batches at once,
// one thread each, and must give what the whole batch on one plan gives: the zoo's FP32 models
// within float rounding (different batch sizes may block the reductions differently), a static
// int8 model to the bit, both with each part's images all at once and one at a time. A graph
// that mixes the images of a batch is not split, says why, and still gives the one-plan result.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/engine.h"
#include "onnx/onnx_io.h"
#include "quant/recipes.h"
#include "test_util.h"

using namespace qbench;
using test::add_constant;
using test::add_input;
using test::add_node;
using test::random_tensor;

namespace {

engine::EngineOptions opts(bool split, int64_t part_bytes = int64_t(64) << 20) {
  engine::EngineOptions o;
  o.threads = 2;
  o.split_batch = split;
  o.split_part_bytes = part_bytes;
  return o;
}

// The model's one input at batch `n`, random values in [0, 1).
Tensor input_at(const engine::Engine& e, int64_t n, uint32_t seed) {
  return random_tensor(e.input_types(n)[0].shape, seed, 0.0f, 1.0f);
}

// Runs `g` on a batch of 9 (parts of 5 and 4 images) split and on one plan.
void expect_split_equals_one_plan(const ir::Graph& g, const std::string& what, float tolerance,
                                  int64_t part_bytes, bool one_at_a_time) {
  engine::Engine split(g, opts(true, part_bytes)), whole(g, opts(false));
  const Tensor x = input_at(split, 9, 5);
  const engine::Engine::Split s = split.batch_split(split.input_types(9));
  EXPECT_EQ(s.parts, 2) << what << ": " << s.why_not;
  EXPECT_EQ(s.one_at_a_time, one_at_a_time) << what;
  EXPECT_EQ(whole.batch_split(whole.input_types(9)).parts, 1) << what;
  const std::vector<Tensor> a = split.run({x}), b = whole.run({x});
  ASSERT_EQ(a.size(), b.size());
  for (size_t o = 0; o < a.size(); ++o) {
    ASSERT_EQ(a[o].shape(), b[o].shape()) << what;
    if (tolerance == 0)
      EXPECT_TRUE(a[o].same_as(b[o])) << what << " output " << o;
    else
      EXPECT_LT(test::max_rel_diff(a[o], b[o]), tolerance) << what << " output " << o;
  }
  // A second run reuses the part plans (and their buffers) and gives the same.
  const std::vector<Tensor> again = split.run({x});
  for (size_t o = 0; o < a.size(); ++o) EXPECT_TRUE(again[o].same_as(a[o])) << what;
}

std::string zoo(const std::string& name) { return test::models_dir() + "/" + name + ".onnx"; }

}  // namespace

TEST(BatchSplit, ZooFp32EqualsOnePlan) {
  for (const char* m : {"lenet", "mlp", "resnet", "mobilenet", "mobilenetv2"}) {
    if (!std::filesystem::exists(zoo(m))) GTEST_SKIP() << zoo(m) << " is not in the zoo yet";
    const ir::Graph g = onnxio::load_model(zoo(m));
    expect_split_equals_one_plan(g, m, 1e-4f, int64_t(64) << 20, false);
    // A tiny part budget: each part runs its images one at a time.
    expect_split_equals_one_plan(g, std::string(m) + " one at a time", 1e-4f, 1, true);
  }
}

TEST(BatchSplit, StaticInt8IsBitExact) {
  quant::QuantizeOptions q;
  q.recipe = quant::Recipe::StaticInt8;
  q.calib.data = "fashion-mnist";
  q.calib.size = 64;
  for (const char* m : {"lenet", "resnet"}) {
    const ir::Graph g = quant::quantize(onnxio::load_model(zoo(m)), q).graph;
    expect_split_equals_one_plan(g, std::string(m) + " static-int8", 0, int64_t(64) << 20, false);
    expect_split_equals_one_plan(g, std::string(m) + " static-int8, one at a time", 0, 1, true);
  }
}

namespace {

// x[N, 4] -> Relu -> `op` -> y, the op built by `make` on "r".
ir::Graph with_op(const std::function<void(ir::Graph&)>& make) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{-1, "N"}, {4, ""}});
  add_node(g, "Relu", {"x"}, {"r"});
  make(g);
  g.outputs = {"y"};
  return g;
}

void expect_not_split(const ir::Graph& g, const std::string& reason) {
  engine::Engine split(g, opts(true)), whole(g, opts(false));
  const engine::Engine::Split s = split.batch_split(split.input_types(6));
  EXPECT_EQ(s.parts, 1) << reason;
  EXPECT_NE(s.why_not.find(reason), std::string::npos) << s.why_not;
  const Tensor x = random_tensor({6, 4}, 3);
  EXPECT_TRUE(split.run({x})[0].same_as(whole.run({x})[0])) << reason;
}

}  // namespace

TEST(BatchSplit, GraphsThatMixImagesAreNotSplit) {
  // Softmax over the batch axis keeps every shape.
  expect_not_split(with_op([](ir::Graph& g) {
                     add_node(g, "Softmax", {"r"}, {"y"}).attrs["axis"] =
                         ir::Attribute::of_int(0);
                   }),
                   "its axis is the batch");
  // A mean over the batch, kept as a first dimension of 1.
  expect_not_split(with_op([](ir::Graph& g) {
                     auto& n = add_node(g, "ReduceMean", {"r"}, {"y"});
                     n.attrs["axes"] = ir::Attribute::of_ints({0});
                     n.attrs["keepdims"] = ir::Attribute::of_int(1);
                   }),
                   "does not keep one row per image");
  // A running sum down the batch (its axis is an input, not an attribute).
  expect_not_split(with_op([](ir::Graph& g) {
                     add_constant(g, "axis", Tensor::scalar<int64_t>(0));
                     add_node(g, "CumSum", {"r", "axis"}, {"y"});
                   }),
                   "couples the items of its first axis");
  // The batch moved out of the first dimension.
  expect_not_split(with_op([](ir::Graph& g) {
                     add_node(g, "Transpose", {"r"}, {"y"}).attrs["perm"] =
                         ir::Attribute::of_ints({1, 0});
                   }),
                   "the batch is not its first dimension alone");
}

TEST(BatchSplit, MoreGraphsThatMixImagesAreNotSplit) {
  // A mean over the batch written as arithmetic: x / N with N from the input's shape.
  expect_not_split(with_op([](ir::Graph& g) {
                     add_node(g, "Shape", {"r"}, {"shape"});
                     add_constant(g, "zero", Tensor::scalar<int64_t>(0));
                     add_node(g, "Gather", {"shape", "zero"}, {"n"});
                     add_node(g, "Cast", {"n"}, {"nf"}).attrs["to"] = ir::Attribute::of_int(1);
                     add_node(g, "Div", {"r", "nf"}, {"y"});
                   }),
                   "is computed from the batch size");
  // Gather's axis defaults to 0: per-image indices picking rows of the batch.
  expect_not_split(with_op([](ir::Graph& g) {
                     add_node(g, "ArgMax", {"r"}, {"i"}).attrs["axis"] = ir::Attribute::of_int(1);
                     add_node(g, "Gather", {"r", "i"}, {"y"});
                   }),
                   "its axis is the batch");
}

TEST(BatchSplit, EmbeddingLookupsAndReshapesSplit) {
  // Per-image indices into a constant table (axis 0 is the table's), then a Reshape whose
  // target comes from the batch size (an integer shape, as exporters write Flatten).
  const ir::Graph g = with_op([](ir::Graph& g) {
    add_node(g, "ArgMax", {"r"}, {"i"}).attrs["axis"] = ir::Attribute::of_int(1);
    add_constant(g, "table", random_tensor({4, 3}, 9));
    add_node(g, "Gather", {"table", "i"}, {"e"});
    add_node(g, "Shape", {"e"}, {"shape"});
    add_constant(g, "zero", Tensor::from_vector<int64_t>({1}, {0}));
    add_node(g, "Gather", {"shape", "zero"}, {"n"});
    add_constant(g, "rest", Tensor::from_vector<int64_t>({1}, {-1}));
    add_node(g, "Concat", {"n", "rest"}, {"target"}).attrs["axis"] = ir::Attribute::of_int(0);
    add_node(g, "Reshape", {"e", "target"}, {"y"});
  });
  engine::Engine split(g, opts(true)), whole(g, opts(false));
  const engine::Engine::Split s = split.batch_split(split.input_types(7));
  EXPECT_EQ(s.parts, 2) << s.why_not;
  const Tensor x = random_tensor({7, 4}, 8);
  EXPECT_TRUE(split.run({x})[0].same_as(whole.run({x})[0]));
}

TEST(BatchSplit, ViTQkvSplitIsNotSplit) {
  // The zoo ViT splits its [3, N, heads, tokens, dim] attention projections along the 3: the
  // batch sits in dimension 1 there, which the check does not follow (it would be safe), so
  // the ViT runs on one plan, saying why.
  const ir::Graph g = onnxio::load_model(zoo("vit"));
  engine::Engine split(g, opts(true)), whole(g, opts(false));
  const engine::Engine::Split s = split.batch_split(split.input_types(6));
  EXPECT_EQ(s.parts, 1);
  EXPECT_NE(s.why_not.find("the batch is not its first dimension alone"), std::string::npos)
      << s.why_not;
  const Tensor x = input_at(split, 6, 2);
  EXPECT_TRUE(split.run({x})[0].same_as(whole.run({x})[0]));
}

TEST(BatchSplit, DynamicInt8RangesSpanTheWholeBatch) {
  // DynamicQuantizeLinear takes one range over the batch: split, each part would take its own.
  quant::QuantizeOptions q;
  q.recipe = quant::Recipe::DynamicInt8;
  const ir::Graph g = quant::quantize(onnxio::load_model(zoo("mlp")), q).graph;
  engine::Engine split(g, opts(true)), whole(g, opts(false));
  const engine::Engine::Split s = split.batch_split(split.input_types(8));
  EXPECT_EQ(s.parts, 1);
  EXPECT_NE(s.why_not.find("does not keep one row per image"), std::string::npos) << s.why_not;
  const Tensor x = input_at(split, 8, 4);
  EXPECT_TRUE(split.run({x})[0].same_as(whole.run({x})[0]));
}

TEST(BatchSplit, OnlyASymbolicBatchOnTwoOrMoreThreadsIsSplit) {
  const ir::Graph g = onnxio::load_model(zoo("lenet"));
  engine::Engine split(g, opts(true));
  EXPECT_EQ(split.batch_split(split.input_types(1)).parts, 1);  // one image
  EXPECT_EQ(split.batch_split(split.input_types(2)).parts, 2);
  engine::EngineOptions one = opts(true);
  one.threads = 1;
  engine::Engine single(g, one);
  EXPECT_EQ(single.batch_split(single.input_types(8)).parts, 1);
  // A model whose batch is fixed in the file is run as written.
  ir::Graph fixed = g;
  (*fixed.values.at(fixed.inputs[0]).dims)[0] = ir::Dim{4, ""};
  engine::Engine f(fixed, opts(true));
  EXPECT_EQ(f.batch_split(f.input_types(4)).parts, 1);
}

// A node with little work runs on one thread even in a plan for two (forking a team costs more
// than it saves); the same node at a larger batch, or a plan for one thread, is unchanged, and
// the outputs equal the one-thread plan's.
TEST(NodeThreads, SmallNodesRunOnOneThread) {
  const ir::Graph g = onnxio::load_model(zoo("lenet"));
  engine::Engine two(g, opts(false)), one(g, engine::EngineOptions{});
  const auto count = [](const engine::Plan& p, int threads) {
    int n = 0;
    for (const auto& s : p.steps()) n += s.threads == threads;
    return n;
  };
  // Batch 1: LeNet's largest node has 0.3M MACs and 4.7k elements: every step on one thread.
  engine::Plan& small = two.plan_for(two.input_types(1));
  EXPECT_EQ(count(small, 1), static_cast<int>(small.steps().size()));
  // Batch 64: the convolutions (7.5M and 15.4M MACs) and the tensors around them use both.
  engine::Plan& large = two.plan_for(two.input_types(64));
  EXPECT_GT(count(large, 2), 0);
  EXPECT_GT(count(large, 1), 0);  // the last Gemm (54k MACs, 640 outputs) stays on one
  for (int64_t batch : {1, 64}) {
    const Tensor x = input_at(two, batch, 11);
    EXPECT_LT(test::max_rel_diff(two.run({x})[0], one.run({x})[0]), 1e-5f) << batch;
  }
  // Thresholds of 0: every node shares.
  engine::EngineOptions all = opts(false);
  all.min_parallel_macs = 0;
  all.min_parallel_elements = 0;
  engine::Engine shared(g, all);
  engine::Plan& p = shared.plan_for(shared.input_types(1));
  EXPECT_EQ(count(p, 2), static_cast<int>(p.steps().size()));
}
