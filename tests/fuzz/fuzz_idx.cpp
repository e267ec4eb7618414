// The IDX reader: the input holds the image file, then the label file; its first byte says
// where the label file starts (byte count of the image file modulo the input size).
#include "data/dataset.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return qbench::fuzz::run(data, size, [](const std::string& bytes) {
    if (bytes.size() < 2) return;
    const size_t cut = 1 + (size_t(uint8_t(bytes[0])) * 4) % (bytes.size() - 1);
    const std::vector<uint8_t> img(bytes.begin() + 1, bytes.begin() + long(cut));
    const std::vector<uint8_t> lab(bytes.begin() + long(cut), bytes.end());
    qbench::data::parse_idx(img, "fuzz-images", lab, "fuzz-labels");
  });
}
