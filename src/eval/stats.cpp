#include "eval/stats.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace qbench::eval {

double percentile_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double h = (static_cast<double>(sorted.size()) - 1) * std::clamp(p, 0.0, 100.0) / 100.0;
  const size_t lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

Summary summarize(std::vector<double> v) {
  Summary s;
  s.n = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0;
  s.p50 = percentile_sorted(v, 50);
  s.p90 = percentile_sorted(v, 90);
  s.p99 = percentile_sorted(v, 99);
  return s;
}

double mcnemar_exact_p(int64_t b, int64_t c) {
  const int64_t n = b + c;
  if (n == 0) return 1.0;
  const int64_t k_max = std::min(b, c);
  double tail = 0;
  if (n <= 1000) {
    // C(n, k) built up term by term stays exact for the small counts that matter and below
    // double's range for n <= 1000; ldexp divides by 2^n without rounding.
    long double comb = 1;
    for (int64_t k = 0; k <= k_max; ++k) {
      tail += static_cast<double>(std::ldexp(comb, static_cast<int>(-n)));
      comb = comb * static_cast<long double>(n - k) / static_cast<long double>(k + 1);
    }
    return std::min(1.0, 2.0 * tail);
  }
  // Large n: sum in log space so nothing overflows.
  const double log_half_n = static_cast<double>(n) * std::log(0.5);
  for (int64_t k = 0; k <= k_max; ++k) {
    const double log_c = std::lgamma(static_cast<double>(n) + 1) -
                         std::lgamma(static_cast<double>(k) + 1) -
                         std::lgamma(static_cast<double>(n - k) + 1);
    tail += std::exp(log_c + log_half_n);
  }
  return std::min(1.0, 2.0 * tail);
}

PairedDiff paired_accuracy_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b,
                                int resamples, double level, uint64_t seed) {
  PairedDiff d;
  const size_t n = std::min(a.size(), b.size());
  if (n == 0) return d;
  // Per image: +1 right in B only, -1 right in A only, 0 otherwise; the accuracy difference is
  // their mean, and a resample only needs these.
  std::vector<int8_t> delta(n);
  int64_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    delta[i] = static_cast<int8_t>((b[i] ? 1 : 0) - (a[i] ? 1 : 0));
    d.only_a += delta[i] < 0;
    d.only_b += delta[i] > 0;
    sum += delta[i];
  }
  d.diff_points = 100.0 * static_cast<double>(sum) / static_cast<double>(n);
  if (resamples <= 0) {
    d.ci_low = d.ci_high = d.diff_points;
    return d;
  }
  // mt19937_64 is specified exactly by the standard; the index is drawn with a plain modulo
  // (bias below 2^-40 for any dataset size) so results are identical on every platform.
  std::mt19937_64 rng(seed);
  std::vector<double> diffs(static_cast<size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    int64_t s = 0;
    for (size_t i = 0; i < n; ++i) s += delta[rng() % n];
    diffs[static_cast<size_t>(r)] = 100.0 * static_cast<double>(s) / static_cast<double>(n);
  }
  std::sort(diffs.begin(), diffs.end());
  d.ci_low = percentile_sorted(diffs, 100 * (1 - level) / 2);
  d.ci_high = percentile_sorted(diffs, 100 * (1 + level) / 2);
  return d;
}

double agreement(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  if (n == 0) return 0;
  size_t same = 0;
  for (size_t i = 0; i < n; ++i) same += a[i] == b[i];
  return static_cast<double>(same) / static_cast<double>(n);
}

Bimodality detect_bimodal(std::vector<double> v, double min_share) {
  Bimodality r;
  const size_t n = v.size();
  if (n < 10) return r;
  std::sort(v.begin(), v.end());
  std::vector<double> prefix(n + 1, 0), prefix_sq(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    prefix[i + 1] = prefix[i] + v[i];
    prefix_sq[i + 1] = prefix_sq[i] + v[i] * v[i];
  }
  const size_t min_count = std::max<size_t>(1, static_cast<size_t>(std::ceil(min_share * n)));
  double best = -1;
  size_t split = 0;
  for (size_t k = min_count; k + min_count <= n; ++k) {
    const double n1 = static_cast<double>(k), n2 = static_cast<double>(n - k);
    const double m1 = prefix[k] / n1, m2 = (prefix[n] - prefix[k]) / n2;
    const double between = n1 * n2 * (m2 - m1) * (m2 - m1);
    if (between > best) {
      best = between;
      split = k;
    }
  }
  if (split == 0) return r;
  auto stats = [&](size_t lo, size_t hi, double& mean, double& sd) {
    const double cnt = static_cast<double>(hi - lo);
    mean = (prefix[hi] - prefix[lo]) / cnt;
    sd = std::sqrt(std::max(0.0, (prefix_sq[hi] - prefix_sq[lo]) / cnt - mean * mean));
  };
  double m1, s1, m2, s2;
  stats(0, split, m1, s1);
  stats(split, n, m2, s2);
  r.low_mean = m1;
  r.high_mean = m2;
  r.high_share = static_cast<double>(n - split) / static_cast<double>(n);
  const double gap = m2 - m1;
  r.bimodal = gap > 0.05 * m1 && gap > 4 * std::max(s1, s2);
  return r;
}

}  // namespace qbench::eval
