#pragma once
// The one graph representation used end to end: ONNX op names and semantics, values named by
// strings as in ONNX. Load and save are 1:1; passes and the quantizer rewrite this structure.
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace qbench::ir {

struct Graph;

// One dimension of a value's shape: a known size, or unknown (-1) optionally named by a
// symbolic parameter such as "batch".
struct Dim {
  int64_t value = -1;
  std::string param;
  bool known() const { return value >= 0; }
  bool operator==(const Dim&) const = default;
};

// "[batch, 1, 28, 28]"
std::string dims_str(const std::vector<Dim>& dims);

// The ONNX type of a value beyond tensors: sequences of tensors and optionals (of a tensor or of
// a sequence). dtype and dims then describe the tensor elements.
enum class ValueKind { Tensor, Sequence, Optional, OptionalSequence };

struct Value {
  std::string name;
  ValueKind kind = ValueKind::Tensor;
  DType dtype = DType::Undefined;
  // Shape when the rank is known; nullopt when not even the rank is known.
  std::optional<std::vector<Dim>> dims;
  // Constant data (initializers, folded values).
  std::optional<Tensor> data;
  bool is_constant() const { return data.has_value(); }
};

struct Attribute {
  // TypeProto (Optional's `type`) keeps the serialized onnx.TypeProto in `s`.
  enum class Kind {
    Undefined,
    Float,
    Int,
    String,
    Tensor,
    Graph,
    Floats,
    Ints,
    Strings,
    TypeProto
  };
  Kind kind = Kind::Undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<ir::Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;

  static Attribute of_float(float v);
  static Attribute of_int(int64_t v);
  static Attribute of_string(std::string v);
  static Attribute of_ints(std::vector<int64_t> v);
  static Attribute of_floats(std::vector<float> v);
  static Attribute of_tensor(Tensor v);
  bool operator==(const Attribute& o) const;
};

// An element-wise activation absorbed into the node before it by the fusion pass
// (Conv/Gemm/MatMul + Relu/Clip...). Saving expands it back into its own ONNX node.
struct FusedOp {
  std::string op_type;  // "Relu", "Clip", "LeakyRelu", ...
  std::string name;     // the absorbed node's name, kept for export and reports
  std::map<std::string, Attribute> attrs;
  // For Clip at opset >= 11, whose bounds are inputs: the constant bounds (NaN = absent).
  float clip_min = -INFINITY;
  float clip_max = INFINITY;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;               // "" is the default ONNX domain
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attrs;
  std::vector<FusedOp> fused;
  // Precision a pass chose for this node's arithmetic (BF16 for a Conv/MatMul/Gemm whose weights
  // are bfloat16 constants); Undefined = the dtypes of its inputs. Set by passes, never saved.
  DType compute_type = DType::Undefined;

  bool has_attr(const std::string& k) const { return attrs.count(k) != 0; }
  // Typed attribute access with a default; a present attribute of the wrong kind is an Error
  // naming the node.
  int64_t attr_int(const std::string& k, int64_t def) const;
  float attr_float(const std::string& k, float def) const;
  std::string attr_string(const std::string& k, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& k, std::vector<int64_t> def = {}) const;
  std::vector<float> attr_floats(const std::string& k, std::vector<float> def = {}) const;
  const Attribute* attr(const std::string& k) const;
  // Number of inputs that are present (not "" and within range), counting from the front.
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
  // "Conv node 'conv1'" for error messages.
  std::string describe() const;
  // True when an attribute holds a subgraph (If branches, Loop and Scan bodies).
  bool has_subgraph() const;
  // Outer-scope values the node's subgraphs read (recursively), each once. They are inputs of
  // the node as far as liveness and ordering go, though not listed in `inputs`.
  std::vector<std::string> subgraph_reads() const;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;  // kept in topological order by passes
  std::unordered_map<std::string, Value> values;
  std::vector<std::string> inputs;  // runtime inputs (initializers excluded)
  std::vector<std::string> outputs;
  // Model-level data (kept only on the main graph).
  std::map<std::string, int64_t> opsets;  // domain -> version; "" is ai.onnx
  std::vector<std::pair<std::string, std::string>> metadata;
  int64_t ir_version = 8;
  std::string producer_name;
  std::string producer_version;
  std::string doc_string;

  int64_t opset() const;
  Value& value(const std::string& name);  // creates if missing
  const Value* find(const std::string& name) const;
  Value* find(const std::string& name);
  const Tensor* constant(const std::string& name) const;
  std::string metadata_value(const std::string& key) const;  // "" when absent
  // Values this graph's nodes read, directly or inside nested subgraphs, that the graph does not
  // define itself (inputs, constants, node outputs): what a subgraph captures from outer scopes.
  std::vector<std::string> outer_reads() const;
  // Node index producing each value name.
  std::unordered_map<std::string, size_t> producers() const;
  // Number of node inputs (and graph outputs) consuming each value; a node whose subgraph reads
  // an outer value counts as one use of it.
  std::unordered_map<std::string, int> use_counts() const;
  // Re-sorts nodes topologically (a node comes after the producers of what its subgraphs read);
  // throws Error on a cycle.
  void toposort();
  // Drops nodes whose outputs nobody uses and values nobody references.
  void remove_dead();
  // Drops the nodes marked in `drop` (one flag per node), keeping the others' order.
  void remove_nodes(const std::vector<bool>& drop);
  // Sum of constant elements (parameters) referenced by nodes.
  int64_t parameter_count() const;
};

// A name not used by any value, node or node output of g: `base`, else base_1, base_2, ...
std::string unique_name(const Graph& g, const std::string& base);
// Adds a constant value (initializer) under a fresh name derived from `base`; returns the name.
// The one way passes and recipes add constants (folded weights, quantized weights, scales).
std::string add_initializer(Graph& g, const std::string& base, Tensor t);

}  // namespace qbench::ir
