#include "core/tensor.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/limits.h"

namespace qbench {

int64_t shape_numel(const Shape& s) {
  // Shapes come from models and files: a negative dim, or a product that would wrap around into
  // a small number (and a small allocation), is an error, not a size.
  constexpr int64_t kMaxElements = int64_t(1) << 58;  // x 16 bytes still fits int64
  for (int64_t d : s) {
    if (d < 0) fail("shape {} has a negative dimension", shape_str(s));
    if (d == 0) return 0;
  }
  int64_t n = 1;
  for (int64_t d : s)
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxElements)
      fail("shape {} has too many elements (more than 2^58)", shape_str(s));
  return n;
}

std::string shape_str(const Shape& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

namespace {
std::shared_ptr<std::byte> alloc_zeroed(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}
}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  const int64_t bytes =
      checked_mul(numel(), int64_t(dtype_size(dtype_)),
                  fmt::format("a {} tensor of shape {}", dtype_name(dtype_), shape_str(shape_)));
  check_memory(bytes,
               fmt::format("a {} tensor of shape {}", dtype_name(dtype_), shape_str(shape_)));
  buf_ = alloc_zeroed(static_cast<size_t>(bytes));
}

Tensor Tensor::from_data(DType dtype, Shape shape, const void* data) {
  Tensor t(dtype, std::move(shape));
  if (t.nbytes()) std::memcpy(t.raw(), data, t.nbytes());
  return t;
}

Tensor Tensor::view_of(const Tensor& storage, DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  assert(t.nbytes() <= storage.nbytes() || storage.nbytes() == 0);
  t.buf_ = storage.buf_;
  return t;
}

Tensor Tensor::rows(int64_t start, int64_t count) const {
  assert(rank() > 0 && start >= 0 && count >= 0 && start + count <= dim(0));
  Tensor t;
  t.dtype_ = dtype_;
  t.shape_ = shape_;
  t.shape_[0] = count;
  const size_t row = shape_[0] == 0 ? 0 : nbytes() / static_cast<size_t>(shape_[0]);
  t.buf_ = std::shared_ptr<std::byte>(buf_, buf_.get() + row * static_cast<size_t>(start));
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  assert(shape_numel(shape) == numel());
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  return from_data(dtype_, shape_, raw());
}

template <typename Out>
static std::vector<Out> convert_all(const Tensor& t) {
  std::vector<Out> out(static_cast<size_t>(t.numel()));
  const void* p = t.raw();
  for (size_t i = 0; i < out.size(); ++i) {
    switch (t.dtype()) {
      case DType::F32:
        out[i] = static_cast<Out>(static_cast<const float*>(p)[i]);
        break;
      case DType::F64:
        out[i] = static_cast<Out>(static_cast<const double*>(p)[i]);
        break;
      case DType::F16:
        out[i] = static_cast<Out>(half_to_float(static_cast<const uint16_t*>(p)[i]));
        break;
      case DType::BF16:
        out[i] = static_cast<Out>(bf16_to_float(static_cast<const uint16_t*>(p)[i]));
        break;
      case DType::U8:
        out[i] = static_cast<Out>(static_cast<const uint8_t*>(p)[i]);
        break;
      case DType::I8:
        out[i] = static_cast<Out>(static_cast<const int8_t*>(p)[i]);
        break;
      case DType::U16:
        out[i] = static_cast<Out>(static_cast<const uint16_t*>(p)[i]);
        break;
      case DType::I16:
        out[i] = static_cast<Out>(static_cast<const int16_t*>(p)[i]);
        break;
      case DType::I32:
        out[i] = static_cast<Out>(static_cast<const int32_t*>(p)[i]);
        break;
      case DType::I64:
        out[i] = static_cast<Out>(static_cast<const int64_t*>(p)[i]);
        break;
      case DType::U32:
        out[i] = static_cast<Out>(static_cast<const uint32_t*>(p)[i]);
        break;
      case DType::U64:
        out[i] = static_cast<Out>(static_cast<const uint64_t*>(p)[i]);
        break;
      case DType::Bool:
        out[i] = static_cast<Out>(static_cast<const bool*>(p)[i]);
        break;
      case DType::String:
      case DType::Undefined:
        out[i] = Out{};
        break;
    }
  }
  return out;
}

std::vector<int64_t> Tensor::to_int64() const {
  return convert_all<int64_t>(*this);
}
std::vector<float> Tensor::to_float() const {
  return convert_all<float>(*this);
}

bool Tensor::same_as(const Tensor& o) const {
  if (dtype_ != o.dtype_ || shape_ != o.shape_) return false;
  return nbytes() == 0 || std::memcmp(raw(), o.raw(), nbytes()) == 0;
}

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u)
    return static_cast<uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0));
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow to inf
  if (absx < 0x38800000u) {  // subnormal or zero in half
    float a;
    std::memcpy(&a, &absx, 4);
    // 2^-24 is the smallest half subnormal; round to nearest even via float arithmetic.
    float scaled = a * 16777216.0f;
    uint32_t m = static_cast<uint32_t>(scaled);
    float rem = scaled - static_cast<float>(m);
    if (rem > 0.5f || (rem == 0.5f && (m & 1u))) ++m;
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t e = ((absx >> 23) - 127 + 15) << 10;
  uint32_t m = (absx >> 13) & 0x3ffu;
  uint32_t rest = absx & 0x1fffu;
  uint32_t h = e | m;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float bf16_to_float(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace qbench
