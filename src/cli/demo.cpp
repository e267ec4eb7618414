#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "data/npy.h"
#include "onnx/onnx_io.h"

namespace qbench::cli {
namespace {

struct DemoArgs {
  std::string zoo;
  std::string data = "fashion-mnist";
  int threads = 2;
  int64_t batch = 64;
  bool json = false;
};

// zoo.json paths are relative to the zoo directory or to the directory above it (the repo root).
std::string zoo_path(const std::string& zoo, const std::string& p) {
  for (const auto& base : {std::filesystem::path(zoo), std::filesystem::path(zoo).parent_path()})
    if (std::filesystem::exists(base / p)) return (base / p).string();
  fail("model zoo file '{}' (listed in {}/zoo.json) does not exist", p, zoo);
}

std::string default_zoo_dir() {
  if (std::filesystem::exists("models/zoo.json")) return "models";
  return std::string(QBENCH_SOURCE_DIR) + "/models";
}

void run_demo(const DemoArgs& a) {
  const std::string zoo = a.zoo.empty() ? default_zoo_dir() : a.zoo;
  const std::string index = zoo + "/zoo.json";
  std::ifstream f(index);
  if (!f) fail("cannot open the model zoo index '{}'", index);
  nlohmann::json z;
  try {
    z = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    fail("'{}' is not valid JSON: {}", index, e.what());
  }
  data::Dataset ds = data::load_dataset(a.data, data::Split::Test);
  nlohmann::json rows = nlohmann::json::array();
  if (!a.json)
    fmt::print("qbench demo: FP32 on the zoo, {} ({} images), {} threads\n\n", ds.name, ds.count,
               a.threads);
  if (!a.json)
    fmt::print("{:<10} {:>8} {:>8} {:>8} {:>10} {:>12} {:>10}\n", "model", "params", "top-1",
               "top-5", "PyTorch", "agreement", "images/s");
  for (const auto& m : z.at("models")) {
    const std::string name = m.at("name");
    const std::string file = zoo_path(zoo, m.at("file"));
    ir::Graph g = onnxio::load_model(file);
    data::Preprocess pp = eval::model_preprocess(g);
    engine::EngineOptions eo;
    eo.threads = a.threads;
    engine::Engine eng(std::move(g), eo);
    eval::EvalResult r = eval::evaluate(eng, ds, pp, {a.batch, 0},
                                        progress_printer("eval " + name, a.json));
    // Agreement with PyTorch's own predictions on the same images.
    Tensor ref = data::load_npy(zoo_path(zoo, m.at("reference").at("pred")));
    std::vector<int64_t> ref_pred = ref.to_int64();
    int64_t agree = 0;
    for (size_t i = 0; i < r.predictions.size() && i < ref_pred.size(); ++i)
      agree += r.predictions[i] == ref_pred[i];
    const double pt_top1 = m.at("pytorch").at("top1");
    const int64_t params = eng.graph().parameter_count();
    rows.push_back({{"model", name},
                    {"params", params},
                    {"n", r.n},
                    {"top1", r.top1()},
                    {"top5", r.top5()},
                    {"pytorch_top1", pt_top1},
                    {"agreement_with_pytorch", double(agree) / double(r.n)},
                    {"images_per_second", r.n / r.seconds}});
    if (!a.json)
      fmt::print("{:<10} {:>8} {:>8.4f} {:>8.4f} {:>10.4f} {:>6}/{:<5} {:>10.0f}\n", name, params,
                 r.top1(), r.top5(), pt_top1, agree, r.n, r.n / r.seconds);
  }
  if (a.json) {
    std::cout << nlohmann::json{{"data", ds.name}, {"models", rows},
                                {"machine", machine_json(a.threads)}}
                     .dump(2)
              << "\n";
  } else {
    fmt::print("\ntop-1/top-5 by qbench's engine; 'PyTorch' is the top-1 PyTorch recorded when it "
               "trained the zoo;\nagreement counts test images where qbench and PyTorch predict "
               "the same label.\n");
  }
}

}  // namespace

void register_demo(CLI::App& app) {
  auto a = std::make_shared<DemoArgs>();
  CLI::App* c = app.add_subcommand(
      "demo", "Evaluate the bundled model zoo on Fashion-MNIST (no arguments, no downloads)");
  c->add_option("--zoo", a->zoo, "Model zoo directory holding zoo.json (default: ./models or the "
                                 "source tree's models/)");
  c->add_option("--data", a->data, "Test set (see eval --data)")->capture_default_str();
  c->add_option("--threads", a->threads, "Threads for every kernel")->capture_default_str();
  c->add_option("--batch", a->batch, "Images per inference")->capture_default_str();
  c->add_flag("--json", a->json, "Print one JSON object on stdout");
  c->callback([a] { run_demo(*a); });
}

}  // namespace qbench::cli
