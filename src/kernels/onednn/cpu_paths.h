#pragma once
// What oneDNN's kernels really compute on this CPU, found once per process by running them on
// worst-case inputs rather than assumed from the ISA name.
//
// Without VNNI, oneDNN's u8 x s8 kernels multiply with vpmaddubsw, which adds each pair of
// products in int16 and saturates: two products of 255 x 127 overflow, so convolutions and
// matmuls with full-range int8 weights are not the exact ONNX result. Weights within [-64, 64]
// never overflow (255 x 64 x 2 = 32640). Convolutions with int8 sources also halve the weights
// (a lost bit) on such CPUs. The int8 kernels read this to run exactly everywhere (qconv.cpp,
// qmatmul.cpp); reports read it to say which path ran.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qbench::kernels::onednn {

struct Int8Behaviour {
  // Dense and grouped convolutions with full-range weights lose products to int16 saturation.
  bool conv_pairs_saturate = false;
  // Depthwise convolutions do (oneDNN widens to int32 there on every CPU seen so far).
  bool depthwise_pairs_saturate = false;
  // Convolutions with int8 (not uint8) sources are inexact even with 7-bit weights.
  bool conv_s8_source_inexact = false;
  // Matmuls (and inner products) with full-range weights lose products to int16 saturation.
  bool matmul_pairs_saturate = false;
};

// Probed on first use (a few small primitives, well under a millisecond each), then cached.
const Int8Behaviour& int8_behaviour();

// True when oneDNN runs at least its AVX2 kernels here (not capped below AVX2).
bool onednn_has_avx2();
// True where qbench's own AVX2 kernels may run: the CPU has AVX2 and FMA, and oneDNN is not
// capped below AVX2 (ONEDNN_MAX_CPU_ISA caps them with it).
bool own_avx2_kernels();
// True where qbench's AVX-512 VNNI kernels may run: the CPU has AVX-512 VNNI (BW, VL), and
// oneDNN runs at least its avx512_core_vnni kernels but not AMX, whose int8 tiles outrun them.
bool own_vnni_kernels();
// True when oneDNN runs at least its AVX-512 (avx512_core) kernels, its Winograd among them.
bool onednn_has_avx512_core();
// True where oneDNN runs its AVX-512 kernels on a core that executes 512-bit operations as two
// 256-bit halves (AMD Zen 4: family 19h with AVX-512; measured there, vfmadd231ps 3.7 G/s on
// zmm, 7.3 G/s on ymm): they do no more per cycle than AVX2 code, so the kernel that needs
// fewer multiplies wins.
bool avx512_half_width();

// True when the CPU has bf16 arithmetic oneDNN uses (AVX512_BF16 or AMX-BF16). Without it, bf16
// Conv/MatMul/Gemm run emulated: values rounded to bf16, computed by the f32 kernels.
bool native_bf16();

// One line each for the machine section of reports:
//   "VNNI (avx512_core_vnni): u8 x s8 dot products exact in int32"
//   "AVX2 pairwise (vpmaddubsw, avx2): int16 pair sums saturate; qbench runs full-range
//    weights exactly on its own kernels (...) or as two 7-bit halves, ..."
std::string int8_path();
//   "native (avx512_core_bf16)" or "emulated: " + bf16_emulation_reason()
std::string bf16_path();
//   "this CPU has no native bf16 (avx2): values rounded to bf16, computed by the f32 kernels"
std::string bf16_emulation_reason();

// Weights within [-64, 64] cannot saturate a pair sum: 255 x 64 x 2 = 32640 <= 32767.
constexpr int kPairSafeWeight = 64;
bool pair_safe(std::span<const int8_t> w);
// Splits w into hi + lo with both halves within [-64, 64]: hi = floor(w / 2), lo = w - hi.
void split_halves(std::span<const int8_t> w, std::vector<int8_t>& hi, std::vector<int8_t>& lo);

}  // namespace qbench::kernels::onednn
