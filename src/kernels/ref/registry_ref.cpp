// The operator table: one line per ONNX op, {op type, lowest opset the reference implements,
// inference, reference kernel}. Opset-dependent semantics are handled inside each op.
#include <array>

#include "kernels/ref/ops.h"

namespace qbench::kernels {

using namespace ref;

namespace {
constexpr std::array kOps = {
    // Dense
    OpDef{"Conv", 1, infer_conv, ref_conv},
    OpDef{"Gemm", 7, infer_gemm, ref_gemm},
    OpDef{"MatMul", 1, infer_matmul, ref_matmul},
    // Pools
    OpDef{"MaxPool", 1, infer_max_pool, ref_max_pool},
    OpDef{"AveragePool", 1, infer_average_pool, ref_average_pool},
    OpDef{"GlobalAveragePool", 1, infer_global_pool, ref_global_average_pool},
    OpDef{"GlobalMaxPool", 1, infer_global_pool, ref_global_max_pool},
    // Unary element-wise
    OpDef{"Relu", 1, infer_unary_numeric, ref_relu},
    OpDef{"Clip", 6, infer_clip, ref_clip},
    OpDef{"Sigmoid", 1, infer_unary_float, ref_sigmoid},
    OpDef{"Tanh", 1, infer_unary_float, ref_tanh},
    OpDef{"LeakyRelu", 1, infer_unary_float, ref_leaky_relu},
    OpDef{"HardSigmoid", 1, infer_unary_float, ref_hard_sigmoid},
    OpDef{"HardSwish", 14, infer_unary_float, ref_hard_swish},
    OpDef{"Gelu", 20, infer_unary_float, ref_gelu},
    OpDef{"Erf", 9, infer_unary_float, ref_erf},
    OpDef{"Exp", 1, infer_unary_float, ref_exp},
    OpDef{"Log", 1, infer_unary_float, ref_log},
    OpDef{"Sqrt", 1, infer_unary_float, ref_sqrt},
    OpDef{"Neg", 1, infer_unary_numeric, ref_neg},
    OpDef{"Abs", 1, infer_unary_numeric, ref_abs},
    OpDef{"Reciprocal", 1, infer_unary_float, ref_reciprocal},
    OpDef{"Elu", 1, infer_unary_float, ref_elu},
    OpDef{"Softplus", 1, infer_unary_float, ref_softplus},
    OpDef{"Identity", 1, infer_identity, ref_identity},
    OpDef{"Dropout", 7, infer_dropout, ref_dropout},
    OpDef{"Not", 1, infer_logical_not, ref_logical_not},
    // Broadcasting binary and variadic
    OpDef{"Add", 7, infer_arith, ref_add},
    OpDef{"Sub", 7, infer_arith, ref_sub},
    OpDef{"Mul", 7, infer_arith, ref_mul},
    OpDef{"Div", 7, infer_arith, ref_div},
    OpDef{"Pow", 7, infer_pow, ref_pow},
    OpDef{"Equal", 7, infer_compare, ref_equal},
    OpDef{"Less", 7, infer_compare, ref_less},
    OpDef{"Greater", 7, infer_compare, ref_greater},
    OpDef{"And", 7, infer_logical, ref_logical_and},
    OpDef{"Or", 7, infer_logical, ref_logical_or},
    OpDef{"Where", 9, infer_where, ref_where},
    OpDef{"Max", 8, infer_variadic, ref_max},
    OpDef{"Min", 8, infer_variadic, ref_min},
    // Normalization
    OpDef{"Softmax", 1, infer_softmax, ref_softmax},
    OpDef{"LogSoftmax", 1, infer_softmax, ref_log_softmax},
    OpDef{"LayerNormalization", 17, infer_layer_norm, ref_layer_norm},
    OpDef{"BatchNormalization", 7, infer_batch_norm, ref_batch_norm},
    // Reductions
    OpDef{"ReduceMean", 1, infer_reduce, ref_reduce_mean},
    OpDef{"ReduceSum", 1, infer_reduce, ref_reduce_sum},
    OpDef{"ReduceMax", 1, infer_reduce, ref_reduce_max},
    OpDef{"ReduceMin", 1, infer_reduce, ref_reduce_min},
    OpDef{"ArgMax", 1, infer_arg_max, ref_arg_max},
    // Shapes and data movement
    OpDef{"Concat", 4, infer_concat, ref_concat},
    OpDef{"Reshape", 5, infer_reshape, ref_identity},
    OpDef{"Flatten", 1, infer_flatten, ref_identity},
    OpDef{"Transpose", 1, infer_transpose, ref_transpose},
    OpDef{"Squeeze", 1, infer_squeeze, ref_identity},
    OpDef{"Unsqueeze", 1, infer_unsqueeze, ref_identity},
    OpDef{"Gather", 1, infer_gather, ref_gather},
    OpDef{"Shape", 1, infer_shape, ref_shape},
    OpDef{"Slice", 1, infer_slice, ref_slice},
    OpDef{"Split", 2, infer_split, ref_split},
    OpDef{"Constant", 1, infer_constant, ref_constant},
    OpDef{"ConstantOfShape", 9, infer_constant_of_shape, ref_constant_of_shape},
    OpDef{"Expand", 8, infer_expand, ref_expand},
    OpDef{"Cast", 6, infer_cast, ref_cast},
    OpDef{"Range", 11, infer_range, ref_range},
    OpDef{"Tile", 6, infer_tile, ref_tile},
    OpDef{"Pad", 2, infer_pad, ref_pad},
    // Quantization
    OpDef{"QuantizeLinear", 10, infer_quantize_linear, ref_quantize_linear},
    OpDef{"DequantizeLinear", 10, infer_dequantize_linear, ref_dequantize_linear},
    OpDef{"DynamicQuantizeLinear", 11, infer_dynamic_quantize_linear, ref_dynamic_quantize_linear},
    OpDef{"MatMulInteger", 10, infer_matmul_integer, ref_matmul_integer},
    OpDef{"ConvInteger", 10, infer_conv_integer, ref_conv_integer},
    OpDef{"QLinearConv", 10, infer_qlinear_conv, ref_qlinear_conv},
    OpDef{"QLinearMatMul", 10, infer_qlinear_matmul, ref_qlinear_matmul},
};
}  // namespace

std::span<const OpDef> all_ops() {
  return kOps;
}

}  // namespace qbench::kernels
