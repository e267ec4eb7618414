#pragma once
// Reference operators: one inference function and one plain C++ kernel per ONNX op (some ops
// of one family share an inference function). The registry table is registry_ref.cpp.
#include <span>

#include "kernels/kernel.h"

namespace qbench::kernels::ref {

#define QBENCH_REF_INFER(name) void infer_##name(InferContext& ctx)
#define QBENCH_REF_KERNEL(name)                                                               \
  void ref_##name(const ir::Node& node, int64_t opset, std::span<const Tensor* const> inputs, \
                  std::span<Tensor* const> outputs)

// conv.cpp, gemm.cpp, matmul.cpp
QBENCH_REF_INFER(conv);
QBENCH_REF_KERNEL(conv);
QBENCH_REF_INFER(gemm);
QBENCH_REF_KERNEL(gemm);
QBENCH_REF_INFER(matmul);
QBENCH_REF_KERNEL(matmul);

// pool.cpp
QBENCH_REF_INFER(max_pool);
QBENCH_REF_KERNEL(max_pool);
QBENCH_REF_INFER(average_pool);
QBENCH_REF_KERNEL(average_pool);
QBENCH_REF_INFER(global_pool);
QBENCH_REF_KERNEL(global_average_pool);
QBENCH_REF_KERNEL(global_max_pool);

// unary.cpp: infer_unary_float accepts f32, infer_unary_numeric also i32/i64.
QBENCH_REF_INFER(unary_float);
QBENCH_REF_INFER(unary_numeric);
QBENCH_REF_KERNEL(relu);
QBENCH_REF_KERNEL(sigmoid);
QBENCH_REF_KERNEL(tanh);
QBENCH_REF_KERNEL(leaky_relu);
QBENCH_REF_KERNEL(hard_sigmoid);
QBENCH_REF_KERNEL(hard_swish);
QBENCH_REF_KERNEL(gelu);
QBENCH_REF_KERNEL(erf);
QBENCH_REF_KERNEL(exp);
QBENCH_REF_KERNEL(log);
QBENCH_REF_KERNEL(sqrt);
QBENCH_REF_KERNEL(neg);
QBENCH_REF_KERNEL(abs);
QBENCH_REF_KERNEL(reciprocal);
QBENCH_REF_KERNEL(elu);
QBENCH_REF_KERNEL(softplus);
QBENCH_REF_INFER(clip);
QBENCH_REF_KERNEL(clip);
QBENCH_REF_INFER(logical_not);
QBENCH_REF_KERNEL(logical_not);
// Identity also serves Reshape, Flatten, Squeeze and Unsqueeze: output 0 = input 0's bytes.
QBENCH_REF_INFER(identity);
QBENCH_REF_KERNEL(identity);
QBENCH_REF_INFER(dropout);
QBENCH_REF_KERNEL(dropout);

// binary.cpp
QBENCH_REF_INFER(arith);
QBENCH_REF_KERNEL(add);
QBENCH_REF_KERNEL(sub);
QBENCH_REF_KERNEL(mul);
QBENCH_REF_KERNEL(div);
QBENCH_REF_INFER(pow);
QBENCH_REF_KERNEL(pow);
QBENCH_REF_INFER(compare);
QBENCH_REF_KERNEL(equal);
QBENCH_REF_KERNEL(less);
QBENCH_REF_KERNEL(greater);
QBENCH_REF_INFER(logical);
QBENCH_REF_KERNEL(logical_and);
QBENCH_REF_KERNEL(logical_or);
QBENCH_REF_INFER(where);
QBENCH_REF_KERNEL(where);
QBENCH_REF_INFER(variadic);
QBENCH_REF_KERNEL(max);
QBENCH_REF_KERNEL(min);

// softmax.cpp
QBENCH_REF_INFER(softmax);
QBENCH_REF_KERNEL(softmax);
QBENCH_REF_KERNEL(log_softmax);

// norm.cpp
QBENCH_REF_INFER(layer_norm);
QBENCH_REF_KERNEL(layer_norm);
QBENCH_REF_INFER(batch_norm);
QBENCH_REF_KERNEL(batch_norm);

// reduce.cpp
QBENCH_REF_INFER(reduce);
QBENCH_REF_KERNEL(reduce_mean);
QBENCH_REF_KERNEL(reduce_sum);
QBENCH_REF_KERNEL(reduce_max);
QBENCH_REF_KERNEL(reduce_min);
QBENCH_REF_INFER(arg_max);
QBENCH_REF_KERNEL(arg_max);

// shape_ops.cpp: ops whose output is input 0's data under a new shape, plus shape producers.
QBENCH_REF_INFER(reshape);
QBENCH_REF_INFER(flatten);
QBENCH_REF_INFER(squeeze);
QBENCH_REF_INFER(unsqueeze);
QBENCH_REF_INFER(shape);
QBENCH_REF_KERNEL(shape);
QBENCH_REF_INFER(constant);
QBENCH_REF_KERNEL(constant);
QBENCH_REF_INFER(constant_of_shape);
QBENCH_REF_KERNEL(constant_of_shape);
QBENCH_REF_INFER(expand);
QBENCH_REF_KERNEL(expand);
QBENCH_REF_INFER(range);
QBENCH_REF_KERNEL(range);

// data_ops.cpp: data movement.
QBENCH_REF_INFER(concat);
QBENCH_REF_KERNEL(concat);
QBENCH_REF_INFER(transpose);
QBENCH_REF_KERNEL(transpose);
QBENCH_REF_INFER(gather);
QBENCH_REF_KERNEL(gather);
QBENCH_REF_INFER(slice);
QBENCH_REF_KERNEL(slice);
QBENCH_REF_INFER(split);
QBENCH_REF_KERNEL(split);
QBENCH_REF_INFER(tile);
QBENCH_REF_KERNEL(tile);
QBENCH_REF_INFER(pad);
QBENCH_REF_KERNEL(pad);
QBENCH_REF_INFER(cast);
QBENCH_REF_KERNEL(cast);

// quant_ops.cpp: quantization (QDQ, dynamic and integer ops).
QBENCH_REF_INFER(quantize_linear);
QBENCH_REF_KERNEL(quantize_linear);
QBENCH_REF_INFER(dequantize_linear);
QBENCH_REF_KERNEL(dequantize_linear);
QBENCH_REF_INFER(dynamic_quantize_linear);
QBENCH_REF_KERNEL(dynamic_quantize_linear);
QBENCH_REF_INFER(matmul_integer);
QBENCH_REF_KERNEL(matmul_integer);
QBENCH_REF_INFER(conv_integer);
QBENCH_REF_KERNEL(conv_integer);
QBENCH_REF_INFER(qlinear_conv);
QBENCH_REF_KERNEL(qlinear_conv);
QBENCH_REF_INFER(qlinear_matmul);
QBENCH_REF_KERNEL(qlinear_matmul);

#undef QBENCH_REF_INFER
#undef QBENCH_REF_KERNEL

}  // namespace qbench::kernels::ref
