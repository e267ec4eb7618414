// Channels-last regions: 2-D convolutions (float Conv with constant f32 weights or the bf16
// recipe's Cast(bfloat16 constant) weights, QLinearConv) switch to NHWC tensors, and the ops
// after them that have a channels-last form (pools, QLinearAdd, element-wise ops) join while all
// their data inputs are NHWC already. Transposes appear only at a region's borders, so oneDNN's
// kernels read and write their preferred layout directly instead of reordering around every op
// (ONNX Runtime's NHWC transformer does the same).
#include <unordered_map>
#include <unordered_set>

#include "kernels/kernel.h"
#include "kernels/ref/qbench_ops.h"
#include "passes/passes.h"

namespace qbench::passes {
namespace {

// The inputs OpTraits::nhwc_inputs can name.
constexpr size_t kLayoutInputs = 8 * sizeof(kernels::OpTraits::nhwc_inputs);

bool has_extra_outputs(const ir::Node& n) {
  for (size_t o = 1; o < n.outputs.size(); ++o)
    if (!n.outputs[o].empty()) return true;
  return false;
}

// A region seed: a 2-D convolution (4-D constant weight) with explicit pads; a float one with f32
// weights, or with the bf16 recipe's Cast(bfloat16 constant) weights when it computes in bf16
// (fp16 weights stay NCHW).
bool seeds(const ir::Graph& g, const std::unordered_map<std::string, size_t>& producers,
           const ir::Node& n, const kernels::OpTraits& t) {
  if (t.weight_input < 0 || !n.has_input(t.weight_input) ||
      n.attr_string("auto_pad", "NOTSET") != "NOTSET")
    return false;
  const std::string& wname = n.inputs[t.weight_input];
  const Tensor* w = g.constant(wname);
  if (t.integer) return w && w->rank() == 4;
  if (n.compute_type == DType::BF16) w = bf16_weight(g, producers, wname);
  else if (n.compute_type != DType::Undefined || (w && w->dtype() != DType::F32)) return false;
  return w && w->rank() == 4;
}

}  // namespace

int to_channels_last(ir::Graph& g) {
  std::unordered_set<std::string> nhwc;
  std::vector<bool> convert(g.nodes.size(), false);
  int converted = 0;
  const auto producers = g.producers();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (n.outputs.empty() || n.inputs.empty() || has_extra_outputs(n)) continue;
    const kernels::OpTraits& t = kernels::traits_of(n);
    bool c = false;
    if (t.nhwc_seed) {
      c = seeds(g, producers, n, t);
    } else if (t.nhwc_inputs) {
      c = true;
      for (size_t k = 0; k < kLayoutInputs; ++k)
        if (t.nhwc_inputs >> k & 1) c = c && n.has_input(k) && nhwc.count(n.inputs[k]);
    }
    if (!c) continue;
    convert[i] = true;
    nhwc.insert(n.outputs[0]);
    converted++;
  }
  if (!converted) return 0;

  std::unordered_map<std::string, int> nchw_uses;  // reads of an NHWC value by NCHW consumers
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const kernels::OpTraits& t = kernels::traits_of(g.nodes[i]);
    for (size_t k = 0; k < g.nodes[i].inputs.size(); ++k) {
      const std::string& in = g.nodes[i].inputs[k];
      const bool layout_input = k < kLayoutInputs && (t.nhwc_inputs >> k & 1);
      if (nhwc.count(in) && !(convert[i] && layout_input)) nchw_uses[in]++;
    }
  }
  for (const auto& o : g.outputs)
    if (nhwc.count(o)) nchw_uses[o]++;

  auto transpose = [&](const std::string& from, const std::string& to, std::vector<int64_t> perm) {
    ir::Node t;
    t.name = to + "_transpose";
    t.op_type = "Transpose";
    t.inputs = {from};
    t.outputs = {to};
    t.attrs["perm"] = ir::Attribute::of_ints(std::move(perm));
    ir::Value& v = g.value(to);
    v.dtype = g.value(from).dtype;
    v.dims.reset();
    return t;
  };
  std::unordered_map<std::string, std::string> to_nhwc;  // NCHW value -> its NHWC copy
  std::vector<ir::Node> out;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node n = std::move(g.nodes[i]);
    if (!convert[i]) {
      out.push_back(std::move(n));
      continue;
    }
    const kernels::OpTraits& t = kernels::traits_of(n);
    for (size_t k = 0; k < n.inputs.size() && k < kLayoutInputs; ++k) {
      if (!(t.nhwc_inputs >> k & 1) || !n.has_input(k)) continue;
      std::string& in = n.inputs[k];
      if (nhwc.count(in)) {
        in += "_nhwc";
        continue;
      }
      auto it = to_nhwc.find(in);
      if (it == to_nhwc.end()) {
        out.push_back(transpose(in, in + "_nhwc", {0, 2, 3, 1}));
        it = to_nhwc.emplace(in, in + "_nhwc").first;
      }
      in = it->second;
    }
    const std::string orig = n.outputs[0];
    n.outputs[0] = orig + "_nhwc";
    g.value(n.outputs[0]).dtype = g.value(orig).dtype;
    // Ops whose form depends on the layout become qbench's channels_last form; element-wise
    // ops compute the same on any layout and stay as they are.
    if (t.nhwc_attr) {
      n.attrs["channels_last"] = ir::Attribute::of_int(1);
      n.domain = kernels::ref::kQbenchDomain;
    }
    out.push_back(std::move(n));
    if (nchw_uses.count(orig)) out.push_back(transpose(orig + "_nhwc", orig, {0, 3, 1, 2}));
  }
  g.nodes = std::move(out);
  return converted;
}

}  // namespace qbench::passes
