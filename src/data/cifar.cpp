// CIFAR-10 and CIFAR-100, binary version (https://www.cs.toronto.edu/~kriz/cifar.html).
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/dataset.h"

namespace qbench::data {
namespace {

constexpr int64_t kSide = 32, kPixels = 3 * kSide * kSide;

// `name` in dir, or `name`.gz; "" when neither exists.
std::string find_file(const std::filesystem::path& dir, const std::string& name) {
  for (const char* ext : {"", ".gz"}) {
    const auto p = dir / (name + ext);
    if (std::filesystem::exists(p)) return p.string();
  }
  return "";
}

// The directory holding the batches: DIR itself or the folder the tarball unpacks to.
std::filesystem::path batches_dir(const std::string& dir, int classes) {
  const std::string probe = classes == 10 ? "test_batch.bin" : "test.bin";
  for (const char* sub : {"", "cifar-10-batches-bin", "cifar-100-binary"}) {
    const auto d = std::filesystem::path(dir) / sub;
    if (!find_file(d, probe).empty()) return d;
  }
  fail("'{}' has no CIFAR-{} binary batches ({} in it or in its {} folder)", dir, classes, probe,
       classes == 10 ? "cifar-10-batches-bin" : "cifar-100-binary");
}

// Appends the records of one batch file.
void read_batch(const std::string& path, int classes, Dataset& ds) {
  const std::vector<uint8_t> bytes = read_maybe_gzip(path);
  const int64_t label_bytes = classes == 10 ? 1 : 2;
  const int64_t record = label_bytes + kPixels;
  if (bytes.empty() || int64_t(bytes.size()) % record != 0)
    fail("CIFAR-{} batch '{}' has {} bytes, not a whole number of {}-byte records", classes, path,
         bytes.size(), record);
  const int64_t n = int64_t(bytes.size()) / record;
  ds.pixels.reserve(ds.pixels.size() + size_t(n * kPixels));
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = bytes.data() + i * record;
    const int label = r[label_bytes - 1];  // CIFAR-100: the fine label, after the coarse one
    if (label >= classes)
      fail("CIFAR-{} batch '{}': record {} has label {} (expected 0 to {})", classes, path, i,
           label, classes - 1);
    ds.labels.push_back(label);
    ds.pixels.insert(ds.pixels.end(), r + label_bytes, r + record);  // already R, G, B planes
  }
  ds.count += n;
}

}  // namespace

Dataset load_cifar(const std::string& dir, int classes, Split split) {
  if (classes != 10 && classes != 100) fail("CIFAR has 10 or 100 classes, not {}", classes);
  if (!std::filesystem::is_directory(dir)) fail("dataset directory '{}' does not exist", dir);
  const std::filesystem::path d = batches_dir(dir, classes);
  std::vector<std::string> names;
  if (classes == 100)
    names = {split == Split::Train ? "train.bin" : "test.bin"};
  else if (split == Split::Test)
    names = {"test_batch.bin"};
  else
    for (int b = 1; b <= 5; ++b) names.push_back("data_batch_" + std::to_string(b) + ".bin");
  Dataset ds;
  ds.channels = 3;
  ds.height = ds.width = kSide;
  ds.num_classes = classes;
  for (const auto& name : names) {
    const std::string path = find_file(d, name);
    if (path.empty()) fail("CIFAR-{} directory '{}' has no '{}'", classes, d.string(), name);
    read_batch(path, classes, ds);
  }
  // Class names, one per line, when the meta file is there.
  std::ifstream meta(d / (classes == 10 ? "batches.meta.txt" : "fine_label_names.txt"));
  for (std::string line; meta && std::getline(meta, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) ds.class_names.push_back(line);
  }
  if (int(ds.class_names.size()) != classes) {
    ds.class_names.clear();
    for (int c = 0; c < classes; ++c) ds.class_names.push_back(std::to_string(c));
  }
  ds.name = fmt::format("cifar{} ({}, {})", classes, split == Split::Train ? "train" : "test",
                        d.string());
  return ds;
}

std::optional<Preprocess> preset_preprocess(const std::string& name) {
  Preprocess p;
  if (name == "imagenet") {
    p.mean = {0.485f, 0.456f, 0.406f};
    p.std = {0.229f, 0.224f, 0.225f};
  } else if (name == "cifar10") {
    p.mean = {0.4914f, 0.4822f, 0.4465f};
    p.std = {0.2470f, 0.2435f, 0.2616f};
  } else if (name == "cifar100") {
    p.mean = {0.5071f, 0.4865f, 0.4409f};
    p.std = {0.2673f, 0.2564f, 0.2762f};
  } else {
    return std::nullopt;
  }
  p.source = "preset " + name;
  return p;
}

}  // namespace qbench::data
