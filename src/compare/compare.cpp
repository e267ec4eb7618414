#include "compare/compare.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "bench/sysinfo.h"
#include "compare/cluster.h"
#include "core/error.h"
#include "data/dataset.h"
#include "engine/engine.h"
#include "eval/evaluate.h"
#include "eval/stats.h"
#include "onnx/onnx_io.h"
#include "quant/recipes.h"
#include "report/json.h"
#include "report/reporter.h"

extern char** environ;

namespace qbench::compare {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull, kFnvPrime = 1099511628211ull;

uint64_t fnv_update(uint64_t h, const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= kFnvPrime;
  }
  return h;
}

std::string self_exe() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot find this executable (/proc/self/exe) to time the variants in a child");
  return p.string();
}

// The timing child's process group while it runs (0: none). A SIGINT or SIGTERM to compare
// ends the child too, instead of leaving it burning a core on a timing machine.
volatile sig_atomic_t g_child_group = 0;

extern "C" void end_child_and_exit(int sig) {
  if (g_child_group > 0) kill(-static_cast<pid_t>(g_child_group), SIGTERM);
  signal(sig, SIG_DFL);
  raise(sig);
}

quant::QuantizeOptions quantize_options(const CompareOptions& o, quant::Recipe recipe) {
  quant::QuantizeOptions q;
  q.recipe = recipe;
  q.calib.data = o.calib_data.empty() ? o.data : o.calib_data;
  q.calib.size = o.calib_size;
  q.calib.threads = o.bench.threads;
  q.calib.image = o.image;
  q.calib.preprocess = o.preprocess;
  if (o.progress && quant::is_static_int8(recipe))
    q.calib.progress = o.progress("calibrate " + std::string(quant::recipe_name(recipe)));
  return q;
}

std::string settings_key(const CompareOptions& o, const std::string& model_hash,
                         const std::string& recipe) {
  const auto& b = o.bench;
  std::string image;
  auto image_files = [](const std::string& spec) {
    return spec.rfind("folder:", 0) == 0 || spec.rfind("imagenet-val:", 0) == 0;
  };
  if (image_files(o.data) || image_files(o.calib_data))
    image = fmt::format(" resize={} crop={} gray={} labels={}", o.image.resize, o.image.crop,
                        o.image.grayscale, o.image.class_order);
  if (o.preprocess) image += fmt::format(" mean={} std={}", o.preprocess->mean, o.preprocess->std);
  return fnv1a64(fmt::format(
      "schema={} model={} recipe={} data={} calib={} calib_size={} limit={} (stratified) "
      "eval_batch={} threads={} batch={} warmup={}/{} min={}/{} build={} commit={}{}",
      report::kSchemaVersion, model_hash, recipe, o.data,
      o.calib_data.empty() ? o.data : o.calib_data, o.calib_size, o.limit, o.eval_batch, b.threads,
      b.batch, b.warmup_seconds, b.warmup_queries, b.min_queries, b.min_seconds, QBENCH_BUILD_TYPE,
      bench::build_commit(), image));
}

// Quantizes one variant and writes its file (rank 0's part of a variant); `bytes` gets the file's
// bytes, which every rank evaluates.
report::VariantResult make_variant(const CompareOptions& o, const ir::Graph& model,
                                   const std::string& recipe_name, const std::string& calib_table,
                                   std::string& bytes) {
  report::VariantResult v;
  v.recipe = recipe_name;
  const quant::VariantSpec spec = quant::parse_variant(recipe_name);
  const quant::Recipe recipe = spec.recipe;
  const auto t0 = std::chrono::steady_clock::now();
  quant::QuantizeOptions qo = quantize_options(o, recipe);
  // Variants that calibrate the model as given (static-int8, -rr, +per-tensor) share one
  // calibration: the first writes the table, the others load it. Equalization, SmoothQuant and
  // bias correction change the float model or need more statistics: they calibrate their own.
  if (quant::is_static_int8(recipe) && !spec.equalize && !spec.smooth_quant && !spec.bias_correct) {
    qo.calib_table = calib_table;
    qo.calibrate_missing = true;
  }
  if (!o.quiet && quant::is_static_int8(recipe)) {
    if (!qo.calib_table.empty() && fs::exists(qo.calib_table))
      std::fprintf(stderr, "%s: the calibration of an earlier variant (%s)\n", recipe_name.c_str(),
                   qo.calib_table.c_str());
    else
      std::fprintf(stderr, "%s: calibrating on %lld images of %s (train split)\n",
                   recipe_name.c_str(), static_cast<long long>(o.calib_size),
                   (o.calib_data.empty() ? o.data : o.calib_data).c_str());
  }
  qo.per_channel = !spec.per_tensor;
  qo.equalize = spec.equalize;
  qo.relu6_to_relu = spec.relu6_to_relu;
  qo.bias_correct = spec.bias_correct;
  qo.smooth_quant = spec.smooth_quant;
  quant::QuantizeResult q = quant::quantize(model, qo);
  v.quantize_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  v.calib_seconds = q.calib_seconds;
  fs::create_directories(fs::path(o.out_dir) / "models");
  v.file = (fs::path(o.out_dir) / "models" / (recipe_name + ".onnx")).string();
  bytes = onnxio::serialize_model(q.graph);
  write_file_atomic(v.file, bytes);
  return v;
}

// The images rank `r` of `k` evaluates: a contiguous share whose bounds are multiples of the
// evaluation batch, so every batch is one a single process would run too (dynamic int8's
// per-batch ranges, and any kernel choice that depends on the batch, then give the same
// predictions).
std::pair<int64_t, int64_t> shard_range(int64_t n, int64_t batch, int r, int k) {
  const int64_t batches = (n + batch - 1) / batch;
  return {std::min(n, batches * r / k * batch), std::min(n, batches * (r + 1) / k * batch)};
}

// One rank's evaluation of its shard of the test set with the variant's file `bytes`, as JSON
// (n, correct counts, predictions), read from the shard cache when an earlier run finished it.
nlohmann::json evaluate_shard(const CompareOptions& o, const data::Dataset& ds,
                              const data::Preprocess& pp, const report::VariantResult& v,
                              const std::string& bytes, const fs::path& shard_cache,
                              const std::string& label) {
  if (ds.count == 0)  // more ranks than batches: nothing for this one
    return {{"n", 0}, {"correct_top1", 0}, {"correct_top5", 0},
            {"predictions", std::vector<int32_t>{}}};
  if (!shard_cache.empty() && fs::exists(shard_cache)) {
    try {
      std::ifstream f(shard_cache);
      nlohmann::json j = nlohmann::json::parse(f);
      if (j.at("n").get<int64_t>() == ds.count &&
          j.at("predictions").size() == static_cast<size_t>(ds.count)) {
        j["cached"] = true;
        return j;
      }
    } catch (const std::exception&) {
    }  // unreadable or not this shard's: evaluate again
  }
  ir::Graph g = onnxio::load_model_from_bytes(bytes, v.file, fs::path(v.file).parent_path().string());
  engine::EngineOptions eo;
  eo.threads = o.bench.threads;
  engine::Engine eng(std::move(g), eo);
  eval::EvalResult e = eval::evaluate(eng, ds, pp, {o.eval_batch, 0},
                                      o.progress ? o.progress("eval " + label) : nullptr);
  nlohmann::json j = {{"n", e.n},
                      {"correct_top1", e.correct_top1},
                      {"correct_top5", e.correct_top5},
                      {"predictions", e.predictions}};
  if (!shard_cache.empty()) write_file_atomic(shard_cache.string(), j.dump() + "\n");
  return j;
}

// "node1: ranks 0-1" for each host, in order of its first rank.
std::vector<std::string> describe_hosts(const std::vector<std::string>& hosts) {
  std::vector<std::string> order, out;
  std::map<std::string, std::vector<int>> ranks;
  for (size_t r = 0; r < hosts.size(); ++r) {
    if (ranks[hosts[r]].empty()) order.push_back(hosts[r]);
    ranks[hosts[r]].push_back(static_cast<int>(r));
  }
  for (const auto& h : order) {
    const auto& rs = ranks[h];
    const bool contiguous = rs.back() - rs.front() + 1 == static_cast<int>(rs.size());
    out.push_back(rs.size() == 1 ? fmt::format("{}: rank {}", h, rs[0])
                  : contiguous   ? fmt::format("{}: ranks {}-{}", h, rs.front(), rs.back())
                                 : fmt::format("{}: ranks {}", h, fmt::join(rs, ",")));
  }
  return out;
}

}  // namespace

// Runs `argv` with stdout piped back; stderr is shared so the child's progress shows. The child
// runs in its own process group, ended with this process on SIGINT/SIGTERM, and (through
// QBENCH_PARENT_PID, see main.cpp) ends itself if this process dies.
std::string run_child(const std::vector<std::string>& args) {
  int fd[2];
  if (pipe(fd) != 0) fail("pipe() failed: {}", std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fd[0]);
  posix_spawn_file_actions_addclose(&fa, fd[1]);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "QBENCH_PARENT_PID=", 18) != 0) env_strings.emplace_back(*e);
  env_strings.push_back("QBENCH_PARENT_PID=" + std::to_string(getpid()));
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  struct sigaction forward {
  }, old_int{}, old_term{};
  forward.sa_handler = end_child_and_exit;
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0].c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(fd[1]);
  if (rc != 0) {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    close(fd[0]);
    fail("cannot start '{}': {}", args[0], std::strerror(rc));
  }
  g_child_group = pid;
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  close(fd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child_group = 0;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("'{} {}' failed (exit status {})", args[0], args[1],
         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return out;
}

bench::BenchResult time_in_child(const CompareOptions& o, const std::string& exe,
                                 const std::string& file, const std::string& label) {
  const auto& b = o.bench;
  std::vector<std::string> args = {exe,
                                   "bench",
                                   "--model",
                                   file,
                                   "--threads",
                                   std::to_string(b.threads),
                                   "--batch",
                                   std::to_string(b.batch),
                                   "--warmup-s",
                                   fmt::format("{}", b.warmup_seconds),
                                   "--warmup-queries",
                                   std::to_string(b.warmup_queries),
                                   "--min-queries",
                                   std::to_string(b.min_queries),
                                   "--min-seconds",
                                   fmt::format("{}", b.min_seconds),
                                   "--label",
                                   label,
                                   "--json"};
  if (o.quiet) args.push_back("--quiet");
  const std::string out = run_child(args);
  try {
    return report::bench_from_json(nlohmann::json::parse(out));
  } catch (const nlohmann::json::exception& ex) {
    fail("'{} bench --model {}' printed no valid JSON: {}", exe, file, ex.what());
  }
}

std::string fnv1a64(const std::string& text) {
  return fmt::format("{:016x}", fnv_update(kFnvOffset, text.data(), text.size()));
}

std::string fnv1a64_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open '{}'", path);
  uint64_t h = kFnvOffset;
  std::vector<char> buf(1 << 16);
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h = fnv_update(h, buf.data(), static_cast<size_t>(f.gcount()));
  }
  return fmt::format("{:016x}", h);
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail("cannot write '{}'", tmp);
    f << text;
    f.flush();
    if (!f) fail("cannot write '{}'", tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
}

void make_output_dir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    fail("--out '{}' exists and is not a directory", dir);
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create the output directory '{}': {}", dir, ec.message());
}

void write_reports(const report::CompareResults& r, const std::string& dir) {
  make_output_dir(dir);
  auto render = [&](const report::Reporter& rep) {
    std::ostringstream s;
    rep.report(r, s);
    return s.str();
  };
  write_file_atomic((fs::path(dir) / "results.json").string(), render(report::JsonReporter{}));
  write_file_atomic((fs::path(dir) / "results.csv").string(), render(report::CsvReporter{}));
  write_file_atomic((fs::path(dir) / "report.md").string(), render(report::MarkdownReporter{}));
  write_file_atomic((fs::path(dir) / "report.html").string(), render(report::HtmlReporter{}));
}

report::CompareResults run_compare(const CompareOptions& o) {
  // Under mpirun every rank starts MPI first, so that any error below ends the whole run with
  // this rank's name on it.
  cluster::World& world = cluster::World::get();
  if (o.recipes.empty()) fail("--recipes: name at least one recipe");
  for (const auto& r : o.recipes) quant::parse_variant(r);  // an Error lists the known ones
  // Everything that can be wrong with the options fails here, before an hour of evaluation.
  bench::check_options(o.bench);
  make_output_dir(o.out_dir);
  std::error_code ec;
  if (!fs::is_regular_file(o.model, ec)) fail("model file '{}' does not exist", o.model);
  report::CompareResults res;
  res.model = o.model;
  res.model_bytes = static_cast<int64_t>(fs::file_size(o.model));
  res.model_hash = fnv1a64_file(o.model);
  res.settings.limit = o.limit;
  res.settings.eval_batch = o.eval_batch;
  res.settings.calib_data = o.calib_data.empty() ? o.data : o.calib_data;
  res.settings.calib_size = o.calib_size;
  res.settings.bench = o.bench;
  res.machine = bench::describe_machine(o.bench.threads);

  ir::Graph model = onnxio::load_model(o.model);
  // --limit: a class-stratified sample, so a smoke test still sees every class.
  const data::Dataset ds =
      data::limit_stratified(data::load_dataset(o.data, data::Split::Test, o.image), o.limit);
  const data::Preprocess pp = eval::preprocess_for(model, ds, o.preprocess);
  res.data = ds.name;
  res.images = ds.count;
  res.image_origin = ds.origin;
  const std::string exe = o.bench_exe.empty() ? self_exe() : o.bench_exe;
  const fs::path cache_dir = fs::path(o.out_dir) / "cache";
  make_output_dir(cache_dir.string());

  // Under mpirun: rank 0 quantizes and hands each variant's file to every rank, each rank
  // evaluates its share of the images, the first rank on each host times the variant there,
  // and rank 0 gathers everything and writes the one report.
  const int rank = world.rank(), ranks = world.size();
  const std::vector<std::string> hosts = world.hosts();
  const bool times_host =
      std::find(hosts.begin(), hosts.end(), world.host()) - hosts.begin() == rank;
  res.ranks = ranks;
  if (ranks > 1) res.hosts = describe_hosts(hosts);
  // This rank's images: all of them in a single process.
  data::Dataset shard;
  if (ranks > 1) {
    const auto [first, last] = shard_range(ds.count, o.eval_batch, rank, ranks);
    std::vector<int64_t> mine;
    for (int64_t i = first; i < last; ++i) mine.push_back(i);
    shard = data::subset(ds, mine);
  }
  const data::Dataset& my_images = ranks > 1 ? shard : ds;
  CompareOptions ro = o;  // this rank's settings: only rank 0 reports progress
  if (rank != 0) {
    ro.quiet = true;
    ro.progress = nullptr;
  }

  // The calibration table the static-int8 variants of this model and these settings share
  // (make_variant); --fresh calibrates again.
  const std::string calib_table =
      (cache_dir / ("calib-" + settings_key(o, res.model_hash, "calibration") + ".txt")).string();
  if (!o.use_cache && rank == 0) fs::remove(calib_table, ec);

  // fp32 first: every other variant is compared with it.
  std::vector<std::string> order = o.recipes;
  auto fp = std::find(order.begin(), order.end(), "fp32");
  if (fp == order.end())
    order.insert(order.begin(), "fp32");
  else
    std::rotate(order.begin(), fp, fp + 1);
  for (const auto& recipe : order) {
    const std::string key = settings_key(o, res.model_hash, recipe);
    // A shard's predictions do not depend on how the variant is timed: a rerun with other
    // timing settings still finds them.
    CompareOptions untimed = o;
    untimed.bench = bench::BenchOptions{};
    untimed.bench.threads = o.bench.threads;
    const std::string shard_key = settings_key(untimed, res.model_hash, recipe);
    const fs::path cached = cache_dir / (recipe + "-" + key + ".json");
    // Rank 0 decides whether the variant is cached whole, and every rank follows.
    std::string plan = "measure";
    report::VariantResult v;
    if (rank == 0 && o.use_cache && fs::exists(cached)) {
      std::ifstream f(cached);
      try {
        v = report::variant_from_json(nlohmann::json::parse(f));
        plan = "cached";
        if (!o.quiet) std::fprintf(stderr, "%s: cached (%s)\n", recipe.c_str(), cached.c_str());
      } catch (const std::exception& e) {
        if (!o.quiet)
          std::fprintf(stderr, "%s: ignoring unreadable cache file %s: %s\n", recipe.c_str(),
                       cached.c_str(), e.what());
      }
    }
    world.broadcast(plan);
    if (plan == "cached") {
      if (rank == 0) res.variants.push_back(std::move(v));
      continue;
    }
    // Rank 0 makes the variant's file and sends its bytes (or why it failed) to every rank.
    std::string file = "E";
    if (rank == 0) {
      try {
        std::string bytes;
        v = make_variant(ro, model, recipe, calib_table, bytes);
        file = "F" + bytes;
      } catch (const Error& e) {
        if (recipe == "fp32" && ranks == 1) throw;
        file = std::string("E") + e.what();
      }
    }
    world.broadcast(file);
    if (file[0] == 'E') {
      if (recipe == "fp32") fail("fp32: {}", file.substr(1));
      res.skipped.push_back(recipe + ": " + file.substr(1));
      if (!o.quiet) std::fprintf(stderr, "%s: skipped: %s\n", recipe.c_str(), file.c_str() + 1);
      continue;
    }
    file.erase(0, 1);
    if (rank != 0) {
      v.file = (fs::path(o.out_dir) / "models" / (recipe + ".onnx")).string();
      // The first rank of another host times the file there: it writes its own copy.
      if (times_host) {
        fs::create_directories(fs::path(o.out_dir) / "models");
        write_file_atomic(v.file, file);
      }
    }
    // Each rank evaluates its shard (the whole set in a single process); then, with every rank
    // idle, one rank per host times the variant there.
    nlohmann::json part;
    try {
      const fs::path shard_cache =
          ranks > 1 && o.use_cache
              ? cache_dir / fmt::format("{}-{}-shard{}of{}.json", recipe, shard_key, rank, ranks)
              : fs::path();
      part = evaluate_shard(ro, my_images, pp, v, file, shard_cache, recipe);
    } catch (const Error& e) {
      part["error"] = std::string(e.what()) + cluster::where();
    }
    world.barrier();
    if (times_host && !part.contains("error")) {
      try {
        part["bench"] = report::to_json(time_in_child(ro, exe, v.file, "time " + recipe));
      } catch (const Error& e) {
        part["error"] = std::string(e.what()) + cluster::where();
      }
    }
    const std::vector<std::string> parts = world.gather(part.dump());
    if (rank != 0) continue;
    std::string error;
    std::vector<int> from_cache;
    for (int r = 0; r < ranks; ++r) {
      const nlohmann::json p = nlohmann::json::parse(parts[r]);
      if (p.contains("error")) {
        error = p.at("error").get<std::string>();
        break;
      }
      if (p.contains("cached")) from_cache.push_back(r);
      v.n += p.at("n").get<int64_t>();
      v.correct_top1 += p.at("correct_top1").get<int64_t>();
      v.correct_top5 += p.at("correct_top5").get<int64_t>();
      const auto pred = p.at("predictions").get<std::vector<int32_t>>();
      v.predictions.insert(v.predictions.end(), pred.begin(), pred.end());
      if (p.contains("bench")) {
        if (r == 0)
          v.bench = report::bench_from_json(p.at("bench"));
        else
          v.other_hosts.push_back({hosts[r], report::bench_from_json(p.at("bench"))});
      }
    }
    if (!error.empty()) {
      if (recipe == "fp32") fail("fp32: {}", error);
      res.skipped.push_back(recipe + ": " + error);
      if (!o.quiet) std::fprintf(stderr, "%s: skipped: %s\n", recipe.c_str(), error.c_str());
      continue;
    }
    if (!from_cache.empty() && !o.quiet)
      std::fprintf(stderr, "%s: the shards of rank %s came from the cache of an earlier run\n",
                   recipe.c_str(), fmt::format("{}", fmt::join(from_cache, ", ")).c_str());
    write_file_atomic(cached.string(), report::to_json(v, true).dump() + "\n");
    res.variants.push_back(std::move(v));
  }
  if (rank != 0) return res;

  // Paired statistics against fp32 on the same images.
  const report::VariantResult& base = res.variants.front();
  auto correct = [&](const std::vector<int32_t>& pred) {
    std::vector<uint8_t> c(pred.size());
    for (size_t i = 0; i < pred.size(); ++i) c[i] = pred[i] == ds.labels[i];
    return c;
  };
  const std::vector<uint8_t> base_ok = correct(base.predictions);
  for (auto& v : res.variants) {
    const eval::PairedDiff d = eval::paired_accuracy_diff(base_ok, correct(v.predictions),
                                                          res.settings.bootstrap_resamples, 0.95,
                                                          res.settings.bootstrap_seed);
    v.drop_points = d.diff_points;
    v.drop_ci_low = d.ci_low;
    v.drop_ci_high = d.ci_high;
    v.fp32_only = d.only_a;
    v.variant_only = d.only_b;
    v.mcnemar_p = eval::mcnemar_exact_p(d.only_a, d.only_b);
    v.agreement = eval::agreement(base.predictions, v.predictions);
  }
  report::finalize(res);
  if (!o.peers.empty()) run_peers(o, model, ds, pp, exe, res);
  return res;
}

}  // namespace qbench::compare
