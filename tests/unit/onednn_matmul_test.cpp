// oneDNN MatMul and Gemm against the reference kernels: 1-D operands, batched numpy
// broadcasting, constant and runtime B, every transA/transB/alpha/beta/C combination.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "kernels/onednn/factories.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

ir::FusedOp fused(const std::string& op, float lo = -INFINITY, float hi = INFINITY) {
  ir::FusedOp f;
  f.op_type = op;
  f.clip_min = lo;
  f.clip_max = hi;
  return f;
}

void expect_matches(const Problem& p, std::mt19937& rng, const std::string& what) {
  auto o = testing::check_against_reference(p, rng);
  ASSERT_TRUE(o.why_not.empty()) << what << ": rejected: " << o.why_not;
  EXPECT_LT(o.error, 1e-5) << what;
}

TEST(OnednnMatMul, ShapesAndBroadcast) {
  std::mt19937 rng(11);
  struct Case {
    Shape a, b;
  };
  std::vector<Case> cases = {
      {{64, 784}, {784, 256}},
      {{5, 7}, {7, 3}},
      {{7}, {7, 3}},
      {{5, 7}, {7}},
      {{7}, {7}},
      {{2, 3, 5, 7}, {7, 4}},
      {{2, 3, 5, 7}, {3, 7, 4}},
      {{2, 1, 5, 7}, {1, 3, 7, 4}},
      {{1, 5, 7}, {4, 7, 2}},
      {{4, 1, 7}, {4, 7, 2}},
      {{3, 7}, {2, 2, 7, 5}},
      {{2, 2, 3, 1, 6, 5}, {3, 4, 5, 2}},
      {{1, 16, 12, 33}, {1, 16, 33, 12}},
  };
  int n = 0;
  for (const Case& c : cases)
    for (bool const_b : {false, true})
      for (int post = 0; post < 3; ++post) {
        Problem p{testing::make_node("MatMul", 2), 13, {}, {false, const_b}};
        if (post == 1) p.node.fused = {fused("Relu")};
        if (post == 2) p.node.fused = {fused("Clip", -3.f, 3.f)};
        p.inputs = {testing::random_tensor(rng, c.a), testing::random_tensor(rng, c.b)};
        expect_matches(p, rng,
                       fmt::format("A {} B {} const_b {} post {}", c.a, c.b, const_b, post));
        ++n;
      }
  EXPECT_EQ(n, 78);
}

TEST(OnednnMatMul, RandomBatched) {
  std::mt19937 rng(12);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 60; ++i) {
    int rank = pick(2, 5);
    int64_t m = pick(1, 20), k = pick(1, 40), nn = pick(1, 20);
    Shape a, b;
    for (int d = 0; d < rank - 2; ++d) {
      int64_t dim = pick(1, 3);
      int mode = pick(0, 2);  // both, A broadcast, B broadcast
      a.push_back(mode == 1 ? 1 : dim);
      b.push_back(mode == 2 ? 1 : dim);
    }
    a.insert(a.end(), {m, k});
    b.insert(b.end(), {k, nn});
    if (pick(0, 3) == 0) b.erase(b.begin(), b.end() - 2);  // 2-D B
    Problem p{testing::make_node("MatMul", 2), 13, {}, {false, pick(0, 1) == 1}};
    p.inputs = {testing::random_tensor(rng, a), testing::random_tensor(rng, b)};
    expect_matches(p, rng, fmt::format("A {} B {} const_b {}", a, b, p.constant[1]));
  }
}

TEST(OnednnGemm, AllAttributeCombinations) {
  std::mt19937 rng(13);
  const int64_t M = 9, K = 13, N = 11;
  std::vector<Shape> c_shapes = {{}, {N}, {1, N}, {M, 1}, {M, N}, {1}, {1, 1}};
  int n = 0;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (float alpha : {1.f, 0.5f})
        for (float beta : {1.f, -2.f})
          for (int c = -1; c < static_cast<int>(c_shapes.size()); ++c)
            for (bool const_c : {false, true}) {
              if (c < 0 && const_c) continue;
              std::map<std::string, Attribute> attrs{{"transA", Attribute::of_int(ta)},
                                                     {"transB", Attribute::of_int(tb)},
                                                     {"alpha", Attribute::of_float(alpha)},
                                                     {"beta", Attribute::of_float(beta)}};
              Problem p{
                  testing::make_node("Gemm", c < 0 ? 2 : 3, attrs), 13, {}, {false, true, const_c}};
              if ((ta + tb + c) % 3 == 0) p.node.fused = {fused("Relu")};
              if (ta == 1 && tb == 0) p.constant[1] = false;  // runtime B too
              p.inputs = {testing::random_tensor(rng, ta ? Shape{K, M} : Shape{M, K}),
                          testing::random_tensor(rng, tb ? Shape{N, K} : Shape{K, N})};
              if (c >= 0) p.inputs.push_back(testing::random_tensor(rng, c_shapes[c]));
              expect_matches(
                  p, rng,
                  fmt::format("transA {} transB {} alpha {} beta {} C {} const_c {}", ta, tb, alpha,
                              beta, c < 0 ? "none" : shape_str(c_shapes[c]), const_c));
              ++n;
            }
  EXPECT_EQ(n, 240);
}

TEST(OnednnGemm, LinearLayers) {
  std::mt19937 rng(14);
  for (auto [m, k, nn] : {std::tuple{1, 784, 128}, {64, 784, 256}, {3, 128, 10}, {17, 33, 65}}) {
    Problem p{testing::make_node("Gemm", 3, {{"transB", Attribute::of_int(1)}}),
              13,
              {},
              {false, true, true}};
    p.node.fused = {fused("Relu")};
    p.inputs = {testing::random_tensor(rng, {m, k}), testing::random_tensor(rng, {nn, k}),
                testing::random_tensor(rng, {nn})};
    expect_matches(p, rng, fmt::format("linear {}x{}x{}", m, k, nn));
  }
}

TEST(OnednnMatMul, RejectsWithReason) {
  ir::Node n = testing::make_node("MatMul", 2);
  std::vector<TensorType> in{{DType::I64, {2, 3}}, {DType::I64, {3, 4}}};
  std::vector<TensorType> out{{DType::I64, {2, 4}}};
  std::vector<const Tensor*> consts{nullptr, nullptr};
  std::string why;
  EXPECT_EQ(make_onednn_matmul(KernelInit{n, 13, in, out, consts, 1}, why), nullptr);
  EXPECT_EQ(why, "input 0 dtype i64 (only f32)");

  std::vector<TensorType> bad{{DType::F32, {2, 3, 5}}, {DType::F32, {4, 5, 2}}};
  std::vector<TensorType> bad_out{{DType::F32, {4, 3, 2}}};
  why.clear();
  EXPECT_EQ(make_onednn_matmul(KernelInit{n, 13, bad, bad_out, consts, 1}, why), nullptr);
  EXPECT_EQ(why, "batch dims not broadcastable");

  ir::Node g = testing::make_node("Gemm", 3);
  std::vector<TensorType> gin{{DType::F32, {2, 3}}, {DType::F32, {3, 4}}, {DType::F32, {3, 4}}};
  std::vector<TensorType> gout{{DType::F32, {2, 4}}};
  std::vector<const Tensor*> gconsts{nullptr, nullptr, nullptr};
  why.clear();
  EXPECT_EQ(make_onednn_gemm(KernelInit{g, 13, gin, gout, gconsts, 1}, why), nullptr);
  EXPECT_EQ(why, "C shape [3, 4] not broadcastable to [2, 4]");
}

}  // namespace
}  // namespace qbench::kernels::onednn
