#pragma once
// Calibration: runs the float model over images from the TRAIN split of a dataset (never the
// test split the model is evaluated on) and lets one observer per tensor collect statistics.
// Intermediate tensors are observed by compiling a copy of the graph whose extra outputs are
// the tensors to observe.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "ir/graph.h"
#include "quant/observer.h"

namespace qbench::quant {

struct CalibOptions {
  // Dataset spec as for eval (fashion-mnist, fashion-mnist:DIR, mnist:DIR, folder:DIR); its
  // train split.
  std::string data;
  // Resize and crop for folder datasets (eval's --resize/--crop).
  data::ImageOptions image;
  // Normalisation of the images, as evaluation will apply it (--mean/--std); default: the
  // model's qbench.mean/qbench.std metadata, else ToTensor alone.
  std::optional<data::Preprocess> preprocess;
  // Images drawn (without replacement, fixed seed) from the train split.
  int64_t size = 512;
  // Images per calibration inference, at most: smaller when the observed tensors of a batch
  // would take more than 1 GiB (they are all held at once).
  int64_t batch = 64;
  uint32_t seed = 20240601;
  int threads = 1;
  // Histogram bins per tensor.
  int bins = 2048;
  // Called after each calibration batch with (images done, images in all); none when empty.
  std::function<void(int64_t, int64_t)> progress;
};

struct CalibStats {
  std::map<std::string, Observer> observers;
  int64_t images = 0;
  double seconds = 0;   // wall time of loading, running and observing
  std::string dataset;  // the dataset's description
};

// Observes `tensors` (f32 values computed by g, or graph inputs) over the calibration images.
// Those in `channel_axes` also get their channel means along that axis (Observer::track_channels).
CalibStats collect_statistics(const ir::Graph& g, const std::vector<std::string>& tensors,
                              const CalibOptions& opts,
                              const std::map<std::string, int64_t>& channel_axes = {});

// The indices of `size` images drawn from `count` with the seed (sorted, deterministic).
std::vector<int64_t> calibration_indices(int64_t count, int64_t size, uint32_t seed);

}  // namespace qbench::quant
