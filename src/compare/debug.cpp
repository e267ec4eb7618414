#include "compare/debug.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "engine/engine.h"
#include "eval/evaluate.h"
#include "kernels/kernel.h"
#include "quant/calibrate.h"

namespace qbench::compare {

void Sqnr::add(const float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(x[i]) - double(y[i]);
    signal += double(x[i]) * double(x[i]);
    noise += d * d;
  }
}

double Sqnr::db() const {
  if (noise == 0) return kNoError;
  if (signal == 0) return -kNoError;
  return 10.0 * std::log10(signal / noise);
}

namespace {

// The elements of a batch output that belong to the `count` real images (a fixed-batch model
// pads the last batch).
int64_t used_elements(const Tensor& t, int64_t count) {
  if (t.rank() == 0 || t.dim(0) <= count) return t.numel();
  return t.numel() / t.dim(0) * count;
}

// The graph with `extra` appended to its outputs; returns each extra's output index.
std::vector<size_t> add_outputs(ir::Graph& g, const std::vector<std::string>& extra) {
  std::vector<size_t> idx;
  for (const auto& t : extra) {
    auto it = std::find(g.outputs.begin(), g.outputs.end(), t);
    if (it == g.outputs.end()) {
      g.outputs.push_back(t);
      it = g.outputs.end() - 1;
    }
    idx.push_back(static_cast<size_t>(it - g.outputs.begin()));
  }
  return idx;
}

// How a tensor was quantized: its QuantizeLinear's output and parameters.
struct QuantizedTensor {
  std::string q_output;
  float scale = 1;
  int32_t zero_point = 0;
  int32_t lo = 0, hi = 255;
};

std::map<std::string, QuantizedTensor> quantized_tensors(const ir::Graph& g) {
  std::map<std::string, QuantizedTensor> m;
  for (const auto& n : g.nodes) {
    if (n.op_type != "QuantizeLinear" || !n.domain.empty() || n.inputs.size() < 2) continue;
    const Tensor* s = g.constant(n.inputs[1]);
    const Tensor* z = n.has_input(2) ? g.constant(n.inputs[2]) : nullptr;
    if (!s || s->numel() != 1 || s->dtype() != DType::F32) continue;  // per-axis: a weight
    QuantizedTensor q;
    q.q_output = n.outputs[0];
    q.scale = s->data<float>()[0];
    if (z && z->dtype() == DType::I8) {
      q.zero_point = z->data<int8_t>()[0];
      q.lo = -128;
      q.hi = 127;
    } else if (z) {
      q.zero_point = z->data<uint8_t>()[0];
    }
    m[n.inputs[0]] = q;
  }
  return m;
}

int32_t int_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::I8 ? int32_t(t.data<int8_t>()[i]) : int32_t(t.data<uint8_t>()[i]);
}

void argmax_rows(const Tensor& y, int64_t count, std::vector<int32_t>& out) {
  const int64_t classes = y.dim(1);
  for (int64_t i = 0; i < count; ++i) {
    const float* row = y.data<float>() + i * classes;
    int32_t best = 0;
    while (best + 1 < classes && std::isnan(row[best])) ++best;
    for (int64_t j = best + 1; j < classes; ++j)
      if (row[j] > row[best]) best = static_cast<int32_t>(j);
    out.push_back(best);
  }
}

double top1_of(const std::vector<int32_t>& pred, const std::vector<int32_t>& labels) {
  int64_t ok = 0;
  for (size_t i = 0; i < pred.size(); ++i) ok += pred[i] == labels[i];
  return pred.empty() ? 0.0 : double(ok) / double(pred.size());
}

// The weights' SQNR: each int8 constant a DequantizeLinear turns into the node's input, against
// the FP32 weight the prepared model has there.
double weight_sqnr(const ir::Graph& q, const ir::Graph& prepared, const std::string& name) {
  const ir::Node* qn = nullptr;
  const ir::Node* fn = nullptr;
  for (const auto& n : q.nodes)
    if (n.name == name) qn = &n;
  for (const auto& n : prepared.nodes)
    if (n.name == name) fn = &n;
  if (!qn || !fn) return std::numeric_limits<double>::quiet_NaN();
  auto producers = q.producers();
  Sqnr s;
  for (size_t k = 0; k < qn->inputs.size() && k < fn->inputs.size(); ++k) {
    auto p = producers.find(qn->inputs[k]);
    const Tensor* w = prepared.constant(fn->inputs[k]);
    if (p == producers.end() || !w || w->dtype() != DType::F32) continue;
    const ir::Node& dq = q.nodes[p->second];
    if (dq.op_type != "DequantizeLinear" || dq.inputs.empty()) continue;
    const Tensor* wq = q.constant(dq.inputs[0]);
    if (!wq || (wq->dtype() != DType::I8 && wq->dtype() != DType::U8)) continue;  // int32 bias
    std::vector<const Tensor*> in;
    for (const auto& i : dq.inputs) in.push_back(i.empty() ? nullptr : q.constant(i));
    if (std::find(in.begin(), in.end(), nullptr) != in.end()) continue;
    Tensor f = kernels::run_reference(dq, q.opset(), in)[0];
    if (f.numel() != w->numel()) continue;
    s.add(w->data<float>(), f.data<float>(), w->numel());
  }
  return s.signal == 0 && s.noise == 0 ? std::numeric_limits<double>::quiet_NaN() : s.db();
}

// Removes a temporary file when the debug run ends, however it ends.
struct TempFile {
  std::string path;
  ~TempFile() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove(path, ec);
  }
};

}  // namespace

DebugReport debug_quantization(const ir::Graph& model_in, const std::string& model_name,
                               const DebugOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  auto say = [&](const std::string& s) {
    if (o.progress) o.progress(s);
  };
  if (!quant::is_static_int8(o.quant.recipe))
    fail(
        "debug studies the static-int8 recipes (static-int8, static-int8-rr), not {}: the "
        "others have no calibrated activations to inspect",
        quant::recipe_name(o.quant.recipe));
  if (o.images < 1) fail("--images must be at least 1 (got {})", o.images);
  if (o.batch < 1) fail("--batch must be at least 1 (got {})", o.batch);
  const ir::Graph& model = model_in;

  DebugReport r;
  r.model = model_name;
  r.recipe = quant::recipe_name(o.quant.recipe);
  data::Dataset all = data::load_dataset(o.data, data::Split::Test, o.image);
  const data::Dataset ds = data::subset(
      all, quant::calibration_indices(all.count, std::min(o.images, all.count), o.seed));
  r.dataset = all.name;
  r.images = ds.count;
  const data::Preprocess pp = eval::preprocess_for(model, ds, o.preprocess);

  // The whole recipe once; its calibration table serves every variant after it.
  TempFile tmp;
  quant::QuantizeOptions qo = o.quant;
  std::string table = qo.calib_table;
  if (table.empty()) {
    static int counter = 0;
    tmp.path = (std::filesystem::temp_directory_path() /
                fmt::format("qbench-debug-{}-{}.calib", getpid(), counter++))
                   .string();
    table = tmp.path;
    qo.calib_table = table;
  }
  say("quantizing the whole model");
  quant::QuantizeResult full = quant::quantize(model, qo);
  r.calib_source = full.calib_source;
  // Equalization and SmoothQuant rescale channels of the float model's tensors: compare with the
  // float model as the variant rewrote it (the same function, the same tensor names).
  const ir::Graph prepared = full.float_graph;
  if (full.quantized_nodes.empty()) fail("{}: the recipe quantizes no node", model_name);

  const auto qt = quantized_tensors(full.graph);
  std::vector<std::string> f_extra, q_extra;
  std::vector<int> probe;  // layer -> index into f_extra/q_extra, -1 without a quantized output
  for (const auto& n : full.quantized_nodes) {
    LayerDebug l;
    l.name = n.name;
    l.op_type = n.op_type;
    l.weight_sqnr = weight_sqnr(full.graph, prepared, n.name);
    auto it = n.output.empty() ? qt.end() : qt.find(n.output);
    if (it == qt.end() || !prepared.find(n.output)) {
      probe.push_back(-1);
    } else {
      l.tensor = n.output;
      l.range_source = n.range_source;
      const QuantizedTensor& q = it->second;
      l.qmin = float(q.lo - q.zero_point) * q.scale;
      l.qmax = float(q.hi - q.zero_point) * q.scale;
      probe.push_back(static_cast<int>(f_extra.size()));
      f_extra.push_back(n.output);
      q_extra.push_back(q.q_output);
    }
    r.layers.push_back(l);
  }

  engine::EngineOptions eo;
  eo.threads = o.threads;
  ir::Graph fg = prepared, qg = full.graph;
  const auto f_idx = add_outputs(fg, f_extra);
  const auto q_idx = add_outputs(qg, q_extra);
  engine::Engine fe(fg, eo), qe(qg, eo);
  const eval::InputBinding bind = eval::bind_input(prepared, ds);
  const int64_t batch = bind.fixed_batch > 0 ? bind.fixed_batch : o.batch;
  // The sample, decoded and preprocessed once: every pass and variant runs the same batches.
  std::vector<Tensor> inputs;
  std::vector<int64_t> counts;
  for (int64_t start = 0; start < ds.count; start += batch) {
    counts.push_back(std::min(batch, ds.count - start));
    inputs.push_back(eval::input_batch(ds, bind, pp, start, counts.back()));
  }

  // Pass 1: the FP32 model and the whole quantized model side by side.
  say(fmt::format("running FP32 and {} on {} images", r.recipe, ds.count));
  const size_t L = f_extra.size();
  std::vector<Sqnr> own(L), inside(L);
  std::vector<int64_t> clipped(L, 0), seen(L, 0);
  std::vector<float> lo(L, INFINITY), hi(L, -INFINITY);
  std::vector<int32_t> f_pred, q_pred;
  std::vector<float> f_logits;
  Sqnr logits;
  int64_t classes = 0;
  std::vector<float> deq, fq;
  for (size_t b = 0; b < inputs.size(); ++b) {
    const int64_t count = counts[b];
    std::vector<Tensor> fo = fe.run({inputs[b]}), qo_ = qe.run({inputs[b]});
    const Tensor& fy = fo.at(0);
    const Tensor& qy = qo_.at(0);
    if (fy.dtype() != DType::F32 || fy.rank() != 2 || qy.shape() != fy.shape())
      fail("model output '{}' is {} {}; debug needs a classifier's f32 [batch, classes]",
           prepared.outputs[0], dtype_name(fy.dtype()), shape_str(fy.shape()));
    classes = fy.dim(1);
    argmax_rows(fy, count, f_pred);
    argmax_rows(qy, count, q_pred);
    logits.add(fy.data<float>(), qy.data<float>(), count * classes);
    f_logits.insert(f_logits.end(), fy.data<float>(), fy.data<float>() + count * classes);
    for (size_t k = 0; k < L; ++k) {
      const Tensor& a = fo.at(f_idx[k]);
      const Tensor& b = qo_.at(q_idx[k]);
      const QuantizedTensor& q = qt.at(f_extra[k]);
      const int64_t n = used_elements(a, count);
      if (a.dtype() != DType::F32 || b.numel() != a.numel()) continue;
      deq.resize(n);
      fq.resize(n);
      const float* v = a.data<float>();
      const float half = 0.5f * q.scale;
      const float qlo = float(q.lo - q.zero_point) * q.scale,
                  qhi = float(q.hi - q.zero_point) * q.scale;
      for (int64_t i = 0; i < n; ++i) {
        deq[i] = float(int_at(b, i) - q.zero_point) * q.scale;
        // QuantizeLinear: round half to even, saturate.
        const float r_ = std::nearbyint(v[i] / q.scale) + float(q.zero_point);
        fq[i] = (std::clamp(r_, float(q.lo), float(q.hi)) - float(q.zero_point)) * q.scale;
        clipped[k] += v[i] < qlo - half || v[i] > qhi + half;
        lo[k] = std::min(lo[k], v[i]);
        hi[k] = std::max(hi[k], v[i]);
      }
      seen[k] += n;
      own[k].add(v, fq.data(), n);
      inside[k].add(v, deq.data(), n);
    }
  }
  r.fp32_top1 = top1_of(f_pred, ds.labels);
  r.quant_top1 = top1_of(q_pred, ds.labels);
  r.logits_sqnr = logits.db();
  for (size_t i = 0; i < r.layers.size(); ++i) {
    if (probe[i] < 0) continue;
    const size_t k = static_cast<size_t>(probe[i]);
    LayerDebug& l = r.layers[i];
    l.own_sqnr = own[k].db();
    l.model_sqnr = inside[k].db();
    l.min = lo[k];
    l.max = hi[k];
    l.clipped = seen[k] ? double(clipped[k]) / double(seen[k]) : 0.0;
  }

  // Pass 2: the optimized plan against the reference kernels on the QDQ model as written.
  if (o.kernel_images > 0 && L > 0) {
    r.kernel_images = std::min(o.kernel_images, ds.count);
    say(fmt::format("checking the int8 kernels against the reference on {} images",
                    r.kernel_images));
    engine::EngineOptions ro = eo;
    ro.optimized_kernels = false;
    ro.optimize_graph = false;
    engine::Engine re(qg, ro);
    Tensor x = eval::input_batch(ds, bind, pp, 0, r.kernel_images);
    std::vector<Tensor> fast = qe.run({x}), ref = re.run({x});
    for (size_t i = 0; i < r.layers.size(); ++i) {
      if (probe[i] < 0) continue;
      const Tensor& a = fast.at(q_idx[probe[i]]);
      const Tensor& b = ref.at(q_idx[probe[i]]);
      LayerDebug& l = r.layers[i];
      const int64_t n = std::min(used_elements(a, r.kernel_images), b.numel());
      l.kernel_values = n;
      for (int64_t j = 0; j < n; ++j) {
        const int64_t d = std::abs(int64_t(int_at(a, j)) - int64_t(int_at(b, j)));
        l.kernel_mismatches += d != 0;
        l.kernel_max_steps = std::max(l.kernel_max_steps, d);
      }
    }
  }

  // Pass 3: sensitivity, two variants per layer with the calibration table of the whole model.
  // A variant may quantize a tensor whose range the whole model took from another (the input of
  // a convolution after a MaxPool that is now float): that range is calibrated, the others are
  // the table's, so a bad range in the table stays bad in every variant.
  if (o.sensitivity) {
    std::vector<std::string> names;
    for (const auto& l : r.layers) names.push_back(l.name);
    int recalibrated = 0;
    // Top-1 of the variant keeping `exclude` float; empty when it quantizes nothing.
    auto variant = [&](const std::vector<std::string>& exclude,
                       std::vector<float>* out_logits) -> std::optional<double> {
      quant::QuantizeOptions v = o.quant;
      v.calib_table = table;
      v.save_calib_table.clear();
      v.calibrate_missing = !v.calib.data.empty();
      v.calib.progress = {};
      v.exclude.insert(v.exclude.end(), exclude.begin(), exclude.end());
      quant::QuantizeResult q = quant::quantize(model, v);
      if (q.quantized_nodes.empty()) return std::nullopt;
      recalibrated += q.calib_source.find("more calibrated") != std::string::npos;
      engine::Engine e(q.graph, eo);
      std::vector<int32_t> pred;
      for (size_t b = 0; b < inputs.size(); ++b) {
        Tensor y = e.run({inputs[b]}).at(0);
        argmax_rows(y, counts[b], pred);
        if (out_logits)
          out_logits->insert(out_logits->end(), y.data<float>(),
                             y.data<float>() + counts[b] * classes);
      }
      return top1_of(pred, ds.labels);
    };
    for (size_t i = 0; i < r.layers.size(); ++i) {
      LayerDebug& l = r.layers[i];
      say(fmt::format("sensitivity {}/{}: {}", i + 1, r.layers.size(), l.name));
      std::vector<std::string> others;
      for (const auto& n : names)
        if (n != l.name) others.push_back(n);
      try {
        std::vector<float> y;
        if (auto t = variant(others, &y)) {
          l.only_top1 = *t;
          Sqnr s;
          s.add(f_logits.data(), y.data(),
                static_cast<int64_t>(std::min(y.size(), f_logits.size())));
          l.only_sqnr = s.db();
        } else {
          l.sensitivity_note =
              "quantizes nothing on its own (it moves data, quantized with its producer)";
        }
        if (auto t = variant({l.name}, nullptr)) l.float_top1 = *t;
      } catch (const Error& e) {
        l.sensitivity_note = e.what();
      }
    }
    if (recalibrated)
      r.notes.push_back(fmt::format(
          "{} sensitivity variant{} calibrated a tensor the whole model's table lacks (its range "
          "was shared with another tensor there); the table's ranges were kept",
          recalibrated, recalibrated > 1 ? "s" : ""));
    r.ranked_by = "only_sqnr";
  } else {
    r.ranked_by = "own_sqnr";
  }
  // Worst first; layers without the figure last, in graph order. Without sensitivity, a layer
  // sharing another tensor's range ranks with that tensor's layer, after it (a stable sort), so
  // a bad range is blamed on the layer it was calibrated for.
  const bool by_only = o.sensitivity;
  std::map<std::string, double> own_of;
  for (const auto& l : r.layers)
    if (!l.tensor.empty()) own_of[l.tensor] = l.own_sqnr;
  auto key = [&](const LayerDebug& l) {
    if (by_only) return l.only_sqnr;
    auto it = l.range_source.empty() ? own_of.end() : own_of.find(l.range_source);
    return it == own_of.end() ? l.own_sqnr : it->second;
  };
  std::stable_sort(r.layers.begin(), r.layers.end(), [&](const LayerDebug& a, const LayerDebug& b) {
    const double x = key(a), y = key(b);
    if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
    return x < y;
  });
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace qbench::compare
