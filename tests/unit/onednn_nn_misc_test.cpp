// oneDNN PRelu, LRN and InstanceNormalization against the reference kernels over random shapes,
// plus the cases their factories must reject.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "kernels/onednn/factories.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

int pick(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

Shape random_nc_shape(std::mt19937& rng, int min_spatial, int max_spatial) {
  Shape x{pick(rng, 1, 3), pick(rng, 1, 20)};
  const int ns = pick(rng, min_spatial, max_spatial);
  for (int i = 0; i < ns; ++i) x.push_back(pick(rng, 1, 9));
  return x;
}

TEST(OnednnPRelu, Random) {
  std::mt19937 rng(31);
  int taken = 0;
  for (int i = 0; i < 150; ++i) {
    Shape x = random_nc_shape(rng, 0, 3);
    Shape s;
    int opset = 16;
    const int kind = pick(rng, 0, 4);
    switch (kind) {
      case 0:  // per channel, as PyTorch exports it
        s = Shape(x.size() - 1, 1), s[0] = x[1];
        break;
      case 1:  // scalar
        s = {1};
        break;
      case 2:  // full
        s = x;
        break;
      case 3:  // trailing dims only (oneDNN 2.6 may have only its reference kernel for it)
        s.assign(x.begin() + 1, x.end());
        break;
      default:  // opset 6's per-channel [C]
        s = {x[1]}, opset = 6;
        break;
    }
    Problem p{testing::make_node("PRelu", 2), opset, {}, {false, true}};
    p.inputs = {testing::random_tensor(rng, x), testing::random_tensor(rng, s, 0.f, 1.f)};
    auto o = testing::check_against_reference(p, rng);
    // oneDNN 2.6 lacks a JIT prelu for some ranks and broadcasts (the reference kernel runs
    // those); the common 4-D per-channel slope must be taken.
    const bool common = x.size() == 4 && (kind == 0 || kind == 4);
    if (!common && !o.why_not.empty()) continue;
    ++taken;
    ASSERT_TRUE(o.why_not.empty())
        << "x=" << shape_str(x) << " slope=" << shape_str(s) << ": rejected: " << o.why_not;
    EXPECT_LT(o.error, 1e-6) << "x=" << shape_str(x) << " slope=" << shape_str(s);
  }
  EXPECT_GT(taken, 50);
}

TEST(OnednnLrn, Random) {
  std::mt19937 rng(32);
  for (int i = 0; i < 60; ++i) {
    Shape x = random_nc_shape(rng, 1, 3);
    const int64_t size = 2 * pick(rng, 0, 3) + 1;
    const float alpha = 1e-4f * static_cast<float>(pick(rng, 1, 100));
    const float beta = 0.25f * static_cast<float>(pick(rng, 1, 4));
    const float bias = 0.5f * static_cast<float>(pick(rng, 1, 4));
    std::map<std::string, Attribute> attrs{{"size", Attribute::of_int(size)},
                                           {"alpha", Attribute::of_float(alpha)},
                                           {"beta", Attribute::of_float(beta)},
                                           {"bias", Attribute::of_float(bias)}};
    Problem p{testing::make_node("LRN", 1, attrs), 13, {}, {false}};
    p.inputs = {testing::random_tensor(rng, x, -3.f, 3.f)};
    const std::string what =
        fmt::format("x={} size={} alpha={} beta={} bias={}", shape_str(x), size, alpha, beta, bias);
    auto o = testing::check_against_reference(p, rng);
    ASSERT_TRUE(o.why_not.empty()) << what << ": rejected: " << o.why_not;
    EXPECT_LT(o.error, 1e-5) << what;
  }
}

TEST(OnednnLrn, RejectsEvenSize) {
  std::mt19937 rng(33);
  Problem p{testing::make_node("LRN", 1, {{"size", Attribute::of_int(4)}}), 13, {}, {false}};
  p.inputs = {testing::random_tensor(rng, {1, 6, 3, 3})};
  std::vector<TensorType> types;
  std::string why;
  EXPECT_EQ(p.make(why, types), nullptr);
  EXPECT_NE(why.find("even size 4"), std::string::npos) << why;
}

TEST(OnednnInstanceNorm, Random) {
  std::mt19937 rng(34);
  for (int i = 0; i < 80; ++i) {
    Shape x = random_nc_shape(rng, 1, 3);
    const float eps = pick(rng, 0, 1) ? 1e-5f : 1e-2f;
    Problem p{
        testing::make_node("InstanceNormalization", 3, {{"epsilon", Attribute::of_float(eps)}}),
        6,
        {},
        {false, true, true}};
    p.inputs = {testing::random_tensor(rng, x, -2.f, 3.f), testing::random_tensor(rng, {x[1]}),
                testing::random_tensor(rng, {x[1]})};
    auto o = testing::check_against_reference(p, rng);
    ASSERT_TRUE(o.why_not.empty()) << "x=" << shape_str(x) << ": rejected: " << o.why_not;
    EXPECT_LT(o.error, 1e-5) << "x=" << shape_str(x) << " eps=" << eps;
  }
}

TEST(OnednnInstanceNorm, RejectsRuntimeScale) {
  std::mt19937 rng(35);
  Problem p{testing::make_node("InstanceNormalization", 3), 6, {}, {false, false, true}};
  p.inputs = {testing::random_tensor(rng, {1, 3, 4, 4}), testing::random_tensor(rng, {3}),
              testing::random_tensor(rng, {3})};
  std::vector<TensorType> types;
  std::string why;
  EXPECT_EQ(p.make(why, types), nullptr);
  EXPECT_EQ(why, "scale or B is not constant");
}

}  // namespace
}  // namespace qbench::kernels::onednn
