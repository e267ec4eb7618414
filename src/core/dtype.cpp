#include "core/dtype.h"

namespace qbench {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32:
      return 4;
    case DType::U8:
      return 1;
    case DType::I8:
      return 1;
    case DType::U16:
      return 2;
    case DType::I16:
      return 2;
    case DType::I32:
      return 4;
    case DType::I64:
      return 8;
    case DType::Bool:
      return 1;
    case DType::F16:
      return 2;
    case DType::F64:
      return 8;
    case DType::U32:
      return 4;
    case DType::U64:
      return 8;
    case DType::BF16:
      return 2;
    case DType::String:
    case DType::Undefined:
      return 0;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "f32";
    case DType::U8:
      return "u8";
    case DType::I8:
      return "i8";
    case DType::U16:
      return "u16";
    case DType::I16:
      return "i16";
    case DType::I32:
      return "i32";
    case DType::I64:
      return "i64";
    case DType::Bool:
      return "bool";
    case DType::F16:
      return "f16";
    case DType::F64:
      return "f64";
    case DType::U32:
      return "u32";
    case DType::U64:
      return "u64";
    case DType::BF16:
      return "bf16";
    case DType::String:
      return "string";
    case DType::Undefined:
      return "undefined";
  }
  return "undefined";
}

bool dtype_is_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::F64 || t == DType::BF16;
}

bool dtype_valid(int32_t onnx_type) {
  return (onnx_type >= 1 && onnx_type <= 13) || onnx_type == 16;
}

}  // namespace qbench
