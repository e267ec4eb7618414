#pragma once
// Subcommands of the qbench CLI. Each registers itself on the app with its typed options; the
// option help strings are the documentation (docs/cli.md is generated from --help).
#include <CLI/CLI.hpp>

namespace qbench::cli {

void register_bench(CLI::App& app);
void register_compare(CLI::App& app);
void register_eval(CLI::App& app);
void register_inspect(CLI::App& app);
void register_debug(CLI::App& app);
void register_demo(CLI::App& app);
void register_tune(CLI::App& app);
void register_quantize(CLI::App& app);
void register_run(CLI::App& app);

}  // namespace qbench::cli
