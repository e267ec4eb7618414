// Cells and lines shared by the text reporters (console, markdown, HTML).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/reporter.h"

namespace qbench::report {
namespace {

std::string pct(double share) {
  return fmt::format("{:.2f}%", 100 * share);
}

std::string ms(double v) {
  return v >= 100 ? fmt::format("{:.1f}", v) : fmt::format("{:.3f}", v);
}

std::string p_value(double p) {
  return p < 0.0001 ? "<0.0001" : fmt::format("{:.4f}", p);
}

std::string split3(int64_t a, int64_t b, int64_t c) {
  const double t = static_cast<double>(a + b + c);
  if (t <= 0) return "-";
  return fmt::format("{:.0f}/{:.0f}/{:.0f}", 100 * a / t, 100 * b / t, 100 * c / t);
}

}  // namespace

std::string bytes_str(int64_t n) {
  if (n >= 1000000) return fmt::format("{:.2f} MB", static_cast<double>(n) / 1e6);
  if (n >= 1000) return fmt::format("{:.1f} kB", static_cast<double>(n) / 1e3);
  return fmt::format("{} B", n);
}

std::vector<std::string> table_headers() {
  return {"recipe",
          "top-1",
          "top-5",
          "Δ top-1",
          "95% CI",
          "McNemar p",
          "agree",
          "p50 ms",
          "p90 ms",
          "img/s",
          "speedup",
          "size",
          "size ratio",
          "peak RSS",
          "MACs i8/bf16/f32 %",
          "params i8/bf16/f32 %",
          "int16 risk",
          "calib s",
          "best"};
}

std::string saturation_cell(const quant::SaturationRisk& s) {
  if (s.layers == 0) return "-";
  if (s.pairs_at_risk == 0) return "none";
  return fmt::format("{:.1f}% {}/{}", 100 * s.pair_share(), s.layers_at_risk, s.layers);
}

std::vector<std::string> table_cells(const VariantResult& v) {
  const auto& c = v.bench.coverage;
  std::string best;
  if (v.pareto_latency) best = "lat";
  if (v.pareto_size) best += best.empty() ? "size" : "+size";
  // Timings of a precision this CPU lacks, emulated, are marked.
  const std::string mark = v.bench.emulation.empty() ? "" : "*";
  return {v.recipe,
          pct(v.top1()),
          pct(v.top5()),
          fmt::format("{:+.2f}", v.drop_points),
          fmt::format("[{:+.2f}, {:+.2f}]", v.drop_ci_low, v.drop_ci_high),
          p_value(v.mcnemar_p),
          pct(v.agreement),
          ms(v.bench.latency_ms.p50) + mark,
          ms(v.bench.latency_ms.p90) + mark,
          fmt::format("{:.0f}", v.bench.images_per_second) + mark,
          fmt::format("{:.2f}x", v.speedup) + mark,
          bytes_str(v.bench.model_bytes),
          fmt::format("{:.2f}x", v.size_ratio),
          bytes_str(v.bench.peak_rss_bytes),
          split3(c.macs_int8, c.macs_bf16, c.macs_f32),
          split3(c.params_int8, c.params_bf16, c.params_f32),
          saturation_cell(v.bench.saturation),
          v.calib_seconds > 0 ? fmt::format("{:.2f}", v.calib_seconds) : "-",
          best.empty() ? "" : best};
}

std::string machine_line(const bench::Machine& m) {
  return fmt::format(
      "{} ({} CPUs; {}); oneDNN {} dispatching {}; {} thread{}; {} build, {}; "
      "qbench {} ({})",
      m.cpu, m.logical_cpus,
      m.isa.empty() ? "no ISA flags" : fmt::format("{}", fmt::join(m.isa, " ")), m.onednn_version,
      m.onednn_isa, m.threads, m.threads == 1 ? "" : "s", m.build_type, m.compiler,
      m.qbench_version, m.git_commit);
}

std::vector<std::string> path_lines(const bench::Machine& m) {
  return {"int8     " + m.int8_path, "bf16     " + m.bf16_path};
}

std::vector<std::string> host_lines(const CompareResults& r) {
  std::vector<std::string> out;
  if (r.ranks <= 1) return out;
  out.push_back(fmt::format(
      "Evaluated by {} MPI ranks, each on its share of the test images; hosts: {}. Latency and "
      "throughput above are the first host's.",
      r.ranks, fmt::join(r.hosts, "; ")));
  for (const auto& v : r.variants)
    for (const auto& h : v.other_hosts)
      out.push_back(fmt::format("{} on {}: p50 {} ms, p99 {} ms, {:.0f} img/s", v.recipe, h.host,
                                ms(h.bench.latency_ms.p50), ms(h.bench.latency_ms.p99),
                                h.bench.images_per_second));
  return out;
}

std::vector<std::string> legend_lines() {
  return {
      "Δ top-1: variant minus FP32 in points, 95% CI by paired bootstrap over images; "
      "McNemar p: exact test on the paired predictions.",
      "agree: images with the same label as FP32. Latency: batch 1, single stream; img/s: "
      "offline batch. speedup and size ratio vs FP32; *: emulated on this CPU (see warnings).",
      "MACs/params %: share that ran in int8/bf16/f32 in the compiled plan. best: "
      "Pareto-best on accuracy vs latency (lat) and vs size (size).",
      "int16 risk: int8 weight pairs (%) and layers whose u8 x s8 pair sums overflow int16 in "
      "runtimes without VNNI that add products in pairs; -rr: reduce-range 7-bit weights."};
}

std::vector<std::string> peer_headers() {
  return {"peer", "recipe", "top-1", "agree", "p50 ms", "qbench p50 ms", "qbench / peer"};
}

std::vector<std::string> peer_cells(const PeerResult& p) {
  return {p.engine,
          p.recipe,
          p.n ? pct(p.top1()) : "-",
          p.n ? pct(p.agreement) : "-",
          ms(p.p50_ms),
          ms(p.qbench_p50_ms),
          p.p50_ms > 0 ? fmt::format("{:.2f}x", p.qbench_p50_ms / p.p50_ms) : "-"};
}

std::string peer_legend() {
  return "Peers: other engines on the same variant files; batch-1 p50 latency, median of rounds "
         "interleaved with qbench's (qbench p50 ms is from the same rounds); agree: images with "
         "qbench's label for the same file.";
}

}  // namespace qbench::report
