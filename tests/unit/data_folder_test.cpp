// Image-folder datasets against torchvision: labels from folder order, and the decoded, resized
// and cropped pixels of tests/data/image_folder (made by tests/data/make_image_folder.py, whose
// references are torchvision's ImageFolder with Resize(20) + CenterCrop(16) on PIL images, with
// and without Grayscale()).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/dataset.h"
#include "data/npy.h"

using namespace qbench;
namespace fs = std::filesystem;

namespace {

const std::string kFolder = std::string(QBENCH_TEST_DATA) + "/image_folder";
const data::ImageOptions kSmall{20, 16, false, {}};

void expect_error(const std::function<void()>& f, std::vector<std::string> fragments) {
  try {
    f();
    FAIL() << "should have thrown";
  } catch (const Error& e) {
    for (const auto& s : fragments)
      EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
  }
}

std::string scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / "qbench_data_folder_test" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

int max_abs_diff(const uint8_t* a, const uint8_t* b, size_t n) {
  int worst = 0;
  for (size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
  return worst;
}

}  // namespace

TEST(Folder, LabelsAndOrderAsImageFolder) {
  data::Dataset ds = data::load_folder(kFolder, data::Split::Test, kSmall);
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"Apple", "mole", "zebra"}));
  EXPECT_EQ(ds.num_classes, 3);
  EXPECT_EQ(ds.channels, 3);
  EXPECT_EQ(ds.height, 16);
  EXPECT_EQ(ds.width, 16);
  EXPECT_TRUE(ds.pixels.empty());
  Tensor labels = data::load_npy(kFolder + "/val_labels.npy");
  ASSERT_EQ(ds.count, labels.numel());
  std::ifstream names(kFolder + "/val_files.txt");
  for (int64_t i = 0; i < ds.count; ++i) {
    EXPECT_EQ(ds.labels[i], labels.data<int64_t>()[i]) << i;
    std::string rel;
    std::getline(names, rel);
    EXPECT_EQ(fs::relative(ds.files[i], kFolder + "/val").string(), rel) << i;
  }
  EXPECT_NE(ds.name.find("test"), std::string::npos) << ds.name;

  data::Dataset train = data::load_dataset("folder:" + kFolder, data::Split::Train, kSmall);
  EXPECT_EQ(train.count, 7);
  EXPECT_EQ(train.labels, (std::vector<int32_t>{0, 0, 1, 1, 2, 2, 2}));
  EXPECT_NE(train.files[0].find("/train/Apple/"), std::string::npos) << train.files[0];
}

TEST(Folder, ResizeAndCropMatchTorchvision) {
  data::Dataset ds = data::load_folder(kFolder, data::Split::Test, kSmall);
  Tensor ref = data::load_npy(kFolder + "/val_ref.npy");
  ASSERT_EQ(ref.shape(), (Shape{ds.count, 3, 16, 16}));
  const size_t sz = static_cast<size_t>(ds.image_size());
  std::vector<uint8_t> img(sz);
  for (int64_t i = 0; i < ds.count; ++i) {
    data::read_image(ds, i, img.data());
    // PIL's fixed-point arithmetic is reproduced, so this is exact; the brief allows 1 LSB.
    EXPECT_LE(max_abs_diff(img.data(), ref.data<uint8_t>() + i * sz, sz), 1) << ds.files[i];
    EXPECT_EQ(max_abs_diff(img.data(), ref.data<uint8_t>() + i * sz, sz), 0) << ds.files[i];
  }
}

TEST(Folder, GrayscaleMatchesTorchvision) {
  data::ImageOptions gray = kSmall;
  gray.grayscale = true;
  data::Dataset ds = data::load_folder(kFolder, data::Split::Test, gray);
  EXPECT_EQ(ds.channels, 1);
  Tensor ref = data::load_npy(kFolder + "/val_ref_gray.npy");
  ASSERT_EQ(ref.shape(), (Shape{ds.count, 1, 16, 16}));
  const size_t sz = static_cast<size_t>(ds.image_size());
  std::vector<uint8_t> img(sz);
  for (int64_t i = 0; i < ds.count; ++i) {
    data::read_image(ds, i, img.data());
    EXPECT_EQ(max_abs_diff(img.data(), ref.data<uint8_t>() + i * sz, sz), 0) << ds.files[i];
  }
}

TEST(Folder, DecodeMatchesPil) {
  int files = 0;
  for (const auto& e : fs::directory_iterator(kFolder + "/decoded")) {
    std::string stem = e.path().stem().string();  // "mole_cmyk_jpg"
    const auto ext = stem.rfind('_');
    std::string rel = stem.substr(0, ext) + "." + stem.substr(ext + 1);
    rel[rel.find('_')] = '/';
    Tensor want = data::load_npy(e.path().string());
    int64_t h = 0, w = 0;
    std::vector<uint8_t> got = data::decode_image(kFolder + "/val/" + rel, h, w);
    ASSERT_EQ((Shape{h, w, 3}), want.shape()) << rel;
    EXPECT_LE(max_abs_diff(got.data(), want.data<uint8_t>(), got.size()), 1) << rel;
    files++;
  }
  EXPECT_EQ(files, 7);
}

TEST(Folder, BatchesDecodeOnDemand) {
  data::Dataset ds = data::load_folder(kFolder, data::Split::Test, kSmall);
  data::Dataset some = data::subset(ds, {4, 1});
  ASSERT_EQ(some.count, 2);
  EXPECT_EQ(some.files[0], ds.files[4]);
  EXPECT_EQ(some.labels, (std::vector<int32_t>{ds.labels[4], ds.labels[1]}));
  data::Preprocess pp;
  pp.mean = {0.5f, 0.25f, 0.0f};
  pp.std = {0.5f, 0.5f, 2.0f};
  Tensor x = data::make_batch(some, 0, 2, pp, data::Layout::NCHW, {3, 16, 16});
  Tensor ref = data::load_npy(kFolder + "/val_ref.npy");
  const int64_t sz = ds.image_size();
  for (int64_t j = 0; j < 2; ++j) {
    const uint8_t* want = ref.data<uint8_t>() + (j == 0 ? 4 : 1) * sz;
    for (int64_t k = 0; k < sz; ++k) {
      const int64_t c = k / 256;
      const float v = (static_cast<float>(want[k]) / 255.0f - pp.mean[c]) / pp.std[c];
      ASSERT_EQ(x.data<float>()[j * sz + k], v) << j << " " << k;
    }
  }
  pp.mean = {0.1f, 0.2f};
  expect_error(
      [&] {
        data::make_batch(some, 0, 1, pp, data::Layout::NCHW, {3, 16, 16});
      },
      {"2 mean/std values", "3 channels"});
}

TEST(Folder, SplitsWithoutTrainFolder) {
  // DIR itself holds the classes: both splits read it, and the name says so.
  data::Dataset a = data::load_folder(kFolder + "/val", data::Split::Train, kSmall);
  data::Dataset b = data::load_folder(kFolder + "/val", data::Split::Test, kSmall);
  EXPECT_EQ(a.files, b.files);
  EXPECT_NE(a.name.find("same images"), std::string::npos) << a.name;
  // DIR/val alone: calibration falls back to it, and says so.
  std::string dir = scratch("val_only");
  fs::create_directories(dir + "/val/x");
  fs::copy_file(kFolder + "/val/Apple/tiny.png", dir + "/val/x/1.png");
  // A format torchvision reads but qbench does not is skipped, and the name counts it.
  std::ofstream(dir + "/val/x/2.BMP") << "BM";
  data::Dataset t = data::load_folder(dir, data::Split::Train, kSmall);
  EXPECT_EQ(t.count, 1);
  EXPECT_NE(t.name.find("no train/"), std::string::npos) << t.name;
  EXPECT_NE(t.name.find("1 .bmp/"), std::string::npos) << t.name;
}

TEST(Folder, Errors) {
  expect_error([] { data::load_dataset("folder:/nonexistent/imagenet", data::Split::Test); },
               {"image folder", "/nonexistent/imagenet", "does not exist"});
  expect_error([] { data::load_dataset("folder:", data::Split::Test); }, {"folder:DIR"});
  std::string empty = scratch("empty");
  std::ofstream(empty + "/stray.jpg") << "x";
  expect_error([&] { data::load_folder(empty, data::Split::Test, kSmall); },
               {empty, "no class subfolders"});
  std::string no_images = scratch("no_images");
  fs::create_directories(no_images + "/cat");
  std::ofstream(no_images + "/cat/readme.txt") << "x";
  expect_error([&] { data::load_folder(no_images, data::Split::Test, kSmall); },
               {no_images + "/cat", "no .jpg"});
  std::string train_only = scratch("train_only");
  fs::create_directories(train_only + "/train/cat");
  expect_error([&] { data::load_folder(train_only, data::Split::Test, kSmall); },
               {"train/ but no val/"});
  expect_error(
      [&] {
        data::load_folder(kFolder, data::Split::Test, {16, 20, false, {}});
      },
      {"--crop 20 is larger than --resize 16"});

  // A truncated JPEG, a corrupt PNG and a file that is neither: the error names the file, and
  // a batch containing it fails with that error.
  std::string bad = scratch("bad");
  fs::create_directories(bad + "/cat");
  std::string jpg, png;
  {
    std::ifstream f(kFolder + "/val/zebra/a.jpg", std::ios::binary);
    jpg.assign(std::istreambuf_iterator<char>(f), {});
    std::ifstream g(kFolder + "/val/Apple/tiny.png", std::ios::binary);
    png.assign(std::istreambuf_iterator<char>(g), {});
  }
  std::ofstream(bad + "/cat/0_ok.jpg", std::ios::binary) << jpg;
  std::ofstream(bad + "/cat/1_truncated.jpg", std::ios::binary) << jpg.substr(0, jpg.size() / 2);
  std::string broken = png;
  for (size_t i = 40; i < 60 && i < broken.size(); ++i) broken[i] ^= 0x5a;
  std::ofstream(bad + "/cat/2_corrupt.png", std::ios::binary) << broken;
  std::ofstream(bad + "/cat/3_text.png") << "hello";
  data::Dataset ds = data::load_folder(bad, data::Split::Test, kSmall);
  ASSERT_EQ(ds.count, 4);
  std::vector<uint8_t> img(static_cast<size_t>(ds.image_size()));
  data::read_image(ds, 0, img.data());
  expect_error([&] { data::read_image(ds, 1, img.data()); }, {"1_truncated.jpg", "corrupt"});
  expect_error([&] { data::read_image(ds, 2, img.data()); }, {"2_corrupt.png", "corrupt"});
  expect_error([&] { data::read_image(ds, 3, img.data()); },
               {"3_text.png", "neither JPEG nor PNG"});
  expect_error(
      [&] {
        data::make_batch(ds, 0, 4, {}, data::Layout::NCHW, {3, 16, 16});
      },
      {"1_truncated.jpg"});
  fs::permissions(bad + "/cat/0_ok.jpg", fs::perms::none);
  if (!std::ifstream(bad + "/cat/0_ok.jpg"))  // root reads it anyway
    expect_error([&] { data::read_image(ds, 0, img.data()); }, {"cannot open image", "0_ok.jpg"});
}
