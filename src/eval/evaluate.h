#pragma once
// Classification accuracy of a model on a dataset, run through the engine.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/engine.h"

namespace qbench::eval {

// How dataset images map onto the model's (first) input.
struct InputBinding {
  std::string name;
  data::Layout layout = data::Layout::NCHW;
  Shape sample_shape;       // shape of one sample, without the batch dimension
  int64_t fixed_batch = 0;  // > 0 when the model's batch dimension is fixed
};

// Checks that the dataset's images fit the model input (NCHW, NHWC, [N,H,W] for one channel,
// or flattened [N, C*H*W]); an Error names the model input, its shape and the image size.
InputBinding bind_input(const ir::Graph& g, const data::Dataset& ds);

// The model's own preprocessing (metadata_props qbench.mean / qbench.std), else ToTensor.
data::Preprocess model_preprocess(const ir::Graph& g);
// The preprocessing that feeds `ds` to `g`: `given` (--mean/--std) when set, else the model's
// own; none for npy tensors, which are fed as they are (an Error if `given` is set).
data::Preprocess preprocess_for(const ir::Graph& g, const data::Dataset& ds,
                                const std::optional<data::Preprocess>& given);

struct EvalOptions {
  int64_t batch = 64;
  int64_t limit = 0;  // 0: all images
};

struct EvalResult {
  int64_t n = 0;
  int64_t correct_top1 = 0;
  int64_t correct_top5 = 0;
  int64_t batch = 0;   // batch size actually used
  double seconds = 0;       // wall time of the engine runs (preprocessing excluded)
  double data_seconds = 0;  // decoding and preprocessing, on a second thread overlapping them
  double wall_seconds = 0;  // the whole evaluation
  std::vector<int32_t> predictions;
  double top1() const { return n ? double(correct_top1) / double(n) : 0.0; }
  double top5() const { return n ? double(correct_top5) / double(n) : 0.0; }
};

// The model input for images [start, start + count) of ds; a fixed-batch model (bind.fixed_batch)
// gets a full batch of `bind.fixed_batch` padded with copies of the last image.
Tensor input_batch(const data::Dataset& ds, const InputBinding& bind, const data::Preprocess& pp,
                   int64_t start, int64_t count);

// Runs the model over the dataset in batches; `progress(done, total)` is called after each batch.
EvalResult evaluate(engine::Engine& eng, const data::Dataset& ds, const data::Preprocess& pp,
                    const EvalOptions& opts,
                    const std::function<void(int64_t, int64_t)>& progress = {});

// Top-k membership of `label` among the logits of one sample (ties count against the label).
bool in_top_k(const float* logits, int64_t classes, int32_t label, int k);

}  // namespace qbench::eval
