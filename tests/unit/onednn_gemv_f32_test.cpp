// qbench's f32 matrix-vector kernel (gemv_f32.h) against a product summed in double here: one
// and two rows, an odd k (the unrolled loop's last step), n not a multiple of the 64-column
// panel, transposed weights and a bias; and where the registry takes it for MatMul and Gemm (one
// or two rows times large constant weights with at most a bias, on AVX-512) and where not,
// with every taken case checked against the reference kernels.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/onednn/context.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/onednn/factories.h"
#include "kernels/onednn/gemv_f32.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

TEST(GemvF32, MatchesAProductInDouble) {
  if (!GemvF32::applies(1, 1024, 1024))
    GTEST_SKIP() << "no AVX-512 here (or oneDNN capped below it, " << effective_isa()
                 << "): the kernel cannot run";
  struct Case {
    int64_t rows, k, n;
    bool transposed, bias;
  };
  const Case cases[] = {
      {1, 1280, 1000, true, true},   // MobileNetV2's classifier
      {2, 1031, 300, false, false},  // odd k, a partial last panel
      {1, 257, 1100, false, true},   // odd k with one row (two steps at a time)
      {2, 2048, 513, true, true},    // one column in the last panel
  };
  std::mt19937 rng(20261206);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("rows {} k {} n {}{}{}", c.rows, c.k, c.n,
                             c.transposed ? " transposed" : "", c.bias ? " bias" : ""));
    ASSERT_TRUE(GemvF32::applies(c.rows, c.k, c.n));
    std::vector<float> x(size_t(c.rows * c.k)), w(size_t(c.k * c.n)), bias(size_t(c.n));
    for (float& v : x) v = d(rng);
    for (float& v : w) v = d(rng);
    for (float& v : bias) v = d(rng);
    // Element (i, j) at w[i * ks + j * ns].
    const int64_t ks = c.transposed ? 1 : c.n, ns = c.transposed ? c.k : 1;
    const GemvF32 gemv(c.k, c.n, w.data(), ks, ns);
    std::vector<float> y(size_t(c.rows * c.n), NAN);
    gemv.run(x.data(), c.rows, c.bias ? bias.data() : nullptr, y.data());
    for (int64_t r = 0; r < c.rows; ++r)
      for (int64_t j = 0; j < c.n; ++j) {
        double want = c.bias ? bias[size_t(j)] : 0.0, magnitude = std::fabs(want);
        for (int64_t i = 0; i < c.k; ++i) {
          const double p = double(x[size_t(r * c.k + i)]) * double(w[size_t(i * ks + j * ns)]);
          want += p;
          magnitude += std::fabs(p);
        }
        // f32 sums of k products: within a few k x 2^-24 of the products' magnitude, far less
        // in practice; 1e-5 of it catches any wrong or missing product.
        ASSERT_NEAR(y[size_t(r * c.n + j)], want, 1e-5 * magnitude) << "row " << r << " col " << j;
      }
  }
}

// The implementation the registry gives the problem, after checking it against the reference.
std::string impl_of(const Problem& p, std::mt19937& rng) {
  std::string why_not;
  std::vector<TensorType> types;
  auto kernel = p.make(why_not, types);
  if (!kernel) return "rejected: " + why_not;
  auto o = testing::check_against_reference(p, rng);
  EXPECT_TRUE(o.why_not.empty()) << o.why_not;
  EXPECT_LT(o.error, 1e-5) << kernel->impl();
  return kernel->impl();
}

Problem linear(std::mt19937& rng, int64_t rows, int64_t k, int64_t n,
               std::map<std::string, Attribute> attrs = {{"transB", Attribute::of_int(1)}}) {
  Problem p{testing::make_node("Gemm", 3, attrs), 13, {}, {false, true, true}};
  const bool tb = attrs.count("transB") && attrs.at("transB").i != 0;
  p.inputs = {testing::random_tensor(rng, {rows, k}),
              testing::random_tensor(rng, tb ? Shape{n, k} : Shape{k, n}),
              testing::random_tensor(rng, {n})};
  return p;
}

TEST(GemvF32, TakenForOneOrTwoRowsOfLargeConstantWeights) {
  const bool here = GemvF32::applies(1, 1280, 1000);
  const std::string gemv = "qbench_gemv_f32:avx512";
  std::mt19937 rng(6);
  // Taken (where the CPU has AVX-512 and oneDNN may use it): nn.Linear at batch 1 and 2, a
  // scaled bias (beta), no C, plain weights, and MatMul with its batch dims folded into one row.
  auto taken = [&](const char* what, const Problem& p) {
    EXPECT_EQ(impl_of(p, rng) == gemv, here) << what << (here ? " not taken" : " taken");
  };
  taken("linear b1", linear(rng, 1, 1280, 1000));
  taken("linear b2", linear(rng, 2, 1280, 1000));
  taken("beta -2", linear(rng, 1, 1024, 512,
                          {{"transB", Attribute::of_int(1)}, {"beta", Attribute::of_float(-2.f)}}));
  taken("plain B", linear(rng, 1, 1024, 520, {}));
  Problem no_c = linear(rng, 1, 1024, 300);
  no_c.node = testing::make_node("Gemm", 2, {{"transB", Attribute::of_int(1)}});
  no_c.inputs.pop_back();
  taken("no C", no_c);
  Problem mm{testing::make_node("MatMul", 2), 13, {}, {false, true}};
  mm.inputs = {testing::random_tensor(rng, {1, 1, 1024}), testing::random_tensor(rng, {1024, 300})};
  taken("MatMul", mm);

  // Not taken anywhere: three rows, small weights, runtime weights, a fused Relu, alpha.
  auto not_taken = [&](const char* what, const Problem& p) {
    EXPECT_NE(impl_of(p, rng), gemv) << what;
  };
  not_taken("three rows", linear(rng, 3, 1280, 1000));
  not_taken("small", linear(rng, 1, 128, 10));
  Problem runtime_b = linear(rng, 1, 1280, 1000);
  runtime_b.constant[1] = false;
  not_taken("runtime B", runtime_b);
  Problem relu = linear(rng, 1, 1280, 1000);
  relu.node.fused.push_back(ir::FusedOp{});
  relu.node.fused.back().op_type = "Relu";
  not_taken("Relu", relu);
  not_taken("alpha",
            linear(rng, 1, 1280, 1000,
                   {{"transB", Attribute::of_int(1)}, {"alpha", Attribute::of_float(0.5f)}}));

  // Switched off: oneDNN's matmul.
  set_gemv_f32(false);
  EXPECT_NE(impl_of(linear(rng, 1, 1280, 1000), rng), gemv);
  set_gemv_f32(true);
}

// The packed weights are made once per engine: a second kernel on the same constant finds them
// (the batch-1 plans of a batch split into images one at a time).
TEST(GemvF32, KernelsOfOneEngineShareThePackedWeights) {
  if (!GemvF32::applies(1, 1280, 1000))
    GTEST_SKIP() << "no AVX-512 here (or oneDNN capped below it, " << effective_isa()
                 << "): the kernel is not taken";
  std::mt19937 rng(7);
  const Problem p = linear(rng, 1, 1280, 1000);
  const std::vector<TensorType> in = p.input_types(), out = p.make_types();
  const std::vector<const Tensor*> consts = p.constants();
  PreparedConstants prepared;
  KernelInit init{p.node, 13, in, out, consts, 1, &prepared};
  std::string why;
  auto first = make_onednn_gemm(init, why), second = make_onednn_gemm(init, why);
  ASSERT_TRUE(first && second) << why;
  EXPECT_EQ(second->impl(), "qbench_gemv_f32:avx512");
  EXPECT_EQ(prepared.made(), 1);
  EXPECT_EQ(prepared.shared(), 1);
  // Both compute the product.
  Tensor y1(DType::F32, out[0].shape), y2(DType::F32, out[0].shape);
  std::vector<const Tensor*> ins = p.input_ptrs();
  std::vector<Tensor*> o1{&y1}, o2{&y2};
  ExecContext ctx;
  first->run(ins, o1, ctx);
  second->run(ins, o2, ctx);
  const std::vector<Tensor> want = run_reference(p.node, 13, ins);
  EXPECT_LT(testing::relative_error(y1, want[0]), 1e-5);
  EXPECT_LT(testing::relative_error(y2, want[0]), 1e-5);
}

}  // namespace
}  // namespace qbench::kernels::onednn
