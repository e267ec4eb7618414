// The vectorized QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear kernels against the
// reference kernels: bit-exact, including ties (k + 0.5) * scale, which must round half to even,
// saturation, NaN and infinities, and sizes that take the multi-threaded path.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "onednn_testing.h"
#include "qtest_util.h"

namespace qbench {
namespace {

using kernels::onednn::testing::Problem;

std::vector<Tensor> run_kernel(const Problem& p, const std::string& what) {
  std::string why;
  std::vector<kernels::TensorType> types;
  auto k = p.make(why, types);
  EXPECT_TRUE(k) << what << " declined: " << why;
  if (!k) return {};
  std::vector<Tensor> outs;
  for (const auto& t : types) outs.emplace_back(t.dtype, t.shape);
  std::vector<Tensor*> ptrs;
  for (auto& t : outs) ptrs.push_back(&t);
  kernels::ExecContext ctx;
  k->run(p.input_ptrs(), ptrs, ctx);
  return outs;
}

bool bytes_equal(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), a.numel() * dtype_size(a.dtype())) == 0;
}

Tensor tricky_floats(std::mt19937& rng, int64_t n, float scale) {
  std::vector<float> v(n);
  std::uniform_real_distribution<float> d(-300.f * scale, 300.f * scale);
  std::uniform_int_distribution<int> k(-200, 200);
  for (int64_t i = 0; i < n; ++i) {
    switch (i % 7) {
      case 0:  // an exact tie: half-way between two integers after the division
        v[i] = (static_cast<float>(k(rng)) + 0.5f) * scale;
        break;
      case 1:
        v[i] = static_cast<float>(k(rng)) * scale;
        break;
      default:
        v[i] = d(rng);
    }
  }
  if (n > 4) {
    v[1] = std::numeric_limits<float>::quiet_NaN();
    v[2] = std::numeric_limits<float>::infinity();
    v[3] = -std::numeric_limits<float>::infinity();
    v[4] = 1e30f;
  }
  return Tensor::from_vector<float>({n}, v);
}

TEST(NativeQConvert, QuantizeLinearIsBitExact) {
  std::mt19937 rng(41);
  int cases = 0;
  for (int64_t n : {int64_t(5), int64_t(3200), int64_t(70001)})
    for (DType t : {DType::U8, DType::I8})
      for (int zp : {0, 3, -7, 128})
        for (float scale : {0.5f, 0.0173f}) {
          if (t == DType::U8 && zp < 0) continue;
          if (t == DType::I8 && zp > 127) continue;
          Problem p;
          p.node = kernels::onednn::testing::make_node("QuantizeLinear", 3);
          p.inputs = {tricky_floats(rng, n, scale), Tensor::scalar(scale), test::zero_point(t, zp)};
          p.constant = {false, true, true};
          const std::string what =
              fmt::format("n={} {} zp={} scale={}", n, dtype_name(t), zp, scale);
          std::vector<Tensor> got = run_kernel(p, what);
          ASSERT_EQ(got.size(), 1u);
          Tensor want = kernels::run_reference(p.node, p.opset, p.input_ptrs())[0];
          EXPECT_TRUE(bytes_equal(got[0], want)) << what;
          cases++;
        }
  EXPECT_EQ(cases, 36);
}

TEST(NativeQConvert, DequantizeLinearIsBitExact) {
  std::mt19937 rng(43);
  for (int64_t n : {int64_t(7), int64_t(70001)})
    for (DType t : {DType::U8, DType::I8}) {
      Problem p;
      p.node = kernels::onednn::testing::make_node("DequantizeLinear", 3);
      p.inputs = {test::random_ints(rng, t, {n}, t == DType::U8 ? 0 : -128, 127),
                  Tensor::scalar(0.0371f), test::zero_point(t, t == DType::U8 ? 131 : -5)};
      p.constant = {false, true, true};
      std::vector<Tensor> got = run_kernel(p, "dequantize");
      ASSERT_EQ(got.size(), 1u);
      Tensor want = kernels::run_reference(p.node, p.opset, p.input_ptrs())[0];
      EXPECT_TRUE(bytes_equal(got[0], want)) << n << " " << dtype_name(t);
    }
}

TEST(NativeQConvert, DynamicQuantizeLinearIsBitExact) {
  std::mt19937 rng(47);
  std::normal_distribution<float> d(0.3f, 2.0f);
  for (int64_t n : {int64_t(1), int64_t(33), int64_t(70001)})
    for (int sign : {1, -1, 0}) {
      std::vector<float> v(n);
      for (float& x : v) x = sign == 0 ? 0.0f : sign * std::fabs(d(rng));
      if (sign == 1 && n > 2) v[n / 2] = -1.25f;
      Problem p;
      p.node = kernels::onednn::testing::make_node("DynamicQuantizeLinear", 1, {}, 3);
      p.inputs = {Tensor::from_vector<float>({n}, v)};
      p.constant = {false};
      std::vector<Tensor> got = run_kernel(p, "dynamic");
      ASSERT_EQ(got.size(), 3u);
      std::vector<Tensor> want = kernels::run_reference(p.node, p.opset, p.input_ptrs());
      for (int o = 0; o < 3; ++o)
        EXPECT_TRUE(bytes_equal(got[o], want[o]))
            << "output " << o << " n=" << n << " sign=" << sign;
    }
}

// Per-axis parameters are the reference kernel's job, and the native kernel says so.
TEST(NativeQConvert, DeclinesPerAxisScales) {
  Problem p;
  p.node = kernels::onednn::testing::make_node("QuantizeLinear", 3);
  p.inputs = {Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6}),
              Tensor::from_vector<float>({2}, {0.1f, 0.2f}),
              Tensor::from_vector<uint8_t>({2}, {0, 0})};
  p.node.attrs["axis"] = ir::Attribute::of_int(0);
  p.constant = {false, true, true};
  std::string why;
  std::vector<kernels::TensorType> types;
  EXPECT_FALSE(p.make(why, types));
  EXPECT_NE(why.find("one f32 scale per tensor"), std::string::npos) << why;
}

}  // namespace
}  // namespace qbench
