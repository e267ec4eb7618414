#include "kernels/onednn/loops.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace qbench::kernels::onednn {

namespace {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

struct Scratch {
  std::unique_ptr<void, FreeDeleter> data;
  size_t bytes = 0;
};

QBENCH_CLONES void shift_block(const int8_t* x, uint8_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<uint8_t>(x[i]) ^ 0x80u;
}

QBENCH_CLONES void halves_block(const int8_t* w, int8_t* hi, int8_t* lo, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const int8_t h = static_cast<int8_t>(w[i] >> 1);  // arithmetic shift: floor
    hi[i] = h;
    lo[i] = static_cast<int8_t>(w[i] - h);
  }
}

QBENCH_CLONES void add_block(const int32_t* x, int32_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

// Round to nearest even on the upper 16 bits; NaN stays NaN (a quiet bit is set so rounding
// cannot carry a NaN's payload into an infinity).
QBENCH_CLONES void bf16_block(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &x[i], 4);
    const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    const uint32_t r = nan ? ((u | 0x00400000u) & 0xffff0000u) : rounded;
    std::memcpy(&y[i], &r, 4);
  }
}

// Local parameters and restrict pointers, so the compiler sees no aliasing and vectorizes.
template <typename T>
QBENCH_CLONES void requantize_row(const int32_t* __restrict a, const int32_t* __restrict b,
                                  int64_t channels, const float* __restrict bias,
                                  const float* __restrict scale, float clip_lo, float clip_hi,
                                  float zp, float qmin, float qmax, T* __restrict y) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to even
  for (int64_t c = 0; c < channels; ++c) {
    float v = (static_cast<float>(a[c] + b[c]) + bias[c]) * scale[c];
    v = std::min(std::max(v, clip_lo), clip_hi) + zp;
    v = std::min(std::max(v, qmin), qmax);
    y[c] = static_cast<T>(static_cast<int32_t>((v + kMagic) - kMagic));
  }
}

}  // namespace

void requantize_halves(const int32_t* a, const int32_t* b, int64_t rows, int64_t channels,
                       const Requantization& r, void* y) {
  auto run = [&](auto* out, float qmin, float qmax) {
    auto rows_block = [&](int64_t begin, int64_t count) {
      for (int64_t i = begin; i < begin + count; ++i)
        requantize_row(a + i * channels, b + i * channels, channels, r.bias.data(), r.scale.data(),
                       r.clip_lo, r.clip_hi, r.zero_point, qmin, qmax, out + i * channels);
    };
    if (rows * channels < kParallelMin) {
      rows_block(0, rows);
      return;
    }
#pragma omp parallel
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      const int64_t begin = rows * t / nt, end = rows * (t + 1) / nt;
      rows_block(begin, end - begin);
    }
  };
  if (r.to_signed)
    run(static_cast<int8_t*>(y), -128.f, 127.f);
  else
    run(static_cast<uint8_t*>(y), 0.f, 255.f);
}

void* thread_scratch(int slot, size_t bytes) {
  thread_local Scratch slots[kScratchSlots];
  Scratch& s = slots[slot];
  if (s.bytes < bytes) {
    const size_t size = (bytes + 63) / 64 * 64;
    s.data.reset(std::aligned_alloc(64, size));
    if (!s.data) throw std::bad_alloc();
    s.bytes = size;
  }
  return s.data.get();
}

void int8_to_shifted_uint8(const int8_t* x, uint8_t* y, int64_t n) {
  split_loop(n, [&](int64_t b, int64_t c) { shift_block(x + b, y + b, c); });
}

void split_int8_halves(const int8_t* w, int8_t* hi, int8_t* lo, int64_t n) {
  split_loop(n, [&](int64_t b, int64_t c) { halves_block(w + b, hi + b, lo + b, c); });
}

void add_int32(const int32_t* x, int32_t* y, int64_t n) {
  split_loop(n, [&](int64_t b, int64_t c) { add_block(x + b, y + b, c); });
}

void round_to_bf16(const float* x, float* y, int64_t n) {
  split_loop(n, [&](int64_t b, int64_t c) { bf16_block(x + b, y + b, c); });
}

ResidualEpilogue residual_epilogue(const QAddArithmetic& add, int32_t conv_zero_point,
                                   int32_t q_min, int32_t q_max, bool residual_signed,
                                   bool out_signed) {
  ResidualEpilogue e;
  const float zc = float(add.zero_point);
  e.q_lo = float(q_min - conv_zero_point);
  e.q_hi = float(q_max - conv_zero_point);
  e.ka = add.ka;
  e.kb = add.kb;
  // ka * (q + conv_zero_point) + shift - zero_point: q counts from the convolution's zero point,
  // and the output's zero point is added last (oneDNN's destination zero point).
  e.beta = float(double(add.shift) - zc + double(add.ka) * conv_zero_point);
  e.lo = float(add.lo) - zc;
  e.hi = float(add.hi) - zc;
  e.zero_point = zc;
  e.clip = add.clip;
  e.residual_signed = residual_signed;
  e.out_signed = out_signed;
  return e;
}

}  // namespace qbench::kernels::onednn
