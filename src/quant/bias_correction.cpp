#include "quant/bias_correction.h"

#include <cmath>

#include "core/error.h"
#include "kernels/kernel.h"
#include "quant/weights.h"

namespace qbench::quant {
namespace {

// One layer to correct: its node, weight intent and the channel axis of its data input.
struct Layer {
  size_t node = 0;
  InputIntent weight;
  int64_t input_axis = 1;
};

}  // namespace

BiasCorrectionReport correct_biases(ir::Graph& g, const QdqPlan& plan, int weight_qmax,
                                    const CalibOptions& calib) {
  std::vector<Layer> layers;
  std::map<std::string, int64_t> axes;  // data input -> its channel axis
  std::vector<std::string> inputs;
  for (const NodeIntent& it : plan.intents) {
    const ir::Node& n = g.nodes[it.node];
    const kernels::Dense d = kernels::float_dense(n);
    if (d != kernels::Dense::Conv && d != kernels::Dense::Gemm) continue;
    Layer l{it.node, {}, 1};
    bool has_weight = false;
    for (const InputIntent& in : it.inputs)
      if (in.role == InputRole::Weight && in.index == 1) {
        l.weight = in;
        has_weight = true;
      }
    if (!has_weight || !n.has_input(0)) continue;
    if (d == kernels::Dense::Gemm) {
      // Y = alpha A' B' + beta C: A' is [M, K]; K is axis 1 of A, or axis 0 when transposed.
      if (n.attr_float("beta", 1.0f) != 1.0f && !n.has_input(2)) continue;
      l.input_axis = n.attr_int("transA", 0) ? 0 : 1;
    }
    auto [a, fresh] = axes.emplace(n.inputs[0], l.input_axis);
    if (!fresh && a->second != l.input_axis) continue;  // read along two axes: leave it
    if (fresh) inputs.push_back(n.inputs[0]);
    layers.push_back(l);
  }
  BiasCorrectionReport rep;
  if (layers.empty()) return rep;
  const CalibStats st = collect_statistics(g, inputs, calib, axes);

  for (const Layer& l : layers) {
    ir::Node& n = g.nodes[l.node];
    const std::vector<double> mean = st.observers.at(n.inputs[0]).channel_means();
    const Tensor& w = *g.constant(n.inputs[1]);
    const QuantizedWeight q = quantize_weight(w, l.weight.per_channel, l.weight.axis, weight_qmax);
    const std::vector<float> scale = q.scale.to_float();
    const float* wf = w.data<float>();
    const int8_t* wq = q.q.data<int8_t>();
    // The error of each weight, (W_q - W), at flat index i with channel c of its scale.
    auto error = [&](int64_t i, int64_t c) {
      return double(wq[i]) * double(scale[q.per_channel ? c : 0]) - double(wf[i]);
    };
    std::vector<double> shift;  // per output channel: (W_q - W) E[x]
    const bool conv = kernels::float_dense(n) == kernels::Dense::Conv;
    if (conv) {
      // W [O, I/group, k...]: output o reads input channels of its group.
      const int64_t out = w.dim(0), per_group = w.dim(1), k = w.numel() / (out * per_group);
      const int64_t group = n.attr_int("group", 1);
      if (group < 1 || out % group || int64_t(mean.size()) != per_group * group) continue;
      shift.assign(size_t(out), 0.0);
      for (int64_t o = 0; o < out; ++o) {
        const int64_t first = o / (out / group) * per_group;
        for (int64_t i = 0; i < per_group; ++i)
          for (int64_t j = 0; j < k; ++j)
            shift[size_t(o)] += error((o * per_group + i) * k + j, o) * mean[size_t(first + i)];
      }
    } else {
      // B [K, N], or [N, K] with transB; the weight's channel axis is N's.
      if (w.rank() != 2) continue;
      const bool tb = n.attr_int("transB", 0) != 0;
      const int64_t kdim = tb ? w.dim(1) : w.dim(0), ndim = tb ? w.dim(0) : w.dim(1);
      if (int64_t(mean.size()) != kdim) continue;
      const double alpha = n.attr_float("alpha", 1.0f);
      shift.assign(size_t(ndim), 0.0);
      for (int64_t c = 0; c < ndim; ++c)
        for (int64_t k = 0; k < kdim; ++k)
          shift[size_t(c)] += alpha * error(tb ? c * kdim + k : k * ndim + c, c) * mean[size_t(k)];
    }
    // The new bias: a copy (biases may be shared), or zeros for a layer without one.
    const int64_t channels = int64_t(shift.size());
    const Tensor* old = n.has_input(2) ? g.constant(n.inputs[2]) : nullptr;
    if (n.has_input(2) && (!old || old->dtype() != DType::F32 || old->rank() != 1 ||
                           old->dim(0) != channels))
      continue;
    const double beta = conv ? 1.0 : n.attr_float("beta", 1.0f);
    if (beta == 0.0) continue;
    Tensor b(DType::F32, Shape{channels});
    double largest_bias = 0, largest = 0;
    for (int64_t c = 0; c < channels; ++c) {
      const float before = old ? old->data<float>()[c] : 0.0f;
      largest_bias = std::max(largest_bias, std::fabs(double(before)));
      largest = std::max(largest, std::fabs(shift[size_t(c)]));
      b.data<float>()[c] = float(before - shift[size_t(c)] / beta);
    }
    const std::string base = n.has_input(2) ? n.inputs[2] : n.name + "_bias";
    const std::string name = add_initializer(g, base + "_corrected", std::move(b));
    if (!n.has_input(2)) {
      n.inputs.resize(3);
      rep.added_biases++;
    }
    n.inputs[2] = name;
    rep.layers++;
    const double rel = largest / std::max(largest_bias, 1.0);
    if (rel > rep.largest_shift) {
      rep.largest_shift = rel;
      rep.worst_layer = n.name;
    }
  }
  g.remove_dead();
  return rep;
}

}  // namespace qbench::quant
