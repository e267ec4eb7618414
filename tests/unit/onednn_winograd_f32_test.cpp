// qbench's f32 Winograd F(2x2, 3x3) for AVX2 CPUs (winograd_f32.h) against a direct convolution
// summed in double here: edge tiles cut by odd output sizes, no padding, batch 2, output
// channels not a multiple of 16, enough tiles for several passes, 512 input channels, the bias,
// a residual input (also in place, as the engine runs it) and Relu/Clip clamps; and where the
// registry takes it (channels-last 3x3 stride-1 convolutions where oneDNN has no Winograd).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <string>

#include "kernels/onednn/context.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/onednn/winograd_f32.h"
#include "kernels/ref/qbench_ops.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

struct Case {
  WinogradF32Shape s;
  bool bias, residual, in_place;
  float lo, hi;
};

std::vector<float> random_vector(std::mt19937& rng, int64_t n) {
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

// clamp(conv(x, w) + bias + z) in double, NHWC.
std::vector<double> direct(const WinogradF32Shape& s, const std::vector<float>& x,
                           const std::vector<float>& w, const float* bias, const float* z, float lo,
                           float hi) {
  std::vector<double> y(size_t(s.batch * s.out_h * s.out_w * s.out_c));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t oh = 0; oh < s.out_h; ++oh)
      for (int64_t ow = 0; ow < s.out_w; ++ow)
        for (int64_t m = 0; m < s.out_c; ++m) {
          double acc = bias ? bias[m] : 0.0;
          for (int64_t kh = 0; kh < 3; ++kh)
            for (int64_t kw = 0; kw < 3; ++kw) {
              const int64_t ih = oh - s.pad_top + kh, iw = ow - s.pad_left + kw;
              if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
              for (int64_t c = 0; c < s.in_c; ++c)
                acc += double(x[size_t(((b * s.in_h + ih) * s.in_w + iw) * s.in_c + c)]) *
                       double(w[size_t(((m * s.in_c + c) * 3 + kh) * 3 + kw)]);
            }
          const size_t at = size_t(((b * s.out_h + oh) * s.out_w + ow) * s.out_c + m);
          if (z) acc += z[at];
          y[at] = std::min<double>(std::max<double>(acc, lo), hi);
        }
  return y;
}

TEST(WinogradF32, MatchesADirectConvolutionInDouble) {
  const WinogradF32Shape probe{1, 9, 9, 8, 9, 9, 16, 1, 1};
  if (!WinogradF32Conv::applies(probe))
    GTEST_SKIP() << "no AVX2/FMA here (or oneDNN capped below AVX2, " << effective_isa()
                 << "): the kernel cannot run";
  const float inf = INFINITY;
  const std::vector<Case> cases = {
      {{1, 9, 11, 8, 9, 11, 16, 1, 1}, true, false, false, -inf, inf},
      {{1, 15, 17, 16, 15, 17, 24, 1, 1}, true, true, false, 0.f, inf},       // Relu, residual
      {{2, 16, 16, 32, 14, 14, 16, 0, 0}, false, false, false, -0.5f, 0.5f},  // Clip, no pad
      {{1, 56, 56, 64, 56, 56, 64, 1, 1}, true, true, true, 0.f, inf},        // 784 tiles, in place
      {{1, 7, 7, 512, 7, 7, 32, 1, 1}, true, false, false, -inf, inf},        // 512 channels
  };
  std::mt19937 rng(20261205);
  for (const Case& cc : cases) {
    const WinogradF32Shape& s = cc.s;
    SCOPED_TRACE(::testing::Message()
                 << "batch " << s.batch << " " << s.in_h << "x" << s.in_w << " c" << s.in_c << " m"
                 << s.out_c << " pad " << s.pad_top << (cc.residual ? " residual" : "")
                 << (cc.in_place ? " in place" : ""));
    const std::vector<float> x = random_vector(rng, s.batch * s.in_h * s.in_w * s.in_c);
    const std::vector<float> w = random_vector(rng, s.out_c * s.in_c * 9);
    const std::vector<float> bias = random_vector(rng, s.out_c);
    const int64_t ny = s.batch * s.out_h * s.out_w * s.out_c;
    const std::vector<float> z = random_vector(rng, ny);
    const std::vector<double> want = direct(s, x, w, cc.bias ? bias.data() : nullptr,
                                            cc.residual ? z.data() : nullptr, cc.lo, cc.hi);
    std::vector<float> y = cc.in_place ? z : std::vector<float>(size_t(ny), NAN);
    const WinogradF32Conv conv(s, w.data(), cc.lo, cc.hi);
    conv.run(x.data(), cc.bias ? bias.data() : nullptr,
             cc.residual ? (cc.in_place ? y.data() : z.data()) : nullptr, y.data());
    double err = 0, scale = 1e-3;
    for (size_t i = 0; i < want.size(); ++i) {
      err = std::max(err, std::abs(double(y[i]) - want[i]));
      scale = std::max(scale, std::abs(want[i]));
    }
    // The direct f32 kernels land within a few 1e-7 of the output scale; 1e-5 is generous
    // and still far below a wrong tap, channel or tile (errors of order 1).
    EXPECT_LT(err / scale, 1e-5) << "max error " << err << ", output scale " << scale;
  }
}

// The registry takes it for a channels-last 3x3 stride-1 convolution where AVX2 is there and
// oneDNN has no Winograd of its own (no AVX-512), or on half-width AVX-512 (Zen 4) from 32 source
// channels up where oneDNN's Winograd does not pay (conv.cpp winograd_over_direct: 32 channels at
// 16x16, not 16 channels, not 64 at 16x16, which oneDNN's Winograd takes); never for stride 2 or
// a 1x1 kernel.
TEST(WinogradF32, TakenWhereOnednnHasNoWinogradOrHalfWidthAvx512) {
  std::mt19937 rng(9);
  auto impl_of = [&](int64_t k, int64_t stride, int64_t c = 32) {
    testing::Problem p;
    p.node = testing::make_node("Conv", 3,
                                {{"kernel_shape", ir::Attribute::of_ints({k, k})},
                                 {"strides", ir::Attribute::of_ints({stride, stride})},
                                 {"pads", ir::Attribute::of_ints({k / 2, k / 2, k / 2, k / 2})},
                                 {"channels_last", ir::Attribute::of_int(1)}});
    p.node.domain = ref::kQbenchDomain;
    p.inputs = {testing::random_tensor(rng, {1, 16, 16, c}),
                testing::random_tensor(rng, {c, c, k, k}), testing::random_tensor(rng, {c})};
    p.constant = {false, true, true};
    std::string why;
    std::vector<TensorType> types;
    auto kernel = p.make(why, types);
    EXPECT_NE(kernel, nullptr) << why;
    if (kernel) {
      const testing::Outcome o = testing::check_against_reference(p, rng);
      EXPECT_LT(o.error, 1e-5) << kernel->impl();
    }
    return kernel ? kernel->impl() : std::string();
  };
  auto taken = [](const std::string& impl) {
    return impl.find("qbench_winograd_f32") != std::string::npos;
  };
  const bool avx2 = WinogradF32Conv::applies({1, 16, 16, 32, 16, 16, 32, 1, 1});
  const bool avx512 = onednn_has_avx512_core(), half = avx512_half_width();
  const std::string where =
      fmt::format(" (oneDNN {}, half-width AVX-512 {})", effective_isa(), half);
  for (const int64_t c : {16, 32, 64}) {
    const std::string impl = impl_of(3, 1, c);
    EXPECT_EQ(taken(impl), avx2 && (!avx512 || (half && c == 32)))
        << c << " channels: " << impl << where;
  }
  EXPECT_EQ(impl_of(3, 2).find("qbench_winograd_f32"), std::string::npos);
  EXPECT_EQ(impl_of(1, 1).find("qbench_winograd_f32"), std::string::npos);
}

// avx512_half_width() reads CPUID; /proc/cpuinfo (the kernel's reading of the same CPU) says
// independently whether this is an AMD family 19h core with AVX-512 (Zen 4), and oneDNN must
// run its AVX-512 kernels for it to matter.
TEST(WinogradF32, HalfWidthAvx512IsZen4AsProcCpuinfoSays) {
  std::ifstream f("/proc/cpuinfo");
  if (!f) GTEST_SKIP() << "no /proc/cpuinfo to compare with";
  std::string vendor, family, flags;
  for (std::string line; std::getline(f, line) && flags.empty();) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "vendor_id") vendor = value;
    if (key == "cpu family") family = value;
    if (key == "flags") flags = " " + value + " ";
  }
  const bool zen4 =
      vendor == "AuthenticAMD" && family == "25" && flags.find(" avx512f ") != std::string::npos;
  EXPECT_EQ(avx512_half_width(), zen4 && onednn_has_avx512_core())
      << vendor << " family " << family << ", oneDNN " << effective_isa();
}

}  // namespace
}  // namespace qbench::kernels::onednn
