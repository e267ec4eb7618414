#include "passes/passes.h"

namespace qbench::passes {

void optimize(ir::Graph& g, const OptimizeOptions& options) {
  remove_identity(g);
  fold_constants(g);
  fold_batchnorm(g);
  fuse_gelu(g);
  fuse_activations(g);
  // After activation fusion, so Relu/Clip between an op and its QuantizeLinear are absorbed.
  if (fuse_qdq(g)) remove_identity(g);
  // Residual Adds into the float convolutions before them and bias Adds into the matmuls, then
  // the activations after them.
  if (fuse_residual(g) + fuse_matmul_bias(g)) fuse_activations(g);
  if (to_channels_last(g)) {
    fuse_int8_residual(g);
    if (options.bf16_storage) store_bf16_between_convs(g);
  }
  g.remove_dead();
}

}  // namespace qbench::passes
