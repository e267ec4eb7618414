#include "cli/common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "bench/sysinfo.h"
#include "report/json.h"

namespace qbench::cli {

data::Preprocess choose_preprocess(const ir::Graph& g, const std::string& mean,
                                   const std::string& std) {
  if (auto pp = preprocess_from_flags(mean, std)) return *pp;
  return eval::model_preprocess(g);
}

std::optional<data::Preprocess> preprocess_from_flags(const std::string& mean,
                                                      const std::string& std) {
  if (mean.empty() && std.empty()) return std::nullopt;
  data::Preprocess pp;
  if (!mean.empty()) pp.mean = data::parse_floats(mean, "--mean");
  if (!std.empty()) pp.std = data::parse_floats(std, "--std");
  for (float s : pp.std)
    if (s == 0.0f) fail("--std: a standard deviation of 0 would divide by zero");
  pp.source = "command line";
  return pp;
}

void add_normalize_options(CLI::App* c, std::string& mean, std::string& std,
                           const std::string& note) {
  c->add_option("--mean", mean,
                "Per-channel mean subtracted after scaling pixels to [0,1], e.g. 0.485,0.456,0.406 "
                "(default: the model's qbench.mean metadata, else 0)" +
                    note);
  c->add_option("--std", std,
                "Per-channel standard deviation to divide by, e.g. 0.229,0.224,0.225 (default: the "
                "model's qbench.std metadata, else 1)" +
                    note);
}

void add_image_options(CLI::App* c, data::ImageOptions& image) {
  c->add_option("--resize", image.resize,
                "folder:DIR images: resize so the shorter side is this (bilinear with "
                "antialiasing, as torchvision's Resize on PIL images)")
      ->capture_default_str();
  c->add_option("--crop", image.crop,
                "folder:DIR images: center crop to CROP x CROP; must match the model's input")
      ->capture_default_str();
  c->add_flag("--grayscale", image.grayscale,
              "folder:DIR images: convert to one channel first (PIL's convert(\"L\"), "
              "torchvision's Grayscale), for models that take grayscale input");
}

std::function<void(int64_t, int64_t)> progress_printer(const std::string& label, bool quiet) {
  if (quiet) return {};
  const bool tty = isatty(STDERR_FILENO);
  auto last_decile = std::make_shared<int64_t>(-1);
  return [label, tty, last_decile](int64_t done, int64_t total) {
    if (tty) {
      const int width = 30;
      int filled = total ? static_cast<int>(width * done / total) : width;
      std::fprintf(stderr, "\r%s [%s%s] %lld/%lld", label.c_str(), std::string(filled, '#').c_str(),
                   std::string(width - filled, ' ').c_str(), static_cast<long long>(done),
                   static_cast<long long>(total));
      if (done == total) std::fprintf(stderr, "\n");
    } else {
      int64_t decile = total ? done * 10 / total : 10;
      if (decile != *last_decile) {
        *last_decile = decile;
        std::fprintf(stderr, "%s: %lld/%lld\n", label.c_str(), static_cast<long long>(done),
                     static_cast<long long>(total));
      }
    }
  };
}

nlohmann::json machine_json(int threads) {
  nlohmann::json j = report::to_json(bench::describe_machine(threads));
  j["omp_wait_policy"] = std::getenv("OMP_WAIT_POLICY") ? std::getenv("OMP_WAIT_POLICY") : "";
  return j;
}

}  // namespace qbench::cli
