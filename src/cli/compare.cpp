#include "compare/compare.h"
#include "compare/cluster.h"

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "quant/recipes.h"
#include "report/json.h"
#include "report/reporter.h"

namespace qbench::cli {
namespace {

struct CompareArgs {
  compare::CompareOptions opts;
  bool json = false;
  bool fresh = false;
  std::string mean, std;
};

void run_compare(CompareArgs a) {
  a.opts.use_cache = !a.fresh;
  a.opts.preprocess = preprocess_from_flags(a.mean, a.std);
  if (a.opts.limit < 0) fail("--limit must be >= 0 (got {})", a.opts.limit);
  if (a.opts.bench.threads < 1) fail("--threads must be at least 1 (got {})", a.opts.bench.threads);
  if (a.opts.calib_size < 1) fail("--calib-size must be at least 1 (got {})", a.opts.calib_size);
  a.opts.progress = [](const std::string& label) { return progress_printer(label, false); };
  report::CompareResults r = compare::run_compare(a.opts);
  if (cluster::World::get().rank() != 0) return;  // under mpirun, rank 0 reports
  compare::write_reports(r, a.opts.out_dir);
  if (a.json) {
    report::JsonReporter{}.report(r, std::cout);
    return;
  }
  report::ConsoleReporter{}.report(r, std::cout);
  std::cout << "\nreport   " << a.opts.out_dir << "/report.html (also report.md, results.json, "
            << "results.csv)\n";
}

}  // namespace

void register_compare(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  auto& o = a->opts;
  o.recipes = {"fp32", "bf16", "dynamic-int8", "static-int8", "static-int8-rr"};
  std::string recipes;
  for (auto r : quant::all_recipes())
    recipes += fmt::format("\n  {}: {}", quant::recipe_name(r), quant::recipe_description(r));
  CLI::App* c = app.add_subcommand(
      "compare",
      "Quantize a model with several recipes and compare every variant with FP32: "
      "accuracy (paired tests), latency, throughput, size, memory, coverage");
  c->add_option("--model", o.model, "ONNX model file")->required();
  c->add_option("--data", o.data, std::string("Test set: ") + kDataSpecHelp)->required();
  add_normalize_options(c, a->mean, a->std, "; calibration images too");
  add_image_options(c, o.image);
  c->add_option("--recipes", o.recipes,
                "Recipes, comma separated (fp32 is always added); a recipe may take options after "
                "'+': per-tensor (one scale per weight tensor), equalize (cross-layer "
                "equalization; +relu6-to-relu lets it pass ReLU6, replaced by Relu), bias-correct and smooth-quant (static-int8: bias correction, SmoothQuant), e.g. "
                "static-int8+per-tensor+equalize; each is a variant of its own:" +
                    recipes)
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--calib-data", o.calib_data,
                "static-int8: dataset whose TRAIN split calibrates (default: --data)");
  c->add_option("--calib-size", o.calib_size, "static-int8: calibration images")
      ->check(in_range(1, 10000000))
      ->capture_default_str();
  c->add_option("--limit", o.limit, "Evaluate N test images, a class-stratified seeded sample (0: all)")
      ->check(in_range(0, 1000000000000))
      ->capture_default_str();
  c->add_option("--eval-batch", o.eval_batch, "Images per inference during evaluation")
      ->check(in_range(1, 65536))
      ->capture_default_str();
  c->add_option("--batch", o.bench.batch, "Offline throughput batch")
      ->check(in_range(1, 65536))
      ->capture_default_str();
  c->add_option("--threads", o.bench.threads,
                "Threads for every kernel (1 gives repeatable timings on small VMs)")
      ->check(in_range(1, 1024))
      ->capture_default_str();
  c->add_option("--warmup-s", o.bench.warmup_seconds, "Warm-up seconds per variant")
      ->check(in_range(0, 3600))
      ->capture_default_str();
  c->add_option("--min-queries", o.bench.min_queries, "Batch-1 queries timed per variant, at least")
      ->check(in_range(1, 1000000000))
      ->capture_default_str();
  c->add_option("--min-seconds", o.bench.min_seconds,
                "Seconds of batch-1 timing (and of offline timing) per variant, at least")
      ->check(in_range(0, 3600))
      ->capture_default_str();
  c->add_option("--out", o.out_dir,
                "Directory for results.json, results.csv, report.md, report.html, the variants' "
                "ONNX files and the cache")
      ->capture_default_str();
  c->add_option("--peers", o.peers,
                "Also run each variant's file in other engines, comma separated: ort (ONNX "
                "Runtime through Node and npm onnxruntime-node); torch only notes that an ONNX "
                "file gives no PyTorch module to run. Interleaved timing rounds and the peer's "
                "accuracy, as rows marked peers")
      ->delimiter(',');
  c->add_flag("--fresh", a->fresh, "Ignore cached variant results and measure everything again");
  c->add_flag("--json", a->json, "Print results.json's object on stdout instead of the table");
  c->callback([a] { run_compare(*a); });
}

}  // namespace qbench::cli
