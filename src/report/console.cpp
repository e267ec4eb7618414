#include <fmt/format.h>

#include "report/reporter.h"

namespace qbench::report {
namespace {

// Display width of a UTF-8 string (the headers hold "Δ").
size_t width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

std::string pad(const std::string& s, size_t w, bool left) {
  const std::string fill(w > width(s) ? w - width(s) : 0, ' ');
  return left ? s + fill : fill + s;
}

// Columns padded to their widest cell: the first and last left-aligned, the rest right-aligned.
void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], width(row[i]));
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) line += "  ";
      line += pad(row[i], w[i], i == 0 || i + 1 == row.size());
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

}  // namespace

void ConsoleReporter::report(const CompareResults& r, std::ostream& out) const {
  const auto& s = r.settings.bench;
  out << fmt::format("model    {} ({}, fnv1a64 {})\n", r.model, bytes_str(r.model_bytes),
                     r.model_hash);
  out << fmt::format("data     {}, {} images\n", r.data, r.images);
  out << fmt::format("machine  {}\n", machine_line(r.machine));
  for (const auto& l : path_lines(r.machine)) out << l << "\n";
  out << fmt::format(
      "timing   batch 1: >= {} queries and >= {} s after a {} s / {} query "
      "warm-up; offline batch {}\n\n",
      s.min_queries, s.min_seconds, s.warmup_seconds, s.warmup_queries, s.batch);
  std::vector<std::vector<std::string>> rows{table_headers()};
  for (const auto& v : r.variants) rows.push_back(table_cells(v));
  print_table(rows, out);
  out << "\n";
  for (const auto& l : legend_lines()) out << l << "\n";
  for (const auto& l : host_lines(r)) out << l << "\n";
  if (!r.peers.empty()) {
    std::vector<std::vector<std::string>> peers{peer_headers()};
    for (const auto& p : r.peers) peers.push_back(peer_cells(p));
    out << "\n";
    print_table(peers, out);
    out << peer_legend() << "\n";
  }
  for (const auto& x : r.peer_notes) out << "peer: " << x << "\n";
  for (const auto& x : r.skipped) out << "skipped: " << x << "\n";
  for (const auto& x : r.warnings) out << "warning: " << x << "\n";
}

}  // namespace qbench::report
