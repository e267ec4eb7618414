#pragma once
// Element-type dispatch for reference kernels that compute in each input's own type, and the
// f16/bf16 widening that lets an f32/f64 kernel serve the half types too.
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/ref/ref_util.h"

namespace qbench::kernels::ref {

// Calls f(T{}) with T the C++ element type of an integer dtype; false for other dtypes.
template <typename F>
bool visit_int(DType t, F&& f) {
  switch (t) {
    case DType::I8:
      f(int8_t{});
      return true;
    case DType::U8:
      f(uint8_t{});
      return true;
    case DType::I16:
      f(int16_t{});
      return true;
    case DType::U16:
      f(uint16_t{});
      return true;
    case DType::I32:
      f(int32_t{});
      return true;
    case DType::U32:
      f(uint32_t{});
      return true;
    case DType::I64:
      f(int64_t{});
      return true;
    case DType::U64:
      f(uint64_t{});
      return true;
    default:
      return false;
  }
}

// As visit_int for f32 and f64.
template <typename F>
bool visit_float(DType t, F&& f) {
  switch (t) {
    case DType::F32:
      f(float{});
      return true;
    case DType::F64:
      f(double{});
      return true;
    default:
      return false;
  }
}

// f32, f64 and every integer width (f16/bf16 go through with_half_as_f32 first).
template <typename F>
bool visit_numeric(DType t, F&& f) {
  return visit_float(t, f) || visit_int(t, f);
}

inline bool is_half(DType t) {
  return t == DType::F16 || t == DType::BF16;
}
inline bool is_numeric(DType t) {
  return t != DType::Bool && t != DType::String && t != DType::Undefined;
}
inline bool is_float_like(DType t) {
  return t == DType::F32 || t == DType::F64 || is_half(t);
}

// An f32 copy of an f16/bf16 tensor; any other tensor is returned as it is (shared buffer).
Tensor widen_half(const Tensor& t);
// Rounds the f32 tensor `src` into the f16/bf16 tensor `dst` (nearest even).
void narrow_half(const Tensor& src, Tensor& dst);

// Runs f(inputs, outputs) with every f16/bf16 input and output replaced by an f32 tensor, then
// rounds those outputs back: reference kernels compute half types in f32, as ONNX's own
// reference implementation does through NumPy.
template <typename F>
void with_half_as_f32(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
                      F&& f) {
  bool any = false;
  for (const Tensor* t : inputs) any = any || (t && is_half(t->dtype()));
  for (const Tensor* t : outputs) any = any || (t && is_half(t->dtype()));
  if (!any) {
    f(inputs, outputs);
    return;
  }
  std::vector<Tensor> in_store;
  in_store.reserve(inputs.size());
  std::vector<const Tensor*> in_ptrs;
  for (const Tensor* t : inputs) {
    if (t && is_half(t->dtype())) {
      in_store.push_back(widen_half(*t));
      in_ptrs.push_back(&in_store.back());
    } else {
      in_ptrs.push_back(t);
    }
  }
  std::vector<Tensor> out_store;
  out_store.reserve(outputs.size());
  std::vector<Tensor*> out_ptrs;
  for (Tensor* t : outputs) {
    if (t && is_half(t->dtype())) {
      out_store.emplace_back(DType::F32, t->shape());
      out_ptrs.push_back(&out_store.back());
    } else {
      out_ptrs.push_back(t);
    }
  }
  f(std::span<const Tensor* const>(in_ptrs), std::span<Tensor* const>(out_ptrs));
  for (size_t i = 0, k = 0; i < outputs.size(); ++i)
    if (outputs[i] && is_half(outputs[i]->dtype())) narrow_half(out_store[k++], *outputs[i]);
}

// y = f(x) element-wise for f32/f64 (and every integer type when Integers), with f16/bf16
// computed in f32; f is a generic lambda whose result is cast to the element type. An Error
// naming the node for other dtypes.
template <bool Integers, typename F>
void map_unary(const ir::Node& node, const Tensor& in, Tensor& out, F&& f) {
  const Tensor* ins[1] = {&in};
  Tensor* outs[1] = {&out};
  with_half_as_f32(ins, outs, [&](auto i, auto o) {
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* x = i[0]->template data<T>();
      T* y = o[0]->template data<T>();
      for (int64_t k = 0; k < i[0]->numel(); ++k) y[k] = static_cast<T>(f(x[k]));
    };
    bool ok = false;
    if constexpr (Integers)
      ok = visit_numeric(i[0]->dtype(), run);
    else
      ok = visit_float(i[0]->dtype(), run);
    if (!ok) fail_dtype(node, in.dtype());
  });
}

// y[i] = f(a[ia], b[ib]) over the broadcast of a and b; y has the broadcast shape.
template <typename T, typename U, typename F>
void binary_loop(const Tensor& a, const Tensor& b, Tensor& y, F&& f) {
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  U* yp = y.data<U>();
  for_each_broadcast<2>(y.shape(), {a.shape(), b.shape()},
                        [&](int64_t i, const int64_t* off) { yp[i] = f(ap[off[0]], bp[off[1]]); });
}

}  // namespace qbench::kernels::ref
