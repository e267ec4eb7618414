// oneDNN LSTM, GRU and RNN against the reference kernel over random sizes, directions, layouts,
// optional inputs (bias, initial states, peepholes) and outputs, plus the cases the factory must
// leave to the reference.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kernels/onednn/factories.h"
#include "onednn_testing.h"

namespace qbench::kernels::onednn {
namespace {

using ir::Attribute;
using testing::Problem;

struct RnnCase {
  std::string op;  // LSTM, GRU, RNN
  int64_t seq, batch, input, hidden;
  std::string direction = "forward";
  bool batch_first = false, bias = true, h0 = false, c0 = false, peepholes = false, lbr = false;
  bool relu = false;
  bool all_outputs = true;

  std::string str() const {
    return fmt::format(
        "{} T={} N={} I={} H={} dir={} batch_first={} bias={} h0={} c0={} peep={} lbr={} relu={} "
        "all_outputs={}",
        op, seq, batch, input, hidden, direction, batch_first, bias, h0, c0, peepholes, lbr, relu,
        all_outputs);
  }

  Problem problem(std::mt19937& rng) const {
    const int64_t G = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
    const int64_t D = direction == "bidirectional" ? 2 : 1;
    std::map<std::string, Attribute> attrs{{"hidden_size", Attribute::of_int(hidden)},
                                           {"direction", Attribute::of_string(direction)}};
    if (batch_first) attrs["layout"] = Attribute::of_int(1);
    if (lbr) attrs["linear_before_reset"] = Attribute::of_int(1);
    if (relu) {
      Attribute a;
      a.kind = Attribute::Kind::Strings;
      a.strings.assign(D, "Relu");
      attrs["activations"] = a;
    }
    const size_t num_in = op == "LSTM" ? 8 : 6;
    const size_t num_out = op == "LSTM" ? 3 : 2;
    Problem p{testing::make_node(op, num_in, attrs, num_out), 14, {}, {}};
    if (!all_outputs) p.node.outputs[0].clear();  // Y omitted, Y_h kept
    p.constant = {false, true, true, true, false, false, false, true};
    const Shape state = batch_first ? Shape{batch, D, hidden} : Shape{D, batch, hidden};
    p.inputs.push_back(testing::random_tensor(
        rng, batch_first ? Shape{batch, seq, input} : Shape{seq, batch, input}));
    p.inputs.push_back(testing::random_tensor(rng, {D, G * hidden, input}, -0.6f, 0.6f));
    p.inputs.push_back(testing::random_tensor(rng, {D, G * hidden, hidden}, -0.6f, 0.6f));
    p.inputs.push_back(bias ? testing::random_tensor(rng, {D, 2 * G * hidden}, -0.3f, 0.3f)
                            : Tensor());
    p.inputs.emplace_back();  // sequence_lens
    p.inputs.push_back(h0 ? testing::random_tensor(rng, state) : Tensor());
    if (op == "LSTM") {
      p.inputs.push_back(c0 ? testing::random_tensor(rng, state) : Tensor());
      p.inputs.push_back(peepholes ? testing::random_tensor(rng, {D, 3 * hidden}, -0.5f, 0.5f)
                                   : Tensor());
    }
    // Trailing omitted inputs are dropped, as a loaded model would have them.
    while (!p.inputs.back().defined()) p.inputs.pop_back(), p.node.inputs.pop_back();
    for (size_t i = 0; i < p.inputs.size(); ++i)
      if (!p.inputs[i].defined()) p.node.inputs[i].clear();
    return p;
  }
};

TEST(OnednnRnn, Random) {
  std::mt19937 rng(41);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const char* ops[] = {"LSTM", "GRU", "RNN"};
  const char* dirs[] = {"forward", "reverse", "bidirectional"};
  for (int i = 0; i < 60; ++i) {
    RnnCase c{ops[i % 3], pick(1, 7), pick(1, 4), pick(1, 9), pick(1, 12)};
    c.direction = dirs[pick(0, 2)];
    c.batch_first = pick(0, 1) == 1;
    c.bias = pick(0, 3) != 0;
    c.h0 = pick(0, 1) == 1;
    c.c0 = c.op == "LSTM" && pick(0, 1) == 1;
    c.peepholes = c.op == "LSTM" && pick(0, 1) == 1;
    c.lbr = c.op == "GRU" && pick(0, 1) == 1;
    c.relu = c.op == "RNN" && pick(0, 1) == 1;
    c.all_outputs = pick(0, 4) != 0;
    auto o = testing::check_against_reference(c.problem(rng), rng);
    ASSERT_TRUE(o.why_not.empty()) << c.str() << ": rejected: " << o.why_not;
    EXPECT_LT(o.error, 1e-5) << c.str();
  }
}

TEST(OnednnRnn, LeavesToReference) {
  std::mt19937 rng(42);
  std::vector<TensorType> types;
  std::string why;
  RnnCase base{"LSTM", 3, 2, 4, 5};

  Problem clip = base.problem(rng);
  clip.node.attrs["clip"] = Attribute::of_float(1.0f);
  EXPECT_EQ(clip.make(why, types), nullptr);
  EXPECT_NE(why.find("clip"), std::string::npos) << why;

  Problem acts = base.problem(rng);
  Attribute a;
  a.kind = Attribute::Kind::Strings;
  a.strings = {"HardSigmoid", "Tanh", "Tanh"};
  acts.node.attrs["activations"] = a;
  why.clear();
  EXPECT_EQ(acts.make(why, types), nullptr);
  EXPECT_NE(why.find("HardSigmoid"), std::string::npos) << why;

  Problem lens = base.problem(rng);
  lens.node.inputs = {"x", "w", "r", "b", "lens"};
  lens.inputs.resize(5);
  lens.inputs[4] = Tensor::from_vector<int32_t>({2}, {3, 1});
  why.clear();
  EXPECT_EQ(lens.make(why, types), nullptr);
  EXPECT_NE(why.find("sequence_lens"), std::string::npos) << why;

  Problem runtime_w = base.problem(rng);
  runtime_w.constant = {false, false, true, true};
  why.clear();
  EXPECT_EQ(runtime_w.make(why, types), nullptr);
  EXPECT_NE(why.find("not constant"), std::string::npos) << why;
}

}  // namespace
}  // namespace qbench::kernels::onednn
