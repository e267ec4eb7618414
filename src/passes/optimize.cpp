#include "passes/passes.h"

namespace qbench::passes {

void optimize(ir::Graph& g) {
  remove_identity(g);
  fold_constants(g);
  fold_batchnorm(g);
  fuse_activations(g);
  g.remove_dead();
}

}  // namespace qbench::passes
