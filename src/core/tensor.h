#pragma once
// A dense, row-major tensor that shares its 64-byte aligned buffer on copy (like a view);
// clone() makes a deep copy.
#include <cassert>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace qbench {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
// "[1, 3, 224, 224]"
std::string shape_str(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-filled tensor.
  Tensor(DType dtype, Shape shape);
  // Copies `data` (numel elements of dtype) into a new tensor.
  static Tensor from_data(DType dtype, Shape shape, const void* data);
  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& v) {
    assert(static_cast<int64_t>(v.size()) == shape_numel(shape));
    return from_data(dtype_of<T>::value, std::move(shape), v.data());
  }
  template <typename T>
  static Tensor scalar(T v) {
    return from_data(dtype_of<T>::value, {}, &v);
  }

  bool defined() const { return dtype_ != DType::Undefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i < 0 ? i + rank() : i]; }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw() { return buf_.get(); }
  const void* raw() const { return buf_.get(); }
  template <typename T>
  T* data() {
    assert(dtype_of<T>::value == dtype_);
    return static_cast<T*>(raw());
  }
  template <typename T>
  const T* data() const {
    assert(dtype_of<T>::value == dtype_);
    return static_cast<const T*>(raw());
  }

  // A tensor of `dtype` and `shape` over the start of `storage`'s buffer, sharing ownership; the
  // buffer must be large enough. Lets the engine reuse memory between tensors whose lifetimes do
  // not overlap.
  static Tensor view_of(const Tensor& storage, DType dtype, Shape shape);
  // Rows [start, start + count) of the first dimension, over this tensor's buffer (sharing
  // ownership, no copy).
  Tensor rows(int64_t start, int64_t count) const;
  // Same buffer, new shape with the same element count.
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  // Elements converted to int64 (for shape-like inputs of any integer type).
  std::vector<int64_t> to_int64() const;
  // Elements converted to float (any numeric dtype).
  std::vector<float> to_float() const;
  // True if the buffers hold identical bytes and dtype and shape match.
  bool same_as(const Tensor& other) const;

 private:
  DType dtype_ = DType::Undefined;
  Shape shape_;
  std::shared_ptr<std::byte> buf_;
};

// Half-precision conversions (round to nearest even).
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
float bf16_to_float(uint16_t b);
uint16_t float_to_bf16(float f);

}  // namespace qbench
