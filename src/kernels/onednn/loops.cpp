#include "kernels/onednn/loops.h"

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

}  // namespace

void* thread_scratch(int slot, size_t bytes) {
  thread_local Scratch slots[4];
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

}  // namespace qbench::kernels::onednn
