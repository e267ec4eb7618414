// LSTM, GRU (both linear_before_reset values) and RNN (Tanh or Relu) on oneDNN's RNN
// primitives, forward, reverse or bidirectional, with initial states, peepholes and both
// layouts. The reference runs what oneDNN has no equivalent for: clip, other activations,
// input_forget, sequence_lens, weights that are not constant.
//
// ONNX stores W as [dirs, gates*H, I] in its own gate order; oneDNN wants [1, dirs, I, gates, H]
// (ldigo) in another, so weights and biases are rearranged once, at kernel creation.
#include <fmt/format.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"

namespace qbench::kernels::onednn {

namespace {

using tag = memory::format_tag;

enum class Cell { Rnn, Gru, LbrGru, Lstm };

struct RnnShape {
  Cell cell;
  int64_t seq, batch, input, hidden, dirs;
  bool batch_first;
  dnnl::rnn_direction direction;
  dnnl::algorithm activation = dnnl::algorithm::eltwise_tanh;  // RNN only
};

// oneDNN gate g takes ONNX gate kGateMap[cell][g]. LSTM: oneDNN i, f, c, o; ONNX i, o, f, c.
// GRU: both u(z), r, o(h).
int onnx_gate(Cell cell, int g) {
  static const int lstm[4] = {0, 2, 3, 1};
  return cell == Cell::Lstm ? lstm[g] : g;
}

int gates_of(Cell cell) {
  return cell == Cell::Lstm ? 4 : cell == Cell::Rnn ? 1 : 3;
}

class RnnKernel final : public Kernel {
 public:
  bool init(const KernelInit& init, const RnnShape& s, std::string& why_not) {
    s_ = s;
    const int64_t T = s.seq, N = s.batch, I = s.input, H = s.hidden, D = s.dirs;
    const int G = gates_of(s.cell);
    const int bias_gates = s.cell == Cell::LbrGru ? 4 : G;
    const memory::data_type f32 = memory::data_type::f32;
    memory::desc src_layer({T, N, I}, f32, tag::tnc);
    memory::desc dst_layer({T, N, D * H}, f32, tag::tnc);
    if (s.batch_first) {
      src_layer = memory::desc({T, N, I}, f32, tag::ntc);
      dst_layer = memory::desc({T, N, D * H}, f32, tag::ntc);
    }
    memory::desc iter({1, D, N, H}, f32, tag::ldnc);
    memory::desc wl_any({1, D, I, G, H}, f32, tag::any);
    memory::desc wi_any({1, D, H, G, H}, f32, tag::any);
    memory::desc bias({1, D, bias_gates, H}, f32, tag::ldgo);
    const bool peep =
        s.cell == Cell::Lstm && init.inputs.size() > 7 && init.inputs[7].dtype != DType::Undefined;
    memory::desc peep_md = peep ? memory::desc({1, D, 3, H}, f32, tag::ldgo) : memory::desc();

    dnnl::primitive_desc pd_base;
    memory::desc wl_md, wi_md;
    const auto fwd = dnnl::prop_kind::forward_inference;
    if (!try_dnnl(why_not, "rnn", [&] {
          switch (s.cell) {
            case Cell::Lstm: {
              dnnl::lstm_forward::desc d(fwd, s.direction, src_layer, iter, iter, wl_any, wi_any,
                                         peep_md, bias, dst_layer, iter, iter);
              auto pd = dnnl::lstm_forward::primitive_desc(d, scratch_attr(), cpu_engine());
              wl_md = pd.weights_layer_desc(), wi_md = pd.weights_iter_desc();
              step_.prim = dnnl::lstm_forward(pd);
              pd_base = pd;
              break;
            }
            case Cell::Gru: {
              dnnl::gru_forward::desc d(fwd, s.direction, src_layer, iter, wl_any, wi_any, bias,
                                        dst_layer, iter);
              auto pd = dnnl::gru_forward::primitive_desc(d, scratch_attr(), cpu_engine());
              wl_md = pd.weights_layer_desc(), wi_md = pd.weights_iter_desc();
              step_.prim = dnnl::gru_forward(pd);
              pd_base = pd;
              break;
            }
            case Cell::LbrGru: {
              dnnl::lbr_gru_forward::desc d(fwd, s.direction, src_layer, iter, wl_any, wi_any, bias,
                                            dst_layer, iter);
              auto pd = dnnl::lbr_gru_forward::primitive_desc(d, scratch_attr(), cpu_engine());
              wl_md = pd.weights_layer_desc(), wi_md = pd.weights_iter_desc();
              step_.prim = dnnl::lbr_gru_forward(pd);
              pd_base = pd;
              break;
            }
            case Cell::Rnn: {
              dnnl::vanilla_rnn_forward::desc d(fwd, s.activation, s.direction, src_layer, iter,
                                                wl_any, wi_any, bias, dst_layer, iter);
              auto pd = dnnl::vanilla_rnn_forward::primitive_desc(d, scratch_attr(), cpu_engine());
              wl_md = pd.weights_layer_desc(), wi_md = pd.weights_iter_desc();
              step_.prim = dnnl::vanilla_rnn_forward(pd);
              pd_base = pd;
              break;
            }
          }
        }))
      return false;
    impl_ = pd_base.impl_info_str();
    // No is_reference_impl() check: oneDNN's "ref:any" RNN runs its cells on packed JIT GEMMs
    // (only brgemm is faster, and only for some cells); it is still far faster than ours.

    // Weights and biases, rearranged into oneDNN's gate order and ldigo/ldgo layouts.
    const float* W = init.constants[1]->data<float>();
    const float* R = init.constants[2]->data<float>();
    const float* B =
        init.constants.size() > 3 && init.constants[3] ? init.constants[3]->data<float>() : nullptr;
    std::vector<float> wl(D * I * G * H), wi(D * H * G * H), b(D * bias_gates * H, 0.0f);
    for (int64_t d = 0; d < D; ++d)
      for (int g = 0; g < G; ++g) {
        const int og = onnx_gate(s.cell, g);
        for (int64_t h = 0; h < H; ++h) {
          const int64_t row = d * G * H + og * H + h;  // row of W/R in ONNX's [dirs, G*H, ...]
          for (int64_t i = 0; i < I; ++i) wl[((d * I + i) * G + g) * H + h] = W[row * I + i];
          for (int64_t i = 0; i < H; ++i) wi[((d * H + i) * G + g) * H + h] = R[row * H + i];
          if (!B) continue;
          const float wb = B[d * 2 * G * H + og * H + h], rb = B[d * 2 * G * H + (G + og) * H + h];
          // Linear-before-reset GRU keeps the hidden gate's recurrent bias apart (gate 3).
          if (s.cell == Cell::LbrGru && g == 2) {
            b[(d * bias_gates + 2) * H + h] = wb;
            b[(d * bias_gates + 3) * H + h] = rb;
          } else {
            b[(d * bias_gates + g) * H + h] = wb + rb;
          }
        }
      }
    weights_layer_ = reordered(memory::desc({1, D, I, G, H}, f32, tag::ldigo), wl.data(), wl_md);
    weights_iter_ = reordered(memory::desc({1, D, H, G, H}, f32, tag::ldigo), wi.data(), wi_md);
    bias_ = memory(bias, cpu_engine());
    std::copy(b.begin(), b.end(), static_cast<float*>(bias_.get_data_handle()));
    step_.args = {{DNNL_ARG_WEIGHTS_LAYER, weights_layer_},
                  {DNNL_ARG_WEIGHTS_ITER, weights_iter_},
                  {DNNL_ARG_BIAS, bias_}};
    if (peep) {
      // ONNX's P is i, o, f; oneDNN's peephole weights are i, f, o.
      const float* P = init.constants.size() > 7 && init.constants[7]
                           ? init.constants[7]->data<float>()
                           : nullptr;
      if (!P) {
        why_not = "peepholes P are not constant";
        return false;
      }
      peephole_ = memory(peep_md, cpu_engine());
      float* pp = static_cast<float*>(peephole_.get_data_handle());
      static const int pmap[3] = {0, 2, 1};
      for (int64_t d = 0; d < D; ++d)
        for (int g = 0; g < 3; ++g)
          for (int64_t h = 0; h < H; ++h) pp[(d * 3 + g) * H + h] = P[(d * 3 + pmap[g]) * H + h];
      step_.args[DNNL_ARG_WEIGHTS_PEEPHOLE] = peephole_;
    }
    src_layer_ = user_memory(src_layer);
    dst_layer_ = memory(dst_layer, cpu_engine());
    src_iter_ = memory(iter, cpu_engine());
    dst_iter_ = memory(iter, cpu_engine());
    step_.args[DNNL_ARG_SRC_LAYER] = src_layer_;
    step_.args[DNNL_ARG_DST_LAYER] = dst_layer_;
    step_.args[DNNL_ARG_SRC_ITER] = src_iter_;
    step_.args[DNNL_ARG_DST_ITER] = dst_iter_;
    if (s.cell == Cell::Lstm) {
      src_iter_c_ = memory(iter, cpu_engine());
      dst_iter_c_ = memory(iter, cpu_engine());
      step_.args[DNNL_ARG_SRC_ITER_C] = src_iter_c_;
      step_.args[DNNL_ARG_DST_ITER_C] = dst_iter_c_;
    }
    step_.use_scratchpad(pd_base);
    return true;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           ExecContext&) override {
    auto in = [&](size_t i) { return i < inputs.size() ? inputs[i] : nullptr; };
    auto out = [&](size_t i) { return i < outputs.size() ? outputs[i] : nullptr; };
    bind(src_layer_, inputs[0]);
    load_state(in(5), src_iter_);
    if (s_.cell == Cell::Lstm) load_state(in(6), src_iter_c_);
    step_.execute();
    cpu_stream().wait();
    const int64_t T = s_.seq, N = s_.batch, H = s_.hidden, D = s_.dirs;
    if (Tensor* y = out(0)) {
      const float* src = static_cast<const float*>(dst_layer_.get_data_handle());
      float* dst = y->data<float>();
      if (s_.batch_first || D == 1) {
        // [N, T, D*H] and, with one direction, [T, N, H] are ONNX's layouts already.
        std::copy(src, src + T * N * D * H, dst);
      } else {
        // [T, N, D, H] -> ONNX's [T, D, N, H].
        for (int64_t t = 0; t < T; ++t)
          for (int64_t n = 0; n < N; ++n)
            for (int64_t d = 0; d < D; ++d)
              std::copy(src + ((t * N + n) * D + d) * H, src + ((t * N + n) * D + d + 1) * H,
                        dst + ((t * D + d) * N + n) * H);
      }
    }
    store_state(dst_iter_, out(1));
    if (s_.cell == Cell::Lstm) store_state(dst_iter_c_, out(2));
  }

  std::string impl() const override { return impl_; }

 private:
  std::string impl_;
  static memory reordered(const memory::desc& user_md, float* data, const memory::desc& want) {
    memory user(user_md, cpu_engine(), data);
    memory m(want, cpu_engine());
    dnnl::reorder(user, m).execute(cpu_stream(), user, m);
    cpu_stream().wait();
    return m;
  }

  // ONNX states are [D, N, H] (layout 0) or [N, D, H] (layout 1); oneDNN's are [1, D, N, H].
  void load_state(const Tensor* t, memory& m) const {
    float* dst = static_cast<float*>(m.get_data_handle());
    const int64_t N = s_.batch, H = s_.hidden, D = s_.dirs;
    if (!t) {
      std::fill(dst, dst + D * N * H, 0.0f);
      return;
    }
    const float* src = t->data<float>();
    for (int64_t d = 0; d < D; ++d)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t from = s_.batch_first ? (n * D + d) * H : (d * N + n) * H;
        std::copy(src + from, src + from + H, dst + (d * N + n) * H);
      }
  }

  void store_state(const memory& m, Tensor* t) const {
    if (!t) return;
    const float* src = static_cast<const float*>(m.get_data_handle());
    float* dst = t->data<float>();
    const int64_t N = s_.batch, H = s_.hidden, D = s_.dirs;
    for (int64_t d = 0; d < D; ++d)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t to = s_.batch_first ? (n * D + d) * H : (d * N + n) * H;
        std::copy(src + (d * N + n) * H, src + (d * N + n + 1) * H, dst + to);
      }
  }

  RnnShape s_;
  Step step_;
  memory weights_layer_, weights_iter_, bias_, peephole_, src_layer_, dst_layer_, src_iter_,
      dst_iter_, src_iter_c_, dst_iter_c_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_rnn(const KernelInit& init, std::string& why_not) {
  const ir::Node& node = init.node;
  if (!check_f32(init, why_not, {4})) return nullptr;
  if (init.inputs.size() > 4 && init.inputs[4].dtype != DType::Undefined) {
    why_not = "sequence_lens given (oneDNN runs every sequence to full length)";
    return nullptr;
  }
  for (size_t i = 1; i < 4 && i < init.inputs.size(); ++i)
    if (init.inputs[i].dtype != DType::Undefined && !init.constants[i]) {
      why_not = fmt::format("input {} ({}) is not constant", i, i == 1 ? "W" : i == 2 ? "R" : "B");
      return nullptr;
    }
  if (node.has_attr("clip")) {
    why_not = "clip (oneDNN does not clip gates)";
    return nullptr;
  }
  const Shape& x = init.inputs[0].shape;
  const Shape& r = init.inputs[2].shape;
  if (x.size() != 3 || r.size() != 3 || shape_numel(x) == 0) {
    why_not = "X and R must be 3-D and not empty";
    return nullptr;
  }
  RnnShape s;
  s.batch_first = init.opset >= 14 && node.attr_int("layout", 0) != 0;
  s.seq = s.batch_first ? x[1] : x[0];
  s.batch = s.batch_first ? x[0] : x[1];
  s.input = x[2];
  s.hidden = r[2];
  const std::string dir = node.attr_string("direction", "forward");
  s.dirs = dir == "bidirectional" ? 2 : 1;
  s.direction = dir == "bidirectional" ? dnnl::rnn_direction::bidirectional_concat
                : dir == "reverse"     ? dnnl::rnn_direction::unidirectional_right2left
                                       : dnnl::rnn_direction::unidirectional_left2right;
  // Activations: only the defaults, or Tanh/Relu for a plain RNN, in every direction.
  std::vector<std::string> defaults;
  if (node.op_type == "LSTM") {
    s.cell = Cell::Lstm;
    defaults = {"Sigmoid", "Tanh", "Tanh"};
    if (node.attr_int("input_forget", 0) != 0) {
      why_not = "input_forget=1";
      return nullptr;
    }
  } else if (node.op_type == "GRU") {
    s.cell = node.attr_int("linear_before_reset", 0) != 0 ? Cell::LbrGru : Cell::Gru;
    defaults = {"Sigmoid", "Tanh"};
  } else {
    s.cell = Cell::Rnn;
    defaults = {"Tanh"};
  }
  if (node.has_attr("activations")) {
    const std::vector<std::string>& acts = node.attrs.at("activations").strings;
    for (size_t i = 0; i < acts.size(); ++i) {
      const std::string& a = acts[i];
      if (s.cell == Cell::Rnn && (a == "Relu" || a == "Tanh") && a == acts[0]) {
        s.activation = a == "Relu" ? dnnl::algorithm::eltwise_relu : dnnl::algorithm::eltwise_tanh;
        continue;
      }
      if (a != defaults[i % defaults.size()]) {
        why_not = fmt::format("activation {} (oneDNN has the default ones only)", a);
        return nullptr;
      }
    }
  }
  if (node.has_attr("activation_alpha") || node.has_attr("activation_beta")) {
    why_not = "activation_alpha/activation_beta";
    return nullptr;
  }
  auto k = std::make_unique<RnnKernel>();
  if (!k->init(init, s, why_not)) return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
