#include "eval/compare.h"

#include <fmt/format.h>

#include <cmath>
#include <vector>

namespace qbench::eval {
namespace {

// Every element as double (exact for all types but 64-bit integers above 2^53, which are
// compared through to_int64 instead).
std::vector<double> as_double(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::F64) {
    const double* p = t.data<double>();
    out.assign(p, p + t.numel());
    return out;
  }
  std::vector<float> f = t.to_float();
  out.assign(f.begin(), f.end());
  return out;
}

}  // namespace

Comparison compare_tensors(const Tensor& got, const Tensor& want, Tolerance tol) {
  Comparison c;
  if (got.dtype() != want.dtype()) {
    c.ok = false;
    c.mismatch =
        fmt::format("dtype {}, expected {}", dtype_name(got.dtype()), dtype_name(want.dtype()));
    return c;
  }
  if (got.shape() != want.shape()) {
    c.ok = false;
    c.mismatch =
        fmt::format("shape {}, expected {}", shape_str(got.shape()), shape_str(want.shape()));
    return c;
  }
  const int64_t n = got.numel();
  if (!dtype_is_float(got.dtype())) {
    // Integers and bools: exact. to_int64 is exact for every integer type but u64 above 2^63,
    // which wraps identically on both sides.
    std::vector<int64_t> g = got.to_int64(), w = want.to_int64();
    for (int64_t i = 0; i < n; ++i) {
      if (g[i] == w[i]) continue;
      double err = std::abs(static_cast<double>(g[i]) - static_cast<double>(w[i]));
      c.max_abs_error = std::max(c.max_abs_error, err);
      if (w[i] != 0)
        c.max_rel_error = std::max(c.max_rel_error, err / std::abs(static_cast<double>(w[i])));
      if (c.mismatches++ == 0) c.mismatch = fmt::format("index {}: got {}, want {}", i, g[i], w[i]);
    }
    c.ok = c.mismatches == 0;
    return c;
  }
  std::vector<double> g = as_double(got), w = as_double(want);
  // Shortest text that reads back as the same element (float elements printed as float).
  auto text = [&](double v) {
    return got.dtype() == DType::F64 ? fmt::format("{}", v)
                                     : fmt::format("{}", static_cast<float>(v));
  };
  for (int64_t i = 0; i < n; ++i) {
    const double a = g[i], b = w[i];
    bool ok;
    if (std::isnan(a) || std::isnan(b)) {
      ok = std::isnan(a) && std::isnan(b);
    } else if (std::isinf(a) || std::isinf(b)) {
      ok = a == b;
    } else {
      const double err = std::abs(a - b);
      c.max_abs_error = std::max(c.max_abs_error, err);
      if (b != 0) c.max_rel_error = std::max(c.max_rel_error, err / std::abs(b));
      ok = err <= tol.atol + tol.rtol * std::abs(b);
    }
    if (!ok && c.mismatches++ == 0)
      c.mismatch = fmt::format("index {}: got {}, want {}", i, text(a), text(b));
  }
  c.ok = c.mismatches == 0;
  return c;
}

}  // namespace qbench::eval
