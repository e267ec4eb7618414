// Reordered weights made once per engine (kernels::PreparedConstants): the part plans of a split
// batch find the weights the first part made instead of reordering their own copy, and a value
// pins its source tensor, so no other constant can take that address and be served stale
// weights while the value lives.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/engine.h"
#include "kernels/kernel.h"
#include "onnx/onnx_io.h"
#include "quant/recipes.h"
#include "test_util.h"

using namespace qbench;

TEST(PreparedConstants, SameSourceAndKeyIsMadeOnce) {
  kernels::PreparedConstants c;
  const Tensor w = test::random_tensor({64, 64}, 1);
  int made = 0;
  auto make = [&] { return ++made; };
  auto a = c.get<int>(w, "layout A", make);
  auto b = c.get<int>(w, "layout A", make);
  auto other = c.get<int>(w, "layout B", make);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), other.get());
  EXPECT_EQ(made, 2);
  EXPECT_EQ(c.made(), 2);
  EXPECT_EQ(c.shared(), 1);
  // Once no one holds it, the value is gone and made again.
  a.reset();
  b.reset();
  auto again = c.get<int>(w, "layout A", make);
  EXPECT_EQ(made, 3);
  EXPECT_EQ(*again, 3);
}

TEST(PreparedConstants, AValuePinsItsSource) {
  kernels::PreparedConstants c;
  auto source = std::make_unique<Tensor>(test::random_tensor({32, 32}, 2));
  const void* address = source->raw();
  auto v = c.get<int>(*source, "k", [] { return 7; });
  source.reset();  // the model's own copy is gone; the value still holds the buffer
  // New constants of the same size never get the old address while the value lives, so none of
  // them is served the value made from the old one.
  for (int i = 0; i < 64; ++i) {
    Tensor t = test::random_tensor({32, 32}, 3 + i);
    EXPECT_NE(t.raw(), address);
    EXPECT_EQ(*c.get<int>(t, "k", [i] { return 100 + i; }), 100 + i);
  }
}

namespace {

std::string zoo(const std::string& name) {
  return test::models_dir() + "/" + name + ".onnx";
}

// The zoo model `g` on 2 threads at batch 8, each part's images one at a time: both part plans
// compile the same weights into the same layouts, and the second finds every one the first
// made. The results are those of one plan.
void expect_parts_share(const ir::Graph& g, const std::string& what) {
  engine::EngineOptions o;
  o.threads = 2;
  o.split_part_bytes = 1;
  engine::Engine split(g, o);
  o.split_batch = false;
  engine::Engine whole(g, o);
  const Tensor x = test::random_tensor(split.input_types(8)[0].shape, 4, 0.0f, 1.0f);
  ASSERT_EQ(split.batch_split(split.input_types(8)).parts, 2) << what;
  const Tensor a = split.run({x})[0], b = whole.run({x})[0];
  const kernels::PreparedConstants& p = split.prepared_constants();
  EXPECT_GT(p.made(), 0) << what;
  EXPECT_GE(p.shared(), p.made()) << what;
  EXPECT_LT(test::max_rel_diff(a, b), 1e-4f) << what;
}

}  // namespace

TEST(PreparedConstants, SplitBatchPartsShareTheirWeights) {
  for (const char* m : {"resnet", "mobilenetv2", "mlp"}) {
    if (!std::filesystem::exists(zoo(m))) GTEST_SKIP() << zoo(m) << " is not in the zoo yet";
    const ir::Graph g = onnxio::load_model(zoo(m));
    expect_parts_share(g, m);
    quant::QuantizeOptions q;
    q.recipe = quant::Recipe::StaticInt8;
    q.calib.data = "fashion-mnist";
    q.calib.size = 32;
    expect_parts_share(quant::quantize(g, q).graph, std::string(m) + " static-int8");
  }
}
