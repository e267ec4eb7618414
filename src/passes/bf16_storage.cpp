// bf16 activations between bf16 convolutions: a channels-last convolution computing in bf16
// whose only readers are other such convolutions (as their data input) writes its output in
// bf16 (attribute output_dtype), and they read it as it is. Each of them rounds its input to bf16
// anyway, so the arithmetic is unchanged; what goes is the f32 tensor in between (twice the
// bytes) and the conversion each reader ran on it. In ResNet-50 that is the two inner
// activations of every bottleneck. Values that reach anything else (residual Adds, pools, graph
// outputs) stay f32, so no value is rounded that the bf16 recipe keeps in f32.
#include "kernels/kernel.h"
#include "kernels/ref/qbench_ops.h"
#include "passes/passes.h"

namespace qbench::passes {
namespace {

bool bf16_region_conv(const ir::Node& n) {
  return n.domain == kernels::ref::kQbenchDomain && n.op_type == "Conv" &&
         n.compute_type == DType::BF16 && kernels::ref::channels_last(n);
}

}  // namespace

int store_bf16_between_convs(ir::Graph& g) {
  const auto uses = g.use_counts();
  std::unordered_map<std::string, int> conv_reads;  // reads as the data input of a bf16 conv
  for (const ir::Node& n : g.nodes)
    if (bf16_region_conv(n) && n.has_input(0)) conv_reads[n.inputs[0]]++;
  int changed = 0;
  for (ir::Node& n : g.nodes) {
    if (!bf16_region_conv(n) || n.has_input(3) || n.outputs.size() != 1) continue;
    const std::string& out = n.outputs[0];
    auto u = uses.find(out);
    auto c = conv_reads.find(out);
    if (u == uses.end() || c == conv_reads.end() || u->second != c->second) continue;
    n.attrs["output_dtype"] = ir::Attribute::of_int(int64_t(DType::BF16));
    g.value(out).dtype = DType::BF16;
    changed++;
  }
  return changed;
}

}  // namespace qbench::passes
