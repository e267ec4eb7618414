// The integer element-wise and pooling kernels (qbench.QLinearAdd, qbench.MaxPool on u8/s8,
// qbench.QLinearGlobalAveragePool) against their reference kernels: within 1 LSB.
#include <fmt/format.h>

#include <map>

#include "kernels/onednn/cpu_paths.h"
#include "kernels/ref/qbench_ops.h"
#include "qtest_util.h"

namespace qbench {
namespace {

using kernels::onednn::testing::Problem;

Problem qbench_problem(const std::string& op, size_t inputs,
                       std::map<std::string, ir::Attribute> attrs = {}) {
  Problem p;
  p.node = kernels::onednn::testing::make_node(op, inputs, std::move(attrs));
  p.node.domain = kernels::ref::kQbenchDomain;
  return p;
}

TEST(OnednnQOps, QLinearAddWithin1Lsb) {
  std::mt19937 rng(3);
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{1, 64, 14, 14}, {1, 64, 14, 14}}, {{2, 8, 5, 5}, {8, 1, 1}}, {{3, 7}, {3, 7}}};
  int cases = 0;
  for (DType t : {DType::U8, DType::I8})
    for (bool relu : {false, true})
      for (const auto& [sa, sb] : shapes) {
        Problem p = qbench_problem("QLinearAdd", 8);
        const bool u8 = t == DType::U8;
        p.inputs = {test::random_ints(rng, t, sa, u8 ? 0 : -128, u8 ? 255 : 127),
                    Tensor::scalar(0.05f),
                    test::zero_point(t, u8 ? 120 : 3),
                    test::random_ints(rng, t, sb, u8 ? 0 : -128, u8 ? 255 : 127),
                    Tensor::scalar(0.031f),
                    test::zero_point(t, u8 ? 10 : -7),
                    Tensor::scalar(0.07f),
                    test::zero_point(t, u8 ? 100 : 1)};
        if (relu) {
          ir::FusedOp f;
          f.op_type = "Relu";
          p.node.fused.push_back(f);
        }
        p.constant = {false, true, true, false, true, true, true, true};
        test::expect_int_kernel_matches(
            p, fmt::format("{} + {} {} {}", shape_str(sa), shape_str(sb), dtype_name(t),
                           relu ? "relu" : ""));
        cases++;
      }
  EXPECT_EQ(cases, 12);
}

TEST(OnednnQOps, IntegerMaxPoolExact) {
  std::mt19937 rng(4);
  struct PoolCase {
    Shape x;  // NCHW, or NHWC where channels_last
    int64_t kernel, stride, pad;
    bool ceil, channels_last;
  };
  // ResNet's stem pool (3x3, stride 2, pad 1), a ceil_mode one; channels-last (qbench's own kernel
  // where the CPU has AVX2): 64 channels, channel counts with 16- and 1-byte tails, batch 2, a
  // 2x2 window without padding, windows clipped by the image on every side.
  const std::vector<PoolCase> cases = {
      {{1, 16, 12, 11}, 3, 1, 1, false, false}, {{1, 16, 12, 11}, 3, 2, 1, true, false},
      {{1, 12, 11, 64}, 3, 2, 1, false, true},  {{2, 9, 10, 53}, 3, 2, 1, true, true},
      {{1, 8, 8, 19}, 2, 2, 0, false, true},    {{1, 5, 6, 40}, 3, 1, 1, false, true},
      {{1, 7, 7, 7}, 5, 3, 2, true, true},
  };
  for (DType t : {DType::U8, DType::I8})
    for (const PoolCase& pc : cases) {
      std::map<std::string, ir::Attribute> attrs = {
          {"kernel_shape", ir::Attribute::of_ints({pc.kernel, pc.kernel})},
          {"strides", ir::Attribute::of_ints({pc.stride, pc.stride})},
          {"pads", ir::Attribute::of_ints({pc.pad, pc.pad, pc.pad, pc.pad})},
          {"ceil_mode", ir::Attribute::of_int(pc.ceil ? 1 : 0)}};
      if (pc.channels_last) attrs["channels_last"] = ir::Attribute::of_int(1);
      Problem p = qbench_problem("MaxPool", 1, attrs);
      p.inputs = {
          test::random_ints(rng, t, pc.x, t == DType::U8 ? 0 : -128, t == DType::U8 ? 255 : 127)};
      p.constant = {false};
      const std::string what =
          fmt::format("{} {} k{} s{} p{}{}{}", dtype_name(t), shape_str(pc.x), pc.kernel, pc.stride,
                      pc.pad, pc.ceil ? " ceil" : "", pc.channels_last ? " NHWC" : "");
      std::string why;
      std::vector<kernels::TensorType> types;
      auto k = p.make(why, types);
      ASSERT_TRUE(k) << why << " " << what;
      Tensor got(t, types[0].shape);
      std::vector<Tensor*> outs{&got};
      kernels::ExecContext ctx;
      std::vector<const Tensor*> in = p.input_ptrs();
      k->run(in, outs, ctx);
      Tensor want = kernels::run_reference(p.node, p.opset, in)[0];
      EXPECT_EQ(test::lsb_diff(got, want).max, 0) << what << " " << k->impl();
      if (pc.channels_last && kernels::onednn::own_avx2_kernels()) {
        EXPECT_EQ(k->impl(), "qbench_max_pool_nhwc8:avx2") << what;
      }
    }
}

TEST(OnednnQOps, QLinearGlobalAveragePoolWithin1Lsb) {
  std::mt19937 rng(6);
  for (DType t : {DType::U8, DType::I8}) {
    Problem p = qbench_problem("QLinearGlobalAveragePool", 5);
    p.inputs = {test::random_ints(rng, t, {2, 64, 7, 7}, t == DType::U8 ? 0 : -128,
                                  t == DType::U8 ? 255 : 127),
                Tensor::scalar(0.1f), test::zero_point(t, t == DType::U8 ? 125 : -3),
                Tensor::scalar(0.03f), test::zero_point(t, t == DType::U8 ? 128 : 0)};
    p.constant = {false, true, true, true, true};
    test::expect_int_kernel_matches(p, dtype_name(t));
  }
}

// Transpose as one oneDNN reorder, for float (ViT's attention reshapes) and 8-bit tensors (the
// borders of a channels-last integer region): exact.
TEST(OnednnQOps, TransposeExact) {
  std::mt19937 rng(12);
  // Three-channel NCHW -> NHWC runs qbench's own kernel on 8-bit data (whole steps of 16 pixels
  // and a tail; a batch; an image smaller than one step).
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {{{1, 3, 5, 7}, {0, 2, 3, 1}},
                                                                     {{2, 3, 9, 13}, {0, 2, 3, 1}},
                                                                     {{1, 3, 2, 3}, {0, 2, 3, 1}},
                                                                     {{2, 7, 5, 3}, {0, 3, 1, 2}},
                                                                     {{4, 6, 8}, {0, 2, 1}},
                                                                     {{2, 3, 4, 5}, {3, 1, 0, 2}},
                                                                     {{6, 10}, {}}};
  int n = 0;
  for (DType t : {DType::F32, DType::U8, DType::I8})
    for (const auto& [shape, perm] : cases) {
      Problem p;
      std::map<std::string, ir::Attribute> attrs;
      if (!perm.empty()) attrs["perm"] = ir::Attribute::of_ints(perm);
      p.node = kernels::onednn::testing::make_node("Transpose", 1, attrs);
      p.inputs = {t == DType::F32
                      ? kernels::onednn::testing::random_tensor(rng, shape)
                      : test::random_ints(rng, t, shape, t == DType::U8 ? 0 : -128, 127)};
      p.constant = {false};
      std::string why;
      std::vector<kernels::TensorType> types;
      auto k = p.make(why, types);
      ASSERT_TRUE(k) << why;
      Tensor got(t, types[0].shape);
      std::vector<Tensor*> outs{&got};
      kernels::ExecContext ctx;
      std::vector<const Tensor*> in = p.input_ptrs();
      k->run(in, outs, ctx);
      Tensor want = kernels::run_reference(p.node, p.opset, in)[0];
      EXPECT_TRUE(got.same_as(want)) << dtype_name(t) << " " << shape_str(shape);
      const bool planes = t != DType::F32 && shape.size() == 4 && shape[1] == 3 &&
                          perm == std::vector<int64_t>{0, 2, 3, 1};
      if (kernels::onednn::own_avx2_kernels()) {
        EXPECT_EQ(k->impl() == "qbench_nchw3_to_nhwc:avx2", planes) << k->impl();
      }
      n++;
    }
  EXPECT_EQ(n, 21);
}

}  // namespace
}  // namespace qbench
