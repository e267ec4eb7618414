#pragma once
// Pieces shared by the subcommands.
#include <CLI/CLI.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/engine.h"
#include "eval/evaluate.h"
#include "ir/graph.h"

namespace qbench::cli {

// Preprocessing from --mean/--std alone; none when neither is given.
std::optional<data::Preprocess> preprocess_from_flags(const std::string& mean,
                                                      const std::string& std);
// The --mean/--std options; `note` ends their help (e.g. what else they apply to).
void add_normalize_options(CLI::App* c, std::string& mean, std::string& std,
                           const std::string& note = "");
// The --resize/--crop/--grayscale options of folder datasets.
void add_image_options(CLI::App* c, data::ImageOptions& image);
// The repeatable --shape NAME=D1,D2,... option: concrete shapes for inputs whose non-batch dims
// are symbolic; parse_shapes() turns the strings into a map (an Error names a bad one).
void add_shape_option(CLI::App* c, std::vector<std::string>& shapes);
std::map<std::string, Shape> parse_shapes(const std::vector<std::string>& shapes);
// What --data accepts, for option help.
inline constexpr const char* kDataSpecHelp =
    "fashion-mnist (Debian package files), fashion-mnist:DIR or mnist:DIR (IDX files, gzip or "
    "raw), cifar10:DIR or cifar100:DIR (the binary batches), npy:INPUTS.npy,LABELS.npy "
    "(preprocessed tensors, fed as they are), folder:DIR (JPEG/PNG in class folders, "
    "torchvision ImageFolder layout; DIR/train and DIR/val are used when present), "
    "imagenet-val:DIR[,GROUND_TRUTH] (flat ILSVRC2012_val_*.JPEG files labelled by the devkit's "
    "ground truth and meta.mat or Kaggle's LOC_val_solution.csv, found in or above DIR)";
// A progress reporter for stderr: a bar redrawn in place on a terminal, a line every ~10%
// otherwise; silent when `quiet`.
std::function<void(int64_t, int64_t)> progress_printer(const std::string& label, bool quiet);
// A CLI11 check for numeric options: a finite number within [lo, hi]. NaN and infinities are
// refused (CLI::Range lets NaN through), so a bad value fails before any work starts.
CLI::Validator in_range(double lo, double hi);
// Writes `text` to `path` (binary); an Error names the file when it cannot.
void write_text_file(const std::string& path, const std::string& text);
// Machine and build description recorded with every result.
nlohmann::json machine_json(int threads);

}  // namespace qbench::cli
