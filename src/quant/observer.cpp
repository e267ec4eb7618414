#include "quant/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

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
  // One vectorised pass for the range and for any non-finite value (min/max would skip NaN
  // silently, and a NaN histogram index is undefined); the element is found only on failure.
  float lo = data[0], hi = data[0];
  int bad = 0;
#pragma omp simd reduction(min : lo) reduction(max : hi) reduction(| : bad)
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, data[i]);
    hi = std::max(hi, data[i]);
    bad |= !(std::fabs(data[i]) <= std::numeric_limits<float>::max());
  }
  if (bad)
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(data[i]))
        fail("calibration saw a non-finite value ({}) at element {} of {}", data[i], i, n);
  min_ = count_ ? std::min(min_, lo) : lo;
  max_ = count_ ? std::max(max_, hi) : hi;
  count_ += n;
  const float absmax = std::max(std::fabs(min_), std::fabs(max_));
  if (absmax > hist_.limit) widen(absmax);
  if (hist_.limit <= 0.0f) {  // every value so far is 0
    hist_.zeros += double(n);
    return;
  }
  // Integer counts in four interleaved copies (consecutive values often share a bin, and one
  // copy would make each increment wait for the last), added into the double counts at the end.
  // Bin 0 of copy 0 stands apart for exact zeros.
  const double scale = double(bins_) / double(hist_.limit);
  const int64_t top = bins_ - 1;
  std::vector<uint32_t> local(4 * size_t(bins_) + 1, 0);
  uint32_t* h = local.data() + 1;
  uint64_t zeros = 0;
  for (int64_t start = 0; start < n; start += int64_t(1) << 30) {  // uint32 counts cannot wrap
    const int64_t end = std::min(n, start + (int64_t(1) << 30));
    for (int64_t i = start; i < end; ++i) {
      const float a = std::fabs(data[i]);
      zeros += a == 0.0f;
      const int64_t b = std::min(static_cast<int64_t>(double(a) * scale), top);
      h[(i & 3) * bins_ + b] += a != 0.0f;
    }
    for (int64_t b = 0; b < bins_; ++b) {
      hist_.counts[size_t(b)] +=
          double(h[b]) + double(h[bins_ + b]) + double(h[2 * bins_ + b]) + double(h[3 * bins_ + b]);
      h[b] = h[bins_ + b] = h[2 * bins_ + b] = h[3 * bins_ + b] = 0;
    }
  }
  hist_.zeros += double(zeros);
}

void Observer::observe(const Tensor& t) {
  if (t.dtype() != DType::F32)
    fail("only f32 tensors can be observed, got {}", dtype_name(t.dtype()));
  observe(t.data<float>(), t.numel());
  if (channel_axis_ < 0 || t.numel() == 0) return;
  if (channel_axis_ >= t.rank())
    fail("channel axis {} of a rank-{} tensor {}", channel_axis_, t.rank(), shape_str(t.shape()));
  const int64_t channels = t.dim(channel_axis_);
  if (channel_sum_.empty()) {
    channel_sum_.assign(size_t(channels), 0.0);
    channel_absmax_.assign(size_t(channels), 0.0f);
  }
  if (int64_t(channel_sum_.size()) != channels)
    fail("the tensor had {} channels and now has {} ({})", channel_sum_.size(), channels,
         shape_str(t.shape()));
  int64_t inner = 1;
  for (int64_t d = channel_axis_ + 1; d < t.rank(); ++d) inner *= t.dim(d);
  const int64_t outer = t.numel() / (channels * inner);
  const float* x = t.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      const float* row = x + (o * channels + c) * inner;
      double s = 0;
      float m = channel_absmax_[size_t(c)];
      for (int64_t i = 0; i < inner; ++i) {
        s += row[i];
        m = std::max(m, std::fabs(row[i]));
      }
      channel_sum_[size_t(c)] += s;
      channel_absmax_[size_t(c)] = m;
    }
  per_channel_ += outer * inner;
}

void Observer::track_channels(int64_t axis) {
  if (axis < 0) fail("channel axis must be >= 0 (got {})", axis);
  if (count_) fail("channel tracking must start before the first observation");
  channel_axis_ = axis;
}

std::vector<double> Observer::channel_means() const {
  std::vector<double> m(channel_sum_.size());
  for (size_t c = 0; c < m.size(); ++c) m[c] = channel_sum_[c] / double(per_channel_);
  return m;
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
  if (o.channel_axis_ != channel_axis_)
    fail("cannot merge observers tracking channels along different axes");
  if (channel_sum_.empty()) {
    channel_sum_.assign(o.channel_sum_.size(), 0.0);
    channel_absmax_.assign(o.channel_sum_.size(), 0.0f);
  }
  if (o.channel_sum_.size() != channel_sum_.size())
    fail("cannot merge observers of {} and {} channels", channel_sum_.size(), o.channel_sum_.size());
  for (size_t c = 0; c < channel_sum_.size(); ++c) {
    channel_sum_[c] += o.channel_sum_[c];
    channel_absmax_[c] = std::max(channel_absmax_[c], o.channel_absmax_[c]);
  }
  per_channel_ += o.per_channel_;
}

}  // namespace qbench::quant
