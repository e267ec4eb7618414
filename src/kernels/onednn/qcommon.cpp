#include "kernels/onednn/qcommon.h"

#include <fmt/format.h>

#include "kernels/ref/qbench_ops.h"

namespace qbench::kernels::onednn {

using dt = memory::data_type;

memory::data_type dnnl_type(DType t) {
  switch (t) {
    case DType::U8:
      return dt::u8;
    case DType::I8:
      return dt::s8;
    case DType::I32:
      return dt::s32;
    case DType::F32:
      return dt::f32;
    case DType::BF16:
      return dt::bf16;
    default:
      return dt::undef;
  }
}

memory::desc plain_desc(const memory::dims& dims_in, memory::data_type type) {
  memory::dims dims = dims_in.empty() ? memory::dims{1} : dims_in;
  memory::dims strides(dims.size());
  memory::dim stride = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= dims[i];
  }
  return memory::desc(dims, type, strides);
}

bool const_floats(const KernelInit& init, size_t i, const char* what, std::vector<float>& v,
                  std::string& why_not) {
  if (i >= init.constants.size() || !init.constants[i]) {
    why_not = fmt::format("{} is not constant", what);
    return false;
  }
  v = init.constants[i]->to_float();
  return true;
}

bool const_ints(const KernelInit& init, size_t i, const char* what, std::vector<int32_t>& v,
                std::string& why_not) {
  v.clear();
  if (i >= init.inputs.size() || init.inputs[i].dtype == DType::Undefined) {
    v.push_back(0);
    return true;
  }
  if (!init.constants[i]) {
    why_not = fmt::format("{} is not constant", what);
    return false;
  }
  for (int64_t x : init.constants[i]->to_int64()) v.push_back(static_cast<int32_t>(x));
  return true;
}

void ZeroPoint::apply(dnnl::primitive_attr& attr, int arg) {
  if (value == 0) return;
  attr.set_zero_points(arg, 0, {DNNL_RUNTIME_S32_VAL});
  mem = memory(plain_desc(memory::dims{1}, dt::s32), cpu_engine());
  *static_cast<int32_t*>(mem.get_data_handle()) = value;
}

void ZeroPoint::bind(std::unordered_map<int, memory>& args, int arg) {
  if (value != 0) args[DNNL_ARG_ATTR_ZERO_POINTS | arg] = mem;
}

bool read_requant(const KernelInit& init, int64_t channels, Requant& r, std::string& why_not) {
  std::vector<float> xs, ws, ys;
  std::vector<int32_t> xz, wz, yz;
  if (!const_floats(init, 1, "input scale", xs, why_not) ||
      !const_floats(init, 4, "weight scale", ws, why_not) ||
      !const_floats(init, 6, "output scale", ys, why_not) ||
      !const_ints(init, 2, "input zero point", xz, why_not) ||
      !const_ints(init, 5, "weight zero point", wz, why_not) ||
      !const_ints(init, 7, "output zero point", yz, why_not))
    return false;
  for (int32_t z : wz)
    if (z != 0) {
      why_not = fmt::format("weight zero point {} (only symmetric weights have a fast path)", z);
      return false;
    }
  if (xs.size() != 1 || ys.size() != 1 || xz.size() != 1 || yz.size() != 1) {
    why_not = "per-channel input or output quantization";
    return false;
  }
  if (ws.size() != 1 && static_cast<int64_t>(ws.size()) != channels) {
    why_not = fmt::format("{} weight scales for {} channels", ws.size(), channels);
    return false;
  }
  r.scales.clear();
  for (float w : ws) r.scales.push_back(xs[0] * w / ys[0]);
  r.src_zp.value = xz[0];
  r.dst_zp.value = yz[0];
  const DType yt = init.outputs[0].dtype;
  int32_t qmin, qmax;
  kernels::ref::int8_range(yt, qmin, qmax);
  if (!kernels::ref::fused_int_bounds(init.node, ys[0], yz[0], yt, r.lo, r.hi, why_not))
    return false;
  r.clip = r.lo > qmin || r.hi < qmax;
  return true;
}

bool read_qadd(const KernelInit& init, const std::array<size_t, 6>& at, DType yt, QAddArithmetic& q,
               std::string& why_not) {
  std::vector<float> sa, sb, sc;
  std::vector<int32_t> za, zb, zc;
  if (!const_floats(init, at[0], "A scale", sa, why_not) ||
      !const_ints(init, at[1], "A zero point", za, why_not) ||
      !const_floats(init, at[2], "B scale", sb, why_not) ||
      !const_ints(init, at[3], "B zero point", zb, why_not) ||
      !const_floats(init, at[4], "C scale", sc, why_not) ||
      !const_ints(init, at[5], "C zero point", zc, why_not))
    return false;
  if (sa.size() != 1 || sb.size() != 1 || sc.size() != 1 || za.size() != 1 || zb.size() != 1 ||
      zc.size() != 1) {
    why_not = "per-channel quantization";
    return false;
  }
  int32_t qmin, qmax;
  if (!kernels::ref::fused_int_bounds(init.node, sc[0], zc[0], yt, q.lo, q.hi, why_not))
    return false;
  kernels::ref::int8_range(yt, qmin, qmax);
  q.clip = q.lo > qmin || q.hi < qmax;
  q.zero_point = zc[0];
  // y = (sa (a - za) + sb (b - zb)) / sc + zc
  q.ka = sa[0] / sc[0];
  q.kb = sb[0] / sc[0];
  q.shift = static_cast<float>(zc[0]) - (sa[0] * za[0] + sb[0] * zb[0]) / sc[0];
  return true;
}

void apply_requant(const Requant& r, int channel_mask, dnnl::primitive_attr& attr) {
  attr.set_output_scales(r.scales.size() > 1 ? channel_mask : 0, r.scales);
  // Post-ops see the scaled value before the destination zero point is added.
  if (r.clip) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip_v2, float(r.lo - r.dst_zp.value),
                      float(r.hi - r.dst_zp.value));
    attr.set_post_ops(po);
  }
}

Requantization halves_requantization(const Requant& r, const int32_t* bias, int64_t channels,
                                     bool to_signed) {
  Requantization q;
  for (int64_t c = 0; c < channels; ++c) {
    q.bias.push_back(bias ? static_cast<float>(bias[c]) : 0.f);
    q.scale.push_back(r.scales[r.scales.size() > 1 ? size_t(c) : 0]);
  }
  if (r.clip) {
    q.clip_lo = float(r.lo - r.dst_zp.value);
    q.clip_hi = float(r.hi - r.dst_zp.value);
  }
  q.zero_point = float(r.dst_zp.value);
  q.to_signed = to_signed;
  return q;
}

}  // namespace qbench::kernels::onednn
