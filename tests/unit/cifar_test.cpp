// CIFAR-10/100 binary batches (data/dataset.h load_cifar): small datasets written here in the
// published layout, read back through load_dataset and make_batch, and checked against the bytes
// written: labels (CIFAR-100's fine label, not the coarse one), the R, G, B planes in NCHW, the
// class names, the preset normalisation; and one-line errors for a damaged set.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "data/dataset.h"

using namespace qbench;
namespace fs = std::filesystem;

namespace {

struct Record {
  uint8_t coarse = 0, label = 0;
  std::vector<uint8_t> pixels;  // 3072: R plane, G plane, B plane, each 32x32 row-major
};

std::vector<Record> records(int n, int classes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Record> out(static_cast<size_t>(n));
  for (auto& r : out) {
    r.label = uint8_t(rng() % uint32_t(classes));
    r.coarse = uint8_t(rng() % 20);
    r.pixels.resize(3072);
    for (auto& p : r.pixels) p = uint8_t(rng());
  }
  return out;
}

void write_batch(const fs::path& path, const std::vector<Record>& rs, bool cifar100) {
  std::ofstream f(path, std::ios::binary);
  for (const auto& r : rs) {
    if (cifar100) f.put(char(r.coarse));
    f.put(char(r.label));
    f.write(reinterpret_cast<const char*>(r.pixels.data()), 3072);
  }
}

std::string temp_dir(const std::string& name) {
  const fs::path d = fs::path(testing::TempDir()) /
                     ("qbench_cifar_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

std::string error_of(const std::string& spec, data::Split split) {
  try {
    data::load_dataset(spec, split);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Cifar, Cifar10BatchesLabelsPlanesAndNames) {
  const std::string root = temp_dir("10");
  const fs::path d = fs::path(root) / "cifar-10-batches-bin";  // as the tarball unpacks
  fs::create_directories(d);
  std::vector<Record> train;
  for (int b = 1; b <= 5; ++b) {
    auto rs = records(2 + b % 2, 10, uint32_t(b));
    write_batch(d / ("data_batch_" + std::to_string(b) + ".bin"), rs, false);
    train.insert(train.end(), rs.begin(), rs.end());
  }
  const auto test = records(3, 10, 99);
  write_batch(d / "test_batch.bin", test, false);
  std::ofstream(d / "batches.meta.txt") << "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\n"
                                           "horse\nship\ntruck\n\n";

  const data::Dataset tr = data::load_dataset("cifar10:" + root, data::Split::Train);
  ASSERT_EQ(tr.count, int64_t(train.size()));  // every batch, in order
  for (size_t i = 0; i < train.size(); ++i) EXPECT_EQ(tr.labels[i], train[i].label) << i;
  EXPECT_EQ(tr.num_classes, 10);
  EXPECT_EQ(tr.class_names.at(9), "truck");

  const data::Dataset te = data::load_dataset("cifar10:" + root, data::Split::Test);
  ASSERT_EQ(te.count, 3);
  EXPECT_NE(te.name.find("cifar10 (test"), std::string::npos) << te.name;
  // NCHW floats with the CIFAR-10 preset: (pixel / 255 - mean[c]) / std[c], pixel c*1024 + y*32 + x.
  const data::Preprocess pp = *data::preset_preprocess("cifar10");
  const Tensor x = data::make_batch(te, 0, 3, pp, data::Layout::NCHW, {3, 32, 32});
  ASSERT_EQ(x.shape(), (Shape{3, 3, 32, 32}));
  const float mean[] = {0.4914f, 0.4822f, 0.4465f}, std[] = {0.2470f, 0.2435f, 0.2616f};
  for (int i = 0; i < 3; ++i)
    for (int c = 0; c < 3; ++c)
      for (int at : {0, 31, 32 * 17 + 5, 1023}) {
        const float want = (float(test[size_t(i)].pixels[size_t(c * 1024 + at)]) / 255.0f - mean[c]) / std[c];
        EXPECT_NEAR(x.data<float>()[(i * 3 + c) * 1024 + at], want, 1e-5f) << i << " " << c;
      }
  EXPECT_EQ(te.labels[2], test[2].label);
}

TEST(Cifar, Cifar100UsesTheFineLabel) {
  const std::string root = temp_dir("100");
  const auto train = records(4, 100, 5), test = records(2, 100, 6);
  write_batch(fs::path(root) / "train.bin", train, true);
  write_batch(fs::path(root) / "test.bin", test, true);
  const data::Dataset te = data::load_dataset("cifar100:" + root, data::Split::Test);
  ASSERT_EQ(te.count, 2);
  EXPECT_EQ(te.num_classes, 100);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(te.labels[size_t(i)], test[size_t(i)].label);
  EXPECT_EQ(te.class_names.at(42), "42");  // no fine_label_names.txt: the indices
  EXPECT_EQ(data::load_dataset("cifar100:" + root, data::Split::Train).count, 4);
}

TEST(Cifar, DamagedSetsFailNamingTheFile) {
  const std::string root = temp_dir("bad");
  EXPECT_NE(error_of("cifar10:" + root, data::Split::Test).find("no CIFAR-10 binary batches"),
            std::string::npos);
  auto rs = records(2, 10, 7);
  write_batch(fs::path(root) / "test_batch.bin", rs, false);
  {
    std::ofstream f(fs::path(root) / "test_batch.bin", std::ios::binary | std::ios::app);
    f.put('x');  // one byte too many
  }
  std::string e = error_of("cifar10:" + root, data::Split::Test);
  EXPECT_NE(e.find("test_batch.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("whole number"), std::string::npos) << e;
  rs[1].label = 10;
  write_batch(fs::path(root) / "test_batch.bin", rs, false);
  e = error_of("cifar10:" + root, data::Split::Test);
  EXPECT_NE(e.find("record 1 has label 10"), std::string::npos) << e;
  // The train split needs all five batches.
  e = error_of("cifar10:" + root, data::Split::Train);
  EXPECT_NE(e.find("data_batch_1.bin"), std::string::npos) << e;
  EXPECT_NE(error_of("cifar10:", data::Split::Test).find("needs a directory"), std::string::npos);
  EXPECT_FALSE(data::preset_preprocess("imagenet-ish"));
  EXPECT_EQ(data::preset_preprocess("imagenet")->std.size(), 3u);
  fs::remove_all(root);
}
