#pragma once
// Kernel factories of the oneDNN integer and quantized ops (qconv.cpp, qmatmul.cpp, qops.cpp);
// registry_onednn.cpp lists them.
#include <memory>
#include <string>

#include "kernels/kernel.h"

namespace qbench::kernels::onednn {

std::unique_ptr<Kernel> make_onednn_qconv(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_qmatmul(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_matmul_integer(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_qadd(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_onednn_int_max_pool(const KernelInit& init, std::string& why_not);
std::unique_ptr<Kernel> make_qglobal_avg_pool(const KernelInit& init, std::string& why_not);

}  // namespace qbench::kernels::onednn
