// oneDNN Softmax/LogSoftmax (both opset semantics), LayerNormalization and Concat against
// the reference kernels.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "kernels/onednn/factories.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

void expect_matches(const Problem& p, std::mt19937& rng, const std::string& what) {
  auto o = testing::check_against_reference(p, rng);
  ASSERT_TRUE(o.why_not.empty()) << what << ": rejected: " << o.why_not;
  EXPECT_LT(o.error, 1e-5) << what;
}

TEST(OnednnSoftmax, EveryAxisBothOpsets) {
  std::mt19937 rng(51);
  for (const char* op : {"Softmax", "LogSoftmax"})
    for (Shape x :
         {Shape{7}, Shape{4, 10}, Shape{2, 3, 5}, Shape{2, 4, 197, 197}, Shape{2, 3, 4, 5}})
      for (int64_t opset : {11, 13})
        for (int64_t axis = -static_cast<int64_t>(x.size()); axis < static_cast<int64_t>(x.size());
             ++axis) {
          Problem p{testing::make_node(op, 1, {{"axis", Attribute::of_int(axis)}}),
                    opset,
                    {testing::random_tensor(rng, x, -5.f, 5.f)},
                    {false}};
          expect_matches(p, rng, fmt::format("{} {} opset {} axis {}", op, x, opset, axis));
        }
}

TEST(OnednnLayerNorm, AxesAndOptionalInputs) {
  std::mt19937 rng(52);
  for (Shape x : {Shape{2, 197, 64}, Shape{3, 10}, Shape{2, 3, 4, 5}})
    for (int64_t axis = -1; axis > -static_cast<int64_t>(x.size()); --axis)
      for (bool bias : {false, true})
        for (int outputs : {1, 3}) {
          Problem p{testing::make_node("LayerNormalization", bias ? 3 : 2,
                                       {{"axis", Attribute::of_int(axis)},
                                        {"epsilon", Attribute::of_float(1e-3f)}},
                                       outputs),
                    17,
                    {},
                    {false, true, true}};
          Shape norm(x.end() + axis, x.end());
          p.inputs = {testing::random_tensor(rng, x, -3.f, 3.f), testing::random_tensor(rng, norm)};
          if (bias) p.inputs.push_back(testing::random_tensor(rng, norm));
          expect_matches(p, rng,
                         fmt::format("{} axis {} bias {} outputs {}", x, axis, bias, outputs));
        }
}

TEST(OnednnConcat, Axes) {
  std::mt19937 rng(53);
  for (int64_t axis : {0, 1, 2, -1}) {
    Shape a{2, 3, 4}, b = a, c = a;
    size_t ax = axis < 0 ? 2 : axis;
    b[ax] = 5;
    c[ax] = 1;
    Problem p{testing::make_node("Concat", 3, {{"axis", Attribute::of_int(axis)}}),
              13,
              {testing::random_tensor(rng, a), testing::random_tensor(rng, b),
               testing::random_tensor(rng, c)},
              {false, true, false}};
    expect_matches(p, rng, fmt::format("axis {}", axis));
  }
  // A zero-sized input contributes nothing.
  Problem z{testing::make_node("Concat", 2, {{"axis", Attribute::of_int(1)}}),
            13,
            {testing::random_tensor(rng, {2, 0, 3}), testing::random_tensor(rng, {2, 4, 3})},
            {false, false}};
  expect_matches(z, rng, "zero-sized input");
}

TEST(OnednnMisc, RejectsWithReason) {
  std::string why;
  std::vector<const Tensor*> c1{nullptr}, c2{nullptr, nullptr};
  ir::Node ln = testing::make_node("LayerNormalization", 2, {{"axis", Attribute::of_int(1)}});
  std::vector<TensorType> in{{DType::F32, {2, 3, 4}}, {DType::F32, {4}}};
  std::vector<TensorType> out{{DType::F32, {2, 3, 4}}};
  EXPECT_EQ(make_onednn_layernorm(KernelInit{ln, 17, in, out, c2, 1}, why), nullptr);
  EXPECT_EQ(why, "Scale shape [4] is broadcast (only the full normalized shape)");

  ir::Node sm = testing::make_node("Softmax", 1);
  std::vector<TensorType> h{{DType::F16, {2, 3}}};
  why.clear();
  EXPECT_EQ(make_onednn_softmax(KernelInit{sm, 13, h, h, c1, 1}, why), nullptr);
  EXPECT_EQ(why, "input 0 dtype f16 (only f32)");

  ir::Node cc = testing::make_node("Concat", 2, {{"axis", Attribute::of_int(0)}});
  std::vector<TensorType> ci{{DType::I64, {2}}, {DType::I64, {3}}};
  std::vector<TensorType> co{{DType::I64, {5}}};
  why.clear();
  EXPECT_EQ(make_onednn_concat(KernelInit{cc, 13, ci, co, c2, 1}, why), nullptr);
  EXPECT_EQ(why, "input 0 dtype i64 (only f32)");
}

}  // namespace
}  // namespace qbench::kernels::onednn
