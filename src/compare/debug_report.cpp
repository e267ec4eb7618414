// The debug report: console table, JSON and a self-contained HTML page.
#include <fmt/format.h>

#include <cmath>

#include "compare/debug.h"
#include "report/reporter.h"

namespace qbench::compare {
namespace {

std::string db_str(double v) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "exact" : "-inf";
  return fmt::format("{:.1f}", v);
}

std::string pct(double v) {
  return std::isnan(v) ? "-" : fmt::format("{:.2f}", 100 * v);
}

std::string kernel_str(const LayerDebug& l) {
  if (l.kernel_values == 0) return "-";
  if (l.kernel_mismatches == 0) return "exact";
  return fmt::format("{} off (max {})", l.kernel_mismatches, l.kernel_max_steps);
}

nlohmann::json num(double v) {
  // JSON has no NaN or infinity: null for "not measured", the string "exact" for no error.
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? nlohmann::json("exact") : nlohmann::json("-inf");
  return v;
}

std::vector<std::string> headers() {
  return {"#",           "layer",      "op",         "weights dB", "own dB",
          "in-model dB", "clipped %",  "fp32 range", "int8 range", "only-q top1",
          "only-q dB",   "float top1", "kernel"};
}

std::vector<std::string> cells(size_t i, const LayerDebug& l) {
  const bool act = !l.tensor.empty();
  return {fmt::format("{}", i + 1),
          l.name,
          l.op_type,
          db_str(l.weight_sqnr),
          db_str(l.own_sqnr),
          db_str(l.model_sqnr),
          act ? fmt::format("{:.3f}", 100 * l.clipped) : "-",
          act ? fmt::format("[{:.3g}, {:.3g}]", l.min, l.max) : "-",
          act ? fmt::format("[{:.3g}, {:.3g}]", l.qmin, l.qmax) : "-",
          pct(l.only_top1),
          db_str(l.only_sqnr),
          pct(l.float_top1),
          kernel_str(l)};
}

}  // namespace

void print_debug(const DebugReport& r, size_t rows) {
  fmt::print("model       {}\n", r.model);
  fmt::print("recipe      {}; calibration {}\n", r.recipe, r.calib_source);
  fmt::print("data        {} images of {} (test split, seeded sample)\n", r.images, r.dataset);
  fmt::print("top-1       fp32 {:.2f}%, {} {:.2f}% ({:+.2f} points); logits SQNR {} dB\n",
             100 * r.fp32_top1, r.recipe, 100 * r.quant_top1, 100 * (r.quant_top1 - r.fp32_top1),
             db_str(r.logits_sqnr));
  fmt::print("ranked by   {}\n\n",
             r.ranked_by == "only_sqnr"
                 ? "the logits' SQNR when only that layer is quantized (worst first)"
                 : "the SQNR of the layer's output against its own quantization (worst first)");
  const auto h = headers();
  std::vector<std::vector<std::string>> table;
  for (size_t i = 0; i < r.layers.size() && (rows == 0 || i < rows); ++i)
    table.push_back(cells(i, r.layers[i]));
  std::vector<size_t> w(h.size());
  for (size_t c = 0; c < h.size(); ++c) {
    w[c] = h[c].size();
    for (const auto& row : table) w[c] = std::max(w[c], row[c].size());
  }
  w[1] = std::min<size_t>(w[1], 40);
  auto line = [&](const std::vector<std::string>& row) {
    std::string s;
    for (size_t c = 0; c < row.size(); ++c) {
      std::string v = row[c];
      if (v.size() > w[c]) v = "..." + v.substr(v.size() - w[c] + 3);
      s += c <= 2 ? fmt::format("{:<{}}  ", v, w[c]) : fmt::format("{:>{}}  ", v, w[c]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    fmt::print("{}\n", s);
  };
  line(h);
  for (const auto& row : table) line(row);
  if (rows && r.layers.size() > rows)
    fmt::print("... {} more layers (--rows 0 shows all)\n", r.layers.size() - rows);
  for (const auto& l : r.layers)
    if (!l.sensitivity_note.empty())
      fmt::print("note        {}: no sensitivity: {}\n", l.name, l.sensitivity_note);
  for (const auto& l : r.layers)
    if (!l.range_source.empty())
      fmt::print("range       {} uses the range of {} (data movement keeps its input's scale)\n",
                 l.name, l.range_source);
  for (const auto& n : r.notes) fmt::print("note        {}\n", n);
  fmt::print(
      "\nown dB: the layer's FP32 output against its own fake-quantization (its range alone); "
      "in-model dB: against the\nquantized model's (every layer before it quantized too); "
      "only-q: only this layer quantized; float top1:\nevery layer but this one quantized (its "
      "output stays quantized where a quantized layer reads it); kernel:\nthe optimized int8 "
      "plan's quantized outputs against the reference kernels on {} images (values that\n"
      "differ, max difference in quantization steps). {:.1f} s.\n",
      r.kernel_images, r.seconds);
}

nlohmann::json to_json(const DebugReport& r) {
  nlohmann::json j;
  j["model"] = r.model;
  j["recipe"] = r.recipe;
  j["dataset"] = r.dataset;
  j["calibration"] = r.calib_source;
  j["images"] = r.images;
  j["kernel_images"] = r.kernel_images;
  j["fp32_top1"] = r.fp32_top1;
  j["quant_top1"] = r.quant_top1;
  j["logits_sqnr_db"] = num(r.logits_sqnr);
  j["ranked_by"] = r.ranked_by;
  j["notes"] = r.notes;
  j["seconds"] = r.seconds;
  auto& layers = j["layers"] = nlohmann::json::array();
  for (const auto& l : r.layers) {
    nlohmann::json x;
    x["name"] = l.name;
    x["op_type"] = l.op_type;
    x["tensor"] = l.tensor;
    if (!l.range_source.empty()) x["range_source"] = l.range_source;
    x["weight_sqnr_db"] = num(l.weight_sqnr);
    x["own_sqnr_db"] = num(l.own_sqnr);
    x["model_sqnr_db"] = num(l.model_sqnr);
    if (!l.tensor.empty()) {
      x["fp32_range"] = {l.min, l.max};
      x["quant_range"] = {l.qmin, l.qmax};
      x["clipped"] = l.clipped;
    }
    x["only_quantized_top1"] = num(l.only_top1);
    x["only_quantized_logits_sqnr_db"] = num(l.only_sqnr);
    x["kept_float_top1"] = num(l.float_top1);
    if (!l.sensitivity_note.empty()) x["sensitivity_note"] = l.sensitivity_note;
    x["kernel"] = {{"values", l.kernel_values},
                   {"mismatches", l.kernel_mismatches},
                   {"max_steps", l.kernel_max_steps}};
    layers.push_back(std::move(x));
  }
  return j;
}

std::string debug_html(const DebugReport& r) {
  using report::html_escape;
  std::string h =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>qbench debug</title><style>"
      "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:nth-child(2),"
      "td:nth-child(3){text-align:left}</style></head><body>\n";
  h += fmt::format("<h1>Quantization debug: {}</h1>\n", html_escape(r.model));
  h += fmt::format(
      "<p>{} ({}); {} test images of {}. Top-1 FP32 {:.2f}%, quantized {:.2f}%; logits SQNR {} "
      "dB.</p>\n",
      html_escape(r.recipe), html_escape(r.calib_source), r.images, html_escape(r.dataset),
      100 * r.fp32_top1, 100 * r.quant_top1, db_str(r.logits_sqnr));
  // Bar chart: the ranking figure per layer, worst first (lower SQNR = longer red bar).
  const bool by_only = r.ranked_by == "only_sqnr";
  double top = 0;
  for (const auto& l : r.layers) {
    const double v = by_only ? l.only_sqnr : l.own_sqnr;
    if (std::isfinite(v)) top = std::max(top, v);
  }
  top = std::max(top, 1.0);
  const int row = 18, label = 260, width = 420;
  const int H = row * static_cast<int>(r.layers.size()) + 30;
  h += fmt::format(
      "<h2>{}</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" "
      "height=\"{}\" font-size=\"12\">\n",
      by_only ? "Logits SQNR with only this layer quantized (dB)"
              : "Output SQNR against its own quantization (dB)",
      label + width + 80, H);
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    const double v = by_only ? l.only_sqnr : l.own_sqnr;
    const int y = 10 + static_cast<int>(i) * row;
    const double len = std::isfinite(v) ? std::max(0.0, v) / top * width : width;
    h += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{}\" y=\"{}\" "
        "width=\"{:.1f}\" "
        "height=\"{}\" fill=\"{}\"/><text x=\"{:.1f}\" y=\"{}\">{}</text>\n",
        label - 6, y + 12, html_escape(l.name), label, y + 2, len, row - 4,
        i == 0 ? "#c0392b" : "#7f8c8d", label + len + 4, y + 12, db_str(v));
  }
  h += "</svg>\n<h2>Layers, worst first</h2>\n<table><tr>";
  for (const auto& c : headers()) h += "<th>" + html_escape(c) + "</th>";
  h += "</tr>\n";
  for (size_t i = 0; i < r.layers.size(); ++i) {
    h += "<tr>";
    for (const auto& c : cells(i, r.layers[i])) h += "<td>" + html_escape(c) + "</td>";
    h += "</tr>\n";
  }
  h += "</table>\n";
  for (const auto& n : r.notes) h += "<p>" + html_escape(n) + "</p>\n";
  h += "</body></html>\n";
  return h;
}

}  // namespace qbench::compare
