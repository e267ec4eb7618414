// The MAT-file reader (the ImageNet devkit's meta.mat): bytes -> parse_meta_mat.
#include "data/mat.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return qbench::fuzz::run(data, size, [](const std::string& bytes) {
    qbench::data::parse_meta_mat(std::vector<uint8_t>(bytes.begin(), bytes.end()), "fuzz.mat");
  });
}
