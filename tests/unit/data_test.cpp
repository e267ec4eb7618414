// IDX and .npy readers, and preprocessing, against hand-made files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "engine/engine.h"
#include "eval/evaluate.h"
#include "test_util.h"

using namespace qbench;
namespace fs = std::filesystem;

namespace {

std::string tmp_dir() {
  fs::path d = fs::temp_directory_path() / "qbench_data_test";
  fs::create_directories(d);
  return d.string();
}

std::string be32(uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

// Three 2x2 images with pixels 0..11 and labels 2, 0, 1.
std::string images() {
  std::string b = be32(0x803) + be32(3) + be32(2) + be32(2);
  for (int i = 0; i < 12; ++i) b += char(i * 20);
  return b;
}
std::string labels() {
  return be32(0x801) + be32(3) + std::string{2, 0, 1};
}

void expect_error(const std::function<void()>& f, std::vector<std::string> fragments) {
  try {
    f();
    FAIL() << "should have thrown";
  } catch (const Error& e) {
    for (const auto& s : fragments)
      EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Idx, ReadsGzipAndRawAlike) {
  std::string d = tmp_dir();
  write_gz(d + "/i.gz", images());
  write_gz(d + "/l.gz", labels());
  write_raw(d + "/i.raw", images());
  write_raw(d + "/l.raw", labels());
  for (auto [i, l] : {std::pair{"/i.gz", "/l.gz"}, std::pair{"/i.raw", "/l.raw"}}) {
    data::Dataset ds = data::load_idx(d + i, d + l);
    EXPECT_EQ(ds.count, 3);
    EXPECT_EQ(ds.height, 2);
    EXPECT_EQ(ds.width, 2);
    EXPECT_EQ(ds.labels, (std::vector<int32_t>{2, 0, 1}));
    EXPECT_EQ(ds.pixels[5], 100);
    EXPECT_EQ(ds.num_classes, 3);
  }
}

TEST(Idx, WrongMagicTruncatedAndMismatchedCounts) {
  std::string d = tmp_dir();
  write_raw(d + "/l.raw", labels());
  std::string bad = images();
  bad[3] = 0x01;
  write_raw(d + "/bad.raw", bad);
  expect_error([&] { data::load_idx(d + "/bad.raw", d + "/l.raw"); },
               {d + "/bad.raw", "magic number 0x00000801", "0x00000803"});
  write_raw(d + "/short.raw", images().substr(0, 20));
  expect_error([&] { data::load_idx(d + "/short.raw", d + "/l.raw"); },
               {d + "/short.raw", "truncated", "3 images of 2x2"});
  write_gz(d + "/short.gz", images().substr(0, 20));
  expect_error([&] { data::load_idx(d + "/short.gz", d + "/l.raw"); },
               {d + "/short.gz", "truncated"});
  // A gzip stream cut in the middle.
  std::string gz;
  write_gz(d + "/full.gz", images() + std::string(4000, 'x'));
  {
    std::ifstream f(d + "/full.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(f), {});
  }
  write_raw(d + "/cut.gz", gz.substr(0, gz.size() / 2));
  expect_error([&] { data::load_idx(d + "/cut.gz", d + "/l.raw"); }, {d + "/cut.gz"});
  write_raw(d + "/l2.raw", be32(0x801) + be32(2) + std::string{1, 1});
  expect_error([&] { data::load_idx(d + "/full.gz", d + "/l2.raw"); }, {"2 labels", "3 images"});
  expect_error([&] { data::load_idx(d + "/missing", d + "/l.raw"); },
               {d + "/missing", "does not exist"});
}

TEST(Idx, UnknownSpecAndDirectory) {
  expect_error([] { data::load_dataset("imagenette", data::Split::Test); }, {"imagenette"});
  expect_error([] { data::load_dataset("mnist:/no/such/dir", data::Split::Test); },
               {"/no/such/dir"});
}

TEST(Preprocess, ToTensorThenNormalize) {
  data::Dataset ds;
  ds.count = 1;
  ds.channels = 1;
  ds.height = 1;
  ds.width = 3;
  ds.pixels = {0, 51, 255};
  ds.labels = {0};
  data::Preprocess pp;
  Tensor t = data::make_batch(ds, 0, 1, pp, data::Layout::NCHW, {1, 1, 3});
  EXPECT_EQ(t.data<float>()[0], 0.0f);
  EXPECT_EQ(t.data<float>()[1], 51.0f / 255.0f);
  EXPECT_EQ(t.data<float>()[2], 1.0f);
  pp.mean = {0.5f};
  pp.std = {0.25f};
  t = data::make_batch(ds, 0, 1, pp, data::Layout::NCHW, {1, 1, 3});
  EXPECT_FLOAT_EQ(t.data<float>()[0], -2.0f);
  EXPECT_FLOAT_EQ(t.data<float>()[2], 2.0f);
}

TEST(Preprocess, NhwcInterleavesChannels) {
  data::Dataset ds;
  ds.count = 1;
  ds.channels = 2;
  ds.height = 1;
  ds.width = 2;
  ds.pixels = {10, 20, 30, 40};  // c0: 10 20, c1: 30 40
  Tensor t = data::make_batch(ds, 0, 1, {}, data::Layout::NHWC, {1, 2, 2});
  const float* p = t.data<float>();
  EXPECT_EQ(p[0], 10 / 255.0f);
  EXPECT_EQ(p[1], 30 / 255.0f);
  EXPECT_EQ(p[2], 20 / 255.0f);
  EXPECT_EQ(p[3], 40 / 255.0f);
}

TEST(Npy, RoundTripAndErrors) {
  std::string d = tmp_dir();
  Tensor t = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  data::save_npy(t, d + "/a.npy");
  EXPECT_TRUE(data::load_npy(d + "/a.npy").same_as(t));
  Tensor s = Tensor::from_vector<int64_t>({4}, {1, -2, 3, -4});
  data::save_npy(s, d + "/s.npy");
  EXPECT_TRUE(data::load_npy(d + "/s.npy").same_as(s));
  write_raw(d + "/bad.npy", "hello");
  expect_error([&] { data::load_npy(d + "/bad.npy"); }, {d + "/bad.npy"});
}

// numpy writes a transposed (column-major) array with fortran_order True: the reader reorders
// it. Hand-made file: the 2 x 3 array [[1, 2, 3], [4, 5, 6]] stored column by column, and a
// 2 x 2 x 2 int16 array whose element (i, j, k) is 100 i + 10 j + k.
TEST(Npy, FortranOrderIsReordered) {
  std::string d = tmp_dir();
  auto npy = [](const std::string& descr, const std::string& shape, const std::string& data) {
    std::string header =
        "{'descr': '" + descr + "', 'fortran_order': True, 'shape': (" + shape + "), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    return out + header + data;
  };
  const float col_major[] = {1, 4, 2, 5, 3, 6};
  write_raw(d + "/f.npy",
            npy("<f4", "2, 3", std::string(reinterpret_cast<const char*>(col_major), 24)));
  EXPECT_TRUE(
      data::load_npy(d + "/f.npy").same_as(Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6})));
  // Column-major order of (i, j, k): i fastest, then j, then k.
  std::vector<int16_t> cm;
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < 2; ++j)
      for (int i = 0; i < 2; ++i) cm.push_back(static_cast<int16_t>(100 * i + 10 * j + k));
  write_raw(d + "/g.npy",
            npy("<i2", "2, 2, 2", std::string(reinterpret_cast<const char*>(cm.data()), 16)));
  Tensor g = data::load_npy(d + "/g.npy");
  ASSERT_EQ(g.shape(), (Shape{2, 2, 2}));
  const int16_t* p = g.data<int16_t>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) EXPECT_EQ(p[(i * 2 + j) * 2 + k], 100 * i + 10 * j + k);
}

// --limit's sample: a folder-like set whose classes come one after the other (50, 30, 15, 5
// images), sampled to 20: each class keeps its share (10, 6, 3, 1), the draw is seeded and
// repeatable, indices are unique, sorted and of the right class, and a subset remembers where
// each image came from.
TEST(Sample, StratifiedKeepsEveryClassShare) {
  data::Dataset ds;
  const int sizes[] = {50, 30, 15, 5};
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < sizes[c]; ++i) ds.labels.push_back(c);
  ds.count = int64_t(ds.labels.size());
  ds.channels = ds.height = ds.width = 1;
  ds.num_classes = 4;
  for (int64_t i = 0; i < ds.count; ++i) ds.pixels.push_back(uint8_t(i));
  const std::vector<int64_t> s = data::stratified_sample(ds, 20, 7);
  ASSERT_EQ(s.size(), 20u);
  int per_class[4] = {0, 0, 0, 0};
  for (size_t k = 0; k < s.size(); ++k) {
    if (k) {
      EXPECT_LT(s[k - 1], s[k]);
    }
    per_class[ds.labels[size_t(s[k])]]++;
  }
  EXPECT_EQ(per_class[0], 10);
  EXPECT_EQ(per_class[1], 6);
  EXPECT_EQ(per_class[2], 3);
  EXPECT_EQ(per_class[3], 1);
  EXPECT_EQ(data::stratified_sample(ds, 20, 7), s);  // repeatable
  EXPECT_NE(data::stratified_sample(ds, 20, 8), s);  // and the seed matters
  // Too small for every share: each class still shows up while n allows.
  const std::vector<int64_t> tiny = data::stratified_sample(ds, 4, 7);
  ASSERT_EQ(tiny.size(), 4u);
  for (int c = 0; c < 4; ++c)
    EXPECT_EQ(std::count_if(tiny.begin(), tiny.end(), [&](int64_t i) { return ds.labels[size_t(i)] == c; }), 1) << c;
  EXPECT_EQ(data::stratified_sample(ds, 500, 7).size(), 100u);  // all of it
  // The --limit form: named as a sample, each image's origin kept, through a second subset too.
  const data::Dataset lim = data::limit_stratified(ds, 20);
  EXPECT_EQ(lim.count, 20);
  EXPECT_NE(lim.name.find("class-stratified sample of 20"), std::string::npos) << lim.name;
  for (int64_t k = 0; k < lim.count; ++k) {
    EXPECT_EQ(lim.pixels[size_t(k)], uint8_t(lim.origin[size_t(k)]));
    EXPECT_EQ(lim.labels[size_t(k)], ds.labels[size_t(lim.origin[size_t(k)])]);
  }
  const data::Dataset twice = data::subset(lim, {3, 0});
  EXPECT_EQ(twice.origin, (std::vector<int64_t>{lim.origin[3], lim.origin[0]}));
  EXPECT_EQ(data::limit_stratified(ds, 0).count, 100);
}

// npy:INPUTS.npy,LABELS.npy: tensors of any shape evaluated as they are. A model that returns
// its [2, 3] input flattened predicts each sample's largest value; the labels agree on 3 of 5.
TEST(Npy, DatasetOfTensorsEvaluatesAsItIs) {
  const std::string d = tmp_dir();
  Tensor x(DType::F32, {5, 2, 3});
  Tensor y(DType::I64, {5});
  for (int64_t k = 0; k < 5; ++k) {
    const int64_t top = (k * 2) % 6;
    for (int64_t j = 0; j < 6; ++j) x.data<float>()[k * 6 + j] = j == top ? 5.0f + k : 0.1f * j;
    y.data<int64_t>()[k] = k < 3 ? top : (top + 1) % 6;
  }
  data::save_npy(x, d + "/x.npy");
  data::save_npy(y, d + "/y.npy");
  const data::Dataset ds = data::load_dataset("npy:" + d + "/x.npy," + d + "/y.npy", data::Split::Test);
  EXPECT_TRUE(ds.raw());
  EXPECT_EQ(ds.count, 5);
  EXPECT_EQ(ds.sample, (Shape{2, 3}));
  ir::Graph g;
  g.opsets[""] = 13;
  test::add_input(g, "x", {{-1, "N"}, {2, ""}, {3, ""}});
  test::add_node(g, "Flatten", {"x"}, {"logits"});
  g.outputs = {"logits"};
  engine::Engine e(g);
  data::Preprocess shifted;  // not applied to tensors
  shifted.mean = {0.5f};
  for (const data::Preprocess& pp : {data::Preprocess{}, shifted}) {
    const eval::EvalResult r = eval::evaluate(e, ds, pp, {2, 0});
    EXPECT_EQ(r.n, 5);
    EXPECT_EQ(r.correct_top1, 3);
  }
  // A flat model input takes them too; another shape is refused, naming both.
  ir::Graph flat;
  test::add_input(flat, "v", {{-1, "N"}, {6, ""}});
  EXPECT_EQ(eval::bind_input(flat, ds).sample_shape, (Shape{6}));
  ir::Graph other;
  test::add_input(other, "v", {{-1, "N"}, {3, ""}, {2, ""}});
  try {
    eval::bind_input(other, ds);
    ADD_FAILURE() << "a [N, 3, 2] input took [2, 3] samples";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("[2, 3]"), std::string::npos) << err.what();
  }
  // A stratified subset keeps the tensors with their labels.
  const data::Dataset sub = data::subset(ds, {4, 1});
  EXPECT_EQ(sub.values[0], x.data<float>()[24]);
  EXPECT_EQ(sub.values[6], x.data<float>()[6]);
  // Bad files say which and why.
  Tensor f(DType::F32, {5});
  data::save_npy(f, d + "/f.npy");
  Tensor y4(DType::I64, {4});
  data::save_npy(y4, d + "/y4.npy");
  expect_error([&] { data::load_dataset("npy:" + d + "/x.npy," + d + "/f.npy", data::Split::Test); },
               {"f.npy", "integer"});
  expect_error([&] { data::load_dataset("npy:" + d + "/x.npy," + d + "/y4.npy", data::Split::Test); },
               {"5 samples", "4 labels"});
  expect_error([&] { data::load_dataset("npy:" + d + "/x.npy", data::Split::Test); },
               {"npy:INPUTS.npy,LABELS.npy"});
}
