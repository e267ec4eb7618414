// Right on every CPU. The ISA matrix (tests/CMakeLists.txt) runs this file at the machine's own
// ISA and with oneDNN capped at each lesser level (AVX2: int16 pair sums that saturate, no bf16),
// so each assertion holds for every CPU class, not only the one the tests run on:
// - int8 models give the ONNX result: with the integer ops (QLinearConv, QLinearMatMul, QGemm,
//   ConvInteger, MatMulInteger, MatMulIntegerToFloat; the residual adds folded into QLinearConv
//   with them) on oneDNN, the predictions equal those of the same plan with those ops on the
//   reference kernels, on all 10,000 test images but at most 3 (a requantization near-tie
//   rounded the other way), for qbench's own static-int8 zoo files and for a QDQ file with
//   full-range int8 weights made by PyTorch (tests/data/make_torch_qdq.py). Everything else runs
//   on the same kernels in both, so any difference is the integer kernels' (int16 saturation made
//   hundreds of images differ);
// - no plan of a zoo model holds oneDNN's slow reference implementation, and every node with
//   multiply-accumulates runs on an optimized kernel, whatever the recipe.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "engine/engine.h"
#include "engine/inspect.h"
#include "eval/evaluate.h"
#include "kernels/onednn/context.h"
#include "kernels/onednn/cpu_paths.h"
#include "onnx/onnx_io.h"
#include "quant/recipes.h"
#include "test_util.h"

using namespace qbench;

namespace {

const data::Dataset& test_set() {
  static const data::Dataset ds = data::load_dataset("fashion-mnist", data::Split::Test);
  return ds;
}

// `reference_int8`: the integer dot-product ops on the reference kernels, the rest optimized.
eval::EvalResult evaluate(const ir::Graph& g, bool reference_int8) {
  engine::EngineOptions o;
  if (reference_int8)
    o.reference_op_types = {"QLinearConv", "QLinearMatMul", "QGemm",
                            "ConvInteger", "MatMulInteger", "MatMulIntegerToFloat"};
  o.threads = 2;
  engine::Engine eng(g, o);
  return eval::evaluate(eng, test_set(), eval::model_preprocess(g), {});
}

std::string model_path(const std::string& name) {
  return test::models_dir() + "/" + name + ".onnx";
}

quant::QuantizeResult static_int8(const std::string& model) {
  quant::QuantizeOptions o;
  o.recipe = quant::Recipe::StaticInt8;
  o.calib.data = "fashion-mnist";
  return quant::quantize(onnxio::load_model(model_path(model)), o);
}

// Predictions of the optimized plan equal the reference kernels' on every image; returns the
// optimized top-1.
double expect_predictions_equal_reference(const ir::Graph& g, const std::string& what) {
  const eval::EvalResult opt = evaluate(g, false);
  const eval::EvalResult ref = evaluate(g, true);
  EXPECT_EQ(opt.n, 10000) << what;
  int64_t differ = 0;
  for (size_t i = 0; i < opt.predictions.size(); ++i)
    differ += opt.predictions[i] != ref.predictions[i];
  // Requantization rounds in f32 where the reference rounds what it computed otherwise: a
  // near-tie can land 1 LSB apart (the kernel tests allow that on ~1% of elements), which has
  // turned up to four predictions of the 10,000 (the zoo ResNet's int8 residual adds under
  // AVX2: one; the zoo MobileNet calibrated with its f32 depthwise layers on oneDNN's jit_dw:
  // four, the same kernels on the file calibrated on brdgmm_dw: none, so the calibrated ranges
  // decide how many near-ties there are). A wrong dot product turns hundreds (int16 pair
  // saturation did); ten (0.1%) keeps the two apart.
  EXPECT_LE(differ, 10) << what << ": " << differ << " of " << opt.n
                       << " predictions differ with the reference integer kernels (oneDNN "
                       << kernels::onednn::effective_isa() << ")";
  std::printf("%-28s top-1 %.4f optimized, %.4f reference, %lld differ (%s)\n", what.c_str(),
              opt.top1(), ref.top1(), static_cast<long long>(differ),
              kernels::onednn::effective_isa().c_str());
  return opt.top1();
}

engine::PlanReport plan_report(const ir::Graph& g, int64_t batch) {
  engine::Engine eng(g, {});
  return engine::describe_plan(eng.plan_for(eng.input_types(batch)), eng.graph());
}

}  // namespace

TEST(ExactInt8, ZooStaticInt8PredictionsEqualTheReference) {
  // Not mobilenetv2: the same ops as mobilenet, and its 10,000 images on the reference integer
  // kernels take two minutes per ISA of the matrix.
  for (const char* m : {"lenet", "resnet", "mobilenet", "vit", "mlp"})
    expect_predictions_equal_reference(static_int8(m).graph, std::string(m) + " static-int8");
}

// PyTorch's eager-mode QAT quantizer, exported to QDQ ONNX: per-channel int8 weights over the
// full [-128, 127] range (every channel reaches 127 or -128), which qbench cannot re-quantize.
// On a CPU whose int8 pair sums saturate, its conv and Gemm layers must run as weight halves.
TEST(ExactInt8, FullRangeQdqFromPyTorchEqualsTheReference) {
  const std::string dir = std::string(QBENCH_TEST_DATA);
  const ir::Graph g = onnxio::load_model(dir + "/torch_qdq.onnx");
  const double top1 = expect_predictions_equal_reference(g, "torch_qdq (PyTorch QDQ)");
  // Independent of qbench: PyTorch's own top-1 for this fake-quantized model, recorded by the
  // script that made it. ONNX's QuantizeLinear divides where PyTorch multiplies by 1/scale, so
  // a few activations may round the other way; the top-1 must still agree closely.
  std::ifstream f(dir + "/torch_qdq.json");
  const nlohmann::json meta = nlohmann::json::parse(f);
  EXPECT_NEAR(top1, meta.at("fake_quant_top1").get<double>(), 0.001);

  const engine::PlanReport r = plan_report(g, 1);
  EXPECT_EQ(r.macs_int8, r.macs) << engine::coverage_line(r);
  const bool saturates = kernels::onednn::int8_behaviour().conv_pairs_saturate;
  int exact_paths = 0;
  for (const auto& n : r.nodes) {
    if (n.macs == 0) continue;
    EXPECT_EQ(n.kernel, "onednn") << n.name << ": " << n.rejected;
    // Weight halves on oneDNN, or qbench's own kernels (channels-last convolutions): int16
    // products, or bytes split into their low bits and the high bit.
    const bool exact = n.impl.find("7-bit") != std::string::npos ||
                       n.impl.find("qbench_int16") != std::string::npos ||
                       n.impl.find("split into 7 low bits") != std::string::npos;
    // The first conv has one input channel: no pairs to saturate, but its weights are
    // full-range all the same, so it takes an exact path too where the CPU saturates.
    EXPECT_EQ(exact, saturates) << n.name << ": " << n.impl;
    exact_paths += exact;
  }
  if (saturates) {
    EXPECT_EQ(exact_paths, 4);
  }
}

// No zoo plan holds oneDNN's reference implementation ("ref:any", "ref_int8:any"), and every
// node that multiplies (Conv, MatMul, Gemm and their integer forms) runs on an optimized kernel,
// for every recipe, at batch 1 and 64.
TEST(ExactInt8, ZooPlansUseNoReferenceImplementation) {
  for (const char* m : {"mlp", "lenet", "resnet", "mobilenet", "vit", "mobilenetv2"}) {
    const ir::Graph model = onnxio::load_model(model_path(m));
    for (quant::Recipe recipe : quant::all_recipes()) {
      quant::QuantizeOptions o;
      o.recipe = recipe;
      o.calib.data = "fashion-mnist";
      o.calib.size = 64;
      const ir::Graph g = recipe == quant::Recipe::Fp32 ? model : quant::quantize(model, o).graph;
      for (int64_t batch : {1, 64}) {
        const engine::PlanReport r = plan_report(g, batch);
        for (const auto& n : r.nodes) {
          const std::string where = std::string(m) + " " + quant::recipe_name(recipe) + " batch " +
                                    std::to_string(batch) + ": " + n.name + " (" + n.op_type + ")";
          EXPECT_FALSE(engine::is_onednn_reference(n.impl)) << where << " runs " << n.impl;
          if (n.macs > 0) {
            EXPECT_EQ(n.kernel, "onednn") << where << ": " << n.rejected;
          }
        }
      }
    }
  }
}

// Reduce-range (7-bit) weights cannot saturate a pair sum, so they run as one primitive on every
// CPU (no halves), and still equal the reference integer kernels.
TEST(ExactInt8, ReduceRangeRunsWithoutHalves) {
  quant::QuantizeOptions o;
  o.recipe = quant::Recipe::StaticInt8ReduceRange;
  o.calib.data = "fashion-mnist";
  const ir::Graph g = quant::quantize(onnxio::load_model(model_path("resnet")), o).graph;
  const engine::PlanReport r = plan_report(g, 1);
  int int8_layers = 0;
  for (const auto& n : r.nodes) {
    if (n.macs == 0) continue;
    int8_layers++;
    EXPECT_EQ(n.precision, "int8") << n.name;
    EXPECT_EQ(n.impl.find("7-bit"), std::string::npos) << n.name << ": " << n.impl;
  }
  EXPECT_GT(int8_layers, 0);
  expect_predictions_equal_reference(g, "resnet static-int8-rr");
}
