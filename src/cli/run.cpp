#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "cli/commands.h"
#include "cli/common.h"
#include "data/npy.h"
#include "eval/compare.h"
#include "onnx/onnx_io.h"

namespace qbench::cli {
namespace {

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;    // NAME=FILE.npy
  std::vector<std::string> compares;  // NAME=FILE.npy[:TOL]
  std::string out_dir;
  int threads = 1;
  bool reference = false;
  bool relative_to_scale = false;
};

constexpr double kDefaultCompareTolerance = 1e-4;

std::string describe_value(const ir::Graph& g, const std::string& name) {
  const ir::Value& v = g.values.at(name);
  return fmt::format("'{}' ({} {})", name, dtype_name(v.dtype),
                     v.dims ? ir::dims_str(*v.dims) : "?");
}

std::string value_list(const ir::Graph& g, const std::vector<std::string>& names) {
  std::vector<std::string> parts;
  for (const auto& n : names) parts.push_back(describe_value(g, n));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// "NAME=PATH" -> {NAME, PATH}; a bare PATH names the model's only input.
std::pair<std::string, std::string> split_binding(const std::string& arg, const char* option,
                                                  const ir::Graph& g,
                                                  const std::vector<std::string>& names) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos) {
    if (names.size() == 1) return {names[0], arg};
    fail("{} '{}' must be NAME=FILE.npy (the model has {} {}s: {})", option, arg, names.size(),
         option == std::string("--input") ? "input" : "output", value_list(g, names));
  }
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

// File name for an output: characters other than [A-Za-z0-9._-] become '_'. Converters write
// names of several hundred characters (TensorFlow scopes); file systems take 255, so a long name
// keeps its start and gets a hash of the whole name instead of the rest.
std::string file_stem(const std::string& name) {
  constexpr size_t kMaxStem = 128;
  std::string s = name.empty() ? std::string("output") : name;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (s == "." || s == "..") s = "_" + s;
  if (s.size() > kMaxStem) {
    uint64_t h = 14695981039346656037ull;  // FNV-1a
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
    s = fmt::format("{}_{:016x}", s.substr(0, kMaxStem - 17), h);
  }
  return s;
}

// NumPy's name of a dtype, for hints on how to write an input file.
const char* numpy_name(DType t) {
  static const std::pair<DType, const char*> kNames[] = {
      {DType::F32, "float32"}, {DType::F64, "float64"}, {DType::F16, "float16"},
      {DType::I8, "int8"},     {DType::U8, "uint8"},    {DType::I16, "int16"},
      {DType::U16, "uint16"},  {DType::I32, "int32"},   {DType::I64, "int64"},
      {DType::U32, "uint32"},  {DType::U64, "uint64"},  {DType::Bool, "bool_"}};
  for (const auto& [dt, name] : kNames)
    if (dt == t) return name;
  return nullptr;
}

// Why an input file does not fit the model's input, with a hint at the usual cause.
std::string shape_hint(const Shape& got, const std::vector<ir::Dim>& want) {
  if (want.empty())
    return " (a 0-d array: save numpy.array(VALUE) rather than a list or a 1-element array)";
  if (got.size() != want.size()) return "";
  // The same sizes in another order is almost always channels-first data for a channels-last
  // model (or the reverse): converters from TensorFlow keep NHWC.
  std::vector<int64_t> g(got.begin(), got.end()), w;
  for (const auto& d : want) {
    if (!d.known()) return "";
    w.push_back(d.value);
  }
  std::sort(g.begin(), g.end());
  std::sort(w.begin(), w.end());
  if (g != w) return "";
  return " (the same sizes in another order: check the layout, e.g. NHWC (channels last) versus "
         "NCHW)";
}

struct Stats {
  double min = 0, max = 0, mean = 0;
  int64_t nan = 0;
};

Stats stats(const Tensor& t) {
  Stats s;
  std::vector<double> v;
  if (t.dtype() == DType::F64) {
    v.assign(t.data<double>(), t.data<double>() + t.numel());
  } else {
    std::vector<float> f = t.to_float();
    v.assign(f.begin(), f.end());
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
  int64_t n = 0;
  for (double x : v) {
    if (std::isnan(x)) {
      s.nan++;
      continue;
    }
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    sum += x;
    n++;
  }
  if (n) s = {lo, hi, sum / static_cast<double>(n), s.nan};
  return s;
}

// The scale of an expected output: its largest finite magnitude (0 when it has none).
double output_scale(const Tensor& t) {
  if (!dtype_is_float(t.dtype())) return 0;
  double scale = 0;
  if (t.dtype() == DType::F64) {
    for (int64_t i = 0; i < t.numel(); ++i)
      if (std::isfinite(t.data<double>()[i]))
        scale = std::max(scale, std::abs(t.data<double>()[i]));
  } else {
    for (float x : t.to_float())
      if (std::isfinite(x)) scale = std::max(scale, static_cast<double>(std::abs(x)));
  }
  return scale;
}

struct CompareSpec {
  std::string output;
  std::string path;
  double tolerance = kDefaultCompareTolerance;
};

CompareSpec parse_compare(const std::string& arg, const ir::Graph& g) {
  auto [name, rest] = split_binding(arg, "--compare", g, g.outputs);
  CompareSpec c{name, rest};
  // A trailing ":NUMBER" is the tolerance; anything else after ':' stays part of the path.
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos) {
    std::string tol = rest.substr(colon + 1);
    char* end = nullptr;
    double v = std::strtod(tol.c_str(), &end);
    if (!tol.empty() && end && *end == '\0') {
      if (!(v >= 0)) fail("--compare '{}': tolerance must be a number >= 0", arg);
      c.path = rest.substr(0, colon);
      c.tolerance = v;
    }
  }
  if (std::find(g.outputs.begin(), g.outputs.end(), c.output) == g.outputs.end())
    fail("--compare '{}': the model has no output '{}'; its outputs are {}", arg, c.output,
         value_list(g, g.outputs));
  return c;
}

void run_run(const RunArgs& a) {
  ir::Graph g = onnxio::load_model(a.model);
  const std::vector<std::string> input_names = g.inputs;
  const std::vector<std::string> output_names = g.outputs;

  std::map<std::string, std::string> files;
  for (const auto& arg : a.inputs) {
    auto [name, path] = split_binding(arg, "--input", g, input_names);
    if (std::find(input_names.begin(), input_names.end(), name) == input_names.end())
      fail("--input '{}': the model has no input '{}'; its inputs are {}", arg, name,
           value_list(g, input_names));
    if (!files.emplace(name, path).second)
      fail("--input '{}': input '{}' is given twice", arg, name);
  }
  std::vector<std::string> missing;
  for (const auto& n : input_names)
    if (!files.count(n)) missing.push_back(n);
  if (!missing.empty())
    fail("no --input for model input{} {}", missing.size() > 1 ? "s" : "", value_list(g, missing));
  std::vector<CompareSpec> compares;
  for (const auto& arg : a.compares) compares.push_back(parse_compare(arg, g));

  std::vector<Tensor> inputs;
  for (const auto& n : input_names) {
    Tensor t = data::load_npy(files.at(n));
    const ir::Value& v = g.values.at(n);
    if (v.dtype != DType::Undefined && v.dtype != t.dtype())
      fail("input '{}' from '{}' is {} but the model expects {}{}", n, files.at(n),
           dtype_name(t.dtype()), dtype_name(v.dtype),
           numpy_name(v.dtype)
               ? fmt::format(" (save it with numpy's .astype(numpy.{}))", numpy_name(v.dtype))
               : std::string());
    if (v.dims) {
      bool ok = v.dims->size() == t.shape().size();
      for (size_t d = 0; ok && d < t.shape().size(); ++d)
        ok = !(*v.dims)[d].known() || (*v.dims)[d].value == t.shape()[d];
      if (!ok)
        fail("input '{}' from '{}' has shape {} but the model expects {}{}", n, files.at(n),
             shape_str(t.shape()), ir::dims_str(*v.dims), shape_hint(t.shape(), *v.dims));
    }
    inputs.push_back(std::move(t));
  }

  engine::EngineOptions eo;
  eo.threads = a.threads;
  eo.optimized_kernels = !a.reference;
  engine::Engine eng(std::move(g), eo);
  std::vector<Tensor> outputs = eng.run(inputs);

  std::vector<std::string> out_files(outputs.size());
  if (!a.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.out_dir, ec);
    if (ec) fail("cannot create output directory '{}': {}", a.out_dir, ec.message());
    std::set<std::string> used;
    for (size_t i = 0; i < outputs.size(); ++i) {
      // Two names that sanitize alike ("a/b", "a:b") get distinct files.
      std::string stem = file_stem(output_names[i]), f = stem;
      for (int k = 2; used.count(f); ++k) f = fmt::format("{}_{}", stem, k);
      used.insert(f);
      out_files[i] = (std::filesystem::path(a.out_dir) / (f + ".npy")).string();
      data::save_npy(outputs[i], out_files[i]);
    }
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& t = outputs[i];
    Stats s = stats(t);
    std::string line =
        fmt::format("{}  {} {}", output_names[i], dtype_name(t.dtype()), shape_str(t.shape()));
    if (t.numel() > 0)
      line += fmt::format("  min {:.6g} max {:.6g} mean {:.6g}", s.min, s.max, s.mean);
    if (s.nan) line += fmt::format("  ({} NaN)", s.nan);
    if (!out_files[i].empty()) line += "  -> " + out_files[i];
    fmt::print("{}\n", line);
  }

  bool all_ok = true;
  for (const auto& c : compares) {
    size_t i = std::find(output_names.begin(), output_names.end(), c.output) - output_names.begin();
    Tensor want = data::load_npy(c.path);
    // Relative to the scale, an element near zero in an output of large values may differ by
    // what float32 rounding of the large ones leaves (summation order, fused kernels).
    const double scale = a.relative_to_scale ? output_scale(want) : 0;
    eval::Comparison r =
        eval::compare_tensors(outputs[i], want,
                              a.relative_to_scale ? eval::Tolerance{c.tolerance * scale, 0}
                                                  : eval::Tolerance{c.tolerance, c.tolerance});
    std::string errors =
        a.relative_to_scale
            ? fmt::format(
                  "max abs error {:.3g}, max error / scale {:.3g} (scale {:.6g}, "
                  "tolerance {:g})",
                  r.max_abs_error, scale > 0 ? r.max_abs_error / scale : r.max_abs_error, scale,
                  c.tolerance)
            : fmt::format("max abs error {:.3g}, max rel error {:.3g} (tolerance {:g})",
                          r.max_abs_error, r.max_rel_error, c.tolerance);
    fmt::print("compare {} with {}: {}: {}\n", c.output, c.path, errors,
               r.ok ? std::string("ok")
               : r.mismatches > 0
                   ? fmt::format("MISMATCH ({} elements out of tolerance, first at {})",
                                 r.mismatches, r.mismatch)
                   : fmt::format("MISMATCH ({})", r.mismatch));
    all_ok = all_ok && r.ok;
  }
  if (!all_ok) {
    std::fflush(stdout);
    std::exit(1);
  }
}

}  // namespace

void register_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* c = app.add_subcommand(
      "run", "Run a model on NumPy inputs and write every output as a .npy file");
  c->add_option("--model", a->model, "ONNX model file")->required();
  c->add_option("--input", a->inputs,
                "NAME=FILE.npy for each model input (any dtype and rank; a bare FILE.npy when the "
                "model has one input). Repeat the option for several inputs");
  c->add_option("--out", a->out_dir,
                "Directory for the outputs, one DIR/<output name>.npy each (characters other than "
                "letters, digits, '.', '_' and '-' in names become '_')");
  c->add_option(
      "--compare", a->compares,
      "NAME=FILE.npy[:TOL]: check output NAME against an expected .npy; every element "
      "must satisfy |got - want| <= TOL * (1 + |want|) (default TOL 1e-4; integers "
      "exact; NaN equals NaN). Prints the max abs/rel error; exit status 1 on a mismatch");
  c->add_flag("--relative-to-scale", a->relative_to_scale,
              "With --compare: judge each output against its scale instead: every element must "
              "satisfy |got - want| <= TOL * S, S the largest finite |want| of that output "
              "(integers stay exact)");
  c->add_option("--threads", a->threads, "Threads for every kernel")
      ->check(in_range(1, 1024))
      ->capture_default_str();
  c->add_flag("--reference", a->reference,
              "Run the plain reference kernels only (slow; the oracle)");
  c->callback([a] { run_run(*a); });
}

}  // namespace qbench::cli
