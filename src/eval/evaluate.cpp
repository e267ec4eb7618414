#include "eval/evaluate.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <future>

#include "core/error.h"

namespace qbench::eval {

InputBinding bind_input(const ir::Graph& g, const data::Dataset& ds) {
  if (g.inputs.empty()) fail("model has no runtime inputs to feed images to");
  const ir::Value& v = g.values.at(g.inputs[0]);
  InputBinding b;
  b.name = v.name;
  if (v.dtype != DType::F32 && v.dtype != DType::Undefined)
    fail("model input '{}' takes {} data; image classification needs a float input", v.name,
         dtype_name(v.dtype));
  if (!v.dims) fail("model input '{}' has no shape; cannot feed images to it", v.name);
  const auto& d = *v.dims;
  auto dim_is = [&](size_t i, int64_t n) { return !d[i].known() || d[i].value == n; };
  if (ds.raw()) {
    // Tensors: the model's input is [batch] + the sample's shape, or [batch, sample size].
    bool same = d.size() == ds.sample.size() + 1;
    for (size_t i = 0; same && i < ds.sample.size(); ++i) same = dim_is(i + 1, ds.sample[i]);
    if (same) {
      b.layout = data::Layout::Flat;
      b.sample_shape = ds.sample;
    } else if (d.size() == 2 && dim_is(1, ds.channels)) {
      b.layout = data::Layout::Flat;
      b.sample_shape = {ds.channels};
    } else {
      fail("dataset {} has samples of shape {} but model input '{}' expects {}", ds.name,
           shape_str(ds.sample), v.name, ir::dims_str(d));
    }
    if (d[0].known()) b.fixed_batch = d[0].value;
    return b;
  }
  const int64_t c = ds.channels, h = ds.height, w = ds.width;
  bool ok = false;
  if (d.size() == 4 && dim_is(1, c) && dim_is(2, h) && dim_is(3, w)) {
    b.layout = data::Layout::NCHW;
    b.sample_shape = {c, h, w};
    ok = true;
  } else if (d.size() == 4 && dim_is(1, h) && dim_is(2, w) && dim_is(3, c)) {
    b.layout = data::Layout::NHWC;
    b.sample_shape = {h, w, c};
    ok = true;
  } else if (d.size() == 3 && c == 1 && dim_is(1, h) && dim_is(2, w)) {
    b.sample_shape = {h, w};
    ok = true;
  } else if (d.size() == 2 && dim_is(1, c * h * w)) {
    b.layout = data::Layout::Flat;
    b.sample_shape = {c * h * w};
    ok = true;
  }
  if (!ok)
    fail("dataset {} has {}x{}x{} images (CxHxW) but model input '{}' expects {}{}", ds.name, c, h,
         w, v.name, ir::dims_str(d),
         ds.lazy() ? "; image folders give 3 x CROP x CROP images (1 x ... with --grayscale): "
                     "set --crop (and --resize, --grayscale)"
                   : "");
  if (d[0].known()) b.fixed_batch = d[0].value;
  return b;
}

data::Preprocess model_preprocess(const ir::Graph& g) {
  data::Preprocess pp;
  std::string mean = g.metadata_value("qbench.mean"), std = g.metadata_value("qbench.std");
  if (mean.empty() && std.empty()) return pp;
  if (!mean.empty()) pp.mean = data::parse_floats(mean, "model metadata qbench.mean");
  if (!std.empty()) pp.std = data::parse_floats(std, "model metadata qbench.std");
  pp.source = "model metadata";
  return pp;
}

data::Preprocess preprocess_for(const ir::Graph& g, const data::Dataset& ds,
                                const std::optional<data::Preprocess>& given) {
  if (ds.raw()) {
    if (given)
      fail("--mean/--std do not apply to {}: its tensors are fed to the model as they are",
           ds.name);
    data::Preprocess none;
    none.source = "none (npy tensors as they are)";
    return none;
  }
  return given ? *given : model_preprocess(g);
}

bool in_top_k(const float* logits, int64_t classes, int32_t label, int k) {
  if (label < 0 || label >= classes) return false;
  const float v = logits[label];
  if (std::isnan(v)) return false;  // compares false with everything: it would always "win"
  int64_t better = 0;
  for (int64_t j = 0; j < classes; ++j)
    if (logits[j] > v || (logits[j] == v && j < label)) better++;
  return better < k;
}

Tensor input_batch(const data::Dataset& ds, const InputBinding& bind, const data::Preprocess& pp,
                   int64_t start, int64_t count) {
  Tensor x = data::make_batch(ds, start, count, pp, bind.layout, bind.sample_shape);
  if (bind.fixed_batch <= 0 || count >= bind.fixed_batch) return x;
  Shape s = x.shape();
  s[0] = bind.fixed_batch;
  Tensor full(DType::F32, s);
  const size_t per = x.nbytes() / count;
  std::memcpy(full.raw(), x.raw(), x.nbytes());
  for (int64_t i = count; i < bind.fixed_batch; ++i)
    std::memcpy(static_cast<char*>(full.raw()) + i * per,
                static_cast<char*>(x.raw()) + (count - 1) * per, per);
  return full;
}

EvalResult evaluate(engine::Engine& eng, const data::Dataset& ds, const data::Preprocess& pp,
                    const EvalOptions& opts,
                    const std::function<void(int64_t, int64_t)>& progress) {
  InputBinding bind = bind_input(eng.graph(), ds);
  for (const auto* v : {&pp.mean, &pp.std})
    if (!ds.raw() && v->size() != 1 && static_cast<int64_t>(v->size()) != ds.channels)
      fail("preprocessing has {} mean/std values but the images have {} channels", v->size(),
           ds.channels);
  if (opts.batch < 1) fail("--batch must be at least 1 (got {})", opts.batch);
  const int64_t total = opts.limit > 0 ? std::min(opts.limit, ds.count) : ds.count;
  const int64_t batch = bind.fixed_batch > 0 ? bind.fixed_batch : opts.batch;
  EvalResult r;
  r.batch = batch;
  r.predictions.reserve(total);
  // Batch k+1 is decoded and preprocessed on a second thread while the engine runs batch k.
  struct Prepared {
    Tensor x;
    int64_t count = 0;
    double seconds = 0;
  };
  auto prepare = [&](int64_t start) {
    auto t0 = std::chrono::steady_clock::now();
    Prepared p;
    p.count = std::min(batch, total - start);
    p.x = input_batch(ds, bind, pp, start, p.count);
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return p;
  };
  const auto wall0 = std::chrono::steady_clock::now();
  std::future<Prepared> next;
  if (total > 0) next = std::async(std::launch::async, prepare, int64_t(0));
  for (int64_t start = 0; start < total; start += batch) {
    Prepared cur = next.get();
    r.data_seconds += cur.seconds;
    if (start + batch < total) next = std::async(std::launch::async, prepare, start + batch);
    const int64_t count = cur.count;
    const Tensor& x = cur.x;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<Tensor> outs = eng.run({x});
    r.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Tensor& y = outs.at(0);
    if (y.dtype() != DType::F32 || y.rank() != 2 || y.dim(0) != x.dim(0))
      fail("model output '{}' is {} {}; a classifier should give f32 [batch, classes]",
           eng.graph().outputs[0], dtype_name(y.dtype()), shape_str(y.shape()));
    const int64_t classes = y.dim(1);
    if (classes < ds.num_classes)
      fail("model output '{}' has {} classes but the dataset has {}", eng.graph().outputs[0],
           classes, ds.num_classes);
    const float* p = y.data<float>();
    for (int64_t i = 0; i < count; ++i) {
      const float* row = p + i * classes;
      // A NaN logit never wins (the first non-NaN class starts the search).
      int32_t best = 0;
      while (best + 1 < classes && std::isnan(row[best])) ++best;
      for (int64_t j = best + 1; j < classes; ++j)
        if (row[j] > row[best]) best = static_cast<int32_t>(j);
      int32_t label = ds.labels[start + i];
      r.predictions.push_back(best);
      r.correct_top1 += best == label;
      r.correct_top5 += in_top_k(row, classes, label, 5);
    }
    r.n += count;
    if (progress) progress(r.n, total);
  }
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return r;
}

}  // namespace qbench::eval
