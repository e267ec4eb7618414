#pragma once
// Element types. The numeric values are ONNX's TensorProto.DataType so conversion is a cast.
#include <cstddef>
#include <cstdint>
#include <string>

namespace qbench {

enum class DType : int32_t {
  Undefined = 0,
  F32 = 1,
  U8 = 2,
  I8 = 3,
  U16 = 4,
  I16 = 5,
  I32 = 6,
  I64 = 7,
  String = 8,
  Bool = 9,
  F16 = 10,
  F64 = 11,
  U32 = 12,
  U64 = 13,
  BF16 = 16,
};

// Size of one element in bytes; 0 for Undefined and String.
size_t dtype_size(DType t);
// Short lowercase name as used in reports: "f32", "u8", "bf16"...
const char* dtype_name(DType t);
bool dtype_is_float(DType t);
// uint8 or int8: the 8-bit integer types of quantized tensors.
inline bool dtype_is_8bit(DType t) {
  return t == DType::U8 || t == DType::I8;
}
// True for the ONNX data type numbers qbench knows.
bool dtype_valid(int32_t onnx_type);

// Maps a C++ type to its DType.
template <typename T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::F32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::F64;
};
template <>
struct dtype_of<uint8_t> {
  static constexpr DType value = DType::U8;
};
template <>
struct dtype_of<int8_t> {
  static constexpr DType value = DType::I8;
};
template <>
struct dtype_of<uint16_t> {
  static constexpr DType value = DType::U16;
};
template <>
struct dtype_of<int16_t> {
  static constexpr DType value = DType::I16;
};
template <>
struct dtype_of<int32_t> {
  static constexpr DType value = DType::I32;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DType value = DType::I64;
};
template <>
struct dtype_of<uint32_t> {
  static constexpr DType value = DType::U32;
};
template <>
struct dtype_of<uint64_t> {
  static constexpr DType value = DType::U64;
};
template <>
struct dtype_of<bool> {
  static constexpr DType value = DType::Bool;
};

}  // namespace qbench
