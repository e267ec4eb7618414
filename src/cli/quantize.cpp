#include <filesystem>
#include <map>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/quantize_options.h"
#include "engine/inspect.h"
#include "onnx/onnx_io.h"
#include "quant/recipes.h"
#include "quant/saturation.h"

namespace qbench::cli {
namespace {

std::string bytes_str(uintmax_t n) {
  if (n >= 1000000) return fmt::format("{:.2f} MB", n / 1e6);
  if (n >= 1000) return fmt::format("{:.1f} kB", n / 1e3);
  return fmt::format("{} B", n);
}

void run_quantize(const QuantizeArgs& a) {
  quant::QuantizeOptions opts = options_of(a);
  std::error_code ec;
  if (std::filesystem::equivalent(a.model, a.out, ec))
    fail("--out '{}' is the input model: write the variant to another file", a.out);
  ir::Graph model = onnxio::load_model(a.model);
  const uintmax_t before = std::filesystem::file_size(a.model);
  quant::QuantizeResult r = quant::quantize(model, opts);
  onnxio::save_model(r.graph, a.out);
  const uintmax_t after = std::filesystem::file_size(a.out);

  fmt::print("model       {} (opset {}, {})\n", a.model, model.opset(), bytes_str(before));
  fmt::print("recipe      {}: {}\n", quant::recipe_name(opts.recipe),
             quant::recipe_description(opts.recipe));
  if (opts.recipe != quant::Recipe::Fp32 && opts.recipe != quant::Recipe::Fp16 &&
      opts.recipe != quant::Recipe::Bf16)
    fmt::print("weights     {}{}\n", opts.per_channel ? "per channel" : "per tensor",
               opts.reduce_range || opts.recipe == quant::Recipe::StaticInt8ReduceRange
                   ? ", reduce-range 7-bit [-64, 64]"
                   : "");
  if (!r.calib_source.empty())
    fmt::print("calibration {} tensors {}; {:.2f} s\n", r.calibrated_tensors.size(), r.calib_source,
               r.calib_seconds);
  std::vector<std::string> per_op;
  int total = 0;
  for (const auto& [op, n] : r.quantized_by_op) {
    per_op.push_back(fmt::format("{} {}", op, n));
    total += n;
  }
  fmt::print("quantized   {} node{}{}{}\n", total, total == 1 ? "" : "s", total ? ": " : "",
             fmt::join(per_op, ", "));
  // Float nodes grouped by reason, so a model with hundreds of them stays readable.
  std::map<std::string, std::vector<std::string>> by_reason;
  for (const auto& f : r.left_float)
    by_reason[f.reason].push_back(fmt::format("{} '{}'", f.op_type, f.name));
  fmt::print("left float  {} node{}\n", r.left_float.size(), r.left_float.size() == 1 ? "" : "s");
  for (const auto& [reason, nodes] : by_reason) {
    const size_t shown = std::min<size_t>(nodes.size(), 6);
    fmt::print("  {}: {}{}\n", reason,
               fmt::join(std::vector<std::string>(nodes.begin(), nodes.begin() + shown), ", "),
               nodes.size() > shown ? fmt::format(" and {} more", nodes.size() - shown) : "");
  }
  // What the written file computes in on this machine, from its compiled plan at batch 1: the
  // same figures `inspect` and the benchmarks print (fp16 and weight-only compute in f32).
  const engine::PlanReport plan = engine::describe_graph(r.graph, {}, opts.shapes);
  fmt::print("coverage    {} (batch 1, this machine)\n", engine::coverage_line(plan));
  const quant::SaturationRisk risk = quant::saturation_risk(r.graph);
  if (risk.layers > 0)
    fmt::print("int16 risk  {}{}\n", risk.summary(),
               risk.pairs_at_risk > 0
                   ? ": pair sums of u8 x s8 products overflow int16 in runtimes without VNNI "
                     "(qbench is exact; --reduce-range avoids it)"
                   : "");
  for (const auto& n : r.notes) fmt::print("note        {}\n", n);
  fmt::print("saved       {}: {} -> {} ({:.2f}x)\n", a.out, bytes_str(before), bytes_str(after),
             before ? double(after) / double(before) : 0.0);
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  std::string recipes;
  for (auto r : quant::all_recipes())
    recipes += fmt::format("\n  {}: {}", quant::recipe_name(r), quant::recipe_description(r));
  CLI::App* c = app.add_subcommand("quantize", "Write a quantized variant of an ONNX model");
  c->add_option("--model", a->model, "ONNX model file")->required();
  c->add_option("--recipe", a->recipe, "Recipe:" + recipes)->required();
  c->add_option("--out", a->out, "Output ONNX file")->required();
  add_quantize_options(c, *a);
  c->callback([a] { run_quantize(*a); });
}

}  // namespace qbench::cli
