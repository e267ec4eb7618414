// Reshape-like steps (Reshape, Squeeze, Unsqueeze, Flatten, Identity) run as views: their output
// is their input's buffer under another shape, and the step does nothing. A view keeps the
// buffer alive, so a residual convolution that would add onto that buffer in place (its last
// reader) must copy instead while the view is still to be read.
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "test_util.h"

using namespace qbench;
using test::add_constant;
using test::add_input;
using test::add_node;
using test::random_tensor;

namespace {

Tensor shape_of(std::vector<int64_t> dims) {
  return Tensor::from_vector<int64_t>({int64_t(dims.size())}, dims);
}

// a = Conv1(x); v = Reshape(a); y = Conv2(x) + a (a residual convolution: a's last reader);
// out = Reshape(y) + v, so v is read after the convolution that could overwrite a's buffer.
// 1-D convolutions: 2-D ones would go channels-last, and the Reshape would view a transposed
// copy of a rather than a itself.
ir::Graph residual_after_view() {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{1, ""}, {4, ""}, {36, ""}});
  add_constant(g, "w1", random_tensor({4, 4, 3}, 1));
  add_constant(g, "b1", random_tensor({4}, 2));
  add_constant(g, "w2", random_tensor({4, 4, 3}, 3));
  add_constant(g, "b2", random_tensor({4}, 4));
  add_constant(g, "flat", shape_of({1, 144}));
  for (const char* conv : {"a", "c"}) {
    ir::Node& n = add_node(
        g, "Conv", {"x", conv[0] == 'a' ? "w1" : "w2", conv[0] == 'a' ? "b1" : "b2"}, {conv});
    n.attrs["pads"] = ir::Attribute::of_ints({1, 1});
    n.attrs["kernel_shape"] = ir::Attribute::of_ints({3});
  }
  add_node(g, "Reshape", {"a", "flat"}, {"v"});
  add_node(g, "Add", {"c", "a"}, {"y"});
  add_node(g, "Reshape", {"y", "flat"}, {"w"});
  add_node(g, "Add", {"w", "v"}, {"out"});
  // Conv2 after the first Reshape, as an exporter could order them.
  std::swap(g.nodes[1], g.nodes[2]);
  g.outputs = {"out"};
  return g;
}

}  // namespace

TEST(PlanViews, ReshapesAreViewsAndKeepTheirBufferFromInPlaceWrites) {
  const ir::Graph g = residual_after_view();
  engine::Engine fast(g), ref(g, [] {
    engine::EngineOptions o;
    o.optimized_kernels = false;
    return o;
  }());
  const Tensor x = random_tensor({1, 4, 36}, 7);
  engine::Plan& plan = fast.plan_for(fast.input_types(1));
  int views = 0, residual = 0;
  for (const engine::Step& s : plan.steps()) {
    views += s.view;
    residual += s.impl.find("residual") != std::string::npos;
  }
  EXPECT_EQ(views, 2);
  EXPECT_EQ(residual, 1);  // the second Conv took the Add
  EXPECT_LT(test::max_rel_diff(fast.run({x})[0], ref.run({x})[0]), 1e-5f);
  // The reference plan's Reshapes are views too (the kernel is the reference one either way).
  int ref_views = 0;
  for (const engine::Step& s : ref.plan_for(ref.input_types(1)).steps()) ref_views += s.view;
  EXPECT_EQ(ref_views, 2);
}

TEST(PlanViews, AViewOfAGraphInputIsACopy) {
  // The input's buffer is the caller's, bound at run time: the Reshape copies it.
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{2, ""}, {6, ""}});
  add_constant(g, "s", shape_of({3, 4}));
  add_node(g, "Reshape", {"x", "s"}, {"y"});
  g.outputs = {"y"};
  engine::Engine e(g);
  EXPECT_FALSE(e.plan_for(e.input_types(1)).steps()[0].view);
  const Tensor x = random_tensor({2, 6}, 9);
  const Tensor y = e.run({x})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 4}));
  EXPECT_EQ(y.to_float(), x.to_float());
}
