// oneDNN Resize against the reference kernel: random shapes, modes, coordinate transforms,
// nearest modes, scales or sizes. The factory may decline a case (its taps differ from
// oneDNN's), but what it takes must match the reference, and the common cases must be taken.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "kernels/onednn/factories.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

struct ResizeCase {
  Shape x;
  std::string mode, coord, nearest_mode = "round_prefer_floor";
  std::vector<float> scales;   // all axes, or empty
  std::vector<int64_t> sizes;  // all axes, or empty

  std::string str() const {
    return fmt::format("x={} mode={} coord={} nearest={} scales={} sizes={}", x, mode, coord,
                       nearest_mode, scales, sizes);
  }

  Problem problem(std::mt19937& rng) const {
    std::map<std::string, Attribute> attrs{
        {"mode", Attribute::of_string(mode)},
        {"coordinate_transformation_mode", Attribute::of_string(coord)},
        {"nearest_mode", Attribute::of_string(nearest_mode)}};
    Problem p{testing::make_node("Resize", 4, attrs), 13, {}, {false, true, true, true}};
    p.inputs.push_back(testing::random_tensor(rng, x));
    p.inputs.emplace_back();  // roi
    if (!scales.empty()) {
      p.inputs.push_back(Tensor::from_vector<float>({static_cast<int64_t>(scales.size())}, scales));
      p.inputs.emplace_back();
    } else {
      p.inputs.emplace_back();
      p.inputs.push_back(Tensor::from_vector<int64_t>({static_cast<int64_t>(sizes.size())}, sizes));
    }
    return p;
  }
};

TEST(OnednnResample, RandomMatchesReferenceWhereTaken) {
  std::mt19937 rng(21);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const char* coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                          "tf_half_pixel_for_nn"};
  const char* nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  int taken = 0;
  for (int i = 0; i < 300; ++i) {
    ResizeCase c;
    const int ns = pick(1, 3);
    c.x = {pick(1, 2), pick(1, 5)};
    for (int k = 0; k < ns; ++k) c.x.push_back(pick(1, 9));
    c.mode = pick(0, 1) ? "linear" : "nearest";
    c.coord = coords[pick(0, 4)];
    c.nearest_mode = nearest[pick(0, 3)];
    const bool use_scales = pick(0, 1) == 1;
    for (size_t a = 0; a < c.x.size(); ++a) {
      if (a < 2) {
        c.scales.push_back(1.0f), c.sizes.push_back(c.x[a]);
        continue;
      }
      const float choices[] = {0.5f, 2.0f, 3.0f, 1.5f, 0.75f, 4.0f, 1.0f};
      c.scales.push_back(choices[pick(0, 6)]);
      c.sizes.push_back(pick(1, 17));
    }
    if (use_scales) {
      c.sizes.clear();
      for (size_t a = 2; a < c.x.size(); ++a)
        if (static_cast<int64_t>(c.scales[a] * static_cast<float>(c.x[a])) == 0) c.scales[a] = 2.0f;
    } else {
      c.scales.clear();
    }
    auto o = testing::check_against_reference(c.problem(rng), rng);
    if (!o.why_not.empty()) continue;
    ++taken;
    EXPECT_LT(o.error, 1e-5) << c.str();
  }
  // Roughly a third of random cases have oneDNN's taps; make sure the comparison ran often.
  EXPECT_GT(taken, 60);
}

TEST(OnednnResample, CommonCasesAreTaken) {
  std::mt19937 rng(22);
  const std::vector<ResizeCase> cases = {
      // PyTorch's nearest 2x upsampling (asymmetric + floor), FPN-style.
      {{1, 8, 7, 9}, "nearest", "asymmetric", "floor", {1, 1, 2, 2}, {}},
      // Nearest 3x on a 1-D signal (Resize-10 and Upsample's mapping).
      {{2, 3, 10}, "nearest", "asymmetric", "floor", {1, 1, 3}, {}},
      // Nearest 2x with half_pixel and the default round_prefer_floor.
      {{1, 3, 4, 6}, "nearest", "half_pixel", "round_prefer_floor", {1, 1, 2, 2}, {}},
      // Bilinear, align_corners=False, to explicit sizes (up and down).
      {{1, 4, 6, 5}, "linear", "pytorch_half_pixel", "floor", {}, {1, 4, 13, 11}},
      {{1, 4, 12, 10}, "linear", "half_pixel", "floor", {}, {1, 4, 5, 7}},
      // Trilinear 2x.
      {{1, 2, 3, 4, 5}, "linear", "half_pixel", "floor", {1, 1, 2, 2, 2}, {}},
  };
  for (const ResizeCase& c : cases) {
    auto o = testing::check_against_reference(c.problem(rng), rng);
    ASSERT_TRUE(o.why_not.empty()) << c.str() << ": rejected: " << o.why_not;
    EXPECT_LT(o.error, 1e-5) << c.str();
  }
}

TEST(OnednnResample, RejectsWithReason) {
  std::mt19937 rng(23);
  std::vector<TensorType> types;
  std::string why;
  ResizeCase align{{1, 2, 5, 5}, "linear", "align_corners", "floor", {}, {1, 2, 9, 9}};
  EXPECT_EQ(align.problem(rng).make(why, types), nullptr);
  EXPECT_NE(why.find("coordinate mapping"), std::string::npos) << why;
  ResizeCase cubic{{1, 2, 5, 5}, "cubic", "half_pixel", "floor", {1, 1, 2, 2}, {}};
  why.clear();
  EXPECT_EQ(cubic.problem(rng).make(why, types), nullptr);
  EXPECT_NE(why.find("cubic"), std::string::npos) << why;
  ResizeCase channels{{1, 2, 5, 5}, "nearest", "asymmetric", "floor", {1, 2, 1, 1}, {}};
  why.clear();
  EXPECT_EQ(channels.problem(rng).make(why, types), nullptr);
  EXPECT_NE(why.find("axis 1"), std::string::npos) << why;
}

}  // namespace
}  // namespace qbench::kernels::onednn
