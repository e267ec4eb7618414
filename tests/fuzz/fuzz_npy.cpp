// The .npy reader: bytes -> parse_npy.
#include "data/npy.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return qbench::fuzz::run(data, size, [](const std::string& bytes) {
    qbench::data::parse_npy(bytes, "fuzz.npy");
  });
}
