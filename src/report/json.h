#pragma once
// The JSON form of the results (docs/results-schema.md), used by the JSON reporter, by
// `qbench bench --json` (the child process `compare` reads) and by compare's cache.
#include <nlohmann/json.hpp>

#include "report/results.h"

namespace qbench::report {

nlohmann::json to_json(const bench::Machine& m);
nlohmann::json to_json(const bench::BenchResult& b);
// `with_predictions` adds the per-image labels (the cache keeps them; reports do not).
nlohmann::json to_json(const VariantResult& v, bool with_predictions = false);
nlohmann::json to_json(const CompareResults& r);

// Inverses, for the child's output and the cache; an Error names the missing field.
bench::BenchResult bench_from_json(const nlohmann::json& j);
VariantResult variant_from_json(const nlohmann::json& j);

}  // namespace qbench::report
