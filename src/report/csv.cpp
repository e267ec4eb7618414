#include <fmt/format.h>

#include "report/reporter.h"

namespace qbench::report {
namespace {

// RFC 4180: quote fields holding a comma, quote or newline.
std::string field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

void CsvReporter::report(const CompareResults& r, std::ostream& out) const {
  out << "recipe,file,n,top1,top5,drop_points,drop_ci95_low,drop_ci95_high,mcnemar_p,fp32_only,"
         "variant_only,agreement,p50_ms,p90_ms,p99_ms,max_ms,mean_ms,std_ms,queries,"
         "images_per_second,offline_batch,speedup,model_bytes,size_ratio,peak_rss_bytes,"
         "params_int8,params_bf16,params_f32,macs_int8,macs_bf16,macs_f32,load_seconds,"
         "compile_seconds,quantize_seconds,calib_seconds,pareto_latency,pareto_size,emulated,"
         "emulation,macs_emulated,int16_layers,int16_layers_at_risk,int16_pairs,"
         "int16_pairs_at_risk\n";
  for (const auto& v : r.variants) {
    const auto& b = v.bench;
    const auto& l = b.latency_ms;
    const auto& c = b.coverage;
    out << fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},"
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
        field(v.recipe), field(v.file), v.n, v.top1(), v.top5(), v.drop_points, v.drop_ci_low,
        v.drop_ci_high, v.mcnemar_p, v.fp32_only, v.variant_only, v.agreement, l.p50, l.p90, l.p99,
        l.max, l.mean, l.stddev, b.queries, b.images_per_second, b.offline_batch, v.speedup,
        b.model_bytes, v.size_ratio, b.peak_rss_bytes, c.params_int8, c.params_bf16, c.params_f32,
        c.macs_int8, c.macs_bf16, c.macs_f32, b.load_seconds, b.compile_seconds, v.quantize_seconds,
        v.calib_seconds, v.pareto_latency ? 1 : 0, v.pareto_size ? 1 : 0,
        b.emulation.empty() ? 0 : 1, field(b.emulation), c.macs_emulated, b.saturation.layers,
        b.saturation.layers_at_risk, b.saturation.pairs, b.saturation.pairs_at_risk);
  }
}

}  // namespace qbench::report
