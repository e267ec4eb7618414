#pragma once
// Labelled image datasets held as uint8 pixels, and the preprocessing that turns a slice of them
// into a model input batch.
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qbench::data {

enum class Split { Train, Test };

struct Dataset {
  std::string name;    // "fashion-mnist (test, /usr/share/datasets/fashion-mnist)"
  int64_t count = 0;
  int64_t channels = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // count x channels x height x width (NCHW)
  std::vector<int32_t> labels;  // count
  int num_classes = 0;
  std::vector<std::string> class_names;
  int64_t image_size() const { return channels * height * width; }
};

// Where the Debian package dataset-fashion-mnist installs the standard files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Loads a dataset from a spec: "fashion-mnist" (the Debian package's files),
// "fashion-mnist:DIR" or "mnist:DIR" (IDX files in DIR, gzip or raw, standard names).
Dataset load_dataset(const std::string& spec, Split split);
// Loads an IDX image file (magic 0x00000803) and label file (0x00000801), gzip or raw.
Dataset load_idx(const std::string& images_path, const std::string& labels_path);

// Per-channel normalisation applied after scaling pixels to [0, 1] (torchvision's ToTensor then
// Normalize): x = (pixel / 255 - mean[c]) / std[c].
struct Preprocess {
  std::vector<float> mean{0.0f};
  std::vector<float> std{1.0f};
  std::string source = "default (ToTensor: pixel/255)";
};

// How a model wants its images: the element layout of one sample.
enum class Layout { NCHW, NHWC, Flat };

// Builds the float input for images [start, start + count) in the given layout.
Tensor make_batch(const Dataset& ds, int64_t start, int64_t count, const Preprocess& pp,
                  Layout layout, const Shape& sample_shape);

// Parses "0.5,0.5,0.5" into floats; Error naming `what` on bad text.
std::vector<float> parse_floats(const std::string& text, const std::string& what);

}  // namespace qbench::data
