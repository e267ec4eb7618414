#include "data/npy.h"

#include <fmt/ranges.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <cmath>

#include "core/error.h"
#include "data/dataset.h"
#include "core/limits.h"

namespace qbench::data {
namespace {

struct NpyType {
  const char* descr;
  DType dtype;
};
constexpr NpyType kTypes[] = {{"<f4", DType::F32}, {"<f8", DType::F64}, {"<f2", DType::F16},
                              {"|u1", DType::U8},  {"|i1", DType::I8},  {"<i2", DType::I16},
                              {"<u2", DType::U16}, {"<i4", DType::I32}, {"<u4", DType::U32},
                              {"<i8", DType::I64}, {"<u8", DType::U64}, {"|b1", DType::Bool}};

}  // namespace

Tensor load_npy(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(".npy file '{}' is a directory", path);
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open .npy file '{}': {}", path, std::strerror(errno));
  if (std::filesystem::is_regular_file(path, ec))
    check_memory(static_cast<int64_t>(std::filesystem::file_size(path, ec)),
                 fmt::format(".npy file '{}'", path));
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_npy(ss.str(), path);
}

Tensor parse_npy(const std::string& b, const std::string& path) {
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0)
    fail("'{}' is not a .npy file (bad magic)", path);
  const int major = static_cast<uint8_t>(b[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<uint8_t>(b[8]) | (static_cast<uint8_t>(b[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) fail("'{}' is truncated", path);
    header_len = 0;
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(b[8 + i]);
    offset = 12;
  } else {
    fail("'{}': unsupported .npy version {}", path, major);
  }
  if (b.size() < offset + header_len) fail("'{}' is truncated in its header", path);
  const std::string header = b.substr(offset, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']+)'")))
    fail("'{}': .npy header has no descr", path);
  std::string descr = m[1];
  if (descr == "<b1" || descr == "|b1") descr = "|b1";
  if (descr == "<u1") descr = "|u1";
  if (descr == "<i1") descr = "|i1";
  DType dt = DType::Undefined;
  for (const auto& t : kTypes)
    if (descr == t.descr) dt = t.dtype;
  if (dt == DType::Undefined) fail("'{}': unsupported .npy dtype '{}'", path, descr);
  const bool fortran = std::regex_search(header, m, std::regex("'fortran_order'\\s*:\\s*True"));
  if (!std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")))
    fail("'{}': .npy header has no shape", path);
  Shape shape;
  std::stringstream dims(m[1]);
  std::string item;
  while (std::getline(dims, item, ',')) {
    const size_t first = item.find_first_not_of(" ");
    if (first == std::string::npos) continue;
    size_t used = 0;
    int64_t d = -1;
    try {
      d = std::stoll(item.substr(first), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || item.find_first_not_of(" ", first + used) != std::string::npos || d < 0)
      fail("'{}': .npy shape entry '{}' is not a non-negative integer", path, item);
    shape.push_back(d);
  }
  const size_t data_at = offset + header_len;
  int64_t numel = 0;
  try {
    numel = shape_numel(shape);
  } catch (const Error& e) {
    fail("'{}': {}", path, e.what());
  }
  const size_t need = static_cast<size_t>(checked_mul(
      numel, int64_t(dtype_size(dt)), fmt::format("'{}': shape {}", path, shape_str(shape))));
  if (b.size() - data_at < need)
    fail("'{}' is truncated: shape {} needs {} bytes but {} follow", path, shape_str(shape), need,
         b.size() - data_at);
  if (!fortran || shape.size() < 2) return Tensor::from_data(dt, shape, b.data() + data_at);
  // Column-major data (numpy writes it for a transposed view): reorder into row-major.
  Tensor t(dt, shape);
  const size_t es = dtype_size(dt), rank = shape.size();
  const char* src = b.data() + data_at;
  char* dst = static_cast<char*>(t.raw());
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t f = 0, stride = 1;
    for (size_t d = 0; d < rank; ++d) f += idx[d] * stride, stride *= shape[d];
    std::memcpy(dst + i * es, src + f * es, es);
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return t;
}

void save_npy(const Tensor& t, const std::string& path) {
  const char* descr = nullptr;
  for (const auto& k : kTypes)
    if (k.dtype == t.dtype()) descr = k.descr;
  if (!descr) fail("cannot save {} tensor as .npy", dtype_name(t.dtype()));
  std::string shape = fmt::format("{}", fmt::join(t.shape(), ", "));
  if (t.rank() == 1) shape += ",";
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  // Pad so that the data starts at a multiple of 64 bytes, ending with a newline.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) fail("cannot write .npy file '{}': {}", path, std::strerror(errno));
  f.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(header.size());
  f.put(static_cast<char>(len & 0xff));
  f.put(static_cast<char>(len >> 8));
  f << header;
  f.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  if (!f) fail("cannot write .npy file '{}'", path);
}

}  // namespace qbench::data

namespace qbench::data {

Dataset load_npy_dataset(const std::string& inputs, const std::string& labels) {
  const Tensor x = load_npy(inputs);
  const Tensor y = load_npy(labels);
  if (x.rank() < 1 || x.dim(0) < 1)
    fail("npy dataset inputs '{}' need the samples along a first axis, got shape {}", inputs,
         shape_str(x.shape()));
  if (dtype_is_float(y.dtype()) || y.dtype() == DType::Bool || y.rank() != 1)
    fail("npy dataset labels '{}' must be a 1-D integer array, got {} {}", labels,
         dtype_name(y.dtype()), shape_str(y.shape()));
  if (y.dim(0) != x.dim(0))
    fail("npy dataset: '{}' holds {} samples but '{}' {} labels", inputs, x.dim(0), labels,
         y.dim(0));
  Dataset ds;
  ds.count = x.dim(0);
  ds.sample = Shape(x.shape().begin() + 1, x.shape().end());
  ds.channels = shape_numel(ds.sample);
  ds.height = ds.width = 1;
  ds.values = x.to_float();
  for (float v : ds.values)
    if (!std::isfinite(v))
      fail("npy dataset inputs '{}' hold a non-finite value ({})", inputs, v);
  const std::vector<int64_t> l = y.to_int64();
  int64_t top = 0;
  for (size_t i = 0; i < l.size(); ++i) {
    if (l[i] < 0 || l[i] > 1000000)
      fail("npy dataset labels '{}': sample {} has label {} (expected 0 to 1000000)", labels, i,
           l[i]);
    ds.labels.push_back(int32_t(l[i]));
    top = std::max(top, l[i]);
  }
  ds.num_classes = int(top + 1);
  for (int c = 0; c < ds.num_classes; ++c) ds.class_names.push_back(std::to_string(c));
  ds.name = fmt::format("npy ({} samples of {}, {}; used as they are, no --mean/--std)", ds.count,
                        shape_str(ds.sample), inputs);
  return ds;
}

}  // namespace qbench::data
