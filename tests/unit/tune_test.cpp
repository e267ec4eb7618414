// qbench tune (compare/tune.h) on the zoo's LeNet. Objective size, so the choice does not depend
// on timing: with mse ranges the whole model in int8 meets a 0.5-point target; with entropy
// ranges (which cost LeNet about 4 points) it does not, and the search keeps nodes out of int8
// until it does; with no time left it says so and keeps the most accurate quantized model. The
// chosen model is re-evaluated here, independently of tune, on the same tuning images.
#include "compare/tune.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/engine.h"
#include "eval/evaluate.h"
#include "kernels/onednn/cpu_paths.h"
#include "onnx/onnx_io.h"
#include "quant/calibrate.h"
#include "test_util.h"

using namespace qbench;

namespace {

compare::TuneOptions lenet_options(quant::RangeMethod range) {
  compare::TuneOptions o;
  o.quant.recipe = quant::Recipe::StaticInt8;
  o.quant.calib.data = "fashion-mnist";
  o.quant.calib.size = 256;
  o.ranges = {range};
  o.data = "fashion-mnist";
  o.tune_images = 600;
  o.objective = compare::TuneObjective::Size;
  o.latency_runs = 3;
  o.latency_seconds = 0;
  return o;
}

// top-1 of g on the tuning sample tune() draws, through eval::evaluate.
double tune_split_top1(const ir::Graph& g, const compare::TuneOptions& o) {
  const data::Dataset all = data::load_dataset(o.data, data::Split::Test);
  const data::Dataset ds =
      data::subset(all, quant::calibration_indices(all.count, o.tune_images, o.seed));
  engine::Engine e(g);
  return eval::evaluate(e, ds, eval::model_preprocess(g), {}).top1();
}

int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

const ir::Graph* lenet() {
  static const std::string path = test::models_dir() + "/lenet.onnx";
  if (!std::filesystem::exists(path)) return nullptr;
  static const ir::Graph g = onnxio::load_model(path);
  return &g;
}

// Each trial's bookkeeping: the drop is FP32's top-1 minus its own, in points, and it meets the
// target exactly when the drop is within it.
void expect_consistent(const compare::TuneResult& r) {
  ASSERT_FALSE(r.trials.empty());
  EXPECT_EQ(r.trials[0].stage, "fp32");
  for (const auto& t : r.trials) {
    EXPECT_NEAR(t.drop_points, 100 * (r.fp32_top1 - t.top1), 1e-9) << t.stage;
    EXPECT_EQ(t.meets, t.drop_points <= r.target_points + 1e-9) << t.stage;
  }
}

}  // namespace

TEST(Tune, WholeModelInt8WhenItMeetsTheTarget) {
  if (!lenet()) GTEST_SKIP() << "lenet.onnx is not in the zoo";
  compare::TuneOptions o = lenet_options(quant::RangeMethod::Mse);
  const compare::TuneResult r = compare::tune(*lenet(), "lenet", o);
  expect_consistent(r);
  EXPECT_DOUBLE_EQ(r.target_points, 0.5);
  EXPECT_EQ(r.tune_images, 600);
  EXPECT_EQ(r.holdout_images, 10000 - 600);
  ASSERT_TRUE(r.met);
  ASSERT_EQ(r.chosen, 1);  // FP32, then the whole model in int8, which is smaller
  EXPECT_EQ(r.trials[1].stage, "int8");
  EXPECT_TRUE(r.trials[1].float_nodes.empty());
  EXPECT_LT(r.trials[1].bytes, r.fp32_bytes / 2);
  EXPECT_GT(count_op(r.graph, "QuantizeLinear"), 0);
  EXPECT_NE(r.calib_table.find("qbench calibration table"), std::string::npos);
  EXPECT_NEAR(tune_split_top1(r.graph, o), r.trials[1].top1, 1e-12);
  EXPECT_NEAR(tune_split_top1(*lenet(), o), r.fp32_top1, 1e-12);

  o.relative = true;
  o.max_drop = 1.0;  // 1% of FP32's top-1
  const compare::TuneResult rel = compare::tune(*lenet(), "lenet", o);
  EXPECT_NEAR(rel.target_points, 1.0 * 100 * rel.fp32_top1 / 100, 1e-12);
}

// LeNet with one output channel of its second convolution made dead (bias -1e6, so the Relu
// after it always gives 0) and its weights 100 times the largest of the layer: the FP32 model
// computes what LeNet computes without that channel, but one scale per weight tensor
// (--per-tensor) leaves the layer's other weights a few levels.
ir::Graph lenet_with_outlier_channel(std::string& conv) {
  ir::Graph g = *lenet();
  for (auto& n : g.nodes) {
    if (n.op_type != "Conv" || n.name.find("features.3") == std::string::npos) continue;
    conv = n.name;
    Tensor w = g.constant(n.inputs[1])->clone();  // tensors share data when copied
    Tensor b = g.constant(n.inputs[2])->clone();
    float big = 0;
    for (int64_t i = 0; i < w.numel(); ++i) big = std::max(big, std::abs(w.data<float>()[i]));
    const int64_t per = w.numel() / w.dim(0);
    for (int64_t i = 0; i < per; ++i) w.data<float>()[i] = 100 * big;
    b.data<float>()[0] = -1e6f;
    g.value(n.inputs[1]).data = w;
    g.value(n.inputs[2]).data = b;
  }
  return g;
}

TEST(Tune, KeepsNodesOutOfInt8UntilTheTargetIsMet) {
  if (!lenet()) GTEST_SKIP() << "lenet.onnx is not in the zoo";
  std::string conv;
  const ir::Graph m = lenet_with_outlier_channel(conv);
  ASSERT_FALSE(conv.empty());
  compare::TuneOptions o = lenet_options(quant::RangeMethod::Mse);
  o.quant.per_channel = false;
  o.equalize = false;  // the node search itself (equalization is the next test's)
  const compare::TuneResult r = compare::tune(m, "lenet-outlier", o);
  expect_consistent(r);
  ASSERT_GE(r.trials.size(), 3u);
  EXPECT_EQ(r.trials[1].stage, "int8");
  EXPECT_FALSE(r.trials[1].meets) << "per-tensor weights should cost this model > 0.5 points";
  ASSERT_TRUE(r.met);
  ASSERT_GT(r.chosen, 1);
  const compare::TuneTrial& c = r.trials[r.chosen];
  EXPECT_TRUE(c.meets);  // drop within 0.5 points (expect_consistent checks the arithmetic)
  // The outlier convolution alone out of int8 (f32, or bf16 where the CPU has it natively and
  // bf16 meets the target too, being smaller).
  const std::vector<std::string> kept = c.float_nodes.empty() ? c.bf16_nodes : c.float_nodes;
  EXPECT_EQ(kept, std::vector<std::string>{conv}) << c.stage;
  bool tried_bf16 = false;
  for (const auto& t : r.trials) tried_bf16 |= t.stage == "bf16";
  EXPECT_EQ(tried_bf16, kernels::onednn::native_bf16());
  // The saved model is the measured one, with that convolution not in int8.
  EXPECT_NEAR(tune_split_top1(r.graph, o), c.top1, 1e-12);
  for (const auto& n : r.graph.nodes) {
    if (n.name == conv) {
      EXPECT_EQ(n.op_type, "Conv");
    }
  }
}

// The zoo's MobileNetV2 with per-tensor weights misses the target in every range method; the
// equalization stage (through ReLU6) meets it with every node still int8, so no node is kept out.
TEST(Tune, EqualizationStageRescuesPerTensorMobileNetV2) {
  const std::string path = test::models_dir() + "/mobilenetv2.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "mobilenetv2.onnx is not in the zoo";
  const ir::Graph m = onnxio::load_model(path);
  compare::TuneOptions o = lenet_options(quant::RangeMethod::Mse);
  o.quant.per_channel = false;
  const compare::TuneResult r = compare::tune(m, "mobilenetv2", o);
  expect_consistent(r);
  ASSERT_GE(r.trials.size(), 3u);
  EXPECT_EQ(r.trials[1].stage, "int8");
  EXPECT_FALSE(r.trials[1].meets) << "per-tensor weights should cost this model > 0.5 points";
  EXPECT_EQ(r.trials[2].stage, "equalize");
  EXPECT_TRUE(r.trials[2].equalized);
  ASSERT_TRUE(r.met);
  EXPECT_EQ(r.chosen, 2);
  EXPECT_TRUE(r.trials[2].float_nodes.empty() && r.trials[2].bf16_nodes.empty());
  EXPECT_EQ(r.trials.size(), 3u) << "the node search ran although equalization met the target";
  // The saved model is the measured one: equalized (no ReLU6 left between convolutions), int8.
  EXPECT_NEAR(tune_split_top1(r.graph, o), r.trials[2].top1, 1e-12);
  EXPECT_LE(count_op(r.graph, "Clip"), 2);
  EXPECT_GT(count_op(r.graph, "QuantizeLinear"), 20);
  EXPECT_FALSE(r.calib_table.empty());
}

TEST(Tune, SaysSoWhenNothingMeetsTheTargetInTime) {
  if (!lenet()) GTEST_SKIP() << "lenet.onnx is not in the zoo";
  compare::TuneOptions o = lenet_options(quant::RangeMethod::Entropy);
  o.time_budget = 0;  // the first int8 configuration only
  const compare::TuneResult r = compare::tune(*lenet(), "lenet", o);
  expect_consistent(r);
  ASSERT_EQ(r.trials.size(), 2u);
  EXPECT_FALSE(r.met);
  EXPECT_EQ(r.chosen, 1);
  ASSERT_FALSE(r.notes.empty());
  bool said = false;
  for (const auto& n : r.notes)
    said |= n.find("no quantized configuration met") != std::string::npos;
  EXPECT_TRUE(said);
}
