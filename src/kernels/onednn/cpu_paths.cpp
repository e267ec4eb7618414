#include "kernels/onednn/cpu_paths.h"

#include <cpuid.h>
#include <fmt/format.h>

#include <cstdlib>

#include "kernels/onednn/context.h"
#include "kernels/onednn/loops.h"

namespace qbench::kernels::onednn {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// A 3x3 convolution over a 3x3 image (one output pixel, every tap used) with every source value
// `x` and every weight `w`; true when oneDNN's int32 result is x * w * taps * channels.
// `groups` == channels makes it depthwise.
bool conv_exact(dt src_type, int x, int w, int64_t channels, int64_t groups) {
  const int64_t oc = groups > 1 ? channels : 16, icg = channels / groups, ocg = oc / groups;
  memory::dims xd{1, channels, 3, 3}, yd{1, oc, 1, 1};
  memory::dims wd = groups > 1 ? memory::dims{groups, ocg, icg, 3, 3} : memory::dims{oc, icg, 3, 3};
  try {
    memory::desc xmd(xd, src_type, tag::nhwc), ymd(yd, dt::s32, tag::nhwc);
    dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, xmd,
        memory::desc(wd, dt::s8, tag::any), memory::desc(), ymd, {1, 1}, {0, 0}, {0, 0});
    dnnl::convolution_forward::primitive_desc pd(d, cpu_engine());
    std::vector<int8_t> src(size_t(channels * 9), static_cast<int8_t>(x));
    std::vector<int8_t> wei(size_t(oc * icg * 9), static_cast<int8_t>(w));
    std::vector<int32_t> dst(size_t(oc), 0);
    memory xm(xmd, cpu_engine(), src.data()), ym(ymd, cpu_engine(), dst.data());
    memory wu(memory::desc(wd, dt::s8, groups > 1 ? tag::goihw : tag::oihw), cpu_engine(),
              wei.data());
    memory wm(pd.weights_desc(), cpu_engine());
    dnnl::reorder(wu, wm).execute(cpu_stream(), wu, wm);
    dnnl::convolution_forward(pd).execute(
        cpu_stream(), {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}});
    cpu_stream().wait();
    // The source bytes hold x as int8; a uint8 source reads them as x & 0xff.
    const int64_t xv = src_type == dt::u8 ? (x & 0xff) : x;
    const int64_t want = xv * w * 9 * icg;
    for (int32_t v : dst)
      if (v != want) return false;
    return true;
  } catch (const dnnl::error&) {
    return true;  // no such primitive here: the kernels decline it too
  }
}

// [1, 64] x [64, 16] with every A value `x` and every B value `w`.
bool matmul_exact(dt a_type, int x, int w) {
  const int64_t k = 64, n = 16;
  try {
    memory::desc amd({1, k}, a_type, tag::ab), cmd({1, n}, dt::s32, tag::ab);
    dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(amd, memory::desc({k, n}, dt::s8, tag::any), cmd), cpu_engine());
    std::vector<int8_t> a(size_t(k), static_cast<int8_t>(x)), b(size_t(k * n), int8_t(w));
    std::vector<int32_t> c(size_t(n), 0);
    memory am(amd, cpu_engine(), a.data()), cm(cmd, cpu_engine(), c.data());
    memory bu(memory::desc({k, n}, dt::s8, tag::ab), cpu_engine(), b.data());
    memory bm(pd.weights_desc(), cpu_engine());
    dnnl::reorder(bu, bm).execute(cpu_stream(), bu, bm);
    dnnl::matmul(pd).execute(cpu_stream(),
                             {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    cpu_stream().wait();
    const int64_t xv = a_type == dt::u8 ? (x & 0xff) : x;
    for (int32_t v : c)
      if (v != xv * w * k) return false;
    return true;
  } catch (const dnnl::error&) {
    return true;
  }
}

bool has_bits(dnnl::cpu_isa isa, unsigned bits) {
  return (static_cast<unsigned>(isa) & bits) == bits;
}

}  // namespace

const Int8Behaviour& int8_behaviour() {
  static const Int8Behaviour b = [] {
    Int8Behaviour r;
    // 255 x 127 pairs overflow int16; -101 x 63 does not, but is inexact once 63 is halved.
    r.conv_pairs_saturate = !conv_exact(dt::u8, 255, 127, 32, 1);
    r.depthwise_pairs_saturate = !conv_exact(dt::u8, 255, 127, 16, 16);
    r.conv_s8_source_inexact = !conv_exact(dt::s8, -101, 63, 32, 1);
    r.matmul_pairs_saturate = !matmul_exact(dt::u8, 255, 127) || !matmul_exact(dt::s8, -128, 127);
    return r;
  }();
  return b;
}

bool onednn_has_avx2() {
  return has_bits(dnnl::get_effective_cpu_isa(), 0x7);  // avx2 = avx | 0x4 = sse41 | 0x2 | 0x4
}

bool own_avx2_kernels() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && onednn_has_avx2();
}

bool own_vnni_kernels() {
  const unsigned isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  return own_avx2_kernels() && __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         (isa & 0x67u) == 0x67u && (isa & 0x3e7u) != 0x3e7u;  // avx512_core_vnni, not amx
}

bool onednn_has_avx512_core() {
  return has_bits(dnnl::get_effective_cpu_isa(), 0x27);
}

bool avx512_half_width() {
  // The compiler's runtime knows the vendor but not the family (GCC 12 has no "znver4").
  static const bool zen4 = [] {
    unsigned a, b, c, d;
    if (!__builtin_cpu_is("amd") || !__builtin_cpu_supports("avx512f") ||
        !__get_cpuid(1, &a, &b, &c, &d))
      return false;
    const unsigned base = (a >> 8) & 0xf;  // the extended family counts only above 0xf
    return base + (base == 0xf ? (a >> 20) & 0xff : 0) == 0x19;
  }();
  return zen4 && onednn_has_avx512_core();
}

bool native_bf16() {
  // avx512_core_bf16 (0xe7) and avx512_core_amx (0x3e7) carry the 0x80 bit; oneDNN's own bf16
  // on plain avx512_core is itself an emulation.
  return has_bits(dnnl::get_effective_cpu_isa(), 0xe7);
}

std::string int8_path() {
  const Int8Behaviour& b = int8_behaviour();
  const std::string isa = effective_isa();
  if (!b.conv_pairs_saturate && !b.matmul_pairs_saturate && !b.conv_s8_source_inexact)
    return fmt::format("{} ({}): u8 x s8 dot products exact in int32",
                       isa.find("amx") != std::string::npos ? "AMX" : "VNNI", isa);
  return fmt::format(
      "{} pairwise (vpmaddubsw, {}): int16 pair sums saturate; qbench runs full-range weights "
      "exactly on its own kernels (source bytes split into 7 low bits and the high bit; int16 "
      "vpmaddwd; 3x3 as integer Winograd) or as two 7-bit halves, and 7-bit weights directly",
      isa.rfind("avx512", 0) == 0 ? "AVX-512" : "AVX2", isa);
}

std::string bf16_emulation_reason() {
  return fmt::format(
      "this CPU has no native bf16 ({}): values rounded to bf16, computed by the f32 kernels",
      effective_isa());
}

std::string bf16_path() {
  if (native_bf16()) return fmt::format("native ({})", effective_isa());
  return "emulated: " + bf16_emulation_reason();
}

bool pair_safe(std::span<const int8_t> w) {
  for (int8_t v : w)
    if (std::abs(int(v)) > kPairSafeWeight) return false;
  return true;
}

void split_halves(std::span<const int8_t> w, std::vector<int8_t>& hi, std::vector<int8_t>& lo) {
  hi.resize(w.size());
  lo.resize(w.size());
  split_int8_halves(w.data(), hi.data(), lo.data(), int64_t(w.size()));
}

}  // namespace qbench::kernels::onednn
