// The int16 saturation risk of an int8 file (quant/saturation.h), against hand-counted cases and
// against the counts tests/data/make_torch_qdq.py computed in numpy for the PyTorch QDQ file.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "onnx/onnx_io.h"
#include "quant/recipes.h"
#include "quant/saturation.h"
#include "test_util.h"

using namespace qbench;

namespace {

Tensor int8_tensor(Shape s, std::vector<int8_t> v) {
  Tensor t(DType::I8, s);
  std::copy(v.begin(), v.end(), t.data<int8_t>());
  return t;
}

// Q/DQ(x), DequantizeLinear(w) -> op (x stays float when `weight_only`); the weight's layout
// decides which pairs are adjacent.
ir::Graph one_layer(const std::string& op, Tensor w, bool trans_b = false,
                    bool weight_only = false) {
  ir::Graph g;
  g.opsets[""] = 13;
  test::add_input(g, "x", {{1, ""}, {4, ""}});
  test::add_constant(g, "w_q", std::move(w));
  Tensor s(DType::F32, {});
  s.data<float>()[0] = 0.1f;
  test::add_constant(g, "w_s", s);
  test::add_constant(g, "x_s", s);
  test::add_node(g, "DequantizeLinear", {"w_q", "w_s"}, {"w"});
  test::add_node(g, "QuantizeLinear", {"x", "x_s"}, {"x_q"});
  test::add_node(g, "DequantizeLinear", {"x_q", "x_s"}, {"x_dq"});
  ir::Node& n = test::add_node(g, op, {weight_only ? "x" : "x_dq", "w"}, {"y"});
  if (trans_b) n.attrs["transB"] = ir::Attribute::of_int(1);
  g.outputs = {"y"};
  return g;
}

}  // namespace

// MatMul B is [K, N]: pairs are rows (k, k+1) in one column. Column 0 holds 100 and 29 (sum 129:
// 255 * 129 = 32895 > 32767), column 1 holds 100 and 28 (128: 32640, fits), column 2 holds 120
// and -120 (opposite signs never add up).
TEST(SaturationRisk, CountsSameSignPairsAlongK) {
  ir::Graph g = one_layer("MatMul", int8_tensor({4, 3}, {100, 100, 120,  //
                                                         29, 28, -120,   //
                                                         -64, -64, 0,    //
                                                         -65, -64, 0}));
  const quant::SaturationRisk r = quant::saturation_risk(g);
  EXPECT_EQ(r.layers, 1);
  EXPECT_EQ(r.pairs, 6);          // 2 pairs of rows x 3 columns
  EXPECT_EQ(r.pairs_at_risk, 2);  // (100, 29) and (-64, -65)
  EXPECT_EQ(r.layers_at_risk, 1);
}

// Gemm with transB: B is [N, K], pairs are adjacent in memory along K.
TEST(SaturationRisk, GemmTransBPairsAlongRows) {
  ir::Graph g = one_layer("Gemm", int8_tensor({2, 4}, {127, 2, 0, 0, 64, 64, -127, -127}), true);
  const quant::SaturationRisk r = quant::saturation_risk(g);
  EXPECT_EQ(r.pairs, 4);
  EXPECT_EQ(r.pairs_at_risk, 2);  // (127, 2) and (-127, -127); (64, 64) sums to 128, which fits
}

// Seven-bit weights never overflow: the reduce-range recipe has no risky pair.
TEST(SaturationRisk, ReduceRangeWeightsHaveNone) {
  ir::Graph g = one_layer("MatMul", int8_tensor({2, 2}, {64, 64, 64, -64}));
  EXPECT_EQ(quant::saturation_risk(g).pairs_at_risk, 0);
  EXPECT_EQ(quant::saturation_risk(g).summary(), "none");
}

// Weight-only files compute in float (the activation is not quantized): no integer pairs.
TEST(SaturationRisk, WeightOnlyComputesInFloat) {
  ir::Graph g = one_layer("MatMul", int8_tensor({2, 2}, {127, 127, 127, 127}), false, true);
  EXPECT_EQ(quant::saturation_risk(g).layers, 0);
  EXPECT_EQ(quant::saturation_risk(one_layer("MatMul", int8_tensor({2, 2}, {127, 127, 127, 127})))
                .pairs_at_risk,
            2);
}

TEST(SaturationRisk, FloatModelHasNoInt8Layers) {
  const quant::SaturationRisk r =
      quant::saturation_risk(onnxio::load_model(test::models_dir() + "/lenet.onnx"));
  EXPECT_EQ(r.layers, 0);
  EXPECT_EQ(r.summary(), "-");
}

// The PyTorch QDQ file: per-layer counts recorded by its generating script (numpy, conv pairs
// of input channels at each tap, the Linear's pairs along its input features).
TEST(SaturationRisk, PyTorchQdqFileMatchesItsScript) {
  const std::string dir = QBENCH_TEST_DATA;
  std::ifstream f(dir + "/torch_qdq.json");
  const nlohmann::json meta = nlohmann::json::parse(f);
  const quant::SaturationRisk r =
      quant::saturation_risk(onnxio::load_model(dir + "/torch_qdq.onnx"));
  EXPECT_EQ(r.layers, int64_t(meta.at("layers").size()));
  EXPECT_EQ(r.pairs, meta.at("pairs_total").get<int64_t>());
  EXPECT_EQ(r.pairs_at_risk, meta.at("pairs_overflowing_int16_total").get<int64_t>());
  int64_t at_risk = 0;
  for (const auto& [name, l] : meta.at("layers").items())
    at_risk += l.at("pairs_overflowing_int16").get<int64_t>() > 0;
  EXPECT_EQ(r.layers_at_risk, at_risk);
}

// static-int8-rr stores weights in [-64, 64]; static-int8 uses the full [-127, 127].
TEST(SaturationRisk, StaticInt8RrQuantizesToSevenBits) {
  const ir::Graph model = onnxio::load_model(test::models_dir() + "/resnet.onnx");
  quant::QuantizeOptions o;
  o.recipe = quant::Recipe::StaticInt8ReduceRange;
  o.calib.data = "fashion-mnist";
  o.calib.size = 64;
  const quant::QuantizeResult rr = quant::quantize(model, o);
  int max_abs = 0;
  for (const auto& [name, v] : rr.graph.values)
    if (v.is_constant() && v.data->dtype() == DType::I8)
      for (int64_t i = 0; i < v.data->numel(); ++i)
        max_abs = std::max(max_abs, std::abs(int(v.data->data<int8_t>()[i])));
  EXPECT_EQ(max_abs, 64);
  EXPECT_EQ(quant::saturation_risk(rr.graph).pairs_at_risk, 0);
  o.recipe = quant::Recipe::StaticInt8;
  EXPECT_GT(quant::saturation_risk(quant::quantize(model, o).graph).pairs_at_risk, 0);
}
