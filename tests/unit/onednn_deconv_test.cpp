// oneDNN ConvTranspose against the reference kernel over random shapes and attributes (1-D to
// 3-D, groups, depthwise, strides, dilations, pads, output_padding, output_shape, auto_pad,
// fused activations), plus the cases the factory must reject.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "kernels/onednn/factories.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

struct DeconvCase {
  int64_t n, c, m, group;  // m: output channels
  Shape spatial, kernel;
  std::vector<int64_t> strides, dilations, pads, output_padding, output_shape;
  std::string auto_pad = "NOTSET";
  bool bias = true;
  bool relu = false;

  std::string str() const {
    return fmt::format(
        "N={} C={} M={} group={} in={} k={} s={} d={} pads={} out_pad={} out_shape={} "
        "auto_pad={} bias={} relu={}",
        n, c, m, group, spatial, kernel, strides, dilations, pads, output_padding, output_shape,
        auto_pad, bias, relu);
  }

  Problem problem(std::mt19937& rng) const {
    std::map<std::string, Attribute> attrs{{"group", Attribute::of_int(group)},
                                           {"strides", Attribute::of_ints(strides)},
                                           {"dilations", Attribute::of_ints(dilations)},
                                           {"kernel_shape", Attribute::of_ints(kernel)}};
    if (auto_pad == "NOTSET") {
      if (!pads.empty()) attrs["pads"] = Attribute::of_ints(pads);
    } else {
      attrs["auto_pad"] = Attribute::of_string(auto_pad);
    }
    if (!output_padding.empty()) attrs["output_padding"] = Attribute::of_ints(output_padding);
    if (!output_shape.empty()) attrs["output_shape"] = Attribute::of_ints(output_shape);
    Problem p{
        testing::make_node("ConvTranspose", bias ? 3 : 2, attrs), 17, {}, {false, true, true}};
    if (relu) {
      ir::FusedOp f;
      f.op_type = "Relu";
      f.name = "fused_Relu";
      p.node.fused = {f};
    }
    Shape x{n, c}, w{c, m / group};
    x.insert(x.end(), spatial.begin(), spatial.end());
    w.insert(w.end(), kernel.begin(), kernel.end());
    p.inputs = {testing::random_tensor(rng, x), testing::random_tensor(rng, w)};
    if (bias) p.inputs.push_back(testing::random_tensor(rng, {m}));
    return p;
  }
};

DeconvCase random_case(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  DeconvCase c;
  const int ns = pick(1, 3);
  c.n = pick(1, 2);
  const int kind = pick(0, 2);  // 0 dense, 1 grouped, 2 depthwise
  if (kind == 0) {
    c.group = 1, c.c = pick(1, 16), c.m = pick(1, 16);
  } else if (kind == 1) {
    c.group = pick(2, 4), c.c = c.group * pick(1, 4), c.m = c.group * pick(1, 4);
  } else {
    c.c = c.m = c.group = pick(2, 24);
  }
  const int pad_kind = pick(0, 5);  // 0-2 explicit pads, 3 SAME_UPPER, 4 SAME_LOWER, 5 output_shape
  c.auto_pad = pad_kind == 3 ? "SAME_UPPER" : pad_kind == 4 ? "SAME_LOWER" : "NOTSET";
  for (int i = 0; i < ns; ++i) {
    c.kernel.push_back(pick(1, ns == 3 ? 3 : 5));
    c.strides.push_back(pick(1, 3));
    c.dilations.push_back(pick(0, 3) == 0 ? 2 : 1);
    c.spatial.push_back(pick(1, ns == 3 ? 5 : 9));
  }
  if (pad_kind <= 2) {
    for (int i = 0; i < ns; ++i) {
      // Both pads together stay below the kernel's reach, so the output is never empty.
      const int reach = static_cast<int>((c.kernel[i] - 1) * c.dilations[i]);
      c.pads.push_back(pick(0, std::min(reach / 2, 2)));
    }
    for (int i = 0; i < ns; ++i) {
      const int reach = static_cast<int>((c.kernel[i] - 1) * c.dilations[i]);
      c.pads.push_back(pick(0, std::min(reach / 2, 2)));
    }
    if (pad_kind == 1) {
      // output_padding below the stride; beyond the end pad it makes oneDNN's end pad negative.
      for (int i = 0; i < ns; ++i)
        c.output_padding.push_back(pick(0, static_cast<int>(c.strides[i] - 1)));
    }
  } else if (pad_kind == 5) {
    for (int i = 0; i < ns; ++i) {
      const int64_t full =
          c.strides[i] * (c.spatial[i] - 1) + (c.kernel[i] - 1) * c.dilations[i] + 1;
      c.output_shape.push_back(std::max<int64_t>(1, full - pick(0, 2)));
    }
  }
  c.bias = pick(0, 3) != 0;
  c.relu = pick(0, 3) == 0;
  return c;
}

TEST(OnednnDeconv, Random) {
  std::mt19937 rng(11);
  for (int i = 0; i < 200; ++i) {
    DeconvCase c = random_case(rng);
    auto o = testing::check_against_reference(c.problem(rng), rng);
    ASSERT_TRUE(o.why_not.empty()) << c.str() << ": rejected: " << o.why_not;
    EXPECT_LT(o.error, 1e-5) << c.str();
  }
}

TEST(OnednnDeconv, NamedCases) {
  std::mt19937 rng(12);
  std::vector<DeconvCase> cases = {
      // U-Net / FPN 2x upsampling: k2 s2, and k4 s2 p1 (PyTorch's common pair).
      {1, 16, 8, 1, {7, 9}, {2, 2}, {2, 2}, {1, 1}, {0, 0, 0, 0}, {}, {}},
      {2, 8, 8, 1, {6, 5}, {4, 4}, {2, 2}, {1, 1}, {1, 1, 1, 1}, {}, {}, "NOTSET", true, true},
      // k3 s2 p1 output_padding 1 (exact 2x), depthwise.
      {1, 12, 12, 12, {5, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, {1, 1}, {}},
      // 1-D audio decoder: k16 s8 p4.
      {1, 6, 4, 1, {10}, {16}, {8}, {1}, {4, 4}, {}, {}},
      // 3-D.
      {1, 3, 5, 1, {3, 4, 2}, {3, 2, 3}, {2, 1, 2}, {1, 2, 1}, {1, 0, 1, 0, 1, 1}, {}, {}},
  };
  for (const DeconvCase& c : cases) {
    auto o = testing::check_against_reference(c.problem(rng), rng);
    ASSERT_TRUE(o.why_not.empty()) << c.str() << ": rejected: " << o.why_not;
    EXPECT_LT(o.error, 1e-5) << c.str();
  }
}

TEST(OnednnDeconv, RejectsWithReason) {
  std::mt19937 rng(13);
  DeconvCase base{1, 4, 4, 1, {5, 5}, {3, 3}, {2, 2}, {1, 1}, {0, 0, 0, 0}, {}, {}};
  Problem runtime_w = base.problem(rng);
  runtime_w.constant = {false, false, false};
  std::vector<TensorType> types;
  std::string why;
  EXPECT_EQ(runtime_w.make(why, types), nullptr);
  EXPECT_EQ(why, "weights are not constant");
}

}  // namespace
}  // namespace qbench::kernels::onednn
