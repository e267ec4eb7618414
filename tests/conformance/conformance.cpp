// ONNX's own backend test suite (the Debian package libonnx-testdata) run through qbench: every
// case's model is loaded with onnxio::load_model, fed its test_data_set_N/input_K.pb in
// graph-input order and run by the engine twice (default options: oneDNN kernels and passes;
// then the reference kernels only, no passes); every output is compared with output_K.pb using
// the backend tests' tolerances (rtol 1e-3, atol 1e-7; integers and bools exact; NaN == NaN).
//
// Each case ends in one state. skipped: an op qbench does not register (grouped by op), or a
// feature it explicitly does not support (sequence/optional/map values, string or float8
// tensors, map values, an opset below what the reference implements, an engine or kernel error
// that says "not supported"). Sequence and optional values are loaded from their
// SequenceProto/OptionalProto files and compared element by element. failed: a wrong output or any
// other error. passed: everything else. A failure exits with status 1; the last line is always
// `conformance: N passed, N failed, N skipped`.
//
// Each case runs in a forked child, so a crash or a hang (--timeout) fails that case only.
#include <fmt/format.h>
#include <onnx/onnx-data_pb.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/engine.h"
#include "eval/compare.h"
#include "kernels/kernel.h"
#include "onnx/onnx_io.h"
#include "onnx/tensor_pb.h"
#include "onnx/tensor_proto.h"

namespace fs = std::filesystem;
using namespace qbench;

namespace {

constexpr const char* kDefaultRoot = "/usr/share/libonnx-testdata/data";
// The suites with models and data in the package; real/ holds only download links.
constexpr const char* kSuites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

struct Options {
  std::string root = kDefaultRoot;
  std::string filter;
  std::vector<std::string> cases;  // case names ("test_abs", "node/test_abs") or directories
  bool list_failures = false;
  bool verbose = false;
  bool fork_cases = true;
  int jobs = 1;
  int timeout_s = 300;
};

enum class State { Passed, Failed, Skipped };

struct Case {
  std::string suite;  // "node"; empty for a directory given on the command line
  std::string name;   // "test_abs"
  fs::path dir;
  std::string label() const { return suite.empty() ? dir.string() : suite + "/" + name; }
};

struct Result {
  State state = State::Failed;
  std::string key;      // skipped: the missing op or the unsupported feature (grouping key)
  std::string message;  // failed: what went wrong; skipped: the exact reason
};

// ---- classification from the model file, before loading it ----

const char* elem_type_problem(int32_t t) {
  switch (t) {
    case onnx::TensorProto::STRING:
      return "string tensors";
    case onnx::TensorProto::COMPLEX64:
    case onnx::TensorProto::COMPLEX128:
      return "complex tensors";
    default:
      break;
  }
  if (t == 0 || dtype_valid(t)) return nullptr;
  if (t >= 17 && t <= 20) return "float8 tensors";
  if (t == 21 || t == 22) return "int4 tensors";
  return "tensors of an unknown element type";
}

const char* type_problem(const onnx::TypeProto& tp) {
  switch (tp.value_case()) {
    case onnx::TypeProto::kTensorType:
      return elem_type_problem(tp.tensor_type().elem_type());
    case onnx::TypeProto::kSequenceType:
      if (!tp.sequence_type().elem_type().has_tensor_type()) return "sequences of non-tensors";
      return type_problem(tp.sequence_type().elem_type());
    case onnx::TypeProto::kOptionalType: {
      const auto& e = tp.optional_type().elem_type();
      if (!e.has_tensor_type() && !e.has_sequence_type()) return "optionals of maps";
      return type_problem(e);
    }
    case onnx::TypeProto::kMapType:
      return "map values";
    case onnx::TypeProto::kSparseTensorType:
      return "sparse tensors";
    default:
      return nullptr;
  }
}

struct Scan {
  std::string missing_op;     // first op type find_op does not know
  std::string old_opset;      // first op whose reference starts at a later opset
  std::string feature;        // first unsupported value type
  std::string feature_where;  // the value or node it was found on
};

void scan_graph(const onnx::GraphProto& g, int64_t opset, Scan& s) {
  auto note_feature = [&](const char* problem, const std::string& where) {
    if (problem && s.feature.empty()) {
      s.feature = problem;
      s.feature_where = where;
    }
  };
  for (const auto* list : {&g.input(), &g.output(), &g.value_info()})
    for (const auto& vi : *list)
      if (vi.has_type()) note_feature(type_problem(vi.type()), "value '" + vi.name() + "'");
  for (const auto& init : g.initializer())
    note_feature(elem_type_problem(init.data_type()), "initializer '" + init.name() + "'");
  for (const auto& n : g.node()) {
    std::string domain = n.domain() == "ai.onnx" ? "" : n.domain();
    const kernels::OpDef* def = kernels::find_op(domain, n.op_type());
    if (!def && s.missing_op.empty())
      s.missing_op = (domain.empty() ? "" : domain + ".") + n.op_type();
    if (def && opset < def->since_opset && s.old_opset.empty())
      s.old_opset = fmt::format("{} at opset {} (reference from opset {})", n.op_type(), opset,
                                def->since_opset);
    for (const auto& a : n.attribute()) {
      if (a.has_t()) note_feature(elem_type_problem(a.t().data_type()), "node '" + n.name() + "'");
      if (a.has_g()) scan_graph(a.g(), opset, s);
      for (const auto& sub : a.graphs()) scan_graph(sub, opset, s);
    }
  }
}

// Reasons a case cannot run, from the model alone; nullopt when it should run.
std::optional<Result> classify(const fs::path& model_path) {
  std::ifstream f(model_path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  onnx::ModelProto mp;
  if (!f || !mp.ParseFromString(ss.str())) return std::nullopt;  // load_model reports it
  int64_t opset = mp.ir_version() < 3 ? 1 : 0;
  for (const auto& op : mp.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
  Scan s;
  scan_graph(mp.graph(), opset, s);
  if (!s.missing_op.empty())
    return Result{State::Skipped, s.missing_op, "op " + s.missing_op + " is not registered"};
  if (!s.old_opset.empty()) {
    std::string op = s.old_opset.substr(0, s.old_opset.find(' '));
    return Result{State::Skipped, op + " below its reference opset", s.old_opset};
  }
  if (!s.feature.empty())
    return Result{State::Skipped, s.feature, s.feature + " (" + s.feature_where + ")"};
  return std::nullopt;
}

// An engine or kernel error that states a limitation of qbench (rather than a bug): the
// message says so explicitly. The grouping key is the op and the message without node names.
std::optional<Result> explicit_limitation(const std::string& msg) {
  bool data_dependent = msg.find("data-dependent") != std::string::npos;
  bool unsupported = msg.find("not supported") != std::string::npos ||
                     msg.find("does not support") != std::string::npos;
  if (!data_dependent && !unsupported) return std::nullopt;
  // Messages start with "<Op> node '<name>': ...".
  std::string op, rest = msg;
  size_t node_at = msg.find(" node '");
  size_t colon = msg.find("': ");
  if (node_at != std::string::npos && colon != std::string::npos && node_at < colon) {
    op = msg.substr(0, node_at);
    rest = msg.substr(colon + 3);
  }
  std::string what = data_dependent ? "data-dependent input" : rest;
  // Keep the grouping key short: the first clause.
  if (size_t semi = what.find(';'); semi != std::string::npos) what = what.substr(0, semi);
  if (size_t paren = what.find(" ("); paren != std::string::npos) what = what.substr(0, paren);
  return Result{State::Skipped, op.empty() ? what : op + ": " + what, msg};
}

// Cases whose expected data is wrong for the spec qbench follows. Each is skipped with its
// reason, so the list shows in the skip table instead of silently shrinking the suite.
struct KnownIssue {
  const char* label;
  const char* key;
  const char* reason;
};
constexpr KnownIssue kKnownIssues[] = {
    {"node/test_cast_FLOAT_to_BFLOAT16", "ONNX 1.12 test data: bfloat16 by truncation",
     "the expected output truncates float32 to bfloat16 (ONNX <= 1.13's generator); Cast rounds "
     "to nearest even (ONNX >= 1.14, PyTorch), as qbench does"},
    {"node/test_castlike_FLOAT_to_BFLOAT16_expanded", "ONNX 1.12 test data: bfloat16 by truncation",
     "the expected output truncates float32 to bfloat16 (ONNX <= 1.13's generator); Cast rounds "
     "to nearest even (ONNX >= 1.14, PyTorch), as qbench does"},
};

// Thrown while running a case that turns out to need something qbench does not support.
struct SkipCase {
  Result result;
};

// ---- running one case ----

std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, fs::path>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) == 0 && n.size() > prefix.size() + 3 && n.ends_with(".pb"))
      found.emplace_back(std::stoi(n.substr(prefix.size())), e.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [i, p] : found) out.push_back(p);
  return out;
}

std::vector<fs::path> data_sets(const fs::path& dir) {
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  return sets;
}

Tensor as_bf16_if_stored_as_u16(const Tensor& t, DType expected);

// A test data file for a value of `kind`: a TensorProto, a SequenceProto of tensors, or an
// OptionalProto (empty, a tensor or a sequence).
engine::RunValue load_value_pb(const fs::path& path, ir::ValueKind kind) {
  if (kind == ir::ValueKind::Tensor) return onnxio::load_tensor_pb(path.string());
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  auto sequence = [&](const onnx::SequenceProto& sp) {
    std::vector<Tensor> items;
    for (const auto& t : sp.tensor_values())
      items.push_back(onnxio::detail::tensor_from_proto(t, path.string(), "", "sequence element"));
    if (sp.sequence_values_size() || sp.map_values_size() || sp.optional_values_size())
      throw SkipCase{{State::Skipped, "sequences of non-tensors",
                      path.string() + " holds a sequence of non-tensors"}};
    return engine::RunValue::of_sequence(std::move(items));
  };
  if (kind == ir::ValueKind::Sequence) {
    onnx::SequenceProto sp;
    if (!sp.ParseFromString(ss.str())) fail("'{}' is not a SequenceProto", path.string());
    return sequence(sp);
  }
  onnx::OptionalProto op;
  if (!op.ParseFromString(ss.str())) fail("'{}' is not an OptionalProto", path.string());
  if (op.has_tensor_value())
    return onnxio::detail::tensor_from_proto(op.tensor_value(), path.string(), "", "optional");
  if (op.has_sequence_value()) return sequence(op.sequence_value());
  return engine::RunValue::none();
}

// "" when `got` matches `want`, else what differs.
std::string compare_values(const engine::RunValue& got, const engine::RunValue& want) {
  if (got.kind != want.kind)
    return fmt::format("is a {} but the expected value is a {}", static_cast<int>(got.kind),
                       static_cast<int>(want.kind));
  if (got.kind == engine::RunValue::Kind::None) return "";
  std::vector<Tensor> g = got.sequence, w = want.sequence;
  if (got.kind == engine::RunValue::Kind::Tensor) g = {got.tensor}, w = {want.tensor};
  if (g.size() != w.size())
    return fmt::format("has {} sequence elements, expected {}", g.size(), w.size());
  for (size_t i = 0; i < g.size(); ++i) {
    eval::Comparison c = eval::compare_tensors(g[i], as_bf16_if_stored_as_u16(w[i], g[i].dtype()));
    if (!c.ok)
      return got.kind == engine::RunValue::Kind::Sequence
                 ? fmt::format("element {}: {}", i, c.mismatch)
                 : c.mismatch;
  }
  return "";
}

// ONNX's test data stores bfloat16 tensors as uint16 (NumPy has no bfloat16): reinterpret the
// bits when the other side is bf16.
Tensor as_bf16_if_stored_as_u16(const Tensor& t, DType expected) {
  if (expected == DType::BF16 && t.dtype() == DType::U16)
    return Tensor::from_data(DType::BF16, t.shape(), t.raw());
  return t;
}

// Runs every data set through one engine configuration; empty when all outputs match.
std::string run_config(const ir::Graph& graph, const engine::EngineOptions& eo,
                       const std::vector<fs::path>& sets) {
  engine::Engine eng(graph, eo);
  for (const auto& set : sets) {
    std::vector<fs::path> in_files = sorted_files(set, "input_");
    std::vector<fs::path> out_files = sorted_files(set, "output_");
    if (in_files.size() != graph.inputs.size())
      return fmt::format("{}: {} input files for {} graph inputs", set.filename().string(),
                         in_files.size(), graph.inputs.size());
    if (out_files.size() != graph.outputs.size())
      return fmt::format("{}: {} output files for {} graph outputs", set.filename().string(),
                         out_files.size(), graph.outputs.size());
    std::vector<engine::RunValue> inputs;
    for (size_t i = 0; i < in_files.size(); ++i) {
      const ir::Value& v = graph.values.at(graph.inputs[i]);
      engine::RunValue in = load_value_pb(in_files[i], v.kind);
      if (in.kind == engine::RunValue::Kind::Tensor)
        in.tensor = as_bf16_if_stored_as_u16(in.tensor, v.dtype);
      inputs.push_back(std::move(in));
    }
    // qbench runs a model only on inputs of its declared shapes; some cases' data contradicts
    // the model (the *_expanded CastLike cases declare 'like' [3, 4] and feed [1]).
    for (size_t i = 0; i < inputs.size(); ++i) {
      const ir::Value& v = graph.values.at(graph.inputs[i]);
      if (!v.dims || v.kind != ir::ValueKind::Tensor) continue;
      const Shape& shape = inputs[i].tensor.shape();
      bool ok = v.dims->size() == shape.size();
      for (size_t d = 0; ok && d < v.dims->size(); ++d)
        ok = !(*v.dims)[d].known() || (*v.dims)[d].value == shape[d];
      if (!ok)
        throw SkipCase{
            {State::Skipped, "test data contradicts the declared input shape",
             fmt::format("{}: input '{}' is {} but the model declares {}", set.filename().string(),
                         v.name, shape_str(shape), ir::dims_str(*v.dims))}};
    }
    std::vector<engine::RunValue> outputs = eng.run_values(inputs);
    for (size_t o = 0; o < outputs.size(); ++o) {
      engine::RunValue want = load_value_pb(out_files[o], graph.values.at(graph.outputs[o]).kind);
      std::string why = compare_values(outputs[o], want);
      if (!why.empty())
        return fmt::format("{}: output '{}' {}", set.filename().string(), graph.outputs[o], why);
    }
  }
  return "";
}

Result run_case(const Case& c) {
  fs::path model = c.dir / "model.onnx";
  if (auto skip = classify(model)) return *skip;
  for (const auto& k : kKnownIssues)
    if (c.label() == k.label) return {State::Skipped, k.key, k.reason};
  std::vector<fs::path> sets = data_sets(c.dir);
  if (sets.empty()) return {State::Failed, "", "no test_data_set_N directory"};
  std::string stage = "optimized";
  try {
    ir::Graph g = onnxio::load_model(model.string());
    std::string why = run_config(g, engine::EngineOptions{}, sets);
    if (!why.empty()) return {State::Failed, "", why};
    stage = "reference";
    engine::EngineOptions reference;
    reference.optimized_kernels = false;
    reference.optimize_graph = false;
    why = run_config(g, reference, sets);
    if (!why.empty()) return {State::Failed, "", "[reference kernels] " + why};
  } catch (const SkipCase& s) {
    return s.result;
  } catch (const Error& e) {
    if (auto skip = explicit_limitation(e.what()); skip && stage == "optimized") return *skip;
    return {
        State::Failed, "",
        (stage == "reference" ? "[reference kernels] error: " : "error: ") + std::string(e.what())};
  } catch (const std::exception& e) {
    return {State::Failed, "", fmt::format("internal error ({} path): {}", stage, e.what())};
  }
  return {State::Passed, "", ""};
}

// ---- process isolation ----

std::string encode(const Result& r) {
  auto flat = [](std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
  };
  return fmt::format("{}\n{}\n{}\n", static_cast<int>(r.state), flat(r.key), flat(r.message));
}

Result decode(const std::string& text) {
  std::istringstream in(text);
  std::string state, key, message;
  if (!std::getline(in, state) || !std::getline(in, key) || !std::getline(in, message))
    return {State::Failed, "", "child process ended without a result"};
  return {static_cast<State>(std::stoi(state)), key, message};
}

struct Child {
  pid_t pid;
  int fd;
  size_t index;
  std::chrono::steady_clock::time_point start;
  std::string out;
};

Result finish(Child& ch, bool timed_out, int timeout_s) {
  if (timed_out) kill(ch.pid, SIGKILL);
  close(ch.fd);
  int status = 0;
  waitpid(ch.pid, &status, 0);
  if (timed_out) return {State::Failed, "", fmt::format("timed out after {} s", timeout_s)};
  if (WIFSIGNALED(status))
    return {State::Failed, "", fmt::format("crashed: {}", strsignal(WTERMSIG(status)))};
  return decode(ch.out);
}

// Runs every case, `jobs` children at a time; results in case order.
std::vector<Result> run_all(const std::vector<Case>& cases, const Options& opt) {
  std::vector<Result> results(cases.size());
  if (!opt.fork_cases) {
    for (size_t i = 0; i < cases.size(); ++i) results[i] = run_case(cases[i]);
    return results;
  }
  std::vector<Child> running;
  size_t next = 0;
  while (next < cases.size() || !running.empty()) {
    while (next < cases.size() && static_cast<int>(running.size()) < opt.jobs) {
      int fds[2];
      if (pipe(fds) != 0) fail("pipe: {}", std::strerror(errno));
      std::fflush(stdout);
      pid_t pid = fork();
      if (pid < 0) fail("fork: {}", std::strerror(errno));
      if (pid == 0) {
        close(fds[0]);
        std::string text = encode(run_case(cases[next]));
        for (size_t done = 0; done < text.size();) {
          ssize_t w = write(fds[1], text.data() + done, text.size() - done);
          if (w <= 0) break;
          done += static_cast<size_t>(w);
        }
        _exit(0);
      }
      close(fds[1]);
      running.push_back({pid, fds[0], next++, std::chrono::steady_clock::now(), ""});
    }
    std::vector<pollfd> pfds;
    for (const auto& ch : running) pfds.push_back({ch.fd, POLLIN, 0});
    poll(pfds.data(), pfds.size(), 200);
    auto now = std::chrono::steady_clock::now();
    for (size_t k = running.size(); k-- > 0;) {
      Child& ch = running[k];
      bool eof = false;
      if (pfds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[4096];
        ssize_t n = read(ch.fd, buf, sizeof buf);
        if (n > 0)
          ch.out.append(buf, static_cast<size_t>(n));
        else
          eof = true;
      }
      bool timed_out = !eof && now - ch.start > std::chrono::seconds(opt.timeout_s);
      if (eof || timed_out) {
        results[ch.index] = finish(ch, timed_out, opt.timeout_s);
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(k));
      }
    }
  }
  return results;
}

// ---- command line and report ----

const char* kUsage =
    "usage: conformance [--data DIR] [--filter SUBSTRING] [--case NAME|DIR]... [--list-failures]\n"
    "                   [--verbose] [-j N] [--timeout SECONDS] [--no-fork]\n"
    "  --data DIR         root holding node/, pytorch-converted/, pytorch-operator/, simple/\n"
    "                     (default "
    "/usr/share/libonnx-testdata/data)\n"
    "  --filter SUBSTRING run only cases whose suite/name contains SUBSTRING\n"
    "  --case NAME|DIR    run one case: test_abs, node/test_abs, or a case directory (repeatable)\n"
    "  --list-failures    print the failing cases one per line (suite/name) before the counts\n"
    "  --verbose          print every case with its state and reason\n"
    "  -j N               cases run at once, each in its own process (default 1)\n"
    "  --timeout SECONDS  a case running longer fails (default 300)\n"
    "  --no-fork          run cases in this process (for a debugger)\n"
    "exit status: 0 all passed or skipped, 1 a case failed, 2 bad arguments, 77 no test data\n";

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail("{} needs a value", a);
      return argv[++i];
    };
    if (a == "--data")
      o.root = value();
    else if (a == "--filter")
      o.filter = value();
    else if (a == "--case")
      o.cases.push_back(value());
    else if (a == "--list-failures")
      o.list_failures = true;
    else if (a == "--verbose")
      o.verbose = true;
    else if (a == "--no-fork")
      o.fork_cases = false;
    else if (a == "-j")
      o.jobs = std::max(1, std::stoi(value()));
    else if (a == "--timeout")
      o.timeout_s = std::max(1, std::stoi(value()));
    else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else
      fail("unknown argument '{}'", a);
  }
  return o;
}

std::vector<Case> collect(const Options& o) {
  std::vector<Case> all;
  for (const char* suite : kSuites) {
    fs::path dir = fs::path(o.root) / suite;
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& d : dirs) all.push_back({suite, d.filename().string(), d});
  }
  std::vector<Case> chosen;
  if (!o.cases.empty()) {
    for (const auto& want : o.cases) {
      size_t before = chosen.size();
      for (const auto& c : all)
        if (c.name == want || c.label() == want) chosen.push_back(c);
      if (chosen.size() == before) {
        if (!fs::exists(fs::path(want) / "model.onnx"))
          fail("'{}' is neither a case under '{}' nor a directory with model.onnx", want, o.root);
        chosen.push_back({"", fs::path(want).filename().string(), fs::path(want)});
      }
    }
  } else {
    chosen = all;
  }
  if (!o.filter.empty())
    std::erase_if(chosen,
                  [&](const Case& c) { return c.label().find(o.filter) == std::string::npos; });
  return chosen;
}

// Exit status when the test data is not installed; CTest reports the test as skipped.
constexpr int kNoTestData = 77;

int run(int argc, char** argv) {
  Options opt = parse_args(argc, argv);
  if (opt.cases.empty() && !fs::is_directory(fs::path(opt.root) / "node")) {
    fmt::print(
        "conformance: no ONNX backend test data under '{}' (install the Debian package "
        "libonnx-testdata or pass --data DIR)\n",
        opt.root);
    return kNoTestData;
  }
  std::vector<Case> cases = collect(opt);
  std::vector<Result> results = run_all(cases, opt);

  struct Counts {
    int passed = 0, failed = 0, skipped = 0;
  };
  std::map<std::string, Counts> per_suite;
  Counts total;
  std::map<std::string, int> skip_groups;
  std::vector<std::string> failures;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const Result& r = results[i];
    Counts& s = per_suite[c.suite.empty() ? "(directories)" : c.suite];
    switch (r.state) {
      case State::Passed:
        s.passed++, total.passed++;
        if (opt.verbose) fmt::print("passed   {}\n", c.label());
        break;
      case State::Skipped:
        s.skipped++, total.skipped++;
        skip_groups[r.key]++;
        if (opt.verbose) fmt::print("skipped  {}: {}\n", c.label(), r.message);
        break;
      case State::Failed:
        s.failed++, total.failed++;
        failures.push_back(c.label());
        fmt::print("FAILED   {}: {}\n", c.label(), r.message);
        break;
    }
  }
  if (!skip_groups.empty()) {
    std::vector<std::pair<std::string, int>> groups(skip_groups.begin(), skip_groups.end());
    std::stable_sort(groups.begin(), groups.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<std::string> parts;
    for (const auto& [key, n] : groups)
      parts.push_back(fmt::format("{} ({} case{})", key, n, n == 1 ? "" : "s"));
    fmt::print("skipped: {}\n", fmt::join(parts, ", "));
  }
  if (opt.list_failures) {
    fmt::print("failures ({}):\n", failures.size());
    for (const auto& f : failures) fmt::print("  {}\n", f);
  }
  for (const auto& [suite, s] : per_suite)
    fmt::print("{}: {} passed, {} failed, {} skipped\n", suite, s.passed, s.failed, s.skipped);
  fmt::print("conformance: {} passed, {} failed, {} skipped\n", total.passed, total.failed,
             total.skipped);
  return total.failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "conformance: error: %s\n", e.what());
    return 2;
  }
}
