// qbench debug: which layer of a static-int8 model loses the accuracy, and whether the
// quantization or the kernel is to blame (compare/debug.h).
#include "compare/debug.h"

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/quantize_options.h"
#include "onnx/onnx_io.h"

namespace qbench::cli {
namespace {

struct DebugArgs {
  QuantizeArgs q;
  std::string data;
  int64_t images = 256;
  int64_t batch = 64;
  int64_t kernel_images = 8;
  uint32_t seed = 20240601;
  bool no_sensitivity = false;
  size_t rows = 30;
  std::string json_out, html_out;
};

void run_debug(DebugArgs a) {
  if (a.q.calib_data.empty()) a.q.calib_data = a.data;  // the same set's train split
  compare::DebugOptions o;
  o.quant = options_of(a.q);
  o.data = a.data;
  o.image = a.q.image;
  o.preprocess = preprocess_from_flags(a.q.mean, a.q.std);
  o.images = a.images;
  o.batch = a.batch;
  o.seed = a.seed;
  o.threads = a.q.threads;
  o.sensitivity = !a.no_sensitivity;
  o.kernel_images = a.kernel_images;
  o.progress = [](const std::string& s) { fmt::print(stderr, "debug: {}\n", s); };
  const ir::Graph g = onnxio::load_model(a.q.model);
  const compare::DebugReport r = compare::debug_quantization(g, a.q.model, o);
  print_debug(r, a.rows);
  if (!a.json_out.empty()) {
    nlohmann::json j = compare::to_json(r);
    j["machine"] = machine_json(o.threads);
    write_text_file(a.json_out, j.dump(2) + "\n");
    fmt::print("wrote       {}\n", a.json_out);
  }
  if (!a.html_out.empty()) {
    write_text_file(a.html_out, compare::debug_html(r));
    fmt::print("wrote       {}\n", a.html_out);
  }
}

}  // namespace

void register_debug(CLI::App& app) {
  auto a = std::make_shared<DebugArgs>();
  a->q.recipe = "static-int8";
  CLI::App* c = app.add_subcommand(
      "debug",
      "Find the layers a static-int8 model loses accuracy in: per layer SQNR of weights and "
      "activations, clipping, sensitivity (only this layer quantized / only this layer float) and "
      "the error the int8 kernels add beyond the quantization");
  c->add_option("--model", a->q.model, "ONNX model file (FP32)")->required();
  c->add_option("--recipe", a->q.recipe, "static-int8 or static-int8-rr")->capture_default_str();
  c->add_option("--data", a->data,
                std::string("Test set whose TEST split is sampled (and whose train split "
                            "calibrates unless --calib-data or --calib-table says otherwise): ") +
                    kDataSpecHelp)
      ->required();
  c->add_option("--images", a->images, "Test images, a seeded sample")
      ->check(in_range(1, 100000000))
      ->capture_default_str();
  c->add_option("--seed", a->seed, "Seed of the test image sample")->capture_default_str();
  c->add_option("--batch", a->batch, "Batch size")
      ->check(in_range(1, 65536))
      ->capture_default_str();
  c->add_flag("--no-sensitivity", a->no_sensitivity,
              "Skip the two quantize-and-evaluate runs per layer; rank by each layer's own SQNR");
  c->add_option("--kernel-images", a->kernel_images,
                "Images for the kernel check against the reference kernels (0: skip)")
      ->check(in_range(0, 100000))
      ->capture_default_str();
  c->add_option("--rows", a->rows, "Layers shown in the console table (0: all)")
      ->capture_default_str();
  c->add_option("--json", a->json_out, "Write the report as JSON to this file");
  c->add_option("--html", a->html_out, "Write the report as a self-contained HTML page");
  add_quantize_options(c, a->q, /*static_only=*/true);
  c->callback([a] { run_debug(*a); });
}

}  // namespace qbench::cli
