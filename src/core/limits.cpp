#include "core/limits.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cmath>

#include "core/error.h"

namespace qbench {

namespace {

int64_t default_max_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return int64_t(8) << 30;
  return int64_t(pages) * int64_t(page) / 2;
}

std::atomic<int64_t>& limit() {
  static std::atomic<int64_t> bytes{default_max_memory()};
  return bytes;
}

}  // namespace

int64_t checked_mul(int64_t a, int64_t b, const std::string& what, int64_t max) {
  if (a < 0 || b < 0) fail("{}: negative size ({} x {})", what, a, b);
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r) || r > max)
    fail("{}: size {} x {} is too large", what, a, b);
  return r;
}

int64_t checked_add(int64_t a, int64_t b, const std::string& what, int64_t max) {
  if (a < 0 || b < 0) fail("{}: negative size ({} + {})", what, a, b);
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r) || r > max)
    fail("{}: size {} + {} is too large", what, a, b);
  return r;
}

int64_t max_memory() {
  return limit().load();
}

void set_max_memory(int64_t bytes) {
  limit().store(bytes);
}

int64_t parse_memory_size(const std::string& text, const std::string& option) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  const std::string digits = text.substr(0, i), unit = text.substr(i);
  int shift = -1;
  if (unit.empty() || unit == "B" || unit == "b") shift = 0;
  if (unit == "k" || unit == "K" || unit == "KB" || unit == "KiB") shift = 10;
  if (unit == "m" || unit == "M" || unit == "MB" || unit == "MiB") shift = 20;
  if (unit == "g" || unit == "G" || unit == "GB" || unit == "GiB") shift = 30;
  if (unit == "t" || unit == "T" || unit == "TB" || unit == "TiB") shift = 40;
  if (digits.empty() || digits.size() > 15 || shift < 0)
    fail("{}: '{}' is not a size (a number with an optional unit: 512M, 8G)", option, text);
  const int64_t n = std::stoll(digits);
  if (n <= 0) fail("{}: size must be positive (got '{}')", option, text);
  return checked_mul(n, int64_t(1) << shift, option + " " + text);
}

void check_memory(int64_t bytes, const std::string& what) {
  const int64_t max = max_memory();
  if (bytes > max)
    fail("{} needs {}, more than the memory limit of {} (--max-memory)", what, memory_str(bytes),
         memory_str(max));
}

std::string memory_str(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1e12) return fmt::format("{:.1f} TB", b / 1e12);
  if (b >= 1e9) return fmt::format("{:.1f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.1f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
  return fmt::format("{} bytes", bytes);
}

}  // namespace qbench
