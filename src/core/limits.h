#pragma once
// Sizes computed from untrusted input (a model's dims, a file header, an option) go through
// these, so a product that wraps around cannot turn into a small allocation and an allocation
// larger than the memory limit fails with an error naming what asked for it, before anything
// is allocated.
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace qbench {

// a * b for non-negative operands; an Error "WHAT: ... too large" when it exceeds `max`.
int64_t checked_mul(int64_t a, int64_t b, const std::string& what, int64_t max = int64_t(1) << 62);
// a + b for non-negative operands, the same way.
int64_t checked_add(int64_t a, int64_t b, const std::string& what, int64_t max = int64_t(1) << 62);

// The most bytes a single allocation (a tensor, a plan's buffers, a decoded image, an inflated
// file) may take: --max-memory; by default half of the machine's physical memory.
int64_t max_memory();
void set_max_memory(int64_t bytes);
// Parses "8G", "512M", "100k" or a byte count (binary units); an Error names `option`.
int64_t parse_memory_size(const std::string& text, const std::string& option);
// An Error "WHAT needs N bytes, more than the memory limit of M (--max-memory)" when bytes >
// max_memory().
void check_memory(int64_t bytes, const std::string& what);
// "12.3 GB", "512 MB" (decimal units, for messages).
std::string memory_str(int64_t bytes);

}  // namespace qbench
