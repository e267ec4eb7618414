#pragma once
// Kernel factories of the oneDNN backend, one per op family; registry_onednn.cpp lists them.
#include <memory>
#include <string>

#include "kernels/kernel.h"

namespace qbench::kernels::onednn {

std::unique_ptr<Kernel> make_onednn_conv(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_gemm(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_matmul(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_pool(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_global_pool(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_eltwise(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_binary(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_softmax(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_layernorm(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_concat(const KernelInit& init, std::string& why_not);
// --- h2: nn ops ---
std::unique_ptr<Kernel> make_onednn_deconv(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_resample(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_prelu(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_lrn(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_instance_norm(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_rnn(const KernelInit& init, std::string& why_not);

// How Conv activations (plain NCHW at the kernel interface) meet the primitive:
//  Plain   - the primitive works on NCHW directly (oneDNN picks im2col + GEMM for most shapes);
//  Nhwc    - reorder to NHWC around a primitive that prefers it (brgconv on AVX-512);
//  Blocked - reorder to nChw16c around the direct JIT convolution.
// The default is the one measured fastest on this project's machines
// (benchmarks/micro/kernels.cpp).
enum class ConvLayout { Plain, Nhwc, Blocked };
void set_conv_layout(ConvLayout layout);
ConvLayout conv_layout();

// Whether f32 Conv kernels made from now on may take oneDNN's Winograd convolution where it pays
// (conv.cpp winograd_pays; on by default): tests compare it with the direct kernels.
void set_winograd(bool on);
bool use_winograd();

// Whether f32 MatMul/Gemm kernels made from now on may take qbench's matrix-vector kernel
// (gemv_f32.h; on by default): tests compare it with oneDNN's matmul.
void set_gemv_f32(bool on);

}  // namespace qbench::kernels::onednn
