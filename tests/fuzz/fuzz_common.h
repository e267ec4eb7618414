#pragma once
// Shared by the libFuzzer targets: every input either parses or raises qbench::Error (the one
// line the CLI prints); anything else (a crash, a sanitizer report, another exception, a hang,
// runaway memory) is a finding. Allocations are capped well below libFuzzer's RSS limit.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/limits.h"

namespace qbench::fuzz {

inline void init_limits() {
  static const bool done = [] {
    set_max_memory(int64_t(256) << 20);
    return true;
  }();
  (void)done;
}

template <typename Fn>
int run(const uint8_t* data, size_t size, Fn&& fn) {
  init_limits();
  try {
    fn(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace qbench::fuzz
