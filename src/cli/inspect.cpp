#include "engine/inspect.h"

#include <iostream>

#include "bench/sysinfo.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "onnx/onnx_io.h"

namespace qbench::cli {
namespace {

struct InspectArgs {
  std::string model;
  int64_t batch = 1;
  int threads = 1;
  bool json = false;
  bool reference = false;
  int profile_runs = 0;
  std::vector<std::string> shapes;
};

std::string human(int64_t n) {
  if (n >= 1000000000) return fmt::format("{:.2f}G", n / 1e9);
  if (n >= 1000000) return fmt::format("{:.2f}M", n / 1e6);
  if (n >= 1000) return fmt::format("{:.1f}k", n / 1e3);
  return std::to_string(n);
}

void run_inspect(const InspectArgs& a) {
  ir::Graph original = onnxio::load_model(a.model);
  const size_t original_nodes = original.nodes.size();
  engine::EngineOptions eo;
  eo.threads = a.threads;
  eo.optimized_kernels = !a.reference;
  engine::Engine eng(original, eo);
  auto types = eng.input_types(a.batch, parse_shapes(a.shapes));
  engine::Plan& plan = eng.plan_for(types);
  // A dynamic plan knows its nodes' shapes only from a run: run it once on zero inputs.
  std::string dynamic_note;
  if (plan.dynamic() && a.profile_runs == 0) {
    std::vector<Tensor> inputs;
    for (const auto& t : types) inputs.emplace_back(t.dtype, t.shape);
    try {
      plan.run(inputs, a.threads);
      dynamic_note = "shapes below are from one run on zero inputs";
    } catch (const Error& e) {
      dynamic_note =
          fmt::format("a run on zero inputs failed, so no shapes are shown: {}", e.what());
    }
  } else if (plan.dynamic()) {
    dynamic_note = "shapes below are from the profiling runs on zero inputs";
  }
  if (a.profile_runs > 0) {
    std::vector<Tensor> inputs;
    for (const auto& t : types) inputs.emplace_back(t.dtype, t.shape);
    plan.run(inputs, a.threads);  // warm-up
    plan.set_profiling(true);
    for (int i = 0; i < a.profile_runs; ++i) plan.run(inputs, a.threads);
  }
  engine::PlanReport r = engine::describe_plan(plan, eng.graph());
  const ir::Graph& g = eng.graph();
  // How a run of this batch goes (Engine::batch_split): the plan shown is the whole batch's.
  const engine::Engine::Split split = eng.batch_split(types);
  const std::string split_line =
      split.parts > 1
          ? fmt::format("a run of this batch goes as {} streams at once, one thread each{} (the "
                        "plan below is the whole batch's)",
                        split.parts, split.one_at_a_time ? ", one image at a time" : "")
      : !split.why_not.empty() ? fmt::format("not split into streams: {}", split.why_not)
                               : "";

  std::vector<std::string> in_desc, out_desc;
  for (const auto& n : original.inputs) {
    const auto& v = original.values.at(n);
    in_desc.push_back(
        fmt::format("{} {} {}", n, dtype_name(v.dtype), v.dims ? ir::dims_str(*v.dims) : "?"));
  }
  for (const auto& n : original.outputs) {
    const auto& v = original.values.at(n);
    out_desc.push_back(
        fmt::format("{} {} {}", n, dtype_name(v.dtype), v.dims ? ir::dims_str(*v.dims) : "?"));
  }

  if (a.json) {
    nlohmann::json nodes = nlohmann::json::array();
    for (size_t i = 0; i < r.nodes.size(); ++i) {
      const auto& n = r.nodes[i];
      nodes.push_back({{"name", n.name},
                       {"op_type", n.op_type},
                       {"fused", n.fused},
                       {"output_shape", n.output_shape},
                       {"precision", n.precision},
                       {"params", n.params},
                       {"macs", n.macs},
                       {"kernel", n.kernel},
                       {"impl", n.impl},
                       {"emulated", n.emulated},
                       {"threads", n.threads},
                       {"rejected", n.rejected}});
      // --profile: the node's mean time per run, as the table's `us` column.
      if (a.profile_runs > 0)
        nodes.back()["mean_us"] = plan.step_seconds()[i] * 1e6 / a.profile_runs;
    }
    nlohmann::json j = {{"model", a.model},
                        {"opset", original.opset()},
                        {"producer", original.producer_name + " " + original.producer_version},
                        {"inputs", in_desc},
                        {"outputs", out_desc},
                        {"batch", types.empty() || types[0].shape.empty() ? 0 : types[0].shape[0]},
                        {"nodes_in_file", original_nodes},
                        {"nodes_after_passes", g.nodes.size()},
                        {"folded_at_compile", r.folded_nodes},
                        {"params", r.params},
                        {"macs", r.macs},
                        {"coverage",
                         {{"params_int8", r.params_int8},
                          {"params_bf16", r.params_bf16},
                          {"params_f32", r.params_f32},
                          {"macs_int8", r.macs_int8},
                          {"macs_bf16", r.macs_bf16},
                          {"macs_f32", r.macs_f32},
                          {"params_emulated", r.params_emulated},
                          {"macs_emulated", r.macs_emulated}}},
                        {"implementations", r.implementations},
                        {"batch_split",
                         {{"streams", split.parts},
                          {"one_at_a_time", split.one_at_a_time},
                          {"not_split", split.why_not}}},
                        {"nodes", nodes},
                        {"dynamic", plan.dynamic()},
                        {"dynamic_reason", plan.dynamic_reason()},
                        {"machine", machine_json(a.threads)}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  fmt::print("model     {} (opset {}, producer {} {})\n", a.model, original.opset(),
             original.producer_name, original.producer_version);
  fmt::print("inputs    {}\n", fmt::join(in_desc, ", "));
  fmt::print("outputs   {}\n", fmt::join(out_desc, ", "));
  fmt::print("nodes     {} in file, {} after passes, {} more folded for these shapes\n",
             original_nodes, g.nodes.size(), r.folded_nodes);
  fmt::print("params    {} ({})\n", r.params, human(r.params));
  fmt::print("MACs      {} per run at batch {}\n", human(r.macs),
             types.empty() || types[0].shape.empty() ? 0 : types[0].shape[0]);
  fmt::print("coverage  {}\n", engine::coverage_line(r));
  if (plan.dynamic())
    fmt::print("plan      dynamic, run node by node ({}); {}\n", plan.dynamic_reason(),
               dynamic_note);
  fmt::print(
      "memory    {:.2f} MB of intermediate tensors (buffers shared between tensors whose "
      "lifetimes do not overlap)\n",
      plan.arena_bytes() / 1e6);
  if (!split_line.empty()) fmt::print("split     {}\n", split_line);
  fmt::print("\n");
  const bool prof = a.profile_runs > 0;
  if (!a.reference) {
    const bench::Machine m = bench::describe_machine(a.threads);
    fmt::print("int8      {}\n", m.int8_path);
    fmt::print("bf16      {}\n\n", m.bf16_path);
  }
  fmt::print("{:<4} {:<28} {:<22} {:<18} {:>9} {:>9} {:<5} {}{:<28} {}\n", "#", "node", "op",
             "output", "params", "MACs", "prec", prof ? "     us  " : "", "kernel", "note");
  int i = 0;
  int fallback = 0;
  for (const auto& n : r.nodes) {
    std::string op = n.op_type;
    for (const auto& f : n.fused) op += "+" + f;
    std::string name = n.name.size() > 28 ? "..." + n.name.substr(n.name.size() - 25) : n.name;
    std::string us =
        prof ? fmt::format("{:>7.1f}  ", plan.step_seconds()[i] * 1e6 / a.profile_runs) : "";
    // oneDNN's implementation name where a oneDNN kernel ran, else qbench's kernel name.
    const std::string kernel = n.impl.empty() ? n.kernel : n.impl;
    fmt::print("{:<4} {:<28} {:<22} {:<18} {:>9} {:>9} {:<5} {}{:<28} {}\n", i, name, op,
               n.output_shape, n.params ? human(n.params) : "", n.macs ? human(n.macs) : "",
               n.precision, us, kernel, n.rejected);
    i++;
    if (n.kernel == "reference" && !n.rejected.empty()) fallback++;
  }
  if (fallback)
    fmt::print("\n{} node{} fell back to the reference kernel; the note column says why.\n",
               fallback, fallback > 1 ? "s" : "");
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* c = app.add_subcommand(
      "inspect", "List a model's nodes with shapes, parameters, MACs and the kernel each runs");
  c->add_option("--model", a->model, "ONNX model file")->required();
  c->add_option("--batch", a->batch, "Batch size to compile for (symbolic batch dims)")
      ->check(in_range(1, 65536))
      ->capture_default_str();
  c->add_option("--threads", a->threads, "Threads for every kernel")
      ->check(in_range(1, 1024))
      ->capture_default_str();
  c->add_flag("--reference", a->reference, "Show the plan with reference kernels only");
  c->add_option("--profile", a->profile_runs,
                "Run the plan N times on zero inputs and show each node's mean time (--json: "
                "mean_us per node)")
      ->check(in_range(0, 1000000));
  add_shape_option(c, a->shapes);
  c->add_flag("--json", a->json, "Print one JSON object on stdout");
  c->callback([a] { run_inspect(*a); });
}

}  // namespace qbench::cli
