// A level-5 MAT-file reader for the one variable ImageNet's devkit needs (see mat.h). The format
// (MathWorks, "MAT-File Format", level 5): a 128-byte header whose last two bytes read "IM" in a
// little-endian file, then data elements, each an 8-byte tag (type, byte count) or a 4-byte
// "small" tag (byte count in the upper half) with up to 4 bytes of data, padded to 8 bytes.
// miCOMPRESSED elements hold one zlib-deflated element. A matrix (miMATRIX) holds array flags
// (class), dimensions, a name, then its data by class: numbers, characters, a struct's field
// names and each element's fields as matrices, or a cell's matrices.
#include "data/mat.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "core/error.h"
#include "core/limits.h"
#include "data/dataset.h"

namespace qbench::data {
namespace {

enum : uint32_t {
  miINT8 = 1, miUINT8 = 2, miINT16 = 3, miUINT16 = 4, miINT32 = 5, miUINT32 = 6, miSINGLE = 7,
  miDOUBLE = 9, miINT64 = 12, miUINT64 = 13, miMATRIX = 14, miCOMPRESSED = 15, miUTF8 = 16,
  miUTF16 = 17, miUTF32 = 18,
};
enum : uint32_t { mxCELL = 1, mxSTRUCT = 2, mxCHAR = 4 };
constexpr int kMaxDepth = 16;

// One matrix, as much of it as the synsets need: numbers as doubles, text as UTF-8, a struct's
// elements as name -> matrix maps, a cell's elements.
struct Matrix {
  uint32_t cls = 0;
  std::string name;
  std::vector<double> numbers;
  std::string text;
  std::vector<std::map<std::string, Matrix>> elements;  // mxSTRUCT
  std::vector<Matrix> cells;                            // mxCELL
};

struct Element {
  uint32_t type = 0;
  const uint8_t* data = nullptr;
  uint32_t size = 0;
};

uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

class Reader {
 public:
  Reader(const uint8_t* p, size_t n, const std::string& file) : p_(p), n_(n), file_(file) {}
  bool done() const { return pos_ >= n_; }
  size_t remaining() const { return n_ - pos_; }

  // The next element; `what` names it in errors. Compressed elements are not padded.
  Element next(const char* what) {
    if (n_ - pos_ < 4) bad("{} at byte {}: the file ends inside an element tag", what, pos_);
    const uint32_t first = le32(p_ + pos_);
    Element e;
    if ((first >> 16) != 0) {  // small element: size in the upper 16 bits, data in 4 bytes
      if (n_ - pos_ < 8) bad("{} at byte {}: the file ends inside a small element", what, pos_);
      e.type = first & 0xffff;
      e.size = first >> 16;
      if (e.size > 4) bad("{} at byte {}: a small element of {} bytes (at most 4)", what, pos_, e.size);
      e.data = p_ + pos_ + 4;
      pos_ += 8;
      return e;
    }
    if (n_ - pos_ < 8) bad("{} at byte {}: the file ends inside an element tag", what, pos_);
    e.type = first;
    e.size = le32(p_ + pos_ + 4);
    if (e.size > n_ - pos_ - 8)
      bad("{} at byte {}: the element says {} bytes but {} remain", what, pos_, e.size,
          n_ - pos_ - 8);
    e.data = p_ + pos_ + 8;
    const size_t padded = e.type == miCOMPRESSED ? e.size : (size_t(e.size) + 7) / 8 * 8;
    pos_ = std::min(n_, pos_ + 8 + padded);
    return e;
  }

  template <typename... Args>
  [[noreturn]] void bad(fmt::format_string<Args...> f, Args&&... args) const {
    fail("'{}' is not a readable MAT-file: {}", file_, fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& file_;
};

size_t type_size(uint32_t type) {
  switch (type) {
    case miINT8: case miUINT8: case miUTF8: return 1;
    case miINT16: case miUINT16: case miUTF16: return 2;
    case miINT32: case miUINT32: case miSINGLE: case miUTF32: return 4;
    case miDOUBLE: case miINT64: case miUINT64: return 8;
    default: return 0;
  }
}

double number_at(uint32_t type, const uint8_t* p) {
  switch (type) {
    case miINT8: return static_cast<int8_t>(p[0]);
    case miUINT8: return p[0];
    case miINT16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case miUINT16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case miINT32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case miUINT32: { uint32_t v; std::memcpy(&v, p, 4); return v; }
    case miSINGLE: { float v; std::memcpy(&v, p, 4); return v; }
    case miDOUBLE: { double v; std::memcpy(&v, p, 8); return v; }
    case miINT64: { int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    case miUINT64: { uint64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    default: return 0;
  }
}

void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += '?';
  }
}

Matrix parse_matrix(const Element& m, const std::string& file, int depth);

// The matrices of a struct's or cell's elements follow its header in the same element.
Matrix read_matrix_body(Reader& r, const std::string& file, int depth) {
  Matrix out;
  const Element flags = r.next("array flags");
  if ((flags.type != miUINT32 && flags.type != miINT32) || flags.size < 4)
    r.bad("array flags of type {} and {} bytes (expected 8 bytes of miUINT32)", flags.type,
          flags.size);
  out.cls = le32(flags.data) & 0xff;
  const bool complex = (le32(flags.data) & 0x800) != 0;
  const Element dims = r.next("dimensions");
  if (dims.type != miINT32 || dims.size < 8 || dims.size % 4 != 0)
    r.bad("dimensions of type {} and {} bytes (expected two or more miINT32)", dims.type,
          dims.size);
  int64_t count = 1;
  for (uint32_t i = 0; i < dims.size; i += 4) {
    const int32_t d = static_cast<int32_t>(le32(dims.data + i));
    if (d < 0) r.bad("a negative dimension ({})", d);
    count = checked_mul(count, d, "MAT-file array '" + file + "'");
  }
  const Element name = r.next("array name");
  if (name.type != miINT8 && name.type != miUINT8) r.bad("an array name of type {}", name.type);
  out.name.assign(reinterpret_cast<const char*>(name.data), name.size);

  if (out.cls == mxSTRUCT) {
    const Element len = r.next("field name length");
    if (len.type != miINT32 || len.size != 4) r.bad("a field name length of type {}", len.type);
    const int64_t width = static_cast<int32_t>(le32(len.data));
    const Element names = r.next("field names");
    if (width <= 0 || names.type != miINT8 || names.size % width != 0)
      r.bad("field names of {} bytes in slots of {}", names.size, width);
    std::vector<std::string> fields;
    for (int64_t i = 0; i < names.size / width; ++i) {
      const char* s = reinterpret_cast<const char*>(names.data + i * width);
      fields.emplace_back(s, strnlen(s, static_cast<size_t>(width)));
    }
    // Every field of every element is an element of at least 8 bytes: a count the rest of the
    // data cannot hold is refused before anything is allocated for it.
    const int64_t slots = fields.empty() ? count : checked_mul(count, fields.size(), "struct");
    if (slots > static_cast<int64_t>(r.remaining() / 8))
      r.bad("a struct of {} elements x {} fields in {} bytes", count, fields.size(), r.remaining());
    out.elements.resize(static_cast<size_t>(count));
    for (auto& el : out.elements)
      for (const auto& f : fields) el[f] = parse_matrix(r.next("struct field"), file, depth + 1);
    return out;
  }
  if (out.cls == mxCELL) {
    if (count > static_cast<int64_t>(r.remaining() / 8))
      r.bad("a cell array of {} elements in {} bytes", count, r.remaining());
    for (int64_t i = 0; i < count; ++i)
      out.cells.push_back(parse_matrix(r.next("cell"), file, depth + 1));
    return out;
  }
  if (out.cls < mxCHAR || out.cls > 15 || out.cls == 5) return out;  // sparse, objects: unused
  const Element real = r.next("array data");
  const size_t ts = type_size(real.type);
  if (ts == 0) r.bad("array data of type {}", real.type);
  if (real.size / ts != static_cast<uint64_t>(count))
    r.bad("'{}' has {} values for {} elements", out.name, real.size / ts, count);
  if (out.cls == mxCHAR) {
    if (real.type == miUTF8) {
      out.text.assign(reinterpret_cast<const char*>(real.data), real.size);
    } else {
      if (real.type == miUTF32 || real.type == miSINGLE || real.type == miDOUBLE)
        r.bad("characters stored as type {}", real.type);
      for (int64_t i = 0; i < count; ++i) {
        const double c = number_at(real.type, real.data + i * ts);
        append_utf8(out.text, c >= 0 && c < 0x110000 ? static_cast<uint32_t>(c) : '?');
      }
    }
  } else {
    out.numbers.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) out.numbers[i] = number_at(real.type, real.data + i * ts);
  }
  if (complex) r.next("imaginary part");
  return out;
}

Matrix parse_matrix(const Element& m, const std::string& file, int depth) {
  if (depth > kMaxDepth)
    fail("'{}' is not a readable MAT-file: arrays nested more than {} deep", file, kMaxDepth);
  if (m.type != miMATRIX)
    fail("'{}' is not a readable MAT-file: an element of type {} where an array belongs", file,
         m.type);
  Matrix out;
  if (m.size == 0) return out;  // an empty array
  Reader r(m.data, m.size, file);
  return read_matrix_body(r, file, depth);
}

std::vector<uint8_t> inflate_element(const Element& e, const std::string& file) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) fail("cannot start zlib for '{}'", file);
  z.next_in = const_cast<Bytef*>(e.data);
  z.avail_in = e.size;
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = buf;
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      fail("'{}' is not a readable MAT-file: a compressed element is corrupt or truncated ({})",
           file, z.msg ? z.msg : "zlib error");
    }
    const size_t got = sizeof buf - z.avail_out;
    if (static_cast<int64_t>(out.size() + got) > max_memory()) {
      inflateEnd(&z);
      fail("'{}' inflates to more than the memory limit of {} (--max-memory)", file,
           memory_str(max_memory()));
    }
    out.insert(out.end(), buf, buf + got);
    if (rc == Z_OK && got == 0 && z.avail_in == 0) {
      inflateEnd(&z);
      fail("'{}' is not a readable MAT-file: a compressed element is truncated", file);
    }
  }
  inflateEnd(&z);
  return out;
}

int64_t scalar(const std::map<std::string, Matrix>& el, const char* field, const std::string& file,
               size_t index) {
  const auto it = el.find(field);
  if (it == el.end()) fail("'{}': synsets has no field {}", file, field);
  if (it->second.numbers.size() != 1)
    fail("'{}': synsets({}).{} is not a single number", file, index + 1, field);
  const double v = it->second.numbers[0];
  if (!(v >= 0 && v < 1e9) || v != static_cast<double>(static_cast<int64_t>(v)))
    fail("'{}': synsets({}).{} is {}, not a count or id", file, index + 1, field, v);
  return static_cast<int64_t>(v);
}

}  // namespace

std::vector<Synset> parse_meta_mat(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.size() < 128) fail("'{}' is not a MAT-file: {} bytes, shorter than its header", name, bytes.size());
  const std::string header(reinterpret_cast<const char*>(bytes.data()), 116);
  if (header.rfind("MATLAB 7.3", 0) == 0)
    fail("'{}' is a MATLAB 7.3 (HDF5) file; qbench reads level-5 MAT-files (MATLAB's save -v7, "
         "as the ImageNet devkit ships meta.mat)", name);
  if (header.rfind("MATLAB 5.0", 0) != 0 || bytes[126] != 'I' || bytes[127] != 'M')
    fail("'{}' is not a little-endian level-5 MAT-file (header '{}...')", name,
         header.substr(0, std::min<size_t>(header.find('\0'), 30)));
  Reader r(bytes.data() + 128, bytes.size() - 128, name);
  while (!r.done()) {
    Element e = r.next("variable");
    std::vector<uint8_t> inflated;
    if (e.type == miCOMPRESSED) {
      inflated = inflate_element(e, name);
      Reader inner(inflated.data(), inflated.size(), name);
      e = inner.next("compressed variable");
    }
    if (e.type != miMATRIX) continue;
    Reader body(e.data, e.size, name);
    if (e.size == 0) continue;
    Matrix m = read_matrix_body(body, name, 0);
    if (m.name != "synsets") continue;
    if (m.cls != mxSTRUCT) fail("'{}': synsets is not a struct array", name);
    std::vector<Synset> out;
    for (size_t i = 0; i < m.elements.size(); ++i) {
      const auto& el = m.elements[i];
      Synset s;
      s.ilsvrc_id = scalar(el, "ILSVRC2012_ID", name, i);
      s.num_children = scalar(el, "num_children", name, i);
      const auto w = el.find("WNID");
      if (w == el.end() || w->second.cls != mxCHAR)
        fail("'{}': synsets({}).WNID is missing or not text", name, i + 1);
      s.wnid = w->second.text;
      if (const auto words = el.find("words"); words != el.end()) s.words = words->second.text;
      out.push_back(std::move(s));
    }
    return out;
  }
  fail("'{}' has no variable 'synsets' (the ImageNet devkit's data/meta.mat has it)", name);
}

std::vector<Synset> load_meta_mat(const std::string& path) {
  return parse_meta_mat(read_maybe_gzip(path), path);
}

}  // namespace qbench::data
