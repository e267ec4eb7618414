// Statistics against hand-computed cases.
#include "eval/stats.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace qbench::eval;

TEST(Percentile, InterpolatesBetweenClosestRanks) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 50), 2.5);  // h = 1.5
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 90), 3.7);  // h = 2.7
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 100), 4.0);
  EXPECT_DOUBLE_EQ(percentile_sorted({7}, 99), 7.0);
  EXPECT_DOUBLE_EQ(percentile_sorted({}, 50), 0.0);
  // 101 values 0..100: the p-th percentile is p.
  std::vector<double> w;
  for (int i = 0; i <= 100; ++i) w.push_back(i);
  EXPECT_DOUBLE_EQ(percentile_sorted(w, 99), 99.0);
}

TEST(Summary, MeanSampleStdAndPercentilesOfUnsortedInput) {
  const Summary s = summarize({4, 1, 3, 2});
  EXPECT_EQ(s.n, 4);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 4);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(5.0 / 3.0));  // (2.25 + 0.25 + 0.25 + 2.25) / 3
  EXPECT_DOUBLE_EQ(s.p50, 2.5);
  EXPECT_DOUBLE_EQ(s.p90, 3.7);
  EXPECT_DOUBLE_EQ(s.p99, 3.97);
  EXPECT_DOUBLE_EQ(s.cv(), std::sqrt(5.0 / 3.0) / 2.5);
  EXPECT_DOUBLE_EQ(summarize({5}).stddev, 0.0);
}

TEST(McNemar, ExactBinomialOnDiscordantPairs) {
  // 2 * (C(10,0) + C(10,1)) / 2^10
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(1, 9), 0.021484375);
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(9, 1), 0.021484375);
  // 2 * (1 + 12 + 66) / 4096
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(2, 10), 0.03857421875);
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 3), 0.25);  // 2 / 8
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(5, 5), 1.0);  // 2 * 638 / 1024 capped at 1
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(1, 0), 1.0);
  // Large n stays finite: b = 0, c = 2000 -> 2 / 2^2000 underflows to 0, never NaN.
  EXPECT_GE(mcnemar_exact_p(0, 2000), 0.0);
  EXPECT_LT(mcnemar_exact_p(400, 600), 1e-9);
}

TEST(PairedDiff, CountsDiscordantPairsAndDifferenceInPoints) {
  const std::vector<uint8_t> a = {1, 1, 1, 1, 0, 0, 1, 1};
  const std::vector<uint8_t> b = {1, 0, 0, 1, 1, 0, 1, 1};
  const PairedDiff d = paired_accuracy_diff(a, b, 0);
  EXPECT_EQ(d.only_a, 2);
  EXPECT_EQ(d.only_b, 1);
  EXPECT_DOUBLE_EQ(d.diff_points, -12.5);  // (5 - 6) / 8
  EXPECT_DOUBLE_EQ(d.ci_low, -12.5);
  EXPECT_DOUBLE_EQ(d.ci_high, -12.5);
}

TEST(PairedDiff, BootstrapOfIdenticalOrUniformPairsIsDegenerate) {
  const std::vector<uint8_t> a = {1, 0, 1, 1, 0};
  const PairedDiff same = paired_accuracy_diff(a, a);
  EXPECT_DOUBLE_EQ(same.ci_low, 0.0);
  EXPECT_DOUBLE_EQ(same.ci_high, 0.0);
  // Every image lost: every resample's difference is -100.
  const PairedDiff lost = paired_accuracy_diff({1, 1, 1}, {0, 0, 0});
  EXPECT_DOUBLE_EQ(lost.ci_low, -100.0);
  EXPECT_DOUBLE_EQ(lost.ci_high, -100.0);
}

TEST(PairedDiff, BootstrapIsSeededAndBracketsTheDifference) {
  std::vector<uint8_t> a(200, 1), b(200, 1);
  for (int i = 0; i < 20; ++i) b[i * 10] = 0;  // 10 points lost
  const PairedDiff d1 = paired_accuracy_diff(a, b, 500, 0.95, 7);
  const PairedDiff d2 = paired_accuracy_diff(a, b, 500, 0.95, 7);
  EXPECT_DOUBLE_EQ(d1.diff_points, -10.0);
  EXPECT_EQ(d1.ci_low, d2.ci_low);
  EXPECT_EQ(d1.ci_high, d2.ci_high);
  EXPECT_LT(d1.ci_low, -10.0);
  EXPECT_GT(d1.ci_high, -10.0);
  // Binomial standard error sqrt(0.1 * 0.9 / 200) = 2.1 points: the 95% interval is ~ +-4.2.
  EXPECT_GT(d1.ci_low, -16.0);
  EXPECT_LT(d1.ci_high, -4.0);
}

TEST(Agreement, ShareOfSameLabels) {
  EXPECT_DOUBLE_EQ(agreement({1, 2, 3, 4}, {1, 2, 0, 4}), 0.75);
  EXPECT_DOUBLE_EQ(agreement({}, {}), 0.0);
}

TEST(Bimodal, TwoSeparatedClusters) {
  std::vector<double> v;
  for (int i = 0; i < 60; ++i) v.push_back(1.0 + 0.001 * (i % 5));
  for (int i = 0; i < 40; ++i) v.push_back(2.0 + 0.001 * (i % 5));
  const Bimodality b = detect_bimodal(v);
  EXPECT_TRUE(b.bimodal);
  EXPECT_NEAR(b.low_mean, 1.002, 1e-12);
  EXPECT_NEAR(b.high_mean, 2.002, 1e-12);
  EXPECT_DOUBLE_EQ(b.high_share, 0.4);
}

TEST(Bimodal, SpreadOrRareOutliersAreNotBimodal) {
  std::vector<double> uniform;
  for (int i = 0; i < 100; ++i) uniform.push_back(1.0 + 0.01 * i);
  EXPECT_FALSE(detect_bimodal(uniform).bimodal);
  std::vector<double> outliers(95, 1.0);
  for (int i = 0; i < 5; ++i) outliers.push_back(3.0);  // 5% < the 10% a cluster needs
  EXPECT_FALSE(detect_bimodal(outliers).bimodal);
  EXPECT_FALSE(detect_bimodal({1, 2, 1, 2}).bimodal);  // too few samples to tell
}
