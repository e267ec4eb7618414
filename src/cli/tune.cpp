// qbench tune: the fastest (or smallest) static-int8 variant within a top-1 drop (compare/tune.h).
#include "compare/tune.h"


#include "cli/commands.h"
#include "cli/common.h"
#include "cli/quantize_options.h"
#include "onnx/onnx_io.h"
#include "quant/range.h"

namespace qbench::cli {
namespace {

struct TuneArgs {
  QuantizeArgs q;
  std::string data, out, trace;
  int64_t tune_images = 2000;
  uint32_t seed = 20240601;
  int64_t batch = 64;
  double max_drop = 0.5;
  std::string drop_type = "absolute", objective = "latency";
  std::vector<std::string> ranges{"mse", "percentile", "minmax"};
  double time_budget = 600;
  bool no_bf16 = false;
  bool no_equalize_stage = false;
};

void run_tune(TuneArgs a) {
  if (a.q.calib_data.empty()) a.q.calib_data = a.data;
  compare::TuneOptions o;
  o.quant = options_of(a.q);
  o.quant.save_calib_table.clear();  // written below, from the chosen configuration
  o.ranges.clear();
  for (const auto& m : a.ranges) o.ranges.push_back(quant::parse_range_method(m));
  o.data = a.data;
  o.image = a.q.image;
  o.preprocess = preprocess_from_flags(a.q.mean, a.q.std);
  o.tune_images = a.tune_images;
  o.seed = a.seed;
  o.batch = a.batch;
  o.threads = a.q.threads;
  o.max_drop = a.max_drop;
  if (a.drop_type != "absolute" && a.drop_type != "relative")
    fail(
        "--drop-type must be absolute (top-1 points) or relative (percent of FP32's top-1), "
        "got '{}'",
        a.drop_type);
  o.relative = a.drop_type == "relative";
  if (a.objective != "latency" && a.objective != "size")
    fail("--objective must be latency or size, got '{}'", a.objective);
  o.objective =
      a.objective == "size" ? compare::TuneObjective::Size : compare::TuneObjective::Latency;
  o.time_budget = a.time_budget;
  o.bf16 = !a.no_bf16;
  o.equalize = !a.no_equalize_stage;
  o.progress = [](const std::string& s) { fmt::print(stderr, "tune: {}\n", s); };
  const ir::Graph g = onnxio::load_model(a.q.model);
  const compare::TuneResult r = compare::tune(g, a.q.model, o);
  compare::print_tune(r);
  if (r.chosen >= 0) {
    onnxio::save_model(r.graph, a.out);
    fmt::print("saved       {}\n", a.out);
    if (!a.q.save_calib_table.empty()) {
      write_text_file(a.q.save_calib_table, r.calib_table);
      fmt::print("saved       {}\n", a.q.save_calib_table);
    }
  }
  const std::string trace = a.trace.empty() ? a.out + ".trace.json" : a.trace;
  nlohmann::json j = compare::to_json(r);
  j["machine"] = machine_json(o.threads);
  write_text_file(trace, j.dump(2) + "\n");
  fmt::print("trace       {}\n", trace);
}

}  // namespace

void register_tune(CLI::App& app) {
  auto a = std::make_shared<TuneArgs>();
  a->q.recipe = "static-int8";
  CLI::App* c = app.add_subcommand(
      "tune",
      "Find the fastest (or smallest) static-int8 variant whose top-1 drop stays within a target: "
      "range methods, then cross-layer equalization, then nodes kept out of int8 (f32, or bf16 "
      "where native) by measured "
      "sensitivity; writes the model, its calibration table and a trace of every configuration");
  c->add_option("--model", a->q.model, "ONNX model file (FP32)")->required();
  c->add_option("--recipe", a->q.recipe, "static-int8 or static-int8-rr")->capture_default_str();
  c->add_option("--data", a->data,
                std::string("Test set: a seeded sample of its TEST split tunes, the rest checks "
                            "the choice (its train split calibrates unless --calib-data or "
                            "--calib-table says otherwise): ") +
                    kDataSpecHelp)
      ->required();
  c->add_option("--out", a->out, "The chosen model (ONNX)")->required();
  c->add_option("--trace", a->trace,
                "JSON trace of every configuration tried (default: OUT.trace.json)");
  c->add_option("--max-drop", a->max_drop, "Largest top-1 drop allowed (see --drop-type)")
      ->check(in_range(0, 100))
      ->capture_default_str();
  c->add_option("--drop-type", a->drop_type,
                "absolute: --max-drop in top-1 points; relative: in percent of FP32's top-1")
      ->capture_default_str();
  c->add_option("--objective", a->objective,
                "latency (batch-1 median on this machine) or size (bytes of the ONNX file)")
      ->capture_default_str();
  c->add_option("--time-budget", a->time_budget,
                "Seconds; when they run out the best configuration so far is kept")
      ->check(in_range(1, 1e7))
      ->capture_default_str();
  c->add_option("--ranges", a->ranges,
                "Range methods tried for the whole model (comma separated: minmax, percentile, "
                "entropy, mse); an existing --calib-table is used as it is instead")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--tune-images", a->tune_images, "Test images the search measures on")
      ->check(in_range(1, 100000000))
      ->capture_default_str();
  c->add_option("--seed", a->seed, "Seed of the tuning sample")->capture_default_str();
  c->add_option("--batch", a->batch, "Batch size of the evaluations")
      ->check(in_range(1, 65536))
      ->capture_default_str();
  c->add_flag("--no-bf16", a->no_bf16, "Keep nodes out of int8 in f32 only (never bf16)");
  c->add_flag("--no-equalize-stage", a->no_equalize_stage,
              "Skip the stage that tries the whole model with cross-layer equalization (through "
              "ReLU6) when no range method alone meets the target");
  add_quantize_options(c, a->q, /*static_only=*/true);
  c->callback([a] { run_tune(*a); });
}

}  // namespace qbench::cli
