#pragma once
// Kernel factories of the oneDNN integer and quantized ops (qconv.cpp, qmatmul.cpp, qops.cpp);
// registry_onednn.cpp lists them.
#include <memory>
#include <string>

#include "kernels/kernel.h"

namespace qbench::kernels::onednn {

std::unique_ptr<Kernel> make_onednn_qconv(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_qmatmul(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_conv_integer(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_matmul_integer(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_matmul_integer_to_float(const KernelInit& init,
                                                            std::string& why_not);
std::unique_ptr<Kernel> make_onednn_qadd(const KernelInit& init, std::string& why_not);
// MaxPool of any dtype: uint8/int8 on the int8 pooling, f32 on make_onednn_pool.
std::unique_ptr<Kernel> make_onednn_max_pool(const KernelInit& init, std::string& why_not);
// Transpose of any float or 8-bit tensor as one reorder.
std::unique_ptr<Kernel> make_onednn_transpose(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_qglobal_avg_pool(const KernelInit& init, std::string& why_not);
// Per-tensor QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear as vectorized loops
// (qconvert.cpp), bit-exact with the reference.
std::unique_ptr<Kernel> make_native_quantize(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_native_dequantize(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_native_dynamic_quantize(const KernelInit& init, std::string& why_not);

}  // namespace qbench::kernels::onednn
