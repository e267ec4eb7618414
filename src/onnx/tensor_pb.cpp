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
#include "core/limits.h"
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

namespace {

// A non-negative integer from an external_data entry; an Error names the tensor and the key.
int64_t external_int(const std::string& text, const char* key, const std::string& where) {
  size_t used = 0;
  int64_t v = -1;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || v < 0)
    fail("{}: external_data {} '{}' is not a non-negative integer", where, key, text);
  return v;
}

// Bytes [offset, offset + length) of a file that must lie inside the model's directory: a
// model may not name absolute paths, '..', devices or FIFOs (it would read files the user never
// gave it). length -1: to the end of the file.
std::string read_external(const std::string& base_dir, const std::string& location, int64_t offset,
                          int64_t length, const std::string& where) {
  namespace fs = std::filesystem;
  if (location.empty()) fail("{}: external data has no location", where);
  const fs::path rel(location);
  if (rel.is_absolute())
    fail("{}: external data location '{}' is an absolute path", where, location);
  for (const auto& part : rel)
    if (part == "..")
      fail("{}: external data location '{}' leaves the model's directory", where, location);
  std::error_code ec;
  const fs::path dir = fs::canonical(base_dir, ec);
  const fs::path path = fs::weakly_canonical(fs::path(base_dir) / rel, ec);
  const std::string shown = (fs::path(base_dir) / rel).string();
  if (!fs::exists(path, ec)) fail("{}: external data file '{}' does not exist", where, shown);
  // Symlinks resolved: the file itself must still be inside the model's directory.
  const auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  if (d != dir.end())
    fail("{}: external data file '{}' resolves outside the model's directory", where, shown);
  if (!fs::is_regular_file(path, ec))
    fail("{}: external data file '{}' is not a regular file", where, shown);
  const int64_t size = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) fail("{}: cannot read the size of external data file '{}'", where, shown);
  if (length < 0) length = offset <= size ? size - offset : -1;
  if (length < 0 || checked_add(offset, length, where + ": external data offset + length") > size)
    fail("{}: external data file '{}' ({} bytes) is shorter than offset {} + length {}", where,
         shown, size, offset, length);
  check_memory(length, where + ": external data");
  std::ifstream f(path, std::ios::binary);
  std::string bytes(static_cast<size_t>(length), '\0');
  if (!f.seekg(offset) || !f.read(bytes.data(), length))
    fail("{}: cannot read {} bytes at offset {} of external data file '{}'", where, length, offset,
         shown);
  return bytes;
}

// Elements a TensorProto's typed field holds for dtype `dt`.
int64_t field_count(const onnx::TensorProto& tp, DType dt) {
  switch (dt) {
    case DType::F32:
      return tp.float_data_size();
    case DType::F64:
      return tp.double_data_size();
    case DType::I64:
      return tp.int64_data_size();
    case DType::U32:
    case DType::U64:
      return tp.uint64_data_size();
    default:
      return tp.int32_data_size();
  }
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& tp, const std::string& origin,
                         const std::string& base_dir, const char* role) {
  if (!dtype_valid(tp.data_type()) || tp.data_type() == static_cast<int>(DType::String))
    fail("{} {} in '{}' has unsupported data type {}", role, tensor_desc(tp), origin,
         tp.data_type());
  const DType dt = static_cast<DType>(tp.data_type());
  const std::string where = fmt::format("{} {} in '{}'", role, tensor_desc(tp), origin);
  const Shape shape(tp.dims().begin(), tp.dims().end());
  for (int64_t d : shape)
    if (d < 0) fail("{} has a negative dimension {}", where, d);
  // Sizes from the file are checked before anything is allocated.
  int64_t n = 0;
  try {
    n = shape_numel(shape);
  } catch (const Error& e) {
    fail("{}: {}", where, e.what());
  }
  const size_t esz = dtype_size(dt);
  const int64_t bytes = checked_mul(n, int64_t(esz), where);

  std::string external;
  const std::string* raw = tp.has_raw_data() ? &tp.raw_data() : nullptr;
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : tp.external_data()) {
      if (kv.key() == "location") location = kv.value();
      if (kv.key() == "offset") offset = external_int(kv.value(), "offset", where);
      if (kv.key() == "length") length = external_int(kv.value(), "length", where);
    }
    external = read_external(base_dir, location, offset, length, where);
    raw = &external;
  }

  const int64_t have =
      raw ? static_cast<int64_t>(raw->size() / std::max<size_t>(esz, 1)) : field_count(tp, dt);
  if ((raw && static_cast<int64_t>(raw->size()) != bytes) || (!raw && have != n))
    fail("{}: data holds {} elements but dims {} need {}", where, have, shape_str(shape), n);
  check_memory(bytes, where);
  Tensor t(dt, shape);
  if (raw) {
    if (n) std::memcpy(t.raw(), raw->data(), raw->size());
    return t;
  }
  switch (dt) {
    case DType::F32:
      copy_field<float>(tp.float_data(), t.raw());
      break;
    case DType::F64:
      copy_field<double>(tp.double_data(), t.raw());
      break;
    case DType::I64:
      copy_field<int64_t>(tp.int64_data(), t.raw());
      break;
    case DType::U32:
    case DType::U64:
      if (dt == DType::U32)
        copy_field<uint32_t>(tp.uint64_data(), t.raw());
      else
        copy_field<uint64_t>(tp.uint64_data(), t.raw());
      break;
    default:
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
