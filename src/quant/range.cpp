#include "quant/range.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/qmath.h"

namespace qbench::quant {

const char* range_method_name(RangeMethod m) {
  switch (m) {
    case RangeMethod::MinMax:
      return "minmax";
    case RangeMethod::Percentile:
      return "percentile";
    case RangeMethod::Entropy:
      return "entropy";
    case RangeMethod::Mse:
      return "mse";
  }
  return "?";
}

RangeMethod parse_range_method(const std::string& s) {
  for (RangeMethod m :
       {RangeMethod::MinMax, RangeMethod::Percentile, RangeMethod::Entropy, RangeMethod::Mse})
    if (s == range_method_name(m)) return m;
  fail("unknown range method '{}' (expected minmax, percentile, entropy or mse)", s);
}

double positive_steps(const Observer& obs, ActType act) {
  if (act == ActType::S8Symmetric) return 127.0;
  return obs.min() >= 0.0f ? 255.0 : 127.5;
}

double percentile_threshold(const Histogram& h, double percent) {
  const double total = h.total() + h.zeros;
  if (total <= 0) return 0.0;
  const double target = std::clamp(percent, 0.0, 100.0) / 100.0 * total;
  const double w = h.bin_width();
  double cum = h.zeros;
  if (cum >= target) return 0.0;
  for (size_t j = 0; j < h.counts.size(); ++j) {
    const double c = h.counts[j];
    if (c > 0 && cum + c >= target) return (double(j) + (target - cum) / c) * w;
    cum += c;
  }
  return h.limit;
}

namespace {

// KL(p || q) of two unnormalized distributions over the same bins. Bins where q is 0 but p is
// not get a small epsilon (TensorRT's smoothing), so the divergence stays finite.
double kl_divergence(const std::vector<double>& p, std::vector<double> q) {
  constexpr double kEps = 1e-4;
  double ps = 0, qs = 0;
  for (double v : p) ps += v;
  for (size_t i = 0; i < q.size(); ++i) {
    if (p[i] > 0 && q[i] <= 0) q[i] = kEps;
    qs += q[i];
  }
  if (ps <= 0 || qs <= 0) return 0.0;
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    const double pi = p[i] / ps, qi = q[i] / qs;
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

}  // namespace

double entropy_threshold(const Histogram& h, int quant_bins) {
  const int n = static_cast<int>(h.counts.size());
  const double w = h.bin_width();
  if (quant_bins < 1 || n <= quant_bins) return h.limit;
  // The last bin that holds anything: thresholds beyond it clip nothing.
  int last = n;
  while (last > 0 && h.counts[last - 1] == 0) --last;
  if (last <= quant_bins) return double(std::max(last, 1)) * w;
  double best_kl = std::numeric_limits<double>::infinity();
  int best_i = last;
  std::vector<double> p, q;
  for (int i = quant_bins; i <= last; ++i) {
    p.assign(h.counts.begin(), h.counts.begin() + i);
    double outliers = 0;
    for (int j = i; j < n; ++j) outliers += h.counts[j];
    p[i - 1] += outliers;
    // Quantize the unclipped slice into quant_bins levels, then expand each level back over
    // the bins it merged that are non-empty in p (TensorRT's is_nonzeros).
    q.assign(static_cast<size_t>(i), 0.0);
    const double merged = double(i) / double(quant_bins);
    for (int b = 0; b < quant_bins; ++b) {
      const int start = static_cast<int>(std::floor(b * merged));
      const int stop = b == quant_bins - 1 ? i : static_cast<int>(std::floor((b + 1) * merged));
      double sum = 0;
      int nonzero = 0;
      for (int j = start; j < stop; ++j) {
        sum += h.counts[j];
        nonzero += p[j] != 0;
      }
      if (nonzero == 0) continue;
      for (int j = start; j < stop; ++j)
        if (p[j] != 0) q[j] = sum / nonzero;
    }
    const double kl = kl_divergence(p, q);
    if (kl < best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  return double(best_i) * w;
}

double mse_threshold(const Histogram& h, double steps) {
  const int n = static_cast<int>(h.counts.size());
  const double w = h.bin_width();
  if (n == 0 || w <= 0) return h.limit;
  double best = std::numeric_limits<double>::infinity();
  int best_i = n;
  for (int i = 1; i <= n; ++i) {
    const double t = double(i) * w;
    const double step = t / steps;
    double err = 0;
    for (int j = 0; j < n; ++j) {
      const double c = h.counts[j];
      if (c == 0) continue;
      const double centre = (double(j) + 0.5) * w;
      err += c * (j < i ? step * step / 12.0 : (centre - t) * (centre - t));
    }
    if (err < best) {
      best = err;
      best_i = i;
    }
  }
  return double(best_i) * w;
}

Range compute_range(const Observer& obs, const RangeOptions& opts, ActType act) {
  Range r{obs.min(), obs.max()};
  if (opts.method == RangeMethod::MinMax || obs.histogram().limit <= 0.0f) return r;
  double t = obs.histogram().limit;
  const double steps = positive_steps(obs, act);
  switch (opts.method) {
    case RangeMethod::Percentile:
      t = percentile_threshold(obs.histogram(), opts.percentile);
      break;
    case RangeMethod::Entropy:
      t = entropy_threshold(obs.histogram(), static_cast<int>(std::lround(steps)));
      break;
    case RangeMethod::Mse:
      t = mse_threshold(obs.histogram(), steps);
      break;
    case RangeMethod::MinMax:
      break;
  }
  const float tf = static_cast<float>(t);
  r.min = std::max(r.min, -tf);
  r.max = std::min(r.max, tf);
  return r;
}

QParams activation_qparams(Range r, ActType act) {
  const float lo = std::min(r.min, 0.0f), hi = std::max(r.max, 0.0f);
  QParams q;
  if (act == ActType::S8Symmetric) {
    const float absmax = std::max(std::fabs(lo), std::fabs(hi));
    q.is_signed = true;
    q.scale = absmax > 0 ? absmax / 127.0f : 1.0f;
    q.zero_point = 0;
    return q;
  }
  q.scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  q.zero_point = quantize_value(-lo, q.scale, 0, 0, 255);
  return q;
}

}  // namespace qbench::quant
