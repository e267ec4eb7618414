// The oneDNN int8 convolution (QLinearConv, qbench.QLinearConv with fused Relu/Clip) against the
// reference QLinearConv over random shapes with fixed seeds: within 1 LSB.
#include <fmt/format.h>

#include <cmath>

#include "kernels/ref/qbench_ops.h"
#include "qtest_util.h"

namespace qbench {
namespace {

using kernels::onednn::testing::Problem;

struct ConvCase {
  int64_t n, c, m, h, w, k, stride, pad, group;
  DType xt, yt;
  bool per_channel, bias;
  std::string act;  // "", "Relu", "Clip"
  int x_zp = -1;    // -1: 131 for uint8, 3 for int8 sources
};

Problem make_qconv(std::mt19937& rng, const ConvCase& cc) {
  Problem p;
  std::map<std::string, ir::Attribute> attrs = {
      {"kernel_shape", ir::Attribute::of_ints({cc.k, cc.k})},
      {"strides", ir::Attribute::of_ints({cc.stride, cc.stride})},
      {"pads", ir::Attribute::of_ints({cc.pad, cc.pad, cc.pad, cc.pad})},
      {"group", ir::Attribute::of_int(cc.group)}};
  p.node = kernels::onednn::testing::make_node("QLinearConv", cc.bias ? 9 : 8, attrs);
  const bool u8 = cc.xt == DType::U8;
  const int xz = cc.x_zp >= 0 ? cc.x_zp : u8 ? 131 : 3;
  const float xs = 0.02f;
  Tensor x = test::random_ints(rng, cc.xt, {cc.n, cc.c, cc.h, cc.w}, u8 ? 0 : -128, u8 ? 255 : 127);
  Tensor w = test::random_ints(rng, DType::I8, {cc.m, cc.c / cc.group, cc.k, cc.k}, -127, 127);
  std::vector<float> ws(cc.per_channel ? cc.m : 1);
  std::uniform_real_distribution<float> sd(0.002f, 0.01f);
  for (float& s : ws) s = sd(rng);
  const int64_t kk = cc.c / cc.group * cc.k * cc.k;
  // An output scale that spreads typical accumulators over the integer range, with some saturation.
  float wmean = 0;
  for (float s : ws) wmean += s / ws.size();
  // std(x - zp) * std(w) is about 74 * 73: outputs spread over about +-40 LSBs.
  const float ys = xs * wmean * std::sqrt(float(kk)) * 74.f * 73.f / 40.f;
  const int yz = cc.yt == DType::U8 ? 120 : -5;
  p.inputs = {x,
              Tensor::scalar(xs),
              test::zero_point(cc.xt, xz),
              w,
              ws.size() == 1 ? Tensor::scalar(ws[0]) : Tensor::from_vector<float>({cc.m}, ws),
              Tensor::from_vector<int8_t>({cc.m}, std::vector<int8_t>(cc.m, 0)),
              Tensor::scalar(ys),
              test::zero_point(cc.yt, yz)};
  const int bias_range = static_cast<int>(kk * 5000);  // a few tens of output LSBs
  if (cc.bias)
    p.inputs.push_back(test::random_ints(rng, DType::I32, {cc.m}, -bias_range, bias_range));
  p.constant.assign(p.inputs.size(), true);
  p.constant[0] = false;
  if (!cc.act.empty()) {
    ir::FusedOp f;
    f.op_type = cc.act;
    if (cc.act == "Clip") {
      f.clip_min = -60 * ys;
      f.clip_max = 50 * ys;
    }
    p.node.fused.push_back(f);
    p.node.domain = kernels::ref::kQbenchDomain;
  }
  return p;
}

std::string describe(const ConvCase& c) {
  return fmt::format("n{} c{} m{} {}x{} k{} s{} p{} g{} x={} y={} {} {} {}", c.n, c.c, c.m, c.h,
                     c.w, c.k, c.stride, c.pad, c.group, dtype_name(c.xt), dtype_name(c.yt),
                     c.per_channel ? "per-channel" : "per-tensor", c.bias ? "bias" : "no-bias",
                     c.act.empty() ? "-" : c.act);
}

TEST(OnednnQConv, MatchesReferenceWithin1Lsb) {
  std::mt19937 rng(20240611);
  int cases = 0;
  for (DType xt : {DType::U8, DType::I8})
    for (DType yt : {DType::U8, DType::I8})
      for (int shape = 0; shape < 6; ++shape) {
        ConvCase cc{1, 16, 32, 9, 11, 3, 1, 1, 1, xt, yt, true, true, ""};
        switch (shape) {
          case 1:  // depthwise, stride 2
            cc = {1, 32, 32, 12, 12, 3, 2, 1, 32, xt, yt, true, true, "Relu"};
            break;
          case 2:  // 1x1, batch 2, per-tensor, no bias
            cc = {2, 24, 40, 7, 7, 1, 1, 0, 1, xt, yt, false, false, ""};
            break;
          case 3:  // grouped, stride 2, no pad
            cc = {1, 16, 16, 10, 9, 3, 2, 0, 4, xt, yt, true, false, "Clip"};
            break;
          case 4:  // first-layer-like: 3 channels, 7x7 stride 2
            cc = {1, 3, 16, 20, 20, 7, 2, 3, 1, xt, yt, true, true, "Relu"};
            break;
          case 5:  // odd channel counts
            cc = {1, 5, 7, 6, 8, 3, 1, 1, 1, xt, yt, false, true, "Relu"};
            break;
        }
        test::expect_int_kernel_matches(make_qconv(rng, cc), describe(cc));
        cases++;
      }
  EXPECT_EQ(cases, 24);
}

// Asymmetric weights have no fast path: the kernel declines with a reason (the engine then runs
// the reference kernel).
TEST(OnednnQConv, DeclinesWeightZeroPoint) {
  std::mt19937 rng(7);
  Problem p = make_qconv(rng, {1, 8, 8, 5, 5, 3, 1, 1, 1, DType::U8, DType::U8, false, false, ""});
  p.inputs[5] = Tensor::from_vector<int8_t>({8}, std::vector<int8_t>(8, 3));
  std::string why;
  std::vector<kernels::TensorType> types;
  EXPECT_FALSE(p.make(why, types));
  EXPECT_NE(why.find("weight zero point"), std::string::npos) << why;
}

// ConvInteger (dynamic quantization) with a constant or runtime input zero point: the int32
// result is exact.
TEST(OnednnQConv, ConvIntegerExact) {
  std::mt19937 rng(21);
  for (bool runtime_zp : {false, true})
    // Groups of 4 input channels: on AVX2, oneDNN has JIT int8 grouped convolutions only for
    // multiples of 4 input channels per group (fewer run on the reference kernel).
    for (int64_t group : {1, 2}) {
      Problem p;
      p.node = kernels::onednn::testing::make_node("ConvInteger", 3,
                                                   {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})},
                                                    {"group", ir::Attribute::of_int(group)}});
      p.inputs = {test::random_ints(rng, DType::U8, {1, 8, 9, 7}, 0, 255),
                  test::random_ints(rng, DType::I8, {16, 8 / group, 3, 3}, -127, 127),
                  test::zero_point(DType::U8, 117)};
      p.constant = {false, true, !runtime_zp};
      std::string why;
      std::vector<kernels::TensorType> types;
      auto k = p.make(why, types);
      ASSERT_TRUE(k) << why;
      Tensor got(DType::I32, types[0].shape);
      std::vector<Tensor*> outs{&got};
      kernels::ExecContext ctx;
      for (int zp : {117, 3}) {
        p.inputs[2] = test::zero_point(DType::U8, runtime_zp ? zp : 117);
        std::vector<const Tensor*> in = p.input_ptrs();
        k->run(in, outs, ctx);
        Tensor want = kernels::run_reference(p.node, p.opset, in)[0];
        EXPECT_EQ(test::lsb_diff(got, want).max, 0) << "group " << group << " zp " << zp;
      }
    }
}

// As for f32 (OnednnConv.SmallChannelCountsRunTheDirectJitKernel): up to 32 output channels per
// group the int8 convolution takes oneDNN's direct jit kernel over brgemm, at 64 it keeps
// oneDNN's first choice; both within 1 LSB of the reference.
TEST(OnednnQConv, SmallChannelCountsRunTheDirectJitKernel) {
  std::mt19937 rng(77);
  auto impl_of = [&](int64_t channels) {
    // A zero source zero point, as after a Relu: oneDNN's brgemm kernel takes no other.
    ConvCase cc{1, channels,  channels,  28,   28,   3,      1, 1,
                1, DType::U8, DType::U8, true, true, "Relu", 0};
    test::expect_int_kernel_matches(make_qconv(rng, cc), describe(cc));
    std::string why;
    std::vector<kernels::TensorType> types;
    auto kernel = make_qconv(rng, cc).make(why, types);
    EXPECT_NE(kernel, nullptr) << why;
    return kernel ? kernel->impl() : std::string();
  };
  const std::string wide = impl_of(64);
  if (wide.rfind("brgconv", 0) != 0)
    GTEST_SKIP() << "oneDNN dispatches no brgemm int8 convolution here (" << wide
                 << "): nothing to prefer over";
  EXPECT_EQ(impl_of(16).rfind("jit_int8:", 0), 0u) << impl_of(16);
  EXPECT_EQ(impl_of(32).rfind("jit_int8:", 0), 0u) << impl_of(32);
}

}  // namespace
}  // namespace qbench
