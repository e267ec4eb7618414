#include "quant/calibrate.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

#include "core/error.h"
#include "core/limits.h"
#include "data/dataset.h"
#include "engine/engine.h"
#include "eval/evaluate.h"

namespace qbench::quant {

namespace {
// The most bytes of observed tensors one calibration batch may hold (see collect_statistics).
constexpr int64_t kCalibBatchBytes = int64_t(1) << 30;
}  // namespace

std::vector<int64_t> calibration_indices(int64_t count, int64_t size, uint32_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(count));
  std::iota(idx.begin(), idx.end(), 0);
  const int64_t n = std::min(count, size);
  std::mt19937_64 rng(seed);
  // Partial Fisher-Yates: the first n entries are a uniform sample without replacement.
  for (int64_t i = 0; i < n; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, count - 1);
    std::swap(idx[i], idx[pick(rng)]);
  }
  idx.resize(static_cast<size_t>(n));
  std::sort(idx.begin(), idx.end());
  return idx;
}

CalibStats collect_statistics(const ir::Graph& g, const std::vector<std::string>& tensors,
                              const CalibOptions& opts,
                              const std::map<std::string, int64_t>& channel_axes) {
  if (opts.data.empty()) fail("static quantization needs calibration data: give --calib-data");
  if (opts.size < 1) fail("--calib-size must be at least 1 (got {})", opts.size);
  if (opts.batch < 1) fail("--calib-batch must be at least 1 (got {})", opts.batch);
  const auto t0 = std::chrono::steady_clock::now();
  // The sampled images, gathered into a dataset of their own (file paths for an image folder,
  // decoded batch by batch).
  const data::Dataset ds = [&] {
    data::Dataset train = data::load_dataset(opts.data, data::Split::Train, opts.image);
    return data::subset(train, calibration_indices(train.count, opts.size, opts.seed));
  }();
  // The model with every observed tensor as an extra output.
  ir::Graph probe = g;
  std::vector<std::string> outputs;
  for (const auto& t : tensors) {
    const ir::Value* v = probe.find(t);
    if (!v) fail("cannot observe tensor '{}': the model has no value of that name", t);
    if (std::find(probe.outputs.begin(), probe.outputs.end(), t) == probe.outputs.end())
      probe.outputs.push_back(t);
  }
  eval::InputBinding bind = eval::bind_input(probe, ds);
  const data::Preprocess pp = eval::preprocess_for(probe, ds, opts.preprocess);
  engine::EngineOptions eo;
  eo.threads = opts.threads;
  // Every observed tensor is an output: a split batch would copy them once more to join the
  // parts, and the observers already use the threads (one tensor each).
  eo.split_batch = false;
  engine::Engine eng(probe, eo);
  std::vector<size_t> out_index;
  for (const auto& t : tensors) {
    const auto& outs = eng.graph().outputs;
    out_index.push_back(std::find(outs.begin(), outs.end(), t) - outs.begin());
  }
  CalibStats st;
  st.dataset = ds.name;
  for (const auto& t : tensors) {
    Observer& o = st.observers.emplace(t, Observer(opts.bins)).first->second;
    auto axis = channel_axes.find(t);
    if (axis != channel_axes.end()) o.track_channels(axis->second);
  }
  std::vector<Observer*> observers;
  for (const auto& t : tensors) observers.push_back(&st.observers.at(t));
  // A model with a fixed batch gets only whole batches of its size. Otherwise the batch is
  // capped so that the observed tensors of one batch, all held at once as outputs, stay within
  // kCalibBatchBytes (ResNet-50's take 69 MB per 224x224 image, 4.4 GB at batch 64): measured on
  // one image first, which is not observed.
  int64_t batch = bind.fixed_batch > 0 ? bind.fixed_batch : opts.batch;
  if (bind.fixed_batch == 0 && batch > 1 && ds.count > 1) {
    const std::vector<Tensor> one =
        eng.run({data::make_batch(ds, 0, 1, pp, bind.layout, bind.sample_shape)});
    int64_t per_image = 0;
    for (size_t k = 0; k < tensors.size(); ++k)
      per_image += static_cast<int64_t>(one.at(out_index[k]).nbytes());
    if (per_image > 0) batch = std::clamp(kCalibBatchBytes / per_image, int64_t(1), batch);
  }
  int64_t usable = ds.count;
  if (bind.fixed_batch > 0) {
    usable = ds.count / batch * batch;
    if (usable == 0)
      fail("the model's batch is fixed at {}: --calib-size must be at least that (got {})", batch,
           ds.count);
  }
  for (int64_t start = 0; start < usable; start += batch) {
    const int64_t n = std::min(batch, usable - start);
    Tensor x = data::make_batch(ds, start, n, pp, bind.layout, bind.sample_shape);
    std::vector<Tensor> outs = eng.run({x});
    for (size_t k = 0; k < tensors.size(); ++k)
      if (outs.at(out_index[k]).dtype() != DType::F32)
        fail("cannot calibrate tensor '{}': it holds {} data, not f32", tensors[k],
             dtype_name(outs.at(out_index[k]).dtype()));
    // The observers are independent: one tensor per thread (they are memory-bound passes over
    // every activation of the batch, as long as the inference that made them).
    std::vector<std::string> errors(tensors.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(static_cast<int>(opts.threads))
    for (size_t k = 0; k < tensors.size(); ++k) {
      try {
        observers[k]->observe(outs.at(out_index[k]));
      } catch (const Error& e) {
        errors[k] = e.what();
      }
    }
    for (size_t k = 0; k < tensors.size(); ++k)
      if (!errors[k].empty()) fail("tensor '{}': {}", tensors[k], errors[k]);
    st.images += n;
    if (opts.progress) opts.progress(st.images, usable);
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

}  // namespace qbench::quant
