// The ImageNet (ILSVRC2012) validation set as it is distributed: 50,000 flat
// ILSVRC2012_val_NNNNNNNN.JPEG files and one of its two ground-truth forms, mapped to the class
// indices torchvision's models use (the WordNet ids sorted, the order ImageFolder gives the
// class folders torchvision's ImageNet dataset makes); and the --labels class order override.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "data/dataset.h"
#include "data/mat.h"

namespace qbench::data {
namespace fs = std::filesystem;
namespace {

constexpr const char* kDevkitTruth = "ILSVRC2012_validation_ground_truth.txt";
constexpr const char* kKaggleSolution = "LOC_val_solution.csv";
constexpr const char* kKaggleMapping = "LOC_synset_mapping.txt";

std::vector<std::string> read_lines(const std::string& path, const char* what) {
  std::ifstream f(path);
  if (!f) fail("cannot open {} '{}'", what, path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

// Where a file of the validation set's metadata may be: in DIR, next to it or up to four
// folders above (the Kaggle layout keeps the images in ILSVRC/Data/CLS-LOC/val and the solution
// file at the top), directly or in the devkit's data/ folder.
std::vector<fs::path> search_dirs(const fs::path& dir) {
  std::vector<fs::path> out;
  fs::path d = fs::absolute(dir).lexically_normal();
  if (!d.has_filename()) d = d.parent_path();
  for (int up = 0; up <= 4; ++up) {
    for (const char* sub : {"", "data", "ILSVRC2012_devkit_t12/data"}) out.push_back(d / sub);
    if (!d.has_parent_path() || d.parent_path() == d) break;
    d = d.parent_path();
  }
  return out;
}

// `file`'s own folder first, then `dirs`: where a ground truth's companion file is looked for.
std::vector<fs::path> beside(const std::string& file, const std::vector<fs::path>& dirs) {
  std::vector<fs::path> out = {fs::path(file).parent_path()};
  out.insert(out.end(), dirs.begin(), dirs.end());
  return out;
}

std::string find_file(const std::vector<fs::path>& dirs, const char* name) {
  std::error_code ec;
  for (const auto& d : dirs)
    if (fs::is_regular_file(d / name, ec)) return (d / name).lexically_normal().string();
  return {};
}

// The image number of "ILSVRC2012_val_00000042.JPEG" (42); 0 for any other name.
int64_t val_number(const std::string& file) {
  const std::string prefix = "ILSVRC2012_val_";
  const std::string stem = fs::path(file).stem().string();
  if (stem.rfind(prefix, 0) != 0 || stem.size() != prefix.size() + 8) return 0;
  int64_t n = 0;
  for (size_t i = prefix.size(); i < stem.size(); ++i) {
    if (stem[i] < '0' || stem[i] > '9') return 0;
    n = n * 10 + (stem[i] - '0');
  }
  return n;
}

// The devkit's ground truth (one ILSVRC2012 id per image, line k for image k) through meta.mat's
// synsets: the leaves (num_children 0) are the classes, and the rank of a leaf's WNID among all
// leaves' is its class index.
std::vector<std::string> devkit_wnids(const std::string& truth, const std::vector<fs::path>& dirs,
                                      std::vector<std::string>& classes, std::string& source) {
  const std::string meta = find_file(beside(truth, dirs), "meta.mat");
  if (meta.empty())
    fail(
        "'{}' gives each image an ILSVRC2012 class id; their WordNet ids are in the devkit's "
        "data/meta.mat, which is not next to it nor in the image folder or its parents (unpack "
        "ILSVRC2012_devkit_t12.tar.gz there)",
        truth);
  std::map<int64_t, std::string> id_to_wnid;
  for (const Synset& s : load_meta_mat(meta))
    if (s.num_children == 0) {
      if (!id_to_wnid.emplace(s.ilsvrc_id, s.wnid).second)
        fail("'{}': two leaf synsets have ILSVRC2012_ID {}", meta, s.ilsvrc_id);
      classes.push_back(s.wnid);
    }
  if (classes.empty()) fail("'{}' has no leaf synsets (num_children 0)", meta);
  const std::vector<std::string> lines = read_lines(truth, "ImageNet ground truth");
  std::vector<std::string> wnids;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty() && i + 1 == lines.size()) break;
    char* end = nullptr;
    const long long id = std::strtoll(lines[i].c_str(), &end, 10);
    const auto it = id_to_wnid.find(id);
    if (lines[i].empty() || *end != '\0' || it == id_to_wnid.end())
      fail("'{}' line {}: '{}' is not an ILSVRC2012 class id of '{}' (1..{})", truth, i + 1,
           lines[i], meta, classes.size());
    wnids.push_back(it->second);
  }
  source = fmt::format("{} + {}", truth, meta);
  return wnids;
}

}  // namespace

std::vector<std::string> read_class_order(const std::string& path) {
  std::vector<std::string> order;
  std::map<std::string, size_t> seen;
  const std::vector<std::string> lines = read_lines(path, "--labels file");
  for (size_t i = 0; i < lines.size(); ++i) {
    std::istringstream words(lines[i]);
    std::string name;
    if (!(words >> name)) {
      if (i + 1 == lines.size()) break;
      fail("--labels '{}' line {} is empty: each line names the class of that index", path, i + 1);
    }
    if (const auto [it, fresh] = seen.emplace(name, i + 1); !fresh)
      fail("--labels '{}' names class '{}' twice (lines {} and {})", path, name, it->second, i + 1);
    order.push_back(name);
  }
  if (order.empty()) fail("--labels '{}' names no classes", path);
  return order;
}

void apply_class_order(Dataset& ds, const std::string& path) {
  const std::vector<std::string> order = read_class_order(path);
  std::map<std::string, int32_t> index;
  for (size_t i = 0; i < order.size(); ++i) index[order[i]] = static_cast<int32_t>(i);
  std::vector<int32_t> remap(ds.class_names.size());
  for (size_t c = 0; c < ds.class_names.size(); ++c) {
    const auto it = index.find(ds.class_names[c]);
    if (it == index.end())
      fail("class '{}' of {} is not in --labels '{}' ({} classes, one per line)",
           ds.class_names[c], ds.name, path, order.size());
    remap[c] = it->second;
  }
  for (auto& l : ds.labels) l = remap[static_cast<size_t>(l)];
  ds.class_names = order;
  ds.num_classes = static_cast<int>(order.size());
  ds.name += fmt::format(", classes in the order of {}", path);
}

Dataset load_imagenet_val(const std::string& dir, const std::string& truth_file,
                          const ImageOptions& image) {
  check_image_options(image);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("ImageNet validation folder '{}' does not exist", dir);
  // The images, by their number in the set.
  std::vector<std::pair<int64_t, std::string>> images;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!is_image_name(name)) continue;
    const int64_t n = val_number(name);
    if (n == 0)
      fail(
          "'{}' in '{}' is not named like a validation image (ILSVRC2012_val_00000001.JPEG); "
          "use folder:DIR for images sorted into class folders",
          name, dir);
    images.emplace_back(n, e.path().string());
  }
  if (ec) fail("cannot list '{}': {}", dir, ec.message());
  if (images.empty()) fail("'{}' has no ILSVRC2012_val_*.JPEG images", dir);
  std::sort(images.begin(), images.end());

  const std::vector<fs::path> dirs = search_dirs(dir);
  std::string truth = truth_file;
  if (truth.empty()) truth = find_file(dirs, kKaggleSolution);
  if (truth.empty()) truth = find_file(dirs, kDevkitTruth);
  if (truth.empty())
    fail(
        "found no ground truth for '{}': expected the devkit's {} (with its meta.mat) or "
        "Kaggle's {} (with {}) in that folder, up to four folders above it, or their data/ or "
        "ILSVRC2012_devkit_t12/data/; or name it: imagenet-val:DIR,FILE",
        dir, kDevkitTruth, kKaggleSolution, kKaggleMapping);

  Dataset ds;
  std::string source;
  std::vector<std::string> classes;  // the WNIDs of every class
  std::map<int64_t, std::string> wnid_of;  // image number -> WNID
  if (fs::path(truth).extension() == ".csv") {
    // ImageId,PredictionString ("n01751748 x0 y0 x1 y1 ..."): the first WNID is the class.
    const std::vector<std::string> lines = read_lines(truth, "ImageNet solution file");
    for (size_t i = 1; i < lines.size(); ++i) {
      if (lines[i].empty()) continue;
      const size_t comma = lines[i].find(',');
      const int64_t n = comma == std::string::npos ? 0 : val_number(lines[i].substr(0, comma));
      std::istringstream rest(comma == std::string::npos ? "" : lines[i].substr(comma + 1));
      std::string wnid;
      if (n == 0 || !(rest >> wnid))
        fail("'{}' line {}: expected ILSVRC2012_val_NNNNNNNN,WNID ... (got '{}')", truth, i + 1,
             lines[i].substr(0, 60));
      wnid_of[n] = wnid;
    }
    const std::string mapping = find_file(beside(truth, dirs), kKaggleMapping);
    if (mapping.empty())
      fail("'{}' needs {} (the 1000 WordNet ids) next to it or above '{}'", truth, kKaggleMapping,
           dir);
    for (const std::string& w : read_class_order(mapping)) classes.push_back(w);
    source = fmt::format("{} + {}", truth, mapping);
  } else {
    const std::vector<std::string> wnids = devkit_wnids(truth, dirs, classes, source);
    for (size_t i = 0; i < wnids.size(); ++i) wnid_of[static_cast<int64_t>(i) + 1] = wnids[i];
  }
  std::sort(classes.begin(), classes.end());
  std::map<std::string, int32_t> index;
  for (size_t i = 0; i < classes.size(); ++i) index[classes[i]] = static_cast<int32_t>(i);
  for (const auto& [n, file] : images) {
    const auto w = wnid_of.find(n);
    if (w == wnid_of.end())
      fail("'{}' has no label for image {} ('{}')", truth, n, fs::path(file).filename().string());
    const auto c = index.find(w->second);
    if (c == index.end())
      fail("'{}' labels image {} '{}', which is not one of the {} classes of {}", truth, n,
           w->second, classes.size(), source);
    ds.files.push_back(file);
    ds.labels.push_back(c->second);
  }
  ds.class_names = classes;
  ds.num_classes = static_cast<int>(classes.size());
  ds.count = static_cast<int64_t>(ds.files.size());
  ds.image = image;
  ds.channels = image.grayscale ? 1 : 3;
  ds.height = ds.width = image.crop;
  ds.name = fmt::format("imagenet-val ({}, {} images, labels from {})", dir, ds.count, source);
  return ds;
}

}  // namespace qbench::data
