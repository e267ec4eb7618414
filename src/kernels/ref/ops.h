#pragma once
// Reference operators: one inference function and one plain C++ kernel per ONNX op (some ops
// of one family share an inference function). The registry table is registry_ref.cpp.
#include <span>

#include "kernels/kernel.h"

namespace qbench::kernels::ref {

#define QBENCH_REF_INFER(name) void infer_##name(InferContext& ctx)
// MACs counters (OpTraits::macs), in the op's file.
#define QBENCH_REF_MACS(name)                                               \
  int64_t macs_##name(const ir::Node& node, std::span<const TensorType> in, \
                      std::span<const TensorType> out)
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
QBENCH_REF_MACS(conv);
QBENCH_REF_MACS(qlinear_conv);
QBENCH_REF_MACS(gemm);
QBENCH_REF_MACS(matmul);  // MatMul and its integer forms

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
// Shared by the ONNX ops and qbench's forms of them (qbench_ops.cpp: with kept activations).
inline constexpr OpTraits kQLinearConvTraits = {.dense = Dense::Conv,
                                                .weight_input = 3,
                                                .integer = true,
                                                .macs = macs_qlinear_conv,
                                                .nhwc_inputs = 1,
                                                .nhwc_seed = true,
                                                .nhwc_attr = true,
                                                .scale_inputs = 1 << 1 | 1 << 4 | 1 << 6,
                                                .form_changed_at = 0};
inline constexpr OpTraits kQLinearMatMulTraits = {.dense = Dense::MatMul,
                                                  .weight_input = 3,
                                                  .integer = true,
                                                  .macs = macs_matmul,
                                                  .scale_inputs = 1 << 1 | 1 << 4 | 1 << 6,
                                                  .form_changed_at = 0};

// --- h2: nn ops ---
// conv_transpose.cpp, resize.cpp (Resize and Upsample), rnn.cpp (RNN, GRU, LSTM).
QBENCH_REF_INFER(conv_transpose);
QBENCH_REF_KERNEL(conv_transpose);
QBENCH_REF_INFER(resize);
QBENCH_REF_KERNEL(resize);
QBENCH_REF_INFER(rnn);
QBENCH_REF_KERNEL(rnn);
QBENCH_REF_MACS(conv_transpose);
QBENCH_REF_MACS(rnn);
// norm_extra.cpp
QBENCH_REF_INFER(instance_norm);
QBENCH_REF_KERNEL(instance_norm);
QBENCH_REF_INFER(lrn);
QBENCH_REF_KERNEL(lrn);
QBENCH_REF_INFER(mvn);
QBENCH_REF_KERNEL(mvn);
QBENCH_REF_INFER(prelu);
QBENCH_REF_KERNEL(prelu);
// BatchNormalization with training_mode=1: batch statistics, updated running mean and variance.
void batch_norm_training(const ir::Node& node, std::span<const Tensor* const> inputs,
                         std::span<Tensor* const> outputs);
// space_ops.cpp
QBENCH_REF_INFER(depth_to_space);
QBENCH_REF_KERNEL(depth_to_space);
QBENCH_REF_INFER(space_to_depth);
QBENCH_REF_KERNEL(space_to_depth);
QBENCH_REF_INFER(max_unpool);
QBENCH_REF_KERNEL(max_unpool);
// MaxPool's Indices output (flat input offsets, row- or column-major per storage_order).
struct WindowGeom;
void max_pool_indices(const ir::Node& node, const Tensor& x, const WindowGeom& g, Tensor& idx);
// sampling.cpp
QBENCH_REF_INFER(grid_sample);
QBENCH_REF_KERNEL(grid_sample);
QBENCH_REF_INFER(roi_align);
QBENCH_REF_KERNEL(roi_align);

// --- h3: math, reductions, indexing, losses ---
// math_ops.cpp: infer_unary_math takes f32/f64/f16/bf16, infer_unary_any_numeric every
// numeric dtype.
QBENCH_REF_INFER(unary_math);
QBENCH_REF_INFER(unary_any_numeric);
QBENCH_REF_KERNEL(cos);
QBENCH_REF_KERNEL(sin);
QBENCH_REF_KERNEL(tan);
QBENCH_REF_KERNEL(acos);
QBENCH_REF_KERNEL(asin);
QBENCH_REF_KERNEL(atan);
QBENCH_REF_KERNEL(cosh);
QBENCH_REF_KERNEL(sinh);
QBENCH_REF_KERNEL(acosh);
QBENCH_REF_KERNEL(asinh);
QBENCH_REF_KERNEL(atanh);
QBENCH_REF_KERNEL(ceil);
QBENCH_REF_KERNEL(floor);
QBENCH_REF_KERNEL(round);
QBENCH_REF_KERNEL(softsign);
QBENCH_REF_KERNEL(selu);
QBENCH_REF_KERNEL(celu);
QBENCH_REF_KERNEL(thresholded_relu);
QBENCH_REF_KERNEL(shrink);
QBENCH_REF_KERNEL(sign);
QBENCH_REF_INFER(is_nan_inf);
QBENCH_REF_KERNEL(is_nan);
QBENCH_REF_KERNEL(is_inf);
QBENCH_REF_INFER(mod);
QBENCH_REF_KERNEL(mod);
QBENCH_REF_INFER(bit_shift);
QBENCH_REF_KERNEL(bit_shift);
QBENCH_REF_INFER(det);
QBENCH_REF_KERNEL(det);
QBENCH_REF_KERNEL(hardmax);
QBENCH_REF_INFER(window);
QBENCH_REF_KERNEL(window);
// signal_ops.cpp
QBENCH_REF_INFER(dft);
QBENCH_REF_KERNEL(dft);
QBENCH_REF_INFER(stft);
QBENCH_REF_KERNEL(stft);
QBENCH_REF_INFER(mel_weight_matrix);
QBENCH_REF_KERNEL(mel_weight_matrix);
// tfidf.cpp
QBENCH_REF_INFER(tfidf);
QBENCH_REF_KERNEL(tfidf);
// binary.cpp (compare, logical and variadic families)
QBENCH_REF_KERNEL(greater_or_equal);
QBENCH_REF_KERNEL(less_or_equal);
QBENCH_REF_KERNEL(logical_xor);
QBENCH_REF_KERNEL(sum);
QBENCH_REF_KERNEL(mean);
// reduce.cpp (infer_reduce; ArgMin shares infer_arg_max)
QBENCH_REF_KERNEL(reduce_l1);
QBENCH_REF_KERNEL(reduce_l2);
QBENCH_REF_KERNEL(reduce_log_sum);
QBENCH_REF_KERNEL(reduce_log_sum_exp);
QBENCH_REF_KERNEL(reduce_prod);
QBENCH_REF_KERNEL(reduce_sum_square);
QBENCH_REF_KERNEL(arg_min);
// index_ops.cpp
QBENCH_REF_INFER(gather_elements);
QBENCH_REF_KERNEL(gather_elements);
QBENCH_REF_INFER(scatter_elements);
QBENCH_REF_KERNEL(scatter_elements);
QBENCH_REF_INFER(gather_nd);
QBENCH_REF_KERNEL(gather_nd);
QBENCH_REF_INFER(scatter_nd);
QBENCH_REF_KERNEL(scatter_nd);
QBENCH_REF_INFER(top_k);
QBENCH_REF_KERNEL(top_k);
QBENCH_REF_INFER(cum_sum);
QBENCH_REF_KERNEL(cum_sum);
QBENCH_REF_INFER(trilu);
QBENCH_REF_KERNEL(trilu);
QBENCH_REF_INFER(eye_like);
QBENCH_REF_KERNEL(eye_like);
QBENCH_REF_INFER(one_hot);
QBENCH_REF_KERNEL(one_hot);
QBENCH_REF_INFER(reverse_sequence);
QBENCH_REF_KERNEL(reverse_sequence);
// einsum.cpp, loss.cpp
QBENCH_REF_INFER(einsum);
QBENCH_REF_KERNEL(einsum);
QBENCH_REF_INFER(nll_loss);
QBENCH_REF_KERNEL(nll_loss);
QBENCH_REF_INFER(softmax_cross_entropy);
QBENCH_REF_KERNEL(softmax_cross_entropy);
// data_ops.cpp (CastLike shares ref_cast)
QBENCH_REF_INFER(cast_like);
QBENCH_REF_INFER(size);
QBENCH_REF_KERNEL(size);

#undef QBENCH_REF_INFER
#undef QBENCH_REF_KERNEL

}  // namespace qbench::kernels::ref
