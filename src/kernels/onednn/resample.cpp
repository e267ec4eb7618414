// Resize/Upsample (nearest and linear over 1 to 3 spatial axes) on oneDNN's resampling_forward.
// oneDNN has one coordinate mapping (half-pixel, nearest rounds to the closer pixel), so the
// factory compares, axis by axis, the taps oneDNN will use with the ones the node asks for
// (ref::resize_plan) and takes the node only where they agree: every half_pixel and
// pytorch_half_pixel linear resize, and nearest resizes whose modes pick the same pixels
// (all of them for integer upsampling factors).
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"
#include "kernels/ref/ref_util.h"
#include "kernels/ref/resize.h"

namespace qbench::kernels::onednn {

namespace {

// Input index -> weight for one output index; taps on the same input index add up.
using WeightRow = std::map<int64_t, double>;

WeightRow row_of(const ref::ResizeTaps& t) {
  WeightRow r;
  for (int k = 0; k < t.n; ++k)
    if (t.w[k] != 0) r[t.idx[k]] += t.w[k];
  return r;
}

// The taps of oneDNN's resampling (src/cpu/resampling_utils.hpp in oneDNN 2.6).
WeightRow onednn_row(bool linear, int64_t o, int64_t in, int64_t out) {
  const float s =
      (static_cast<float>(o) + 0.5f) * static_cast<float>(in) / static_cast<float>(out) - 0.5f;
  WeightRow r;
  if (!linear) {
    r[std::clamp<int64_t>(static_cast<int64_t>(std::round(s)), 0, in - 1)] = 1.0;
    return r;
  }
  const float f = std::floor(s);
  const int64_t i0 = std::max<int64_t>(0, static_cast<int64_t>(f));
  const int64_t i1 = std::min<int64_t>(in - 1, static_cast<int64_t>(std::ceil(s)));
  const double w1 = std::fabs(s - f);
  r[i0] += 1.0 - w1;
  r[i1] += w1;
  for (auto it = r.begin(); it != r.end();) it = it->second == 0 ? r.erase(it) : std::next(it);
  return r;
}

bool same_rows(const WeightRow& a, const WeightRow& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
    if (ia->first != ib->first || std::fabs(ia->second - ib->second) > 1e-6) return false;
  return true;
}

class ResampleKernel final : public Kernel {
 public:
  bool init(const KernelInit& init, bool linear, std::string& why_not) {
    const Shape& x = init.inputs[0].shape;
    const Shape& y = init.outputs[0].shape;
    memory::desc src = plain_desc(x), dst = plain_desc(y);
    dnnl::resampling_forward::primitive_desc pd;
    if (!try_dnnl(why_not, "resampling", [&] {
          dnnl::resampling_forward::desc d(
              dnnl::prop_kind::forward_inference,
              linear ? dnnl::algorithm::resampling_linear : dnnl::algorithm::resampling_nearest,
              src, dst);
          pd = dnnl::resampling_forward::primitive_desc(d, scratch_attr(), cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference resampling for this case";
      return false;
    }
    prim_.build(pd, dnnl::resampling_forward(pd), src, dst, src, dst);
    return true;
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           ExecContext&) override {
    prim_.run(inputs[0], outputs[0]);
  }

  std::string impl() const override { return prim_.impl(); }

 private:
  PlainIoPrimitive prim_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_resample(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not, {1, 2, 3})) return nullptr;
  const Shape& x = init.inputs[0].shape;
  if (x.size() < 3 || x.size() > 5) {
    why_not =
        fmt::format("rank {} (oneDNN resamples 1 to 3 spatial axes of [N, C, ...])", x.size());
    return nullptr;
  }
  if (shape_numel(x) == 0 || shape_numel(init.outputs[0].shape) == 0) {
    why_not = "empty tensor";
    return nullptr;
  }
  InferContext ctx{init.node,
                   init.opset,
                   {init.inputs.begin(), init.inputs.end()},
                   {init.constants.begin(), init.constants.end()},
                   {}};
  ref::ResizePlan plan;
  try {
    plan = ref::resize_plan(ctx);
  } catch (const Error& e) {
    why_not = e.what();
    return nullptr;
  }
  if (plan.mode == ref::ResizePlan::Cubic) {
    why_not = "cubic mode (oneDNN resamples nearest and linear only)";
    return nullptr;
  }
  const bool linear = plan.mode == ref::ResizePlan::Linear;
  for (size_t a = 0; a < x.size(); ++a) {
    const int64_t in = x[a], out = plan.out[a];
    if (a < 2 && in != out) {
      why_not = fmt::format("axis {} is resized (oneDNN resamples spatial axes only)", a);
      return nullptr;
    }
    for (int64_t o = 0; o < out; ++o) {
      const ref::ResizeTaps& t = plan.taps[a][o];
      WeightRow want = row_of(t);
      WeightRow got = a < 2 ? WeightRow{{o, 1.0}} : onednn_row(linear, o, in, out);
      if (t.outside || !same_rows(want, got)) {
        why_not = fmt::format(
            "the node's coordinate mapping differs from oneDNN's half-pixel one on axis {} "
            "(output index {})",
            a, o);
        return nullptr;
      }
    }
  }
  auto k = std::make_unique<ResampleKernel>();
  if (!k->init(init, linear, why_not)) return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
