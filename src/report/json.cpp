#include "report/json.h"

#include "core/error.h"
#include "report/reporter.h"

namespace qbench::report {
namespace {

nlohmann::json shares(int64_t int8, int64_t bf16, int64_t f32) {
  const double total = static_cast<double>(int8 + bf16 + f32);
  auto share = [&](int64_t x) { return total > 0 ? static_cast<double>(x) / total : 0.0; };
  return {{"int8", int8},
          {"bf16", bf16},
          {"f32", f32},
          {"int8_share", share(int8)},
          {"bf16_share", share(bf16)},
          {"f32_share", share(f32)}};
}

template <typename T>
T get(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) fail("results JSON: missing field '{}'", key);
  return j.at(key).get<T>();
}

}  // namespace

nlohmann::json to_json(const bench::Machine& m) {
  return {{"cpu", m.cpu},
          {"logical_cpus", m.logical_cpus},
          {"isa_flags", m.isa},
          {"onednn_isa", m.onednn_isa},
          {"int8_path", m.int8_path},
          {"bf16_path", m.bf16_path},
          {"onednn_version", m.onednn_version},
          {"threads", m.threads},
          {"build_type", m.build_type},
          {"compiler", m.compiler},
          {"qbench_version", m.qbench_version},
          {"git_commit", m.git_commit},
          {"os", m.os}};
}

nlohmann::json to_json(const bench::BenchResult& b) {
  const auto& l = b.latency_ms;
  const auto& c = b.coverage;
  const auto& s = b.saturation;
  return {{"model", b.model},
          {"model_bytes", b.model_bytes},
          {"threads", b.threads},
          {"load_seconds", b.load_seconds},
          {"compile_seconds", b.compile_seconds},
          {"latency_ms",
           {{"queries", b.queries},
            {"seconds", b.latency_seconds},
            {"p50", l.p50},
            {"p90", l.p90},
            {"p99", l.p99},
            {"max", l.max},
            {"min", l.min},
            {"mean", l.mean},
            {"std", l.stddev}}},
          {"offline",
           {{"batch", b.offline_batch},
            {"runs", b.offline_runs},
            {"streams", b.offline_streams},
            {"one_at_a_time", b.offline_one_at_a_time},
            {"not_split", b.offline_not_split},
            {"images_per_second", b.images_per_second}}},
          {"peak_rss_bytes", b.peak_rss_bytes},
          {"coverage",
           {{"params", shares(c.params_int8, c.params_bf16, c.params_f32)},
            {"macs", shares(c.macs_int8, c.macs_bf16, c.macs_f32)},
            {"macs_emulated", c.macs_emulated}}},
          {"emulated", !b.emulation.empty()},
          {"emulation", b.emulation},
          {"kernels", b.kernels},
          {"saturation_risk",
           {{"layers", s.layers},
            {"layers_at_risk", s.layers_at_risk},
            {"pairs", s.pairs},
            {"pairs_at_risk", s.pairs_at_risk},
            {"pair_share", s.pair_share()}}},
          {"other_cpu_share", b.other_cpu_share},
          {"warnings", b.warnings}};
}

bench::BenchResult bench_from_json(const nlohmann::json& j) {
  bench::BenchResult b;
  b.model = get<std::string>(j, "model");
  b.model_bytes = get<int64_t>(j, "model_bytes");
  b.threads = get<int>(j, "threads");
  b.load_seconds = get<double>(j, "load_seconds");
  b.compile_seconds = get<double>(j, "compile_seconds");
  const auto& l = j.at("latency_ms");
  b.queries = get<int64_t>(l, "queries");
  b.latency_seconds = get<double>(l, "seconds");
  b.latency_ms.n = b.queries;
  b.latency_ms.p50 = get<double>(l, "p50");
  b.latency_ms.p90 = get<double>(l, "p90");
  b.latency_ms.p99 = get<double>(l, "p99");
  b.latency_ms.max = get<double>(l, "max");
  b.latency_ms.min = get<double>(l, "min");
  b.latency_ms.mean = get<double>(l, "mean");
  b.latency_ms.stddev = get<double>(l, "std");
  const auto& o = j.at("offline");
  b.offline_batch = get<int64_t>(o, "batch");
  b.offline_runs = get<int64_t>(o, "runs");
  // Results written before the batch split (cached ones) ran one plan.
  b.offline_streams = o.contains("streams") ? get<int>(o, "streams") : 1;
  b.offline_one_at_a_time = o.contains("one_at_a_time") && get<bool>(o, "one_at_a_time");
  b.offline_not_split = o.contains("not_split") ? get<std::string>(o, "not_split") : "";
  b.images_per_second = get<double>(o, "images_per_second");
  b.peak_rss_bytes = get<int64_t>(j, "peak_rss_bytes");
  const auto& p = j.at("coverage").at("params");
  const auto& m = j.at("coverage").at("macs");
  b.coverage = {get<int64_t>(p, "int8"),
                get<int64_t>(p, "bf16"),
                get<int64_t>(p, "f32"),
                get<int64_t>(m, "int8"),
                get<int64_t>(m, "bf16"),
                get<int64_t>(m, "f32"),
                get<int64_t>(j.at("coverage"), "macs_emulated")};
  b.emulation = get<std::string>(j, "emulation");
  b.kernels = get<std::vector<std::string>>(j, "kernels");
  const auto& s = j.at("saturation_risk");
  b.saturation = {get<int64_t>(s, "layers"), get<int64_t>(s, "layers_at_risk"),
                  get<int64_t>(s, "pairs"), get<int64_t>(s, "pairs_at_risk")};
  b.other_cpu_share = get<double>(j, "other_cpu_share");
  b.warnings = get<std::vector<std::string>>(j, "warnings");
  return b;
}

nlohmann::json to_json(const VariantResult& v, bool with_predictions) {
  nlohmann::json j = {{"recipe", v.recipe},
                      {"file", v.file},
                      {"n", v.n},
                      {"correct_top1", v.correct_top1},
                      {"correct_top5", v.correct_top5},
                      {"top1", v.top1()},
                      {"top5", v.top5()},
                      {"drop_points", v.drop_points},
                      {"drop_ci95", {v.drop_ci_low, v.drop_ci_high}},
                      {"fp32_only", v.fp32_only},
                      {"variant_only", v.variant_only},
                      {"mcnemar_p", v.mcnemar_p},
                      {"agreement", v.agreement},
                      {"speedup", v.speedup},
                      {"size_ratio", v.size_ratio},
                      {"quantize_seconds", v.quantize_seconds},
                      {"calib_seconds", v.calib_seconds},
                      {"pareto_latency", v.pareto_latency},
                      {"pareto_size", v.pareto_size},
                      {"bench", to_json(v.bench)}};
  if (with_predictions) j["predictions"] = v.predictions;
  if (!v.other_hosts.empty()) {
    nlohmann::json hosts = nlohmann::json::array();
    for (const auto& h : v.other_hosts) hosts.push_back({{"host", h.host}, {"bench", to_json(h.bench)}});
    j["other_hosts"] = hosts;
  }
  return j;
}

VariantResult variant_from_json(const nlohmann::json& j) {
  VariantResult v;
  v.recipe = get<std::string>(j, "recipe");
  v.file = get<std::string>(j, "file");
  v.n = get<int64_t>(j, "n");
  v.correct_top1 = get<int64_t>(j, "correct_top1");
  v.correct_top5 = get<int64_t>(j, "correct_top5");
  v.drop_points = get<double>(j, "drop_points");
  const auto ci = get<std::vector<double>>(j, "drop_ci95");
  if (ci.size() != 2) fail("results JSON: drop_ci95 must hold two numbers");
  v.drop_ci_low = ci[0];
  v.drop_ci_high = ci[1];
  v.fp32_only = get<int64_t>(j, "fp32_only");
  v.variant_only = get<int64_t>(j, "variant_only");
  v.mcnemar_p = get<double>(j, "mcnemar_p");
  v.agreement = get<double>(j, "agreement");
  v.speedup = get<double>(j, "speedup");
  v.size_ratio = get<double>(j, "size_ratio");
  v.quantize_seconds = get<double>(j, "quantize_seconds");
  v.calib_seconds = get<double>(j, "calib_seconds");
  v.pareto_latency = get<bool>(j, "pareto_latency");
  v.pareto_size = get<bool>(j, "pareto_size");
  v.bench = bench_from_json(j.at("bench"));
  if (j.contains("predictions")) v.predictions = j.at("predictions").get<std::vector<int32_t>>();
  if (j.contains("other_hosts"))
    for (const auto& h : j.at("other_hosts"))
      v.other_hosts.push_back({get<std::string>(h, "host"), bench_from_json(h.at("bench"))});
  return v;
}

nlohmann::json to_json(const CompareResults& r) {
  nlohmann::json variants = nlohmann::json::array();
  for (const auto& v : r.variants) variants.push_back(to_json(v));
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& p : r.peers)
    peers.push_back({{"engine", p.engine},
                     {"recipe", p.recipe},
                     {"rounds", p.rounds},
                     {"p50_ms", p.p50_ms},
                     {"qbench_p50_ms", p.qbench_p50_ms},
                     {"n", p.n},
                     {"correct_top1", p.correct_top1},
                     {"top1", p.top1()},
                     {"agreement", p.agreement}});
  const auto& s = r.settings;
  return {{"schema", "qbench.compare"},
          {"schema_version", kSchemaVersion},
          {"model", r.model},
          {"model_bytes", r.model_bytes},
          {"model_hash", r.model_hash},
          {"data", r.data},
          {"images", r.images},
          {"settings",
           {{"limit", s.limit},
            {"eval_batch", s.eval_batch},
            {"calib_data", s.calib_data},
            {"calib_size", s.calib_size},
            {"threads", s.bench.threads},
            {"offline_batch", s.bench.batch},
            {"warmup_seconds", s.bench.warmup_seconds},
            {"warmup_queries", s.bench.warmup_queries},
            {"min_queries", s.bench.min_queries},
            {"min_seconds", s.bench.min_seconds},
            {"bootstrap_resamples", s.bootstrap_resamples},
            {"bootstrap_seed", s.bootstrap_seed}}},
          {"machine", to_json(r.machine)},
          {"variants", variants},
          {"skipped", r.skipped},
          {"warnings", r.warnings},
          {"peers", peers},
          {"peer_notes", r.peer_notes},
          {"ranks", r.ranks},
          {"hosts", r.hosts}};
}

void JsonReporter::report(const CompareResults& r, std::ostream& out) const {
  out << to_json(r).dump(2) << "\n";
}

}  // namespace qbench::report
