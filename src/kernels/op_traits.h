#pragma once
// What qbench knows about an op beyond computing it: the part of its descriptor (kernels::OpDef)
// that the passes, the quantizer, the recipes and inspect ask, so none of them keeps its own list
// of op types. One OpTraits per op, written in the op's registry line (registry_ref.cpp, or
// qbench_ops.cpp for qbench's internal ops) next to its inference and reference kernel; the
// functions it names live in the op's file. docs/architecture.md: "How to add an op".
#include <cstdint>
#include <span>

#include "ir/graph.h"

namespace qbench::kernels {

struct TensorType;

// The dense families: the ops whose weight input holds nearly all of a model's parameters and
// MACs. The recipes rewrite their weights (fp16/bf16, dynamic and weight-only int8), the
// saturation estimate reads them, and integer forms (ConvInteger, QLinearConv...) belong to the
// family of the float op they compute.
enum class Dense : uint8_t { None, Conv, Gemm, MatMul };

// How static quantization places Q/DQ around the op; quant/qdq.cpp has one handler per role.
enum class QdqRole : uint8_t {
  None,        // no quantized form: stays float
  Conv,        // activation 0, weight 1 (per output channel, axis 0), int32 bias 2
  Gemm,        // activation 0, 2-D weight 1 (axis from transB), int32 bias 2 when beta = 1
  MatMul,      // activation 0; input 1 an activation, or a weight (per column when 2-D)
  AllInputs,   // every input an activation; the output has its own scale (Add, Concat)
  FirstInput,  // input 0 an activation; the output has its own scale (AveragePool)
  SameScale,   // data movement: the output shares input 0's scale (ONNX Runtime's "direct 8-bit")
};

// What passes/fuse_qdq rewrites a DequantizeLinear -> op -> QuantizeLinear pattern into.
enum class IntegerForm : uint8_t {
  None,
  Conv,           // QLinearConv
  MatMul,         // QLinearMatMul, QGemm (with its bias Add), or MatMulIntegerToFloat
  Gemm,           // QGemm / QLinearMatMul on B laid out [K, N], or MatMulIntegerToFloat
  MatMulInteger,  // DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul: MatMulIntegerToFloat
  Add,            // QLinearAdd
  AveragePool,    // QLinearAveragePool / QLinearGlobalAveragePool
  Concat,         // QLinearConcat
  SameScale,      // runs unchanged on the integers (same scale and zero point on both sides)
  SameScaleInt,   // as SameScale, as qbench's integer op of the same name (MaxPool, opset >= 12)
  ClampIdentity,  // Relu: an identity on integers whose zero point is the lowest value
};

// Whether an activation can be fused into the op before it (passes/fuse_activations).
enum class Fusable : uint8_t {
  No,
  Yes,             // an element-wise function the host applies to its output
  ConstantBounds,  // Clip: only with constant bounds
};

// What the engine runs itself instead of a kernel (engine/interpreter).
enum class Interpreted : uint8_t { No, If, Loop, Scan, Sequence };

// How an op's form changed at OpTraits::form_changed_at (quant/recipes.cpp's upgrade_opset).
enum class FormChange : uint8_t {
  None,
  AxesToInput,     // the `axes` attribute became input 1 (Squeeze, Unsqueeze, ReduceSum at 13)
  SplitToInput,    // the `split` attribute became input 1 (Split at 13)
  OneAxis,         // the input is no longer coerced to 2-D at `axis` (Softmax family at 13)
  BoundsToInputs,  // min/max attributes became inputs 1, 2 (Clip at 11)
  PadsToInputs,    // pads/value attributes became inputs 1, 2 (Pad at 11)
  SliceToInputs,   // starts/ends/axes attributes became inputs 1-3 (Slice at 10)
};

// Multiply-accumulates of one run of the node at the given concrete types.
using MacsFn = int64_t (*)(const ir::Node& node, std::span<const TensorType> in,
                           std::span<const TensorType> out);

struct OpTraits {
  Dense dense = Dense::None;
  int8_t weight_input = -1;        // the dense op's weight input (QLinearConv: 3)
  bool integer = false;            // computes on integers: inspect reports it as int8
  MacsFn macs = nullptr;           // nullptr: no MACs counted
  bool hosts_activations = false;  // fuse_activations appends activations to it (float ops)
  Fusable fusable = Fusable::No;
  bool clamp = false;  // a clamp (Relu, Clip): an integer op's saturation can do it, so the
                       // quantizer puts Q/DQ after it and the QDQ fusion absorbs it
  QdqRole qdq = QdqRole::None;
  bool qdq_absorbs_clamp = false;  // a following Relu/Clip belongs to the op's quantized output
  bool qdq_output_always = false;  // output Q/DQ even when no quantized op reads it (its
                                   // integer form writes integers: QLinearConv)
  IntegerForm integer_form = IntegerForm::None;
  // Channels-last regions (passes/channels_last.cpp): data inputs (bit i = input i) that take
  // NHWC when the op is converted; `nhwc_seed` ops (2-D convolutions) start a region, the others
  // join one when all those inputs are already NHWC.
  uint16_t nhwc_inputs = 0;
  // An input added to the result before the fused activations (qbench.Conv's residual Z,
  // passes/fuse_add.cpp), or -1.
  int8_t residual_input = -1;
  bool nhwc_seed = false;
  // The converted op becomes qbench's form with channels_last=1; element-wise ops, which compute
  // the same on any layout, stay as they are.
  bool nhwc_attr = false;
  // f(s * x) = s * f(x) for a positive per-channel scale s of its one data input (Relu,
  // LeakyRelu, MaxPool, AveragePool): cross-layer equalization (quant/equalize.cpp) passes it.
  bool scale_equivariant = false;
  // Inputs that are quantization scales (bit i = input i): where constant, the loader requires
  // them finite and positive.
  uint8_t scale_inputs = 0;
  bool identity = false;  // passes its input through (Identity; Dropout in inference)
  // Output 0 is input 0's bytes under another shape (Reshape, Flatten, Squeeze, Unsqueeze,
  // Identity): the plan makes it a view of the input's buffer (Step::view) instead of a copy.
  bool same_bytes = false;
  // Its outputs are consecutive pieces of input 0 along its `axis` attribute (Split): where the
  // dimensions before that axis are all 1, each output is a run of the input's bytes, and the
  // plan makes it a view of the input's buffer at its offset (Step::view) instead of a copy.
  bool pieces_of_input = false;
  // Its output for one item of the first axis depends on other items in ways shapes do not
  // show (a recurrence over time, a running sum, boxes that index the batch): the engine never
  // splits a batch through it (Engine::batch_split).
  bool batch_coupled = false;
  // Its `axis` attribute, when absent, is 0 (Gather, GatherElements, ScatterElements): on a
  // batch in input 0, indices along it address other images' rows.
  bool axis_defaults_to_batch = false;
  bool shape_only =
      false;  // reads only its input's shape (Shape, Size): folds once shapes are known
  Interpreted interpreted = Interpreted::No;
  // Opset upgrade (quant/recipes.cpp, opsets 7 to 13): -1 unknown (not carried over), 0 same
  // form throughout, N the opset where its inputs/attributes changed form, as `form_change`
  // says (the upgrade rewrites it).
  int8_t form_changed_at = -1;
  FormChange form_change = FormChange::None;
};

}  // namespace qbench::kernels
