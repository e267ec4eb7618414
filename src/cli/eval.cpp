#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "onnx/onnx_io.h"

namespace qbench::cli {
namespace {

struct EvalArgs {
  std::string model;
  std::string data;
  int64_t batch = 64;
  int threads = 1;
  int64_t limit = 0;
  std::string mean, std;
  data::ImageOptions image;
  bool json = false;
  bool reference = false;
  std::string predictions_out;
};

void run_eval(const EvalArgs& a) {
  ir::Graph g = onnxio::load_model(a.model);
  // --limit: a class-stratified sample, so a smoke test still sees every class.
  const data::Dataset ds =
      data::limit_stratified(data::load_dataset(a.data, data::Split::Test, a.image), a.limit);
  const data::Preprocess pp = eval::preprocess_for(g, ds, preprocess_from_flags(a.mean, a.std));
  engine::EngineOptions eo;
  eo.threads = a.threads;
  eo.optimized_kernels = !a.reference;
  engine::Engine eng(std::move(g), eo);
  eval::EvalOptions opts{a.batch, 0};
  eval::EvalResult r = eval::evaluate(eng, ds, pp, opts, progress_printer("eval", a.json));
  if (!a.predictions_out.empty()) {
    std::ofstream f(a.predictions_out);
    if (!f) fail("cannot write predictions file '{}'", a.predictions_out);
    for (int32_t p : r.predictions) f << p << '\n';
  }
  if (a.json) {
    nlohmann::json j = {{"model", a.model},
                        {"data", ds.name},
                        {"n", r.n},
                        {"top1", r.top1()},
                        {"top5", r.top5()},
                        {"correct_top1", r.correct_top1},
                        {"correct_top5", r.correct_top5},
                        {"batch", r.batch},
                        {"seconds", r.seconds},
                        {"images_per_second", r.seconds > 0 ? r.n / r.seconds : 0.0},
                        {"data_seconds", r.data_seconds},
                        {"data_images_per_second", r.data_seconds > 0 ? r.n / r.data_seconds : 0.0},
                        {"wall_seconds", r.wall_seconds},
                        {"preprocess", {{"mean", pp.mean}, {"std", pp.std}, {"source", pp.source}}},
                        {"kernels", a.reference ? "reference" : "optimized"},
                        {"machine", machine_json(a.threads)}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  fmt::print("model       {}\n", a.model);
  fmt::print("data        {}, {} images\n", ds.name, r.n);
  fmt::print("preprocess  {}: mean {} std {}\n", pp.source, pp.mean, pp.std);
  fmt::print("top-1       {:.4f}  ({}/{})\n", r.top1(), r.correct_top1, r.n);
  fmt::print("top-5       {:.4f}  ({}/{})\n", r.top5(), r.correct_top5, r.n);
  fmt::print("time        {:.3f} s in the engine ({:.0f} images/s, batch {}, {} thread{}{})\n",
             r.seconds, r.seconds > 0 ? r.n / r.seconds : 0.0, r.batch, a.threads,
             a.threads > 1 ? "s" : "", a.reference ? ", reference kernels" : "");
  fmt::print("            {:.3f} s reading and preprocessing ({:.0f} images/s, overlapping the "
             "engine); {:.3f} s in all\n",
             r.data_seconds, r.data_seconds > 0 ? r.n / r.data_seconds : 0.0, r.wall_seconds);
}

}  // namespace

void register_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* c = app.add_subcommand("eval", "Evaluate a classifier's top-1/top-5 on a test set");
  c->add_option("--model", a->model, "ONNX model file")->required();
  c->add_option("--data", a->data, std::string("Test set: ") + kDataSpecHelp)->required();
  c->add_option("--batch", a->batch,
                "Images per inference (a model with a fixed batch uses its own)")
      ->check(in_range(1, 65536))
      ->capture_default_str();
  c->add_option("--threads", a->threads, "Threads for every kernel")
      ->check(in_range(1, 1024))
      ->capture_default_str();
  c->add_option("--limit", a->limit, "Evaluate N images, a class-stratified seeded sample (0: all; --predictions lists them in index order)")
      ->check(in_range(0, 1000000000000))
      ->capture_default_str();
  add_normalize_options(c, a->mean, a->std);
  add_image_options(c, a->image);
  c->add_flag("--reference", a->reference,
              "Run the plain reference kernels only (slow; the oracle)");
  c->add_option("--predictions", a->predictions_out,
                "Write the predicted label of each image, one per line");
  c->add_flag("--json", a->json,
              "Print one JSON object on stdout (n, top1, top5 as fractions, ...)");
  c->callback([a] { run_eval(*a); });
}

}  // namespace qbench::cli
