#include "quant/observer.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace qbench::quant {

double Histogram::total() const {
  double t = 0;
  for (double c : counts) t += c;
  return t;
}

Observer::Observer(int bins) : bins_(bins) {
  if (bins < 1) fail("histogram bins must be at least 1 (got {})", bins);
  hist_.counts.assign(static_cast<size_t>(bins), 0.0);
}

void Observer::widen(float limit) {
  if (hist_.limit <= 0.0f) {
    hist_.limit = limit;
    return;
  }
  const double ow = hist_.bin_width();
  std::vector<double> old = std::move(hist_.counts);
  hist_.counts.assign(static_cast<size_t>(bins_), 0.0);
  hist_.limit = limit;
  const double nw = hist_.bin_width();
  for (size_t j = 0; j < old.size(); ++j) {
    if (old[j] == 0) continue;
    const double lo = double(j) * ow, hi = lo + ow;
    size_t k = std::min(static_cast<size_t>(lo / nw), old.size() - 1);
    for (; k < hist_.counts.size(); ++k) {
      const double blo = double(k) * nw, bhi = blo + nw;
      const double overlap = std::min(hi, bhi) - std::max(lo, blo);
      if (overlap > 0) hist_.counts[k] += old[j] * overlap / ow;
      if (bhi >= hi) break;
    }
  }
}

void Observer::observe(const float* data, int64_t n) {
  if (n <= 0) return;
  // min/max skip NaN silently, and a NaN histogram index is undefined: look for it first.
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i]))
      fail("calibration saw a non-finite value ({}) at element {} of {}", data[i], i, n);
  float lo = data[0], hi = data[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min(lo, data[i]);
    hi = std::max(hi, data[i]);
  }
  min_ = count_ ? std::min(min_, lo) : lo;
  max_ = count_ ? std::max(max_, hi) : hi;
  count_ += n;
  const float absmax = std::max(std::fabs(min_), std::fabs(max_));
  if (absmax > hist_.limit) widen(absmax);
  const double scale = hist_.limit > 0.0f ? double(bins_) / double(hist_.limit) : 0.0;
  for (int64_t i = 0; i < n; ++i) {
    if (data[i] == 0.0f) {
      hist_.zeros += 1.0;
      continue;
    }
    size_t b = static_cast<size_t>(std::fabs(data[i]) * scale);
    hist_.counts[std::min(b, static_cast<size_t>(bins_ - 1))] += 1.0;
  }
}

void Observer::observe(const Tensor& t) {
  if (t.dtype() != DType::F32)
    fail("only f32 tensors can be observed, got {}", dtype_name(t.dtype()));
  observe(t.data<float>(), t.numel());
}

void Observer::merge(const Observer& other) {
  if (other.bins_ != bins_) fail("cannot merge observers with {} and {} bins", bins_, other.bins_);
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  Observer o = other;
  const float limit = std::max(hist_.limit, o.hist_.limit);
  if (limit > hist_.limit) widen(limit);
  if (limit > o.hist_.limit) o.widen(limit);
  for (size_t k = 0; k < hist_.counts.size(); ++k) hist_.counts[k] += o.hist_.counts[k];
  hist_.zeros += o.hist_.zeros;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
  count_ += o.count_;
}

}  // namespace qbench::quant
