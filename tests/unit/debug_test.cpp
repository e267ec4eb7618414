// qbench debug (compare/debug.h): the SQNR arithmetic by hand, and on a zoo CNN whose
// calibration table has one activation range deliberately clipped to 10%, that layer ranks
// first, both by sensitivity and by its own SQNR, while the int8 kernels add no error of their own
// (the optimized plan matches the reference kernels on every quantized output).
#include "compare/debug.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "onnx/onnx_io.h"
#include "quant/calib_table.h"
#include "test_util.h"

using namespace qbench;

TEST(Debug, SqnrByHand) {
  const float x[] = {1, 2, 3, 4}, y[] = {1, 2, 3, 5}, z[] = {1, 2, 3, 4};
  compare::Sqnr s;
  s.add(x, y, 4);  // signal 1 + 4 + 9 + 16 = 30, noise 1
  EXPECT_NEAR(s.db(), 10 * std::log10(30.0), 1e-9);
  compare::Sqnr e;
  e.add(x, z, 4);
  EXPECT_EQ(e.db(), compare::kNoError);
}

namespace {

struct Broken {
  std::string victim;  // the node whose output range was cut
  std::string table;   // the edited calibration table
  quant::QuantizeOptions q;
};

// Calibrates the zoo's LeNet, then cuts one convolution's output range to 10% in the table.
Broken break_one_layer(const ir::Graph& m, const std::string& dir) {
  Broken b;
  b.q.recipe = quant::Recipe::StaticInt8;
  b.q.calib.data = "fashion-mnist";
  b.q.calib.size = 256;
  b.q.save_calib_table = dir + "/full.calib";
  quant::QuantizeResult full = quant::quantize(m, b.q);
  std::vector<const quant::QuantizedNode*> convs;
  for (const auto& n : full.quantized_nodes)
    if (n.op_type == "Conv" && !n.output.empty()) convs.push_back(&n);
  EXPECT_GE(convs.size(), 2u);
  const quant::QuantizedNode& victim = *convs.at(1);  // not the first: errors flow into it
  b.victim = victim.name;
  quant::CalibTable t = quant::load_calib_table(b.q.save_calib_table);
  bool found = false;
  for (auto& e : t.entries) {
    if (e.tensor != victim.output) continue;
    e.min *= 0.1f;
    e.max *= 0.1f;
    e.method = "edited";
    e.q = quant::activation_qparams({e.min, e.max}, quant::ActType::U8Asymmetric);
    found = true;
  }
  EXPECT_TRUE(found) << victim.output;
  b.table = dir + "/broken.calib";
  quant::save_calib_table(t, b.table);
  b.q.save_calib_table.clear();
  b.q.calib_table = b.table;
  return b;
}

}  // namespace

TEST(Debug, DeliberatelyClippedLayerRanksFirst) {
  const std::string path = test::models_dir() + "/lenet.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not in the zoo";
  // Per process: the ISA-matrix copies of this test run at the same time.
  const std::string dir = testing::TempDir() + "/qbench_debug_test_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const ir::Graph m = onnxio::load_model(path);
  const Broken b = break_one_layer(m, dir);

  for (bool sensitivity : {true, false}) {
    SCOPED_TRACE(sensitivity ? "ranked by sensitivity" : "ranked by own SQNR");
    compare::DebugOptions o;
    o.quant = b.q;
    o.data = "fashion-mnist";
    o.images = 300;
    o.kernel_images = 4;
    o.sensitivity = sensitivity;
    const compare::DebugReport r = compare::debug_quantization(m, "lenet", o);
    ASSERT_GE(r.layers.size(), 3u);
    EXPECT_EQ(r.layers[0].name, b.victim);
    EXPECT_EQ(r.ranked_by, sensitivity ? "only_sqnr" : "own_sqnr");
    const compare::LayerDebug& v = r.layers[0];
    // A range cut to 10% clips most of the positive outputs.
    EXPECT_GT(v.clipped, 0.05);
    EXPECT_LT(v.qmax, 0.2f * v.max);
    int with_output = 0;
    for (const auto& l : r.layers) {
      const bool weighted = l.op_type == "Conv" || l.op_type == "Gemm";
      if (weighted && l.name != b.victim && !l.tensor.empty()) {
        EXPECT_GT(l.own_sqnr, v.own_sqnr + 20) << l.name;
        EXPECT_LT(l.clipped, 0.01) << l.name;
      }
      if (l.tensor.empty()) continue;
      with_output++;
      // qbench's int8 plans are exact (every CPU, VNNI or not): no error beyond quantization.
      EXPECT_GT(l.kernel_values, 0) << l.name;
      EXPECT_EQ(l.kernel_mismatches, 0) << l.name << ": max " << l.kernel_max_steps << " steps";
      if (sensitivity) {
        // Weighted layers have both variants; data movement (MaxPool, Flatten) quantizes nothing
        // on its own and says so.
        if (weighted) {
          EXPECT_FALSE(std::isnan(l.only_sqnr)) << l.name << ": " << l.sensitivity_note;
          if (l.name != b.victim) {
            EXPECT_GT(l.only_sqnr, v.only_sqnr + 20) << l.name;
          }
        } else {
          EXPECT_TRUE(std::isnan(l.only_sqnr)) << l.name;
          EXPECT_NE(l.sensitivity_note.find("quantizes nothing"), std::string::npos) << l.name;
        }
        EXPECT_FALSE(std::isnan(l.float_top1)) << l.name;
      }
    }
    EXPECT_GE(with_output, 3);
    if (sensitivity) {
      // Quantizing the victim alone loses about what the whole model loses.
      EXPECT_LT(v.only_top1, r.fp32_top1);
    }
    EXPECT_GT(r.fp32_top1, 0.8);
    EXPECT_LT(r.quant_top1, r.fp32_top1);
    // Weights are per-channel int8: tens of dB, not exact.
    for (const auto& l : r.layers)
      if (l.op_type == "Conv") {
        EXPECT_GT(l.weight_sqnr, 25.0) << l.name;
      }
  }
  std::filesystem::remove_all(dir);
}

TEST(Debug, EqualizedVariantIsComparedWithItsOwnFloatModel) {
  // Cross-layer equalization rescales the channels of LeNet's first convolution (weights and
  // output) without changing the function: debug must compare that output and those weights
  // with the equalized float model, or they would look wrong by the scale factors (a few dB).
  const std::string path = test::models_dir() + "/lenet.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not in the zoo";
  const ir::Graph m = onnxio::load_model(path);
  compare::DebugOptions o;
  o.quant.recipe = quant::Recipe::StaticInt8;
  o.quant.calib.data = "fashion-mnist";
  o.quant.calib.size = 256;
  o.quant.per_channel = false;
  o.quant.equalize = true;
  o.data = "fashion-mnist";
  o.images = 100;
  o.kernel_images = 1;
  o.sensitivity = false;
  const compare::DebugReport r = compare::debug_quantization(m, "lenet", o);
  int convs = 0;
  for (const auto& l : r.layers) {
    if (l.op_type != "Conv") continue;
    convs++;
    EXPECT_GT(l.weight_sqnr, 20.0) << l.name;
    EXPECT_GT(l.own_sqnr, 20.0) << l.name;
    EXPECT_GT(l.model_sqnr, 15.0) << l.name;
  }
  EXPECT_EQ(convs, 2);
}
