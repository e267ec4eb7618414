#pragma once
// Element-wise comparison of a computed tensor with an expected one, as ONNX's backend tests do
// it (numpy.testing.assert_allclose): |got - want| <= atol + rtol * |want| for floating types,
// exact equality for integers and bools, NaN equal to NaN; dtype and shape must match.
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace qbench::eval {

struct Tolerance {
  double atol = 1e-7;  // ONNX backend test defaults
  double rtol = 1e-3;
};

struct Comparison {
  bool ok = true;
  // Why it failed: "dtype f32, expected f64", "shape [2, 3], expected [3, 2]", or the first
  // element out of tolerance "index 5: got 0.25, want 0.5".
  std::string mismatch;
  int64_t mismatches = 0;  // elements out of tolerance
  // Largest |got - want| and |got - want| / |want| over elements that are not both NaN (or
  // both the same infinity); 0 for integer tensors that match.
  double max_abs_error = 0;
  double max_rel_error = 0;
};

Comparison compare_tensors(const Tensor& got, const Tensor& want, Tolerance tol = {});

}  // namespace qbench::eval
