// oneDNN Add/Sub/Mul/Div/Max/Min against the reference over numpy broadcast patterns,
// including A being the broadcast operand (swap, negate or expand), and fused activations on Add
// (the only binary op the fusion pass, and so the reference kernel, gives them).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "kernels/onednn/factories.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using testing::Problem;

TEST(OnednnBinary, BroadcastPatterns) {
  std::mt19937 rng(41);
  std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3, 4}, {2, 3, 4}},
      {{2, 3, 4}, {4}},
      {{4}, {2, 3, 4}},
      {{2, 3, 4}, {}},
      {{}, {2, 3, 4}},
      {{2, 16, 5, 5}, {1, 16, 1, 1}},
      {{1, 16, 1, 1}, {2, 16, 5, 5}},
      {{3, 1}, {1, 5}},
      {{2, 1, 4}, {3, 1}},
      {{1, 197, 64}, {2, 197, 64}},
      {{2, 197, 64}, {2, 197, 1}},
      {{5, 1, 7}, {5, 6, 7}},
      {{}, {}},
      {{1}, {1}},
      {{2, 3, 1, 5}, {1, 3, 4, 1}},
  };
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"})
    for (const auto& [a, b] : shapes)
      for (int post = 0; post < (std::string(op) == "Add" ? 2 : 1); ++post) {
        Problem p{testing::make_node(op, 2), 14, {}, {false, false}};
        if (post) p.node.fused = {ir::FusedOp{"Relu", "relu", {}}};
        p.inputs = {testing::random_tensor(rng, a), testing::random_tensor(rng, b, 0.5f, 2.f)};
        auto o = testing::check_against_reference(p, rng);
        std::string what = fmt::format("{} {} {} fused {}", op, a, b, post);
        ASSERT_TRUE(o.why_not.empty()) << what << ": " << o.why_not;
        EXPECT_LT(o.error, 1e-5) << what;
      }
}

TEST(OnednnBinary, RejectsWithReason) {
  std::string why;
  std::vector<const Tensor*> consts{nullptr, nullptr};
  ir::Node n = testing::make_node("Add", 2);
  std::vector<TensorType> in{{DType::I64, {4}}, {DType::I64, {4}}};
  EXPECT_EQ(make_onednn_binary(KernelInit{n, 14, in, {in.data(), 1}, consts, 1}, why), nullptr);
  EXPECT_EQ(why, "input 0 dtype i64 (only f32)");

  ir::Node m = testing::make_node("Max", 3);
  std::vector<TensorType> three{{DType::F32, {4}}, {DType::F32, {4}}, {DType::F32, {4}}};
  std::vector<const Tensor*> c3{nullptr, nullptr, nullptr};
  why.clear();
  EXPECT_EQ(make_onednn_binary(KernelInit{m, 14, three, {three.data(), 1}, c3, 1}, why), nullptr);
  EXPECT_EQ(why, "Max with 3 inputs (only 2)");
}

// Before opset 7 `axis` places B inside A (not numpy's right alignment); only the reference
// reads it, so oneDNN must decline even when the shapes happen to broadcast numpy-style.
TEST(OnednnBinary, DeclinesOpset6Axis) {
  std::string why;
  std::vector<const Tensor*> consts{nullptr, nullptr};
  ir::Node n = testing::make_node(
      "Mul", 2, {{"broadcast", ir::Attribute::of_int(1)}, {"axis", ir::Attribute::of_int(0)}});
  std::vector<TensorType> in{{DType::F32, {3, 3}}, {DType::F32, {3}}};
  std::vector<TensorType> out{{DType::F32, {3, 3}}};
  EXPECT_EQ(make_onednn_binary(KernelInit{n, 6, in, out, consts, 1}, why), nullptr);
  EXPECT_EQ(why, "broadcast with axis (before opset 7)");
}

}  // namespace
}  // namespace qbench::kernels::onednn
