// Conv, MatMul and Gemm with compute_type bf16 (weights that were bfloat16): the oneDNN bf16
// kernels against the f32 reference, within bf16's precision (activations are rounded to bf16).
#include <gtest/gtest.h>

#include <cstring>

#include "kernels/onednn/cpu_paths.h"
#include "onednn_testing.h"

namespace qbench {
namespace {

using namespace kernels::onednn::testing;

// Rounds every value to the nearest bfloat16 (the weights of a bf16 model are exactly that).
Tensor bf16_values(Tensor t) {
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    uint32_t u;
    std::memcpy(&u, &p[i], 4);
    u = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000u;
    std::memcpy(&p[i], &u, 4);
  }
  return t;
}

// bf16 semantics: the kernel reads its activations rounded to bf16 and multiplies them by the
// bf16 weights with f32 accumulation. Natively (AVX512_BF16, AMX) oneDNN does that in bf16;
// without it the kernel emulates it with f32 kernels on rounded activations. Either way the
// result is the f32 reference on rounded activations, up to the order of the f32 sums.
void expect_bf16_semantics(const Problem& p) {
  std::vector<kernels::TensorType> types;
  std::string why;
  auto k = p.make(why, types);
  ASSERT_TRUE(k) << why;
  EXPECT_EQ(k->emulated(), !kernels::onednn::native_bf16()) << k->impl();
  Tensor got(DType::F32, types[0].shape);
  std::vector<Tensor*> outs{&got};
  kernels::ExecContext ctx;
  k->run(p.input_ptrs(), outs, ctx);
  Problem rounded = p;
  rounded.inputs[0] = bf16_values(p.inputs[0]);
  rounded.node.compute_type = DType::Undefined;
  Tensor want = kernels::run_reference(rounded.node, rounded.opset, rounded.input_ptrs())[0];
  EXPECT_LT(relative_error(got, want), 1e-5) << k->impl();
}

void expect_bf16_close(Problem p, const char* what) {
  SCOPED_TRACE(what);
  p.node.compute_type = DType::BF16;
  std::mt19937 rng(1);
  Outcome o = check_against_reference(p, rng);
  ASSERT_TRUE(o.why_not.empty()) << o.why_not;
  // bf16 has an 8-bit mantissa: relative error ~2^-9 per product, accumulation in f32.
  EXPECT_LT(o.error, 2e-2);
  EXPECT_GT(o.error, 0.0);  // it really ran in bf16 (f32 would match to ~1e-6)
  expect_bf16_semantics(p);
}

TEST(OnednnBf16, ConvMatMulGemm) {
  std::mt19937 rng(11);
  {
    Problem p;
    p.node = make_node("Conv", 3, {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})}});
    p.inputs = {random_tensor(rng, {1, 16, 10, 10}),
                bf16_values(random_tensor(rng, {32, 16, 3, 3})), random_tensor(rng, {32})};
    p.constant = {false, true, true};
    expect_bf16_close(p, "conv 3x3");
  }
  {
    Problem p;
    p.node = make_node("Conv", 2, {{"group", ir::Attribute::of_int(8)}});
    p.inputs = {random_tensor(rng, {2, 8, 7, 7}), bf16_values(random_tensor(rng, {8, 1, 3, 3}))};
    p.constant = {false, true};
    expect_bf16_close(p, "depthwise conv");
  }
  {
    Problem p;
    p.node = make_node("MatMul", 2);
    p.inputs = {random_tensor(rng, {3, 5, 64}), bf16_values(random_tensor(rng, {64, 24}))};
    p.constant = {false, true};
    expect_bf16_close(p, "matmul");
  }
  {
    Problem p;
    p.node = make_node("Gemm", 3, {{"transB", ir::Attribute::of_int(1)}});
    p.inputs = {random_tensor(rng, {4, 100}), bf16_values(random_tensor(rng, {10, 100})),
                random_tensor(rng, {10})};
    p.constant = {false, true, true};
    expect_bf16_close(p, "gemm");
  }
}

}  // namespace
}  // namespace qbench
