#include "cli/common.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "bench/sysinfo.h"
#include "report/json.h"

namespace qbench::cli {

std::optional<data::Preprocess> preprocess_from_flags(const std::string& mean,
                                                      const std::string& std) {
  if (mean.empty() && std.empty()) return std::nullopt;
  data::Preprocess pp;
  // A preset name (imagenet, cifar10, cifar100) stands for its values.
  auto values = [](const std::string& text, const char* flag, bool is_mean) {
    if (auto preset = data::preset_preprocess(text)) return is_mean ? preset->mean : preset->std;
    return data::parse_floats(text, flag);
  };
  if (!mean.empty()) pp.mean = values(mean, "--mean", true);
  if (!std.empty()) pp.std = values(std, "--std", false);
  for (float s : pp.std)
    if (s == 0.0f) fail("--std: a standard deviation of 0 would divide by zero");
  pp.source = "command line";
  return pp;
}

void add_normalize_options(CLI::App* c, std::string& mean, std::string& std,
                           const std::string& note) {
  c->add_option("--mean", mean,
                "Per-channel mean subtracted after scaling pixels to [0,1], e.g. 0.485,0.456,0.406, "
                "or a preset: imagenet, cifar10, cifar100 (default: the model's qbench.mean "
                "metadata, else 0)" +
                    note);
  c->add_option("--std", std,
                "Per-channel standard deviation to divide by, e.g. 0.229,0.224,0.225, or a preset: "
                "imagenet, cifar10, cifar100 (default: the model's qbench.std metadata, else 1)" +
                    note);
}

void add_image_options(CLI::App* c, data::ImageOptions& image) {
  c->add_option("--resize", image.resize,
                "folder:DIR and imagenet-val:DIR images: resize so the shorter side is this (bilinear with "
                "antialiasing, as torchvision's Resize on PIL images)")
      ->check(in_range(1, 65536))
      ->capture_default_str();
  c->add_option("--crop", image.crop,
                "image files: center crop to CROP x CROP; must match the model's input")
      ->check(in_range(1, 65536))
      ->capture_default_str();
  c->add_flag("--grayscale", image.grayscale,
              "image files: convert to one channel first (PIL's convert(\"L\"), "
              "torchvision's Grayscale), for models that take grayscale input");
  c->add_option("--labels", image.class_order,
                "folder:DIR and imagenet-val:DIR: a file whose line k names class k (its first "
                "word: a WordNet id or class folder name), for models whose classes are not in "
                "sorted order");
}

void add_shape_option(CLI::App* c, std::vector<std::string>& shapes) {
  c->add_option("--shape", shapes,
                "NAME=D1,D2,...: the shape of an input whose dims other than the batch are "
                "symbolic (repeatable); a symbolic first dim still follows --batch");
}

std::map<std::string, Shape> parse_shapes(const std::vector<std::string>& shapes) {
  std::map<std::string, Shape> out;
  for (const auto& text : shapes) {
    const size_t eq = text.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
      fail("--shape '{}': expected NAME=D1,D2,... (e.g. x=1,3,640,640)", text);
    Shape s;
    std::string dims = text.substr(eq + 1);
    size_t pos = 0;
    while (pos <= dims.size()) {
      const size_t comma = std::min(dims.find(',', pos), dims.size());
      const std::string d = dims.substr(pos, comma - pos);
      char* end = nullptr;
      const long long v = std::strtoll(d.c_str(), &end, 10);
      if (d.empty() || *end != '\0' || v < 0)
        fail("--shape '{}': '{}' is not a dimension (a non-negative integer)", text, d);
      s.push_back(v);
      pos = comma + 1;
    }
    if (!out.emplace(text.substr(0, eq), s).second)
      fail("--shape gives input '{}' twice", text.substr(0, eq));
  }
  return out;
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

CLI::Validator in_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != 0 || !std::isfinite(v))
          return "'" + text + "' is not a finite number";
        if (v < lo || v > hi) return fmt::format("{} is outside [{}, {}]", text, lo, hi);
        return {};
      },
      fmt::format("in [{}, {}]", lo, hi));
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  if (!f || !(f << text)) fail("cannot write '{}'", path);
}

}  // namespace qbench::cli
