// The oneDNN int8 matmuls (QLinearMatMul, qbench.QGemm, MatMulInteger,
// qbench.MatMulIntegerToFloat) against their reference kernels over random shapes with fixed
// seeds: within 1 LSB (exact for MatMulInteger, float tolerance for the float output).
#include <fmt/format.h>

#include <cmath>

#include "kernels/ref/qbench_ops.h"
#include "qtest_util.h"

namespace qbench {
namespace {

using kernels::onednn::testing::Problem;

Problem make_qmatmul(std::mt19937& rng, const std::string& op, Shape a_shape, int64_t n, DType at,
                     DType yt, bool per_column, bool relu) {
  Problem p;
  const int64_t k = a_shape.back();
  p.node = kernels::onednn::testing::make_node(op, op == "QGemm" ? 9 : 8);
  const bool u8 = at == DType::U8;
  const float as = 0.03f;
  std::vector<float> bs(per_column ? n : 1);
  std::uniform_real_distribution<float> sd(0.002f, 0.01f);
  float mean = 0;
  for (float& s : bs) mean += (s = sd(rng)) / bs.size();
  const float ys = as * mean * std::sqrt(float(k)) * 74.f * 73.f / 40.f;
  p.inputs = {test::random_ints(rng, at, a_shape, u8 ? 0 : -128, u8 ? 255 : 127),
              Tensor::scalar(as),
              test::zero_point(at, u8 ? 129 : -2),
              test::random_ints(rng, DType::I8, {k, n}, -127, 127),
              bs.size() == 1 ? Tensor::scalar(bs[0]) : Tensor::from_vector<float>({n}, bs),
              Tensor::scalar<int8_t>(0),
              Tensor::scalar(ys),
              test::zero_point(yt, yt == DType::U8 ? 125 : 4)};
  if (op == "QGemm") {
    p.inputs.push_back(test::random_ints(rng, DType::I32, {n}, -int(k) * 3000, int(k) * 3000));
    p.node.domain = kernels::ref::kQbenchDomain;
  }
  if (relu) {
    ir::FusedOp f;
    f.op_type = "Relu";
    p.node.fused.push_back(f);
    p.node.domain = kernels::ref::kQbenchDomain;
  }
  p.constant.assign(p.inputs.size(), true);
  p.constant[0] = false;
  return p;
}

TEST(OnednnQMatMul, MatchesReferenceWithin1Lsb) {
  std::mt19937 rng(99);
  const std::vector<std::pair<Shape, int64_t>> shapes = {
      {{1, 64}, 32}, {{4, 100}, 10}, {{2, 3, 48}, 24}, {{1, 2048}, 100}, {{7, 33}, 65}};
  int cases = 0;
  for (const char* op : {"QLinearMatMul", "QGemm"})
    for (DType at : {DType::U8, DType::I8})
      for (DType yt : {DType::U8, DType::I8})
        for (size_t s = 0; s < shapes.size(); ++s) {
          const bool per_column = s % 2 == 0, relu = s % 3 == 1;
          if (std::string(op) == "QGemm" && shapes[s].first.size() != 2) continue;
          std::string what =
              fmt::format("{} A{} N={} a={} y={} {} {}", op, shape_str(shapes[s].first),
                          shapes[s].second, dtype_name(at), dtype_name(yt),
                          per_column ? "per-column" : "per-tensor", relu ? "relu" : "");
          test::expect_int_kernel_matches(
              make_qmatmul(rng, op, shapes[s].first, shapes[s].second, at, yt, per_column, relu),
              what);
          cases++;
        }
  EXPECT_EQ(cases, 36);
}

// MatMulInteger with the A zero point a runtime input (as DynamicQuantizeLinear produces it):
// the int32 result is exact.
TEST(OnednnQMatMul, MatMulIntegerExact) {
  std::mt19937 rng(5);
  for (bool runtime_zp : {false, true})
    for (DType at : {DType::U8, DType::I8}) {
      Problem p;
      p.node = kernels::onednn::testing::make_node("MatMulInteger", 3);
      p.inputs = {test::random_ints(rng, at, {6, 70}, at == DType::U8 ? 0 : -128, 127),
                  test::random_ints(rng, DType::I8, {70, 18}, -128, 127),
                  test::zero_point(at, at == DType::U8 ? 77 : -9)};
      p.constant = {false, true, !runtime_zp};
      std::string why;
      std::vector<kernels::TensorType> types;
      auto k = p.make(why, types);
      ASSERT_TRUE(k) << why;
      Tensor got(DType::I32, types[0].shape);
      std::vector<Tensor*> outs{&got};
      kernels::ExecContext ctx;
      std::vector<const Tensor*> in = p.input_ptrs();
      k->run(in, outs, ctx);
      Tensor want = kernels::run_reference(p.node, p.opset, in)[0];
      EXPECT_EQ(test::lsb_diff(got, want).max, 0) << dtype_name(at) << " runtime zp " << runtime_zp;
      // A second run with another zero point value: the runtime one must be re-read.
      if (runtime_zp) {
        p.inputs[2] = test::zero_point(at, 5);
        in = p.input_ptrs();
        k->run(in, outs, ctx);
        want = kernels::run_reference(p.node, p.opset, in)[0];
        EXPECT_EQ(test::lsb_diff(got, want).max, 0);
      }
    }
}

// Attention's products: A [.., M, K] times a runtime, batched B [.., K, N] (s8, as the quantizer
// makes an activation B), batch dims broadcast as in numpy.
TEST(OnednnQMatMul, BatchedRuntimeBMatchesReferenceWithin1Lsb) {
  std::mt19937 rng(17);
  const std::vector<std::pair<Shape, Shape>> shapes = {{{1, 4, 50, 16}, {1, 4, 16, 50}},
                                                       {{2, 3, 7, 9}, {2, 3, 9, 5}},
                                                       {{3, 6, 8}, {1, 8, 4}},
                                                       {{2, 1, 5, 12}, {1, 3, 12, 6}}};
  for (const auto& [a, b] : shapes)
    for (DType at : {DType::U8, DType::I8}) {
      Problem p = make_qmatmul(rng, "QLinearMatMul", a, b.back(), at, DType::U8, false, false);
      p.inputs[3] = test::random_ints(rng, DType::I8, b, -127, 127);
      p.constant[3] = false;
      test::expect_int_kernel_matches(
          p, fmt::format("A{} B{} a={}", shape_str(a), shape_str(b), dtype_name(at)));
    }
}

// qbench.MatMulIntegerToFloat: ONNX Runtime's input order A, B, a_scale, b_scale, a_zp, b_zp,
// bias; float output with any fused activation; A's scale and zero point constant (static
// quantization) or runtime inputs (DynamicQuantizeLinear's outputs), re-read on every run.
TEST(OnednnQMatMul, IntegerToFloatMatchesReference) {
  std::mt19937 rng(23);
  struct Case {
    Shape a, b;
    bool const_b, per_column, bias;
    const char* act;
  };
  const std::vector<Case> cases = {{{1, 50, 64}, {64, 192}, true, true, true, ""},
                                   {{4, 100}, {100, 10}, true, false, true, "Relu"},
                                   {{7, 33}, {33, 65}, true, true, false, "Gelu"},
                                   {{1, 4, 50, 16}, {1, 4, 16, 50}, false, false, false, ""},
                                   {{2, 3, 7, 9}, {1, 3, 9, 5}, false, false, true, ""}};
  for (const Case& c : cases)
    for (DType at : {DType::U8, DType::I8})
      for (bool runtime_a : {false, true}) {
        const int64_t n = c.b.back();
        Problem p;
        p.node = kernels::onednn::testing::make_node("MatMulIntegerToFloat", c.bias ? 7 : 6);
        p.node.domain = kernels::ref::kQbenchDomain;
        if (*c.act) {
          ir::FusedOp f;
          f.op_type = c.act;
          p.node.fused.push_back(f);
        }
        std::vector<float> bs(c.per_column ? n : 1);
        std::uniform_real_distribution<float> sd(0.002f, 0.01f);
        for (float& s : bs) s = sd(rng);
        const bool u8 = at == DType::U8;
        p.inputs = {test::random_ints(rng, at, c.a, u8 ? 0 : -128, u8 ? 255 : 127),
                    test::random_ints(rng, DType::I8, c.b, -127, 127),
                    Tensor::scalar(0.03f),
                    bs.size() == 1 ? Tensor::scalar(bs[0]) : Tensor::from_vector<float>({n}, bs),
                    test::zero_point(at, u8 ? 120 : -3),
                    Tensor::scalar<int8_t>(0)};
        if (c.bias) {
          std::vector<float> b(n);
          std::uniform_real_distribution<float> bd(-2.f, 2.f);
          for (float& v : b) v = bd(rng);
          p.inputs.push_back(Tensor::from_vector<float>({n}, b));
        }
        p.constant.assign(p.inputs.size(), true);
        p.constant[0] = false;
        p.constant[1] = c.const_b;
        p.constant[2] = p.constant[4] = !runtime_a;
        SCOPED_TRACE(fmt::format("A{} B{} a={} {}{}", shape_str(c.a), shape_str(c.b),
                                 dtype_name(at), c.act, runtime_a ? " runtime a_scale/a_zp" : ""));
        std::string why;
        std::vector<kernels::TensorType> types;
        auto k = p.make(why, types);
        ASSERT_TRUE(k) << "declined: " << why;
        ASSERT_EQ(types[0].dtype, DType::F32);
        Tensor got(DType::F32, types[0].shape);
        std::vector<Tensor*> outs{&got};
        kernels::ExecContext ctx;
        k->run(p.input_ptrs(), outs, ctx);
        Tensor want = kernels::run_reference(p.node, p.opset, p.input_ptrs())[0];
        EXPECT_LE(kernels::onednn::testing::relative_error(got, want), 1e-5);
        if (runtime_a) {  // a second batch with other quantization parameters
          p.inputs[2] = Tensor::scalar(0.011f);
          p.inputs[4] = test::zero_point(at, u8 ? 30 : 9);
          k->run(p.input_ptrs(), outs, ctx);
          want = kernels::run_reference(p.node, p.opset, p.input_ptrs())[0];
          EXPECT_LE(kernels::onednn::testing::relative_error(got, want), 1e-5) << "second run";
        }
      }
}

}  // namespace
}  // namespace qbench
