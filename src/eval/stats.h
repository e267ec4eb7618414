#pragma once
// Statistics for benchmark results: latency summaries and the paired tests that say whether a
// quantized variant's accuracy really differs from FP32's on the same images.
#include <cstdint>
#include <vector>

namespace qbench::eval {

// The p-th percentile (p in [0, 100]) of `sorted` (ascending), interpolating linearly between
// the closest ranks (numpy's default): h = (n - 1) p / 100, x[floor h] + (h - floor h) *
// (x[floor h + 1] - x[floor h]). 0 for an empty vector.
double percentile_sorted(const std::vector<double>& sorted, double p);

struct Summary {
  int64_t n = 0;
  double min = 0, max = 0, mean = 0;
  double stddev = 0;  // sample standard deviation (n - 1 in the denominator)
  double p50 = 0, p90 = 0, p99 = 0;
  double cv() const { return mean > 0 ? stddev / mean : 0; }
};

Summary summarize(std::vector<double> samples);

// McNemar's exact test on paired binary outcomes: b and c are the discordant pairs (right in A
// and wrong in B, and the reverse). Under H0 the b of n = b + c discordant pairs is
// Binomial(n, 1/2); the two-sided p-value is min(1, 2 * P(X <= min(b, c))). 1 when n = 0.
double mcnemar_exact_p(int64_t b, int64_t c);

// Difference of accuracy (B minus A, in percentage points) with a paired bootstrap confidence
// interval: images are resampled with replacement (the same draw for both), `resamples` times,
// with a fixed seed; the interval is the (1-level)/2 and (1+level)/2 percentiles.
struct PairedDiff {
  double diff_points = 0;
  double ci_low = 0, ci_high = 0;
  int64_t only_a = 0;  // b: right in A only
  int64_t only_b = 0;  // c: right in B only
};

PairedDiff paired_accuracy_diff(const std::vector<uint8_t>& correct_a,
                                const std::vector<uint8_t>& correct_b, int resamples = 1000,
                                double level = 0.95, uint64_t seed = 20240601);

// Share of positions where the two label vectors agree (over the shorter length).
double agreement(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

// Whether a sample set looks like two separated clusters (common with 2 threads on 2 vCPUs):
// the split of the sorted samples that maximises the between-cluster variance (Otsu) leaves at
// least `min_share` of the samples on each side, the gap between the cluster means is more than
// 5% of the lower mean and more than four times the larger within-cluster deviation.
struct Bimodality {
  bool bimodal = false;
  double low_mean = 0, high_mean = 0;
  double high_share = 0;  // share of the samples in the upper cluster
};

Bimodality detect_bimodal(std::vector<double> samples, double min_share = 0.1);

}  // namespace qbench::eval
