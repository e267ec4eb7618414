#include "kernels/onednn/context.h"

#include <fmt/format.h>
#include <omp.h>
#include <xmmintrin.h>

namespace qbench::kernels::onednn {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  // One stream per thread: a split batch runs plans on several threads at once.
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

std::string effective_isa() {
  using dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case cpu_isa::all:
      return "all";
    case cpu_isa::sse41:
      return "sse41";
    case cpu_isa::avx:
      return "avx";
    case cpu_isa::avx2:
      return "avx2";
    case cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case cpu_isa::avx512_mic:
      return "avx512_mic";
    case cpu_isa::avx512_mic_4ops:
      return "avx512_mic_4ops";
    case cpu_isa::avx512_core:
      return "avx512_core";
    case cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
  }
  return "unknown";
}

std::string library_version() {
  const dnnl_version_t* v = dnnl::version();
  return fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
}

namespace {
void set_ftz_daz_this_thread() {
  // FTZ is bit 15, DAZ bit 6 of MXCSR.
  _mm_setcsr(_mm_getcsr() | 0x8040u);
}
}  // namespace

void set_flush_denormals() {
  set_ftz_daz_this_thread();
#pragma omp parallel
  set_ftz_daz_this_thread();
}

}  // namespace qbench::kernels::onednn
