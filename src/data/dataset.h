#pragma once
// Labelled image datasets held as uint8 pixels (IDX files) or as image file paths decoded on
// demand (folders of JPEG/PNG files), and the preprocessing that turns a slice of them into a
// model input batch.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qbench::data {

enum class Split { Train, Test };

// How images decoded from files become model-sized pixels: torchvision's standard evaluation
// transform, Resize(resize) (shorter side, bilinear as PIL does it) then CenterCrop(crop), on RGB
// or, for models that take one channel, on grayscale (torchvision's Grayscale() first).
struct ImageOptions {
  int64_t resize = 256;
  int64_t crop = 224;
  bool grayscale = false;
};

struct Dataset {
  std::string name;  // "fashion-mnist (test, /usr/share/datasets/fashion-mnist)"
  int64_t count = 0;
  int64_t channels = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // count x channels x height x width (NCHW); empty when lazy
  std::vector<int32_t> labels;  // count
  int num_classes = 0;
  std::vector<std::string> class_names;
  // Folder datasets keep file paths and decode each image when a batch needs it: ImageNet's
  // 50,000 validation images would take 7.5 GB as pixels.
  std::vector<std::string> files;  // count, when lazy
  ImageOptions image;              // how `files` are resized and cropped
  int64_t image_size() const { return channels * height * width; }
  bool lazy() const { return !files.empty(); }
};

// Where the Debian package dataset-fashion-mnist installs the standard files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Loads a dataset from a spec: "fashion-mnist" (the Debian package's files),
// "fashion-mnist:DIR" or "mnist:DIR" (IDX files in DIR, gzip or raw, standard names), or
// "folder:DIR" (JPEG/PNG images in class folders, see load_folder; `image` applies to it only).
Dataset load_dataset(const std::string& spec, Split split, const ImageOptions& image = {});
// Loads an IDX image file (magic 0x00000803) and label file (0x00000801), gzip or raw.
Dataset load_idx(const std::string& images_path, const std::string& labels_path);
// The same from the files' (inflated) bytes; the names appear in errors.
Dataset parse_idx(const std::vector<uint8_t>& img, const std::string& images_path,
                  const std::vector<uint8_t>& lab, const std::string& labels_path);
// Lists an image folder the way torchvision.datasets.ImageFolder does: DIR/<class>/**/<image>
// with a .jpg/.jpeg/.png name (any case), class index = rank of the class folder's name, files in
// sorted order. When DIR has train/, val/ or test/ subfolders, Split::Test reads val/ (else
// test/) and Split::Train reads train/ (else the test folder, which the name then says);
// otherwise DIR serves both splits. Nothing is decoded here.
Dataset load_folder(const std::string& dir, Split split, const ImageOptions& image);

// Decodes a JPEG or PNG file as RGB, height x width x 3 (grayscale is repeated, alpha dropped,
// CMYK converted as PIL's Image.convert("RGB") does); Error naming the file when it is unreadable.
std::vector<uint8_t> decode_image(const std::string& path, int64_t& height, int64_t& width);
// The same from an open file; `name` appears in errors.
std::vector<uint8_t> decode_image_file(FILE* f, const std::string& name, int64_t& height,
                                       int64_t& width);
// Resizes an HxWxC image so its shorter side is `resize` (PIL's antialiased bilinear, which
// torchvision's Resize uses on PIL images) and center-crops crop x crop, writing CHW to `out`.
void resize_center_crop(const uint8_t* pixels, int64_t height, int64_t width, int channels,
                        const ImageOptions& opt, uint8_t* out);
// Copies image i as channels x height x width uint8 into `out`, decoding it when the dataset is
// lazy.
void read_image(const Dataset& ds, int64_t i, uint8_t* out);
// The images at `indices`, in that order, as a dataset of their own (pixels or file paths).
Dataset subset(const Dataset& ds, const std::vector<int64_t>& indices);

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
