// Hand-computed reference-kernel cases, fused activations, the registry table, and the errors
// bad input must raise (each naming the node). Larger numeric cases live in ref_cases_test.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "kernels/kernel.h"

namespace qbench {
namespace {

using kernels::run_reference;

ir::Node make_node(const std::string& op, size_t n_in, size_t n_out = 1) {
  ir::Node n;
  n.op_type = op;
  n.name = "n_";
  n.name += op;
  for (size_t i = 0; i < n_in; ++i) n.inputs.push_back(fmt::format("x{}", i));
  for (size_t i = 0; i < n_out; ++i) n.outputs.push_back(fmt::format("y{}", i));
  return n;
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

// Runs the node and expects a qbench::Error whose message names the node and contains `part`.
void expect_error(const ir::Node& n, int64_t opset, const std::vector<const Tensor*>& ins,
                  const std::string& part) {
  try {
    run_reference(n, opset, ins);
    ADD_FAILURE() << n.op_type << ": expected an Error mentioning '" << part << "'";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(n.describe()), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
}

TEST(RefRegistry, EveryOpIsFoundOnceAndComplete) {
  std::set<std::string> seen;
  for (const auto& d : kernels::all_ops()) {
    EXPECT_TRUE(seen.insert(d.op_type).second) << "duplicate " << d.op_type;
    EXPECT_NE(d.infer, nullptr) << d.op_type;
    EXPECT_NE(d.reference, nullptr) << d.op_type;
    EXPECT_EQ(kernels::find_op("", d.op_type), &d);
  }
  for (const char* op : {"Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "Softmax",
                         "LayerNormalization", "Concat", "Reshape", "Slice", "Pad", "Cast"})
    EXPECT_TRUE(seen.count(op)) << op;
  EXPECT_EQ(kernels::find_op("com.microsoft", "Conv"), nullptr);
}

TEST(RefConv, HandComputed3x3WithPadAndBias) {
  // 1x1x3x3 input 1..9, 2x2 kernel of ones, pads 1 on the top-left only, bias 10.
  Tensor x = Tensor::from_vector<float>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor w = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 1, 1, 1});
  Tensor b = Tensor::from_vector<float>({1}, {10});
  ir::Node n = make_node("Conv", 3);
  n.attrs["pads"] = ir::Attribute::of_ints({1, 1, 0, 0});
  n.attrs["strides"] = ir::Attribute::of_ints({2, 2});
  auto y = run_reference(n, 13, {&x, &w, &b});
  ASSERT_EQ(y[0].shape(), (Shape{1, 1, 2, 2}));
  // Windows: {1}, {2,3}, {4,7}, {5,6,8,9}.
  EXPECT_EQ(values<float>(y[0]), (std::vector<float>{11, 15, 21, 38}));
}

TEST(RefConv, FusedReluAndClipApplyInOrder) {
  Tensor x = Tensor::from_vector<float>({1, 1, 1, 4}, {-2, -0.5f, 0.5f, 8});
  Tensor w = Tensor::from_vector<float>({1, 1, 1, 1}, {2});
  ir::Node n = make_node("Conv", 2);
  ir::FusedOp lrelu{"LeakyRelu", "lr", {{"alpha", ir::Attribute::of_float(0.5f)}}};
  ir::FusedOp clip{"Clip", "c", {}};
  clip.clip_min = -1.5f;
  clip.clip_max = 6.0f;
  n.fused = {lrelu, clip};
  auto y = run_reference(n, 13, {&x, &w});
  // conv: -4 -1 1 16 -> leaky(0.5): -2 -0.5 1 16 -> clip[-1.5, 6]: -1.5 -0.5 1 6.
  EXPECT_EQ(values<float>(y[0]), (std::vector<float>{-1.5f, -0.5f, 1, 6}));
}

TEST(RefFused, EachActivationMatchesItsFormula) {
  const std::vector<float> in{-3, -1, 0, 0.5f, 2, 4};
  struct C {
    ir::FusedOp op;
    std::function<double(double)> f;
  };
  std::vector<C> cases{
      {{"Relu", "a", {}}, [](double v) { return v < 0 ? 0 : v; }},
      {{"Sigmoid", "a", {}}, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {{"Tanh", "a", {}}, [](double v) { return std::tanh(v); }},
      {{"HardSigmoid", "a", {{"alpha", ir::Attribute::of_float(0.25f)}}},
       [](double v) { return std::clamp(0.25 * v + 0.5, 0.0, 1.0); }},
      {{"HardSwish", "a", {}}, [](double v) { return v * std::clamp(v / 6 + 0.5, 0.0, 1.0); }},
      {{"Gelu", "a", {}}, [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }},
      {{"Gelu", "a", {{"approximate", ir::Attribute::of_string("tanh")}}},
       [](double v) {
         return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
       }},
  };
  for (const C& c : cases) {
    ir::Node n = make_node("MatMul", 2);
    n.fused = {c.op};
    Tensor t = Tensor::from_vector<float>({6}, in);
    kernels::apply_fused_activations(n, t);
    for (size_t i = 0; i < in.size(); ++i)
      EXPECT_NEAR(t.data<float>()[i], c.f(in[i]), 1e-6) << c.op.op_type << " at " << in[i];
  }
  ir::Node n = make_node("MatMul", 2);
  n.fused = {{"Softsign", "s", {}}};
  Tensor t = Tensor::from_vector<float>({1}, {1});
  EXPECT_THROW(kernels::apply_fused_activations(n, t), Error);
}

TEST(RefGemm, FusedAndBroadcastBias) {
  Tensor a = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  Tensor b = Tensor::from_vector<float>({2, 2}, {1, 0, 0, -1});
  Tensor c = Tensor::from_vector<float>({2}, {1, 1});
  ir::Node n = make_node("Gemm", 3);
  n.fused = {{"Relu", "r", {}}};
  auto y = run_reference(n, 13, {&a, &b, &c});
  // A*B = [[1,-2],[3,-4]] + 1 = [[2,-1],[4,-3]] -> relu.
  EXPECT_EQ(values<float>(y[0]), (std::vector<float>{2, 0, 4, 0}));
}

TEST(RefAdd, FusedReluAndIntegerDivTruncates) {
  Tensor a = Tensor::from_vector<float>({3}, {-1, 0.5f, 2});
  Tensor b = Tensor::scalar(0.25f);
  ir::Node add = make_node("Add", 2);
  add.fused = {{"Relu", "r", {}}};
  EXPECT_EQ(values<float>(run_reference(add, 14, {&a, &b})[0]),
            (std::vector<float>{0, 0.75f, 2.25f}));
  Tensor p = Tensor::from_vector<int64_t>({4}, {7, -7, 7, -7});
  Tensor q = Tensor::from_vector<int64_t>({4}, {2, 2, -2, -2});
  EXPECT_EQ(values<int64_t>(run_reference(make_node("Div", 2), 14, {&p, &q})[0]),
            (std::vector<int64_t>{3, -3, -3, 3}));
}

TEST(RefShapeOps, ScalarsAndEmptyTensors) {
  Tensor s = Tensor::scalar(3.0f);
  auto shp = run_reference(make_node("Shape", 1), 13, {&s});
  EXPECT_EQ(shp[0].shape(), (Shape{0}));
  Tensor e(DType::F32, {2, 0, 3});
  Tensor target = Tensor::from_vector<int64_t>({2}, {0, -1});
  // 0 copies dim 0 (2); -1 takes the remaining 0 elements.
  EXPECT_EQ(run_reference(make_node("Reshape", 2), 13, {&e, &target})[0].shape(), (Shape{2, 0}));
  Tensor target2 = Tensor::from_vector<int64_t>({3}, {3, 0, 2});
  ir::Node rz = make_node("Reshape", 2);
  rz.attrs["allowzero"] = ir::Attribute::of_int(1);
  EXPECT_EQ(run_reference(rz, 14, {&e, &target2})[0].shape(), (Shape{3, 0, 2}));
  ir::Node cat = make_node("Concat", 2);
  cat.attrs["axis"] = ir::Attribute::of_int(1);
  Tensor f = Tensor::from_vector<float>({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  auto y = run_reference(cat, 13, {&e, &f});
  EXPECT_EQ(y[0].shape(), (Shape{2, 1, 3}));
  EXPECT_TRUE(y[0].same_as(f));
  Tensor start = Tensor::scalar<int64_t>(5), limit = Tensor::scalar<int64_t>(5),
         delta = Tensor::scalar<int64_t>(1);
  EXPECT_EQ(run_reference(make_node("Range", 3), 11, {&start, &limit, &delta})[0].shape(),
            (Shape{0}));
  Tensor sq = Tensor::from_vector<float>({1}, {4});
  EXPECT_EQ(run_reference(make_node("Squeeze", 1), 13, {&sq})[0].shape(), Shape{});
}

TEST(RefShapeOps, ReshapeZeroAndMinusOne) {
  Tensor x(DType::F32, {2, 3, 4});
  Tensor t = Tensor::from_vector<int64_t>({3}, {0, -1, 2});
  EXPECT_EQ(run_reference(make_node("Reshape", 2), 13, {&x, &t})[0].shape(), (Shape{2, 6, 2}));
}

TEST(RefErrors, NameTheNodeAndWhatWasWrong) {
  Tensor x4(DType::F32, {1, 2, 5, 5});
  Tensor w3(DType::F32, {2, 2, 3});
  expect_error(make_node("Conv", 2), 13, {&x4, &w3}, "weight W must have rank 4");
  Tensor wg(DType::F32, {4, 3, 3, 3});
  expect_error(make_node("Conv", 2), 13, {&x4, &wg}, "group 1");

  Tensor a(DType::F32, {2, 3}), b(DType::F32, {4});
  expect_error(make_node("Add", 2), 13, {&a, &b}, "cannot be broadcast");
  Tensor ai(DType::I64, {2, 3});
  expect_error(make_node("Mul", 2), 13, {&a, &ai}, "must match");
  Tensor bools(DType::Bool, {2});
  expect_error(make_node("Sub", 2), 13, {&bools, &bools}, "bool");
  expect_error(make_node("Sigmoid", 1), 13, {&ai}, "i64");

  Tensor shape = Tensor::from_vector<int64_t>({2}, {4, 2});
  expect_error(make_node("Reshape", 2), 13, {&a, &shape}, "6 elements");

  Tensor data = Tensor::from_vector<float>({3}, {1, 2, 3});
  Tensor idx = Tensor::from_vector<int64_t>({1}, {-4});
  expect_error(make_node("Gather", 2), 13, {&data, &idx}, "out of range");

  // MaxUnpool with an index beyond the unpooled shape (2x2 here).
  ir::Node unpool = make_node("MaxUnpool", 2);
  unpool.attrs["kernel_shape"] = ir::Attribute::of_ints({2, 2});
  unpool.attrs["strides"] = ir::Attribute::of_ints({2, 2});
  Tensor pooled = Tensor::from_vector<float>({1, 1, 1, 1}, {5});
  Tensor where = Tensor::from_vector<int64_t>({1, 1, 1, 1}, {9});
  expect_error(unpool, 11, {&pooled, &where}, "outside the unpooled shape");

  ir::Node cat = make_node("Concat", 2);
  cat.attrs["axis"] = ir::Attribute::of_int(0);
  Tensor c2(DType::F32, {2, 4});
  expect_error(cat, 13, {&a, &c2}, "does not match");

  ir::Node sp = make_node("Split", 2, 2);
  sp.attrs["axis"] = ir::Attribute::of_int(1);
  Tensor sizes = Tensor::from_vector<int64_t>({2}, {1, 1});
  expect_error(sp, 13, {&a, &sizes}, "summing to axis size 3");

  ir::Node cast = make_node("Cast", 1);
  cast.attrs["to"] = ir::Attribute::of_int(8);  // string
  expect_error(cast, 13, {&a}, "not supported");

  ir::Node sq = make_node("Squeeze", 1);
  sq.attrs["axes"] = ir::Attribute::of_ints({1});
  expect_error(sq, 11, {&a}, "not 1");

  ir::Node us = make_node("Unsqueeze", 1);
  expect_error(us, 13, {&a}, "axes are required");

  ir::Node sm = make_node("Softmax", 1);
  sm.attrs["axis"] = ir::Attribute::of_int(2);
  expect_error(sm, 13, {&a}, "out of range");

  Tensor m1(DType::F32, {2, 3}), m2(DType::F32, {4, 5});
  expect_error(make_node("MatMul", 2), 13, {&m1, &m2}, "inner dimensions");
  expect_error(make_node("Gemm", 2), 13, {&m1, &m2}, "inner dimensions");

  ir::Node ln = make_node("LayerNormalization", 2);
  Tensor scale(DType::F32, {4});
  expect_error(ln, 17, {&a, &scale}, "Scale");

  ir::Node pad = make_node("Pad", 2);
  Tensor pads = Tensor::from_vector<int64_t>({2}, {1, 1});
  expect_error(pad, 13, {&a, &pads}, "expected 4 pads");
}

TEST(RefErrors, DataDependentShapeNeedsAConstant) {
  ir::Node n = make_node("Reshape", 2);
  kernels::InferContext ctx{
      n, 13, {{DType::F32, {2, 3}}, {DType::I64, {2}}}, {nullptr, nullptr}, {}};
  try {
    kernels::find_op("", "Reshape")->infer(ctx);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Reshape node 'n_Reshape'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos);
  }
}

TEST(RefOpsets, ClipSoftmaxSqueezeAcrossOpsets) {
  Tensor x = Tensor::from_vector<float>({4}, {-5, -0.5f, 0.5f, 5});
  ir::Node clip6 = make_node("Clip", 1);
  clip6.attrs["min"] = ir::Attribute::of_float(-1);
  clip6.attrs["max"] = ir::Attribute::of_float(1);
  EXPECT_EQ(values<float>(run_reference(clip6, 6, {&x})[0]),
            (std::vector<float>{-1, -0.5f, 0.5f, 1}));
  // At opset 11 the attributes are ignored and absent inputs leave values unbounded.
  EXPECT_EQ(values<float>(run_reference(clip6, 11, {&x})[0]), values<float>(x));

  // Softmax over [[0, ln 3], [0, 0]] as a 1x2x2 tensor, axis 1: opset 11 normalizes all four
  // values together, opset 13 each column separately.
  Tensor s = Tensor::from_vector<float>({1, 2, 2}, {0, std::log(3.0f), 0, 0});
  ir::Node sm = make_node("Softmax", 1);
  sm.attrs["axis"] = ir::Attribute::of_int(1);
  auto y11 = values<float>(run_reference(sm, 11, {&s})[0]);
  auto y13 = values<float>(run_reference(sm, 13, {&s})[0]);
  const std::vector<float> w11{1 / 6.0f, 3 / 6.0f, 1 / 6.0f, 1 / 6.0f};
  const std::vector<float> w13{0.5f, 0.75f, 0.5f, 0.25f};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(y11[i], w11[i], 1e-6);
    EXPECT_NEAR(y13[i], w13[i], 1e-6);
  }
}

TEST(RefDropout, IdentityWithAllTrueMask) {
  Tensor x = Tensor::from_vector<float>({3}, {1, 2, 3});
  auto y = run_reference(make_node("Dropout", 1, 2), 13, {&x});
  EXPECT_TRUE(y[0].same_as(x));
  EXPECT_EQ(values<bool>(y[1]), (std::vector<bool>{true, true, true}));
}

// Sampling positions come from data (a grid, rois): NaN, 1e30 or a reversed roi must neither
// overflow a conversion to an index (UBSan aborts on it in the sanitizer stage) nor ask for 10^29
// samples; a position far outside samples the padding.
TEST(RefSampling, HostileCoordinatesSamplePaddingOrFailByName) {
  const float nan = std::nanf("");
  Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  // (0, 0) is the image's centre; then NaN, far right, far up-left, and a huge reflection.
  Tensor grid = Tensor::from_vector<float>({1, 1, 5, 2},
                                           {0, 0, nan, 0, 1e30f, 0, -1e30f, -1e30f, 3e38f, 1e20f});
  for (const char* mode : {"bilinear", "nearest", "bicubic"})
    for (const char* pad : {"zeros", "border", "reflection"}) {
      ir::Node n = make_node("GridSample", 2);
      n.attrs["mode"] = ir::Attribute::of_string(mode);
      n.attrs["padding_mode"] = ir::Attribute::of_string(pad);
      const std::vector<float> y = values<float>(run_reference(n, 16, {&x, &grid})[0]);
      ASSERT_EQ(y.size(), 5u);
      if (std::string(mode) == "bilinear") EXPECT_FLOAT_EQ(y[0], 2.5f) << pad;
      if (std::string(pad) == "zeros") {
        EXPECT_EQ(y[2], 0.f) << mode;  // past the right edge: padding
        EXPECT_EQ(y[3], 0.f) << mode;
      }
      if (std::string(pad) == "border" && std::string(mode) != "bicubic") {
        // x clamped to the right column, y at the centre: between 2 and 4 (nearest: row 0).
        EXPECT_FLOAT_EQ(y[2], std::string(mode) == "nearest" ? 2.f : 3.f) << mode;
        EXPECT_FLOAT_EQ(y[3], 1.f) << mode;  // the top-left pixel
      }
    }

  auto roi_align = [](int64_t ratio) {
    ir::Node n = make_node("RoiAlign", 3);
    n.attrs["output_height"] = ir::Attribute::of_int(2);
    n.attrs["output_width"] = ir::Attribute::of_int(2);
    n.attrs["sampling_ratio"] = ir::Attribute::of_int(ratio);
    return n;
  };
  Tensor image(DType::F32, {1, 1, 4, 4});
  Tensor batch0 = Tensor::from_vector<int64_t>({1}, {0});
  Tensor nan_roi = Tensor::from_vector<float>({1, 4}, {0, 0, nan, 2});
  expect_error(roi_align(0), 16, {&image, &nan_roi, &batch0}, "is not finite");
  Tensor wide_roi = Tensor::from_vector<float>({1, 4}, {0, 0, 1e30f, 2});
  expect_error(roi_align(0), 16, {&image, &wide_roi, &batch0}, "samples per bin along it");
  // With a fixed sampling_ratio the same roi is only sampled 2 x 2 times per bin: padding.
  EXPECT_EQ(values<float>(run_reference(roi_align(2), 16, {&image, &wide_roi, &batch0})[0]),
            std::vector<float>(4, 0.f));
  expect_error(roi_align(5000), 16, {&image, &wide_roi, &batch0}, "sampling_ratio 5000");
  Tensor far_batch = Tensor::from_vector<int64_t>({1}, {int64_t(1) << 62});
  Tensor roi = Tensor::from_vector<float>({1, 4}, {0, 0, 2, 2});
  expect_error(roi_align(0), 16, {&image, &roi, &far_batch}, "outside [0, 1)");
  ir::Node flat = roi_align(0);
  flat.attrs["output_height"] = ir::Attribute::of_int(0);
  expect_error(flat, 16, {&image, &roi, &batch0}, "output_height must be >= 1");
}

}  // namespace
}  // namespace qbench
