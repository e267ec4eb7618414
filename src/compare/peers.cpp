// `compare --peers`: other engines run the same variant files in the same run. ONNX Runtime runs
// through benchmarks/peers/ort_peer.js (Node and the npm package onnxruntime-node, both optional:
// qbench itself needs neither); its batch-1 timing alternates with qbench's own in rounds, so
// both see the same machine state, and it evaluates the same preprocessed test images.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "compare/compare.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "eval/evaluate.h"

namespace qbench::compare {

namespace fs = std::filesystem;

namespace {

constexpr int kRounds = 3;
// Above this the preprocessed test images are not written out for a peer (latency only).
constexpr int64_t kMaxPeerInputBytes = int64_t(1) << 30;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// An executable on PATH, or "".
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    const fs::path cand = fs::path(p.substr(start, end - start)) / name;
    std::error_code ec;
    if (end > start && fs::is_regular_file(cand, ec) && access(cand.c_str(), X_OK) == 0)
      return cand.string();
    start = end + 1;
  }
  return "";
}

// Where ort_peer.js and its node_modules live: $QBENCH_PEERS_DIR, else the source tree's.
fs::path peers_dir() {
  const char* env = std::getenv("QBENCH_PEERS_DIR");
  return env && *env ? fs::path(env) : fs::path(QBENCH_SOURCE_DIR) / "benchmarks" / "peers";
}

std::vector<int32_t> read_labels(const fs::path& file, size_t n) {
  std::ifstream f(file);
  std::vector<int32_t> v;
  int32_t x;
  while (v.size() < n && f >> x) v.push_back(x);
  if (v.size() != n) fail("'{}' holds {} predictions, expected {}", file.string(), v.size(), n);
  return v;
}

struct OrtPeer {
  std::string node, script;

  // Empty when ONNX Runtime can run here, else what is missing and how to install it.
  std::string missing() {
    const fs::path dir = peers_dir();
    const std::string install = fmt::format(
        "install it with: sudo apt-get install nodejs npm && (cd {} && "
        "ONNXRUNTIME_NODE_INSTALL=skip npm install)",
        dir.string());
    script = (dir / "ort_peer.js").string();
    std::error_code ec;
    if (!fs::is_regular_file(script, ec))
      return fmt::format(
          "ONNX Runtime: {} is missing (QBENCH_PEERS_DIR must name qbench's benchmarks/peers); "
          "{}",
          script, install);
    node = find_on_path("node");
    if (node.empty()) return "ONNX Runtime: no `node` on PATH; " + install;
    if (!fs::is_directory(dir / "node_modules" / "onnxruntime-node", ec))
      return "ONNX Runtime: the npm package onnxruntime-node is not installed; " + install;
    return "";
  }

  // One timing run (and, with `inputs`, the predictions); returns the median latency in ms.
  double run(const CompareOptions& o, const std::string& file, std::string& engine,
             const std::string& inputs = "", const std::string& predictions = "") {
    const auto& b = o.bench;
    std::vector<std::string> args = {node,
                                     script,
                                     file,
                                     std::to_string(b.threads),
                                     "1",
                                     std::to_string(b.min_queries),
                                     std::to_string(b.warmup_queries)};
    if (!inputs.empty()) {
      args.push_back(inputs);
      args.push_back(predictions);
      args.push_back(std::to_string(o.eval_batch));
    }
    const std::string out = run_child(args);
    try {
      const auto j = nlohmann::json::parse(out);
      engine = j.at("engine").get<std::string>() + " " + j.at("version").get<std::string>();
      return median(j.at("latency_ms").get<std::vector<double>>());
    } catch (const nlohmann::json::exception& e) {
      fail("ort_peer.js printed no valid JSON for '{}': {}", file, e.what());
    }
  }
};

}  // namespace

void run_peers(const CompareOptions& o, const ir::Graph& model, const data::Dataset& ds,
               const data::Preprocess& pp, const std::string& exe, report::CompareResults& res) {
  for (const auto& name : o.peers) {
    if (name == "torch") {
      // A PyTorch peer needs the PyTorch module the file came from; an ONNX file alone does not
      // give one back.
      res.peer_notes.push_back(fmt::format(
          "PyTorch: no PyTorch module is known for {} (compare reads ONNX files); no PyTorch "
          "peer applies (benchmarks/peers/side_by_side.sh times torchvision's ResNet-50)",
          o.model));
      continue;
    }
    if (name != "ort") fail("--peers: unknown peer '{}' (known: ort, torch)", name);
    OrtPeer ort;
    const std::string why = ort.missing();
    if (!why.empty()) {
      res.peer_notes.push_back(why);
      if (!o.quiet) std::fprintf(stderr, "peer: %s\n", why.c_str());
      continue;
    }
    // The test images exactly as qbench preprocessed them, for the peer's accuracy.
    const fs::path dir = fs::path(o.out_dir) / "peers";
    fs::create_directories(dir);
    std::string inputs;
    {
      const eval::InputBinding bind = eval::bind_input(model, ds);
      const int64_t n = res.images;
      const int64_t bytes = n * ds.image_size() * int64_t(sizeof(float));
      if (bytes <= kMaxPeerInputBytes) {
        inputs = (dir / "inputs.npy").string();
        data::save_npy(data::make_batch(ds, 0, n, pp, bind.layout, bind.sample_shape), inputs);
      } else {
        res.peer_notes.push_back(fmt::format(
            "ONNX Runtime: latency only; the {} preprocessed test images take {:.1f} GB (> 1 GB)",
            n, double(bytes) / 1e9));
      }
    }
    for (const auto& v : res.variants) {
      report::PeerResult p;
      p.recipe = v.recipe;
      std::vector<double> peer_ms, qbench_ms;
      try {
        for (int r = 0; r < kRounds; ++r) {
          if (!o.quiet)
            std::fprintf(stderr, "peer onnxruntime: %s, round %d of %d\n", v.recipe.c_str(), r + 1,
                         kRounds);
          qbench_ms.push_back(
              time_in_child(o, exe, v.file, "qbench " + v.recipe).latency_ms.p50);
          const fs::path preds = dir / (v.recipe + ".onnxruntime.txt");
          peer_ms.push_back(r == 0 && !inputs.empty()
                                ? ort.run(o, v.file, p.engine, inputs, preds.string())
                                : ort.run(o, v.file, p.engine));
          if (r == 0 && !inputs.empty()) {
            const std::vector<int32_t> got = read_labels(preds, v.predictions.size());
            p.n = static_cast<int64_t>(got.size());
            int64_t same = 0;
            for (size_t i = 0; i < got.size(); ++i) {
              p.correct_top1 += got[i] == ds.labels[i];
              same += got[i] == v.predictions[i];
            }
            p.agreement = p.n ? double(same) / double(p.n) : 0;
          }
        }
      } catch (const Error& e) {
        res.peer_notes.push_back(fmt::format("ONNX Runtime on {}: {}", v.recipe, e.what()));
        continue;
      }
      p.rounds = kRounds;
      p.p50_ms = median(peer_ms);
      p.qbench_p50_ms = median(qbench_ms);
      res.peers.push_back(std::move(p));
    }
  }
}

}  // namespace qbench::compare
