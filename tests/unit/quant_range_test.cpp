// Observers, range methods, scale/zero-point choice and the calibration table, against values
// worked out by hand in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "core/error.h"
#include "core/qmath.h"
#include "onnx/onnx_io.h"
#include "quant/calib_table.h"
#include "quant/calibrate.h"
#include "quant/observer.h"
#include "quant/range.h"

using namespace qbench;
using namespace qbench::quant;

namespace {

Histogram hist(float limit, std::vector<double> counts, double zeros = 0) {
  Histogram h;
  h.limit = limit;
  h.counts = std::move(counts);
  h.zeros = zeros;
  return h;
}

void expect_counts(const Observer& o, const std::vector<double>& want) {
  ASSERT_EQ(o.histogram().counts.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(o.histogram().counts[i], want[i], 1e-9) << "bin " << i;
}

}  // namespace

TEST(QuantMath, QuantizeDequantizeRoundTrip) {
  // Every grid value (q - zp) * s quantizes back to q, and off-grid values land on the nearest.
  const float s = 0.02f;
  for (int32_t q = 0; q <= 255; ++q) {
    const float x = dequantize_value(q, s, 100);
    EXPECT_EQ(quantize_value(x, s, 100, 0, 255), q);
  }
  EXPECT_EQ(quantize_value(0.031f, s, 100, 0, 255), 102);    // 1.55 -> 2
  EXPECT_EQ(quantize_value(0.01f, 0.02f, 0, -128, 127), 0);  // 0.5 -> 0 (ties to even)
  EXPECT_EQ(quantize_value(0.03f, 0.02f, 0, -128, 127), 2);  // 1.5 -> 2
  EXPECT_EQ(quantize_value(100.0f, s, 100, 0, 255), 255);    // saturates
  EXPECT_EQ(quantize_value(-100.0f, s, 0, -128, 127), -128);
}

TEST(QuantObserver, HistogramOfAbsoluteValuesWidensAndCountsZerosApart) {
  Observer o(4);
  // limit 3, bins of 0.75: |-1| -> bin 1, 0.5 -> bin 0, 3 -> last bin.
  std::vector<float> a = {-1.0f, 0.5f, 3.0f};
  o.observe(a.data(), 3);
  EXPECT_EQ(o.min(), -1.0f);
  EXPECT_EQ(o.max(), 3.0f);
  expect_counts(o, {1, 1, 0, 1});
  // limit 6, bins of 1.5: old bins [0,.75) and [.75,1.5) -> bin 0, [2.25,3) -> bin 1; 6 -> bin 3.
  std::vector<float> b = {6.0f, 0.0f};
  o.observe(b.data(), 2);
  expect_counts(o, {2, 1, 0, 1});
  EXPECT_EQ(o.histogram().zeros, 1);
  EXPECT_EQ(o.count(), 5);
  EXPECT_EQ(o.max(), 6.0f);
}

TEST(QuantObserver, WideningSplitsBinsProportionallyAndMergeMatchesSequential) {
  // {1, 4} in 4 bins of 1; widening to limit 6 (bins of 1.5): [1,2) splits half into [0,1.5)
  // and half into [1.5,3); [3,4) falls in [3,4.5). -6 lands in the last bin.
  std::vector<float> a = {1.0f, 4.0f}, b = {-6.0f};
  Observer seq(4);
  seq.observe(a.data(), 2);
  seq.observe(b.data(), 1);
  expect_counts(seq, {0.5, 0.5, 1, 1});
  Observer x(4), y(4);
  x.observe(a.data(), 2);
  y.observe(b.data(), 1);
  x.merge(y);
  expect_counts(x, {0.5, 0.5, 1, 1});
  EXPECT_EQ(x.min(), -6.0f);
  EXPECT_EQ(x.max(), 4.0f);
  EXPECT_EQ(x.count(), 3);
}

TEST(QuantRange, PercentileInterpolatesInsideBins) {
  // 100 values in bins of width 1: cumulative 50, 80, 90, 95, 98, 99, ..., 100.
  Histogram h = hist(10, {50, 30, 10, 5, 3, 1, 0, 0, 0, 1});
  EXPECT_NEAR(percentile_threshold(h, 90), 3.0, 1e-12);
  EXPECT_NEAR(percentile_threshold(h, 99), 6.0, 1e-12);
  EXPECT_NEAR(percentile_threshold(h, 85), 2.5, 1e-12);  // half-way through bin 2
  // 100 exact zeros more: 90% of 200 = 180 -> 100 zeros + 50 + 30 = end of bin 1.
  h.zeros = 100;
  EXPECT_NEAR(percentile_threshold(h, 90), 2.0, 1e-12);
  EXPECT_EQ(percentile_threshold(h, 50), 0.0);
}

TEST(QuantRange, MseBalancesRoundingAgainstClipping) {
  // Bins of 1 with counts {10, 0, 0, 1} (centres 0.5 and 3.5), 1 step between 0 and t:
  // t=1: 10/12 + 2.5^2 = 7.08; t=2: 40/12 + 1.5^2 = 5.58; t=3: 90/12 + 0.5^2 = 7.75;
  // t=4: 11 * 16/12 = 14.67. Best: t = 2.
  EXPECT_NEAR(mse_threshold(hist(4, {10, 0, 0, 1}), 1.0), 2.0, 1e-12);
}

TEST(QuantRange, EntropyPicksTheLowestKlDivergence) {
  // counts {16, 8, 4, 2, 0, 0, 0, 1} into 2 levels. KL(p||q) per threshold i (bins kept):
  // i=2: p {16, 15}, q {16, 8}: 0.0483; i=3: p {16, 8, 7}, q {16, 6, 6}: 0.0073;
  // i=4: p {16, 8, 4, 3}, q {12, 12, 3, 3}: 0.0481; i=5: p {16, 8, 4, 2, 1},
  // q {12, 12, 2, 2, 2}: 0.078; i=6, 7: q {9.3 x3, 1, 0.., 1}: 0.141;
  // i=8: q {7.5 x4, 0, 0, 0, 1}: 0.241. Best: i = 3.
  EXPECT_NEAR(entropy_threshold(hist(8, {16, 8, 4, 2, 0, 0, 0, 1}), 2), 3.0, 1e-12);
}

TEST(QuantRange, EntropyClipsJustAboveASpike) {
  // KL (TensorRT's algorithm, not a bug) rewards folding the tail into a bin that already holds
  // most of the mass: the relative change of that bin is small, and KL does not weigh how far
  // the folded values move. Fashion-MNIST CNNs have such spikes: the blank background makes
  // every channel of the first layers output one constant value (lenet's first Relu: 4.4% of
  // its elements at exactly its bias 0.3504; entropy picks 0.352 of max 1.84), and the
  // normalized input is -0.810 on ~50% of pixels (entropy picks 0.811 of max 2.02).
  // Flat {2 x 6} into 2 levels: q == p at i = 6, KL 0, nothing clipped.
  EXPECT_NEAR(entropy_threshold(hist(6, {2, 2, 2, 2, 2, 2}), 2), 6.0, 1e-12);
  // Spike {2, 12, 2, 2, 2, 2}: i = 2: p {2, 12 + 8} / 22, q {2, 12} / 14:
  // KL = 2/22 ln(14/22) + 20/22 ln(20*14 / (22*12)) = -0.0411 + 0.0535 = 0.0124;
  // i = 3: p {2, 12, 8}, q {2, 7, 7}: 0.0241; i = 4: q {7, 7, 2, 2}: 0.279; i = 5: 0.211;
  // i = 6: q {5.33 x 3, 2 x 3}: 0.264. Best: i = 2, which clips 8 of the 22 values.
  EXPECT_NEAR(entropy_threshold(hist(6, {2, 12, 2, 2, 2, 2}), 2), 2.0, 1e-12);
}

TEST(QuantRange, HistogramMethodsClipAnOutlierThatMinMaxKeeps) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // 200k standard normal values and one outlier at 30: for MSE, the rounding noise of a range
  // stretched to 30 (200k * (60/255)^2 / 12 = 920) costs more than clipping the outlier.
  std::vector<float> v(200000);
  for (auto& x : v) x = normal(rng);
  v[123] = 30.0f;
  Observer o;
  o.observe(v.data(), static_cast<int64_t>(v.size()));
  RangeOptions ro;
  ro.method = RangeMethod::MinMax;
  EXPECT_EQ(compute_range(o, ro, ActType::U8Asymmetric).max, 30.0f);
  for (RangeMethod m : {RangeMethod::Entropy, RangeMethod::Mse, RangeMethod::Percentile}) {
    ro.method = m;
    Range r = compute_range(o, ro, ActType::U8Asymmetric);
    EXPECT_LT(r.max, 20.0f) << range_method_name(m);
    EXPECT_GT(r.max, 2.0f) << range_method_name(m);
    EXPECT_LT(r.min, -2.0f) << range_method_name(m);
    EXPECT_GE(r.min, o.min()) << range_method_name(m);
  }
}

TEST(QuantRange, ScaleAndZeroPoint) {
  // uint8 over [-1, 3]: scale 4/255, zero point round(1 / (4/255)) = round(63.75) = 64.
  QParams u = activation_qparams({-1.0f, 3.0f}, ActType::U8Asymmetric);
  EXPECT_FLOAT_EQ(u.scale, 4.0f / 255.0f);
  EXPECT_EQ(u.zero_point, 64);
  EXPECT_FALSE(u.is_signed);
  // The range always includes 0: [0.5, 2] becomes [0, 2].
  QParams p = activation_qparams({0.5f, 2.0f}, ActType::U8Asymmetric);
  EXPECT_FLOAT_EQ(p.scale, 2.0f / 255.0f);
  EXPECT_EQ(p.zero_point, 0);
  // Symmetric int8: max |x| / 127, zero point 0.
  QParams s = activation_qparams({-1.0f, 3.0f}, ActType::S8Symmetric);
  EXPECT_FLOAT_EQ(s.scale, 3.0f / 127.0f);
  EXPECT_EQ(s.zero_point, 0);
  EXPECT_TRUE(s.is_signed);
  EXPECT_EQ(activation_qparams({0.0f, 0.0f}, ActType::U8Asymmetric).scale, 1.0f);
}

TEST(QuantRange, ParseNames) {
  EXPECT_EQ(parse_range_method("mse"), RangeMethod::Mse);
  EXPECT_THROW(parse_range_method("kl"), Error);
}

TEST(QuantCalibTable, SaveLoadRoundTripAndErrors) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "qbench_quant_range_test";
  fs::create_directories(dir);
  CalibTable t;
  t.entries.push_back({"conv1/out", "entropy", -0.5f, 3.25f, {0.0147058824f, 34, false}});
  t.entries.push_back({"x", "minmax", 0.0f, 1.0f, {1.0f / 127.0f, 0, true}});
  const std::string path = (dir / "t.table").string();
  save_calib_table(t, path);
  CalibTable u = load_calib_table(path);
  ASSERT_EQ(u.entries.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(u.entries[i].tensor, t.entries[i].tensor);
    EXPECT_EQ(u.entries[i].method, t.entries[i].method);
    EXPECT_EQ(u.entries[i].min, t.entries[i].min);
    EXPECT_EQ(u.entries[i].max, t.entries[i].max);
    EXPECT_EQ(u.entries[i].q.scale, t.entries[i].q.scale);
    EXPECT_EQ(u.entries[i].q.zero_point, t.entries[i].q.zero_point);
    EXPECT_EQ(u.entries[i].q.is_signed, t.entries[i].q.is_signed);
  }
  std::ifstream f(path);
  std::string first;
  std::getline(f, first);
  EXPECT_EQ(first.rfind("# ", 0), 0u) << "the format is documented at the top";
  std::ofstream(dir / "bad.table") << "# header\nx minmax 0 1 0.5 300 u8\n";
  try {
    load_calib_table((dir / "bad.table").string());
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.table:2"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(QuantCalibrate, IndicesAreASortedDeterministicSample) {
  auto a = calibration_indices(60000, 512, 1), b = calibration_indices(60000, 512, 1);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), 512u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_TRUE(std::adjacent_find(a.begin(), a.end()) == a.end());
  EXPECT_NE(a, calibration_indices(60000, 512, 2));
  EXPECT_EQ(calibration_indices(10, 512, 1).size(), 10u);
}

// The observer's single vectorised range pass and its interleaved integer histogram count what
// the definition says: bin = min(floor(|x| * bins / limit), bins - 1), exact zeros apart, with
// limit the largest |x| so far (here reached in the first batch, so no widening). Checked
// against a plain loop on 1,000,003 values with zeros, negatives and values on bin edges.
TEST(QuantObserver, CountsEqualAPlainLoopOnLargeRandomData) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  const int bins = 2048;
  std::vector<float> v(1000003);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = i % 7 == 0 ? 0.0f : i % 11 == 0 ? -0.0f : normal(rng);
  v[5] = -12.0f;  // the limit: bins of 12/2048
  for (int k = 1; k < 40; ++k) v[100 + k] = 12.0f * float(k) / 40.0f;  // on or near edges
  std::vector<double> want(bins, 0.0);
  double zeros = 0;
  const double scale = double(bins) / 12.0;
  for (float x : v) {
    if (x == 0.0f) {
      zeros += 1;
      continue;
    }
    want[std::min<size_t>(size_t(std::fabs(x) * scale), bins - 1)] += 1;
  }
  for (const size_t split : {v.size(), size_t(4099)}) {  // one batch, and two unequal ones
    Observer o(bins);
    o.observe(v.data(), int64_t(split));
    if (split < v.size()) o.observe(v.data() + split, int64_t(v.size() - split));
    expect_counts(o, want);
    EXPECT_EQ(o.histogram().zeros, zeros);
    EXPECT_EQ(o.min(), -12.0f);
    EXPECT_EQ(o.max(), *std::max_element(v.begin(), v.end()));
    EXPECT_EQ(o.count(), int64_t(v.size()));
  }
  // A non-finite value anywhere is an error naming its element.
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(),
                          -std::numeric_limits<float>::infinity()}) {
    std::vector<float> w = v;
    w[777777] = bad;
    Observer o(bins);
    try {
      o.observe(w.data(), int64_t(w.size()));
      ADD_FAILURE() << "no error for " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("at element 777777 of 1000003"), std::string::npos)
          << e.what();
    }
  }
}

// Calibration observes each batch's tensors on several threads: the statistics are those of
// one thread, bin for bin.
TEST(QuantObserver, CalibrationOnTwoThreadsEqualsOneThread) {
  const ir::Graph g = onnxio::load_model(std::string(QBENCH_MODELS_DIR) + "/lenet.onnx");
  std::vector<std::string> tensors;
  for (const auto& n : g.nodes) tensors.push_back(n.outputs.at(0));
  CalibOptions c;
  c.data = "fashion-mnist";
  c.size = 200;
  c.batch = 64;
  const CalibStats one = collect_statistics(g, tensors, c);
  c.threads = 2;
  const CalibStats two = collect_statistics(g, tensors, c);
  ASSERT_EQ(one.observers.size(), tensors.size());
  for (const auto& [name, o] : one.observers) {
    const Observer& p = two.observers.at(name);
    EXPECT_EQ(o.count(), p.count()) << name;
    EXPECT_EQ(o.min(), p.min()) << name;
    EXPECT_EQ(o.max(), p.max()) << name;
    EXPECT_EQ(o.histogram().counts, p.histogram().counts) << name;
    EXPECT_EQ(o.histogram().zeros, p.histogram().zeros) << name;
  }
}
