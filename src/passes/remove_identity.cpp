#include <unordered_map>
#include <unordered_set>

#include "kernels/kernel.h"
#include "passes/passes.h"

namespace qbench::passes {

int remove_identity(ir::Graph& g) {
  // Identities producing these names stay: graph outputs keep the interface, and renaming cannot
  // reach the reads inside subgraphs.
  std::unordered_set<std::string> keep(g.outputs.begin(), g.outputs.end());
  for (const auto& n : g.nodes)
    if (n.has_subgraph())
      for (const auto& r : n.subgraph_reads()) keep.insert(r);
  std::unordered_map<std::string, std::string> rename;
  std::vector<ir::Node> kept;
  int removed = 0;
  for (auto& n : g.nodes) {
    for (auto& in : n.inputs) {
      auto it = rename.find(in);
      if (it != rename.end()) in = it->second;
    }
    bool is_identity = n.domain.empty() && kernels::traits_of(n).identity;
    // Dropout in training mode (opset 12+ training_mode input) is not an identity; neither is a
    // Dropout whose mask output is used.
    if (is_identity && n.op_type == "Dropout") {
      if (n.has_input(2)) is_identity = false;
      if (n.outputs.size() > 1 && !n.outputs[1].empty()) is_identity = false;
    }
    if (is_identity && !n.inputs.empty() && !keep.count(n.outputs[0])) {
      rename[n.outputs[0]] = n.inputs[0];
      removed++;
      continue;
    }
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
  if (removed) g.remove_dead();
  return removed;
}

}  // namespace qbench::passes
