#pragma once
// One output format = one reporter class (as google/benchmark does it). Each writes the whole
// CompareResults to a stream; the tests match their exact output on fixed inputs.
#include <ostream>

#include "report/results.h"

namespace qbench::report {

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void report(const CompareResults& r, std::ostream& out) const = 0;
};

// The terminal table: header lines (model, data, machine, timing), one aligned row per variant,
// a legend, then warnings and skipped recipes.
class ConsoleReporter : public Reporter {
 public:
  void report(const CompareResults& r, std::ostream& out) const override;
};

// report.md: the same table as a GitHub pipe table, with the machine as a list.
class MarkdownReporter : public Reporter {
 public:
  void report(const CompareResults& r, std::ostream& out) const override;
};

// results.csv: one header line, one line per variant, raw numbers (fractions, ms, bytes).
class CsvReporter : public Reporter {
 public:
  void report(const CompareResults& r, std::ostream& out) const override;
};

// results.json: to_json(CompareResults), two-space indented, newline at the end.
class JsonReporter : public Reporter {
 public:
  void report(const CompareResults& r, std::ostream& out) const override;
};

// report.html: self-contained (inline CSS and SVG, no scripts, fonts or URLs): an
// accuracy-vs-latency scatter plot, bars for size and speedup, the table and the machine.
class HtmlReporter : public Reporter {
 public:
  void report(const CompareResults& r, std::ostream& out) const override;
};

// Text shared by the reporters.
// "941.7 kB", "12.35 MB", "512 B" (decimal units).
std::string bytes_str(int64_t n);
// Text for HTML element content and attribute values (& < > " escaped).
std::string html_escape(const std::string& s);
// The table cells of one variant, in the order of table_headers().
std::vector<std::string> table_headers();
std::vector<std::string> table_cells(const VariantResult& v);
// One line: "Intel Xeon ... (2 CPUs; avx2 avx512f ...); oneDNN 3.0 dispatching avx512_core; ..."
std::string machine_line(const bench::Machine& m);
// "int8     VNNI (...)", "bf16     native (...)": how int8 and bf16 ran on the machine.
std::vector<std::string> path_lines(const bench::Machine& m);
// Explanations printed under the table.
std::vector<std::string> legend_lines();
// Under MPI: the ranks and hosts, and each other host's own timing of each variant (none for a
// single process).
std::vector<std::string> host_lines(const CompareResults& r);
// The peers table (--peers): headers, one row per peer run, and the line that explains it.
std::vector<std::string> peer_headers();
std::vector<std::string> peer_cells(const PeerResult& p);
std::string peer_legend();

}  // namespace qbench::report
