// qbench's exact int16 convolution (exact_int8_conv.h), which runs QLinearConv (and QLinearMatMul
// and QGemm with a constant B) with full-range weights on CPUs whose int8 pair sums saturate:
// forced on here (any AVX2 CPU), over NHWC shapes that exercise its im2col (padding, strides,
// dilation, an odd receptive field), its partial tiles (pixels not a multiple of 6, channels not of
// 16), signed and unsigned sources and outputs, fused Relu/Clip, and enough pixels to take several
// passes over several threads. Compared with two independent kernels: the reference QLinearConv
// (within 1 LSB, as every int8 kernel), and oneDNN's own int8 convolution (the weight halves where
// pair sums saturate, one primitive elsewhere), which must be equal everywhere: both sums are exact
// and the epilogue is oneDNN's order.
#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "kernels/onednn/context.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/onednn/exact_int8_conv.h"
#include "kernels/ref/qbench_ops.h"
#include "qtest_util.h"

namespace qbench {
namespace {

using kernels::onednn::Int16Kernels;
using kernels::onednn::testing::Problem;

struct Case {
  int64_t n, c, m, h, w, k, stride, pad, dilation;
  DType xt, yt;
  bool per_channel, bias;
  std::string act;  // "", "Relu", "Clip"
  int winograd = 0;  // the Winograd output tile expected (exact_int8_conv.h): 0 (im2col), 2, 4
  std::optional<int> x_zero_point = {};  // the source's; default 131 (uint8) or 3 (int8)
  std::optional<int> y_zero_point = {};  // the output's; default 120 (uint8) or -5 (int8)
};

std::string describe(const Case& c) {
  return fmt::format("n{} c{} m{} {}x{} k{} s{} p{} d{} x={} y={} {} {} {}", c.n, c.c, c.m, c.h,
                     c.w, c.k, c.stride, c.pad, c.dilation, dtype_name(c.xt), dtype_name(c.yt),
                     c.per_channel ? "per-channel" : "per-tensor", c.bias ? "bias" : "no-bias",
                     c.act.empty() ? "-" : c.act);
}

// A channels-last QLinearConv (qbench domain): x [N, H, W, C], y [N, OH, OW, M].
Problem make_case(std::mt19937& rng, const Case& cc) {
  Problem p;
  p.node = kernels::onednn::testing::make_node(
      "QLinearConv", cc.bias ? 9 : 8,
      {{"kernel_shape", ir::Attribute::of_ints({cc.k, cc.k})},
       {"strides", ir::Attribute::of_ints({cc.stride, cc.stride})},
       {"dilations", ir::Attribute::of_ints({cc.dilation, cc.dilation})},
       {"pads", ir::Attribute::of_ints({cc.pad, cc.pad, cc.pad, cc.pad})},
       {"channels_last", ir::Attribute::of_int(1)}});
  p.node.domain = kernels::ref::kQbenchDomain;
  const bool u8 = cc.xt == DType::U8;
  const int xz = cc.x_zero_point.value_or(u8 ? 131 : 3);
  const float xs = 0.02f;
  Tensor x = test::random_ints(rng, cc.xt, {cc.n, cc.h, cc.w, cc.c}, u8 ? 0 : -128, u8 ? 255 : 127);
  // Full-range weights, with the extremes that overflow an int16 pair sum present.
  Tensor w = test::random_ints(rng, DType::I8, {cc.m, cc.c, cc.k, cc.k}, -128, 127);
  w.data<int8_t>()[0] = 127;
  w.data<int8_t>()[1] = -128;
  std::vector<float> ws(cc.per_channel ? cc.m : 1);
  std::uniform_real_distribution<float> sd(0.002f, 0.01f);
  for (float& s : ws) s = sd(rng);
  float wmean = 0;
  for (float s : ws) wmean += s / float(ws.size());
  const int64_t kk = cc.c * cc.k * cc.k;
  // Outputs spread over about +-40 LSBs (std(x - zp) * std(w) is about 74 * 74).
  const float ys = xs * wmean * std::sqrt(float(kk)) * 74.f * 74.f / 40.f;
  p.inputs = {x,
              Tensor::scalar(xs),
              test::zero_point(cc.xt, xz),
              w,
              ws.size() == 1 ? Tensor::scalar(ws[0]) : Tensor::from_vector<float>({cc.m}, ws),
              Tensor::from_vector<int8_t>({cc.m}, std::vector<int8_t>(size_t(cc.m), 0)),
              Tensor::scalar(ys),
              test::zero_point(cc.yt, cc.y_zero_point.value_or(cc.yt == DType::U8 ? 120 : -5))};
  if (cc.bias) {
    const int range = static_cast<int>(kk * 5000);
    p.inputs.push_back(test::random_ints(rng, DType::I32, {cc.m}, -range, range));
  }
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
  }
  return p;
}

// Runs the kernel the registry makes for `p` under `mode`; its impl in `impl`.
Tensor run_kernel(const Problem& p, Int16Kernels mode, std::string& impl) {
  kernels::onednn::set_int16_kernels(mode);
  std::string why;
  std::vector<kernels::TensorType> types;
  auto k = p.make(why, types);
  kernels::onednn::set_int16_kernels(Int16Kernels::Auto);
  EXPECT_TRUE(k) << why;
  if (!k) return {};
  impl = k->impl();
  Tensor y(types[0].dtype, types[0].shape);
  std::vector<Tensor*> outs{&y};
  kernels::ExecContext ctx;
  std::vector<const Tensor*> in = p.input_ptrs();
  k->run(in, outs, ctx);
  return y;
}

// Runs p on qbench's kernel (`mode` forces it: int16 products, or bytes where they apply) and on
// oneDNN's: equal everywhere, within 1 LSB of the reference; returns qbench's kernel's impl.
std::string expect_equal_to_onednn_and_reference(const Problem& p,
                                                 Int16Kernels mode = Int16Kernels::Always) {
  std::string impl, onednn_impl;
  const Tensor got = run_kernel(p, mode, impl);
  EXPECT_EQ(impl.find("qbench_"), 0u) << impl;
  const Tensor onednn = run_kernel(p, Int16Kernels::Never, onednn_impl);
  EXPECT_EQ(onednn_impl.find("qbench_"), std::string::npos) << onednn_impl;
  const Tensor want = kernels::run_reference(p.node, p.opset, p.input_ptrs())[0];
  const test::LsbDiff ref = test::lsb_diff(got, want);
  EXPECT_LE(ref.max, 1);
  EXPECT_LE(ref.count, 2 + got.numel() / 50);
  const test::LsbDiff same = test::lsb_diff(got, onednn);
  EXPECT_EQ(same.max, 0) << same.count << " of " << got.numel() << " differ from oneDNN's "
                         << onednn_impl;
  // The case exercises the requantization, not only its saturation.
  std::vector<int64_t> v = want.to_int64();
  std::sort(v.begin(), v.end());
  EXPECT_GE(std::unique(v.begin(), v.end()) - v.begin(), 10);
  return impl;
}

bool skip_without_avx2() {
  if (kernels::onednn::ExactInt8Conv::available()) return false;
  std::printf("skipped: this CPU (or oneDNN's ISA cap, %s) has no AVX2\n",
              kernels::onednn::effective_isa().c_str());
  return true;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {1, 16, 32, 9, 11, 3, 1, 1, 1, DType::U8, DType::U8, true, true, "", 2},
      {2, 24, 40, 7, 7, 1, 1, 0, 1, DType::U8, DType::U8, false, false, ""},     // 1x1, batch 2
      {1, 3, 16, 20, 20, 7, 2, 3, 1, DType::U8, DType::U8, true, true, "Relu"},  // odd K = 147
      // Fewer than 16 channels (the source widened once): batch 2, a non-square image.
      {2, 3, 16, 16, 14, 7, 2, 3, 1, DType::U8, DType::I8, false, true, "Relu"},
      // On VNNI CPUs these run the direct products over the padded source (one channel of 5x5, a
      // second 64-channel panel of 16, pixels not a multiple of the 6-pixel tile; 4 channels of
      // 3x3, a 12-byte run, 20 channels in all).
      {2, 1, 80, 11, 13, 5, 1, 2, 1, DType::U8, DType::U8, true, true, "Relu"},
      {1, 4, 20, 9, 10, 3, 2, 1, 1, DType::U8, DType::I8, false, false, ""},
      {1, 5, 7, 10, 9, 3, 2, 0, 1, DType::I8, DType::I8, true, true, "Clip"},     // s8 in and out
      {1, 8, 24, 12, 12, 3, 1, 2, 2, DType::I8, DType::U8, false, true, "Relu"},  // dilation 2
      {1, 64, 48, 13, 13, 1, 2, 0, 1, DType::U8, DType::I8, true, false, ""},     // strided 1x1
      // 784 pixels of 1,152 int16 pairs' rows: several passes, tiles over both threads.
      {1, 128, 32, 28, 28, 3, 1, 1, 1, DType::U8, DType::U8, true, true, "Relu", 4},
      // Winograd F(4x4, 3x3) (these full-range weights' sums stay within its bound): odd output
      // sizes (tiles cut by the edge), no padding, batch 2, int8 sources, 16 input channels,
      // output channels not a multiple of 16, and enough tiles for several passes (64 channels
      // at 56x56: 196 tiles of 36 rows).
      {1, 16, 24, 15, 17, 3, 1, 1, 1, DType::U8, DType::U8, true, true, "Relu", 4},
      {2, 32, 16, 16, 16, 3, 1, 0, 1, DType::I8, DType::I8, false, true, "Clip", 4},
      {1, 64, 64, 56, 56, 3, 1, 1, 1, DType::U8, DType::U8, true, true, "", 4},
      // 56 tiles (on the VNNI tiles where the CPU has them) over 40 output channels: a second
      // 32-channel panel with half a half.
      {1, 16, 40, 27, 29, 3, 1, 1, 1, DType::U8, DType::U8, true, true, "Relu", 4},
      // F(2x2, 3x3) where there are fewer than 16 4x4 tiles.
      {1, 32, 16, 8, 8, 3, 1, 1, 1, DType::I8, DType::U8, true, true, "", 2},
      // Output zero point 0 (nothing added; with Relu over uint8 the packs clamp below).
      {1, 16, 24, 15, 17, 3, 1, 1, 1, DType::U8, DType::U8, true, true, "Relu", 4, {}, 0},
      {1, 24, 40, 7, 7, 1, 1, 0, 1, DType::U8, DType::I8, false, true, "", 0, {}, 0},
  };
  return c;
}

TEST(Int16Conv, MatchesTheReferenceAndOnednn) {
  if (skip_without_avx2()) GTEST_SKIP() << "no AVX2: the int16 kernel cannot run";
  std::mt19937 rng(20261205);
  for (const Case& cc : cases()) {
    SCOPED_TRACE(describe(cc));
    const std::string impl = expect_equal_to_onednn_and_reference(make_case(rng, cc));
    EXPECT_EQ(impl.find("winograd") != std::string::npos, cc.winograd != 0) << impl;
    if (cc.winograd) {
      EXPECT_NE(impl.find(fmt::format("F({0}x{0},3x3)", cc.winograd)), std::string::npos) << impl;
    }
    const bool vnni = cc.winograd == 4 && kernels::onednn::own_vnni_kernels() &&
                      cc.n * ((cc.h + 3) / 4) * ((cc.w + 3) / 4) >= 32;
    // Few uint8 channels, a kernel row of at most 32 bytes: the direct products on VNNI CPUs.
    const bool direct = kernels::onednn::own_vnni_kernels() && cc.xt == DType::U8 && cc.c < 16 &&
                        cc.k * cc.c <= 32 && cc.dilation == 1 && !cc.winograd;
    EXPECT_EQ(impl.find("avx512_vnni") != std::string::npos, vnni || direct) << impl;
    EXPECT_EQ(impl.find("qbench_u8s8_direct") != std::string::npos, direct) << impl;
  }
}

// F(4x4, 3x3) computes each sum times 9 x 2^6 modulo 2^32 (its products overflow int32 at these
// sizes) and recovers it exactly while |sum| < 2^25: it must take sums up to just below that
// bound, and leave layers whose weights could exceed it to F(2x2, 3x3). 256 input channels,
// weights of magnitude 110 (all positive in the first eight output channels) over a source with
// zero point 131 that is mostly 0: sums down to 2,304 x 110 x -131 = -33.2M, 99% of 2^25. With
// magnitude 116 the same layer could reach -35.0M.
TEST(Int16Conv, Winograd4x4IsExactUpToItsBound) {
  if (skip_without_avx2()) GTEST_SKIP() << "no AVX2: the int16 kernel cannot run";
  std::mt19937 rng(2026);
  for (int64_t batch : {1, 2})  // 16 tiles, and 32 (the VNNI tiles where the CPU has them)
    for (int magnitude : {110, 116}) {
      SCOPED_TRACE(fmt::format("|w| = {}, batch {}", magnitude, batch));
      const Case cc{batch, 256, 16, 16, 16, 3, 1, 1, 1, DType::U8, DType::U8, false, false, ""};
      Problem p = make_case(rng, cc);
      Tensor& x = p.inputs[0];
      std::uniform_int_distribution<int> byte(0, 255), percent(0, 99);
      for (int64_t i = 0; i < x.numel(); ++i)
        x.data<uint8_t>()[i] = static_cast<uint8_t>(percent(rng) < 90 ? 0 : byte(rng));
      Tensor& w = p.inputs[3];
      const int64_t per_channel = cc.c * 9;
      for (int64_t i = 0; i < w.numel(); ++i)
        w.data<int8_t>()[i] =
            static_cast<int8_t>(i < 8 * per_channel || rng() % 2 ? magnitude : -magnitude);
      // The output's 240 steps span about +-2^25 of the sum.
      const float xs = p.inputs[1].data<float>()[0], ws = p.inputs[4].data<float>()[0];
      p.inputs[6] = Tensor::scalar(xs * ws * float(1 << 25) / 120.f);
      const std::string impl = expect_equal_to_onednn_and_reference(p);
      EXPECT_NE(impl.find(magnitude == 110 ? "F(4x4,3x3)" : "F(2x2,3x3)"), std::string::npos)
          << impl;
    }
}

// qbench.QLinearConv with a residual (passes/fuse_add.cpp's fuse_int8_residual): conv's own output
// rounded as before, then QLinearAdd with r into (z_scale, z_zp), the Relu after the add. The
// residual's scale and zero point differ from the convolution's, so the add rescales both.
Problem with_residual(std::mt19937& rng, Problem p, DType rt, DType zt, bool relu) {
  const Shape y = p.make_types()[0].shape;
  const bool ru = rt == DType::U8;
  const float ys = p.inputs[6].data<float>()[0];
  p.inputs.resize(9);  // an omitted bias stays undefined
  p.node.inputs.resize(9);
  p.inputs.push_back(test::random_ints(rng, rt, y, ru ? 0 : -128, ru ? 255 : 127));
  p.inputs.push_back(Tensor::scalar(ys * 0.7f));
  p.inputs.push_back(test::zero_point(rt, ru ? 100 : 7));
  p.inputs.push_back(Tensor::scalar(ys * 1.3f));
  p.inputs.push_back(test::zero_point(zt, zt == DType::U8 ? 110 : -9));
  for (size_t i = 9; i < 14; ++i) p.node.inputs.push_back("in" + std::to_string(i));
  p.constant.assign(p.inputs.size(), true);
  p.constant[0] = p.constant[9] = false;
  if (relu) {
    ir::FusedOp f;
    f.op_type = "Relu";
    p.node.fused.push_back(f);
  }
  return p;
}

// Runs kernel k on p with the output starting as a copy of the residual and passed as both
// (the plan's in-place case), and with a separate output; both must agree.
Tensor run_in_place_and_not(const Problem& p, kernels::Kernel& k) {
  std::vector<kernels::TensorType> types = p.make_types();
  Tensor separate(types[0].dtype, types[0].shape);
  std::vector<Tensor*> outs{&separate};
  kernels::ExecContext ctx;
  std::vector<const Tensor*> in = p.input_ptrs();
  k.run(in, outs, ctx);
  if (k.inplace_input() == 9) {
    Tensor shared(types[0].dtype, types[0].shape);
    std::memcpy(shared.raw(), p.inputs[9].raw(), size_t(shared.numel()));
    in[9] = &shared;
    outs[0] = &shared;
    k.run(in, outs, ctx);
    EXPECT_EQ(test::lsb_diff(shared, separate).max, 0) << "in place differs";
  }
  return separate;
}

// Halves every weight into [-64, 64] (a reduce-range file's), with both extremes present.
void to_seven_bit(Tensor& w) {
  for (int64_t i = 0; i < w.numel(); ++i)
    w.data<int8_t>()[i] = static_cast<int8_t>(w.data<int8_t>()[i] / 2);
  w.data<int8_t>()[0] = 64;
  w.data<int8_t>()[1] = -64;
}

// 7-bit weights over a uint8 source multiply bytes (u8_products): vpmaddubsw pair sums are exact
// there, the zero point's share is subtracted in int32. 1x1 convolutions read the source's pixels
// as rows (channels a multiple of 4) or pack them (strided, or channels not a multiple of 4), the
// few-channel ones pack whole receptive fields (the stem's K = 147, not a multiple of 4; padding
// and dilation, whose padding must hold the zero point); zero point 0 (no compensation) and not,
// partial tiles, batch 2, both output types, Relu and Clip, and a 1x1 over 3136 pixels of 512
// channels (several passes). All equal to oneDNN's u8 kernels (exact for these weights).
TEST(Int16Conv, BytesMatchTheReferenceAndOnednn) {
  if (skip_without_avx2()) GTEST_SKIP() << "no AVX2: the int16 kernel cannot run";
  std::mt19937 rng(20261206);
  const std::vector<Case> byte_cases = {
      {2, 24, 40, 7, 7, 1, 1, 0, 1, DType::U8, DType::U8, false, false, ""},     // source's rows
      {1, 64, 48, 13, 13, 1, 2, 0, 1, DType::U8, DType::I8, true, false, ""},    // strided 1x1
      {1, 30, 20, 9, 9, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "Clip"},   // 30 channels
      {1, 3, 16, 20, 20, 7, 2, 3, 1, DType::U8, DType::U8, true, true, "Relu"},  // K = 147
      {2, 3, 16, 16, 14, 7, 2, 3, 1, DType::U8, DType::I8, false, true, "Relu", 0, 0},
      {1, 8, 24, 12, 12, 3, 1, 2, 2, DType::U8, DType::U8, false, true, "Relu", 0, 200},
      // Output zero point 0: with Relu over uint8 the clip is the type's own (the packs clamp,
      // nothing added); over int8 it clips at 0; none at all.
      {1, 512, 32, 56, 56, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "Relu", 0, 0, 0},
      {1, 16, 24, 9, 9, 1, 1, 0, 1, DType::U8, DType::I8, true, true, "Relu", 0, 5, 0},
      {1, 16, 24, 9, 9, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "", 0, 5, 0},
  };
  for (const Case& cc : byte_cases) {
    SCOPED_TRACE(describe(cc));
    Problem p = make_case(rng, cc);
    to_seven_bit(p.inputs[3]);
    const std::string impl = expect_equal_to_onednn_and_reference(p, Int16Kernels::AlwaysU8);
    EXPECT_EQ(impl.find("qbench_u8s8_gemm"), 0u) << impl;
  }
}

// Where a split test's source bytes have their high bit: none, a few (a ReLU's output, |N(0, 55)|:
// ~2% of the bytes, some rows none), every byte, uniform bytes (half), or every byte 255.
enum class High { None, Few, All, Uniform, Max };
struct HighCase {
  Case conv;
  High high;
};

void set_high_bits(std::mt19937& rng, Tensor& x, High high) {
  std::normal_distribution<float> relu(0.f, 55.f);
  for (int64_t i = 0; i < x.numel(); ++i) {
    uint8_t& v = x.data<uint8_t>()[i];
    if (high == High::None) v = static_cast<uint8_t>(v % 128);
    if (high == High::All) v = static_cast<uint8_t>(v | 128);
    if (high == High::Max) v = 255;
    if (high == High::Few)
      v = static_cast<uint8_t>(std::clamp(std::lround(std::max(0.f, relu(rng))), 0L, 255L));
  }
}

// Full-range weights over a uint8 source multiply split bytes (their low seven bits, and the
// high bits' quads again): equal to oneDNN's weight halves and the reference wherever the high
// bits lie: none set, a few (a ReLU's output: ~2% of the bytes, some rows none), every byte (each
// quad listed), and uniform bytes; in 1x1 rows read from the source (channels a multiple of 4,
// of 32, and not of 32: the last vector masked), packed 1x1 rows (strided; 30 channels, the last
// quad's spare bytes), a strided 3x3 with padding (the zero point in it), dilation, batch 2,
// partial tiles, several passes over both threads (3136 pixels of 512 channels), both output types,
// Relu and Clip; matmuls (A's rows).
Problem make_matmul(std::mt19937& rng, const std::string& op, Shape a_shape, int64_t n, DType at,
                    DType yt);

TEST(Int16Conv, SplitBytesMatchTheReferenceAndOnednn) {
  if (skip_without_avx2()) GTEST_SKIP() << "no AVX2: the int16 kernel cannot run";
  std::mt19937 rng(20261207);
  const std::vector<HighCase> split_cases = {
      {{2, 24, 40, 7, 7, 1, 1, 0, 1, DType::U8, DType::U8, false, false, "", 0, 0}, High::Few},
      {{1, 64, 48, 13, 13, 1, 2, 0, 1, DType::U8, DType::I8, true, false, "", 0, 5}, High::Few},
      {{1, 30, 20, 9, 9, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "Clip", 0, 63},
       High::Uniform},
      {{1, 32, 36, 11, 10, 3, 2, 1, 1, DType::U8, DType::U8, true, true, "Relu", 0, 40}, High::Few},
      {{2, 16, 24, 12, 12, 3, 1, 2, 2, DType::U8, DType::I8, false, true, "", 0, 0}, High::All},
      {{1, 40, 17, 5, 7, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "", 0, 1}, High::None},
      {{1, 40, 17, 5, 7, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "", 0, 1}, High::All},
      {{1, 512, 32, 56, 56, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "Relu", 0, 0, 0},
       High::Few},
  };
  for (const HighCase& sc : split_cases) {
    SCOPED_TRACE(describe(sc.conv) + fmt::format(" high bits {}", int(sc.high)));
    Problem p = make_case(rng, sc.conv);
    set_high_bits(rng, p.inputs[0], sc.high);
    // Scale the outputs to the sums' spread here.
    if (sc.high != High::Uniform) p.inputs[6] = Tensor::scalar(p.inputs[6].data<float>()[0] / 3);
    const std::string impl = expect_equal_to_onednn_and_reference(p, Int16Kernels::AlwaysU8);
    EXPECT_EQ(impl.find("qbench_u8s8_gemm"), 0u) << impl;
    EXPECT_NE(impl.find("split"), std::string::npos) << impl;
  }
  for (const auto& [a_shape, n] :
       std::vector<std::pair<Shape, int64_t>>{{{1, 2048}, 1000}, {{7, 36}, 65}, {{50, 64}, 192}}) {
    SCOPED_TRACE(fmt::format("QLinearMatMul A{} N={}", shape_str(a_shape), n));
    Problem p = make_matmul(rng, "QLinearMatMul", a_shape, n, DType::U8, DType::U8);
    p.inputs[2] = test::zero_point(DType::U8, 10);
    const std::string impl = expect_equal_to_onednn_and_reference(p, Int16Kernels::AlwaysU8);
    EXPECT_NE(impl.find("split"), std::string::npos) << impl;
  }
}

// 7-bit weights over a source with a zero point below 64 and a receptive field of 512 or more
// multiply split bytes with two quads' pair sums added in int16 (paired): equal to oneDNN's u8
// kernels (exact for these weights) and the reference, with an even and an odd number of quads
// (the tile's last quad alone), partial tiles and panels, rows read from the source and packed
// (strided), high bits on every byte, on none, and uniform; and at the bound itself: every byte 255
// (127 + 128) against weights of 64 in one output channel and -64 in another, whose four-product
// int16 sums are +-32512 and whose high quads add +-16384 a pair. K = 256 into 16 channels is not
// split.
TEST(Int16Conv, PairedBytesMatchTheReferenceAndOnednn) {
  if (skip_without_avx2()) GTEST_SKIP() << "no AVX2: the int16 kernel cannot run";
  std::mt19937 rng(20261208);
  const std::vector<HighCase> paired_cases = {
      {{1, 512, 40, 9, 9, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "Relu", 0, 0},
       High::Uniform},
      {{1, 516, 20, 7, 5, 1, 1, 0, 1, DType::U8, DType::I8, true, true, "", 0, 3}, High::All},
      {{2, 1024, 24, 3, 4, 1, 1, 0, 1, DType::U8, DType::U8, false, false, "", 0, 63}, High::None},
      {{1, 512, 24, 9, 9, 1, 2, 0, 1, DType::U8, DType::U8, true, true, "Clip", 0, 10},
       High::Uniform},  // strided: packed rows
      {{1, 512, 16, 6, 6, 1, 1, 0, 1, DType::U8, DType::U8, true, false, "", 0, 0}, High::Max},
      {{1, 128, 130, 5, 7, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "Relu", 0, 7},
       High::Uniform},  // K = 128 into 130 channels
      {{2, 64, 144, 6, 7, 1, 1, 0, 1, DType::U8, DType::I8, true, true, "", 0, 0},
       High::Few},  // K = 64 into 144 channels (ResNet-50's layer-1 conv3 and downsample)
  };
  for (const HighCase& pc : paired_cases) {
    SCOPED_TRACE(describe(pc.conv) + fmt::format(" high bits {}", int(pc.high)));
    Problem p = make_case(rng, pc.conv);
    to_seven_bit(p.inputs[3]);
    set_high_bits(rng, p.inputs[0], pc.high);
    if (pc.high == High::Max) {
      Tensor& w = p.inputs[3];
      const int64_t per_channel = w.numel() / pc.conv.m;
      for (int64_t i = 0; i < per_channel; ++i) {
        w.data<int8_t>()[i] = 64;
        w.data<int8_t>()[per_channel + i] = -64;
      }
    }
    const std::string impl = expect_equal_to_onednn_and_reference(p, Int16Kernels::AlwaysU8);
    EXPECT_NE(impl.find("paired"), std::string::npos) << impl;
  }
  // K = 256 into 16 channels, K = 32 into 256: 7-bit weights over the same source multiply
  // unsplit bytes.
  for (const Case& cc :
       {Case{1, 256, 16, 5, 5, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "", 0, 0},
        Case{1, 32, 256, 5, 5, 1, 1, 0, 1, DType::U8, DType::U8, true, true, "", 0, 0}}) {
    Problem p = make_case(rng, cc);
    to_seven_bit(p.inputs[3]);
    const std::string impl = expect_equal_to_onednn_and_reference(p, Int16Kernels::AlwaysU8);
    EXPECT_EQ(impl.find("split"), std::string::npos) << describe(cc) << ": " << impl;
  }
}

// Byte products only where no pair sum can saturate: 7-bit weights over a uint8 source; full-range
// weights split over 16 channels or more and a zero point below 64 (not the stem's few channels),
// otherwise int16 products; the kernel refuses to be built elsewhere.
TEST(Int16Conv, BytesOnlyWhereNoPairSaturates) {
  kernels::onednn::ExactConvShape s;
  s.in_h = s.in_w = s.out_h = s.out_w = 4;
  s.in_c = 8;
  s.out_c = 16;
  std::vector<int8_t> w(size_t(s.in_c * s.out_c), 64);
  using kernels::onednn::ExactInt8Conv;
  EXPECT_TRUE(ExactInt8Conv::u8_products_apply(s, w, false, 0));
  EXPECT_FALSE(ExactInt8Conv::u8_products_apply(s, w, true, 0));
  w[5] = -65;
  EXPECT_FALSE(ExactInt8Conv::u8_products_apply(s, w, false, 0));
  kernels::onednn::Requantization rq;
  rq.bias.assign(16, 0.f);
  rq.scale.assign(16, 1.f);
  EXPECT_THROW(ExactInt8Conv(s, w.data(), 0, false, rq, true), std::logic_error);
  s.in_c = 16;
  w.assign(size_t(s.in_c * s.out_c), -128);
  EXPECT_TRUE(ExactInt8Conv::u8_products_apply(s, w, false, 63));
  EXPECT_FALSE(ExactInt8Conv::u8_products_apply(s, w, false, 64));
  EXPECT_FALSE(ExactInt8Conv::u8_products_apply(s, w, true, 0));
  EXPECT_TRUE(ExactInt8Conv(s, w.data(), 0, false, rq, true).split());
  EXPECT_THROW(ExactInt8Conv(s, w.data(), 64, false, rq, true), std::logic_error);
}

TEST(Int16Conv, ResidualAddMatchesTheReferenceAndOnednn) {
  if (skip_without_avx2()) GTEST_SKIP() << "no AVX2: the int16 kernel cannot run";
  std::mt19937 rng(1205);
  struct ResidualCase {
    Case conv;
    DType rt, zt;
    bool relu;
  };
  const std::vector<ResidualCase> rcases = {
      // 1x1 (im2col rows), u8 everywhere, Relu after the add.
      {{1, 24, 40, 7, 7, 1, 1, 0, 1, DType::U8, DType::U8, true, true, ""},
       DType::U8,
       DType::U8,
       true},
      // Winograd, edge tiles; the conv's own output s8, the residual u8, the add's output s8.
      {{1, 16, 24, 15, 17, 3, 1, 1, 1, DType::U8, DType::I8, true, true, ""},
       DType::U8,
       DType::I8,
       false},
      // F(4x4) over 56 tiles (on the VNNI tiles where the CPU has them): the residual read and
      // added in the zmm epilogue, the last 16-channel half partial (40 channels).
      {{1, 16, 40, 27, 29, 3, 1, 1, 1, DType::U8, DType::U8, true, true, "", 4},
       DType::U8,
       DType::U8,
       true},
      // Strided 3x3 (im2col), s8 source and residual, u8 output.
      {{2, 8, 20, 11, 10, 3, 2, 1, 1, DType::I8, DType::U8, false, false, ""},
       DType::I8,
       DType::U8,
       true},
      // 1x1 over 32 channels or more (bytes: the tiles of four rows whose epilogue the next tile
      // runs), each pairing of residual and output types, a last partial panel and tile.
      {{1, 64, 40, 7, 7, 1, 1, 0, 1, DType::U8, DType::U8, true, true, ""},
       DType::U8,
       DType::U8,
       true},
      {{1, 36, 40, 7, 7, 1, 1, 0, 1, DType::U8, DType::I8, false, true, ""},
       DType::U8,
       DType::I8,
       false},
      {{2, 32, 48, 5, 5, 1, 1, 0, 1, DType::U8, DType::U8, true, false, ""},
       DType::I8,
       DType::U8,
       false},
      {{1, 72, 33, 6, 5, 1, 1, 0, 1, DType::U8, DType::I8, true, true, ""},
       DType::I8,
       DType::I8,
       true},
  };
  for (const ResidualCase& rc : rcases)
    for (bool seven_bit : {false, true}) {
      SCOPED_TRACE(describe(rc.conv) + (seven_bit ? " 7-bit weights" : " full-range weights") +
                   " residual " + dtype_name(rc.rt) + " out " + dtype_name(rc.zt));
      Problem p = with_residual(rng, make_case(rng, rc.conv), rc.rt, rc.zt, rc.relu);
      if (seven_bit) to_seven_bit(p.inputs[3]);
      const Tensor want = kernels::run_reference(p.node, p.opset, p.input_ptrs())[0];
      // qbench's kernel in int16, in bytes where they apply (7-bit weights, a uint8 1x1), oneDNN.
      const Int16Kernels modes[3] = {Int16Kernels::Always, Int16Kernels::AlwaysU8,
                                     Int16Kernels::Never};
      Tensor got[3];
      std::string impl[3];
      for (int i = 0; i < 3; ++i) {
        kernels::onednn::set_int16_kernels(modes[i]);
        std::string why;
        std::vector<kernels::TensorType> types;
        auto k = p.make(why, types);
        kernels::onednn::set_int16_kernels(Int16Kernels::Auto);
        ASSERT_TRUE(k) << why;
        impl[i] = k->impl();
        got[i] = run_in_place_and_not(p, *k);
        const test::LsbDiff ref = test::lsb_diff(got[i], want);
        EXPECT_LE(ref.max, 1) << impl[i];
        EXPECT_LE(ref.count, 2 + want.numel() / 50) << impl[i];
      }
      EXPECT_NE(impl[0].find("residual added in registers"), std::string::npos) << impl[0];
      EXPECT_NE(impl[1].find("residual added in registers"), std::string::npos) << impl[1];
      const Case& cc = rc.conv;
      const bool vnni = cc.winograd == 4 && kernels::onednn::own_vnni_kernels() &&
                        cc.n * ((cc.h + 3) / 4) * ((cc.w + 3) / 4) >= 32;
      EXPECT_EQ(impl[0].find("avx512_vnni") != std::string::npos, vnni) << impl[0];
      const bool bytes = seven_bit && rc.conv.k == 1 && rc.conv.xt == DType::U8;
      EXPECT_EQ(impl[1].find("qbench_u8s8") == 0, bytes) << impl[1];
      // Where oneDNN runs one primitive (no weight halves), its post-ops and qbench's epilogue
      // are the same float operations in the same order: equal everywhere.
      const bool one_primitive = impl[2].find("residual added by post-ops") != std::string::npos;
      // oneDNN's u8 kernels are exact for 7-bit weights on every CPU: one primitive there.
      EXPECT_TRUE(one_primitive || (!seven_bit && impl[2].find("halves") != std::string::npos))
          << impl[2];
      for (int i = 0; i < 2; ++i) {
        const test::LsbDiff same = test::lsb_diff(got[i], got[2]);
        EXPECT_LE(same.max, one_primitive ? 0 : 1)
            << same.count << " of " << impl[i] << " differ from " << impl[2];
      }
      std::vector<int64_t> v = want.to_int64();
      std::sort(v.begin(), v.end());
      EXPECT_GE(std::unique(v.begin(), v.end()) - v.begin(), 10);
    }
}

// QLinearMatMul and QGemm with a constant 2-D B run on the same kernel as a 1x1 convolution over
// A's rows (B transposed into weights): A of rank 2 and 3, rows not a multiple of 6, N not of 16,
// odd K, both source and output types, QGemm's int32 bias and a fused Relu.
Problem make_matmul(std::mt19937& rng, const std::string& op, Shape a_shape, int64_t n, DType at,
                    DType yt) {
  Problem p;
  const int64_t k = a_shape.back();
  const bool qgemm = op == "QGemm", u8 = at == DType::U8;
  p.node = kernels::onednn::testing::make_node(op, qgemm ? 9 : 8);
  std::vector<float> bs(static_cast<size_t>(n));
  std::uniform_real_distribution<float> sd(0.002f, 0.01f);
  float mean = 0;
  for (float& s : bs) mean += (s = sd(rng)) / float(n);
  const float as = 0.03f, ys = as * mean * std::sqrt(float(k)) * 74.f * 74.f / 40.f;
  Tensor b = test::random_ints(rng, DType::I8, {k, n}, -128, 127);
  b.data<int8_t>()[0] = 127;
  b.data<int8_t>()[n] = 127;  // a pair of 127s in column 0 (rows 0 and 1)
  p.inputs = {test::random_ints(rng, at, a_shape, u8 ? 0 : -128, u8 ? 255 : 127),
              Tensor::scalar(as),
              test::zero_point(at, u8 ? 129 : -2),
              b,
              Tensor::from_vector<float>({n}, bs),
              Tensor::scalar<int8_t>(0),
              Tensor::scalar(ys),
              test::zero_point(yt, yt == DType::U8 ? 125 : 4)};
  if (qgemm) {
    p.inputs.push_back(test::random_ints(rng, DType::I32, {n}, -int(k) * 3000, int(k) * 3000));
    p.node.domain = kernels::ref::kQbenchDomain;
    ir::FusedOp f;
    f.op_type = "Relu";
    p.node.fused.push_back(f);
  }
  p.constant.assign(p.inputs.size(), true);
  p.constant[0] = false;
  return p;
}

TEST(Int16Conv, MatmulsMatchTheReferenceAndOnednn) {
  if (skip_without_avx2()) GTEST_SKIP() << "no AVX2: the int16 kernel cannot run";
  std::mt19937 rng(77);
  const std::vector<std::pair<Shape, int64_t>> shapes = {
      {{1, 2048}, 1000}, {{7, 33}, 65}, {{2, 3, 48}, 24}, {{50, 64}, 192}};
  for (const char* op : {"QLinearMatMul", "QGemm"})
    for (DType at : {DType::U8, DType::I8})
      for (DType yt : {DType::U8, DType::I8})
        for (const auto& [a_shape, n] : shapes)
          for (bool seven_bit : {false, true}) {
            if (std::string(op) == "QGemm" && a_shape.size() != 2) continue;
            SCOPED_TRACE(fmt::format("{} A{} N={} a={} y={}{}", op, shape_str(a_shape), n,
                                     dtype_name(at), dtype_name(yt), seven_bit ? " 7-bit B" : ""));
            Problem p = make_matmul(rng, op, a_shape, n, at, yt);
            if (seven_bit) to_seven_bit(p.inputs[3]);
            // A 7-bit B over a uint8 A multiplies bytes.
            const std::string impl = expect_equal_to_onednn_and_reference(
                p, seven_bit ? Int16Kernels::AlwaysU8 : Int16Kernels::Always);
            EXPECT_EQ(
                impl.find(seven_bit && at == DType::U8 ? "qbench_u8s8_gemm" : "qbench_int16_gemm"),
                0u)
                << impl;
          }
}

// Left to choose, the registry takes qbench's kernel exactly where oneDNN's int8 pair sums
// saturate: for full-range weights always (int16 products); for 7-bit weights (which oneDNN's
// convolutions run exactly) where it runs Winograd F(4x4, 3x3), or multiplies bytes (a uint8
// source, a 1x1 kernel or few channels), not for a 3x3 with too few 4x4 tiles for F(4x4) (F(2x2)
// loses to oneDNN there), a strided 3x3 over many channels nor over an int8 source; for a matmul
// with a constant B always (oneDNN's int8 matmul there repacks B on every call), in bytes for a
// 7-bit B over a uint8 A.
TEST(Int16Conv, TakenWhereThePairSumsSaturate) {
  const bool saturates = kernels::onednn::int8_behaviour().conv_pairs_saturate &&
                         kernels::onednn::ExactInt8Conv::available();
  const std::string isa = " (oneDNN " + kernels::onednn::effective_isa() + ")";
  auto halve = [](Tensor& w) {
    for (int64_t i = 0; i < w.numel(); ++i)
      w.data<int8_t>()[i] = static_cast<int8_t>(w.data<int8_t>()[i] / 2);
  };
  std::mt19937 rng(5);
  std::string impl;
  for (int64_t k : {3, 1}) {
    const Case cc{1, 16, 32, 9, 11, k, 1, k / 2, 1, DType::U8, DType::U8, true, true, ""};
    Problem p = make_case(rng, cc);
    run_kernel(p, Int16Kernels::Auto, impl);
    EXPECT_EQ(impl.find("qbench_int16") != std::string::npos, saturates) << impl << isa;
    halve(p.inputs[3]);
    run_kernel(p, Int16Kernels::Auto, impl);
    // 9 x 11 outputs: nine 4x4 tiles, too few for F(4x4).
    EXPECT_EQ(impl.find("qbench_int16_winograd"), std::string::npos) << impl << isa;
    EXPECT_EQ(impl.find("qbench_u8s8_gemm") != std::string::npos, saturates && k == 1)
        << impl << isa;
  }
  {  // 16 x 16 outputs: sixteen 4x4 tiles
    const Case cc{1, 16, 32, 16, 16, 3, 1, 1, 1, DType::U8, DType::U8, true, true, ""};
    Problem p = make_case(rng, cc);
    halve(p.inputs[3]);
    run_kernel(p, Int16Kernels::Auto, impl);
    EXPECT_EQ(impl.find("F(4x4,3x3)") != std::string::npos, saturates) << impl << isa;
  }
  {  // 28 x 28 outputs, 49 tiles: F(4x4) on the VNNI tiles where the CPU has them, whether or not
     // its pair sums saturate (they do not with VNNI).
    const Case cc{1, 16, 32, 28, 28, 3, 1, 1, 1, DType::U8, DType::U8, true, true, ""};
    Problem p = make_case(rng, cc);
    run_kernel(p, Int16Kernels::Auto, impl);
    const bool vnni = kernels::onednn::own_vnni_kernels();
    EXPECT_EQ(impl.find("F(4x4,3x3)") != std::string::npos, saturates || vnni) << impl << isa;
    EXPECT_EQ(impl.find("avx512_vnni") != std::string::npos, vnni) << impl << isa;
  }
  for (DType xt : {DType::U8, DType::I8}) {  // 7-bit weights, a strided 3x3 and an int8 1x1
    const Case cc{1,  16,        32,   9,    11, xt == DType::U8 ? 3 : 1, 2, 1, 1,
                  xt, DType::U8, true, true, ""};
    Problem p = make_case(rng, cc);
    halve(p.inputs[3]);
    run_kernel(p, Int16Kernels::Auto, impl);
    EXPECT_EQ(impl.find("qbench_"), std::string::npos) << impl << isa;
  }
  Problem m = make_matmul(rng, "QLinearMatMul", {4, 64}, 32, DType::U8, DType::U8);
  run_kernel(m, Int16Kernels::Auto, impl);
  EXPECT_EQ(impl.find("qbench_int16") != std::string::npos,
            kernels::onednn::int8_behaviour().matmul_pairs_saturate &&
                kernels::onednn::ExactInt8Conv::available())
      << impl << isa;
  halve(m.inputs[3]);
  run_kernel(m, Int16Kernels::Auto, impl);
  EXPECT_EQ(impl.find("qbench_u8s8_gemm") != std::string::npos,
            kernels::onednn::int8_behaviour().matmul_pairs_saturate &&
                kernels::onednn::ExactInt8Conv::available())
      << "7-bit B: " << impl << isa;
}

}  // namespace
}  // namespace qbench
