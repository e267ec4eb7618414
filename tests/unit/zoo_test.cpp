// The zoo evaluated by qbench in FP32 must reproduce PyTorch: the same top-1 count and the same
// predicted label on at least 9,995 of the 10,000 test images (PyTorch's predictions and logits
// were recorded by models/train_zoo.py when it trained and exported the models).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "data/npy.h"
#include "eval/evaluate.h"
#include "onnx/onnx_io.h"
#include "test_util.h"

using namespace qbench;

namespace {

nlohmann::json zoo() {
  std::ifstream f(test::models_dir() + "/zoo.json");
  return nlohmann::json::parse(f);
}

std::string repo_path(const std::string& p) {
  return test::models_dir() + "/../" + p;
}

const data::Dataset& test_set() {
  static data::Dataset ds = data::load_dataset("fashion-mnist", data::Split::Test);
  return ds;
}

}  // namespace

class Zoo : public ::testing::TestWithParam<std::string> {
 protected:
  nlohmann::json entry() {
    const nlohmann::json z = zoo();
    for (const auto& m : z.at("models"))
      if (m.at("name") == GetParam()) return m;
    ADD_FAILURE() << "no zoo entry " << GetParam();
    return {};
  }
};

TEST_P(Zoo, Fp32MatchesPyTorchOnTheTestSet) {
  nlohmann::json m = entry();
  ir::Graph g = onnxio::load_model(repo_path(m.at("file")));
  data::Preprocess pp = eval::model_preprocess(g);
  engine::EngineOptions eo;
  eo.threads = 2;
  engine::Engine eng(g, eo);
  eval::EvalResult r = eval::evaluate(eng, test_set(), pp, {64, 0});
  ASSERT_EQ(r.n, 10000);
  EXPECT_EQ(r.correct_top1, m.at("pytorch").at("correct_top1").get<int64_t>());
  EXPECT_NEAR(r.top5(), m.at("pytorch").at("top5").get<double>(), 1e-4);
  std::vector<int64_t> ref = data::load_npy(repo_path(m.at("reference").at("pred"))).to_int64();
  ASSERT_EQ(ref.size(), 10000u);
  int agree = 0;
  for (int i = 0; i < 10000; ++i) agree += r.predictions[i] == ref[i];
  EXPECT_GE(agree, 9995);
}

// Logits of the first 64 images, from the optimized and the reference kernels, against PyTorch.
TEST_P(Zoo, LogitsMatchPyTorch) {
  nlohmann::json m = entry();
  ir::Graph g = onnxio::load_model(repo_path(m.at("file")));
  Tensor want = data::load_npy(repo_path(m.at("reference").at("logits64")));
  ASSERT_EQ(want.shape(), (Shape{64, 10}));
  eval::InputBinding bind = eval::bind_input(g, test_set());
  Tensor x = data::make_batch(test_set(), 0, 64, eval::model_preprocess(g), bind.layout,
                              bind.sample_shape);
  engine::EngineOptions reference;
  reference.optimized_kernels = false;
  reference.optimize_graph = false;
  for (const auto& opts : {engine::EngineOptions{}, reference}) {
    Tensor got = engine::Engine(g, opts).run({x})[0];
    EXPECT_LT(test::max_rel_diff(got, want), 1e-4f)
        << (opts.optimized_kernels ? "optimized" : "reference");
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Zoo,
                         ::testing::Values("mlp", "lenet", "resnet", "mobilenet", "vit",
                                           "mobilenetv2"));
