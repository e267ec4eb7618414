// oneDNN MaxPool, AveragePool and the global pools against the reference kernels: strides,
// asymmetric pads, auto_pad, dilations, ceil_mode, count_include_pad.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "kernels/onednn/factories.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

TEST(OnednnPool, Random) {
  std::mt19937 rng(21);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int accepted = 0, rejected = 0;
  const int count = 300;
  for (int i = 0; i < count; ++i) {
    bool is_max = pick(0, 1) == 1;
    int ns = pick(1, 2);
    Shape x{pick(1, 2), pick(1, 19)};
    std::vector<int64_t> k, s, d, pads;
    for (int j = 0; j < ns; ++j) {
      k.push_back(pick(1, 4));
      s.push_back(pick(1, 3));
      d.push_back(pick(0, 3) == 0 ? 2 : 1);
      x.push_back(pick(0, 12) + (k.back() - 1) * d.back() + 1);
    }
    for (int j = 0; j < 2 * ns; ++j) pads.push_back(std::min<int64_t>(pick(0, 2), k[j % ns] - 1));
    std::map<std::string, Attribute> attrs{{"kernel_shape", Attribute::of_ints(k)},
                                           {"strides", Attribute::of_ints(s)},
                                           {"dilations", Attribute::of_ints(d)},
                                           {"ceil_mode", Attribute::of_int(pick(0, 1))}};
    int pad_kind = pick(0, 4);
    if (pad_kind == 1)
      attrs["auto_pad"] = Attribute::of_string("SAME_UPPER");
    else if (pad_kind == 2)
      attrs["auto_pad"] = Attribute::of_string("SAME_LOWER");
    else if (pad_kind == 3)
      attrs["auto_pad"] = Attribute::of_string("VALID");
    else
      attrs["pads"] = Attribute::of_ints(pads);
    if (!is_max) attrs["count_include_pad"] = Attribute::of_int(pick(0, 1));
    Problem p{testing::make_node(is_max ? "MaxPool" : "AveragePool", 1, attrs), 19, {}, {false}};
    p.inputs = {testing::random_tensor(rng, x)};
    std::string what =
        fmt::format("{} x {} k {} s {} d {} pads {} auto_pad {} ceil {} include_pad {}",
                    p.node.op_type, x, k, s, d, pads, pad_kind, p.node.attr_int("ceil_mode", 0),
                    p.node.attr_int("count_include_pad", 0));
    auto o = testing::check_against_reference(p, rng);
    if (!o.why_not.empty()) {
      // Only the documented gaps may be rejected.
      EXPECT_TRUE(o.why_not == "count_include_pad with ceil_mode windows past the pads" ||
                  o.why_not == "a pooling window lies entirely in the padding" ||
                  o.why_not == "dilations > 1 (oneDNN 2.6 has only a reference dilated pooling)")
          << what << ": " << o.why_not;
      ++rejected;
      continue;
    }
    EXPECT_LT(o.error, 1e-5) << what;
    ++accepted;
  }
  // About a third of the cases are dilated, which oneDNN 2.6 only has a reference kernel for.
  EXPECT_GT(accepted, count / 2) << rejected << " rejected";
}

TEST(OnednnPool, ModelZooShapes) {
  std::mt19937 rng(22);
  struct Case {
    std::string op;
    Shape x;
    std::vector<int64_t> k, s, pads;
    int ceil = 0;
  };
  std::vector<Case> cases = {
      {"MaxPool", {1, 6, 24, 24}, {2, 2}, {2, 2}, {0, 0, 0, 0}},
      {"MaxPool", {8, 64, 56, 56}, {3, 3}, {2, 2}, {1, 1, 1, 1}},
      {"AveragePool", {2, 16, 7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 1},
      {"MaxPool", {2, 16, 7, 7}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 1},
  };
  for (const Case& c : cases) {
    Problem p{testing::make_node(c.op, 1,
                                 {{"kernel_shape", Attribute::of_ints(c.k)},
                                  {"strides", Attribute::of_ints(c.s)},
                                  {"pads", Attribute::of_ints(c.pads)},
                                  {"ceil_mode", Attribute::of_int(c.ceil)}}),
              17,
              {testing::random_tensor(rng, c.x)},
              {false}};
    auto o = testing::check_against_reference(p, rng);
    ASSERT_TRUE(o.why_not.empty()) << c.op << " " << shape_str(c.x) << ": " << o.why_not;
    EXPECT_LT(o.error, 1e-5) << c.op << " " << shape_str(c.x);
  }
}

TEST(OnednnPool, Global) {
  std::mt19937 rng(23);
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"})
    for (Shape x : {Shape{1, 512, 7, 7}, Shape{3, 5, 9}, Shape{2, 7, 3, 4, 5}, Shape{2, 3, 1, 1}}) {
      Problem p{testing::make_node(op, 1), 17, {testing::random_tensor(rng, x)}, {false}};
      auto o = testing::check_against_reference(p, rng);
      ASSERT_TRUE(o.why_not.empty()) << op << " " << shape_str(x) << ": " << o.why_not;
      EXPECT_LT(o.error, 1e-5) << op << " " << shape_str(x);
    }
}

TEST(OnednnPool, RejectsWithReason) {
  std::string why;
  ir::Node n = testing::make_node("MaxPool", 1, {{"kernel_shape", Attribute::of_ints({2, 2})}}, 2);
  std::vector<TensorType> in{{DType::F32, {1, 1, 4, 4}}};
  std::vector<TensorType> out{{DType::F32, {1, 1, 3, 3}}, {DType::I64, {1, 1, 3, 3}}};
  std::vector<const Tensor*> consts{nullptr};
  EXPECT_EQ(make_onednn_pool(KernelInit{n, 17, in, out, consts, 1}, why), nullptr);
  EXPECT_EQ(why, "MaxPool Indices output requested");

  ir::Node a = testing::make_node("AveragePool", 1, {{"kernel_shape", Attribute::of_ints({2, 2})}});
  std::vector<TensorType> in_u8{{DType::U8, {1, 1, 4, 4}}};
  std::vector<TensorType> out_u8{{DType::U8, {1, 1, 3, 3}}};
  why.clear();
  EXPECT_EQ(make_onednn_pool(KernelInit{a, 17, in_u8, out_u8, consts, 1}, why), nullptr);
  EXPECT_EQ(why, "input 0 dtype u8 (only f32)");

  // ceil_mode with count_include_pad: the last window runs past the pads.
  ir::Node c = testing::make_node("AveragePool", 1,
                                  {{"kernel_shape", Attribute::of_ints({2})},
                                   {"strides", Attribute::of_ints({2})},
                                   {"ceil_mode", Attribute::of_int(1)},
                                   {"count_include_pad", Attribute::of_int(1)}});
  std::vector<TensorType> in1{{DType::F32, {1, 1, 5}}};
  std::vector<TensorType> out1{{DType::F32, {1, 1, 3}}};
  why.clear();
  EXPECT_EQ(make_onednn_pool(KernelInit{c, 17, in1, out1, consts, 1}, why), nullptr);
  EXPECT_EQ(why, "count_include_pad with ceil_mode windows past the pads");
}

}  // namespace
}  // namespace qbench::kernels::onednn
