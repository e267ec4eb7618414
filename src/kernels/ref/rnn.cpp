// RNN, GRU and LSTM (opsets 7..14): forward, reverse and bidirectional, initial states,
// sequence_lens, LSTM peepholes and input_forget, GRU linear_before_reset, clip, the
// activations/activation_alpha/activation_beta attributes and opset 14's layout.
#include <algorithm>
#include <cmath>

#include "kernels/ref/ops.h"
#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

namespace {

enum class Cell { Rnn, Gru, Lstm };

Cell cell_of(const ir::Node& node) {
  return node.op_type == "LSTM" ? Cell::Lstm : node.op_type == "GRU" ? Cell::Gru : Cell::Rnn;
}

int gate_count(Cell c) {
  return c == Cell::Lstm ? 4 : c == Cell::Gru ? 3 : 1;
}

// The activation functions of the activations attribute, in kActivationNames order.
constexpr const char* kActivationNames[] = {
    "Sigmoid",    "Tanh",        "Relu", "Affine",   "LeakyRelu", "ThresholdedRelu",
    "ScaledTanh", "HardSigmoid", "Elu",  "Softsign", "Softplus"};
enum class ActKind {
  Sigmoid,
  Tanh,
  Relu,
  Affine,
  LeakyRelu,
  ThresholdedRelu,
  ScaledTanh,
  HardSigmoid,
  Elu,
  Softsign,
  Softplus
};

// One activation function with its alpha and beta.
struct Activation {
  ActKind kind = ActKind::Tanh;
  float alpha = 0, beta = 0;
  float operator()(float v) const {
    const double x = v;
    switch (kind) {
      case ActKind::Sigmoid:
        return act_sigmoid(v);
      case ActKind::Tanh:
        return std::tanh(v);
      case ActKind::Relu:
        return act_relu(v);
      case ActKind::Affine:
        return static_cast<float>(alpha * x + beta);
      case ActKind::LeakyRelu:
        return act_leaky_relu(v, alpha);
      case ActKind::ThresholdedRelu:
        return v > alpha ? v : 0.0f;
      case ActKind::ScaledTanh:
        return static_cast<float>(alpha * std::tanh(beta * x));
      case ActKind::HardSigmoid:
        return act_hard_sigmoid(v, alpha, beta);
      case ActKind::Elu:
        return v >= 0 ? v : static_cast<float>(alpha * (std::exp(x) - 1));
      case ActKind::Softsign:
        return static_cast<float>(x / (1 + std::fabs(x)));
      case ActKind::Softplus:
        return static_cast<float>(x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)));
    }
    return v;
  }
};

struct RnnSpec {
  Cell cell;
  int64_t seq, batch, input, hidden, dirs;
  bool batch_first;  // layout = 1
  std::string direction;
  std::vector<Activation> acts;  // gate_functions per direction, directions concatenated
  float clip = 0;                // 0: no clipping
};

RnnSpec rnn_spec(const InferContext& ctx) {
  const ir::Node& node = ctx.node;
  RnnSpec s;
  s.cell = cell_of(node);
  require_inputs(ctx, 3);
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && i != 4 && ctx.inputs[i].dtype != DType::F32)
      fail_dtype(ctx.node, ctx.inputs[i].dtype);
  if (ctx.has_input(4) && ctx.inputs[4].dtype != DType::I32 && ctx.inputs[4].dtype != DType::I64)
    fail_dtype(ctx.node, ctx.inputs[4].dtype, "sequence_lens");
  s.batch_first = ctx.opset >= 14 && node.attr_int("layout", 0) != 0;
  const Shape& x = ctx.inputs[0].shape;
  const Shape& w = ctx.inputs[1].shape;
  const Shape& r = ctx.inputs[2].shape;
  if (x.size() != 3 || w.size() != 3 || r.size() != 3)
    fail("{}: X, W and R must be 3-D, found {}, {} and {}", node.describe(), shape_str(x),
         shape_str(w), shape_str(r));
  s.seq = s.batch_first ? x[1] : x[0];
  s.batch = s.batch_first ? x[0] : x[1];
  s.input = x[2];
  s.direction = node.attr_string("direction", "forward");
  if (s.direction != "forward" && s.direction != "reverse" && s.direction != "bidirectional")
    fail("{}: direction '{}' is not one of forward, reverse, bidirectional", node.describe(),
         s.direction);
  s.dirs = s.direction == "bidirectional" ? 2 : 1;
  s.hidden = node.attr_int("hidden_size", r[2]);
  const int64_t g = gate_count(s.cell);
  auto expect = [&](size_t i, const Shape& want, const char* what) {
    if (ctx.has_input(i) && ctx.inputs[i].shape != want)
      fail("{}: {} must have shape {}, found {}", node.describe(), what, shape_str(want),
           shape_str(ctx.inputs[i].shape));
  };
  expect(1, {s.dirs, g * s.hidden, s.input}, "W");
  expect(2, {s.dirs, g * s.hidden, s.hidden}, "R");
  expect(3, {s.dirs, 2 * g * s.hidden}, "B");
  expect(4, {s.batch}, "sequence_lens");
  const Shape state =
      s.batch_first ? Shape{s.batch, s.dirs, s.hidden} : Shape{s.dirs, s.batch, s.hidden};
  expect(5, state, "initial_h");
  if (s.cell == Cell::Lstm) {
    expect(6, state, "initial_c");
    expect(7, {s.dirs, 3 * s.hidden}, "P");
  }
  if (s.cell == Cell::Lstm && node.attr_int("input_forget", 0) != 0)
    fail("{}: input_forget=1 is not supported", node.describe());
  if (node.has_attr("clip")) {
    s.clip = node.attr_float("clip", 0);
    if (!(s.clip > 0)) fail("{}: clip must be positive, found {}", node.describe(), s.clip);
  }

  // Activations: one list for all directions; alphas and betas are consumed in order by the
  // functions that take them.
  const std::vector<std::string> defaults =
      s.cell == Cell::Lstm  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
      : s.cell == Cell::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                            : std::vector<std::string>{"Tanh"};
  std::vector<std::string> names;
  if (node.has_attr("activations")) {
    const auto& a = node.attrs.at("activations");
    names = a.strings;
  } else {
    for (int64_t d = 0; d < s.dirs; ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  }
  if (names.size() != defaults.size() * static_cast<size_t>(s.dirs))
    fail("{}: expected {} activations for {} direction(s), found {}", node.describe(),
         defaults.size() * s.dirs, s.dirs, names.size());
  const std::vector<float> alphas = node.attr_floats("activation_alpha");
  const std::vector<float> betas = node.attr_floats("activation_beta");
  size_t ai = 0, bi = 0;
  for (const std::string& raw : names) {
    Activation act;
    // Names are matched case-insensitively (PyTorch writes "Tanh", some tools "tanh").
    std::string lr = raw;
    std::transform(lr.begin(), lr.end(), lr.begin(), ::tolower);
    bool found = false;
    for (size_t k = 0; k < std::size(kActivationNames); ++k) {
      std::string lk = kActivationNames[k];
      std::transform(lk.begin(), lk.end(), lk.begin(), ::tolower);
      if (lk == lr) act.kind = static_cast<ActKind>(k), found = true;
    }
    if (!found) fail("{}: activation '{}' is not supported", node.describe(), raw);
    float da = 0, db = 0;
    bool ua = false, ub = false;
    switch (act.kind) {
      case ActKind::LeakyRelu:
        ua = true, da = 0.01f;
        break;
      case ActKind::ThresholdedRelu:
      case ActKind::Elu:
        ua = true, da = 1.0f;
        break;
      case ActKind::Affine:
      case ActKind::ScaledTanh:
        ua = ub = true, da = 1.0f, db = 0.0f;
        break;
      case ActKind::HardSigmoid:
        ua = ub = true, da = 0.2f, db = 0.5f;
        break;
      default:
        break;
    }
    if (ua) act.alpha = ai < alphas.size() ? alphas[ai++] : da;
    if (ub) act.beta = bi < betas.size() ? betas[bi++] : db;
    s.acts.push_back(act);
  }
  return s;
}

}  // namespace

void infer_rnn(InferContext& ctx) {
  RnnSpec s = rnn_spec(ctx);
  const Shape y = s.batch_first ? Shape{s.batch, s.seq, s.dirs, s.hidden}
                                : Shape{s.seq, s.dirs, s.batch, s.hidden};
  const Shape state =
      s.batch_first ? Shape{s.batch, s.dirs, s.hidden} : Shape{s.dirs, s.batch, s.hidden};
  ctx.outputs = {{DType::F32, y}};
  for (size_t i = 1; i < ctx.node.outputs.size(); ++i) ctx.outputs.push_back({DType::F32, state});
}

void ref_rnn(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) {
  RnnSpec s = rnn_spec(context_of(node, opset, inputs));
  const int64_t G = gate_count(s.cell), H = s.hidden, B = s.batch, I = s.input, D = s.dirs;
  auto in = [&](size_t i) { return i < inputs.size() ? inputs[i] : nullptr; };
  auto out = [&](size_t i) { return i < outputs.size() ? outputs[i] : nullptr; };
  const float* xp = inputs[0]->data<float>();
  const float* wp = inputs[1]->data<float>();
  const float* rp = inputs[2]->data<float>();
  const Tensor* bias = in(3);
  const Tensor* lens = in(4);
  const Tensor* h0 = in(5);
  const Tensor* c0 = s.cell == Cell::Lstm ? in(6) : nullptr;
  const Tensor* peep = s.cell == Cell::Lstm ? in(7) : nullptr;
  const bool lbr = s.cell == Cell::Gru && node.attr_int("linear_before_reset", 0) != 0;
  const size_t nact = s.acts.size() / static_cast<size_t>(D);

  // Element offsets in the layout-dependent tensors.
  auto x_at = [&](int64_t t, int64_t b) {
    return s.batch_first ? (b * s.seq + t) * I : (t * B + b) * I;
  };
  auto y_at = [&](int64_t t, int64_t d, int64_t b) {
    return s.batch_first ? ((b * s.seq + t) * D + d) * H : ((t * D + d) * B + b) * H;
  };
  auto st_at = [&](int64_t d, int64_t b) {
    return s.batch_first ? (b * D + d) * H : (d * B + b) * H;
  };

  Tensor* y = out(0);
  if (y) std::fill(y->data<float>(), y->data<float>() + y->numel(), 0.0f);
  std::vector<float> h(H), c(H), z(H), rr(H), hn(H);
  std::vector<double> xw(G * H), hr(G * H);
  for (int64_t d = 0; d < D; ++d) {
    const bool reverse = s.direction == "reverse" || d == 1;
    const Activation* act = s.acts.data() + d * nact;
    const float* W = wp + d * G * H * I;
    const float* R = rp + d * G * H * H;
    const float* Wb = bias ? bias->data<float>() + d * 2 * G * H : nullptr;
    const float* Rb = Wb ? Wb + G * H : nullptr;
    const float* P = peep ? peep->data<float>() + d * 3 * H : nullptr;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = lens ? static_cast<int64_t>(element_as_double(*lens, b)) : s.seq;
      if (len < 0 || len > s.seq)
        fail("{}: sequence_lens[{}] = {} is outside [0, {}]", node.describe(), b, len, s.seq);
      for (int64_t k = 0; k < H; ++k) {
        h[k] = h0 ? h0->data<float>()[st_at(d, b) + k] : 0.0f;
        c[k] = c0 ? c0->data<float>()[st_at(d, b) + k] : 0.0f;
      }
      for (int64_t step = 0; step < len; ++step) {
        const int64_t t = reverse ? len - 1 - step : step;
        const float* xt = xp + x_at(t, b);
        // gates = x W^T + Wb, then + h R^T + Rb (GRU's hidden gate keeps them apart).
        for (int64_t j = 0; j < G * H; ++j) {
          double a = Wb ? Wb[j] : 0.0, r = Rb ? Rb[j] : 0.0;
          for (int64_t k = 0; k < I; ++k) a += static_cast<double>(xt[k]) * W[j * I + k];
          for (int64_t k = 0; k < H; ++k) r += static_cast<double>(h[k]) * R[j * H + k];
          xw[j] = a, hr[j] = r;
        }
        auto clip = [&](double v) {
          return static_cast<float>(s.clip > 0 ? std::clamp<double>(v, -s.clip, s.clip) : v);
        };
        if (s.cell == Cell::Rnn) {
          for (int64_t k = 0; k < H; ++k) h[k] = act[0](clip(xw[k] + hr[k]));
        } else if (s.cell == Cell::Gru) {
          // Gate order z, r, h.
          for (int64_t k = 0; k < H; ++k) {
            z[k] = act[0](clip(xw[k] + hr[k]));
            rr[k] = act[0](clip(xw[H + k] + hr[H + k]));
          }
          for (int64_t k = 0; k < H; ++k) {
            double v;
            if (lbr) {
              v = xw[2 * H + k] + rr[k] * hr[2 * H + k];
            } else {
              v = xw[2 * H + k] + (Rb ? Rb[2 * H + k] : 0.0);
              for (int64_t m = 0; m < H; ++m)
                v += static_cast<double>(rr[m]) * h[m] * R[(2 * H + k) * H + m];
            }
            hn[k] = act[1](clip(v));
          }
          for (int64_t k = 0; k < H; ++k)
            h[k] = static_cast<float>((1.0 - z[k]) * hn[k] + static_cast<double>(z[k]) * h[k]);
        } else {
          // Gate order i, o, f, c; peepholes i, o, f.
          for (int64_t k = 0; k < H; ++k) {
            const double ci = xw[k] + hr[k] + (P ? P[k] * c[k] : 0.0f);
            const double cf = xw[2 * H + k] + hr[2 * H + k] + (P ? P[2 * H + k] * c[k] : 0.0f);
            const float ig = act[0](clip(ci)), fg = act[0](clip(cf));
            const float cc = act[1](clip(xw[3 * H + k] + hr[3 * H + k]));
            c[k] =
                static_cast<float>(static_cast<double>(fg) * c[k] + static_cast<double>(ig) * cc);
            const double co = xw[H + k] + hr[H + k] + (P ? P[H + k] * c[k] : 0.0f);
            const float og = act[0](clip(co));
            h[k] = og * act[2](c[k]);
          }
        }
        if (y) std::copy(h.begin(), h.end(), y->data<float>() + y_at(t, d, b));
      }
      if (Tensor* yh = out(1)) std::copy(h.begin(), h.end(), yh->data<float>() + st_at(d, b));
      if (Tensor* yc = s.cell == Cell::Lstm ? out(2) : nullptr)
        std::copy(c.begin(), c.end(), yc->data<float>() + st_at(d, b));
    }
  }
}

// MACs: each time step of each sequence multiplies its input by W and its state by R, for every
// direction and gate (W and R hold all of them).
int64_t macs_rnn(const ir::Node&, std::span<const TensorType> in, std::span<const TensorType>) {
  if (in.size() < 3) return 0;
  const Shape& x = in[0].shape;
  if (x.size() != 3 || x[2] == 0) return 0;
  return shape_numel(x) / x[2] * (shape_numel(in[1].shape) + shape_numel(in[2].shape));
}

}  // namespace qbench::kernels::ref
