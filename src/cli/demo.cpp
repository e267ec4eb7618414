// qbench demo: `compare` on every model of the bundled zoo with Fashion-MNIST, no arguments and
// no downloads. Also checks the FP32 engine against the predictions PyTorch recorded when it
// trained the zoo (the agreement column), which is what makes the other numbers believable.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "compare/cluster.h"
#include "compare/compare.h"
#include "data/npy.h"
#include "kernels/kernel.h"
#include "onnx/onnx_io.h"
#include "quant/recipes.h"
#include "report/json.h"
#include "report/reporter.h"

namespace qbench::cli {
namespace {

struct DemoArgs {
  std::string zoo;
  std::string data = "fashion-mnist";
  std::string out = "qbench-demo-out";
  std::vector<std::string> models;
  int threads = 1;
  int64_t limit = 0;
  double min_seconds = 1.0;
  bool fresh = false;
  bool json = false;
  std::vector<std::string> peers{"ort"};
  bool no_peers = false;
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

// The recipes that make sense for a model: reduced float everywhere, static int8 where there are
// convolutions, dynamic int8 and weight-only where there are MatMul/Gemm layers (MLP, ViT).
std::vector<std::string> demo_recipes(const ir::Graph& g) {
  bool conv = false, matmul = false;
  for (const auto& n : g.nodes) {
    const kernels::Dense family = kernels::float_dense(n);
    conv |= family == kernels::Dense::Conv;
    matmul |= family == kernels::Dense::MatMul || family == kernels::Dense::Gemm;
  }
  std::vector<std::string> r = {"fp32", "bf16", "fp16", "static-int8", "static-int8-rr"};
  if (matmul) r.insert(r.end(), {"dynamic-int8", "weight-only-int8"});
  if (matmul && !conv) r.push_back("weight-only-int4");
  return r;
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
  nlohmann::json all = nlohmann::json::array();
  std::vector<std::string> agreement_lines, reports;
  if (!z.contains("models") || !z.at("models").is_array())
    fail("'{}' has no \"models\" list", index);
  for (const auto& m : z.at("models")) {
    if (!m.contains("name") || !m.at("name").is_string() || !m.contains("file") ||
        !m.at("file").is_string())
      fail("'{}': every model entry needs a \"name\" and a \"file\" string", index);
    const std::string name = m.at("name");
    // The name becomes a directory under --out: a plain name only, never a path.
    if (name.empty() || name.front() == '.' ||
        name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            std::string::npos)
      fail(
          "'{}': model name '{}' must be letters, digits, '_', '-' and '.' (not starting with "
          "'.'): it names a directory under --out",
          index, name);
    if (!a.models.empty() && std::find(a.models.begin(), a.models.end(), name) == a.models.end())
      continue;
    compare::CompareOptions o;
    o.model = zoo_path(zoo, m.at("file"));
    o.data = a.data;
    o.recipes = demo_recipes(onnxio::load_model(o.model));
    // A model may ask for more variants (the zoo's MobileNetV2 shows per-tensor weights failing
    // and what recovers them): "demo_variants", compare's recipe[+option] names.
    if (m.contains("demo_variants")) {
      const auto& extra = m.at("demo_variants");
      if (!extra.is_array())
        fail("'{}': \"demo_variants\" of model '{}' must be a list of strings", index, name);
      for (const auto& v : extra) {
        if (!v.is_string())
          fail("'{}': \"demo_variants\" of model '{}' must be a list of strings", index, name);
        quant::parse_variant(v.get<std::string>());  // names a bad one now, not mid-run
        o.recipes.push_back(v.get<std::string>());
      }
    }
    o.calib_size = 256;
    o.limit = a.limit;
    o.bench.threads = a.threads;
    o.bench.min_seconds = a.min_seconds;
    o.bench.warmup_seconds = 0.2;
    o.bench.min_queries = 50;
    o.out_dir = (std::filesystem::path(a.out) / name).string();
    o.use_cache = !a.fresh;
    if (!a.no_peers) o.peers = a.peers;
    o.progress = [](const std::string& label) { return progress_printer(label, false); };
    if (!a.json) std::fprintf(stderr, "== %s ==\n", name.c_str());
    if (cluster::World::get().distributed())
      fail("demo runs in one process; run `qbench compare` under mpirun to spread a comparison");
    report::CompareResults r = compare::run_compare(o);
    compare::write_reports(r, o.out_dir);
    reports.push_back(o.out_dir + "/report.html");

    // FP32 against PyTorch's own predictions on the same images.
    const report::VariantResult* fp32 = nullptr;
    for (const auto& v : r.variants)
      if (v.recipe == "fp32") fp32 = &v;
    std::vector<int64_t> ref =
        data::load_npy(zoo_path(zoo, m.at("reference").at("pred"))).to_int64();
    // With --limit, compare evaluated a stratified sample; image_origin says which images.
    const std::vector<int64_t>& which = r.image_origin;
    int64_t agree = 0, n = 0;
    for (size_t i = 0; fp32 && i < fp32->predictions.size(); ++i, ++n) {
      const size_t at = which.empty() ? i : size_t(which.at(i));
      if (at >= ref.size())
        fail("'{}': the reference predictions of '{}' hold {} labels, fewer than the test set",
             index, name, ref.size());
      agree += fp32->predictions[i] == ref[at];
    }
    const double pt_top1 = m.at("pytorch").at("top1");
    agreement_lines.push_back(fmt::format("{:<12} {:>8.2f}% {:>8.2f}% {:>8}/{:<6} {:>8.2f}%", name,
                                          fp32 ? 100 * fp32->top1() : 0.0, 100 * pt_top1, agree, n,
                                          n ? 100.0 * agree / n : 0.0));
    nlohmann::json j = report::to_json(r);
    j["name"] = name;
    j["pytorch"] = {{"top1", pt_top1}, {"agreement", n ? double(agree) / n : 0.0}, {"n", n}};
    all.push_back(j);
    if (!a.json) {
      fmt::print("== {} ==\n", name);
      report::ConsoleReporter{}.report(r, std::cout);
      fmt::print("report   {}\n\n", reports.back());
      std::cout.flush();
    }
  }
  if (a.json) {
    std::cout << nlohmann::json{{"schema", "qbench.demo"},
                                {"schema_version", report::kSchemaVersion},
                                {"models", all}}
                     .dump(2)
              << "\n";
    return;
  }
  fmt::print("== FP32: qbench's engine vs PyTorch ==\n{:<12} {:>9} {:>9} {:>15} {:>9}\n", "model",
             "top-1", "PyTorch", "same label", "agree");
  for (const auto& l : agreement_lines) fmt::print("{}\n", l);
  fmt::print(
      "\nPyTorch's top-1 was recorded when it trained the zoo; 'same label' counts test "
      "images where\nqbench's FP32 engine and PyTorch predict the same class.\n\nreports:\n");
  for (const auto& r : reports) fmt::print("  {}\n", r);
}

}  // namespace

void register_demo(CLI::App& app) {
  auto a = std::make_shared<DemoArgs>();
  CLI::App* c = app.add_subcommand(
      "demo",
      "Compare every recipe that applies on the bundled model zoo with Fashion-MNIST (no "
      "arguments, no downloads); cached, so a second run is instant");
  c->add_option("--zoo", a->zoo,
                "Model zoo directory holding zoo.json (default: ./models or the "
                "source tree's models/)");
  c->add_option("--data", a->data, "Test set (see eval --data)")->capture_default_str();
  c->add_option("--out", a->out, "Output directory: one compare report per model")
      ->capture_default_str();
  c->add_option("--models", a->models, "Only these zoo models (comma separated)")->delimiter(',');
  c->add_option("--threads", a->threads, "Threads for every kernel")
      ->check(in_range(1, 1024))
      ->capture_default_str();
  c->add_option("--limit", a->limit, "Evaluate N test images, a class-stratified seeded sample (0: all)")
      ->check(in_range(0, 1000000000000))
      ->capture_default_str();
  c->add_option("--min-seconds", a->min_seconds, "Seconds of timing per variant and phase")
      ->check(in_range(0, 3600))
      ->capture_default_str();
  c->add_option("--peers", a->peers,
                "Other engines that run every variant's file too (see compare --peers); a "
                "missing one is a note saying how to install it")
      ->delimiter(',')
      ->capture_default_str();
  c->add_flag("--no-peers", a->no_peers, "No peer engines");
  c->add_flag("--fresh", a->fresh, "Ignore cached results");
  c->add_flag("--json", a->json, "Print one JSON object on stdout");
  c->callback([a] { run_demo(*a); });
}

}  // namespace qbench::cli
