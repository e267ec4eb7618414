#include "report/results.h"

#include <fmt/format.h>

#include <algorithm>

namespace qbench::report {

void finalize(CompareResults& r) {
  if (r.variants.empty()) return;
  const VariantResult* base = &r.variants.front();
  for (const auto& v : r.variants)
    if (v.recipe == "fp32") base = &v;
  const double base_p50 = base->bench.latency_ms.p50;
  const double base_bytes = static_cast<double>(base->bench.model_bytes);
  for (auto& v : r.variants) {
    v.speedup = v.bench.latency_ms.p50 > 0 ? base_p50 / v.bench.latency_ms.p50 : 0;
    v.size_ratio = base_bytes > 0 ? static_cast<double>(v.bench.model_bytes) / base_bytes : 0;
  }
  auto dominated = [&](const VariantResult& v, auto cost) {
    for (const auto& u : r.variants) {
      if (&u == &v) continue;
      if (u.correct_top1 >= v.correct_top1 && cost(u) <= cost(v) &&
          (u.correct_top1 > v.correct_top1 || cost(u) < cost(v)))
        return true;
    }
    return false;
  };
  auto latency = [](const VariantResult& v) { return v.bench.latency_ms.p50; };
  auto size = [](const VariantResult& v) { return v.bench.model_bytes; };
  for (auto& v : r.variants) {
    v.pareto_latency = !dominated(v, latency);
    v.pareto_size = !dominated(v, size);
  }
  std::stable_sort(r.variants.begin(), r.variants.end(),
                   [](const VariantResult& a, const VariantResult& b) {
                     if (a.pareto_latency != b.pareto_latency) return a.pareto_latency;
                     return a.bench.latency_ms.p50 < b.bench.latency_ms.p50;
                   });
  for (const auto& v : r.variants) {
    std::string line;
    for (const auto& w : v.bench.warnings) line += (line.empty() ? "" : "; ") + w;
    if (!line.empty()) r.warnings.push_back(v.recipe + ": " + line);
  }
  // Emulated precisions: the accuracy holds, the timing is not what that precision gives.
  for (const auto& v : r.variants)
    if (!v.bench.emulation.empty())
      r.warnings.push_back(
          fmt::format("{}: {}; the accuracy is that precision's, the timing (marked *) is not",
                      v.recipe, v.bench.emulation));
  // int8 files that lose accuracy where a runtime adds u8 x s8 pairs in int16.
  const VariantResult* safe = nullptr;
  for (const auto& v : r.variants)
    if (v.bench.saturation.layers > 0 && v.bench.saturation.pairs_at_risk == 0) safe = &v;
  for (const auto& v : r.variants) {
    const quant::SaturationRisk& s = v.bench.saturation;
    if (s.pairs_at_risk == 0) continue;
    r.warnings.push_back(fmt::format(
        "{}: {:.1f}% of its int8 weight pairs ({} of {} layers) overflow int16 when u8 x s8 "
        "products are added in pairs, as runtimes do on CPUs without VNNI (ONNX Runtime's u8s8 "
        "kernels, oneDNN); qbench computes them exactly, but this file may lose accuracy "
        "there{}",
        v.recipe, 100 * s.pair_share(), s.layers_at_risk, s.layers,
        safe ? fmt::format(" ({} has no such pair)", safe->recipe)
             : "; static-int8-rr (reduce-range 7-bit weights) has none"));
  }
}

}  // namespace qbench::report
