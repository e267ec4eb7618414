#include "report/results.h"

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
}

}  // namespace qbench::report
