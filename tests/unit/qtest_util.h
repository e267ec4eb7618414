#pragma once
// Helpers for the integer-kernel and QDQ-fusion tests: random quantized tensors and the
// comparison of integer outputs in LSBs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "onednn_testing.h"

namespace qbench::test {

inline Tensor random_ints(std::mt19937& rng, DType t, Shape shape, int lo, int hi) {
  Tensor x(t, std::move(shape));
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (t == DType::U8)
      x.data<uint8_t>()[i] = static_cast<uint8_t>(d(rng));
    else if (t == DType::I8)
      x.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
    else
      x.data<int32_t>()[i] = d(rng);
  }
  return x;
}

inline Tensor zero_point(DType t, int v) {
  return t == DType::U8 ? Tensor::scalar<uint8_t>(static_cast<uint8_t>(v))
                        : Tensor::scalar<int8_t>(static_cast<int8_t>(v));
}

// Largest |a - b| over two integer tensors of the same shape (INT_MAX when shapes differ), and
// how many elements differ at all.
struct LsbDiff {
  int64_t max = 0, count = 0;
};
inline LsbDiff lsb_diff(const Tensor& a, const Tensor& b) {
  LsbDiff d;
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return {1 << 30, a.numel()};
  std::vector<int64_t> x = a.to_int64(), y = b.to_int64();
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t e = std::llabs(x[i] - y[i]);
    d.max = std::max(d.max, e);
    d.count += e != 0;
  }
  return d;
}

// Creates the oneDNN kernel of a problem through the registry (it must accept), runs it and
// compares with the reference kernel: at most 1 LSB anywhere, and on at most 2% of elements (+2).
inline void expect_int_kernel_matches(const kernels::onednn::testing::Problem& p,
                                      const std::string& what) {
  SCOPED_TRACE(what);
  std::string why;
  std::vector<kernels::TensorType> types;
  auto k = p.make(why, types);
  ASSERT_TRUE(k) << "declined: " << why;
  std::vector<Tensor> want = kernels::run_reference(p.node, p.opset, p.input_ptrs());
  Tensor got(types[0].dtype, types[0].shape);
  std::fill(static_cast<uint8_t*>(got.raw()),
            static_cast<uint8_t*>(got.raw()) + got.numel() * dtype_size(got.dtype()), 0x5a);
  std::vector<Tensor*> outs{&got};
  kernels::ExecContext ctx;
  std::vector<const Tensor*> in = p.input_ptrs();
  k->run(in, outs, ctx);
  LsbDiff d = lsb_diff(got, want[0]);
  // The case must exercise the requantization, not just saturate.
  std::vector<int64_t> v = want[0].to_int64();
  std::sort(v.begin(), v.end());
  const int64_t distinct = std::unique(v.begin(), v.end()) - v.begin();
  EXPECT_GE(distinct, std::min<int64_t>(10, want[0].numel() / 4));
  if (getenv("QBENCH_TEST_VERBOSE"))
    printf("%s: %lld distinct, max diff %lld on %lld of %lld\n", what.c_str(), (long long)distinct,
           (long long)d.max, (long long)d.count, (long long)got.numel());
  EXPECT_LE(d.max, 1);
  EXPECT_LE(d.count, 2 + got.numel() / 50);
}

}  // namespace qbench::test
