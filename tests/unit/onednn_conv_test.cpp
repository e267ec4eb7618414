// oneDNN Conv against the reference kernel over random shapes and attributes, in every
// activation layout, plus the cases the factory must reject.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"
#include "kernels/ref/qbench_ops.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

ir::FusedOp fused(const std::string& op, std::map<std::string, Attribute> attrs = {},
                  float lo = -INFINITY, float hi = INFINITY) {
  ir::FusedOp f;
  f.op_type = op;
  f.name = "fused_" + op;
  f.attrs = std::move(attrs);
  f.clip_min = lo;
  f.clip_max = hi;
  return f;
}

struct ConvCase {
  int64_t n, c, m, group;
  Shape spatial, kernel;
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad = "NOTSET";
  bool bias = true;
  std::vector<ir::FusedOp> post;

  std::string str() const {
    return fmt::format(
        "N={} C={} M={} group={} in={} k={} s={} d={} pads={} auto_pad={} bias={} fused={}", n, c,
        m, group, spatial, kernel, strides, dilations, pads, auto_pad, bias, post.size());
  }

  Problem problem(std::mt19937& rng) const {
    std::map<std::string, Attribute> attrs{{"group", Attribute::of_int(group)},
                                           {"strides", Attribute::of_ints(strides)},
                                           {"dilations", Attribute::of_ints(dilations)},
                                           {"kernel_shape", Attribute::of_ints(kernel)}};
    if (auto_pad == "NOTSET")
      attrs["pads"] = Attribute::of_ints(pads);
    else
      attrs["auto_pad"] = Attribute::of_string(auto_pad);
    Problem p{testing::make_node("Conv", bias ? 3 : 2, attrs), 17, {}, {false, true, true}};
    p.node.fused = post;
    Shape x{n, c}, w{m, c / group};
    x.insert(x.end(), spatial.begin(), spatial.end());
    w.insert(w.end(), kernel.begin(), kernel.end());
    p.inputs = {testing::random_tensor(rng, x), testing::random_tensor(rng, w)};
    if (bias) p.inputs.push_back(testing::random_tensor(rng, {m}));
    return p;
  }
};

ConvCase random_case(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  ConvCase c;
  int ns = pick(1, 2);
  c.n = pick(1, 2);
  int kind = pick(0, 2);  // 0 dense, 1 grouped, 2 depthwise
  if (kind == 0) {
    c.group = 1, c.c = pick(1, 20), c.m = pick(1, 24);
  } else if (kind == 1) {
    c.group = pick(2, 4), c.c = c.group * pick(1, 6), c.m = c.group * pick(1, 6);
  } else {
    c.c = c.group = pick(3, 40), c.m = c.c * pick(1, 2);
  }
  for (int i = 0; i < ns; ++i) {
    c.kernel.push_back(pick(1, 5));
    c.strides.push_back(pick(1, 3));
    c.dilations.push_back(pick(0, 3) == 0 ? 2 : 1);
    c.spatial.push_back(pick(1, 14) + (c.kernel.back() - 1) * c.dilations.back());
  }
  int pad_kind = pick(0, 4);
  c.auto_pad = pad_kind == 1   ? "SAME_UPPER"
               : pad_kind == 2 ? "SAME_LOWER"
               : pad_kind == 3 ? "VALID"
                               : "NOTSET";
  for (int i = 0; i < 2 * ns; ++i) c.pads.push_back(pad_kind >= 3 ? 0 : pick(0, 2));
  c.bias = pick(0, 3) != 0;
  switch (pick(0, 7)) {
    case 0:
      c.post = {fused("Relu")};
      break;
    case 1:
      c.post = {fused("Clip", {}, 0.f, 6.f)};
      break;
    case 2:
      c.post = {fused("LeakyRelu", {{"alpha", Attribute::of_float(0.1f)}})};
      break;
    case 3:
      c.post = {fused("HardSwish")};
      break;
    case 4:
      c.post = {fused("Sigmoid"), fused("Clip", {{"min", Attribute::of_float(0.2f)}})};
      break;
    default:
      break;
  }
  return c;
}

void check_random_cases(ConvLayout layout, int count, uint32_t seed) {
  ConvLayout saved = conv_layout();
  set_conv_layout(layout);
  std::mt19937 rng(seed);
  int accepted = 0;
  for (int i = 0; i < count; ++i) {
    ConvCase c = random_case(rng);
    auto o = testing::check_against_reference(c.problem(rng), rng);
    ASSERT_TRUE(o.why_not.empty()) << c.str() << ": rejected: " << o.why_not;
    EXPECT_LT(o.error, 1e-5) << c.str();
    ++accepted;
  }
  set_conv_layout(saved);
  EXPECT_EQ(accepted, count);
}

TEST(OnednnConv, RandomNhwc) {
  check_random_cases(ConvLayout::Nhwc, 120, 1);
}
TEST(OnednnConv, RandomBlocked) {
  check_random_cases(ConvLayout::Blocked, 120, 2);
}
TEST(OnednnConv, RandomPlain) {
  check_random_cases(ConvLayout::Plain, 120, 3);
}

TEST(OnednnConv, NamedCases) {
  std::mt19937 rng(7);
  std::vector<ConvCase> cases = {
      // ResNet-ish 3x3, stride-2 downsample, 1x1 projection.
      {1,
       16,
       16,
       1,
       {14, 14},
       {3, 3},
       {1, 1},
       {1, 1},
       {1, 1, 1, 1},
       "NOTSET",
       true,
       {fused("Relu")}},
      {2, 16, 32, 1, {14, 14}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, "NOTSET", true, {}},
      {2, 16, 32, 1, {14, 14}, {1, 1}, {2, 2}, {1, 1}, {0, 0, 0, 0}, "NOTSET", false, {}},
      // MobileNetV2 depthwise with ReLU6, stride 2.
      {1,
       32,
       32,
       32,
       {15, 15},
       {3, 3},
       {2, 2},
       {1, 1},
       {1, 1, 1, 1},
       "NOTSET",
       true,
       {fused("Clip", {}, 0.f, 6.f)}},
      // Asymmetric pads, dilation 2, 1-D.
      {1, 8, 8, 1, {12, 9}, {3, 3}, {1, 2}, {2, 1}, {0, 2, 1, 0}, "NOTSET", true, {}},
      {3, 6, 10, 2, {33}, {5}, {2}, {3}, {4, 1}, "NOTSET", true, {fused("Tanh")}},
      // First layer (3 input channels) and a Gelu/HardSigmoid post-op chain.
      {1,
       3,
       16,
       1,
       {32, 32},
       {3, 3},
       {2, 2},
       {1, 1},
       {0, 0, 0, 0},
       "SAME_UPPER",
       true,
       {fused("Gelu"), fused("HardSigmoid")}},
      {1,
       3,
       16,
       1,
       {17, 18},
       {4, 4},
       {3, 3},
       {1, 1},
       {0, 0, 0, 0},
       "SAME_LOWER",
       false,
       {fused("Gelu", {{"approximate", Attribute::of_string("tanh")}})}},
  };
  for (ConvLayout layout : {ConvLayout::Nhwc, ConvLayout::Blocked, ConvLayout::Plain}) {
    ConvLayout saved = conv_layout();
    set_conv_layout(layout);
    for (const ConvCase& c : cases) {
      auto o = testing::check_against_reference(c.problem(rng), rng);
      ASSERT_TRUE(o.why_not.empty()) << c.str() << ": rejected: " << o.why_not;
      EXPECT_LT(o.error, 1e-5) << c.str() << " layout " << static_cast<int>(layout);
    }
    set_conv_layout(saved);
  }
}

// oneDNN 2.6 runs a post-op chain's second step of one eltwise algorithm with the first one's
// parameters (LeakyRelu then Relu came out as LeakyRelu twice): such a node is declined, with the
// reason, and the reference computes it; one algorithm with the same parameters twice still fuses.
TEST(OnednnConv, RepeatedPostOpAlgorithmsAreDeclined) {
  std::mt19937 rng(11);
  ConvCase c{1, 8, 16, 1, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, "NOTSET", true, {}};
  c.post = {fused("LeakyRelu", {{"alpha", Attribute::of_float(0.1f)}}), fused("Relu")};
  auto o = testing::check_against_reference(c.problem(rng), rng);
  EXPECT_NE(o.why_not.find("eltwise_relu with other parameters"), std::string::npos)
      << o.why_not << " (error " << o.error << ")";
  c.post = {fused("HardSigmoid"), fused("HardSigmoid", {{"alpha", Attribute::of_float(0.5f)}})};
  o = testing::check_against_reference(c.problem(rng), rng);
  EXPECT_NE(o.why_not.find("with other parameters"), std::string::npos)
      << o.why_not << " (error " << o.error << ")";
  c.post = {fused("Relu"), fused("Relu")};
  o = testing::check_against_reference(c.problem(rng), rng);
  ASSERT_TRUE(o.why_not.empty()) << o.why_not;
  EXPECT_LT(o.error, 1e-5);
}

TEST(OnednnConv, RejectsWithReason) {
  std::mt19937 rng(9);
  ConvCase base{1, 4, 4, 1, {6, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, "NOTSET", true, {}};

  Problem runtime_w = base.problem(rng);
  runtime_w.constant = {false, false, false};
  std::vector<TensorType> types;
  std::string why;
  EXPECT_EQ(runtime_w.make(why, types), nullptr);
  EXPECT_EQ(why, "weights are not constant");

  // i64 input: the factory must say which input and dtype. The reference infer may reject
  // the dtype first, so call the factory directly.
  Problem p = base.problem(rng);
  std::vector<TensorType> in{
      {DType::I64, {1, 4, 6, 6}}, {DType::F32, {4, 4, 3, 3}}, {DType::F32, {4}}};
  std::vector<TensorType> out{{DType::F32, {1, 4, 6, 6}}};
  std::vector<const Tensor*> consts{nullptr, &p.inputs[1], &p.inputs[2]};
  KernelInit init{p.node, 17, in, out, consts, 1};
  why.clear();
  EXPECT_EQ(make_onednn_conv(init, why), nullptr);
  EXPECT_EQ(why, "input 0 dtype i64 (only f32, or bf16 in a bf16 convolution)");

  // Fused activation with no oneDNN equivalent.
  Problem q = base.problem(rng);
  q.node.fused = {fused("Softsign")};
  why.clear();
  EXPECT_EQ(q.make(why, types), nullptr);
  EXPECT_NE(why.find("Softsign"), std::string::npos) << why;

  // 4-D convolution (rank 6).
  std::vector<TensorType> in6{{DType::F32, {1, 1, 2, 2, 2, 2}}, {DType::F32, {1, 1, 1, 1, 1, 1}}};
  std::vector<TensorType> out6{{DType::F32, {1, 1, 2, 2, 2, 2}}};
  Tensor w6(DType::F32, {1, 1, 1, 1, 1, 1});
  std::vector<const Tensor*> c6{nullptr, &w6};
  ir::Node n6 = testing::make_node("Conv", 2);
  KernelInit init6{n6, 17, in6, out6, c6, 1};
  why.clear();
  EXPECT_EQ(make_onednn_conv(init6, why), nullptr);
  EXPECT_NE(why.find("rank 6"), std::string::npos) << why;
}

// Where each group has one vector of output channels, the kernel takes oneDNN's direct jit
// convolution over its brgemm one (prefer_direct_jit in kernels/onednn/common.h), which qbench
// measured faster there, depthwise ones included; at 64 channels it keeps oneDNN's first choice.
// Either way the result is the reference's.
TEST(OnednnConv, SmallChannelCountsRunTheDirectJitKernel) {
  ConvLayout saved = conv_layout();
  set_conv_layout(ConvLayout::Nhwc);
  std::mt19937 rng(31);
  auto impl_of = [&](int64_t channels, int64_t k, int64_t groups = 1) {
    ConvCase c{2,        channels, channels,
               groups,   {12, 12}, {k, k},
               {1, 1},   {1, 1},   {k / 2, k / 2, k / 2, k / 2},
               "NOTSET", true,     {fused("Relu")}};
    std::string why;
    std::vector<TensorType> types;
    auto kernel = c.problem(rng).make(why, types);
    EXPECT_NE(kernel, nullptr) << why;
    auto o = testing::check_against_reference(c.problem(rng), rng);
    EXPECT_LT(o.error, 1e-5) << c.str();
    return kernel ? kernel->impl() : std::string();
  };
  const std::string wide = impl_of(64, 3);
  if (wide.rfind("brgconv", 0) != 0) {
    set_conv_layout(saved);
    GTEST_SKIP() << "oneDNN dispatches no brgemm convolution here (" << wide
                 << "): nothing to prefer over";
  }
  EXPECT_EQ(impl_of(16, 3).rfind("jit:", 0), 0u) << impl_of(16, 3);
  EXPECT_EQ(impl_of(8, 3).rfind("jit:", 0), 0u) << impl_of(8, 3);
  // Depthwise: oneDNN's direct depthwise kernel over brdgmm_dw.
  EXPECT_EQ(impl_of(32, 3, 32).rfind("jit_dw:", 0), 0u) << impl_of(32, 3, 32);
  // 1x1: the direct kernel is no faster, oneDNN's choice stays.
  EXPECT_EQ(impl_of(16, 1).rfind("brgconv_1x1", 0), 0u) << impl_of(16, 1);
  set_conv_layout(saved);
}

// Whether oneDNN has a Winograd implementation of a 64->64 3x3 convolution on this CPU (AVX-512
// only), asked of oneDNN directly rather than of the kernel under test.
bool onednn_has_winograd() {
  using dt = memory::data_type;
  const memory::desc src({1, 64, 16, 16}, dt::f32, memory::format_tag::any);
  const memory::desc wei({64, 64, 3, 3}, dt::f32, memory::format_tag::any);
  try {
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                      dnnl::algorithm::convolution_winograd, src, wei, src, {1, 1},
                                      {1, 1}, {1, 1});
    dnnl::convolution_forward::primitive_desc pd(d, cpu_engine());
    return std::string(pd.impl_info_str()).rfind("ref", 0) != 0;
  } catch (const dnnl::error&) {
    return false;
  }
}

// A dense 3x3 convolution with stride 1, at least 64 channels in and out and an output of at
// least 14x14 takes oneDNN's Winograd kernel (conv.cpp winograd_pays), with a fused activation
// and with a residual input (a sum post-op); its result is the reference's within the tolerance
// of the direct kernels. Fewer channels, a stride, a small output or set_winograd(false) keep the
// direct kernel.
TEST(OnednnConv, WinogradWhereItPays) {
  if (!onednn_has_winograd())
    GTEST_SKIP() << "oneDNN has no Winograd convolution on this CPU (it needs AVX-512)";
  std::mt19937 rng(37);
  auto check = [&](int64_t c, int64_t m, int64_t size, int64_t stride, bool residual) {
    ConvCase cc{2,
                c,
                m,
                1,
                {size, size},
                {3, 3},
                {stride, stride},
                {1, 1},
                {1, 1, 1, 1},
                "NOTSET",
                true,
                {fused("Relu")}};
    Problem p = cc.problem(rng);
    if (residual) {
      const int64_t out = (size - 1) / stride + 1;
      p.node.domain = ref::kQbenchDomain;  // qbench's Conv: activations(Conv(X, W, B) + Z)
      p.node.inputs.push_back("in3");
      p.inputs.push_back(testing::random_tensor(rng, {2, m, out, out}));
      p.constant.push_back(false);
    }
    std::string why;
    std::vector<TensorType> types;
    auto kernel = p.make(why, types);
    EXPECT_NE(kernel, nullptr) << why;
    auto o = testing::check_against_reference(p, rng);
    EXPECT_LT(o.error, 1e-5) << cc.str() << " residual " << residual;
    return kernel ? kernel->impl() : std::string();
  };
  auto winograd = [](const std::string& impl) { return impl.find("wino") != std::string::npos; };
  EXPECT_TRUE(winograd(check(64, 64, 16, 1, false))) << check(64, 64, 16, 1, false);
  EXPECT_TRUE(winograd(check(64, 128, 28, 1, true))) << check(64, 128, 28, 1, true);
  EXPECT_FALSE(winograd(check(32, 32, 16, 1, false))) << check(32, 32, 16, 1, false);
  EXPECT_FALSE(winograd(check(64, 64, 32, 2, false))) << check(64, 64, 32, 2, false);
  EXPECT_FALSE(winograd(check(64, 64, 7, 1, false))) << check(64, 64, 7, 1, false);
  set_winograd(false);
  EXPECT_FALSE(winograd(check(64, 64, 16, 1, false))) << check(64, 64, 16, 1, false);
  set_winograd(true);
}

}  // namespace
}  // namespace qbench::kernels::onednn
