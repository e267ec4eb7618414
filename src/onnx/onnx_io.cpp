#include "onnx/onnx_io.h"

#include <google/protobuf/io/coded_stream.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "kernels/kernel.h"
#include "onnx/tensor_proto.h"

namespace qbench::onnxio {
namespace {

using detail::read_file;

struct LoadCtx {
  std::string origin;
  std::string base_dir;
};

Tensor tensor_from_proto(const onnx::TensorProto& tp, const LoadCtx& ctx, const char* role) {
  return detail::tensor_from_proto(tp, ctx.origin, ctx.base_dir, role);
}

void type_from_proto(const onnx::ValueInfoProto& vi, ir::Value& v, const LoadCtx& ctx) {
  // A type may be absent or present but empty (exporters write `type {}` for If branch outputs);
  // ONNX allows both, and the engine infers what it needs.
  if (!vi.has_type() || vi.type().value_case() == onnx::TypeProto::VALUE_NOT_SET) return;
  // Sequences and optionals keep their nesting in ir::Value::kind; dtype and dims describe the
  // tensor elements.
  const onnx::TypeProto* tp = &vi.type();
  if (tp->has_optional_type()) {
    tp = &tp->optional_type().elem_type();
    v.kind = tp->has_sequence_type() ? ir::ValueKind::OptionalSequence : ir::ValueKind::Optional;
  }
  if (tp->has_sequence_type()) {
    tp = &tp->sequence_type().elem_type();
    if (v.kind == ir::ValueKind::Tensor) v.kind = ir::ValueKind::Sequence;
  }
  if (!tp->has_tensor_type())
    fail(
        "value '{}' in '{}' is not a tensor, a sequence of tensors or an optional (map and "
        "sparse types are not supported)",
        vi.name(), ctx.origin);
  const auto& tt = tp->tensor_type();
  if (tt.elem_type() != 0) {
    if (!dtype_valid(tt.elem_type()))
      fail("value '{}' in '{}' has unsupported element type {}", vi.name(), ctx.origin,
           tt.elem_type());
    v.dtype = static_cast<DType>(tt.elem_type());
  }
  if (tt.has_shape()) {
    std::vector<ir::Dim> dims;
    for (const auto& d : tt.shape().dim()) {
      ir::Dim dim;
      if (d.has_dim_value()) dim.value = d.dim_value();
      if (d.has_dim_param()) dim.param = d.dim_param();
      dims.push_back(dim);
    }
    v.dims = std::move(dims);
  }
}

ir::Graph graph_from_proto(const onnx::GraphProto& gp, const LoadCtx& ctx);

ir::Attribute attr_from_proto(const onnx::AttributeProto& ap, const ir::Node& node,
                              const LoadCtx& ctx) {
  using K = ir::Attribute::Kind;
  ir::Attribute a;
  switch (ap.type()) {
    case onnx::AttributeProto::FLOAT:
      a.kind = K::Float;
      a.f = ap.f();
      break;
    case onnx::AttributeProto::INT:
      a.kind = K::Int;
      a.i = ap.i();
      break;
    case onnx::AttributeProto::STRING:
      a.kind = K::String;
      a.s = ap.s();
      break;
    case onnx::AttributeProto::TENSOR:
      a.kind = K::Tensor;
      a.t = tensor_from_proto(ap.t(), ctx, "attribute tensor");
      break;
    case onnx::AttributeProto::GRAPH:
      a.kind = K::Graph;
      a.g = std::make_shared<ir::Graph>(graph_from_proto(ap.g(), ctx));
      break;
    case onnx::AttributeProto::FLOATS:
      a.kind = K::Floats;
      a.floats.assign(ap.floats().begin(), ap.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      a.kind = K::Ints;
      a.ints.assign(ap.ints().begin(), ap.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      a.kind = K::Strings;
      a.strings.assign(ap.strings().begin(), ap.strings().end());
      break;
    case onnx::AttributeProto::TYPE_PROTO:
      a.kind = K::TypeProto;
      a.s = ap.tp().SerializeAsString();
      break;
    default:
      fail("{} in '{}': attribute '{}' has unsupported type {}", node.describe(), ctx.origin,
           ap.name(), static_cast<int>(ap.type()));
  }
  return a;
}

ir::Graph graph_from_proto(const onnx::GraphProto& gp, const LoadCtx& ctx) {
  ir::Graph g;
  g.name = gp.name();
  g.doc_string = gp.doc_string();
  std::unordered_set<std::string> init_names;
  for (const auto& init : gp.initializer()) {
    if (init.name().empty()) fail("'{}' has an initializer without a name", ctx.origin);
    if (init_names.count(init.name()))
      fail("'{}' has two initializers named '{}'", ctx.origin, init.name());
    ir::Value& v = g.value(init.name());
    v.data = tensor_from_proto(init, ctx, "initializer");
    v.dtype = v.data->dtype();
    std::vector<ir::Dim> dims;
    for (int64_t d : v.data->shape()) dims.push_back({d, ""});
    v.dims = dims;
    init_names.insert(init.name());
  }
  for (const auto& in : gp.input()) {
    if (init_names.count(in.name())) continue;  // an initializer listed as input (IR < 4)
    type_from_proto(in, g.value(in.name()), ctx);
    g.inputs.push_back(in.name());
  }
  for (const auto& vi : gp.value_info()) {
    ir::Value& v = g.value(vi.name());
    if (!v.data) type_from_proto(vi, v, ctx);
  }
  for (const auto& out : gp.output()) {
    ir::Value& v = g.value(out.name());
    if (!v.data) type_from_proto(out, v, ctx);
    g.outputs.push_back(out.name());
  }
  // Each value has one producer: a graph input, an initializer, or one node output. A second
  // one would silently win (the last write), so it is refused.
  std::unordered_map<std::string, std::string> producer;
  for (const auto& name : init_names) producer[name] = "an initializer";
  for (const auto& name : g.inputs) producer[name] = "a graph input";
  for (const auto& np : gp.node()) {
    ir::Node n;
    n.name = np.name();
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    // A node that names no output computes nothing anyone can read (and kernels write at least
    // one output), so it is refused rather than dropped.
    if (std::all_of(n.outputs.begin(), n.outputs.end(), [](const auto& o) { return o.empty(); }))
      fail("'{}': {} names no output", ctx.origin, n.describe());
    for (const auto& ap : np.attribute()) {
      if (!ap.ref_attr_name().empty())
        fail("{} in '{}': attribute references (functions) are not supported", n.describe(),
             ctx.origin);
      n.attrs[ap.name()] = attr_from_proto(ap, n, ctx);
    }
    for (const auto& o : n.outputs) {
      if (o.empty()) continue;
      auto [it, fresh] = producer.emplace(o, n.describe());
      if (!fresh)
        fail("'{}': {} and {} both produce '{}'", ctx.origin, it->second, n.describe(), o);
      g.value(o);
    }
    for (const auto& i : n.inputs)
      if (!i.empty()) g.value(i);
    g.nodes.push_back(std::move(n));
  }
  return g;
}

// ---- saving ----

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* tp) {
  tp->set_name(name);
  tp->set_data_type(static_cast<int>(t.dtype()));
  for (int64_t d : t.shape()) tp->add_dims(d);
  tp->set_raw_data(t.raw(), t.nbytes());
}

void type_to_proto(const ir::Value& v, onnx::ValueInfoProto* vi) {
  vi->set_name(v.name);
  onnx::TypeProto* tp = vi->mutable_type();
  if (v.kind == ir::ValueKind::Optional || v.kind == ir::ValueKind::OptionalSequence)
    tp = tp->mutable_optional_type()->mutable_elem_type();
  if (v.kind == ir::ValueKind::Sequence || v.kind == ir::ValueKind::OptionalSequence)
    tp = tp->mutable_sequence_type()->mutable_elem_type();
  auto* tt = tp->mutable_tensor_type();
  tt->set_elem_type(static_cast<int>(v.dtype));
  if (v.dims) {
    auto* shape = tt->mutable_shape();
    for (const auto& d : *v.dims) {
      auto* dp = shape->add_dim();
      if (d.known())
        dp->set_dim_value(d.value);
      else if (!d.param.empty())
        dp->set_dim_param(d.param);
    }
  }
}

void graph_to_proto(const ir::Graph& g, onnx::GraphProto* gp);

void attr_to_proto(const std::string& name, const ir::Attribute& a, onnx::AttributeProto* ap) {
  using K = ir::Attribute::Kind;
  ap->set_name(name);
  switch (a.kind) {
    case K::Float:
      ap->set_type(onnx::AttributeProto::FLOAT);
      ap->set_f(a.f);
      break;
    case K::Int:
      ap->set_type(onnx::AttributeProto::INT);
      ap->set_i(a.i);
      break;
    case K::String:
      ap->set_type(onnx::AttributeProto::STRING);
      ap->set_s(a.s);
      break;
    case K::Tensor:
      ap->set_type(onnx::AttributeProto::TENSOR);
      tensor_to_proto(a.t, "", ap->mutable_t());
      break;
    case K::Graph:
      ap->set_type(onnx::AttributeProto::GRAPH);
      graph_to_proto(*a.g, ap->mutable_g());
      break;
    case K::Floats:
      ap->set_type(onnx::AttributeProto::FLOATS);
      for (float f : a.floats) ap->add_floats(f);
      break;
    case K::Ints:
      ap->set_type(onnx::AttributeProto::INTS);
      for (int64_t i : a.ints) ap->add_ints(i);
      break;
    case K::Strings:
      ap->set_type(onnx::AttributeProto::STRINGS);
      for (const auto& s : a.strings) ap->add_strings(s);
      break;
    case K::TypeProto:
      ap->set_type(onnx::AttributeProto::TYPE_PROTO);
      ap->mutable_tp()->ParseFromString(a.s);
      break;
    case K::Undefined:
      break;
  }
}

void node_to_proto(const ir::Node& n, onnx::GraphProto* gp) {
  // A node with fused activations is written as the node itself followed by one node per
  // activation, chained through fresh intermediate names.
  std::vector<std::string> outs = n.outputs;
  std::string final_out = n.outputs.empty() ? "" : n.outputs[0];
  std::string cur = final_out;
  if (!n.fused.empty()) {
    cur = final_out + "__prefuse0";
    outs[0] = cur;
  }
  auto* np = gp->add_node();
  np->set_name(n.name);
  np->set_op_type(n.op_type);
  if (!n.domain.empty()) np->set_domain(n.domain);
  for (const auto& i : n.inputs) np->add_input(i);
  for (const auto& o : outs) np->add_output(o);
  for (const auto& [k, a] : n.attrs) attr_to_proto(k, a, np->add_attribute());
  for (size_t f = 0; f < n.fused.size(); ++f) {
    const ir::FusedOp& op = n.fused[f];
    std::string next =
        f + 1 == n.fused.size() ? final_out : final_out + "__prefuse" + std::to_string(f + 1);
    auto* fp = gp->add_node();
    fp->set_name(op.name);
    fp->set_op_type(op.op_type);
    fp->add_input(cur);
    if (op.op_type == "Clip" && op.attrs.empty()) {
      // Opset >= 11 Clip takes its bounds as inputs: write them as initializers.
      std::string lo = next + "__min", hi = next + "__max";
      tensor_to_proto(Tensor::scalar(op.clip_min), lo, gp->add_initializer());
      tensor_to_proto(Tensor::scalar(op.clip_max), hi, gp->add_initializer());
      fp->add_input(lo);
      fp->add_input(hi);
    }
    fp->add_output(next);
    for (const auto& [k, a] : op.attrs) attr_to_proto(k, a, fp->add_attribute());
    cur = next;
  }
}

void graph_to_proto(const ir::Graph& g, onnx::GraphProto* gp) {
  gp->set_name(g.name);
  if (!g.doc_string.empty()) gp->set_doc_string(g.doc_string);
  std::vector<std::string> const_names;
  for (const auto& [name, v] : g.values)
    if (v.data) const_names.push_back(name);
  std::sort(const_names.begin(), const_names.end());
  for (const auto& name : const_names)
    tensor_to_proto(*g.values.at(name).data, name, gp->add_initializer());
  for (const auto& in : g.inputs) type_to_proto(g.values.at(in), gp->add_input());
  for (const auto& out : g.outputs) type_to_proto(g.values.at(out), gp->add_output());
  for (const auto& n : g.nodes) node_to_proto(n, gp);
  // Intermediate shapes we know, so other tools see them too.
  std::unordered_set<std::string> io(g.inputs.begin(), g.inputs.end());
  io.insert(g.outputs.begin(), g.outputs.end());
  std::vector<std::string> names;
  for (const auto& [name, v] : g.values)
    if (!v.data && !io.count(name) && v.dtype != DType::Undefined) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) type_to_proto(g.values.at(name), gp->add_value_info());
}

}  // namespace

namespace {

// The newest ONNX versions qbench implements: opset 18 (ONNX 1.13) for the default domain. IR
// versions up to 10 differ from 8 only in data types the loader refuses one by one.
constexpr int64_t kMaxOpset = 18, kMaxIrVersion = 10;

void validate_versions(const ir::Graph& g, const std::string& origin) {
  if (g.ir_version > kMaxIrVersion)
    fail("'{}' has ir_version {}: qbench reads ONNX IR versions 1 to {}", origin, g.ir_version,
         kMaxIrVersion);
  const int64_t opset = g.opsets.at("");
  if (opset < 1 || opset > kMaxOpset)
    fail("'{}' imports opset {} of the default ONNX domain: qbench supports opsets 1 to {}", origin,
         opset, kMaxOpset);
}

// Quantization parameters that are constants must make sense: a scale of 0, a negative one, NaN
// or infinity would divide by zero or poison every value the kernels compute.
void validate_quant_params(const ir::Graph& g, const std::string& origin) {
  for (const auto& n : g.nodes) {
    const uint8_t scales = kernels::traits_of(n).scale_inputs;  // the op's descriptor
    for (size_t i = 0; i < n.inputs.size() && i < 8; ++i) {
      if (!(scales >> i & 1)) continue;
      const Tensor* t = g.constant(n.inputs[i]);
      if (!t || (t->dtype() != DType::F32 && t->dtype() != DType::F16 &&
                 t->dtype() != DType::BF16 && t->dtype() != DType::F64))
        continue;
      for (float v : t->to_float())
        if (!(v > 0) || !std::isfinite(v))
          fail("'{}': {} has scale '{}' = {}; scales must be finite and positive", origin,
               n.describe(), n.inputs[i], v);
    }
  }
}

// A default-domain node with more inputs than its ONNX schema allows (at the model's opset) is
// refused: the engine's own forms of some ops take extra inputs (qbench.Conv's residual, a
// residual QLinearConv's addend), and a malformed Conv with a fourth input would otherwise be
// read as one. Nodes inside subgraphs too; ops ONNX has no schema for are left to inference.
void validate_arity(const ir::Graph& g, int64_t opset, const std::string& origin) {
  for (const auto& n : g.nodes) {
    if (n.domain.empty())
      if (const onnx::OpSchema* s = onnx::OpSchemaRegistry::Schema(n.op_type, int(opset), ""))
        if (static_cast<int64_t>(n.inputs.size()) > s->max_input())
          fail("'{}': {} has {} inputs; ONNX {} (opset {}) takes at most {}", origin, n.describe(),
               n.inputs.size(), n.op_type, opset, s->max_input());
    for (const auto& [name, a] : n.attrs)
      if (a.g) validate_arity(*a.g, opset, origin);
  }
}

}  // namespace

ir::Graph load_model_from_bytes(const std::string& bytes, const std::string& origin,
                                const std::string& base_dir) {
  if (bytes.empty()) fail("model file '{}' is empty", origin);
  onnx::ModelProto mp;
  google::protobuf::io::CodedInputStream cis(reinterpret_cast<const uint8_t*>(bytes.data()),
                                             static_cast<int>(bytes.size()));
  cis.SetTotalBytesLimit(INT_MAX);
  if (!mp.ParseFromCodedStream(&cis) || !cis.ConsumedEntireMessage())
    fail("'{}' is not a valid ONNX model: the protobuf could not be parsed (truncated or not ONNX)",
         origin);
  if (!mp.has_graph() || mp.graph().node_size() == 0)
    fail("'{}' is not a valid ONNX model: it has no graph nodes", origin);
  if (mp.ir_version() <= 0) fail("'{}' is not a valid ONNX model: ir_version is missing", origin);
  LoadCtx ctx{origin, base_dir};
  ir::Graph g = graph_from_proto(mp.graph(), ctx);
  g.ir_version = mp.ir_version();
  g.producer_name = mp.producer_name();
  g.producer_version = mp.producer_version();
  for (const auto& op : mp.opset_import())
    g.opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
  if (!g.opsets.count("")) {
    if (mp.ir_version() < 3)
      g.opsets[""] = 1;
    else
      fail("'{}' declares no opset for the default ONNX domain", origin);
  }
  for (const auto& kv : mp.metadata_props()) g.metadata.emplace_back(kv.key(), kv.value());
  validate_versions(g, origin);
  validate_arity(g, g.opsets.at(""), origin);
  validate_quant_params(g, origin);
  // ONNX files list nodes in topological order; one that does not is put in order here, and a
  // cycle is named instead of surfacing later as an input "not produced".
  try {
    g.toposort();
  } catch (const Error& e) {
    fail("'{}': {}", origin, e.what());
  }
  return g;
}

ir::Graph load_model(const std::string& path) {
  std::string bytes = read_file(path, "model");
  std::string dir = std::filesystem::path(path).parent_path().string();
  return load_model_from_bytes(bytes, path, dir.empty() ? "." : dir);
}

std::string serialize_model(const ir::Graph& g) {
  // The graph passes' internal ops (QDQ fusion's integer ops, residual and channels-last forms)
  // have no ONNX form: save the graph as loaded or quantized, not an engine's optimized copy.
  for (const auto& n : g.nodes)
    if (n.domain == "qbench")
      fail(
          "cannot save node '{}': qbench.{} is an engine-internal op made by qbench's graph passes; save "
          "the model before optimization",
          n.name, n.op_type);
  onnx::ModelProto mp;
  mp.set_ir_version(g.ir_version);
  mp.set_producer_name(g.producer_name.empty() ? "qbench" : g.producer_name);
  mp.set_producer_version(g.producer_version);
  for (const auto& [domain, version] : g.opsets) {
    auto* op = mp.add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  for (const auto& [k, v] : g.metadata) {
    auto* kv = mp.add_metadata_props();
    kv->set_key(k);
    kv->set_value(v);
  }
  graph_to_proto(g, mp.mutable_graph());
  std::string out;
  if (!mp.SerializeToString(&out)) fail("could not serialize model '{}' (over 2 GB?)", g.name);
  return out;
}

void save_model(const ir::Graph& g, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail("cannot write model file '{}': it is a directory", path);
  std::string bytes = serialize_model(g);
  // Written beside the target and renamed, so a reader never sees half a model; the temporary
  // file does not outlive a failure.
  const std::string tmp = path + ".tmp";
  bool ok = false;
  {
    std::ofstream f(tmp, std::ios::binary);
    if (f) f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ok = static_cast<bool>(f);
  }
  if (ok) std::filesystem::rename(tmp, path, ec);
  if (!ok || ec) {
    const std::string why = ok ? ec.message() : std::strerror(errno);
    std::filesystem::remove(tmp, ec);
    fail("cannot write model file '{}': {}", path, why);
  }
}

}  // namespace qbench::onnxio
