#include "onnx/tensor_pb.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "onnx/tensor_proto.h"

namespace qbench::onnxio {
namespace {

std::string tensor_desc(const onnx::TensorProto& t) {
  return t.name().empty() ? std::string("<unnamed tensor>") : "'" + t.name() + "'";
}

// Copies n elements of a repeated field into dst converting to T.
template <typename T, typename Field>
void copy_field(const Field& f, void* dst) {
  T* out = static_cast<T*>(dst);
  for (int i = 0; i < f.size(); ++i) out[i] = static_cast<T>(f.Get(i));
}

}  // namespace

namespace detail {

std::string read_file(const std::string& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("{} file '{}' does not exist", what, path);
  if (std::filesystem::is_directory(path, ec)) fail("{} file '{}' is a directory", what, path);
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open {} file '{}': {}", what, path, std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Tensor tensor_from_proto(const onnx::TensorProto& tp, const std::string& origin,
                         const std::string& base_dir, const char* role) {
  if (!dtype_valid(tp.data_type()) || tp.data_type() == static_cast<int>(DType::String))
    fail("{} {} in '{}' has unsupported data type {}", role, tensor_desc(tp), origin,
         tp.data_type());
  DType dt = static_cast<DType>(tp.data_type());
  Shape shape(tp.dims().begin(), tp.dims().end());
  for (int64_t d : shape)
    if (d < 0) fail("{} {} in '{}' has a negative dimension {}", role, tensor_desc(tp), origin, d);
  Tensor t(dt, shape);
  const int64_t n = t.numel();
  const size_t esz = dtype_size(dt);

  std::string external;
  const std::string* raw = tp.has_raw_data() ? &tp.raw_data() : nullptr;
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : tp.external_data()) {
      if (kv.key() == "location") location = kv.value();
      if (kv.key() == "offset") offset = std::stoll(kv.value());
      if (kv.key() == "length") length = std::stoll(kv.value());
    }
    std::string path = (std::filesystem::path(base_dir) / location).string();
    std::string all = read_file(path, "external data");
    if (length < 0) length = static_cast<int64_t>(all.size()) - offset;
    if (offset < 0 || offset + length > static_cast<int64_t>(all.size()))
      fail("{} {} in '{}': external data '{}' is shorter than offset {} + length {}", role,
           tensor_desc(tp), origin, path, offset, length);
    external = all.substr(offset, length);
    raw = &external;
  }

  auto mismatch = [&](int64_t have) {
    fail("{} {} in '{}': data holds {} elements but dims {} need {}", role, tensor_desc(tp), origin,
         have, shape_str(shape), n);
  };
  if (raw) {
    if (raw->size() != static_cast<size_t>(n) * esz)
      mismatch(static_cast<int64_t>(raw->size() / std::max<size_t>(esz, 1)));
    if (n) std::memcpy(t.raw(), raw->data(), raw->size());
    return t;
  }
  switch (dt) {
    case DType::F32:
      if (tp.float_data_size() != n) mismatch(tp.float_data_size());
      copy_field<float>(tp.float_data(), t.raw());
      break;
    case DType::F64:
      if (tp.double_data_size() != n) mismatch(tp.double_data_size());
      copy_field<double>(tp.double_data(), t.raw());
      break;
    case DType::I64:
      if (tp.int64_data_size() != n) mismatch(tp.int64_data_size());
      copy_field<int64_t>(tp.int64_data(), t.raw());
      break;
    case DType::U32:
    case DType::U64:
      if (tp.uint64_data_size() != n) mismatch(tp.uint64_data_size());
      if (dt == DType::U32)
        copy_field<uint32_t>(tp.uint64_data(), t.raw());
      else
        copy_field<uint64_t>(tp.uint64_data(), t.raw());
      break;
    default:
      if (tp.int32_data_size() != n) mismatch(tp.int32_data_size());
      if (dt == DType::I32) copy_field<int32_t>(tp.int32_data(), t.raw());
      if (dt == DType::I8) copy_field<int8_t>(tp.int32_data(), t.raw());
      if (dt == DType::U8) copy_field<uint8_t>(tp.int32_data(), t.raw());
      if (dt == DType::I16) copy_field<int16_t>(tp.int32_data(), t.raw());
      if (dt == DType::U16 || dt == DType::F16 || dt == DType::BF16)
        copy_field<uint16_t>(tp.int32_data(), t.raw());
      if (dt == DType::Bool) copy_field<bool>(tp.int32_data(), t.raw());
      break;
  }
  return t;
}

}  // namespace detail

Tensor load_tensor_pb(const std::string& path, std::string* name) {
  std::string bytes = detail::read_file(path, "tensor");
  onnx::TensorProto tp;
  google::protobuf::io::CodedInputStream cis(reinterpret_cast<const uint8_t*>(bytes.data()),
                                             static_cast<int>(bytes.size()));
  cis.SetTotalBytesLimit(INT_MAX);
  if (!tp.ParseFromCodedStream(&cis) || !cis.ConsumedEntireMessage())
    fail("'{}' is not a serialized ONNX TensorProto (truncated, or a sequence/optional/map value)",
         path);
  if (tp.data_type() == 0)
    fail("'{}' is not a serialized ONNX TensorProto: it has no data type", path);
  std::string dir = std::filesystem::path(path).parent_path().string();
  Tensor t = detail::tensor_from_proto(tp, path, dir.empty() ? "." : dir, "tensor");
  if (name) *name = tp.name();
  return t;
}

}  // namespace qbench::onnxio
