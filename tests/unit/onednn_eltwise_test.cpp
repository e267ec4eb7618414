// oneDNN element-wise kernels against the reference: every supported activation with its
// attributes, Clip with attribute and input bounds, and fused activations chained after.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kernels/onednn/factories.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

struct Case {
  std::string op;
  std::map<std::string, Attribute> attrs;
  float lo = -4.f, hi = 4.f;  // input range
};

TEST(OnednnEltwise, AllOps) {
  std::mt19937 rng(31);
  std::vector<Case> cases = {
      {"Relu", {}},
      {"LeakyRelu", {}},
      {"LeakyRelu", {{"alpha", Attribute::of_float(0.3f)}}},
      {"Sigmoid", {}},
      {"Tanh", {}},
      {"HardSigmoid", {}},
      {"HardSigmoid", {{"alpha", Attribute::of_float(0.5f)}, {"beta", Attribute::of_float(0.1f)}}},
      {"HardSwish", {}},
      {"Gelu", {}},
      {"Gelu", {{"approximate", Attribute::of_string("tanh")}}},
      {"Elu", {{"alpha", Attribute::of_float(0.7f)}}},
      {"Softplus", {}},
      {"Neg", {}},
      {"Exp", {}},
      {"Sqrt", {}, 0.f, 10.f},
      {"Abs", {}},
  };
  for (const Case& c : cases)
    for (Shape x : {Shape{1}, Shape{7}, Shape{2, 3, 5}, Shape{1, 64, 28, 28}, Shape{}}) {
      Problem p{testing::make_node(c.op, 1, c.attrs),
                20,
                {testing::random_tensor(rng, x, c.lo, c.hi)},
                {false}};
      auto o = testing::check_against_reference(p, rng);
      ASSERT_TRUE(o.why_not.empty()) << c.op << ": " << o.why_not;
      EXPECT_LT(o.error, 1e-5) << c.op << " " << shape_str(x);
    }
}

TEST(OnednnEltwise, Clip) {
  std::mt19937 rng(32);
  Shape x{3, 17};
  // Opset 6: attributes.
  Problem a{
      testing::make_node("Clip", 1,
                         {{"min", Attribute::of_float(-0.2f)}, {"max", Attribute::of_float(0.4f)}}),
      6,
      {testing::random_tensor(rng, x)},
      {false}};
  auto o = testing::check_against_reference(a, rng);
  ASSERT_TRUE(o.why_not.empty()) << o.why_not;
  EXPECT_LT(o.error, 1e-5);
  // Opset 13: constant inputs, each optional.
  for (int mask = 0; mask < 4; ++mask) {
    Problem p{
        testing::make_node("Clip", 3), 13, {testing::random_tensor(rng, x)}, {false, true, true}};
    p.inputs.push_back((mask & 1) ? Tensor::scalar(-0.3f) : Tensor());
    p.inputs.push_back((mask & 2) ? Tensor::scalar(0.6f) : Tensor());
    if (!(mask & 1)) p.node.inputs[1].clear();
    if (!(mask & 2)) p.node.inputs[2].clear();
    auto r = testing::check_against_reference(p, rng);
    ASSERT_TRUE(r.why_not.empty()) << mask << ": " << r.why_not;
    EXPECT_LT(r.error, 1e-5) << mask;
  }
  // Runtime bounds are rejected.
  Problem rt{testing::make_node("Clip", 3),
             13,
             {testing::random_tensor(rng, x), Tensor::scalar(-0.3f), Tensor::scalar(0.6f)},
             {false, false, true}};
  std::vector<TensorType> types;
  std::string why;
  EXPECT_EQ(rt.make(why, types), nullptr);
  EXPECT_EQ(why, "Clip min is not constant");
}

TEST(OnednnEltwise, RejectsWithReason) {
  std::string why;
  ir::Node n = testing::make_node("Relu", 1);
  std::vector<TensorType> in{{DType::I32, {4}}};
  std::vector<const Tensor*> consts{nullptr};
  EXPECT_EQ(make_onednn_eltwise(KernelInit{n, 14, in, in, consts, 1}, why), nullptr);
  EXPECT_EQ(why, "input 0 dtype i32 (only f32)");

  ir::Node g = testing::make_node("Gelu", 1, {{"approximate", Attribute::of_string("fast")}});
  std::vector<TensorType> f{{DType::F32, {4}}};
  why.clear();
  EXPECT_EQ(make_onednn_eltwise(KernelInit{g, 20, f, f, consts, 1}, why), nullptr);
  EXPECT_EQ(why, "Gelu approximate='fast'");

  ir::Node e = testing::make_node("Erf", 1);
  why.clear();
  EXPECT_EQ(make_onednn_eltwise(KernelInit{e, 13, f, f, consts, 1}, why), nullptr);
  EXPECT_EQ(why, "activation Erf has no oneDNN eltwise equivalent");
}

}  // namespace
}  // namespace qbench::kernels::onednn
