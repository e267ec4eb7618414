// The oneDNN kernels, tried before the reference kernel of each op (kernel.h).
#include "kernels/onednn/factories.h"
#include "kernels/onednn/qfactories.h"
#include "kernels/onednn/registry.h"

namespace qbench::kernels {

using namespace onednn;

namespace {

constexpr OptimizedKernelDef kOptimized[] = {
    {"Conv", "onednn", make_onednn_conv},
    {"Gemm", "onednn", make_onednn_gemm},
    {"MatMul", "onednn", make_onednn_matmul},
    {"MaxPool", "onednn", make_onednn_max_pool},
    {"AveragePool", "onednn", make_onednn_pool},
    {"GlobalAveragePool", "onednn", make_onednn_global_pool},
    {"GlobalMaxPool", "onednn", make_onednn_global_pool},
    {"Relu", "onednn", make_onednn_eltwise},
    {"LeakyRelu", "onednn", make_onednn_eltwise},
    {"Clip", "onednn", make_onednn_eltwise},
    {"Sigmoid", "onednn", make_onednn_eltwise},
    {"Tanh", "onednn", make_onednn_eltwise},
    {"HardSigmoid", "onednn", make_onednn_eltwise},
    {"HardSwish", "onednn", make_onednn_eltwise},
    {"Gelu", "onednn", make_onednn_eltwise},
    {"Elu", "onednn", make_onednn_eltwise},
    {"Softplus", "onednn", make_onednn_eltwise},
    {"Neg", "onednn", make_onednn_eltwise},
    {"Exp", "onednn", make_onednn_eltwise},
    // No Log: oneDNN 2.6's eltwise log gives -1.4e-6 for log(1), beyond ONNX's conformance
    // tolerance; the reference kernel is exact and Log is rare on hot paths.
    {"Sqrt", "onednn", make_onednn_eltwise},
    {"Abs", "onednn", make_onednn_eltwise},
    {"Add", "onednn", make_onednn_binary},
    {"Sub", "onednn", make_onednn_binary},
    {"Mul", "onednn", make_onednn_binary},
    {"Div", "onednn", make_onednn_binary},
    {"Max", "onednn", make_onednn_binary},
    {"Min", "onednn", make_onednn_binary},
    {"Softmax", "onednn", make_onednn_softmax},
    {"LogSoftmax", "onednn", make_onednn_softmax},
    {"LayerNormalization", "onednn", make_onednn_layernorm},
    {"Concat", "onednn", make_onednn_concat},
    // Integer kernels for QDQ models (the QDQ fusion pass makes the qbench.* ops).
    {"QLinearConv", "onednn", make_onednn_qconv},
    {"QLinearMatMul", "onednn", make_onednn_qmatmul},
    {"QGemm", "onednn", make_onednn_qmatmul},
    {"MatMulInteger", "onednn", make_onednn_matmul_integer},
    {"MatMulIntegerToFloat", "onednn", make_onednn_matmul_integer_to_float},
    {"ConvInteger", "onednn", make_onednn_conv_integer},
    {"QLinearAdd", "onednn", make_onednn_qadd},
    {"QLinearGlobalAveragePool", "native", make_qglobal_avg_pool},
    {"QuantizeLinear", "native", make_native_quantize},
    {"DequantizeLinear", "native", make_native_dequantize},
    {"DynamicQuantizeLinear", "native", make_native_dynamic_quantize},
    {"Transpose", "onednn", make_onednn_transpose},
    // --- h2: nn ops ---
    {"ConvTranspose", "onednn", make_onednn_deconv},
    {"Resize", "onednn", make_onednn_resample},
    {"Upsample", "onednn", make_onednn_resample},
    {"PRelu", "onednn", make_onednn_prelu},
    {"LRN", "onednn", make_onednn_lrn},
    {"InstanceNormalization", "onednn", make_onednn_instance_norm},
    {"LSTM", "onednn", make_onednn_rnn},
    {"GRU", "onednn", make_onednn_rnn},
    {"RNN", "onednn", make_onednn_rnn},
};

}  // namespace

std::span<const OptimizedKernelDef> optimized_kernels() {
  return kOptimized;
}

}  // namespace qbench::kernels
