// report.html: one self-contained file. Plots are inline SVG written here (no scripts, fonts or
// URLs), so the report opens anywhere, offline, and can be attached to an issue as is.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/reporter.h"

namespace qbench::report {

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

namespace {

std::string esc(const std::string& s) {
  return html_escape(s);
}

// A round tick step (1, 2 or 5 times a power of ten) giving about `n` ticks over `range`.
double nice_step(double range, int n) {
  if (range <= 0) return 1;
  const double raw = range / n;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::string num(double v, double step) {
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  return fmt::format("{:.{}f}", v, decimals);
}

constexpr const char* kFront = "#d9480f";
constexpr const char* kOther = "#868e96";

// Accuracy (top-1 %) against p50 latency (ms); the Pareto front is joined by a step line.
std::string scatter(const CompareResults& r) {
  const double W = 720, H = 420, L = 70, R = 30, T = 20, B = 55;
  double xmax = 0, ymin = 100, ymax = 0;
  for (const auto& v : r.variants) {
    xmax = std::max(xmax, v.bench.latency_ms.p50);
    ymin = std::min(ymin, 100 * v.top1());
    ymax = std::max(ymax, 100 * v.top1());
  }
  const double xs = nice_step(xmax, 5);
  xmax = std::ceil(xmax * 1.1 / xs) * xs;
  if (xmax <= 0) xmax = 1;
  const double pad = std::max(0.5, (ymax - ymin) * 0.15);
  const double ys = nice_step(ymax - ymin + 2 * pad, 5);
  ymin = std::floor((ymin - pad) / ys) * ys;
  ymax = std::ceil((ymax + pad) / ys) * ys;
  auto X = [&](double v) { return L + (W - L - R) * v / xmax; };
  auto Y = [&](double v) { return T + (H - T - B) * (ymax - v) / (ymax - ymin); };
  std::string s = fmt::format(
      "<svg class=\"plot\" id=\"scatter\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" "
      "role=\"img\" aria-label=\"top-1 accuracy against p50 latency\">\n",
      W, H);
  for (double x = 0; x <= xmax + 1e-9; x += xs)
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" class=\"grid\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" class=\"tick\" text-anchor=\"middle\">{4}</text>\n",
        X(x), T, H - B, H - B + 18, num(x, xs));
  for (double y = ymin; y <= ymax + 1e-9; y += ys)
    s += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" class=\"grid\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" class=\"tick\" text-anchor=\"end\">{5}</text>\n",
        L, Y(y), W - R, L - 8, Y(y) + 4, num(y, ys));
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">p50 latency at "
      "batch 1 (ms) →</text>\n",
      (L + W - R) / 2, H - 12);
  s += fmt::format(
      "<text transform=\"translate(18 {}) rotate(-90)\" class=\"axis\" "
      "text-anchor=\"middle\">top-1 accuracy (%) →</text>\n",
      (T + H - B) / 2);
  std::vector<const VariantResult*> front;
  for (const auto& v : r.variants)
    if (v.pareto_latency) front.push_back(&v);
  std::sort(front.begin(), front.end(),
            [](auto* a, auto* b) { return a->bench.latency_ms.p50 < b->bench.latency_ms.p50; });
  if (front.size() > 1) {
    std::string pts;
    for (size_t i = 0; i < front.size(); ++i) {
      const double x = X(front[i]->bench.latency_ms.p50), y = Y(100 * front[i]->top1());
      if (i) pts += fmt::format(" {:.1f},{:.1f}", x, Y(100 * front[i - 1]->top1()));
      pts += fmt::format(" {:.1f},{:.1f}", x, y);
    }
    s += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" "
        "stroke-dasharray=\"5 4\"/>\n",
        pts.substr(1), kFront);
  }
  // Labels go to the first nearby spot that overlaps no label placed before (points often
  // coincide: bf16 and fp16 can be equally accurate and equally fast).
  struct Box {
    double x0, y0, x1, y1;
  };
  std::vector<Box> placed;
  for (const auto& v : r.variants) {
    const double x = X(v.bench.latency_ms.p50), y = Y(100 * v.top1());
    const double w = 7.0 * static_cast<double>(v.recipe.size()), h = 13;
    double lx = x + 10, ly = y - 8;
    bool left = false;
    for (double dy : {-8.0, 14.0, -22.0, 28.0, -36.0, 42.0, -50.0, 56.0}) {
      bool done = false;
      for (bool l : {false, true}) {
        const double bx = l ? x - 10 - w : x + 10;
        if (bx < L || bx + w > W) continue;
        const Box b{bx, y + dy - h + 3, bx + w, y + dy + 3};
        bool clash = false;
        for (const auto& p : placed)
          clash |= b.x0 < p.x1 && p.x0 < b.x1 && b.y0 < p.y1 && p.y0 < b.y1;
        if (!clash) {
          placed.push_back(b);
          lx = l ? x - 10 : x + 10;
          ly = y + dy;
          left = l;
          done = true;
          break;
        }
      }
      if (done) break;
    }
    s += fmt::format(
        "<g class=\"point\"><circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"6\" fill=\"{}\" "
        "fill-opacity=\"0.85\"/><text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\" "
        "class=\"label\">{}</text><title>{}: top-1 {:.2f}%, p50 {:.3f} ms</title></g>\n",
        x, y, v.pareto_latency ? kFront : kOther, lx, ly, left ? "end" : "start", esc(v.recipe),
        esc(v.recipe), 100 * v.top1(), v.bench.latency_ms.p50);
  }
  return s + "</svg>\n";
}

// Horizontal bars, one per variant; `ref` draws a dashed line at that value (1x for speedup).
std::string bars(const CompareResults& r, const std::string& id, const std::string& title,
                 double (*value)(const VariantResult&), std::string (*label)(const VariantResult&),
                 double ref) {
  const double W = 720, L = 130, R = 110, row = 28, T = 10;
  const double H = T + row * static_cast<double>(r.variants.size()) + 10;
  double vmax = ref;
  for (const auto& v : r.variants) vmax = std::max(vmax, value(v));
  if (vmax <= 0) vmax = 1;
  auto X = [&](double v) { return L + (W - L - R) * v / vmax; };
  std::string s = fmt::format(
      "<svg class=\"plot\" id=\"{0}\" viewBox=\"0 0 {1} {2}\" width=\"{1}\" height=\"{2}\" "
      "role=\"img\" aria-label=\"{3}\">\n",
      id, W, H, esc(title));
  double y = T;
  for (const auto& v : r.variants) {
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" class=\"label\">{}</text>"
        "<rect x=\"{}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\" rx=\"3\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"label\">{}</text>\n",
        L - 8, y + 17, esc(v.recipe), L, y + 4, X(value(v)) - L, row - 8,
        v.pareto_latency ? kFront : kOther, X(value(v)) + 6, y + 17, esc(label(v)));
    y += row;
  }
  if (ref > 0)
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
        "stroke=\"#212529\" stroke-dasharray=\"4 3\"/>\n",
        X(ref), T - 4, H - 6);
  return s + "</svg>\n";
}

constexpr const char* kStyle =
    R"(body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px 32px;color:#212529;max-width:1500px}
.scroll{overflow-x:auto}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dee2e6;padding-bottom:4px}
.sub{color:#495057;margin:0 0 12px}.plots{display:flex;flex-wrap:wrap;gap:8px 32px}
.plot{max-width:100%;height:auto;background:#fff}.plot .grid{stroke:#e9ecef}.plot .tick{font-size:11px;fill:#495057}
.plot .axis{font-size:13px;fill:#212529}.plot .label{font-size:12px;fill:#212529}
table{border-collapse:collapse;font-size:11.5px;font-variant-numeric:tabular-nums}
th,td{padding:4px 5px;border-bottom:1px solid #dee2e6;text-align:right;white-space:nowrap}
th{background:#f1f3f5;position:sticky;top:0}td:first-child,th:first-child{text-align:left;font-weight:600}
tr.front td{background:#fff4e6}.note{color:#495057;font-size:12px;margin:4px 0}
.warn{color:#c92a2a}dl{display:grid;grid-template-columns:max-content auto;gap:3px 14px;font-size:13px}
dt{color:#495057}dd{margin:0}.key{display:inline-block;width:10px;height:10px;border-radius:5px;margin:0 4px 0 10px})";

double size_mb(const VariantResult& v) {
  return static_cast<double>(v.bench.model_bytes) / 1e6;
}
std::string size_label(const VariantResult& v) {
  return fmt::format("{} ({:.2f}x)", bytes_str(v.bench.model_bytes), v.size_ratio);
}
double speedup(const VariantResult& v) {
  return v.speedup;
}
std::string speedup_label(const VariantResult& v) {
  return fmt::format("{:.2f}x", v.speedup);
}

}  // namespace

void HtmlReporter::report(const CompareResults& r, std::ostream& out) const {
  const auto& m = r.machine;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<title>qbench compare: " << esc(r.model) << "</title>\n<style>\n"
      << kStyle << "\n</style>\n</head>\n<body>\n";
  out << "<h1>qbench compare: " << esc(r.model) << "</h1>\n";
  out << fmt::format(
      "<p class=\"sub\">{}, {} images &middot; {} &middot; {} thread{} &middot; "
      "{} variants</p>\n",
      esc(r.data), r.images, esc(m.cpu), m.threads, m.threads == 1 ? "" : "s", r.variants.size());
  if (!r.warnings.empty()) {
    out << "<ul class=\"warn\">\n";
    for (const auto& w : r.warnings) out << "<li>warning: " << esc(w) << "</li>\n";
    out << "</ul>\n";
  }
  out << "<h2>Accuracy vs latency</h2>\n";
  out << fmt::format(
      "<p class=\"note\"><span class=\"key\" style=\"background:{}\"></span>"
      "Pareto-best (no variant is both as accurate and faster)<span class=\"key\" "
      "style=\"background:{}\"></span>dominated</p>\n",
      kFront, kOther);
  out << scatter(r);
  out << "<div class=\"plots\">\n<div>\n<h2>Size on disk</h2>\n"
      << bars(r, "size", "model size on disk (MB)", size_mb, size_label, 0)
      << "</div>\n<div>\n<h2>Speedup vs FP32 (p50, batch 1)</h2>\n"
      << bars(r, "speedup", "speedup of p50 latency vs FP32", speedup, speedup_label, 1.0)
      << "</div>\n</div>\n";
  out << "<h2>Results</h2>\n<div class=\"scroll\">\n<table id=\"results\">\n<thead><tr>";
  for (const auto& h : table_headers()) out << "<th>" << esc(h) << "</th>";
  out << "</tr></thead>\n<tbody>\n";
  for (const auto& v : r.variants) {
    out << (v.pareto_latency ? "<tr class=\"front\">" : "<tr>");
    for (const auto& c : table_cells(v)) out << "<td>" << esc(c) << "</td>";
    out << "</tr>\n";
  }
  out << "</tbody>\n</table>\n</div>\n";
  for (const auto& l : legend_lines()) out << "<p class=\"note\">" << esc(l) << "</p>\n";
  for (const auto& l : host_lines(r)) out << "<p class=\"note hosts\">" << esc(l) << "</p>\n";
  for (const auto& x : r.skipped) out << "<p class=\"note\">skipped: " << esc(x) << "</p>\n";
  if (!r.peers.empty() || !r.peer_notes.empty()) {
    out << "<h2>Peers</h2>\n";
    if (!r.peers.empty()) {
      out << "<div class=\"scroll\">\n<table id=\"peers\">\n<thead><tr>";
      for (const auto& h : peer_headers()) out << "<th>" << esc(h) << "</th>";
      out << "</tr></thead>\n<tbody>\n";
      for (const auto& p : r.peers) {
        out << "<tr class=\"peer\">";
        for (const auto& c : peer_cells(p)) out << "<td>" << esc(c) << "</td>";
        out << "</tr>\n";
      }
      out << "</tbody>\n</table>\n</div>\n<p class=\"note\">" << esc(peer_legend()) << "</p>\n";
    }
    for (const auto& x : r.peer_notes) out << "<p class=\"note\">peer: " << esc(x) << "</p>\n";
  }
  out << "<h2>Kernels</h2>\n<dl id=\"kernels\">\n";
  for (const auto& v : r.variants) {
    std::string k;
    for (const auto& i : v.bench.kernels) k += (k.empty() ? "" : "; ") + i;
    out << "<dt>" << esc(v.recipe) << "</dt><dd>" << esc(k.empty() ? "-" : k) << "</dd>\n";
  }
  out << "</dl>\n";
  const auto& s = r.settings.bench;
  out << "<h2>Machine</h2>\n<dl id=\"machine\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    out << "<dt>" << esc(k) << "</dt><dd>" << esc(v) << "</dd>\n";
  };
  row("CPU", fmt::format("{} ({} logical CPUs)", m.cpu, m.logical_cpus));
  std::string isa;
  for (const auto& f : m.isa) isa += (isa.empty() ? "" : " ") + f;
  row("ISA flags", isa.empty() ? "-" : isa);
  row("oneDNN", fmt::format("{}, dispatching {}", m.onednn_version, m.onednn_isa));
  row("int8 path", m.int8_path);
  row("bf16 path", m.bf16_path);
  row("threads", std::to_string(m.threads));
  row("build", fmt::format("{}, {}", m.build_type, m.compiler));
  row("qbench", fmt::format("{} ({})", m.qbench_version, m.git_commit));
  row("OS", m.os);
  row("timing",
      fmt::format("batch 1: at least {} queries and {} s after a {} s / {} query "
                  "warm-up; offline batch {}",
                  s.min_queries, s.min_seconds, s.warmup_seconds, s.warmup_queries, s.batch));
  row("model", fmt::format("{} ({}, fnv1a64 {})", r.model, bytes_str(r.model_bytes), r.model_hash));
  out << "</dl>\n</body>\n</html>\n";
}

}  // namespace qbench::report
