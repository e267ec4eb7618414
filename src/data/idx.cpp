#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/limits.h"
#include "data/dataset.h"

namespace qbench::data {

std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("dataset file '{}' does not exist", path);
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail("cannot open dataset file '{}': {}", path, std::strerror(errno));
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      fail("dataset file '{}' is corrupt: {}", path, msg);
    }
    if (n == 0) break;
    // A small gzip file can inflate to gigabytes: stop at the memory limit.
    if (static_cast<int64_t>(out.size()) + n > max_memory()) {
      gzclose(f);
      fail("dataset file '{}' inflates to more than the memory limit of {} (--max-memory)", path,
           memory_str(max_memory()));
    }
    out.insert(out.end(), buf, buf + n);
  }
  // A truncated gzip stream reads as a short file; zlib reports it at close.
  int rc = gzclose(f);
  if (rc != Z_OK && rc != Z_BUF_ERROR)
    fail("dataset file '{}' is corrupt: gzip stream ended early", path);
  if (rc == Z_BUF_ERROR) fail("dataset file '{}' is truncated: the gzip stream ended early", path);
  return out;
}

namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string first_existing(const std::string& dir, const std::string& stem) {
  for (const char* ext : {".gz", ""}) {
    std::string p = (std::filesystem::path(dir) / (stem + ext)).string();
    if (std::filesystem::exists(p)) return p;
  }
  fail("dataset directory '{}' has no '{}' or '{}.gz'", dir, stem, stem);
}

}  // namespace

Dataset load_idx(const std::string& images_path, const std::string& labels_path) {
  return parse_idx(read_maybe_gzip(images_path), images_path, read_maybe_gzip(labels_path),
                   labels_path);
}

Dataset parse_idx(const std::vector<uint8_t>& img, const std::string& images_path,
                  const std::vector<uint8_t>& lab, const std::string& labels_path) {
  if (img.size() < 16)
    fail("'{}' is not an IDX image file: only {} bytes", images_path, img.size());
  if (be32(img.data()) != 0x00000803u)
    fail("'{}' is not an IDX image file: magic number 0x{:08x}, expected 0x00000803", images_path,
         be32(img.data()));
  const int64_t n = be32(img.data() + 4), h = be32(img.data() + 8), w = be32(img.data() + 12);
  if (n == 0) fail("'{}' holds no images", images_path);
  if (h == 0 || w == 0) fail("'{}' declares {}x{} images", images_path, h, w);
  const std::string what = fmt::format("'{}': {} images of {}x{}", images_path, n, h, w);
  const int64_t need = checked_mul(checked_mul(n, h, what), w, what);
  if (static_cast<int64_t>(img.size()) - 16 < need)
    fail("'{}' is truncated: the header says {} images of {}x{} ({} bytes) but {} bytes follow",
         images_path, n, h, w, need, img.size() - 16);

  if (lab.size() < 8) fail("'{}' is not an IDX label file: only {} bytes", labels_path, lab.size());
  if (be32(lab.data()) != 0x00000801u)
    fail("'{}' is not an IDX label file: magic number 0x{:08x}, expected 0x00000801", labels_path,
         be32(lab.data()));
  const int64_t nl = be32(lab.data() + 4);
  if (lab.size() - 8 < static_cast<uint64_t>(nl))
    fail("'{}' is truncated: the header says {} labels but {} bytes follow", labels_path, nl,
         lab.size() - 8);
  if (nl != n) fail("'{}' has {} labels but '{}' has {} images", labels_path, nl, images_path, n);

  Dataset ds;
  ds.count = n;
  ds.channels = 1;
  ds.height = h;
  ds.width = w;
  ds.pixels.assign(img.begin() + 16, img.begin() + 16 + static_cast<std::ptrdiff_t>(need));
  ds.labels.resize(n);
  int max_label = -1;
  for (int64_t i = 0; i < n; ++i) {
    ds.labels[i] = lab[8 + i];
    max_label = std::max(max_label, ds.labels[i]);
  }
  ds.num_classes = max_label + 1;
  return ds;
}

Dataset load_dataset(const std::string& spec, Split split, const ImageOptions& image) {
  std::string kind = spec, dir;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    kind = spec.substr(0, colon);
    dir = spec.substr(colon + 1);
  }
  if (!image.class_order.empty() && kind != "folder" && kind != "imagenet-val")
    fail("--labels applies to folder: and imagenet-val: datasets, not to '{}'", spec);
  if (kind == "folder" || kind == "imagenet-val") {
    if (dir.empty()) fail("--data {} needs a directory: {}:DIR", kind, kind);
    Dataset ds;
    if (kind == "folder") {
      ds = load_folder(dir, split, image);
    } else {
      const size_t comma = dir.find(',');
      ds = load_imagenet_val(dir.substr(0, comma),
                             comma == std::string::npos ? "" : dir.substr(comma + 1), image);
      if (split == Split::Train) ds.name += ", no training images: calibrating on the test images";
    }
    if (!image.class_order.empty()) apply_class_order(ds, image.class_order);
    return ds;
  }
  if (kind == "npy") {
    const size_t comma = dir.find(',');
    if (dir.empty() || comma == std::string::npos || comma == 0 || comma + 1 == dir.size())
      fail("--data npy needs two files: npy:INPUTS.npy,LABELS.npy (got '{}')", spec);
    return load_npy_dataset(dir.substr(0, comma), dir.substr(comma + 1));
  }
  if (kind == "cifar10" || kind == "cifar100") {
    if (dir.empty()) fail("--data {} needs a directory: {}:DIR", kind, kind);
    return load_cifar(dir, kind == "cifar10" ? 10 : 100, split);
  }
  if (kind != "fashion-mnist" && kind != "mnist")
    fail(
        "unknown dataset '{}' in --data '{}': expected fashion-mnist[:DIR], mnist:DIR, "
        "cifar10:DIR, cifar100:DIR, npy:INPUTS.npy,LABELS.npy, folder:DIR or "
        "imagenet-val:DIR[,GROUND_TRUTH]",
        kind, spec);
  if (dir.empty()) {
    if (kind == "mnist") fail("--data mnist needs a directory: mnist:DIR");
    dir = kFashionMnistDir;
    if (!std::filesystem::exists(dir))
      fail("Fashion-MNIST is not installed at '{}' (Debian package dataset-fashion-mnist)", dir);
  }
  if (!std::filesystem::is_directory(dir)) fail("dataset directory '{}' does not exist", dir);
  const char* prefix = split == Split::Train ? "train" : "t10k";
  Dataset ds = load_idx(first_existing(dir, std::string(prefix) + "-images-idx3-ubyte"),
                        first_existing(dir, std::string(prefix) + "-labels-idx1-ubyte"));
  ds.name = fmt::format("{} ({}, {})", kind, split == Split::Train ? "train" : "test", dir);
  if (kind == "fashion-mnist")
    ds.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  else
    for (int c = 0; c < 10; ++c) ds.class_names.push_back(std::to_string(c));
  ds.num_classes = std::max<int>(ds.num_classes, static_cast<int>(ds.class_names.size()));
  return ds;
}

}  // namespace qbench::data
