// Reshape-like steps (Reshape, Squeeze, Unsqueeze, Flatten, Identity) run as views: their output
// is their input's buffer under another shape, and the step does nothing. So does a Split whose
// outputs are runs of its input's bytes: each is a view at its offset. A view keeps the buffer
// alive, so a residual convolution that would add onto that buffer in place (its last reader)
// must copy instead while the view is still to be read.
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

// a = Conv1(x) [1, 6, 32]; p0, p1 = Split(a, axis 1, [2, 4]); r = Relu(p0);
// y = Conv2(x) + p1 (a residual convolution whose Z is the second piece, at byte offset 256).
// `relu_first`: p0 is read before the convolution (which may then add onto p1's bytes in place),
// else after it (p0 shares the buffer, so the convolution must not take it over).
ir::Graph split_then_residual(bool relu_first) {
  ir::Graph g;
  g.opsets[""] = 13;
  add_input(g, "x", {{1, ""}, {4, ""}, {32, ""}});
  add_constant(g, "w1", random_tensor({6, 4, 3}, 11));
  add_constant(g, "w2", random_tensor({4, 4, 3}, 12));
  add_constant(g, "b2", random_tensor({4}, 13));
  add_constant(g, "parts", Tensor::from_vector<int64_t>({2}, {2, 4}));
  for (const char* conv : {"a", "c"}) {
    ir::Node& n = add_node(g, "Conv",
                           conv[0] == 'a' ? std::vector<std::string>{"x", "w1"}
                                          : std::vector<std::string>{"x", "w2", "b2"},
                           {conv});
    n.attrs["pads"] = ir::Attribute::of_ints({1, 1});
  }
  add_node(g, "Split", {"a", "parts"}, {"p0", "p1"}).attrs["axis"] = ir::Attribute::of_int(1);
  add_node(g, "Relu", {"p0"}, {"r"});
  add_node(g, "Add", {"c", "p1"}, {"y"});
  // Order: a, Split, then Relu and Conv2 as asked, then the Add.
  std::swap(g.nodes[1], g.nodes[2]);  // a, Split, c, Relu, Add
  if (relu_first) std::swap(g.nodes[2], g.nodes[3]);
  g.outputs = {"r", "y"};
  return g;
}

engine::EngineOptions reference_only() {
  engine::EngineOptions o;
  o.optimized_kernels = false;
  return o;
}

}  // namespace

TEST(PlanViews, SplitPiecesAreViewsAtTheirOffsets) {
  for (bool relu_first : {true, false}) {
    const ir::Graph g = split_then_residual(relu_first);
    engine::Engine fast(g), ref(g, reference_only());
    const Tensor x = random_tensor({1, 4, 32}, 17);
    int views = 0, residual = 0;
    for (const engine::Step& s : fast.plan_for(fast.input_types(1)).steps()) {
      views += s.view && s.node.op_type == "Split";
      residual += s.impl.find("residual") != std::string::npos;
    }
    EXPECT_EQ(views, 1) << "relu_first " << relu_first;
    EXPECT_EQ(residual, 1) << "relu_first " << relu_first;
    const std::vector<Tensor> got = fast.run({x}), want = ref.run({x});
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_LT(test::max_rel_diff(got[i], want[i]), 1e-5f)
          << "output " << i << ", relu_first " << relu_first;
  }
}

TEST(PlanViews, SplitsThatAreNotRunsOfBytesCopy) {
  // Along axis 2 of [2, 6, 32] the pieces interleave; [1, 5] along axis 1 of [1, 6, 3] starts
  // the second piece 12 bytes in (not 64-byte aligned).
  using Case = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;
  for (auto [batch, length, axis, a, b] : {Case{2, 32, 2, 16, 16}, Case{1, 3, 1, 1, 5}}) {
    ir::Graph g;
    g.opsets[""] = 13;
    add_input(g, "x", {{batch, ""}, {4, ""}, {length, ""}});
    add_constant(g, "w", random_tensor({6, 4, 1}, 21));
    add_constant(g, "parts", Tensor::from_vector<int64_t>({2}, {a, b}));
    add_node(g, "Conv", {"x", "w"}, {"c"});
    add_node(g, "Split", {"c", "parts"}, {"p", "q"}).attrs["axis"] = ir::Attribute::of_int(axis);
    g.outputs = {"p", "q"};
    engine::Engine fast(g), ref(g, reference_only());
    for (const engine::Step& s : fast.plan_for(fast.input_types(batch)).steps())
      EXPECT_FALSE(s.view) << s.node.op_type << " axis " << axis;
    const Tensor x = random_tensor({batch, 4, length}, 23);
    const std::vector<Tensor> got = fast.run({x}), want = ref.run({x});
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_LT(test::max_rel_diff(got[i], want[i]), 1e-5f) << "axis " << axis;
  }
}

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
