#pragma once
// The calibration table: one line per tensor with its range, method, scale, zero point and
// dtype. Plain text so it can be read, diffed, edited and reloaded; the quantizer uses the scale
// and zero point columns as written.
#include <string>
#include <vector>

#include "quant/range.h"

namespace qbench::quant {

struct CalibEntry {
  std::string tensor;
  std::string method;  // range method that produced it ("minmax", "entropy", ... or "edited")
  float min = 0, max = 0;
  QParams q;
};

struct CalibTable {
  std::vector<CalibEntry> entries;
  const CalibEntry* find(const std::string& tensor) const;
};

// Writes the table, its format described by the comment lines at the top.
void save_calib_table(const CalibTable& t, const std::string& path);
// Errors name the file and line number.
CalibTable load_calib_table(const std::string& path);
// The same from the text of a table file; `name` appears in errors.
CalibTable parse_calib_table(const std::string& text, const std::string& name);

}  // namespace qbench::quant
