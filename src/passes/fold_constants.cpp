#include <unordered_set>

#include "kernels/kernel.h"
#include "passes/passes.h"

namespace qbench::passes {

namespace {

// Values read by a dense op (Conv, Gemm, MatMul): a DequantizeLinear (int8 weights) or a Cast from a
// bfloat16 constant producing one is kept, so fuse_qdq can turn the pair into an integer or bf16
// op; the engine folds what stays unfused when it compiles a plan.
std::unordered_set<std::string> dense_op_inputs(const ir::Graph& g) {
  std::unordered_set<std::string> s;
  for (const auto& n : g.nodes)
    if (kernels::float_dense(n) != kernels::Dense::None)
      s.insert(n.inputs.begin(), n.inputs.end());
  return s;
}

// With allow_growth off, a fold may at most widen its inputs 4x (a Cast from float16, a
// DequantizeLinear of int8 weights) plus this many bytes; ConstantOfShape, Expand and Tile of
// small constants grow far more.
constexpr int64_t kMaxGrowthBytes = 4096;

}  // namespace

int fold_constants(ir::Graph& g, bool allow_growth) {
  const int64_t opset = g.opset();
  const std::unordered_set<std::string> keep_for = dense_op_inputs(g);
  std::vector<ir::Node> kept;
  int folded = 0;
  for (auto& n : g.nodes) {
    // A node with subgraphs (If, Loop, Scan) also reads outer values and runs in the engine.
    bool all_const = kernels::find_op(n.domain, n.op_type) != nullptr && !n.has_subgraph();
    if (all_const && !n.outputs.empty() && keep_for.count(n.outputs[0]) &&
        is_quantized_weight_producer(g, n))
      all_const = false;
    std::vector<const Tensor*> ins;
    for (const auto& in : n.inputs) {
      if (in.empty()) {
        ins.push_back(nullptr);
        continue;
      }
      const Tensor* t = g.constant(in);
      if (!t) all_const = false;
      ins.push_back(t);
    }
    // Graph outputs stay produced by a node, so the saved model keeps its interface.
    for (const auto& o : n.outputs)
      for (const auto& go : g.outputs)
        if (o == go) all_const = false;
    if (!all_const) {
      kept.push_back(std::move(n));
      continue;
    }
    std::vector<Tensor> outs;
    try {
      outs = kernels::run_reference(n, opset, ins);
    } catch (const kernels::DataDependent&) {
      // Ops the engine's interpreter runs (SequenceEmpty has no inputs, yet no tensor output).
      kept.push_back(std::move(n));
      continue;
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.find(n.describe()) != std::string::npos) throw;
      fail("{}: {}", n.describe(), what);
    }
    // A Constant's value is already in the file, as its attribute.
    if (!allow_growth && n.op_type != "Constant") {
      // ConstantOfShape, Expand, Tile, Range: folding would store the big result in the file.
      int64_t in_bytes = 0, out_bytes = 0;
      for (const Tensor* t : ins)
        if (t) in_bytes += t->numel() * static_cast<int64_t>(dtype_size(t->dtype()));
      for (const auto& t : outs)
        out_bytes += t.numel() * static_cast<int64_t>(dtype_size(t.dtype()));
      if (out_bytes > 4 * in_bytes + kMaxGrowthBytes) {
        kept.push_back(std::move(n));
        continue;
      }
    }
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      if (n.outputs[o].empty()) continue;
      ir::Value& v = g.value(n.outputs[o]);
      v.dtype = outs[o].dtype();
      std::vector<ir::Dim> dims;
      for (int64_t d : outs[o].shape()) dims.push_back({d, ""});
      v.dims = dims;
      v.data = outs[o];
    }
    folded++;
  }
  g.nodes = std::move(kept);
  if (folded) g.remove_dead();
  return folded;
}

}  // namespace qbench::passes
