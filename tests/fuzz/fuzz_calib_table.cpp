// The calibration-table parser: text -> parse_calib_table.
#include "fuzz_common.h"
#include "quant/calib_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return qbench::fuzz::run(data, size, [](const std::string& text) {
    qbench::quant::parse_calib_table(text, "fuzz.table");
  });
}
