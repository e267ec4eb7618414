#pragma once
// Pieces shared by the subcommands.
#include <string>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "engine/engine.h"
#include "eval/evaluate.h"
#include "ir/graph.h"

namespace qbench::cli {

// Preprocessing from --mean/--std when given, else the model's own, else ToTensor.
data::Preprocess choose_preprocess(const ir::Graph& g, const std::string& mean,
                                   const std::string& std);
// A progress reporter for stderr: a bar redrawn in place on a terminal, a line every ~10%
// otherwise; silent when `quiet`.
std::function<void(int64_t, int64_t)> progress_printer(const std::string& label, bool quiet);
// Machine and build description recorded with every result.
nlohmann::json machine_json(int threads);

}  // namespace qbench::cli
