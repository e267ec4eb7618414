#pragma once
// Process-wide oneDNN state shared by every oneDNN kernel: one CPU engine, and one in-order
// stream per thread (a plan runs on the thread that calls it; Engine's batch split runs one
// sub-batch plan per thread). oneDNN parallelises each primitive with OpenMP.
#include <dnnl.hpp>
#include <string>

namespace qbench::kernels::onednn {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

// ISA oneDNN's CPU kernels dispatch to ("avx512_core_bf16"), for reports.
std::string effective_isa();
// "2.6.3", for reports.
std::string library_version();

// Sets flush-to-zero and denormals-are-zero in the calling thread and in every thread of the
// current OpenMP pool: denormal floats make f32 kernels hundreds of times slower. MXCSR is
// per thread, so call it again after growing the OpenMP thread count.
void set_flush_denormals();

}  // namespace qbench::kernels::onednn
