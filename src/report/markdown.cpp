#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/reporter.h"

namespace qbench::report {

void MarkdownReporter::report(const CompareResults& r, std::ostream& out) const {
  const auto& s = r.settings.bench;
  out << fmt::format("# qbench compare: {}\n\n", r.model);
  out << fmt::format("- model: `{}`, {}, fnv1a64 `{}`\n", r.model, bytes_str(r.model_bytes),
                     r.model_hash);
  out << fmt::format("- data: {}, {} images\n", r.data, r.images);
  out << fmt::format("- machine: {}\n", machine_line(r.machine));
  out << fmt::format("- int8 path: {}\n- bf16 path: {}\n", r.machine.int8_path,
                     r.machine.bf16_path);
  out << fmt::format(
      "- timing: batch 1, >= {} queries and >= {} s after a {} s / {} query "
      "warm-up; offline batch {}\n\n",
      s.min_queries, s.min_seconds, s.warmup_seconds, s.warmup_queries, s.batch);
  const auto headers = table_headers();
  out << "| " << fmt::format("{}", fmt::join(headers, " | ")) << " |\n|";
  for (size_t i = 0; i < headers.size(); ++i)
    out << (i == 0 || i + 1 == headers.size() ? ":---|" : "---:|");
  out << "\n";
  for (const auto& v : r.variants) {
    auto cells = table_cells(v);
    if (v.pareto_latency) cells[0] = "**" + cells[0] + "**";
    out << "| " << fmt::format("{}", fmt::join(cells, " | ")) << " |\n";
  }
  out << "\n";
  for (const auto& l : legend_lines()) out << l << "\n";
  for (const auto& l : host_lines(r)) out << "\n" << l << "\n";
  if (!r.peers.empty()) {
    const auto ph = peer_headers();
    out << "\n| " << fmt::format("{}", fmt::join(ph, " | ")) << " |\n|";
    for (size_t i = 0; i < ph.size(); ++i) out << (i < 2 ? ":---|" : "---:|");
    out << "\n";
    for (const auto& p : r.peers)
      out << "| " << fmt::format("{}", fmt::join(peer_cells(p), " | ")) << " |\n";
    out << "\n" << peer_legend() << "\n";
  }
  if (!r.skipped.empty() || !r.warnings.empty() || !r.peer_notes.empty()) out << "\n";
  for (const auto& x : r.peer_notes) out << "- peer: " << x << "\n";
  for (const auto& x : r.skipped) out << "- skipped: " << x << "\n";
  for (const auto& x : r.warnings) out << "- **warning**: " << x << "\n";
}

}  // namespace qbench::report
