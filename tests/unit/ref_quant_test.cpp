// Quantization reference kernels on hand-computed cases that ONNX's backend data does not cover:
// ties rounding to even, saturation, int8 and int32 inputs, per-axis at other axes, per-column
// zero points, batched integer matmul and grouped integer convolution. (ONNX's own cases run in
// ref_cases_test.)
#include <gtest/gtest.h>

#include "kernels/kernel.h"

using namespace qbench;

namespace {

ir::Node node_of(const std::string& op, size_t inputs, size_t outputs = 1) {
  ir::Node n;
  n.name = "q";
  n.op_type = op;
  for (size_t i = 0; i < inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < outputs; ++i) n.outputs.push_back("out" + std::to_string(i));
  return n;
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

}  // namespace

TEST(RefQuant, QuantizeRoundsHalfToEvenAndSaturates) {
  // x / 0.5 = {0.5, 1.5, 2.5, -0.5, -1.5, 300, -300, 3.2} -> round even {0, 2, 2, -0, -2, ...}
  Tensor x =
      Tensor::from_vector<float>({8}, {0.25f, 0.75f, 1.25f, -0.25f, -0.75f, 150, -150, 1.6f});
  Tensor s = Tensor::scalar<float>(0.5f);
  Tensor zu = Tensor::scalar<uint8_t>(10);
  auto yu = kernels::run_reference(node_of("QuantizeLinear", 3), 13, {&x, &s, &zu});
  EXPECT_EQ(values<uint8_t>(yu[0]), (std::vector<uint8_t>{10, 12, 12, 10, 8, 255, 0, 13}));
  Tensor zi = Tensor::scalar<int8_t>(-3);
  auto yi = kernels::run_reference(node_of("QuantizeLinear", 3), 13, {&x, &s, &zi});
  EXPECT_EQ(values<int8_t>(yi[0]), (std::vector<int8_t>{-3, -1, -1, -3, -5, 127, -128, 0}));
  // Without a zero point the output is uint8 with zero point 0.
  auto y0 = kernels::run_reference(node_of("QuantizeLinear", 2), 10, {&x, &s});
  EXPECT_EQ(values<uint8_t>(y0[0]), (std::vector<uint8_t>{0, 2, 2, 0, 0, 255, 0, 3}));
}

TEST(RefQuant, PerAxisOnLastAxisAndOpset10Rejection) {
  Tensor x = Tensor::from_vector<float>({2, 3}, {1, 1, 1, -2, -2, -2});
  Tensor s = Tensor::from_vector<float>({3}, {1.0f, 0.5f, 0.25f});
  Tensor z = Tensor::from_vector<int8_t>({3}, {0, 1, -1});
  ir::Node n = node_of("QuantizeLinear", 3);
  n.attrs["axis"] = ir::Attribute::of_int(-1);
  auto y = kernels::run_reference(n, 13, {&x, &s, &z});
  EXPECT_EQ(values<int8_t>(y[0]), (std::vector<int8_t>{1, 3, 3, -2, -3, -9}));
  auto d = kernels::run_reference(node_of("DequantizeLinear", 3), 13, {&y[0], &s, &z});
  // per-axis DQ with the default axis 1 = the same last axis for a 2-D input.
  EXPECT_EQ(values<float>(d[0]), (std::vector<float>{1, 1, 1, -2, -2, -2}));
  EXPECT_THROW(kernels::run_reference(n, 10, {&x, &s, &z}), Error);
}

TEST(RefQuant, DequantizeInt32BiasAndInt8) {
  Tensor b = Tensor::from_vector<int32_t>({3}, {-1000, 0, 123456});
  Tensor s = Tensor::from_vector<float>({3}, {0.5f, 2.0f, 0.001f});
  ir::Node n = node_of("DequantizeLinear", 2);
  n.attrs["axis"] = ir::Attribute::of_int(0);
  auto y = kernels::run_reference(n, 13, {&b, &s});
  EXPECT_EQ(values<float>(y[0]), (std::vector<float>{-500.0f, 0.0f, 123456 * 0.001f}));
  Tensor z32 = Tensor::from_vector<int32_t>({3}, {0, 1, 0});
  EXPECT_THROW(kernels::run_reference(node_of("DequantizeLinear", 3), 13, {&b, &s, &z32}), Error);
  Tensor q = Tensor::from_vector<int8_t>({4}, {-128, -1, 0, 127});
  Tensor s1 = Tensor::scalar<float>(0.1f);
  Tensor z1 = Tensor::scalar<int8_t>(-1);
  auto y1 = kernels::run_reference(node_of("DequantizeLinear", 3), 10, {&q, &s1, &z1});
  EXPECT_EQ(values<float>(y1[0]), (std::vector<float>{-127 * 0.1f, 0.0f, 0.1f, 128 * 0.1f}));
}

TEST(RefQuant, DynamicQuantizeAllPositiveAndAllZero) {
  // min clamps to 0: scale = 2.55 / 255 = 0.01, zero point 0.
  Tensor x = Tensor::from_vector<float>({3}, {0.5f, 2.55f, 1.0f});
  auto y = kernels::run_reference(node_of("DynamicQuantizeLinear", 1, 3), 11, {&x});
  EXPECT_FLOAT_EQ(y[1].data<float>()[0], 2.55f / 255.0f);
  EXPECT_EQ(y[2].data<uint8_t>()[0], 0);
  EXPECT_EQ(values<uint8_t>(y[0]), (std::vector<uint8_t>{50, 255, 100}));
  Tensor z = Tensor::from_vector<float>({2}, {0.0f, 0.0f});
  auto y0 = kernels::run_reference(node_of("DynamicQuantizeLinear", 1, 3), 11, {&z});
  EXPECT_EQ(values<uint8_t>(y0[0]), (std::vector<uint8_t>{0, 0}));
  EXPECT_EQ(y0[1].data<float>()[0], 0.0f);
}

TEST(RefQuant, MatMulIntegerBatchedWithPerColumnZeroPoint) {
  // A [2, 1, 2] u8 (zp 1), B [2, 2] i8 with per-column zero points {0, 2}.
  Tensor a = Tensor::from_vector<uint8_t>({2, 1, 2}, {1, 3, 5, 2});
  Tensor b = Tensor::from_vector<int8_t>({2, 2}, {1, 3, -1, 4});
  Tensor az = Tensor::scalar<uint8_t>(1);
  Tensor bz = Tensor::from_vector<int8_t>({2}, {0, 2});
  auto y = kernels::run_reference(node_of("MatMulInteger", 4), 10, {&a, &b, &az, &bz});
  // (A - 1) = [[0, 2]], [[4, 1]]; (B - zp) = [[1, 1], [-1, 2]]
  // batch 0: [0*1 + 2*-1, 0*1 + 2*2] = [-2, 4]; batch 1: [4 - 1, 4 + 2] = [3, 6]
  EXPECT_EQ(shape_str(y[0].shape()), "[2, 1, 2]");
  EXPECT_EQ(values<int32_t>(y[0]), (std::vector<int32_t>{-2, 4, 3, 6}));
}

TEST(RefQuant, ConvIntegerGroupsPaddingAndPerChannelZeroPoint) {
  // Two groups of one channel, 1x2 kernels, pads 1 on the width: padding must act as x_zp.
  Tensor x = Tensor::from_vector<uint8_t>({1, 2, 1, 2}, {3, 4, 10, 20});
  Tensor w = Tensor::from_vector<int8_t>({2, 1, 1, 2}, {1, 2, 3, 5});
  Tensor xz = Tensor::scalar<uint8_t>(2);
  Tensor wz = Tensor::from_vector<int8_t>({2}, {0, 1});
  ir::Node n = node_of("ConvInteger", 4);
  n.attrs["group"] = ir::Attribute::of_int(2);
  n.attrs["pads"] = ir::Attribute::of_ints({0, 1, 0, 1});
  auto y = kernels::run_reference(n, 10, {&x, &w, &xz, &wz});
  // group 0: x-2 = [0 | 1, 2 | 0], w = [1, 2]: [0*1+1*2, 1*1+2*2, 2*1+0*2] = [2, 5, 2]
  // group 1: x-2 = [0 | 8, 18 | 0], w-1 = [2, 4]: [32, 16+72, 36] = [32, 88, 36]
  EXPECT_EQ(shape_str(y[0].shape()), "[1, 2, 1, 3]");
  EXPECT_EQ(values<int32_t>(y[0]), (std::vector<int32_t>{2, 5, 2, 32, 88, 36}));
}

TEST(RefQuant, QLinearMatMulPerColumnScale) {
  // a = [[2, 4]] (zp 0, scale 0.5) -> real [1, 2]; b i8 [[1, 2], [3, 4]] scales {1, 0.25}.
  Tensor a = Tensor::from_vector<uint8_t>({1, 2}, {2, 4});
  Tensor as = Tensor::scalar<float>(0.5f);
  Tensor az = Tensor::scalar<uint8_t>(0);
  Tensor b = Tensor::from_vector<int8_t>({2, 2}, {1, 2, 3, 4});
  Tensor bs = Tensor::from_vector<float>({2}, {1.0f, 0.25f});
  Tensor bz = Tensor::from_vector<int8_t>({2}, {0, 0});
  Tensor ys = Tensor::scalar<float>(0.5f);
  Tensor yz = Tensor::scalar<uint8_t>(100);
  auto y = kernels::run_reference(node_of("QLinearMatMul", 8), 10,
                                  {&a, &as, &az, &b, &bs, &bz, &ys, &yz});
  // real = [1*1 + 2*3, (1*2 + 2*4) * 0.25] = [7, 2.5] -> /0.5 = [14, 5] + 100
  EXPECT_EQ(values<uint8_t>(y[0]), (std::vector<uint8_t>{114, 105}));
}
