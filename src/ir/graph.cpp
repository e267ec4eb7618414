#include "ir/graph.h"

#include <functional>
#include <unordered_set>

#include "core/error.h"

namespace qbench::ir {

std::string dims_str(const std::vector<Dim>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    if (dims[i].known())
      s += std::to_string(dims[i].value);
    else
      s += dims[i].param.empty() ? "?" : dims[i].param;
  }
  return s + "]";
}

Attribute Attribute::of_float(float v) {
  Attribute a;
  a.kind = Kind::Float;
  a.f = v;
  return a;
}
Attribute Attribute::of_int(int64_t v) {
  Attribute a;
  a.kind = Kind::Int;
  a.i = v;
  return a;
}
Attribute Attribute::of_string(std::string v) {
  Attribute a;
  a.kind = Kind::String;
  a.s = std::move(v);
  return a;
}
Attribute Attribute::of_ints(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Kind::Ints;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::of_floats(std::vector<float> v) {
  Attribute a;
  a.kind = Kind::Floats;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::of_tensor(Tensor v) {
  Attribute a;
  a.kind = Kind::Tensor;
  a.t = std::move(v);
  return a;
}

namespace {
// Structural equality of subgraphs: nodes, interface and constants (so a saved and reloaded
// If/Loop compares equal to the original).
bool same_graph(const Graph& a, const Graph& b) {
  if (a.name != b.name || a.inputs != b.inputs || a.outputs != b.outputs ||
      a.nodes.size() != b.nodes.size())
    return false;
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    if (x.op_type != y.op_type || x.domain != y.domain || x.inputs != y.inputs ||
        x.outputs != y.outputs || x.attrs != y.attrs)
      return false;
  }
  auto constants = [](const Graph& g) {
    std::map<std::string, const Tensor*> m;
    for (const auto& [name, v] : g.values)
      if (v.data) m[name] = &*v.data;
    return m;
  };
  auto ca = constants(a), cb = constants(b);
  if (ca.size() != cb.size()) return false;
  for (const auto& [name, t] : ca) {
    auto it = cb.find(name);
    if (it == cb.end() || !t->same_as(*it->second)) return false;
  }
  return true;
}
}  // namespace

bool Attribute::operator==(const Attribute& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::Float:
      return f == o.f;
    case Kind::Int:
      return i == o.i;
    case Kind::String:
    case Kind::TypeProto:
      return s == o.s;
    case Kind::Tensor:
      return t.same_as(o.t);
    case Kind::Graph:
      return g == o.g || (g && o.g && same_graph(*g, *o.g));
    case Kind::Floats:
      return floats == o.floats;
    case Kind::Ints:
      return ints == o.ints;
    case Kind::Strings:
      return strings == o.strings;
    case Kind::Undefined:
      return true;
  }
  return false;
}

const Attribute* Node::attr(const std::string& k) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? nullptr : &it->second;
}

namespace {
const Attribute* typed(const Node& n, const std::string& k, Attribute::Kind kind,
                       const char* what) {
  const Attribute* a = n.attr(k);
  if (a && a->kind != kind) fail("{}: attribute '{}' should be {}", n.describe(), k, what);
  return a;
}
}  // namespace

int64_t Node::attr_int(const std::string& k, int64_t def) const {
  const Attribute* a = typed(*this, k, Attribute::Kind::Int, "an int");
  return a ? a->i : def;
}
float Node::attr_float(const std::string& k, float def) const {
  const Attribute* a = typed(*this, k, Attribute::Kind::Float, "a float");
  return a ? a->f : def;
}
std::string Node::attr_string(const std::string& k, const std::string& def) const {
  const Attribute* a = typed(*this, k, Attribute::Kind::String, "a string");
  return a ? a->s : def;
}
std::vector<int64_t> Node::attr_ints(const std::string& k, std::vector<int64_t> def) const {
  const Attribute* a = typed(*this, k, Attribute::Kind::Ints, "a list of ints");
  return a ? a->ints : def;
}
std::vector<float> Node::attr_floats(const std::string& k, std::vector<float> def) const {
  const Attribute* a = typed(*this, k, Attribute::Kind::Floats, "a list of floats");
  return a ? a->floats : def;
}

std::string Node::describe() const {
  return fmt::format("{} node '{}'", op_type,
                     name.empty() ? (outputs.empty() ? "?" : outputs[0]) : name);
}

bool Node::has_subgraph() const {
  for (const auto& [k, a] : attrs)
    if (a.kind == Attribute::Kind::Graph && a.g) return true;
  return false;
}

std::vector<std::string> Node::subgraph_reads() const {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto& [k, a] : attrs)
    if (a.kind == Attribute::Kind::Graph && a.g)
      for (auto& name : a.g->outer_reads())
        if (seen.insert(name).second) out.push_back(std::move(name));
  return out;
}

std::vector<std::string> Graph::outer_reads() const {
  std::unordered_set<std::string> defined(inputs.begin(), inputs.end());
  for (const auto& [name, v] : values)
    if (v.data) defined.insert(name);
  for (const auto& n : nodes)
    for (const auto& o : n.outputs) defined.insert(o);
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  auto note = [&](const std::string& name) {
    if (!name.empty() && !defined.count(name) && seen.insert(name).second) out.push_back(name);
  };
  for (const auto& n : nodes) {
    for (const auto& i : n.inputs) note(i);
    if (n.has_subgraph())
      for (const auto& i : n.subgraph_reads()) note(i);
  }
  for (const auto& o : outputs) note(o);
  return out;
}

int64_t Graph::opset() const {
  auto it = opsets.find("");
  if (it == opsets.end()) it = opsets.find("ai.onnx");
  return it == opsets.end() ? 0 : it->second;
}

Value& Graph::value(const std::string& n) {
  auto [it, inserted] = values.try_emplace(n);
  if (inserted) it->second.name = n;
  return it->second;
}

const Value* Graph::find(const std::string& n) const {
  auto it = values.find(n);
  return it == values.end() ? nullptr : &it->second;
}
Value* Graph::find(const std::string& n) {
  auto it = values.find(n);
  return it == values.end() ? nullptr : &it->second;
}

const Tensor* Graph::constant(const std::string& n) const {
  const Value* v = find(n);
  return v && v->data ? &*v->data : nullptr;
}

std::string Graph::metadata_value(const std::string& key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return v;
  return "";
}

std::unordered_map<std::string, size_t> Graph::producers() const {
  std::unordered_map<std::string, size_t> p;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs)
      if (!o.empty()) p[o] = i;
  return p;
}

std::unordered_map<std::string, int> Graph::use_counts() const {
  std::unordered_map<std::string, int> u;
  for (const auto& n : nodes) {
    for (const auto& i : n.inputs)
      if (!i.empty()) u[i]++;
    if (n.has_subgraph())
      for (const auto& i : n.subgraph_reads()) u[i]++;
  }
  for (const auto& o : outputs) u[o]++;
  return u;
}

void Graph::toposort() {
  auto prod = producers();
  // Depth-first, dependencies before their readers, with an explicit stack: a model may chain
  // hundreds of thousands of nodes, more than the call stack holds.
  std::vector<int> state(nodes.size(), 0);  // 0 new, 1 on the stack, 2 done
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  auto reads_of = [&](size_t i) {
    std::vector<std::string> reads = nodes[i].inputs;
    if (nodes[i].has_subgraph())
      for (auto& in : nodes[i].subgraph_reads()) reads.push_back(std::move(in));
    return reads;
  };
  struct Frame {
    size_t node;
    std::vector<std::string> reads;
    size_t next = 0;
  };
  for (size_t root = 0; root < nodes.size(); ++root) {
    if (state[root] != 0) continue;
    std::vector<Frame> stack;
    stack.push_back({root, reads_of(root)});
    state[root] = 1;
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.next < f.reads.size()) {
        const std::string& in = f.reads[f.next++];
        if (in.empty()) continue;
        auto it = prod.find(in);
        if (it == prod.end() || state[it->second] == 2) continue;
        if (state[it->second] == 1)
          fail("graph '{}' has a cycle through {}", name, nodes[it->second].describe());
        state[it->second] = 1;
        stack.push_back({it->second, reads_of(it->second)});
        continue;
      }
      state[f.node] = 2;
      sorted.push_back(nodes[f.node]);
      stack.pop_back();
    }
  }
  nodes = std::move(sorted);
}

void Graph::remove_nodes(const std::vector<bool>& drop) {
  std::vector<Node> kept;
  kept.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    if (i >= drop.size() || !drop[i]) kept.push_back(std::move(nodes[i]));
  nodes = std::move(kept);
}

void Graph::remove_dead() {
  std::unordered_set<std::string> live(outputs.begin(), outputs.end());
  std::vector<bool> keep(nodes.size(), false);
  for (size_t k = nodes.size(); k-- > 0;) {
    bool used = false;
    for (const auto& o : nodes[k].outputs)
      if (live.count(o)) used = true;
    if (!used) continue;
    keep[k] = true;
    for (const auto& i : nodes[k].inputs)
      if (!i.empty()) live.insert(i);
    if (nodes[k].has_subgraph())
      for (const auto& i : nodes[k].subgraph_reads()) live.insert(i);
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < nodes.size(); ++k)
    if (keep[k]) kept.push_back(std::move(nodes[k]));
  nodes = std::move(kept);
  for (const auto& n : nodes)
    for (const auto& o : n.outputs) live.insert(o);
  for (const auto& i : inputs) live.insert(i);
  for (auto it = values.begin(); it != values.end();)
    it = live.count(it->first) ? std::next(it) : values.erase(it);
}

int64_t Graph::parameter_count() const {
  std::unordered_set<std::string> seen;
  int64_t n = 0;
  for (const auto& node : nodes)
    for (const auto& i : node.inputs)
      if (const Tensor* t = constant(i); t && seen.insert(i).second && dtype_is_float(t->dtype()))
        n += t->numel();
  return n;
}

std::string unique_name(const Graph& g, const std::string& base) {
  auto taken = [&](const std::string& n) {
    if (g.values.count(n)) return true;
    for (const auto& node : g.nodes) {
      if (node.name == n) return true;
      for (const auto& o : node.outputs)
        if (o == n) return true;
    }
    return false;
  };
  if (!taken(base)) return base;
  for (int i = 1;; ++i) {
    std::string n = base + "_" + std::to_string(i);
    if (!taken(n)) return n;
  }
}

std::string add_initializer(Graph& g, const std::string& base, Tensor t) {
  std::string name = unique_name(g, base);
  Value& v = g.value(name);
  v.dtype = t.dtype();
  std::vector<Dim> dims;
  for (int64_t d : t.shape()) dims.push_back({d, ""});
  v.dims = std::move(dims);
  v.data = std::move(t);
  return name;
}

}  // namespace qbench::ir
