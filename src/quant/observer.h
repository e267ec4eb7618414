#pragma once
// Observers collect statistics of one tensor over calibration batches: its min and max, and a
// histogram of |x| that range methods (quant/range.h) turn into a clipping range. Observers of
// the same tensor merge, so batches can be observed separately (or on several threads).
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace qbench::quant {

// Counts of |x| in `counts.size()` equal bins covering [0, limit]. Exact zeros are counted apart
// (`zeros`): every encoding represents 0 exactly, so they carry no quantization error, and after
// a Relu they would otherwise dominate the first bin and bias entropy calibration.
struct Histogram {
  float limit = 0.0f;
  std::vector<double> counts;
  double zeros = 0;
  double bin_width() const { return counts.empty() ? 0.0 : double(limit) / double(counts.size()); }
  // Counted values, exact zeros excluded.
  double total() const;
};

class Observer {
 public:
  // 2048 bins by default: fine enough that entropy and MSE clipping differ from min/max.
  explicit Observer(int bins = 2048);
  void observe(const float* data, int64_t n);
  // The tensor must be f32.
  void observe(const Tensor& t);
  // Adds another observer's statistics (same number of bins).
  void merge(const Observer& other);
  // Also follows each index along `axis` (the channels), for channel_means() and
  // channel_absmax(); set before the first observe(). Bias correction reads the means of the
  // layers' inputs, SmoothQuant their largest magnitudes.
  void track_channels(int64_t axis);
  // The mean and the largest |x| of each channel (empty unless tracked and observed).
  std::vector<double> channel_means() const;
  const std::vector<float>& channel_absmax() const { return channel_absmax_; }

  int64_t count() const { return count_; }
  float min() const { return min_; }
  float max() const { return max_; }
  const Histogram& histogram() const { return hist_; }

 private:
  // Widens the histogram to [0, limit], spreading each old bin's count over the new bins it
  // overlaps in proportion (exact when values are uniform within a bin).
  void widen(float limit);

  int bins_;
  int64_t channel_axis_ = -1;
  std::vector<double> channel_sum_;
  std::vector<float> channel_absmax_;
  int64_t per_channel_ = 0;  // values seen in each channel
  int64_t count_ = 0;
  float min_ = 0.0f, max_ = 0.0f;
  Histogram hist_;
};

}  // namespace qbench::quant
