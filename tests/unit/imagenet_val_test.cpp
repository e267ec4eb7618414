// The ImageNet validation set as distributed (data/dataset.h load_imagenet_val, data/mat.h):
// tests/data/imagenet_val, made by tests/data/make_imagenet_val.py, holds a tiny devkit-layout
// set (flat images, ILSVRC2012 ids, a meta.mat written by scipy) and a Kaggle-layout one, with the
// labels torchvision gives each image (its val/ layout read by ImageFolder, meta.mat read by
// scipy). qbench must give the same labels and classes, follow --labels, read meta.mat
// compressed or not, and refuse damaged metadata with an error naming the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/dataset.h"
#include "data/mat.h"
#include "test_util.h"

using namespace qbench;
namespace fs = std::filesystem;

namespace {

const fs::path kRoot = fs::path(QBENCH_TEST_DATA) / "imagenet_val";

std::vector<std::string> lines(const fs::path& p) {
  std::ifstream f(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);) out.push_back(l);
  return out;
}

std::vector<int32_t> ints(const fs::path& p) {
  std::vector<int32_t> out;
  for (const auto& l : lines(p)) out.push_back(std::stoi(l));
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

fs::path scratch(const std::string& name) {
  const fs::path d = fs::path(testing::TempDir()) /
                     ("qbench_imagenet_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<uint8_t> bytes_of(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

}  // namespace

TEST(ImagenetVal, DevkitGroundTruthThroughMetaMatGivesTorchvisionLabels) {
  const data::Dataset ds =
      data::load_dataset("imagenet-val:" + (kRoot / "devkit/val").string(), data::Split::Test);
  EXPECT_EQ(ds.labels, ints(kRoot / "devkit/labels.txt"));
  EXPECT_EQ(ds.class_names, lines(kRoot / "devkit/classes.txt"));
  EXPECT_EQ(ds.num_classes, 5);  // the leaves only: the inner synsets are no classes
  ASSERT_EQ(ds.count, 14);
  EXPECT_EQ(fs::path(ds.files[13]).filename(), "ILSVRC2012_val_00000014.JPEG");
  EXPECT_NE(ds.name.find("meta.mat"), std::string::npos) << ds.name;
  // The images decode and are cropped like any image file.
  std::vector<uint8_t> px(static_cast<size_t>(3 * 224 * 224));
  data::read_image(ds, 0, px.data());
  // Calibration reads the same images and says so.
  const data::Dataset train =
      data::load_dataset("imagenet-val:" + (kRoot / "devkit/val").string(), data::Split::Train);
  EXPECT_EQ(train.labels, ds.labels);
  EXPECT_NE(train.name.find("calibrating on the test images"), std::string::npos);
}

TEST(ImagenetVal, MetaMatCompressedOrNotHoldsTheSynsetsInIdOrder) {
  const auto order = lines(kRoot / "devkit_order.txt");  // "WNID ID name", ILSVRC2012 id order
  for (const fs::path& p : {kRoot / "devkit/ILSVRC2012_devkit_t12/data/meta.mat",
                           kRoot / "devkit/meta_uncompressed.mat"}) {
    const auto synsets = data::load_meta_mat(p.string());
    ASSERT_EQ(synsets.size(), 7u) << p;
    for (size_t i = 0; i < order.size(); ++i) {
      EXPECT_EQ(synsets[i].wnid + " " + std::to_string(synsets[i].ilsvrc_id),
                order[i].substr(0, order[i].rfind(' ')));
      EXPECT_EQ(synsets[i].num_children, 0);
    }
    EXPECT_EQ(synsets[0].words, "kit fox, Vulpes macrotis");
    EXPECT_EQ(synsets[5].wnid, "n00001740");
    EXPECT_EQ(synsets[5].num_children, 2);
  }
}

TEST(ImagenetVal, KaggleSolutionFileFoundAboveTheImages) {
  const std::string val = (kRoot / "kaggle/ILSVRC/Data/CLS-LOC/val").string();
  const data::Dataset ds = data::load_dataset("imagenet-val:" + val, data::Split::Test);
  EXPECT_EQ(ds.labels, ints(kRoot / "kaggle/labels.txt"));
  EXPECT_EQ(ds.class_names, lines(kRoot / "kaggle/classes.txt"));
  EXPECT_EQ(ds.count, 10);
  // Named explicitly, the same.
  const data::Dataset named = data::load_dataset(
      "imagenet-val:" + val + "," + (kRoot / "kaggle/LOC_val_solution.csv").string(),
      data::Split::Test);
  EXPECT_EQ(named.labels, ds.labels);
}

TEST(ImagenetVal, LabelsFileSetsTheClassOrder) {
  // In the devkit's own order (map_clsloc.txt's form), each image's class is its id - 1.
  data::ImageOptions image;
  image.class_order = (kRoot / "devkit_order.txt").string();
  const data::Dataset ds = data::load_dataset("imagenet-val:" + (kRoot / "devkit/val").string(),
                                              data::Split::Test, image);
  std::vector<int32_t> ids =
      ints(kRoot / "devkit/ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt");
  for (auto& i : ids) i -= 1;
  EXPECT_EQ(ds.labels, ids);
  EXPECT_EQ(ds.class_names[0], "n02119789");
  EXPECT_NE(ds.name.find("devkit_order.txt"), std::string::npos);

  // An image folder too: classes renumbered by name, more classes than folders allowed.
  const fs::path d = scratch("order");
  std::ofstream(d / "order.txt") << "zebra extra words\nmole\nunused\nApple\n";
  image.class_order = (d / "order.txt").string();
  const std::string folder = "folder:" + (fs::path(QBENCH_TEST_DATA) / "image_folder").string();
  const data::Dataset plain = data::load_dataset(folder, data::Split::Test);
  const data::Dataset ordered = data::load_dataset(folder, data::Split::Test, image);
  ASSERT_EQ(plain.class_names, (std::vector<std::string>{"Apple", "mole", "zebra"}));
  ASSERT_EQ(ordered.labels.size(), plain.labels.size());
  const int32_t new_index[] = {3, 1, 0};  // Apple, mole, zebra -> their lines
  for (size_t i = 0; i < plain.labels.size(); ++i)
    EXPECT_EQ(ordered.labels[i], new_index[plain.labels[i]]);
  EXPECT_EQ(ordered.num_classes, 4);

  // A class the file lacks, a name given twice, other datasets.
  std::ofstream(d / "short.txt") << "zebra\nmole\n";
  image.class_order = (d / "short.txt").string();
  EXPECT_NE(error_of([&] { data::load_dataset(folder, data::Split::Test, image); })
                .find("class 'Apple'"),
            std::string::npos);
  std::ofstream(d / "twice.txt") << "zebra\nApple\nzebra\nmole\n";
  image.class_order = (d / "twice.txt").string();
  EXPECT_NE(error_of([&] { data::load_dataset(folder, data::Split::Test, image); })
                .find("twice (lines 1 and 3)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { data::load_dataset("fashion-mnist", data::Split::Test, image); })
                .find("--labels applies to"),
            std::string::npos);
}

TEST(ImagenetVal, MissingOrDamagedMetadataIsAnErrorNamingTheFile) {
  const fs::path d = scratch("bad");
  fs::create_directories(d / "val");
  for (int i = 1; i <= 3; ++i)
    fs::copy_file(kRoot / "devkit/val" / fmt::format("ILSVRC2012_val_{:08d}.JPEG", i),
                  d / "val" / fmt::format("ILSVRC2012_val_{:08d}.JPEG", i));
  const std::string spec = "imagenet-val:" + (d / "val").string();
  auto err = [&] { return error_of([&] { data::load_dataset(spec, data::Split::Test); }); };
  EXPECT_NE(err().find("found no ground truth"), std::string::npos) << err();

  // The ground truth without meta.mat.
  std::ofstream(d / "ILSVRC2012_validation_ground_truth.txt") << "1\n5\n3\n";
  EXPECT_NE(err().find("data/meta.mat"), std::string::npos) << err();
  fs::copy_file(kRoot / "devkit/meta_uncompressed.mat", d / "meta.mat");
  EXPECT_EQ(data::load_dataset(spec, data::Split::Test).count, 3);
  // An id that is no class (6 is an inner synset), a short ground truth, a stray file.
  std::ofstream(d / "ILSVRC2012_validation_ground_truth.txt") << "1\n6\n3\n";
  EXPECT_NE(err().find("line 2: '6' is not an ILSVRC2012 class id"), std::string::npos) << err();
  std::ofstream(d / "ILSVRC2012_validation_ground_truth.txt") << "1\n2\n";
  EXPECT_NE(err().find("no label for image 3"), std::string::npos) << err();
  std::ofstream(d / "ILSVRC2012_validation_ground_truth.txt") << "1\n2\n3\n";
  fs::copy_file(kRoot / "devkit/val/ILSVRC2012_val_00000004.JPEG", d / "val/cat.jpg");
  EXPECT_NE(err().find("'cat.jpg'"), std::string::npos) << err();
  fs::remove(d / "val/cat.jpg");

  // Every truncation of both meta.mat files, and a flipped byte anywhere in the compressed
  // one, is an Error (or, for the flips, possibly still a valid file), never a crash.
  for (const fs::path& p : {kRoot / "devkit/ILSVRC2012_devkit_t12/data/meta.mat",
                           kRoot / "devkit/meta_uncompressed.mat"}) {
    const std::vector<uint8_t> full = bytes_of(p);
    for (size_t n = 0; n < full.size(); n += 7) {
      const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
      EXPECT_THROW(data::parse_meta_mat(cut, "cut.mat"), Error) << p << " cut at " << n;
    }
    for (size_t i = 128; i < full.size(); i += 3) {
      std::vector<uint8_t> flipped = full;
      flipped[i] ^= 0x5a;
      try {
        data::parse_meta_mat(flipped, "flipped.mat");
      } catch (const Error&) {
      }
    }
  }
  std::vector<uint8_t> v73(200, 0);
  const std::string h = "MATLAB 7.3 MAT-file, Platform: GLNXA64";
  std::copy(h.begin(), h.end(), v73.begin());
  EXPECT_NE(error_of([&] { data::parse_meta_mat(v73, "new.mat"); }).find("HDF5"),
            std::string::npos);
}
