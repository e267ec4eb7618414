#include "quant/calib_table.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace qbench::quant {

const CalibEntry* CalibTable::find(const std::string& tensor) const {
  for (const auto& e : entries)
    if (e.tensor == tensor) return &e;
  return nullptr;
}

void save_calib_table(const CalibTable& t, const std::string& path) {
  std::ofstream f(path);
  if (!f) fail("cannot write calibration table '{}'", path);
  f << "# qbench calibration table v1\n"
       "# One tensor per line, whitespace separated: tensor method min max scale zero_point dtype\n"
       "# dtype is u8 (asymmetric uint8) or s8 (symmetric int8). The quantizer uses scale and\n"
       "# zero_point as written; min/max/method record where they came from. '#' starts a "
       "comment.\n";
  for (const auto& e : t.entries) {
    if (e.tensor.find_first_of(" \t\n") != std::string::npos)
      fail("tensor name '{}' contains whitespace and cannot be written to a calibration table",
           e.tensor);
    f << fmt::format("{} {} {:.9g} {:.9g} {:.9g} {} {}\n", e.tensor, e.method, e.min, e.max,
                     e.q.scale, e.q.zero_point, e.q.is_signed ? "s8" : "u8");
  }
  if (!f) fail("cannot write calibration table '{}'", path);
}

CalibTable load_calib_table(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail("cannot read calibration table '{}'", path);
  std::stringstream text;
  text << f.rdbuf();
  return parse_calib_table(text.str(), path);
}

CalibTable parse_calib_table(const std::string& text, const std::string& path) {
  std::istringstream f(text);
  CalibTable t;
  std::string line;
  for (int lineno = 1; std::getline(f, line); ++lineno) {
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    CalibEntry e;
    std::string dtype, extra;
    if (!(ls >> e.tensor)) continue;
    if (!(ls >> e.method >> e.min >> e.max >> e.q.scale >> e.q.zero_point >> dtype) ||
        (ls >> extra))
      fail("{}:{}: expected 'tensor method min max scale zero_point dtype'", path, lineno);
    if (dtype != "u8" && dtype != "s8")
      fail("{}:{}: dtype must be u8 or s8, found '{}'", path, lineno, dtype);
    e.q.is_signed = dtype == "s8";
    const int32_t lo = e.q.is_signed ? -128 : 0, hi = e.q.is_signed ? 127 : 255;
    if (!(e.q.scale > 0) || !std::isfinite(e.q.scale) || !std::isfinite(e.min) ||
        !std::isfinite(e.max) || e.q.zero_point < lo || e.q.zero_point > hi)
      fail("{}:{}: min, max and scale must be finite, scale > 0 and zero_point within [{}, {}] "
           "(found scale {} and zero_point {})",
           path,
           lineno, lo, hi, e.q.scale, e.q.zero_point);
    if (t.find(e.tensor)) fail("{}:{}: tensor '{}' appears twice", path, lineno, e.tensor);
    t.entries.push_back(std::move(e));
  }
  return t;
}

}  // namespace qbench::quant
