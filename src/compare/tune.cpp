#include "compare/tune.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "compare/debug.h"
#include "core/error.h"
#include "engine/engine.h"
#include "eval/evaluate.h"
#include "kernels/onednn/cpu_paths.h"
#include "onnx/onnx_io.h"
#include "quant/calibrate.h"

namespace qbench::compare {
namespace {

using Clock = std::chrono::steady_clock;

// Top-1 and the logits of a model on the tuning images.
struct Scored {
  double top1 = 0;
  std::vector<float> logits;
};

Scored score(engine::Engine& e, const data::Dataset& ds, const eval::InputBinding& bind,
             const data::Preprocess& pp, int64_t batch) {
  const ir::Graph& g = e.graph();
  Scored s;
  int64_t correct = 0;
  for (int64_t start = 0; start < ds.count; start += batch) {
    const int64_t count = std::min(batch, ds.count - start);
    Tensor y = e.run({eval::input_batch(ds, bind, pp, start, count)}).at(0);
    if (y.dtype() != DType::F32 || y.rank() != 2)
      fail("model output '{}' is {} {}; tune needs a classifier's f32 [batch, classes]",
           g.outputs[0], dtype_name(y.dtype()), shape_str(y.shape()));
    const int64_t classes = y.dim(1);
    for (int64_t i = 0; i < count; ++i) {
      const float* row = y.data<float>() + i * classes;
      correct += eval::in_top_k(row, classes, ds.labels[start + i], 1);
    }
    s.logits.insert(s.logits.end(), y.data<float>(), y.data<float>() + count * classes);
  }
  s.top1 = ds.count ? double(correct) / double(ds.count) : 0.0;
  return s;
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Median milliseconds of `n` batch-1 runs.
double median_ms(engine::Engine& e, const Tensor& x1, int n) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const auto a = Clock::now();
    e.run({x1});
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
  }
  return median(ms);
}

// Batch-1 latency of g relative to FP32's, timed interleaved with it (a shared machine drifts):
// after 10 warm-up runs each, rounds of runs of each model in alternating order, at least 5
// rounds, `runs` runs of each and `seconds` in all; the median over rounds of the ratio of the
// round medians.
double latency_ratio(engine::Engine& e, engine::Engine& fp32, const Tensor& x1, int runs,
                     double seconds) {
  median_ms(e, x1, 10);
  median_ms(fp32, x1, 10);
  const int per_round = std::max(1, runs / 5);
  std::vector<double> ratios;
  const auto t0 = Clock::now();
  for (int round = 0;
       round < 5 || std::chrono::duration<double>(Clock::now() - t0).count() < seconds; ++round) {
    double a, b;
    if (round % 2) {
      a = median_ms(e, x1, per_round);
      b = median_ms(fp32, x1, per_round);
    } else {
      b = median_ms(fp32, x1, per_round);
      a = median_ms(e, x1, per_round);
    }
    ratios.push_back(a / b);
  }
  return median(ratios);
}

// Latencies within this ratio count as equal (timing noise on a shared machine); the more
// accurate configuration wins the tie.
constexpr double kLatencyTie = 1.03;

std::string join(const std::vector<std::string>& v) {
  return v.empty() ? "-" : fmt::format("{}", fmt::join(v, ", "));
}

}  // namespace

TuneResult tune(const ir::Graph& model, const std::string& model_name, const TuneOptions& o) {
  const auto t0 = Clock::now();
  auto say = [&](const std::string& s) {
    if (o.progress) o.progress(s);
  };
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  if (!quant::is_static_int8(o.quant.recipe))
    fail("tune searches static-int8 variants (static-int8, static-int8-rr), not {}",
         quant::recipe_name(o.quant.recipe));
  if (!(o.max_drop >= 0) || !std::isfinite(o.max_drop))
    fail("--max-drop must be a number >= 0 (got {})", o.max_drop);
  if (o.tune_images < 1) fail("--tune-images must be at least 1 (got {})", o.tune_images);
  if (o.ranges.empty()) fail("--ranges needs at least one range method");

  TuneResult r;
  r.model = model_name;
  const data::Dataset all = data::load_dataset(o.data, data::Split::Test, o.image);
  const auto tune_idx =
      quant::calibration_indices(all.count, std::min(o.tune_images, all.count), o.seed);
  std::vector<int64_t> rest;
  {
    std::set<int64_t> used(tune_idx.begin(), tune_idx.end());
    for (int64_t i = 0; i < all.count; ++i)
      if (!used.count(i)) rest.push_back(i);
  }
  const data::Dataset ds = data::subset(all, tune_idx);
  r.dataset = all.name;
  r.tune_images = ds.count;
  r.holdout_images = static_cast<int64_t>(rest.size());
  const data::Preprocess pp = eval::preprocess_for(model, ds, o.preprocess);
  const eval::InputBinding bind = eval::bind_input(model, ds);
  const Tensor x1 = eval::input_batch(ds, bind, pp, 0, 1);

  say(fmt::format("FP32 on {} tuning images", ds.count));
  engine::EngineOptions eo;
  eo.threads = o.threads;
  engine::Engine fp32_engine(model, eo);  // compiled once: scored, timed, and timed against
  const Scored base = score(fp32_engine, ds, bind, pp, o.batch);
  r.fp32_top1 = base.top1;
  median_ms(fp32_engine, x1, 10);
  r.fp32_latency_ms = median_ms(fp32_engine, x1, std::max(o.latency_runs, 5));
  r.fp32_bytes = static_cast<int64_t>(onnxio::serialize_model(model).size());
  // Relative: X percent of FP32's top-1, in points.
  r.target_points = o.relative ? o.max_drop * base.top1 : o.max_drop;

  // One calibration table per range method, in a temporary directory; a given --calib-table
  // is used as it is (and the range methods are not searched).
  const bool user_table =
      !o.quant.calib_table.empty() && std::filesystem::exists(o.quant.calib_table);
  const std::string dir =
      (std::filesystem::temp_directory_path() / fmt::format("qbench-tune-{}", getpid())).string();
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  // Equalization changes the float model's tensors: its configurations calibrate their own.
  auto table_of = [&](const std::string& range, bool equalized) {
    return user_table && !equalized
               ? o.quant.calib_table
               : dir + "/" + range + (equalized ? "+equalize" : "") + ".calib";
  };

  std::vector<ir::Graph> graphs;  // each trial's model, for the final choice
  // a better than b for the objective; ties (latency within kLatencyTie, equal size) go to the
  // more accurate.
  auto better = [&](const TuneTrial& a, const TuneTrial& b) {
    if (o.objective == TuneObjective::Latency) {
      if (a.latency_ms * kLatencyTie < b.latency_ms) return true;
      if (b.latency_ms * kLatencyTie < a.latency_ms) return false;
    } else if (a.bytes != b.bytes) {
      return a.bytes < b.bytes;
    }
    return a.top1 > b.top1;
  };
  // The range method changes scales, not the graph: configurations keeping the same nodes out
  // of int8 share one latency measurement, so noise cannot pick between them.
  std::map<std::string, double> latency_of;
  {
    TuneTrial f;
    f.stage = "fp32";
    f.range = "-";
    f.top1 = base.top1;
    f.logits_sqnr = kNoError;
    f.latency_ms = r.fp32_latency_ms;
    f.bytes = r.fp32_bytes;
    f.meets = true;
    r.trials.push_back(f);
    graphs.push_back(model);
  }
  auto trial = [&](const std::string& stage, quant::RangeMethod range,
                   std::vector<std::string> float_nodes, std::vector<std::string> bf16_nodes,
                   bool equalize = false) -> const TuneTrial& {
    quant::QuantizeOptions q = o.quant;
    q.range.method = range;
    if (equalize) {
      q.equalize = true;
      q.relu6_to_relu = true;
    }
    q.calib_table = table_of(quant::range_method_name(range), equalize);
    q.save_calib_table.clear();
    q.calibrate_missing = !q.calib.data.empty();
    q.calib.progress = {};
    q.exclude.insert(q.exclude.end(), float_nodes.begin(), float_nodes.end());
    q.bf16_nodes = bf16_nodes;
    quant::QuantizeResult qr = quant::quantize(model, q);
    engine::Engine e(qr.graph, eo);  // one compilation scores and times the configuration
    const Scored s = score(e, ds, bind, pp, o.batch);
    TuneTrial t;
    t.stage = stage;
    t.range = quant::range_method_name(range);
    t.equalized = equalize;
    t.float_nodes = std::move(float_nodes);
    t.bf16_nodes = std::move(bf16_nodes);
    t.top1 = s.top1;
    t.drop_points = 100.0 * (base.top1 - s.top1);
    Sqnr sq;
    sq.add(base.logits.data(), s.logits.data(),
           static_cast<int64_t>(std::min(base.logits.size(), s.logits.size())));
    t.logits_sqnr = sq.db();
    const std::string key = join(t.float_nodes) + "|" + join(t.bf16_nodes);
    auto cached = latency_of.find(key);
    t.latency_ms = cached != latency_of.end()
                       ? cached->second
                       : (latency_of[key] =
                              r.fp32_latency_ms *
                              latency_ratio(e, fp32_engine, x1, o.latency_runs, o.latency_seconds));
    t.bytes = static_cast<int64_t>(onnxio::serialize_model(qr.graph).size());
    t.meets = t.drop_points <= r.target_points + 1e-9;
    say(fmt::format("{} #{}: top-1 {:.2f}% (drop {:.2f} points), {:.3f} ms, float: {}{}", stage,
                    r.trials.size() + 1, 100 * t.top1, t.drop_points, t.latency_ms,
                    join(t.float_nodes),
                    t.bf16_nodes.empty() ? "" : ", bf16: " + join(t.bf16_nodes)));
    r.trials.push_back(t);
    graphs.push_back(std::move(qr.graph));
    return r.trials.back();
  };
  // A configuration after the first stage that cannot be made (a node that cannot stay float
  // or go bf16 in this model) is noted and skipped.
  auto try_trial = [&](const std::string& stage, quant::RangeMethod range,
                       const std::vector<std::string>& float_nodes,
                       const std::vector<std::string>& bf16_nodes) -> const TuneTrial* {
    try {
      return &trial(stage, range, float_nodes, bf16_nodes);
    } catch (const Error& e) {
      r.notes.push_back(fmt::format("{} configuration with {} out of int8 skipped: {}", stage,
                                    join(float_nodes.empty() ? bf16_nodes : float_nodes),
                                    e.what()));
      return nullptr;
    }
  };
  auto out_of_time = [&] {
    if (elapsed() <= o.time_budget) return false;
    if (r.notes.empty() || r.notes.back().find("time budget") == std::string::npos)
      r.notes.push_back(fmt::format("stopped after {:.0f} s: the time budget ({:.0f} s) ran out",
                                    elapsed(), o.time_budget));
    return true;
  };
  auto any_meets = [&] {
    return std::any_of(r.trials.begin(), r.trials.end(),
                       [](const TuneTrial& t) { return t.meets && t.stage != "fp32"; });
  };

  // 1. The whole model in int8, each range method.
  std::vector<quant::RangeMethod> ranges = o.ranges;
  if (user_table) ranges = {o.quant.range.method};
  quant::RangeMethod best_range = ranges[0];
  double best_top1 = -1;
  std::vector<std::string> candidates;
  for (auto m : ranges) {
    if (r.trials.size() > 1 && out_of_time()) break;
    const TuneTrial& t = trial("int8", m, {}, {});
    if (t.top1 > best_top1) {
      best_top1 = t.top1;
      best_range = m;
    }
  }
  // 1b. Cross-layer equalization of the whole model (through ReLU6), best range method.
  if (!any_meets() && o.equalize && !o.quant.equalize && !out_of_time()) {
    try {
      trial("equalize", best_range, {}, {}, true);
    } catch (const Error& e) {
      r.notes.push_back(fmt::format("equalize configuration skipped: {}", e.what()));
    }
  }
  if (!any_meets() && !out_of_time()) {
    // 2. Each node out of int8 alone, ranked by the logits' SQNR, then cumulatively.
    quant::QuantizeOptions q = o.quant;
    q.range.method = best_range;
    q.calib_table = table_of(quant::range_method_name(best_range), false);
    q.calibrate_missing = !q.calib.data.empty();
    q.calib.progress = {};
    for (const auto& n : quant::quantize(model, q).quantized_nodes) candidates.push_back(n.name);
    std::vector<std::pair<double, std::string>> ranked;
    for (const auto& n : candidates) {
      if (out_of_time()) break;
      const TuneTrial* t = try_trial("rank", best_range, {n}, {});
      if (!t) continue;
      ranked.emplace_back(t->logits_sqnr, n);
      if (t->meets) break;  // one node is enough
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> kept;
    for (size_t i = 0; !any_meets() && i < ranked.size(); ++i) {
      kept.push_back(ranked[i].second);
      if (kept.size() == 1) continue;  // measured while ranking
      if (out_of_time()) break;
      try_trial("greedy", best_range, kept, {});
    }
  }
  // 3. The float nodes of the best configuration in bf16, where bf16 is native.
  // The best trial meeting the target, from index `from` (1 skips FP32); -1 when none does.
  auto pick = [&](size_t from) {
    int best = -1;
    for (size_t i = from; i < r.trials.size(); ++i) {
      const TuneTrial& t = r.trials[i];
      if (!t.meets) continue;
      if (best < 0 || better(t, r.trials[best])) best = static_cast<int>(i);
    }
    return best;
  };
  const int quantized = pick(1);
  if (quantized >= 0 && !r.trials[quantized].float_nodes.empty() && o.bf16) {
    if (!kernels::onednn::native_bf16()) {
      r.notes.push_back(
          "bf16 not tried: this CPU has no native bf16 (it would be emulated in f32)");
    } else if (!out_of_time()) {
      const TuneTrial c = r.trials[quantized];
      try_trial("bf16", quant::parse_range_method(c.range), {}, c.float_nodes);
    }
  }
  int chosen = pick(0);
  r.met = any_meets();
  if (!r.met) {
    // No quantized configuration meets the target: the most accurate quantized one.
    chosen = -1;
    for (size_t i = 1; i < r.trials.size(); ++i)
      if (chosen < 0 || r.trials[i].top1 > r.trials[chosen].top1) chosen = static_cast<int>(i);
    r.notes.push_back(fmt::format(
        "no quantized configuration met the target (a drop of at most {:.2f} points){}; kept "
        "the most accurate one, FP32 is the only model that meets it",
        r.target_points, out_of_time() ? " within the time budget" : ""));
  } else if (chosen == 0) {
    r.notes.push_back(fmt::format(
        "FP32 itself is the best model that meets the target: no quantized configuration that "
        "meets it is {}",
        o.objective == TuneObjective::Latency ? "faster at batch 1 on this machine" : "smaller"));
  }
  r.chosen = chosen;
  if (chosen >= 0) {
    r.graph = graphs[chosen];
  }
  if (chosen > 0) {
    std::ifstream f(table_of(r.trials[chosen].range, r.trials[chosen].equalized));
    std::stringstream ss;
    ss << f.rdbuf();
    r.calib_table = ss.str();
  }
  if (chosen >= 0 && !rest.empty()) {
    say(fmt::format("checking the choice on the {} held-out test images", rest.size()));
    const data::Dataset held = data::subset(all, rest);
    engine::Engine chosen_engine(r.graph, eo);
    r.holdout_fp32_top1 = score(fp32_engine, held, bind, pp, o.batch).top1;
    r.holdout_top1 = score(chosen_engine, held, bind, pp, o.batch).top1;
  }
  r.seconds = elapsed();
  return r;
}

void print_tune(const TuneResult& r) {
  fmt::print("model       {}\n", r.model);
  fmt::print("data        {} tuning images of {} (seeded sample), {} held out\n", r.tune_images,
             r.dataset, r.holdout_images);
  fmt::print("target      top-1 drop <= {:.2f} points; fp32 top-1 {:.2f}%, {:.3f} ms\n\n",
             r.target_points, 100 * r.fp32_top1, r.fp32_latency_ms);
  fmt::print("{:<3} {:<8} {:<10} {:>7} {:>7} {:>9} {:>9} {:>10} {:>5}  {}\n", "#", "stage", "range",
             "top-1", "drop", "logits dB", "ms", "bytes", "meets", "kept out of int8");
  for (size_t i = 0; i < r.trials.size(); ++i) {
    const TuneTrial& t = r.trials[i];
    std::string kept =
        t.bf16_nodes.empty() ? "float: " + join(t.float_nodes) : "bf16: " + join(t.bf16_nodes);
    if (t.float_nodes.empty() && t.bf16_nodes.empty()) kept = "-";
    const std::string db =
        std::isinf(t.logits_sqnr) ? "exact" : fmt::format("{:.1f}", t.logits_sqnr);
    fmt::print("{:<3} {:<8} {:<10} {:>6.2f}% {:>7.2f} {:>9} {:>9.3f} {:>10} {:>5}  {}{}\n", i + 1,
               t.stage, t.range, 100 * t.top1, t.drop_points, db, t.latency_ms, t.bytes,
               t.meets ? "yes" : "no", kept, static_cast<int>(i) == r.chosen ? "   <- chosen" : "");
  }
  if (r.chosen >= 0) {
    const TuneTrial& c = r.trials[r.chosen];
    fmt::print(
        "\nchosen      #{}: {} ({}), {:.3f} ms vs fp32 {:.3f} ms ({:.2f}x), {} vs {} bytes\n",
        r.chosen + 1, r.met ? "meets the target" : "does NOT meet the target",
        r.chosen == 0                                   ? "FP32, nothing quantized"
        : c.bf16_nodes.empty() && c.float_nodes.empty()
            ? (c.equalized ? "every node int8, equalized" : "every node int8")
                                                        : "mixed",
        c.latency_ms, r.fp32_latency_ms, c.latency_ms / r.fp32_latency_ms, c.bytes, r.fp32_bytes);
    if (r.holdout_images > 0)
      fmt::print("held out    {} images: fp32 {:.2f}%, chosen {:.2f}% (drop {:.2f} points)\n",
                 r.holdout_images, 100 * r.holdout_fp32_top1, 100 * r.holdout_top1,
                 100 * (r.holdout_fp32_top1 - r.holdout_top1));
  }
  for (const auto& n : r.notes) fmt::print("note        {}\n", n);
  fmt::print(
      "({:.1f} s; latency: batch-1, each configuration timed interleaved with FP32 and given as "
      "FP32's median times the median ratio; within 3% counts as a tie, won by top-1)\n",
      r.seconds);
}

nlohmann::json to_json(const TuneResult& r) {
  nlohmann::json j;
  j["model"] = r.model;
  j["dataset"] = r.dataset;
  j["tune_images"] = r.tune_images;
  j["holdout_images"] = r.holdout_images;
  j["target_drop_points"] = r.target_points;
  j["fp32"] = {{"top1", r.fp32_top1}, {"latency_ms", r.fp32_latency_ms}, {"bytes", r.fp32_bytes}};
  j["met"] = r.met;
  j["chosen"] = r.chosen >= 0 ? nlohmann::json(r.chosen) : nlohmann::json(nullptr);
  j["holdout"] = {{"fp32_top1", r.holdout_fp32_top1}, {"chosen_top1", r.holdout_top1}};
  j["notes"] = r.notes;
  j["seconds"] = r.seconds;
  auto& trials = j["trials"] = nlohmann::json::array();
  for (const auto& t : r.trials)
    trials.push_back({{"stage", t.stage},
                      {"range", t.range},
                      {"equalized", t.equalized},
                      {"float_nodes", t.float_nodes},
                      {"bf16_nodes", t.bf16_nodes},
                      {"top1", t.top1},
                      {"drop_points", t.drop_points},
                      {"logits_sqnr_db", std::isinf(t.logits_sqnr) ? nlohmann::json("exact")
                                                                   : nlohmann::json(t.logits_sqnr)},
                      {"latency_ms", t.latency_ms},
                      {"bytes", t.bytes},
                      {"meets", t.meets}});
  return j;
}

}  // namespace qbench::compare
