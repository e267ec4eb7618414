#pragma once
// Labelled image datasets held as uint8 pixels (IDX files) or as image file paths decoded on
// demand (folders of JPEG/PNG files), and the preprocessing that turns a slice of them into a
// model input batch.
#include <cstdint>
#include <cstdio>
#include <optional>
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
  // --labels FILE: class index k is the class named by line k's first word (a WordNet id or a
  // class folder's name) instead of the sorted order (image folders and imagenet-val only).
  std::string class_order;
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
  // For a subset: each image's index in the dataset it was taken from (empty: the full set).
  std::vector<int64_t> origin;
  // npy datasets: samples of any shape (`sample`), stored as float and fed to the model as they
  // are, with no pixel preprocessing; `channels` is then the size of one sample, height = width
  // = 1.
  Shape sample;
  std::vector<float> values;  // count x sample
  int64_t image_size() const { return channels * height * width; }
  bool lazy() const { return !files.empty(); }
  bool raw() const { return !values.empty(); }
};

// Where the Debian package dataset-fashion-mnist installs the standard files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Loads a dataset from a spec: "fashion-mnist" (the Debian package's files),
// "fashion-mnist:DIR" or "mnist:DIR" (IDX files in DIR, gzip or raw, standard names),
// "cifar10:DIR" or "cifar100:DIR" (the binary batches, see load_cifar), or "folder:DIR"
// (JPEG/PNG images in class folders, see load_folder), or "imagenet-val:DIR[,TRUTH]" (see
// load_imagenet_val); `image` applies to the last two only.
Dataset load_dataset(const std::string& spec, Split split, const ImageOptions& image = {});
// A whole dataset file, gunzipped when it is gzip (zlib reads plain files unchanged), within the
// memory limit; an Error names the file when it is missing, unreadable or corrupt.
std::vector<uint8_t> read_maybe_gzip(const std::string& path);
// CIFAR-10 / CIFAR-100 in the "binary version" layout (DIR, or DIR/cifar-10-batches-bin /
// DIR/cifar-100-binary as the tarballs unpack): records of a label byte (CIFAR-100: the coarse,
// then the fine label, which is used) and 3072 pixel bytes, the red, green and blue 32x32 planes.
// CIFAR-10 reads data_batch_1..5.bin (train) or test_batch.bin (test) and its class names from
// batches.meta.txt; CIFAR-100 reads train.bin or test.bin and fine_label_names.txt (names
// default to the indices when the file is absent). Files may be gzipped (NAME.gz).
Dataset load_cifar(const std::string& dir, int classes, Split split);
// Preprocessed tensors of any kind (audio features, tabular rows, images already normalised):
// INPUTS.npy holds the samples along its first axis (float32/float64/float16/integer, read as
// float), LABELS.npy one integer class per sample. Both splits read the same files.
Dataset load_npy_dataset(const std::string& inputs, const std::string& labels);
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
// The ILSVRC2012 validation set as distributed: DIR holds ILSVRC2012_val_NNNNNNNN.JPEG files (any
// subset of the 50,000), labelled by `truth` or, when empty, by the first ground truth found in
// DIR, up to four folders above it, or their data/ or ILSVRC2012_devkit_t12/data/ folders:
// Kaggle's LOC_val_solution.csv (the first WordNet id of each row; the classes listed by
// LOC_synset_mapping.txt beside it), else the devkit's ILSVRC2012_validation_ground_truth.txt
// (line k: the ILSVRC2012 id of image k; the WordNet ids of the ids from the devkit's meta.mat,
// see mat.h). Class index = rank of the WordNet id among the classes', the order torchvision's
// ImageNet models use. Both splits read the same images. Nothing is decoded here.
Dataset load_imagenet_val(const std::string& dir, const std::string& truth,
                          const ImageOptions& image);
// Whether a file name is one qbench decodes: .jpg, .jpeg or .png, any case.
bool is_image_name(const std::string& file);
// Refuses resize/crop settings that cannot apply to image files.
void check_image_options(const ImageOptions& image);
// --labels FILE: each line's first word, line k naming class k; an Error on an empty file, an
// empty line in the middle or a name given twice.
std::vector<std::string> read_class_order(const std::string& path);
// Renumbers `ds`'s labels so class k is the one named on line k of `path` (its class_names and
// num_classes become the file's); an Error names a class of ds that the file lacks.
void apply_class_order(Dataset& ds, const std::string& path);

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
// The images at `indices`, in that order, as a dataset of their own (pixels or file paths);
// `origin` says where each came from in the full set.
Dataset subset(const Dataset& ds, const std::vector<int64_t>& indices);
// `n` image indices drawn with `seed` so that each class keeps its share of the set (largest
// remainders; at least one image of every class while n allows), in increasing order; all
// indices when n >= ds.count. A folder set lists its classes one after the other, so its first
// n images would be the first classes only.
std::vector<int64_t> stratified_sample(const Dataset& ds, int64_t n, uint32_t seed);
// --limit N: `ds` itself when N is 0 or covers it, else its class-stratified sample of N images
// (seed 20240601), its name saying so.
Dataset limit_stratified(Dataset ds, int64_t n);

// Per-channel normalisation applied after scaling pixels to [0, 1] (torchvision's ToTensor then
// Normalize): x = (pixel / 255 - mean[c]) / std[c].
struct Preprocess {
  std::vector<float> mean{0.0f};
  std::vector<float> std{1.0f};
  std::string source = "default (ToTensor: pixel/255)";
};

// A named normalisation (--mean/--std NAME): "imagenet" (torchvision's 0.485,0.456,0.406 /
// 0.229,0.224,0.225), "cifar10" and "cifar100" (the per-channel mean and standard deviation of
// the training images); nullopt for any other name.
std::optional<Preprocess> preset_preprocess(const std::string& name);

// How a model wants its images: the element layout of one sample.
enum class Layout { NCHW, NHWC, Flat };

// Builds the float input for images [start, start + count) in the given layout; a raw (npy)
// dataset's samples are copied as they are, whatever `pp` says.
Tensor make_batch(const Dataset& ds, int64_t start, int64_t count, const Preprocess& pp,
                  Layout layout, const Shape& sample_shape);

// Parses "0.5,0.5,0.5" into floats; Error naming `what` on bad text.
std::vector<float> parse_floats(const std::string& text, const std::string& what);

}  // namespace qbench::data
