// Integer element-wise and pooling ops made by the QDQ fusion pass: qbench.QLinearAdd on
// oneDNN's binary primitive (input scales + a linear post-op for the zero points), qbench.MaxPool
// on uint8/int8 (channels-last: qbench's own AVX2 kernel; else oneDNN's int8 pooling, channels-last
// inside), and
// qbench.QLinearGlobalAveragePool as a plain integer sum with one rescale per channel.
// QLinearAdd computes ka * a + kb * b + shift in f32 and rounds once, where the reference
// dequantizes, adds and quantizes: ties can round differently, so up to 1 LSB on about 1% of
// elements (tests/unit/onednn_qops_test.cpp). The convolutions and matmuls match exactly on
// the tested shapes: oneDNN applies the bias to the int32 accumulator, scales in f32 and
// converts with the CPU's round-to-nearest-even, as ONNX does.
#include <fmt/format.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/onednn/avx2_tile.h"
#include "kernels/onednn/cpu_paths.h"
#include "kernels/onednn/factories.h"
#include "kernels/onednn/qcommon.h"
#include "kernels/onednn/qfactories.h"
#include "kernels/ref/qbench_ops.h"

namespace qbench::kernels::onednn {

namespace {

using tag = memory::format_tag;
using dt = memory::data_type;

class QAddKernel final : public Kernel {
 public:
  bool swap = false;

  bool init(const memory::desc& s0, const memory::desc& s1, const memory::desc& d, float k0,
            float k1, float shift, int32_t lo, int32_t hi, bool clip, std::string& why_not) {
    dnnl::primitive_attr attr = scratch_attr();
    attr.set_scales(DNNL_ARG_SRC_0, 0, {k0});
    attr.set_scales(DNNL_ARG_SRC_1, 0, {k1});
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f, shift);
    // The linear step already added the zero point: clip in the output's integer domain.
    if (clip) po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip_v2, float(lo), float(hi));
    attr.set_post_ops(po);
    dnnl::binary::primitive_desc pd;
    if (!try_dnnl(why_not, "int8 binary", [&] {
          pd = dnnl::binary::primitive_desc(
              dnnl::binary::desc(dnnl::algorithm::binary_add, s0, s1, d), attr, cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference int8 binary for this case";
      return false;
    }
    impl_ = pd.impl_info_str();
    src0_ = user_memory(s0);
    src1_ = user_memory(s1);
    dst_ = user_memory(d);
    step_ = {dnnl::binary(pd),
             {{DNNL_ARG_SRC_0, src0_}, {DNNL_ARG_SRC_1, src1_}, {DNNL_ARG_DST, dst_}}};
    step_.use_scratchpad(pd);
    return true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    bind(src0_, swap ? in[3] : in[0]);
    bind(src1_, swap ? in[0] : in[3]);
    bind(dst_, out[0]);
    step_.execute();
    cpu_stream().wait();
  }

  std::string impl() const override { return impl_; }

 private:
  std::string impl_;
  memory src0_, src1_, dst_;
  Step step_;
};

class QGlobalAvgPoolKernel final : public Kernel {
 public:
  int64_t planes = 0, plane = 0;
  int64_t channels = 0;  // > 0: NHWC input, planes = N, plane = H * W
  float in_scale = 1, out_scale = 1;
  int32_t in_zp = 0, out_zp = 0, lo = 0, hi = 255;

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    if (in[0]->dtype() == DType::U8)
      pool(in[0]->data<uint8_t>(), out[0]);
    else
      pool(in[0]->data<int8_t>(), out[0]);
  }

 private:
  template <typename T>
  void pool(const T* x, Tensor* y) const {
    const float k = in_scale / (out_scale * static_cast<float>(plane));
    if (channels > 0) {
      std::vector<int32_t> sums(channels);
      for (int64_t n = 0; n < planes; ++n) {
        std::fill(sums.begin(), sums.end(), 0);
        const T* img = x + n * plane * channels;
        for (int64_t i = 0; i < plane; ++i)
          for (int64_t c = 0; c < channels; ++c) sums[c] += img[i * channels + c];
        for (int64_t c = 0; c < channels; ++c) store(y, n * channels + c, sums[c], k);
      }
      return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
      const T* row = x + p * plane;
      int32_t sum = 0;
      for (int64_t i = 0; i < plane; ++i) sum += row[i];
      store(y, p, sum, k);
    }
  }

  void store(Tensor* y, int64_t i, int32_t sum, float k) const {
    const float v = static_cast<float>(sum - in_zp * plane) * k;
    const int32_t q = std::clamp(static_cast<int32_t>(std::nearbyint(v)) + out_zp, lo, hi);
    if (y->dtype() == DType::U8)
      y->data<uint8_t>()[i] = static_cast<uint8_t>(q);
    else
      y->data<int8_t>()[i] = static_cast<int8_t>(q);
  }
};

// Transpose as one oneDNN reorder: the destination is described over the input's dims with
// permuted strides. Any dtype oneDNN knows.
class TransposeKernel final : public Kernel {
 public:
  bool init(const Shape& x, const std::vector<int64_t>& perm, dt type, std::string& why_not) {
    const size_t r = x.size();
    Shape y(r);
    for (size_t i = 0; i < r; ++i) y[i] = x[perm[i]];
    memory::dims ystrides(r), strides(r);
    int64_t st = 1;
    for (size_t i = r; i-- > 0;) {
      ystrides[i] = st;
      st *= y[i];
    }
    for (size_t i = 0; i < r; ++i) strides[perm[i]] = ystrides[i];
    memory::desc src = plain_desc(to_dims(x), type), dst(to_dims(x), type, strides);
    if (!try_dnnl(why_not, "reorder", [&] {
          src_ = user_memory(src);
          dst_ = user_memory(dst);
          dnnl::reorder::primitive_desc pd(src_, dst_);
          impl_ = pd.impl_info_str();
          step_ = {dnnl::reorder(pd), {{DNNL_ARG_FROM, src_}, {DNNL_ARG_TO, dst_}}};
        }))
      return false;
    return true;
  }
  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    bind(src_, in[0]);
    bind(dst_, out[0]);
    step_.execute();
    cpu_stream().wait();
  }

  std::string impl() const override { return impl_; }

 private:
  std::string impl_;
  memory src_, dst_;
  Step step_;
};

// qbench.MaxPool over NHWC 8-bit tensors: each output pixel is the channel-wise max over its
// window's pixels inside the image (ONNX pads max pooling with -inf: the padding never wins), 32
// channels at a time (vpmaxub / vpmaxsb), the rows of output pixels over the threads. oneDNN's
// int8 pooling took 82 us for ResNet-50's stem pool (112 x 112 x 64, 3x3 stride 2) as AVX2-only and
// 107 at avx512_core_vnni, against ONNX Runtime's 66 and 71.
struct PoolWindow {
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
};

// One vector width's loads, max and stores (32 and 16 channels at a time).
struct Bytes32 {
  using V = __m256i;
  static constexpr int64_t kWidth = 32;
  QBENCH_AVX2 static V load(const uint8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const V*>(p));
  }
  QBENCH_AVX2 static void store(uint8_t* p, V v) {
    _mm256_storeu_si256(reinterpret_cast<V*>(p), v);
  }
  QBENCH_AVX2 static V max(V a, V b, bool is_signed) {
    return is_signed ? _mm256_max_epi8(a, b) : _mm256_max_epu8(a, b);
  }
};
struct Bytes16 {
  using V = __m128i;
  static constexpr int64_t kWidth = 16;
  QBENCH_AVX2 static V load(const uint8_t* p) {
    return _mm_loadu_si128(reinterpret_cast<const V*>(p));
  }
  QBENCH_AVX2 static void store(uint8_t* p, V v) { _mm_storeu_si128(reinterpret_cast<V*>(p), v); }
  QBENCH_AVX2 static V max(V a, V b, bool is_signed) {
    return is_signed ? _mm_max_epi8(a, b) : _mm_max_epu8(a, b);
  }
};

// A window's pixels: rows [h0, h1) x columns [w0, w1) of an image in_w wide, c channels.
struct WindowPixels {
  const uint8_t* x;
  int64_t in_w, c, h0, h1, w0, w1;
  const uint8_t* at(int64_t h, int64_t w) const { return x + (h * in_w + w) * c; }
};

// Channels [ch, ...) of one output pixel in whole vectors of B's width; ch moves past them.
template <typename B>
QBENCH_AVX2 void window_max(const WindowPixels& p, bool is_signed, uint8_t* out, int64_t& ch) {
  for (; ch + B::kWidth <= p.c; ch += B::kWidth) {
    typename B::V m = B::load(p.at(p.h0, p.w0) + ch);
    for (int64_t h = p.h0; h < p.h1; ++h)
      for (int64_t w = p.w0; w < p.w1; ++w) m = B::max(m, B::load(p.at(h, w) + ch), is_signed);
    B::store(out + ch, m);
  }
}

// Output row oh of one image (x: in_h x in_w x c, y: out_w x c).
template <bool Signed>
QBENCH_AVX2 void max_pool_row(const uint8_t* x, uint8_t* y, int64_t in_h, int64_t in_w, int64_t c,
                              int64_t out_w, int64_t oh, const PoolWindow& p) {
  const int64_t h0 = std::max<int64_t>(oh * p.stride_h - p.pad_top, 0);
  const int64_t h1 = std::min(oh * p.stride_h - p.pad_top + p.kernel_h, in_h);
  for (int64_t ow = 0; ow < out_w; ++ow) {
    const int64_t w0 = std::max<int64_t>(ow * p.stride_w - p.pad_left, 0);
    const int64_t w1 = std::min(ow * p.stride_w - p.pad_left + p.kernel_w, in_w);
    const WindowPixels window{x, in_w, c, h0, h1, w0, w1};
    uint8_t* out = y + ow * c;
    int64_t ch = 0;
    window_max<Bytes32>(window, Signed, out, ch);
    window_max<Bytes16>(window, Signed, out, ch);
    using T = std::conditional_t<Signed, int8_t, uint8_t>;
    for (; ch < c; ++ch) {
      T m = static_cast<T>(window.at(h0, w0)[ch]);
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) m = std::max(m, static_cast<T>(window.at(h, w)[ch]));
      out[ch] = static_cast<uint8_t>(m);
    }
  }
}

class MaxPoolNhwc8Kernel final : public Kernel {
 public:
  // x, y: NHWC shapes.
  MaxPoolNhwc8Kernel(const Shape& x, const Shape& y, const PoolWindow& p, bool is_signed)
      : x_(x), y_(y), p_(p), signed_(is_signed) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    const auto* x = static_cast<const uint8_t*>(in[0]->raw());
    auto* y = static_cast<uint8_t*>(out[0]->raw());
    const int64_t n = x_[0], in_h = x_[1], in_w = x_[2], c = x_[3], out_h = y_[1], out_w = y_[2];
    const bool parallel = omp_get_max_threads() > 1 &&
                          shape_numel(y_) * p_.kernel_h * p_.kernel_w >= (int64_t(1) << 16);
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t row = 0; row < n * out_h; ++row) {
      const int64_t b = row / out_h, oh = row % out_h;
      const uint8_t* xb = x + b * in_h * in_w * c;
      uint8_t* yr = y + row * out_w * c;
      if (signed_)
        max_pool_row<true>(xb, yr, in_h, in_w, c, out_w, oh, p_);
      else
        max_pool_row<false>(xb, yr, in_h, in_w, c, out_w, oh, p_);
    }
  }

  std::string impl() const override {
    return "qbench_max_pool_nhwc8:avx2";
  }

 private:
  Shape x_, y_;
  PoolWindow p_;
  bool signed_;
};

// NCHW -> NHWC of 8-bit tensors with three channels (an image, quantized at the input of a
// channels-last integer region): each 16 pixels' three planes interleaved in registers (bytes
// paired, then words, then the fourth byte of each pixel dropped by pshufb) and written as 48
// bytes. oneDNN's reorder took 45 us for a 224 x 224 image.
QBENCH_AVX2 void three_planes_to_pixels(const uint8_t* x, uint8_t* y, int64_t pixels) {
  const uint8_t *r = x, *g = x + pixels, *b = x + 2 * pixels;
  const __m128i drop = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  const __m128i zero = _mm_setzero_si128();
  int64_t p = 0;
  // Each step's last store writes 4 bytes past its 48: whole steps while they stay in the image.
  for (; p + 18 <= pixels; p += 16) {
    const __m128i rv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r + p));
    const __m128i gv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(g + p));
    const __m128i bv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + p));
    const __m128i rg_lo = _mm_unpacklo_epi8(rv, gv), rg_hi = _mm_unpackhi_epi8(rv, gv);
    const __m128i b_lo = _mm_unpacklo_epi8(bv, zero), b_hi = _mm_unpackhi_epi8(bv, zero);
    const __m128i px[4] = {_mm_unpacklo_epi16(rg_lo, b_lo), _mm_unpackhi_epi16(rg_lo, b_lo),
                           _mm_unpacklo_epi16(rg_hi, b_hi), _mm_unpackhi_epi16(rg_hi, b_hi)};
    for (int i = 0; i < 4; ++i)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + 3 * p + 12 * i),
                       _mm_shuffle_epi8(px[i], drop));
  }
  for (; p < pixels; ++p) {
    y[3 * p] = r[p];
    y[3 * p + 1] = g[p];
    y[3 * p + 2] = b[p];
  }
}

class ThreePlanesToPixelsKernel final : public Kernel {
 public:
  explicit ThreePlanesToPixelsKernel(const Shape& x) : x_(x) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out, ExecContext&) override {
    const auto* x = static_cast<const uint8_t*>(in[0]->raw());
    auto* y = static_cast<uint8_t*>(out[0]->raw());
    const int64_t pixels = x_[2] * x_[3];
#pragma omp parallel for schedule(static) if (x_[0] > 1 && omp_get_max_threads() > 1)
    for (int64_t n = 0; n < x_[0]; ++n)
      three_planes_to_pixels(x + n * 3 * pixels, y + n * 3 * pixels, pixels);
  }

  std::string impl() const override {
    return "qbench_nchw3_to_nhwc:avx2";
  }

 private:
  Shape x_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_transpose(const KernelInit& init, std::string& why_not) {
  const Shape& x = init.inputs[0].shape;
  const dt type = dnnl_type(init.inputs[0].dtype);
  if (type == dt::undef || type == dt::s32) {
    why_not = fmt::format("dtype {}", dtype_name(init.inputs[0].dtype));
    return nullptr;
  }
  if (x.empty() || x.size() > 6 || shape_numel(x) == 0) {
    why_not = "rank 0, above 6, or empty";
    return nullptr;
  }
  std::vector<int64_t> perm = init.node.attr_ints("perm");
  if (perm.empty())
    for (size_t i = x.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  if (perm.size() != x.size()) {
    why_not = "perm length differs from the rank";
    return nullptr;
  }
  if (dtype_is_8bit(init.inputs[0].dtype) && x.size() == 4 && x[1] == 3 &&
      perm == std::vector<int64_t>{0, 2, 3, 1} && own_avx2_kernels())
    return std::make_unique<ThreePlanesToPixelsKernel>(x);
  auto k = std::make_unique<TransposeKernel>();
  if (!k->init(x, perm, type, why_not)) return nullptr;
  return k;
}

std::unique_ptr<Kernel> make_onednn_qadd(const KernelInit& init, std::string& why_not) {
  if (init.inputs.size() != 8 || init.outputs.size() != 1) {
    why_not = "expects the 8 QLinearAdd inputs";
    return nullptr;
  }
  const DType at = init.inputs[0].dtype, bt = init.inputs[3].dtype, yt = init.outputs[0].dtype;
  if (!dtype_is_8bit(at) || !dtype_is_8bit(bt) || !dtype_is_8bit(yt)) {
    why_not = "only u8/s8 operands";
    return nullptr;
  }
  QAddArithmetic q;
  if (!read_qadd(init, {1, 2, 4, 5, 6, 7}, yt, q, why_not)) return nullptr;
  const Shape& y = init.outputs[0].shape;
  Shape a = init.inputs[0].shape, bs = init.inputs[3].shape;
  if (y.size() > static_cast<size_t>(DNNL_MAX_NDIMS) || shape_numel(y) == 0) {
    why_not = "empty or rank above oneDNN's limit";
    return nullptr;
  }
  a.insert(a.begin(), y.size() - a.size(), 1);
  bs.insert(bs.begin(), y.size() - bs.size(), 1);
  auto k = std::make_unique<QAddKernel>();
  if (a != y) {
    if (bs != y) {
      why_not = "both operands broadcast";
      return nullptr;
    }
    k->swap = true;
  }
  const dt adt = dnnl_type(k->swap ? bt : at), bdt = dnnl_type(k->swap ? at : bt);
  if (!k->init(plain_desc(to_dims(y), adt), plain_desc(to_dims(k->swap ? a : bs), bdt),
               plain_desc(to_dims(y), dnnl_type(yt)), k->swap ? q.kb : q.ka, k->swap ? q.ka : q.kb,
               q.shift, q.lo, q.hi, q.clip, why_not))
    return nullptr;
  return k;
}

std::unique_ptr<Kernel> make_onednn_max_pool(const KernelInit& init, std::string& why_not) {
  const ir::Node& n = init.node;
  const DType t = init.inputs.empty() ? DType::Undefined : init.inputs[0].dtype;
  if (!dtype_is_8bit(t)) return make_onednn_pool(init, why_not);
  if (init.inputs[0].shape.size() != 4) {
    why_not = "only 2-D pooling";
    return nullptr;
  }
  // channels_last: the tensors are NHWC already, no reorders.
  const bool nhwc_io = ref::channels_last(n);
  auto logical = [&](const Shape& s) { return nhwc_io ? Shape{s[0], s[3], s[1], s[2]} : s; };
  const Shape x = logical(init.inputs[0].shape);
  const Shape y = logical(init.outputs[0].shape);
  if (n.attr_string("auto_pad", "NOTSET") != "NOTSET") {
    why_not = "auto_pad";
    return nullptr;
  }
  auto ks = n.attr_ints("kernel_shape");
  auto strides = n.attr_ints("strides", {1, 1});
  auto dil = n.attr_ints("dilations", {1, 1});
  auto pads = n.attr_ints("pads", {0, 0, 0, 0});
  if (ks.size() != 2 || strides.size() != 2 || pads.size() != 4 ||
      dil != std::vector<int64_t>{1, 1}) {
    why_not = "kernel/strides/pads length or dilations";
    return nullptr;
  }
  memory::dims pad_l, pad_r;
  for (size_t i = 0; i < 2; ++i) {
    const int64_t in = x[2 + i], k = ks[i], s = strides[i], out = y[2 + i], pl = pads[i];
    // ceil_mode as extra right padding, as the f32 kernel does.
    const int64_t pr = std::max<int64_t>(pads[i + 2], (out - 1) * s + k - in - pl);
    if (pl >= k || (out - 1) * s - pl >= in || (in + pl + pr - k) / s + 1 != out) {
      why_not = "a pooling window lies in the padding";
      return nullptr;
    }
    pad_l.push_back(pl);
    pad_r.push_back(pr);
  }
  if (nhwc_io && own_avx2_kernels())
    return std::make_unique<MaxPoolNhwc8Kernel>(
        init.inputs[0].shape, init.outputs[0].shape,
        PoolWindow{ks[0], ks[1], strides[0], strides[1], pads[0], pads[1]}, t == DType::I8);
  const dt d = dnnl_type(t);
  memory::desc src(to_dims(x), d, tag::nhwc), dst(to_dims(y), d, tag::nhwc);
  dnnl::pooling_v2_forward::primitive_desc pd;
  if (!try_dnnl(why_not, "int8 pooling", [&] {
        dnnl::pooling_v2_forward::desc desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src, dst,
            memory::dims(strides.begin(), strides.end()), memory::dims(ks.begin(), ks.end()),
            {0, 0}, pad_l, pad_r);
        pd = dnnl::pooling_v2_forward::primitive_desc(desc, scratch_attr(), cpu_engine());
      }))
    return nullptr;
  if (is_reference_impl(pd)) {
    why_not = "oneDNN has only its reference int8 pooling for this case";
    return nullptr;
  }
  // Reorder in, primitive, reorder out: the int8 JIT pooling wants channels-last.
  auto k = std::make_unique<PrimitiveKernel>();
  k->prim.build(pd, dnnl::pooling_v2_forward(pd), nhwc_io ? src : plain_desc(to_dims(x), d),
                nhwc_io ? dst : plain_desc(to_dims(y), d), src, dst);
  return k;
}

std::unique_ptr<Kernel> make_qglobal_avg_pool(const KernelInit& init, std::string& why_not) {
  if (init.inputs.size() != 5 || !dtype_is_8bit(init.inputs[0].dtype) ||
      !dtype_is_8bit(init.outputs[0].dtype)) {
    why_not = "expects X, x_scale, x_zp, y_scale, y_zp with u8/s8 data";
    return nullptr;
  }
  std::vector<float> xs, ys;
  std::vector<int32_t> xz, yz;
  if (!const_floats(init, 1, "x scale", xs, why_not) ||
      !const_floats(init, 3, "y scale", ys, why_not) ||
      !const_ints(init, 2, "x zero point", xz, why_not) ||
      !const_ints(init, 4, "y zero point", yz, why_not))
    return nullptr;
  const Shape& x = init.inputs[0].shape;
  auto k = std::make_unique<QGlobalAvgPoolKernel>();
  if (ref::channels_last(init.node)) {
    k->channels = x.back();
    k->planes = x[0];
    k->plane = shape_numel(x) / std::max<int64_t>(1, x[0] * x.back());
  } else {
    k->planes = x[0] * x[1];
    k->plane = shape_numel(x) / std::max<int64_t>(1, k->planes);
  }
  if (k->plane == 0 || k->plane > (int64_t(1) << 23)) {
    why_not = "empty or too large plane for an int32 sum";
    return nullptr;
  }
  k->in_scale = xs[0];
  k->out_scale = ys[0];
  k->in_zp = xz[0];
  k->out_zp = yz[0];
  ref::int8_range(init.outputs[0].dtype, k->lo, k->hi);
  return k;
}

}  // namespace qbench::kernels::onednn
