#include "kernels/onednn/exact_int8_conv.h"

#include <fmt/format.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "kernels/onednn/avx2_tile.h"
#include "kernels/onednn/common.h"
#include "kernels/onednn/cpu_paths.h"

namespace qbench::kernels::onednn {

struct ExactInt8Conv::Epilogue {
  const float* bias;
  const float* scale;
  float lo, hi, zero_point;  // clamp to [lo, hi], then add the zero point
  bool to_signed;            // the type written (the add's output where there is a residual)
  const ResidualEpilogue* residual;  // null: none
  const int32_t* compensation;       // u8 products: subtracted from the sums; null: none
  bool lo_saturates = false;         // lo is the written type's minimum less the zero point
};

namespace {

using Epilogue = ExactInt8Conv::Epilogue;

#define QBENCH_INLINE QBENCH_AVX2 inline __attribute__((always_inline))

// The epilogue's constants for one 16-channel panel, loaded once per register tile (its rows
// share them); named members, which the compiler keeps in registers.
struct PanelConstants {
  __m256 bias0, bias1, scale0, scale1, lo, hi, zp;
  __m256i comp0, comp1;
};

QBENCH_INLINE PanelConstants panel_constants(const Epilogue& e, int64_t ch0) {
  PanelConstants k;
  k.bias0 = _mm256_loadu_ps(e.bias + ch0);
  k.bias1 = _mm256_loadu_ps(e.bias + ch0 + 8);
  k.scale0 = _mm256_loadu_ps(e.scale + ch0);
  k.scale1 = _mm256_loadu_ps(e.scale + ch0 + 8);
  k.lo = _mm256_set1_ps(e.lo);
  k.hi = _mm256_set1_ps(e.hi);
  k.zp = _mm256_set1_ps(e.zero_point);
  const int32_t* c = e.compensation;
  k.comp0 = c ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + ch0)) : __m256i{};
  k.comp1 = c ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + ch0 + 8)) : __m256i{};
  return k;
}

// v clamped to [lo, hi]. Where lo is the written type's own minimum less the zero point, the
// narrowing packs saturate below it to the same byte, so only hi is applied: a value under lo plus
// the zero point rounds below the minimum, or to the integer indefinite (beyond int32, and a NaN,
// which minps passes on where maxps made it lo), which saturates to the minimum too.
QBENCH_INLINE __m256 clamp8(__m256 v, const PanelConstants& k, bool lo_saturates) {
  return lo_saturates ? _mm256_min_ps(k.hi, v) : _mm256_min_ps(_mm256_max_ps(v, k.lo), k.hi);
}

// (float(acc) + bias) * scale.
QBENCH_INLINE __m256 scaled8(__m256i acc, __m256 bias, __m256 scale) {
  return _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(acc), bias), scale);
}

// The residual add (ResidualEpilogue, loops.h) on eight values q about to be requantized and
// their residuals r: the value before rounding to the output type. One clamp does the add's clip
// and the saturation (the bounds are integers less the zero point, as in epilogue()).
QBENCH_INLINE __m256 add_residual8(__m256 q, __m128i r, const ResidualEpilogue& e,
                                   const PanelConstants& k, bool lo_saturates) {
  const __m256i ri = e.residual_signed ? _mm256_cvtepi8_epi32(r) : _mm256_cvtepu8_epi32(r);
  q = _mm256_round_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(e.q_lo)), _mm256_set1_ps(e.q_hi));
  __m256 t = _mm256_fmadd_ps(q, _mm256_set1_ps(e.ka), _mm256_set1_ps(e.beta));
  t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ri), _mm256_set1_ps(e.kb), t);
  return _mm256_add_ps(clamp8(t, k, lo_saturates), k.zp);
}

// Sixteen sums (a0: channels 0-7, a1: 8-15) requantized, before their narrowing to bytes, in the
// order of oneDNN's own int8 epilogue (loops.cpp requantize_row): less the zero point's share (u8
// products), (float(acc) + bias) * scale, clipped (fused Relu/Clip), plus the zero point, rounded
// to even by cvtps (MXCSR default) into i0 and i1. One clamp does both the clip and the
// saturation (epilogue(), clamp8), to the same result. With a residual, y holds it (`count` bytes
// where the panel is the last).
QBENCH_INLINE void requantize16(__m256i a0, __m256i a1, const Epilogue& e, const PanelConstants& k,
                                int64_t count, const uint8_t* y, __m256i& i0, __m256i& i1) {
  if (e.compensation) {
    a0 = _mm256_sub_epi32(a0, k.comp0);
    a1 = _mm256_sub_epi32(a1, k.comp1);
  }
  __m256 v0 = scaled8(a0, k.bias0, k.scale0), v1 = scaled8(a1, k.bias1, k.scale1);
  if (e.residual) {
    alignas(16) uint8_t r[kPanel] = {};
    if (count < kPanel) std::memcpy(r, y, size_t(count));
    const __m128i rv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(count < kPanel ? r : y));
    v0 = add_residual8(v0, rv, *e.residual, k, e.lo_saturates);
    v1 = add_residual8(v1, _mm_srli_si128(rv, 8), *e.residual, k, e.lo_saturates);
  } else {
    v0 = _mm256_add_ps(clamp8(v0, k, e.lo_saturates), k.zp);
    v1 = _mm256_add_ps(clamp8(v1, k, e.lo_saturates), k.zp);
  }
  i0 = _mm256_cvtps_epi32(v0);
  i1 = _mm256_cvtps_epi32(v1);
}

// requantize16 written as bytes at y. The packs saturate (to int16, then to the type).
QBENCH_INLINE void store16(__m256i a0, __m256i a1, const Epilogue& e, const PanelConstants& k,
                           int64_t count, uint8_t* y) {
  __m256i i0, i1;
  requantize16(a0, a1, e, k, count, y, i0, i1);
  // packs interleaves 128-bit lanes: [i0 0-3, i1 0-3, i0 4-7, i1 4-7]; the permute restores order.
  const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(i0, i1), 0xd8);
  const __m128i lo = _mm256_castsi256_si128(w), hi = _mm256_extracti128_si256(w, 1);
  const __m128i b = e.to_signed ? _mm_packs_epi16(lo, hi) : _mm_packus_epi16(lo, hi);
  if (count == kPanel) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), b);
  } else {
    alignas(16) uint8_t tmp[kPanel];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b);
    std::memcpy(y, tmp, size_t(count));
  }
}

// Two rows' whole panels (sums a and b) at ya and yb, narrowed together: one pack to bytes and
// one permute for both rows instead of a pack, permute, extract and pack each.
QBENCH_INLINE void store16x2(const __m256i (&a)[2], const __m256i (&b)[2], const Epilogue& e,
                             const PanelConstants& k, uint8_t* ya, uint8_t* yb) {
  __m256i a0, a1, b0, b1;
  requantize16(a[0], a[1], e, k, kPanel, ya, a0, a1);
  requantize16(b[0], b[1], e, k, kPanel, yb, b0, b1);
  const __m256i pa = _mm256_packs_epi32(a0, a1), pb = _mm256_packs_epi32(b0, b1);
  // Per 128-bit lane: a's 8 bytes then b's; as dwords [a0 0-3, a1 0-3, b0 0-3, b1 0-3, a0 4-7,
  // a1 4-7, b0 4-7, b1 4-7].
  const __m256i bytes = e.to_signed ? _mm256_packs_epi16(pa, pb) : _mm256_packus_epi16(pa, pb);
  const __m256i rows =
      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(ya), _mm256_castsi256_si128(rows));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(yb), _mm256_extracti128_si256(rows, 1));
}

// R rows x one 16-channel weight panel over `steps` steps of 4 bytes of each row and 64 of
// weights (two registers of 8 channels): int32 sums of product(x, w), x a row's 4 bytes in every
// lane. The partial tiles' loop in C++ (the full tile's is in assembly). The sums live in a local
// array, which the compiler keeps in registers: summed into `acc` itself (which it must assume
// the row pointers may alias) each step loaded, added and stored them, and the four-row tiles
// (a third of ResNet-50's 14 x 14 Winograd layers) ran at a third of the full tile's speed.
template <int R, typename A, typename W, typename Product>
QBENCH_AVX2 void accumulate_steps(const A* const* a, const W* panel, int64_t steps,
                                  __m256i (&acc)[kTileRows][2], Product product) {
  const auto* w = reinterpret_cast<const uint8_t*>(panel);
  __m256i sum[R][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) sum[r][0] = sum[r][1] = _mm256_setzero_si256();
  for (int64_t k = 0; k < steps; ++k) {
    prefetch_weights(w + 64 * k);
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 64 * k));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 64 * k + 32));
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      int32_t q;
      std::memcpy(&q, reinterpret_cast<const uint8_t*>(a[r]) + 4 * k, sizeof q);
      const __m256i x = _mm256_set1_epi32(q);
      sum[r][0] = _mm256_add_epi32(sum[r][0], product(x, w0));
      sum[r][1] = _mm256_add_epi32(sum[r][1], product(x, w1));
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    acc[r][0] = sum[r][0];
    acc[r][1] = sum[r][1];
  }
}

// int16 pairs: vpmaddwd sums each pair of products in int32.
struct Int16Product {
  QBENCH_AVX2 __m256i operator()(__m256i x, __m256i w) const { return _mm256_madd_epi16(x, w); }
};

// R pixels (rows of int16 pairs) x one 16-channel weight panel over `pairs` pairs: int32 sums.
template <int R>
QBENCH_AVX2 void accumulate(const int16_t* const* a, const int16_t* panel, int64_t pairs,
                            __m256i (&acc)[kTileRows][2]) {
  accumulate_steps<R>(a, panel, pairs, acc, Int16Product{});
}

#define QBENCH_INT16_ROW(ADDR, ACC0, ACC1)    \
  "vpbroadcastd " ADDR                        \
  ", %%ymm14\n"                               \
  "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"      \
  "vpaddd %%ymm15, %%ymm" ACC0 ", %%ymm" ACC0 \
  "\n"                                        \
  "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"      \
  "vpaddd %%ymm15, %%ymm" ACC1 ", %%ymm" ACC1 "\n"
#define QBENCH_INT16_STEP(W0, W1, B)            \
  "vmovdqu " W0 "(%[w]), %%ymm12\n vmovdqu " W1 \
  "(%[w]), %%ymm13\n" QBENCH_TILE_ROWS(QBENCH_INT16_ROW, B)

// The full tile in assembly (avx2_tile.h); the six rows are consecutive, `stride` apart, as
// run() packs them.
template <>
QBENCH_AVX2 void accumulate<kTileRows>(const int16_t* const* a, const int16_t* panel, int64_t pairs,
                                       __m256i (&acc)[kTileRows][2]) {
  const int64_t stride = (a[1] - a[0]) * int64_t(sizeof(int16_t));
  const int16_t* p0 = a[0];
  const int16_t* p3 = a[3];
  const int16_t* w = panel;
  int64_t n = pairs;
  asm volatile(QBENCH_TILE_LOOP(QBENCH_INT16_STEP)
                   QBENCH_TILE_OPERANDS(p0, p3, w, n, stride, &acc[0][0]));
}

// Byte products (u8_products): R rows of uint8 quads x one panel of 16 channels' int8 quads
// over `quads` steps. vpmaddubsw sums each pair of u8 x s8 products in int16 (exact for weights
// within [-64, 64]), vpmaddwd by ones adds the two pairs of a quad in int32.
alignas(32) constexpr int16_t kOnes16[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

struct BytesProduct {
  __m256i ones;
  QBENCH_AVX2 __m256i operator()(__m256i x, __m256i w) const {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), ones);
  }
};

template <int R>
QBENCH_AVX2 void accumulate(const uint8_t* const* a, const int8_t* panel, int64_t quads,
                            __m256i (&acc)[kTileRows][2]) {
  accumulate_steps<R>(a, panel, quads, acc,
                      BytesProduct{_mm256_load_si256(reinterpret_cast<const __m256i*>(kOnes16))});
}

// Twelve accumulators, the ones, the broadcast and two products fill the sixteen registers; the
// weights are memory operands (18 loads per step, not 32 with the ones from memory).
#define QBENCH_U8_ROW(ADDR, ACC0, ACC1, W0, W1) \
  "vpbroadcastd " ADDR                          \
  ", %%ymm14\n"                                 \
  "vpmaddubsw " W0                              \
  "(%[w]), %%ymm14, %%ymm15\n"                  \
  "vpmaddubsw " W1                              \
  "(%[w]), %%ymm14, %%ymm13\n"                  \
  "vpmaddwd %%ymm12, %%ymm15, %%ymm15\n"        \
  "vpmaddwd %%ymm12, %%ymm13, %%ymm13\n"        \
  "vpaddd %%ymm15, %%ymm" ACC0 ", %%ymm" ACC0   \
  "\n"                                          \
  "vpaddd %%ymm13, %%ymm" ACC1 ", %%ymm" ACC1 "\n"
#define QBENCH_U8_STEP(W0, W1, B) QBENCH_TILE_ROWS_W(QBENCH_U8_ROW, B, W0, W1)

template <>
QBENCH_AVX2 void accumulate<kTileRows>(const uint8_t* const* a, const int8_t* panel, int64_t quads,
                                       __m256i (&acc)[kTileRows][2]) {
  const int64_t stride = a[1] - a[0];
  const uint8_t* p0 = a[0];
  const uint8_t* p3 = a[3];
  const int8_t* w = panel;
  int64_t n = quads;
  asm volatile("vmovdqa %[ones], %%ymm12\n" QBENCH_TILE_LOOP(QBENCH_U8_STEP) QBENCH_TILE_OPERANDS(
      p0, p3, w, n, stride, &acc[0][0], [ones] "m"(*reinterpret_cast<const __m256i*>(kOnes16))));
}

// Paired byte products (exact_int8_conv.h): rows of split bytes (each below 128) times weights
// within [-64, 64], two quads' vpmaddubsw pair sums added in int16 before vpmaddwd widens them:
// four products of at most 127 x 64 fit int16, and 64 multiply-accumulates take five vector
// instructions instead of six (benchmarks/peak/avx2_int8.c). The partial tiles multiply them one
// quad at a time.
struct Low7Paired {
  uint8_t byte;
};

template <int R>
QBENCH_AVX2 void accumulate(const Low7Paired* const* a, const int8_t* panel, int64_t quads,
                            __m256i (&acc)[kTileRows][2]) {
  accumulate_steps<R>(a, panel, quads, acc,
                      BytesProduct{_mm256_load_si256(reinterpret_cast<const __m256i*>(kOnes16))});
}

// The int16 sums in ymm12 and ymm13 widened by the ones (ymm10) into ACC0 and ACC1.
#define QBENCH_U8_WIDEN(ACC0, ACC1)                                           \
  "vpmaddwd %%ymm10, %%ymm12, %%ymm12\n vpmaddwd %%ymm10, %%ymm13, %%ymm13\n" \
  "vpaddd %%ymm12, %%ymm" ACC0 ", %%ymm" ACC0 "\n vpaddd %%ymm13, %%ymm" ACC1 ", %%ymm" ACC1 "\n"
// clang-format off
#define QBENCH_U8_PAIRED_ROW(A0, A1, ACC0, ACC1)    \
  "vpbroadcastd " A0 ", %%ymm11\n"                  \
  "vpmaddubsw %%ymm6, %%ymm11, %%ymm12\n"           \
  "vpmaddubsw %%ymm7, %%ymm11, %%ymm13\n"           \
  "vpbroadcastd " A1 ", %%ymm11\n"                  \
  "vpmaddubsw %%ymm8, %%ymm11, %%ymm14\n"           \
  "vpaddw %%ymm14, %%ymm12, %%ymm12\n"              \
  "vpmaddubsw %%ymm9, %%ymm11, %%ymm14\n"           \
  "vpaddw %%ymm14, %%ymm13, %%ymm13\n"              \
  QBENCH_U8_WIDEN(ACC0, ACC1)
#define QBENCH_U8_SINGLE_ROW(A0, ACC0, ACC1)        \
  "vpbroadcastd " A0 ", %%ymm11\n"                  \
  "vpmaddubsw %%ymm6, %%ymm11, %%ymm12\n"           \
  "vpmaddubsw %%ymm7, %%ymm11, %%ymm13\n"           \
  QBENCH_U8_WIDEN(ACC0, ACC1)
// clang-format on

// Three rows, `stride` bytes apart from p, times one panel over `quads` quads, into out[0..5]:
// each iteration loads two quads' weights into registers (each read once for the three rows: at
// six rows as memory operands, 48 loads per 768 multiply-accumulates outran the load ports) and
// adds each row's two pair sums in int16 before widening them.
QBENCH_AVX2 void paired_rows3(const uint8_t* p, int64_t stride, const int8_t* w, int64_t quads,
                              __m256i* out) {
  int64_t n = quads;
  asm volatile(
      "vxorps %%xmm0, %%xmm0, %%xmm0\n vxorps %%xmm1, %%xmm1, %%xmm1\n"
      "vxorps %%xmm2, %%xmm2, %%xmm2\n vxorps %%xmm3, %%xmm3, %%xmm3\n"
      "vxorps %%xmm4, %%xmm4, %%xmm4\n vxorps %%xmm5, %%xmm5, %%xmm5\n"
      "vmovdqa %[ones], %%ymm10\n cmp $2, %[n]\n jb 3f\n"
      "1:\n vmovdqu (%[w]), %%ymm6\n vmovdqu 32(%[w]), %%ymm7\n"
      "vmovdqu 64(%[w]), %%ymm8\n vmovdqu 96(%[w]), %%ymm9\n" QBENCH_U8_PAIRED_ROW(
          "(%[p])", "4(%[p])", "0", "1")
          QBENCH_U8_PAIRED_ROW("(%[p],%[s],1)", "4(%[p],%[s],1)", "2", "3")
              QBENCH_U8_PAIRED_ROW("(%[p],%[s],2)", "4(%[p],%[s],2)", "4", "5")
      "prefetcht0 " QBENCH_WEIGHT_PREFETCH "(%[w])\n prefetcht0 " QBENCH_WEIGHT_PREFETCH
      "+64(%[w])\n"
      "add $128, %[w]\n add $8, %[p]\n sub $2, %[n]\n cmp $2, %[n]\n jae 1b\n"
      "3:\n test %[n], %[n]\n jz 2f\n"
      "vmovdqu (%[w]), %%ymm6\n vmovdqu 32(%[w]), %%ymm7\n" QBENCH_U8_SINGLE_ROW(
          "(%[p])", "0", "1") QBENCH_U8_SINGLE_ROW("(%[p],%[s],1)", "2", "3")
          QBENCH_U8_SINGLE_ROW("(%[p],%[s],2)", "4", "5") "2:\n"
      "vmovups %%ymm0, (%[out])\n vmovups %%ymm1, 32(%[out])\n"
      "vmovups %%ymm2, 64(%[out])\n vmovups %%ymm3, 96(%[out])\n"
      "vmovups %%ymm4, 128(%[out])\n vmovups %%ymm5, 160(%[out])\n"
      : [p] "+r"(p), [w] "+r"(w), [n] "+r"(n)
      : [s] "r"(stride), [out] "r"(out), [ones] "m"(*reinterpret_cast<const __m256i*>(kOnes16))
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "cc", "memory");
}

// The six rows as two halves of three, consecutive and `stride` apart as run() packs them.
template <>
QBENCH_AVX2 void accumulate<kTileRows>(const Low7Paired* const* a, const int8_t* panel,
                                       int64_t quads, __m256i (&acc)[kTileRows][2]) {
  const int64_t stride = a[1] - a[0];
  paired_rows3(&a[0]->byte, stride, panel, quads, &acc[0][0]);
  paired_rows3(&a[3]->byte, stride, panel, quads, &acc[3][0]);
}

// Split byte products (exact_int8_conv.h): a row's bytes as their low seven bits, and a list of
// the quads holding a high bit: high[0] entries from high[1], each (quad << 4) | the quad's high
// bits, one per byte. kHighBytes[bits] is such a quad's bytes: 128 where the bit is set, else 0.
constexpr std::array<uint32_t, 16> kHighBytes = [] {
  std::array<uint32_t, 16> t{};
  for (uint32_t m = 0; m < 16; ++m)
    for (uint32_t i = 0; i < 4; ++i)
      if (m >> i & 1) t[m] |= 0x80u << (8 * i);
  return t;
}();

// `quads` quads of `from` (no byte past them is read) into `to` as their low seven bits (whole
// vectors written: `to` has room for 32 bytes past them; `to` may be `from`), the quads with a
// high bit listed in `high`.
QBENCH_AVX2 void split_quads(const uint8_t* from, uint8_t* to, int64_t quads, uint32_t* high) {
  const __m256i low7 = _mm256_set1_epi8(0x7f);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  uint32_t n = 0;
  for (int64_t q = 0; q < quads; q += 8) {
    const auto* src = reinterpret_cast<const __m256i*>(from + 4 * q);
    // The last vector's missing quads load as 0 (no high bits).
    const __m256i v =
        quads - q >= 8
            ? _mm256_loadu_si256(src)
            : _mm256_maskload_epi32(reinterpret_cast<const int*>(src),
                                    _mm256_cmpgt_epi32(_mm256_set1_epi32(int(quads - q)), lane));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + 4 * q), _mm256_and_si256(v, low7));
    for (auto m = static_cast<uint32_t>(_mm256_movemask_epi8(v)); m != 0;) {
      const int b = __builtin_ctz(m) / 4;  // the quad within the vector
      high[++n] = uint32_t(q + b) << 4 | (m >> (4 * b) & 15u);
      m &= ~(15u << (4 * b));
    }
  }
  high[0] = n;
}

// Adds one split row's high-bit quads times a panel's quads to its sums (acc: channels 0-7,
// 8-15): bytes of 128 or 0, whose pair sums with any int8 weights fit int16.
QBENCH_AVX2 inline void add_high_bits(const uint32_t* high, const int8_t* panel,
                                      __m256i (&acc)[2]) {
  const __m256i ones = _mm256_load_si256(reinterpret_cast<const __m256i*>(kOnes16));
  for (uint32_t j = 1; j <= high[0]; ++j) {
    const __m256i x = _mm256_set1_epi32(int(kHighBytes[high[j] & 15]));
    const int8_t* w = panel + 64 * int64_t(high[j] >> 4);
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32));
    acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones));
    acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones));
  }
}

// R pixels x one weight panel (int16 pairs, or byte quads), requantized into y[r] + ch0; split
// byte rows' high-bit quads in high[r] (null: not split).
template <typename A, typename W, int R>
QBENCH_AVX2 void tile(const A* const* rows, const W* panel, int64_t steps, const Epilogue& e,
                      int64_t ch0, int64_t count, uint8_t* const* y, const uint32_t* const* high) {
  __m256i acc[kTileRows][2];
  accumulate<R>(rows, panel, steps, acc);
  if constexpr (std::is_same_v<W, int8_t>) {
    if (high)
      for (int r = 0; r < R; ++r) add_high_bits(high[r], panel, acc[r]);
  }
  const PanelConstants k = panel_constants(e, ch0);
  int r = 0;
  if (count == kPanel) {
#pragma GCC unroll 3
    for (; r + 1 < R; r += 2) store16x2(acc[r], acc[r + 1], e, k, y[r] + ch0, y[r + 1] + ch0);
  }
#pragma GCC unroll 6
  for (; r < R; ++r) store16(acc[r][0], acc[r][1], e, k, count, y[r] + ch0);
}

template <typename A, typename W>
using TileFn = void (*)(const A* const*, const W*, int64_t, const Epilogue&, int64_t, int64_t,
                        uint8_t* const*, const uint32_t* const*);
template <typename A, typename W>
constexpr TileFn<A, W> kTiles[kTileRows + 1] = {nullptr,       tile<A, W, 1>, tile<A, W, 2>,
                                                tile<A, W, 3>, tile<A, W, 4>, tile<A, W, 5>,
                                                tile<A, W, 6>};

// Winograd F(2x2, 3x3) in integers (Lavin & Gray 2016): a 4x4 input patch d gives a 2x2 output
// tile A^T [(G g G^T) . (B^T d B)] A. B^T and A^T hold only 0 and +-1; G holds halves, so the
// weights are transformed with 2G instead, which makes them integers 4 times too large (|U| <=
// 9 x 128) and the output exactly 4 times the convolution. With d = x - zp in [-255, 255],
// |B^T d B| <= 1020: both fit int16, vpmaddwd pair sums (<= 2 x 1020 x 1152) fit int32, and
// every sum after that is exact modulo 2^32, so the output (at most 4 x 9 x 255 x 128 x C,
// within int32 for C <= 1024) is exact. 16 products per 4 outputs instead of 36.

// One tile's 16 transformed rows (V[xi] at v + xi * xi_stride), from the patch's 16 input
// pixels (null where the patch lies in the padding), `c` channels (a multiple of 16).
template <bool Signed>
QBENCH_AVX2 void winograd_input(const uint8_t* const (&patch)[kXi], int64_t c, int32_t zp,
                                int16_t* v, int64_t xi_stride) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  for (int64_t c0 = 0; c0 < c; c0 += 16) {
    __m256i d[kXi], t[kXi];
    for (int q = 0; q < kXi; ++q) {
      if (!patch[q]) {
        d[q] = _mm256_setzero_si256();
        continue;
      }
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(patch[q] + c0));
      d[q] = _mm256_sub_epi16(Signed ? _mm256_cvtepi8_epi16(raw) : _mm256_cvtepu8_epi16(raw), z);
    }
    for (int j = 0; j < 4; ++j) {  // T = B^T d
      t[j] = _mm256_sub_epi16(d[j], d[8 + j]);
      t[4 + j] = _mm256_add_epi16(d[4 + j], d[8 + j]);
      t[8 + j] = _mm256_sub_epi16(d[8 + j], d[4 + j]);
      t[12 + j] = _mm256_sub_epi16(d[4 + j], d[12 + j]);
    }
    for (int i = 0; i < 4; ++i) {  // V = T B
      const __m256i* r = t + 4 * i;
      int16_t* o = v + 4 * i * xi_stride + c0;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm256_sub_epi16(r[0], r[2]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + xi_stride), _mm256_add_epi16(r[1], r[2]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 2 * xi_stride),
                          _mm256_sub_epi16(r[2], r[1]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 3 * xi_stride),
                          _mm256_sub_epi16(r[1], r[3]));
    }
  }
}

// The 2x2 outputs of one tile from its 16 products (8 channels): Y = A^T M A / 4.
QBENCH_AVX2 inline void winograd_output(const __m256i (*m)[kTileRows][2], int r, int h,
                                        __m256i (&y)[4]) {
  __m256i s[8];
  for (int j = 0; j < 4; ++j) {  // S = A^T M
    const __m256i m0 = m[j][r][h], m1 = m[4 + j][r][h], m2 = m[8 + j][r][h], m3 = m[12 + j][r][h];
    s[j] = _mm256_add_epi32(_mm256_add_epi32(m0, m1), m2);
    s[4 + j] = _mm256_sub_epi32(_mm256_sub_epi32(m1, m2), m3);
  }
  for (int i = 0; i < 2; ++i) {  // Y = S A, then exactly divided by 4
    const __m256i* q = s + 4 * i;
    y[2 * i] = _mm256_srai_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), q[2]), 2);
    y[2 * i + 1] = _mm256_srai_epi32(_mm256_sub_epi32(_mm256_sub_epi32(q[1], q[2]), q[3]), 2);
  }
}

// Winograd F(4x4, 3x3) in integers: a 6x6 input patch gives a 4x4 output tile, 36 products
// per 16 outputs instead of 144 (1.78x fewer than F(2x2, 3x3)). Lavin & Gray's matrices, with
// B^T in small integers (|B^T d B| <= 100 x 255 = 25500 fits int16) and G's rows, whose
// denominators are 4, 6, 6, 24, 24 and 1, scaled by those to integers (kSG, |U'| <= 49 x 128 =
// 6272). The products then hold M_ij x s_i s_j; A^T S^-1 scaled by L = (24, 12, 6, 6) per output
// row is integer again (output_transform6), so the output transform computes L_a L_b Y_ab, all
// of it modulo 2^32 (vpmaddwd's pair sums are exact, every later sum wraps). L_a L_b is 9 x 2^p
// with p = p_a + p_b, p = (3, 2, 1, 1): times 9's inverse modulo 2^32 it is 2^p Y, and an
// arithmetic shift by p gives Y wherever |Y| < 2^(31 - p); winograd4_fits() checks |Y| < 2^25
// for the layer's weights and the source's range.
constexpr int kSG[6][3] = {{1, 0, 0}, {-1, -1, -1}, {-1, 1, -1}, {1, 2, 4}, {1, -2, 4}, {0, 0, 1}};
constexpr int kXi4 = WinogradTilesOf<4>::kPositions;
constexpr int kShift4[4] = {3, 2, 1, 1};
constexpr int32_t kInverseOf9 = 0x38e38e39;  // 9 x 0x38e38e39 = 1 modulo 2^32

// B^T x on six vectors of int16: 4x0 - 5x2 + x4, (x3 + x4) - 4(x1 + x2), 4(x1 - x2) + (x4 - x3),
// 2(x3 - x1) + (x4 - x2), 2(x1 - x3) + (x4 - x2), 4x1 - 5x3 + x5.
QBENCH_AVX2 inline void input_transform6(const __m256i x[6], __m256i t[6]) {
  const __m256i x4_x2 = _mm256_sub_epi16(x[4], x[2]), x3_x1 = _mm256_sub_epi16(x[3], x[1]);
  t[0] = _mm256_add_epi16(
      _mm256_sub_epi16(_mm256_slli_epi16(_mm256_sub_epi16(x[0], x[2]), 2), x[2]), x[4]);
  t[1] = _mm256_sub_epi16(_mm256_add_epi16(x[3], x[4]),
                          _mm256_slli_epi16(_mm256_add_epi16(x[1], x[2]), 2));
  t[2] = _mm256_add_epi16(_mm256_slli_epi16(_mm256_sub_epi16(x[1], x[2]), 2),
                          _mm256_sub_epi16(x[4], x[3]));
  t[3] = _mm256_add_epi16(_mm256_slli_epi16(x3_x1, 1), x4_x2);
  t[4] = _mm256_sub_epi16(x4_x2, _mm256_slli_epi16(x3_x1, 1));
  t[5] = _mm256_add_epi16(
      _mm256_sub_epi16(_mm256_slli_epi16(_mm256_sub_epi16(x[1], x[3]), 2), x[3]), x[5]);
}

// One tile's 36 transformed rows (V[xi] at v + xi * xi_stride) from its 36 input pixels (null in
// the padding), `c` channels (a multiple of 16): B^T d B with d = x - zp.
template <bool Signed>
QBENCH_AVX2 void winograd_input(const uint8_t* const (&patch)[kXi4], int64_t c, int32_t zp,
                                int16_t* v, int64_t xi_stride) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  for (int64_t c0 = 0; c0 < c; c0 += 16) {
    __m256i t[kXi4];
    for (int j = 0; j < 6; ++j) {  // T = B^T d, column j
      __m256i d[6], o[6];
      for (int i = 0; i < 6; ++i) {
        const uint8_t* p = patch[i * 6 + j];
        if (!p) {
          d[i] = _mm256_setzero_si256();
          continue;
        }
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + c0));
        d[i] = _mm256_sub_epi16(Signed ? _mm256_cvtepi8_epi16(raw) : _mm256_cvtepu8_epi16(raw), z);
      }
      input_transform6(d, o);
      for (int i = 0; i < 6; ++i) t[i * 6 + j] = o[i];
    }
    for (int i = 0; i < 6; ++i) {  // V = T B, row i
      __m256i o[6];
      input_transform6(t + 6 * i, o);
      for (int j = 0; j < 6; ++j)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(v + (6 * i + j) * xi_stride + c0), o[j]);
    }
  }
}

QBENCH_AVX2 inline __m256i times6(__m256i v) {
  return _mm256_add_epi32(_mm256_slli_epi32(v, 2), _mm256_slli_epi32(v, 1));
}

// L A^T S^-1 x on six vectors of int32 (modulo 2^32): rows (6, 4, 4, 1, 1, 0), (0, 2, -2, 1, -1,
// 0), (0, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 6).
QBENCH_AVX2 inline void output_transform6(const __m256i x[6], __m256i y[4]) {
  const __m256i a = _mm256_add_epi32(x[1], x[2]), b = _mm256_sub_epi32(x[1], x[2]);
  const __m256i c = _mm256_add_epi32(x[3], x[4]), d = _mm256_sub_epi32(x[3], x[4]);
  y[0] = _mm256_add_epi32(_mm256_add_epi32(times6(x[0]), _mm256_slli_epi32(a, 2)), c);
  y[1] = _mm256_add_epi32(_mm256_slli_epi32(b, 1), d);
  y[2] = _mm256_add_epi32(a, c);
  y[3] = _mm256_add_epi32(_mm256_add_epi32(b, _mm256_slli_epi32(d, 1)), times6(x[5]));
}

// The 4x4 outputs of one tile from its 36 products (8 channels): Y = A^T M A, exactly.
QBENCH_AVX2 inline void winograd_output(const __m256i (*m)[kTileRows][2], int r, int h,
                                        __m256i (&y)[16]) {
  __m256i s[4][6];
  for (int j = 0; j < 6; ++j) {  // S = L A^T S^-1 M', column j
    __m256i x[6], o[4];
    for (int i = 0; i < 6; ++i) x[i] = m[i * 6 + j][r][h];
    output_transform6(x, o);
    for (int i = 0; i < 4; ++i) s[i][j] = o[i];
  }
  const __m256i inverse9 = _mm256_set1_epi32(kInverseOf9);
  for (int i = 0; i < 4; ++i) {  // Z = S (L A^T S^-1)^T, then Y = Z / (L_i L_j)
    __m256i z[4];
    output_transform6(s[i], z);
    for (int j = 0; j < 4; ++j)
      y[4 * i + j] = _mm256_srai_epi32(_mm256_mullo_epi32(z[j], inverse9), kShift4[i] + kShift4[j]);
  }
}

// R tiles x one 16-channel panel: the transformed products (rows of V[xi] at v + xi *
// xi_stride, consecutive tiles `row` apart) accumulated, transformed back and requantized into
// the N x N output pixels of each tile (out[r][q], null outside the image).
template <int N, int R>
QBENCH_AVX2 void winograd_tile(const int16_t* v, int64_t xi_stride, int64_t row,
                               const int16_t* panel, int64_t pairs, const Epilogue& e, int64_t ch0,
                               int64_t count, uint8_t* const (*out)[N * N]) {
  constexpr int kPositions = WinogradTilesOf<N>::kPositions;
  __m256i m[kPositions][kTileRows][2];
  for (int xi = 0; xi < kPositions; ++xi) {
    const int16_t* a[kTileRows];
    for (int j = 0; j < R; ++j) a[j] = v + xi * xi_stride + j * row;
    accumulate<R>(a, panel + xi * pairs * kPanel * 2, pairs, m[xi]);
  }
  const PanelConstants k = panel_constants(e, ch0);
  for (int r = 0; r < R; ++r) {
    __m256i lo[N * N], hi[N * N];
    winograd_output(m, r, 0, lo);
    winograd_output(m, r, 1, hi);
    for (int q = 0; q < N * N; ++q)
      if (out[r][q]) store16(lo[q], hi[q], e, k, count, out[r][q] + ch0);
  }
}

template <int N>
using WinogradTileFn = void (*)(const int16_t*, int64_t, int64_t, const int16_t*, int64_t,
                                const Epilogue&, int64_t, int64_t, uint8_t* const (*)[N * N]);
template <int N>
constexpr WinogradTileFn<N> kWinogradTiles[kTileRows + 1] = {nullptr,
                                                             winograd_tile<N, 1>,
                                                             winograd_tile<N, 2>,
                                                             winograd_tile<N, 3>,
                                                             winograd_tile<N, 4>,
                                                             winograd_tile<N, 5>,
                                                             winograd_tile<N, 6>};

// F(4x4) with AVX-512 VNNI (vnni_winograd()): the same transforms, the products with vpdpwssd
// (int16 pairs summed into int32, modulo 2^32 like vpmaddwd then vpaddd, one instruction, the
// broadcast folded in) over 32-channel panels in zmm registers. The sums of a register tile of R
// tiles at one position: two 16-channel halves, each stored as winograd_outputs4() reads them.
#define QBENCH_VNNI __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))
constexpr int kPanel32 = 32;
constexpr int kVnniRows = 8;                       // tiles per register tile: 16 zmm sums
constexpr int64_t kVnniGroupBytes = 768 << 10;     // transformed rows and sums of a group
using WinogradSums = __m256i[kXi4][kVnniRows][2];  // one half of a register tile's products

template <int R>
QBENCH_VNNI void vnni_accumulate(const int16_t* a, int64_t row, const int16_t* w, int64_t pairs,
                                 __m256i (*m0)[2], __m256i (*m1)[2]) {
  __m512i acc[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  for (int64_t k = 0; k < pairs; ++k) {
    const __m512i w0 = _mm512_loadu_si512(w + 64 * k);
    const __m512i w1 = _mm512_loadu_si512(w + 64 * k + 32);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      int32_t q;
      std::memcpy(&q, a + r * row + 2 * k, sizeof q);
      const __m512i x = _mm512_set1_epi32(q);
      acc[r][0] = _mm512_dpwssd_epi32(acc[r][0], x, w0);
      acc[r][1] = _mm512_dpwssd_epi32(acc[r][1], x, w1);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    _mm512_storeu_si512(m0[r], acc[r][0]);
    _mm512_storeu_si512(m1[r], acc[r][1]);
  }
}

using VnniAccumulateFn = void (*)(const int16_t*, int64_t, const int16_t*, int64_t, __m256i (*)[2],
                                  __m256i (*)[2]);
constexpr VnniAccumulateFn kVnniAccumulate[kVnniRows + 1] = {nullptr,
                                                             vnni_accumulate<1>,
                                                             vnni_accumulate<2>,
                                                             vnni_accumulate<3>,
                                                             vnni_accumulate<4>,
                                                             vnni_accumulate<5>,
                                                             vnni_accumulate<6>,
                                                             vnni_accumulate<7>,
                                                             vnni_accumulate<8>};

// The weights are kept as int8 and transformed at each run, one row of six positions at a time
// (vnni_weights_row): U' = (SG) g (SG)^T is 8 times the int8 bytes (36 int16 per 9 weights),
// and ResNet-50's 14 x 14 x 256 layers read 4.7 MB of it from memory at every run.
// Lane p of a panel's int8 weights holds channel kVnniLaneChannel[p]: vpunpcklwd/vpunpckhwd
// interleave lanes 8L..8L+3 (low) and 8L+4..8L+7 (high) of each 128-bit block L of two input
// channels' values, which then read as channels 0-15 and 16-31 in order.
constexpr std::array<int, kPanel32> kVnniLaneChannel = [] {
  std::array<int, kPanel32> c{};
  for (int p = 0; p < kPanel32; ++p) c[p] = (p % 8 < 4 ? 0 : 16) + 4 * (p / 8) + p % 4;
  return c;
}();

QBENCH_VNNI inline __m512i widen_lanes(const int8_t* w) {
  return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)));
}

// kSG[I] . (a, b, c) in int16 (|SG g| <= 7 x 128, |SG g SG^T| <= 49 x 128): its entries are 0,
// +-1, +-2 and 4, so shifts and adds.
template <int G>
QBENCH_VNNI inline __m512i add_times(__m512i sum, __m512i v) {
  if constexpr (G == 0) return sum;
  const __m512i t = G == 1 || G == -1 ? v : _mm512_slli_epi16(v, G == 4 ? 2 : 1);
  return G > 0 ? _mm512_add_epi16(sum, t) : _mm512_sub_epi16(sum, t);
}
template <int I>
QBENCH_VNNI inline __m512i sg_row(__m512i a, __m512i b, __m512i c) {
  return add_times<kSG[I][2]>(
      add_times<kSG[I][1]>(add_times<kSG[I][0]>(_mm512_setzero_si512(), a), b), c);
}
template <int... J>
QBENCH_VNNI inline void sg_rows(const __m512i (&t)[3], __m512i (&u)[6],
                                std::integer_sequence<int, J...>) {
  ((u[J] = sg_row<J>(t[0], t[1], t[2])), ...);
}

// Row I of one panel's transformed weights: positions 6I..6I+5 as [j][pair][32 channels][2]
// int16 (what vnni_accumulate reads) from its int8 weights [c][tap][32 lanes].
template <int I>
QBENCH_VNNI void vnni_weights_row(const int8_t* w8, int64_t pairs, int16_t* u) {
  for (int64_t p = 0; p < pairs; ++p) {
    __m512i row[2][6];
    for (int h = 0; h < 2; ++h) {
      const int8_t* g = w8 + (2 * p + h) * 9 * kPanel32;
      __m512i t[3];  // (SG g)[I][b]
      for (int b = 0; b < 3; ++b)
        t[b] = sg_row<I>(widen_lanes(g + b * kPanel32), widen_lanes(g + (3 + b) * kPanel32),
                         widen_lanes(g + (6 + b) * kPanel32));
      sg_rows(t, row[h], std::make_integer_sequence<int, 6>{});  // (SG g SG^T)[I][j]
    }
    for (int j = 0; j < 6; ++j) {
      int16_t* to = u + (j * pairs + p) * kPanel32 * 2;
      _mm512_storeu_si512(to, _mm512_unpacklo_epi16(row[0][j], row[1][j]));
      _mm512_storeu_si512(to + kPanel32, _mm512_unpackhi_epi16(row[0][j], row[1][j]));
    }
  }
}

using VnniWeightsRowFn = void (*)(const int8_t*, int64_t, int16_t*);
constexpr VnniWeightsRowFn kVnniWeightsRow[6] = {vnni_weights_row<0>, vnni_weights_row<1>,
                                                 vnni_weights_row<2>, vnni_weights_row<3>,
                                                 vnni_weights_row<4>, vnni_weights_row<5>};

// GCC 12's unmasked AVX-512 intrinsics start from _mm512_undefined_*(), which -Wmaybe-uninitialized
// reports once they are inlined here (clang, the sanitizer build's compiler, has no such warning).
#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// The output side of the VNNI tiles in zmm registers: one register holds the 16 channels of a
// half (WinogradSums stores them as two ymm, adjacent), so the back transform and the
// requantization take half the instructions of winograd_output() and store16() (on ResNet-50's
// 56 x 56 x 64 layer the ymm output side was a sixth of the layer).
QBENCH_VNNI inline __m512i times6(__m512i v) {
  return _mm512_add_epi32(_mm512_slli_epi32(v, 2), _mm512_slli_epi32(v, 1));
}

// output_transform6() on zmm registers.
QBENCH_VNNI inline void output_transform6(const __m512i x[6], __m512i y[4]) {
  const __m512i a = _mm512_add_epi32(x[1], x[2]), b = _mm512_sub_epi32(x[1], x[2]);
  const __m512i c = _mm512_add_epi32(x[3], x[4]), d = _mm512_sub_epi32(x[3], x[4]);
  y[0] = _mm512_add_epi32(_mm512_add_epi32(times6(x[0]), _mm512_slli_epi32(a, 2)), c);
  y[1] = _mm512_add_epi32(_mm512_slli_epi32(b, 1), d);
  y[2] = _mm512_add_epi32(a, c);
  y[3] = _mm512_add_epi32(_mm512_add_epi32(b, _mm512_slli_epi32(d, 1)), times6(x[5]));
}

// requantize16() and store16() on one zmm of 16 sums: the same operations in the same order, both
// bounds of the clamp applied in float (where only hi was, the packs saturated below lo to the
// same byte), so the int32 values lie within the written type and vpmovdb narrows them. The
// constants are loaded once (the bytes stored might alias an Epilogue read at each store).
struct ZmmEpilogue {
  __m512 bias, scale, lo, hi, zp, q_lo, q_hi, ka, beta, kb;
  const ResidualEpilogue* residual;
  __mmask16 keep;  // the channels written
};

QBENCH_VNNI inline ZmmEpilogue zmm_epilogue(const Epilogue& e, int64_t ch0, int64_t count) {
  ZmmEpilogue k;
  k.bias = _mm512_loadu_ps(e.bias + ch0);
  k.scale = _mm512_loadu_ps(e.scale + ch0);
  k.lo = _mm512_set1_ps(e.lo);
  k.hi = _mm512_set1_ps(e.hi);
  k.zp = _mm512_set1_ps(e.zero_point);
  k.residual = e.residual;
  const ResidualEpilogue r = e.residual ? *e.residual : ResidualEpilogue{};
  k.q_lo = _mm512_set1_ps(r.q_lo);
  k.q_hi = _mm512_set1_ps(r.q_hi);
  k.ka = _mm512_set1_ps(r.ka);
  k.beta = _mm512_set1_ps(r.beta);
  k.kb = _mm512_set1_ps(r.kb);
  k.keep = count >= kPanel ? __mmask16(0xffff)
           : count <= 0    ? __mmask16(0)
                           : __mmask16((1u << count) - 1);
  return k;
}

QBENCH_VNNI inline void store16_zmm(__m512i acc, const ZmmEpilogue& k, uint8_t* y) {
  __m512 v = _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(acc), k.bias), k.scale);
  if (k.residual) {
    const __m128i raw = _mm_maskz_loadu_epi8(k.keep, y);
    const __m512i ri =
        k.residual->residual_signed ? _mm512_cvtepi8_epi32(raw) : _mm512_cvtepu8_epi32(raw);
    v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm512_min_ps(_mm512_max_ps(v, k.q_lo), k.q_hi);
    v = _mm512_fmadd_ps(v, k.ka, k.beta);
    v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ri), k.kb, v);
  }
  v = _mm512_add_ps(_mm512_min_ps(_mm512_max_ps(v, k.lo), k.hi), k.zp);
  const __m128i b = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v));
  if (k.keep == 0xffff)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), b);
  else
    _mm_mask_storeu_epi8(y, k.keep, b);
}

// r tiles' outputs from one half's products (16 channels from ch0, `count` of them real):
// transformed back, Y = A^T M A exactly as winograd_output(), requantized into out[j][q] + ch0.
QBENCH_VNNI void winograd_outputs4(const WinogradSums& m, int r, const Epilogue& e, int64_t ch0,
                                   int64_t count, const std::array<uint8_t*, 16>* out) {
  const ZmmEpilogue k = zmm_epilogue(e, ch0, count);
  const __m512i inverse9 = _mm512_set1_epi32(kInverseOf9);
  for (int j = 0; j < r; ++j) {
    __m512i s[4][6];
    for (int col = 0; col < 6; ++col) {  // S = L A^T S^-1 M', column col
      __m512i x[6], o[4];
      for (int i = 0; i < 6; ++i) x[i] = _mm512_loadu_si512(&m[i * 6 + col][j][0]);
      output_transform6(x, o);
      for (int i = 0; i < 4; ++i) s[i][col] = o[i];
    }
    const std::array<uint8_t*, 16> to = out[j];
    for (int i = 0; i < 4; ++i) {  // Z = S (L A^T S^-1)^T, then Y = Z / (L_i L_j)
      __m512i z[4];
      output_transform6(s[i], z);
      for (int q = 0; q < 4; ++q) {
        if (!to[4 * i + q]) continue;
        const __m512i y = _mm512_srai_epi32(_mm512_mullo_epi32(z[q], inverse9),
                                            unsigned(kShift4[i] + kShift4[q]));
        store16_zmm(y, k, to[4 * i + q] + ch0);
      }
    }
  }
}

// VNNI direct products (vnni_direct()): register tiles of kDirectRows pixels x 64 channels, the
// source's quads broadcast (vpdpbusd, u8 x s8 into int32 exactly), the sums started from
// -zp x sum(w). A tile's sums wait in a DirectTile while the next tile multiplies, which runs
// their requantization two registers per quad: alone after its own products it cost the stem
// 710 us against 630 (oneDNN's jit_int8 750).
constexpr int kDirectRows = 6, kDirectZmm = 4, kPanel64 = 16 * kDirectZmm;
struct DirectTile {
  alignas(64) __m512i acc[kDirectRows * kDirectZmm];
  uint8_t* y[kDirectRows];  // each pixel's output at the panel's first channel
  const ZmmEpilogue* k;     // the panel's constants, one per 16 channels
  int rows = 0;
};

QBENCH_VNNI inline void direct_epilogue(const DirectTile& t, int i) {
  const int r = i / kDirectZmm, z = i % kDirectZmm;
  if (r < t.rows && t.k[z].keep) store16_zmm(_mm512_load_si512(&t.acc[i]), t.k[z], t.y[r] + 16 * z);
}

template <int R>
QBENCH_VNNI void direct_tile(const uint8_t* const* x, const int64_t* offsets, const int8_t* w,
                             int64_t quads, const int32_t* start, const DirectTile& prev,
                             DirectTile& next) {
  __m512i acc[R][kDirectZmm];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int z = 0; z < kDirectZmm; ++z) acc[r][z] = _mm512_loadu_si512(start + 16 * z);
  int done = 0;
  for (int64_t q = 0; q < quads; ++q) {
    __m512i wv[kDirectZmm];
#pragma GCC unroll 4
    for (int z = 0; z < kDirectZmm; ++z) wv[z] = _mm512_loadu_si512(w + (q * kDirectZmm + z) * 64);
    const int64_t at = offsets[q];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      int32_t v;
      std::memcpy(&v, x[r] + at, sizeof v);
      const __m512i b = _mm512_set1_epi32(v);
#pragma GCC unroll 4
      for (int z = 0; z < kDirectZmm; ++z) acc[r][z] = _mm512_dpbusd_epi32(acc[r][z], b, wv[z]);
    }
    if (done < kDirectRows * kDirectZmm) {
      direct_epilogue(prev, done);
      direct_epilogue(prev, done + 1);
      done += 2;
    }
  }
  for (; done < kDirectRows * kDirectZmm; ++done) direct_epilogue(prev, done);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int z = 0; z < kDirectZmm; ++z)
      _mm512_store_si512(&next.acc[r * kDirectZmm + z], acc[r][z]);
}

using DirectTileFn = void (*)(const uint8_t* const*, const int64_t*, const int8_t*, int64_t,
                              const int32_t*, const DirectTile&, DirectTile&);
constexpr DirectTileFn kDirectTiles[kDirectRows + 1] = {
    nullptr,        direct_tile<1>, direct_tile<2>, direct_tile<3>,
    direct_tile<4>, direct_tile<5>, direct_tile<6>};
#pragma GCC diagnostic pop

template <typename T>
QBENCH_AVX2 void widen(const T* __restrict x, int16_t* __restrict y, int64_t n, int32_t zp) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<int16_t>(int32_t(x[i]) - zp);
}

// The same in whole vectors of 16: writes (and reads) up to 15 values past n, which the caller
// has room for, and the short runs of an im2col row (the stem's 21 values per kernel row) take
// two vector steps instead of a vector step and a scalar tail.
template <bool Signed>
QBENCH_AVX2 void widen_vectors(const uint8_t* x, int16_t* y, int64_t n, int32_t zp) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  for (int64_t i = 0; i < n; i += 16) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
    const __m256i w = Signed ? _mm256_cvtepi8_epi16(raw) : _mm256_cvtepu8_epi16(raw);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), _mm256_sub_epi16(w, z));
  }
}

// 32 bytes from `from` to `to`.
QBENCH_AVX2 inline void copy32(const uint8_t* from, uint8_t* to) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(to),
                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(from)));
}

// n int16 values (n >= 16) from `from` to `to` in whole vectors, the last one overlapping the one
// before: reads and writes exactly [0, n).
QBENCH_AVX2 inline void copy_run(const int16_t* from, int16_t* to, int64_t n) {
  for (int64_t i = 0;; i += 16) {
    if (i > n - 16) i = n - 16;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + i),
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(from + i)));
    if (i == n - 16) return;
  }
}

}  // namespace

bool ExactInt8Conv::available() {
  return own_avx2_kernels();
}

bool ExactInt8Conv::winograd_applies(const ExactConvShape& s) {
  // 3x3 stride 1; channels in whole 16-lane vectors and few enough for int32 (see above). At
  // 7x7 the 2x2 tiles compute 8x8 (30% waste) and it still wins: ResNet-50's layer-4 3x3
  // convolutions (512 channels) 1.17 -> 0.84-0.91 ms, 1 thread, as AVX2-only (cpu_mask).
  return s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 &&
         s.dilation_h == 1 && s.dilation_w == 1 && s.in_c % 16 == 0 && s.in_c <= 1024 &&
         s.out_h >= 7 && s.out_w >= 7;
}

bool ExactInt8Conv::vnni_winograd_applies(const ExactConvShape& s) {
  // With few tiles the weights' transform at each run (vnni_weights_row) costs more than the
  // products it saves: ResNet-50's 14 x 14 x 256 layers (16 tiles) took 455 us against 367 with
  // the transformed weights stored (4.7 MB, 8x the int8 bytes, read from memory in the model:
  // 520-560 us, oneDNN's brgconv 500-530).
  return own_vnni_kernels() && winograd_applies(s) &&
         s.batch * ((s.out_h + 3) / 4) * ((s.out_w + 3) / 4) >= kVnniMinTiles;
}

bool ExactInt8Conv::vnni_direct_applies(const ExactConvShape& s, bool signed_source) {
  return own_vnni_kernels() && !signed_source && s.in_c < 16 && s.kernel_w * s.in_c <= 32 &&
         s.dilation_h == 1 && s.dilation_w == 1 && !winograd_applies(s);
}

bool ExactInt8Conv::u8_products_apply(const ExactConvShape& s, std::span<const int8_t> w,
                                      bool signed_source, int32_t x_zero_point) {
  if (signed_source || winograd_applies(s)) return false;
  // 7-bit weights: 1x1 convolutions (matmuls among them) and sources of few channels (the stem);
  // larger kernels over many channels run as fast on oneDNN's direct u8 kernels, which need no
  // im2col: ResNet-50 reduce-range as AVX2-only, 1 thread, its three stride-2 3x3 layers 2547 us
  // there, 2668 here.
  if (pair_safe(w)) return (s.kernel_h == 1 && s.kernel_w == 1) || s.in_c < 16;
  // Full-range weights (split bytes, against int16 products): where few source bytes have their
  // high bit set. Not the stem: an image's bytes spread over the whole range.
  return s.in_c >= 16 && x_zero_point < kSplitMaxZeroPoint;
}

bool ExactInt8Conv::winograd4_fits(const ExactConvShape& s, const int8_t* w, int32_t x_zero_point,
                                   bool signed_source) {
  // Its weights (36 positions instead of 16) are read once per pass over the tiles: with few
  // tiles the layer waits on them. ResNet-50's 3x3 layers, 1 thread, as AVX2-only (cpu_mask):
  // 56 x 56 x 64 541 -> 363 us, 28 x 28 x 128 491 -> 325, 14 x 14 x 256 (16 tiles) 533 -> 476,
  // but 7 x 7 x 512 (4 tiles) 820 -> 837 (benchmarks/exact_int8). Edge tiles cost whole tiles:
  // F(4x4) also needs 10% fewer products than F(2x2) over the tiles that cover the output.
  if (!winograd_applies(s)) return false;
  const int64_t tiles4 = s.batch * ((s.out_h + 3) / 4) * ((s.out_w + 3) / 4);
  const int64_t tiles2 = s.batch * ((s.out_h + 1) / 2) * ((s.out_w + 1) / 2);
  if (tiles4 < kWinograd4MinTiles || tiles4 * 36 * 10 > tiles2 * 16 * 9) return false;
  // |Y| <= sum |w| x max |x - zp| per output channel must stay below 2^25 (see kShift4).
  const int64_t x_max = signed_source ? std::max(x_zero_point + 128, 127 - x_zero_point)
                                      : std::max(x_zero_point, 255 - x_zero_point);
  const int64_t per_channel = s.in_c * 9;
  for (int64_t m = 0; m < s.out_c; ++m) {
    int64_t sum = 0;
    for (int64_t i = 0; i < per_channel; ++i) sum += std::abs(int32_t(w[m * per_channel + i]));
    if (sum * x_max >= (int64_t(1) << 25)) return false;
  }
  return true;
}

ExactInt8Conv::ExactInt8Conv(const ExactConvShape& s, const int8_t* w, int32_t x_zero_point,
                             bool signed_source, Requantization rq, bool u8_products)
    : s_(s), x_zp_(x_zero_point), signed_source_(signed_source), rq_(std::move(rq)) {
  k_ = s.kernel_h * s.kernel_w * s.in_c;
  u8_ = u8_products;
  const std::span<const int8_t> all(w, size_t(s.out_c * k_));
  if (u8_ && !u8_products_apply(s, all, signed_source, x_zero_point))
    throw std::logic_error(
        "ExactInt8Conv: byte products need a uint8 source and weights within [-64, 64] with a 1x1 "
        "kernel or fewer than 16 channels, or more channels and a zero point below 64");
  // Split for full-range weights (u8_products_apply() allowed them only over such a source); 7-bit
  // ones over the same kind of source split too for the paired products, where the receptive field
  // is long enough to pay for the tile's two halves, and the output channels many enough to pay for
  // the packing: ResNet-50's 1x1 layers, reduce-range weights, 1 thread (bench_exact_int8 u8 relu,
  // interleaved): K = 512-2048 494-505 -> 431-440 us; K = 256 over 1024 channels 523 -> 465, over
  // 64 524-533 -> 507-646; K = 128 over 512 580 -> 538-590; K = 64 630-649 -> 679-849. Taking
  // K = 128 and 256 over 128 channels or more as well, the whole reduce-range model 34.7 -> 34.1
  // ms (as AVX2-only, 1 thread, 7 interleaved rounds). The benchmark's source has a high bit in
  // 4% of its quads, each one more product per panel; the model's activations in 1.4% (0-7% by
  // layer): there K = 64 into 256 channels, layer 1's conv3 and downsample, paired 687 -> 617 and
  // 719-770 -> 699-705 us (with their residual adds; per_node, 5 interleaved rounds) where the
  // benchmark says 624-631 -> 665-696. Over 64 channels the benchmark loses 10-40% (four panels
  // pay for each row's split) and the model gains 10%: not taken.
  const bool seven_bit = pair_safe(all);
  paired_ = u8_ && seven_bit && s.in_c >= 16 && x_zero_point < kSplitMaxZeroPoint &&
            (k_ >= kPairedMinK || (k_ >= kPairedMinK / 8 && s.out_c >= 128));
  split_ = u8_ && (!seven_bit || paired_);
  winograd_ = u8_                                                 ? 0
              : winograd4_fits(s, w, x_zero_point, signed_source) ? 4
              : winograd_applies(s)                               ? 2
                                                                  : 0;
  vnni_ = winograd_ == 4 && vnni_winograd_applies(s);
  vnni_direct_ = !u8_ && winograd_ == 0 && vnni_direct_applies(s, signed_source);
  // Output channels per weight panel.
  const int64_t width = vnni_ ? kPanel32 : vnni_direct_ ? kPanel64 : kPanel;
  panels_ = (s.out_c + width - 1) / width;
  auto at = [&](int64_t m, int64_t c, int64_t kh, int64_t kw) {
    return int32_t(w[((m * s.in_c + c) * s.kernel_h + kh) * s.kernel_w + kw]);
  };
  // put(m, k, w) for every weight in im2col order: k = (kh * kernel_w + kw) * in_c + c, the NHWC
  // receptive field's own order.
  auto im2col = [&](auto&& put) {
    for (int64_t m = 0; m < s.out_c; ++m)
      for (int64_t c = 0; c < s.in_c; ++c)
        for (int64_t kh = 0; kh < s.kernel_h; ++kh)
          for (int64_t kw = 0; kw < s.kernel_w; ++kw)
            put(m, (kh * s.kernel_w + kw) * s.in_c + c, at(m, c, kh, kw));
  };
  if (vnni_direct_) {
    // [panel][quad][64 channels][4], quad = kh x per_row + j: kernel row kh's run of kernel_w x
    // in_c bytes padded to per_row quads with zero weights.
    const int64_t run = s.kernel_w * s.in_c, per_row = (run + 3) / 4;
    padded_h_ = (s.out_h - 1) * s.stride_h + s.kernel_h;
    padded_w_ = (s.out_w - 1) * s.stride_w + s.kernel_w;
    quads_ = s.kernel_h * per_row;
    for (int64_t q = 0; q < quads_; ++q)
      quad_offsets_.push_back(q / per_row * padded_w_ * s.in_c + q % per_row * 4);
    weights8_.assign(size_t(panels_ * quads_ * kPanel64 * 4), 0);
    sums_start_.assign(size_t(panels_ * kPanel64), 0);
    for (int64_t m = 0; m < s.out_c; ++m)
      for (int64_t c = 0; c < s.in_c; ++c)
        for (int64_t kh = 0; kh < s.kernel_h; ++kh)
          for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
            const int64_t k = kh * per_row * 4 + kw * s.in_c + c;
            weights8_[size_t(((m / kPanel64 * quads_ + k / 4) * kPanel64 + m % kPanel64) * 4 +
                             k % 4)] = static_cast<int8_t>(at(m, c, kh, kw));
            sums_start_[size_t(m)] -= x_zero_point * at(m, c, kh, kw);
          }
  } else if (u8_) {
    // [panel][quad][16 channels][4]; zp x each channel's weight sum.
    quads_ = (k_ + 3) / 4;
    direct_ = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
              s.pad_top == 0 && s.pad_left == 0 && s.out_h == s.in_h && s.out_w == s.in_w &&
              s.in_c % 4 == 0;
    weights8_.assign(size_t(panels_ * quads_ * kPanel * 4), 0);
    if (x_zero_point != 0) compensation_.assign(size_t(panels_ * kPanel), 0);
    im2col([&](int64_t m, int64_t k, int32_t v) {
      weights8_[size_t(((m / kPanel * quads_ + k / 4) * kPanel + m % kPanel) * 4 + k % 4)] =
          static_cast<int8_t>(v);
      if (!compensation_.empty()) compensation_[size_t(m)] += x_zero_point * v;
    });
  } else if (vnni_) {
    // [panel][c][tap][32 lanes] int8, lane p holding channel kVnniLaneChannel[p] of the panel:
    // the transform's unpacks then leave the pairs of each channel in order (vnni_weights_row).
    pairs_ = s.in_c / 2;
    weights8_.assign(size_t(panels_ * s.in_c * 9 * kPanel32), 0);
    for (int64_t m0 = 0; m0 < panels_ * kPanel32; m0 += kPanel32)
      for (int p = 0; p < kPanel32; ++p) {
        const int64_t m = m0 + kVnniLaneChannel[p];
        if (m >= s.out_c) continue;
        for (int64_t c = 0; c < s.in_c; ++c)
          for (int tap = 0; tap < 9; ++tap)
            weights8_[size_t(((m0 / kPanel32 * s.in_c + c) * 9 + tap) * kPanel32 + p)] =
                static_cast<int8_t>(at(m, c, tap / 3, tap % 3));
      }
  } else if (winograd_) {
    // U = (2G) g (2G)^T, or (SG) g (SG)^T, per (m, c): [panel][xi][pair of c][16 channels][2].
    static constexpr int g2[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};
    const int n = winograd_ + 2, positions = n * n;
    auto g = [&](int i, int a) { return winograd_ == 4 ? kSG[i][a] : g2[i][a]; };
    pairs_ = s.in_c / 2;
    weights_.assign(size_t(panels_ * positions * pairs_ * width * 2), 0);
    for (int64_t m = 0; m < s.out_c; ++m)
      for (int64_t c = 0; c < s.in_c; ++c)
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < n; ++j) {
            int32_t u = 0;
            for (int a = 0; a < 3; ++a)
              for (int b = 0; b < 3; ++b) u += g(i, a) * at(m, c, a, b) * g(j, b);
            const int64_t xi = i * n + j;
            const int64_t to =
                (((m / width * positions + xi) * pairs_ + c / 2) * width + m % width) * 2 + c % 2;
            weights_[size_t(to)] = static_cast<int16_t>(u);
          }
  } else {
    // [panel][pair][16 channels][2].
    pairs_ = (k_ + 1) / 2;
    weights_.assign(size_t(panels_ * pairs_ * kPanel * 2), 0);
    im2col([&](int64_t m, int64_t k, int32_t v) {
      weights_[size_t(((m / kPanel * pairs_ + k / 2) * kPanel + m % kPanel) * 2 + k % 2)] =
          static_cast<int16_t>(v);
    });
  }
  const int64_t padded = panels_ * width;
  bias_ = rq_.bias;
  scale_ = rq_.scale;
  bias_.resize(size_t(padded), 0.f);
  scale_.resize(size_t(padded), 0.f);
}

void ExactInt8Conv::widen_run(const uint8_t* from, int16_t* to, int64_t n,
                              const uint8_t* end) const {
  // Whole vectors where the source has the bytes; `to` always has the room (pack_row).
  if (end - from >= (n + 15) / 16 * 16) {
    if (signed_source_)
      widen_vectors<true>(from, to, n, x_zp_);
    else
      widen_vectors<false>(from, to, n, x_zp_);
  } else if (signed_source_) {
    widen(reinterpret_cast<const int8_t*>(from), to, n, x_zp_);
  } else {
    widen(from, to, n, x_zp_);
  }
}

int64_t ExactInt8Conv::row_stride() const {
  return pairs_ * 2 + 16;  // room for widen_run's last vector
}

namespace {

// Pixel p's receptive field into `row` in im2col order: copy(offset, to, n) for each run of n
// source values inside the image (offsets in source elements, NHWC), `pad` in the padding. A
// kernel row wholly inside the image is one run (the stem's 7 x 3 channels) where `whole_rows`
// allows.
template <typename T, typename Copy>
void receptive_runs(const ExactConvShape& s, int64_t p, T* row, T pad, bool whole_rows,
                    Copy&& copy) {
  // One division where the batch is 1 (a 64-bit division costs about what a row's copy does).
  const int64_t q = p / s.out_w, ow = p - q * s.out_w;
  const int64_t b = s.batch == 1 ? 0 : q / s.out_h, oh = q - b * s.out_h;
  const int64_t iw0 = ow * s.stride_w - s.pad_left, run = s.kernel_w * s.in_c;
  whole_rows = whole_rows && s.dilation_w == 1 && iw0 >= 0 && iw0 + s.kernel_w <= s.in_w;
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    T* to = row + kh * run;
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) {
      std::fill_n(to, run, pad);
      continue;
    }
    const int64_t line = (b * s.in_h + ih) * s.in_w * s.in_c;
    if (whole_rows) {
      copy(line + iw0 * s.in_c, to, run);
      continue;
    }
    for (int64_t kw = 0; kw < s.kernel_w; ++kw, to += s.in_c) {
      const int64_t iw = iw0 + kw * s.dilation_w;
      if (iw < 0 || iw >= s.in_w)
        std::fill_n(to, s.in_c, pad);
      else
        copy(line + iw * s.in_c, to, s.in_c);
    }
  }
}

// The first source element (NHWC offset) of pixel p's receptive field where the field lies wholly
// inside the image with each kernel row one run of at most `max_run` elements (the stem's 7 x 3
// channels), its rows `in_w * in_c` apart; -1 otherwise (receptive_runs then). The im2col of such
// a pixel is kernel_h vector copies: through receptive_runs' general walk, with a call per run,
// it took a fifth of ResNet-50's stem.
int64_t interior_field(const ExactConvShape& s, int64_t p, int64_t max_run) {
  if (s.dilation_h != 1 || s.dilation_w != 1 || s.kernel_w * s.in_c > max_run) return -1;
  const int64_t q = p / s.out_w, ow = p - q * s.out_w;
  const int64_t b = s.batch == 1 ? 0 : q / s.out_h, oh = q - b * s.out_h;
  const int64_t ih = oh * s.stride_h - s.pad_top, iw = ow * s.stride_w - s.pad_left;
  if (ih < 0 || ih + s.kernel_h > s.in_h || iw < 0 || iw + s.kernel_w > s.in_w) return -1;
  return ((b * s.in_h + ih) * s.in_w + iw) * s.in_c;
}

}  // namespace

void ExactInt8Conv::pack_row(const uint8_t* x, int64_t p, int16_t* row) const {
  // Runs are written in address order, so a vector's spill past its run is overwritten by the
  // next run; the last one spills into the row's room (row_stride).
  const uint8_t* end = x + s_.batch * s_.in_h * s_.in_w * s_.in_c;
  receptive_runs(s_, p, row, int16_t(0), true,
                 [&](int64_t from, int16_t* to, int64_t n) { widen_run(x + from, to, n, end); });
  if (k_ % 2) row[k_] = 0;
}

QBENCH_AVX2 void ExactInt8Conv::pack_row_widened(const int16_t* x, int64_t p, int16_t* row) const {
  // An interior field's kernel rows of 16 to 32 values: two vectors each, the second ending at
  // the run's end (copy_run), where the source has the values (run_gemm's widened copy has 16
  // past its end).
  const int64_t run = s_.kernel_w * s_.in_c, field = interior_field(s_, p, 32);
  if (field >= 0 && run >= 16) {
    const int16_t* from = x + field;
    for (int64_t kh = 0; kh < s_.kernel_h; ++kh, from += s_.in_w * s_.in_c, row += run) {
      copy32(reinterpret_cast<const uint8_t*>(from), reinterpret_cast<uint8_t*>(row));
      copy32(reinterpret_cast<const uint8_t*>(from + run - 16),
             reinterpret_cast<uint8_t*>(row + run - 16));
    }
    if (k_ % 2) *row = 0;  // row is at k_ now
    return;
  }
  receptive_runs(s_, p, row, int16_t(0), s_.kernel_w * s_.in_c >= 16,
                 [&](int64_t from, int16_t* to, int64_t n) {
                   if (n >= 16)
                     copy_run(x + from, to, n);
                   else
                     std::memcpy(to, x + from, size_t(n) * sizeof(int16_t));
                 });
  if (k_ % 2) row[k_] = 0;
}

QBENCH_AVX2 void ExactInt8Conv::pack_row_u8(const uint8_t* x, int64_t p, uint8_t* row) const {
  // The padding holds the zero point, whose products the compensation takes away again; the
  // last quad's spare bytes meet zero weights. Runs of up to 32 bytes (the stem's 21) are one
  // vector each where the source has the bytes (a call to memcpy took a third of the packing):
  // runs are written in address order, so a spill is overwritten by the next run, the last one
  // into the row's room (row_bytes_u8).
  const auto zp = static_cast<uint8_t>(x_zp_);
  const uint8_t* end = x + s_.batch * s_.in_h * s_.in_w * s_.in_c;
  const int64_t run = s_.kernel_w * s_.in_c, line = s_.in_w * s_.in_c,
                field = interior_field(s_, p, 32);
  if (field >= 0 && end - (x + field + (s_.kernel_h - 1) * line) >= 32) {
    for (int64_t kh = 0; kh < s_.kernel_h; ++kh) copy32(x + field + kh * line, row + kh * run);
    std::fill(row + k_, row + quads_ * 4, zp);
    return;
  }
  receptive_runs(s_, p, row, zp, true, [&](int64_t from, uint8_t* to, int64_t n) {
    if (n <= 32 && end - (x + from) >= 32)
      copy32(x + from, to);
    else
      std::memcpy(to, x + from, size_t(n));
  });
  std::fill(row + k_, row + quads_ * 4, zp);
}

void ExactInt8Conv::pack_row_split(const uint8_t* x, int64_t p, uint8_t* row,
                                   uint32_t* high) const {
  if (direct_) {  // the source's pixel, k_ a whole number of quads
    split_quads(x + p * s_.in_c, row, quads_, high);
  } else {
    pack_row_u8(x, p, row);
    split_quads(row, row, quads_, high);
  }
}

int64_t ExactInt8Conv::row_bytes_u8() const {
  return quads_ * 4 + 32;  // room for pack_row_u8's last vector
}

Epilogue ExactInt8Conv::epilogue() const {
  // requantize_row clips to [clip_lo, clip_hi], adds the zero point z, saturates to [qmin,
  // qmax]. The clip bounds lie within [qmin - z, qmax - z] (integers), so clamping to the
  // intersection before adding z gives the same value: inside it both compute v + z, which
  // rounds into [qmin, qmax] since the bounds are exact floats; outside both give the bound.
  // With a residual, the same for the add's clip and its output's zero point and range.
  const bool to_signed = residual_ ? residual_->out_signed : rq_.to_signed;
  const float qmin = to_signed ? -128.f : 0.f, qmax = to_signed ? 127.f : 255.f;
  const float z = residual_ ? residual_->zero_point : rq_.zero_point;
  const float clip_lo = residual_ ? residual_->lo : rq_.clip_lo;
  const float clip_hi = residual_ ? residual_->hi : rq_.clip_hi;
  Epilogue e{bias_.data(),
             scale_.data(),
             std::max(clip_lo, qmin - z),
             std::min(clip_hi, qmax - z),
             z,
             to_signed,
             residual_ ? &*residual_ : nullptr,
             compensation()};
  e.lo_saturates = e.lo == qmin - z;
  return e;
}

const int32_t* ExactInt8Conv::compensation() const {
  return compensation_.empty() ? nullptr : compensation_.data();
}

void ExactInt8Conv::run(const void* x, void* y) const {
  const auto* in = static_cast<const uint8_t*>(x);
  auto* out = static_cast<uint8_t*>(y);
  if (u8_)
    run_gemm_u8(in, out);
  else if (vnni_)
    run_winograd_vnni(in, out);
  else if (vnni_direct_)
    run_direct_vnni(in, out);
  else if (winograd_ == 4)
    run_winograd<4>(in, out);
  else if (winograd_ == 2)
    run_winograd<2>(in, out);
  else
    run_gemm(in, out);
}

template <int N>
void ExactInt8Conv::run_winograd(const uint8_t* x, uint8_t* y) const {
  using Tiles = WinogradTilesOf<N>;
  constexpr int kPositions = Tiles::kPositions, kOutputs = Tiles::kOutputs;
  const ExactConvShape& s = s_;
  const Tiles tiles{s.batch, s.in_h, s.in_w, s.out_h, s.out_w, s.pad_top, s.pad_left};
  const int64_t c = s.in_c, count = tiles.count();
  const int64_t chunk = rows_per_pass(count, kPositions * c * int64_t(sizeof(int16_t)),
                                      int64_t(weights_.size() * sizeof(int16_t)));
  auto* v =
      static_cast<int16_t*>(thread_scratch(0, size_t(kPositions * chunk * c) * sizeof(int16_t)));
  const Epilogue e = epilogue();
  const bool parallel =
      omp_get_max_threads() > 1 && count * kOutputs * s.out_c * k_ >= (int64_t(1) << 21);
  run_passes(
      count, chunk, panels_, parallel, kPositions * c * int64_t(sizeof(int16_t)),
      int64_t(weights_.size() * sizeof(int16_t)),
      [&](int64_t i, int64_t t) {
        const uint8_t* patch[kPositions];
        tiles.patch(t, x, c, patch);
        if (signed_source_)  // F(2x2) or F(4x4) by the patch's size
          winograd_input<true>(patch, c, x_zp_, v + i * c, chunk * c);
        else
          winograd_input<false>(patch, c, x_zp_, v + i * c, chunk * c);
      },
      [&](int64_t panel, int64_t i0, int64_t t0, int r) {
        uint8_t* out[kTileRows][kOutputs];
        for (int j = 0; j < r; ++j) {
          int64_t pixel[kOutputs];
          tiles.outputs(t0 + j, pixel);
          for (int q = 0; q < kOutputs; ++q)
            out[j][q] = pixel[q] < 0 ? nullptr : y + pixel[q] * s.out_c;
        }
        const int64_t ch0 = panel * kPanel;
        kWinogradTiles<N>[r](v + i0 * c, chunk * c, c,
                             weights_.data() + panel * kPositions * pairs_ * kPanel * 2, pairs_, e,
                             ch0, std::min<int64_t>(kPanel, s.out_c - ch0), out);
      });
}

// F(4x4) on the VNNI tiles. Each thread takes an equal share of the register tiles (blocks of 6
// Winograd tiles) and runs it in groups: the group's input tiles transformed, then for each
// 32-channel panel and each of the 36 positions the group's blocks multiplied by that position's
// weights (pairs_ x 128 bytes, in L1 while every block reads them), the sums kept per block
// (WinogradSums x 2) until the output transform. A group's transformed rows and sums stay in L2;
// its weights stream past once per group.
void ExactInt8Conv::run_winograd_vnni(const uint8_t* x, uint8_t* y) const {
  using Tiles = WinogradTilesOf<4>;
  const ExactConvShape& s = s_;
  const Tiles tiles{s.batch, s.in_h, s.in_w, s.out_h, s.out_w, s.pad_top, s.pad_left};
  const int64_t c = s.in_c, count = tiles.count();
  const int threads = omp_get_max_threads() > 1 && count * 16 * s.out_c * k_ >= (int64_t(1) << 21)
                          ? omp_get_max_threads()
                          : 1;
  const int64_t tile_rows = kXi4 * c * int64_t(sizeof(int16_t));
  const int64_t tile_sums = 2 * int64_t(sizeof(WinogradSums)) / kVnniRows;
  const int64_t max_group = std::max<int64_t>(kVnniRows, kVnniGroupBytes / (tile_rows + tile_sums));
  const Epilogue e = epilogue();
#pragma omp parallel num_threads(threads)
  {
    const int64_t n = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t first = count * t / n, last = count * (t + 1) / n;
    const int64_t groups = (last - first + max_group - 1) / max_group;
    const int64_t group = groups ? (last - first + groups - 1) / groups : 0;
    const int64_t xi_stride = group * c;
    const int64_t max_blocks = (group + kVnniRows - 1) / kVnniRows;
    auto* v = static_cast<int16_t*>(thread_scratch(0, size_t(group * tile_rows)));
    auto* m = static_cast<WinogradSums*>(
        thread_scratch(1, size_t(2 * max_blocks) * sizeof(WinogradSums)));
    auto* u = static_cast<int16_t*>(
        thread_scratch(2, size_t(6 * pairs_ * kPanel32 * 2) * sizeof(int16_t)));
    for (int64_t t0 = first; t0 < last; t0 += group) {
      const int64_t nt = std::min(group, last - t0);
      // Blocks of at most kVnniRows tiles, as equal as they come (49 tiles: 7 x 7).
      const int64_t blocks = (nt + kVnniRows - 1) / kVnniRows;
      auto block_start = [&](int64_t b) { return nt * b / blocks; };
      for (int64_t i = 0; i < nt; ++i) {
        const uint8_t* patch[kXi4];
        tiles.patch(t0 + i, x, c, patch);
        if (signed_source_)
          winograd_input<true>(patch, c, x_zp_, v + i * c, xi_stride);
        else
          winograd_input<false>(patch, c, x_zp_, v + i * c, xi_stride);
      }
      for (int64_t panel = 0; panel < panels_; ++panel) {
        for (int i = 0; i < 6; ++i) {
          kVnniWeightsRow[i](weights8_.data() + panel * c * 9 * kPanel32, pairs_, u);
          for (int j = 0; j < 6; ++j) {
            const int xi = 6 * i + j;
            for (int64_t b = 0; b < blocks; ++b) {
              const int64_t b0 = block_start(b);
              kVnniAccumulate[block_start(b + 1) - b0](v + xi * xi_stride + b0 * c, c,
                                                       u + j * pairs_ * kPanel32 * 2, pairs_,
                                                       m[2 * b][xi], m[2 * b + 1][xi]);
            }
          }
        }
        for (int64_t b = 0; b < blocks; ++b) {
          const int64_t b0 = block_start(b);
          const int r = int(block_start(b + 1) - b0);
          std::array<uint8_t*, 16> out[kVnniRows];
          for (int j = 0; j < r; ++j) {
            int64_t pixel[16];
            tiles.outputs(t0 + b0 + j, pixel);
            for (int q = 0; q < 16; ++q)
              out[j][q] = pixel[q] < 0 ? nullptr : y + pixel[q] * s.out_c;
          }
          for (int half = 0; half < 2; ++half) {
            const int64_t ch0 = panel * kPanel32 + half * kPanel;
            if (ch0 < s.out_c)
              winograd_outputs4(m[2 * b + half], r, e, ch0,
                                std::min<int64_t>(kPanel, s.out_c - ch0), out);
          }
        }
      }
    }
  }
}

// The source copied into a buffer of the zero point as wide and high as the kernel reaches (plus
// a quad's room past the end), then each thread an equal share of the pixels, panel by panel, in
// register tiles whose epilogue the next tile runs (the last one's after the loop).
void ExactInt8Conv::run_direct_vnni(const uint8_t* x, uint8_t* y) const {
  const ExactConvShape& s = s_;
  const int64_t c = s.in_c, pixels = s.batch * s.out_h * s.out_w;
  const int64_t image = padded_h_ * padded_w_ * c;
  auto* padded = static_cast<uint8_t*>(thread_scratch(0, size_t(s.batch * image + 64)));
  std::memset(padded, x_zp_, size_t(s.batch * image + 64));
  const int64_t rows = std::min(s.in_h, padded_h_ - s.pad_top);
  const int64_t cols = std::min(s.in_w, padded_w_ - s.pad_left);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < rows; ++h)
      std::memcpy(padded + b * image + ((h + s.pad_top) * padded_w_ + s.pad_left) * c,
                  x + ((b * s.in_h + h) * s.in_w) * c, size_t(cols * c));
  const Epilogue e = epilogue();
  std::vector<ZmmEpilogue> constants(size_t(panels_ * kDirectZmm));
  for (int64_t i = 0; i < panels_ * kDirectZmm; ++i)
    constants[size_t(i)] = zmm_epilogue(e, i * kPanel, s.out_c - i * kPanel);
  const int threads = omp_get_max_threads() > 1 && pixels * s.out_c * k_ >= (int64_t(1) << 21)
                          ? omp_get_max_threads()
                          : 1;
#pragma omp parallel num_threads(threads)
  {
    const int64_t n = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t first = pixels * t / n, last = pixels * (t + 1) / n;
    DirectTile tiles[2];
    int cur = 0;
    for (int64_t panel = 0; panel < panels_; ++panel) {
      const int8_t* w = weights8_.data() + panel * quads_ * kPanel64 * 4;
      for (int64_t p0 = first; p0 < last;) {
        const int r = int(std::min<int64_t>(kDirectRows, last - p0));
        const uint8_t* at[kDirectRows];
        DirectTile& next = tiles[cur ^ 1];
        for (int j = 0; j < r; ++j) {
          const int64_t p = p0 + j, q = p / s.out_w, ow = p - q * s.out_w;
          const int64_t b = q / s.out_h, oh = q - b * s.out_h;
          at[j] = padded + b * image + (oh * s.stride_h * padded_w_ + ow * s.stride_w) * c;
          next.y[j] = y + p * s.out_c + panel * kPanel64;
        }
        kDirectTiles[r](at, quad_offsets_.data(), w, quads_, sums_start_.data() + panel * kPanel64,
                        tiles[cur], next);
        next.rows = r;
        next.k = constants.data() + panel * kDirectZmm;
        cur ^= 1;
        p0 += r;
      }
    }
    for (int i = 0; i < kDirectRows * kDirectZmm; ++i) direct_epilogue(tiles[cur], i);
  }
}

void ExactInt8Conv::run_gemm(const uint8_t* x, uint8_t* y) const {
  const ExactConvShape& s = s_;
  const int64_t pixels = s.batch * s.out_h * s.out_w, row = row_stride();
  // Pixels per pass: their rows stay in L2 while every panel streams past them.
  const int64_t chunk = rows_per_pass(pixels, row * int64_t(sizeof(int16_t)),
                                      int64_t(weights_.size() * sizeof(int16_t)));
  auto* rows = static_cast<int16_t*>(thread_scratch(0, size_t(chunk * row) * sizeof(int16_t)));
  const Epilogue e = epilogue();
  const bool parallel = omp_get_max_threads() > 1 && pixels * s.out_c * k_ >= (int64_t(1) << 21);

  // Few channels (the stem's 3): each receptive field is kernel_h short runs, and widening them
  // pixel by pixel took a fifth of ResNet-50's stem; widen the source once and copy int16 runs.
  const int16_t* widened = nullptr;
  if (s.in_c < kPanel) {
    const int64_t n = s.batch * s.in_h * s.in_w * s.in_c;
    auto* w = static_cast<int16_t*>(thread_scratch(1, size_t(n + 16) * sizeof(int16_t)));
    widen_run(x, w, n, x + n);
    widened = w;
  }
  run_passes(
      pixels, chunk, panels_, parallel, row * int64_t(sizeof(int16_t)),
      int64_t(weights_.size() * sizeof(int16_t)),
      // im2col: each pixel's receptive field minus the zero point; padding is 0 (= zp - zp).
      [&](int64_t i, int64_t p) {
        if (widened)
          pack_row_widened(widened, p, rows + i * row);
        else
          pack_row(x, p, rows + i * row);
      },
      [&](int64_t panel, int64_t i0, int64_t p0, int r) {
        const int16_t* a[kTileRows];
        uint8_t* out[kTileRows];
        for (int j = 0; j < r; ++j) {
          a[j] = rows + (i0 + j) * row;
          out[j] = y + (p0 + j) * s.out_c;
        }
        const int64_t ch0 = panel * kPanel;
        kTiles<int16_t, int16_t>[r](a, weights_.data() + panel * pairs_ * kPanel * 2, pairs_, e,
                                    ch0, std::min<int64_t>(kPanel, s.out_c - ch0), out, nullptr);
      });
}

void ExactInt8Conv::run_gemm_u8(const uint8_t* x, uint8_t* y) const {
  const ExactConvShape& s = s_;
  const bool source_rows = direct_ && !split_;
  const int64_t pixels = s.batch * s.out_h * s.out_w, row = source_rows ? s.in_c : row_bytes_u8();
  const int64_t chunk = rows_per_pass(pixels, row, int64_t(weights8_.size()));
  auto* rows =
      source_rows ? nullptr : static_cast<uint8_t*>(thread_scratch(0, size_t(chunk * row)));
  // Split rows' high-bit quads: a count and up to quads_ entries per row.
  const int64_t listed = quads_ + 1;
  auto* high =
      split_ ? static_cast<uint32_t*>(thread_scratch(1, size_t(chunk * listed) * sizeof(uint32_t)))
             : nullptr;
  const Epilogue e = epilogue();
  const bool parallel = omp_get_max_threads() > 1 && pixels * s.out_c * k_ >= (int64_t(1) << 21);
  run_passes(
      pixels, chunk, panels_, parallel, row, int64_t(weights8_.size()),
      [&](int64_t i, int64_t p) {
        if (split_)
          pack_row_split(x, p, rows + i * row, high + i * listed);
        else if (!source_rows)
          pack_row_u8(x, p, rows + i * row);
      },
      [&](int64_t panel, int64_t i0, int64_t p0, int r) {
        const uint8_t* a[kTileRows];
        const uint32_t* h[kTileRows];
        uint8_t* out[kTileRows];
        for (int j = 0; j < r; ++j) {
          a[j] = source_rows ? x + (p0 + j) * row : rows + (i0 + j) * row;
          h[j] = split_ ? high + (i0 + j) * listed : nullptr;
          out[j] = y + (p0 + j) * s.out_c;
        }
        const int64_t ch0 = panel * kPanel;
        const int8_t* w = weights8_.data() + panel * quads_ * kPanel * 4;
        const int64_t count = std::min<int64_t>(kPanel, s.out_c - ch0);
        if (paired_)
          kTiles<Low7Paired, int8_t>[r](reinterpret_cast<const Low7Paired* const*>(a), w, quads_, e,
                                        ch0, count, out, h);
        else
          kTiles<uint8_t, int8_t>[r](a, w, quads_, e, ch0, count, out, split_ ? h : nullptr);
      });
}

namespace {

std::atomic<Int16Kernels> g_int16_kernels{Int16Kernels::Auto};

class ExactInt8Kernel final : public Kernel {
 public:
  ExactInt8Kernel(std::unique_ptr<ExactInt8Conv> conv, const char* op, int residual)
      : conv_(std::move(conv)),
        residual_(residual),
        impl_(
            conv_->u8_products()
                ? std::string("qbench_u8s8_gemm:avx2 (exact ") + op + ": " +
                      (conv_->paired() ? "weights within [-64, 64], source bytes split into 7 low "
                                         "bits and the high bit, two quads paired in int16; no sum "
                                         "saturates)"
                       : conv_->split()
                           ? "source bytes split into 7 low bits and the high bit, no vpmaddubsw "
                             "pair saturates)"
                           : "weights within [-64, 64], no vpmaddubsw pair saturates)")
            : conv_->vnni_direct() ? std::string("qbench_u8s8_direct:avx512_vnni (exact ") + op +
                                         ": vpdpbusd over the padded source's rows, no im2col)"
            : conv_->vnni_winograd()
                ? std::string("qbench_int16_winograd:avx512_vnni (exact: integer Winograd "
                              "F(4x4,3x3), vpdpwssd on int16)")
            : conv_->winograd()
                ? fmt::format("qbench_int16_winograd:avx2 (exact: integer Winograd F({0}x{0},3x3), "
                              "vpmaddwd on int16)",
                              conv_->winograd())
                : std::string("qbench_int16_gemm:avx2 (exact ") + op +
                      ": vpmaddwd on int16, no pair saturation)") {}

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           ExecContext&) override {
    if (residual_ >= 0) copy_residual(*inputs[size_t(residual_)], *outputs[0]);
    conv_->run(inputs[0]->raw(), outputs[0]->raw());
  }

  std::string impl() const override {
    return residual_ >= 0 ? impl_ + ", residual added in registers" : impl_;
  }
  int inplace_input() const override { return residual_; }

 private:
  std::unique_ptr<ExactInt8Conv> conv_;
  int residual_;
  std::string impl_;
};

}  // namespace

void set_int16_kernels(Int16Kernels mode) {
  g_int16_kernels = mode;
}

Int16Kernels int16_kernels() {
  return g_int16_kernels.load();
}

std::unique_ptr<Kernel> make_exact_int8_kernel(std::unique_ptr<ExactInt8Conv> conv, const char* op,
                                               int residual_input) {
  return std::make_unique<ExactInt8Kernel>(std::move(conv), op, residual_input);
}

}  // namespace qbench::kernels::onednn
