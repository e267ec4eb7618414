#include "quant/weights.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/qmath.h"

namespace qbench::quant {

QuantizedWeight quantize_weight(const Tensor& w, bool per_channel, int64_t axis, int qmax) {
  if (w.dtype() != DType::F32)
    fail("weights must be f32 to quantize, found {}", dtype_name(w.dtype()));
  QuantizedWeight r;
  r.per_channel = per_channel && w.rank() > 0;
  r.axis = axis;
  const int64_t channels = r.per_channel ? w.dim(static_cast<int>(axis)) : 1;
  int64_t inner = 1;
  if (r.per_channel)
    for (int d = static_cast<int>(axis) + 1; d < w.rank(); ++d) inner *= w.dim(d);
  const float* p = w.data<float>();
  const int64_t n = w.numel();
  std::vector<float> absmax(static_cast<size_t>(channels), 0.0f);
  auto channel_of = [&](int64_t i) { return r.per_channel ? (i / inner) % channels : 0; };
  for (int64_t i = 0; i < n; ++i)
    absmax[channel_of(i)] = std::max(absmax[channel_of(i)], std::fabs(p[i]));
  std::vector<float> scale(absmax.size());
  for (size_t c = 0; c < scale.size(); ++c)
    scale[c] = absmax[c] > 0 ? absmax[c] / float(qmax) : 1.0f;
  r.q = Tensor(DType::I8, w.shape());
  int8_t* q = r.q.data<int8_t>();
  for (int64_t i = 0; i < n; ++i)
    q[i] = static_cast<int8_t>(quantize_value(p[i], scale[channel_of(i)], 0, -qmax, qmax));
  if (r.per_channel) {
    r.scale = Tensor::from_vector<float>({channels}, scale);
    r.zero_point = Tensor(DType::I8, {channels});
  } else {
    r.scale = Tensor::scalar<float>(scale[0]);
    r.zero_point = Tensor::scalar<int8_t>(0);
  }
  return r;
}

GroupQuantizedWeight quantize_weight_groups(const Tensor& w, int64_t axis, int64_t group,
                                            int qmax) {
  if (w.dtype() != DType::F32)
    fail("weights must be f32 to quantize, found {}", dtype_name(w.dtype()));
  const int64_t len = w.dim(static_cast<int>(axis));
  if (group <= 0 || len % group != 0)
    fail("group size {} does not divide the reduction dimension {} of a weight of shape {}", group,
         len, shape_str(w.shape()));
  int64_t inner = 1, outer = 1;
  for (int d = static_cast<int>(axis) + 1; d < w.rank(); ++d) inner *= w.dim(d);
  for (int d = 0; d < static_cast<int>(axis); ++d) outer *= w.dim(d);
  const int64_t groups = len / group;
  Shape sshape = w.shape();
  sshape[axis] = groups;
  GroupQuantizedWeight r{Tensor(DType::I8, w.shape()), Tensor(DType::F32, sshape)};
  const float* p = w.data<float>();
  float* s = r.scale.data<float>();
  int8_t* q = r.q.data<int8_t>();
  // Element (o, g * group + k, i) belongs to scale (o, g, i).
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t i = 0; i < inner; ++i) {
        float absmax = 0;
        for (int64_t k = 0; k < group; ++k)
          absmax = std::max(absmax, std::fabs(p[(o * len + g * group + k) * inner + i]));
        const float sc = absmax > 0 ? absmax / float(qmax) : 1.0f;
        s[(o * groups + g) * inner + i] = sc;
        for (int64_t k = 0; k < group; ++k) {
          const int64_t e = (o * len + g * group + k) * inner + i;
          q[e] = static_cast<int8_t>(quantize_value(p[e], sc, 0, -qmax, qmax));
        }
      }
  return r;
}

void declare_value(ir::Graph& g, const std::string& name, DType dtype, const ir::Value* like) {
  std::optional<std::vector<ir::Dim>> dims;
  if (like) dims = like->dims;
  ir::Value& v = g.value(name);
  v.dtype = dtype;
  v.dims = std::move(dims);
}

}  // namespace qbench::quant
