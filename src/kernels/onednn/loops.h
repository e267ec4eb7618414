#pragma once
// Element-wise loops the oneDNN kernels run around their primitives, written so the compiler
// vectorizes them (cloned per ISA, dispatched when the library loads: the portable x86-64
// baseline has no wide vectors), and per-thread scratch buffers for their temporaries.
#include <omp.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qbench::kernels::onednn {

// Clang cannot clone templates; the clang builds are the sanitizer and fuzzing ones, where the
// baseline loops do.
#if defined(__clang__)
#define QBENCH_CLONES
#else
#define QBENCH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

// Above this many elements a loop is split over the OpenMP threads; below, waking the threads
// costs more than the loop.
constexpr int64_t kParallelMin = int64_t(1) << 16;

// Runs fn(begin, count) over [0, n): in one call for small n, in one block per OpenMP thread for
// large n.
template <typename Fn>
void split_loop(int64_t n, Fn&& fn) {
  if (n < kParallelMin) {
    fn(0, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    fn(begin, end - begin);
  }
}

// A buffer of at least `bytes` (64-byte aligned) owned by the calling thread, one per `slot`
// (0 to kScratchSlots - 1). It grows to the largest request and is reused by every kernel on
// that thread: the kernels of a plan run one after the other, and each uses its slots only inside
// run(), so a model needs one temporary of the largest size instead of one per kernel. Slots 0-3
// are the kernels' own; the others belong to common.h's helpers (PlainIoPrimitive's reordered
// source and destination, every Step's scratchpad during its execution), so a kernel may hold
// its own slots across a call to them.
constexpr int kSourceSlot = 4, kDestinationSlot = 5, kScratchpadSlot = 6;
constexpr int kScratchSlots = 7;
void* thread_scratch(int slot, size_t bytes);

// y = x XOR 0x80: int8 values as uint8 values 128 higher (x + 128), exactly.
void int8_to_shifted_uint8(const int8_t* x, uint8_t* y, int64_t n);
// hi = floor(w / 2), lo = w - hi: two halves within [-64, 64] whose sum is w.
void split_int8_halves(const int8_t* w, int8_t* hi, int8_t* lo, int64_t n);
// y += x.
void add_int32(const int32_t* x, int32_t* y, int64_t n);
// qbench.QLinearAdd's arithmetic on integers a, b (qops.cpp): ka * a + kb * b + shift, the zero
// points inside shift, clamped to [lo, hi] (fused Relu/Clip within the output type's range),
// rounded once. `clip`: [lo, hi] is narrower than the output type's range.
struct QAddArithmetic {
  float ka = 1, kb = 1, shift = 0;
  int32_t lo = 0, hi = 255;
  int32_t zero_point = 0;  // the output's (inside shift)
  bool clip = false;
};
// A QLinearAdd applied to a convolution's result in its epilogue (a residual QLinearConv), as
// oneDNN's post-ops (qconv.cpp) and the int16 kernel (exact_int8_conv.cpp) both compute it from
// the scaled value v = (acc + bias) * scale and the residual r: the convolution's own output less
// its zero point q = clamp(round(v), q_lo, q_hi) (round half to even), t = r * kb + (q * ka +
// beta) (two fused multiply-adds), clamp(t, lo, hi) + zero_point, rounded half to even. The same
// float operations in the same order, so both write the same bytes.
struct ResidualEpilogue {
  float q_lo, q_hi, ka, beta, kb, lo, hi, zero_point;
  bool clip;  // [lo, hi] narrower than the output type's range less the zero point
  bool residual_signed, out_signed;
};
// From the add's arithmetic, the convolution's zero point and output range [q_min, q_max], and
// the types of the residual and the output.
ResidualEpilogue residual_epilogue(const QAddArithmetic& add, int32_t conv_zero_point,
                                   int32_t q_min, int32_t q_max, bool residual_signed,
                                   bool out_signed);
// Requantizes int32 accumulators that a convolution or matmul produced in two halves (a + b,
// channels innermost: `rows` x `channels`) into uint8 or int8, in the order of oneDNN's own int8
// epilogue, so the result equals what one primitive would have written:
// v = (float(a + b) + float(bias[c])) * scale[c], clipped to [clip_lo, clip_hi] (fused
// Relu/Clip), plus the zero point, saturated to the output type, rounded half to even.
struct Requantization {
  std::vector<float> bias;   // float(bias[c]), zeros without a bias
  std::vector<float> scale;  // one per channel
  float clip_lo = -INFINITY, clip_hi = INFINITY;
  float zero_point = 0;
  bool to_signed = false;  // int8 (else uint8) output
};
void requantize_halves(const int32_t* a, const int32_t* b, int64_t rows, int64_t channels,
                       const Requantization& r, void* y);
// y = x rounded to the nearest bfloat16 (ties to even, as oneDNN's f32 -> bf16 conversion),
// kept in float: what a bf16 kernel reads, for kernels that emulate bf16 in f32.
void round_to_bf16(const float* x, float* y, int64_t n);

}  // namespace qbench::kernels::onednn
