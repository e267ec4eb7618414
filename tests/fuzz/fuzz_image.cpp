// The JPEG and PNG decoders (libjpeg, libpng behind qbench's PIL-compatible conversion):
// bytes -> an in-memory FILE -> decode_image_file.
#include <cstdio>

#include "data/dataset.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return qbench::fuzz::run(data, size, [](const std::string& bytes) {
    if (bytes.empty()) return;
    FILE* f = fmemopen(const_cast<char*>(bytes.data()), bytes.size(), "rb");
    if (!f) return;
    int64_t h = 0, w = 0;
    try {
      qbench::data::decode_image_file(f, "fuzz.img", h, w);
    } catch (...) {
      std::fclose(f);
      throw;
    }
    std::fclose(f);
  });
}
