// Accuracy bounds of the recipes on the model zoo, over the full 10,000-image Fashion-MNIST test
// set: each quantized model is compared with the FP32 model evaluated in the same test run.
// static-int8 (MSE ranges, 512 train images) within 0.5 points top-1 on every CNN, dynamic-int8
// within 0.5 on the MLP and ViT, bf16/fp16 within 0.1, weight-only int8 0.5 and int4 2 points.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "data/dataset.h"
#include "engine/engine.h"
#include "engine/inspect.h"
#include "eval/evaluate.h"
#include "onnx/onnx_io.h"
#include "quant/recipes.h"
#include "test_util.h"

using namespace qbench;

namespace {

const data::Dataset& test_set() {
  static const data::Dataset ds = data::load_dataset("fashion-mnist", data::Split::Test);
  return ds;
}

double top1(const ir::Graph& g) {
  engine::Engine eng(g, {});
  return eval::evaluate(eng, test_set(), eval::model_preprocess(g), {}).top1();
}

std::string model_path(const std::string& name) {
  return test::models_dir() + "/" + name + ".onnx";
}

// FP32 top-1 of each zoo model, computed once per run.
double fp32_top1(const std::string& name) {
  static std::map<std::string, double> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, top1(onnxio::load_model(model_path(name)))).first;
  return it->second;
}

// min_macs_share: the share of MACs the recipe must cover (attention's activation x activation
// MatMuls stay float under dynamic-int8, as in ONNX Runtime).
void expect_within(const std::string& name, quant::QuantizeOptions o, double max_drop_points,
                   double min_macs_share = 0.9) {
  if (!std::filesystem::exists(model_path(name)))
    GTEST_SKIP() << model_path(name) << " is not in the zoo yet";
  const double base = fp32_top1(name);
  quant::QuantizeResult r = quant::quantize(onnxio::load_model(model_path(name)), o);
  const double q = top1(r.graph);
  EXPECT_LE((base - q) * 100, max_drop_points)
      << name << " " << quant::recipe_name(o.recipe) << ": top-1 " << q << " vs fp32 " << base;
  // The share of MACs the written file computes in the recipe's precision, from its plan: int8
  // for the int8 recipes, bf16 for bf16 (emulated in f32 counts), f32 for fp16 and weight-only,
  // which store smaller weights but compute in f32.
  const engine::PlanReport c = engine::describe_graph(r.graph, {});
  const bool bf16 = o.recipe == quant::Recipe::Bf16;
  const bool f32 = o.recipe == quant::Recipe::Fp16 || o.recipe == quant::Recipe::WeightOnlyInt8 ||
                   o.recipe == quant::Recipe::WeightOnlyInt4;
  const int64_t in_precision =
      bf16 ? c.macs_bf16 + c.macs_emulated : f32 ? c.macs_f32 : c.macs_int8;
  const double share = double(in_precision) / double(std::max<int64_t>(1, c.macs));
  const char* precision = bf16 ? "bf16" : f32 ? "f32" : "int8";
  EXPECT_GE(share, f32 ? 1.0 : min_macs_share) << name << " " << quant::recipe_name(o.recipe);
  std::printf("%-10s %-16s top-1 %.4f (fp32 %.4f), %.1f%% of MACs in %s\n", name.c_str(),
              quant::recipe_name(o.recipe), q, base, 100 * share, precision);
}

quant::QuantizeOptions recipe(quant::Recipe r) {
  quant::QuantizeOptions o;
  o.recipe = r;
  return o;
}

}  // namespace

TEST(QuantZoo, StaticInt8WithinHalfAPointOnCnns) {
  quant::QuantizeOptions o = recipe(quant::Recipe::StaticInt8);
  o.calib.data = "fashion-mnist";
  o.range.method = quant::RangeMethod::Mse;
  for (const char* m : {"lenet", "resnet", "mobilenet", "mobilenetv2"}) expect_within(m, o, 0.5);
}

TEST(QuantZoo, StaticInt8PerTensorPercentileOnLenet) {
  quant::QuantizeOptions o = recipe(quant::Recipe::StaticInt8);
  o.calib.data = "fashion-mnist";
  o.per_channel = false;
  o.range.method = quant::RangeMethod::Percentile;
  expect_within("lenet", o, 0.5);
}

// The zoo's MobileNetV2 has a few dead expansion channels whose folded depthwise weights are
// ~100x the others (models/train_zoo.py): one weight scale per tensor loses points there, one per
// channel does not (above), and bias correction wins part of the per-tensor loss back.
namespace {

// static-int8 with per-tensor weights, calibrated on 256 train images.
quant::QuantizeOptions per_tensor_static_int8() {
  quant::QuantizeOptions o = recipe(quant::Recipe::StaticInt8);
  o.calib.data = "fashion-mnist";
  o.calib.size = 256;
  o.per_channel = false;
  return o;
}

}  // namespace

TEST(QuantZoo, PerTensorStrugglesOnMobileNetV2AndBiasCorrectionHelps) {
  if (!std::filesystem::exists(model_path("mobilenetv2"))) GTEST_SKIP() << "no mobilenetv2";
  const ir::Graph m = onnxio::load_model(model_path("mobilenetv2"));
  quant::QuantizeOptions o = per_tensor_static_int8();
  const double base = fp32_top1("mobilenetv2");
  const double plain = top1(quant::quantize(m, o).graph);
  o.bias_correct = true;
  const double corrected = top1(quant::quantize(m, o).graph);
  std::printf("mobilenetv2 fp32 %.4f, static-int8 per-tensor %.4f, + bias correction %.4f\n",
              base, plain, corrected);
  EXPECT_GT((base - plain) * 100, 1.0) << "per-tensor weights no longer struggle here";
  EXPECT_GT(corrected, plain + 0.002);
}

// Cross-layer equalization through the expand -> depthwise -> project triples recovers the
// per-tensor loss, once ReLU6 is replaced by Relu as Nagel et al. do (ReLU6 stops it otherwise).
TEST(QuantZoo, EqualizationWithReluRecoversPerTensorOnMobileNetV2) {
  if (!std::filesystem::exists(model_path("mobilenetv2"))) GTEST_SKIP() << "no mobilenetv2";
  const ir::Graph m = onnxio::load_model(model_path("mobilenetv2"));
  quant::QuantizeOptions o = per_tensor_static_int8();
  o.equalize = true;
  const double base = fp32_top1("mobilenetv2");
  const quant::QuantizeResult through_relu6 = quant::quantize(m, o);
  o.relu6_to_relu = true;
  const quant::QuantizeResult relu = quant::quantize(m, o);
  const double stopped = top1(through_relu6.graph), equalized = top1(relu.graph);
  std::printf("mobilenetv2 fp32 %.4f, per-tensor + equalize %.4f, + relu6-to-relu %.4f\n", base,
              stopped, equalized);
  EXPECT_GT((base - stopped) * 100, 1.0) << "ReLU6 no longer stops equalization";
  EXPECT_LE((base - equalized) * 100, 0.5);
  // Each Clip between two convolutions became a Relu: 14 of the 16. The stem's output is also
  // read by the first block's residual Add (a per-channel scale would change that sum), and the
  // head's feeds the pooling. The note says so.
  int clips = 0;
  for (const auto& n : relu.float_graph.nodes) clips += n.op_type == "Clip";
  EXPECT_EQ(clips, 2);
  bool noted = false;
  for (const auto& note : relu.notes)
    noted |= note.find("14 Clip(0, M) replaced by Relu") != note.npos;
  EXPECT_TRUE(noted);
}

namespace {

// The zoo's ViT with channels 3 and 17 of every block's LayerNormalization output made 60x
// larger (the normalization's scale and bias) and the MatMul weight rows that read them 60x
// smaller: the same FP32 function, now with the activation outliers SmoothQuant is for (in large
// transformers they come from such LayerNorm weights, Xiao et al. 2023).
ir::Graph vit_with_outliers() {
  ir::Graph g = onnxio::load_model(model_path("vit"));
  auto scale = [&](const std::string& name, auto&& f) {
    ir::Value* v = g.find(name);
    EXPECT_TRUE(v && v->data) << name;
    v->data = v->data->clone();
    f(v->data->template data<float>(), *v->data);
  };
  int changed = 0;
  for (const auto& n : g.nodes) {
    if (n.op_type != "LayerNormalization" || n.name.rfind("/blocks", 0) != 0) continue;
    for (const std::string& p : {n.inputs[1], n.inputs[2]})
      scale(p, [](float* d, const Tensor&) {
        d[3] *= 60;
        d[17] *= 60;
      });
    for (const auto& r : g.nodes)
      if (r.op_type == "MatMul" && r.inputs[0] == n.outputs[0])
        scale(r.inputs[1], [](float* d, const Tensor& w) {  // W [64, N]: rows 3 and 17
          for (int64_t j = 0; j < w.dim(1); ++j) {
            d[3 * w.dim(1) + j] /= 60;
            d[17 * w.dim(1) + j] /= 60;
          }
        });
    ++changed;
  }
  EXPECT_EQ(changed, 8);  // two per block
  return g;
}

}  // namespace

// Static int8 (one scale per activation tensor) loses points to those outliers; SmoothQuant
// moves them into the weights and recovers them.
TEST(QuantZoo, SmoothQuantRecoversViTWithOutlierChannels) {
  if (!std::filesystem::exists(model_path("vit"))) GTEST_SKIP() << "no vit";
  const ir::Graph g = vit_with_outliers();
  const double base = fp32_top1("vit"), outliers = top1(g);
  EXPECT_NEAR(outliers, base, 0.0005) << "the rewrite changed the FP32 function";
  quant::QuantizeOptions o = recipe(quant::Recipe::StaticInt8);
  o.calib.data = "fashion-mnist";
  o.calib.size = 256;
  const double plain = top1(quant::quantize(g, o).graph);
  o.smooth_quant = true;
  const double smoothed = top1(quant::quantize(g, o).graph);
  std::printf("vit with outliers: fp32 %.4f, static-int8 %.4f, + smooth-quant %.4f\n", outliers,
              plain, smoothed);
  EXPECT_GT((outliers - plain) * 100, 1.0) << "the outliers no longer hurt static int8";
  EXPECT_LE((outliers - smoothed) * 100, 0.5);
}

TEST(QuantZoo, DynamicInt8WithinHalfAPointOnMlpAndVit) {
  expect_within("mlp", recipe(quant::Recipe::DynamicInt8), 0.5);
  expect_within("vit", recipe(quant::Recipe::DynamicInt8), 0.5, 0.75);
}

TEST(QuantZoo, HalfPrecisionWithinATenthOfAPoint) {
  for (const char* m : {"mlp", "lenet", "resnet", "mobilenet"}) {
    expect_within(m, recipe(quant::Recipe::Bf16), 0.1);
    expect_within(m, recipe(quant::Recipe::Fp16), 0.1);
  }
}

TEST(QuantZoo, WeightOnlyOnMlp) {
  expect_within("mlp", recipe(quant::Recipe::WeightOnlyInt8), 0.5);
  expect_within("mlp", recipe(quant::Recipe::WeightOnlyInt4), 2.0);
}

// The ViT under static-int8: every MatMul (the Linear layers, with their bias Adds, and both
// attention products, whose B is an activation) must run as an integer oneDNN kernel, not fall
// back to float or to the reference kernels, and accuracy must hold.
TEST(QuantZoo, StaticInt8VitRunsItsMatMulsInInt8) {
  if (!std::filesystem::exists(model_path("vit"))) GTEST_SKIP() << "no vit in the zoo";
  quant::QuantizeOptions o = recipe(quant::Recipe::StaticInt8);
  o.calib.data = "fashion-mnist";
  o.calib.size = 256;
  expect_within("vit", o, 0.5);
  quant::QuantizeResult r = quant::quantize(onnxio::load_model(model_path("vit")), o);
  engine::Engine eng(r.graph, {});
  engine::PlanReport rep = engine::describe_plan(eng.plan_for(eng.input_types(1)), eng.graph());
  EXPECT_GT(double(rep.macs_int8), 0.99 * double(rep.macs));
  for (const auto& n : rep.nodes)
    if (n.macs > 0) {
      EXPECT_EQ(n.precision, "int8") << n.name << " (" << n.op_type << ")";
      EXPECT_NE(n.kernel, "reference") << n.name << " (" << n.op_type << "): " << n.rejected;
    }
}

// dynamic-int8 writes DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(scales) -> Add(bias)
// per layer; the engine must run each as one integer matmul with a float output, on oneDNN.
TEST(QuantZoo, DynamicInt8MlpRunsOneKernelPerLayer) {
  if (!std::filesystem::exists(model_path("mlp"))) GTEST_SKIP() << "no mlp in the zoo";
  quant::QuantizeResult r =
      quant::quantize(onnxio::load_model(model_path("mlp")), recipe(quant::Recipe::DynamicInt8));
  engine::Engine eng(r.graph, {});
  engine::PlanReport rep = engine::describe_plan(eng.plan_for(eng.input_types(1)), eng.graph());
  int fused = 0;
  for (const auto& n : rep.nodes) {
    EXPECT_NE(n.op_type, "Cast") << n.name;
    EXPECT_NE(n.op_type, "MatMulInteger") << n.name;
    if (n.op_type == "MatMulIntegerToFloat") {
      fused++;
      EXPECT_EQ(n.kernel, "onednn") << n.name << ": " << n.rejected;
    }
  }
  EXPECT_EQ(fused, 3);  // the MLP's three Linear layers
  EXPECT_EQ(rep.macs_int8, rep.macs);
}
