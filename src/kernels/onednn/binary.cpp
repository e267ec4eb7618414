// Add, Sub, Mul, Div, Max, Min (two inputs) with numpy broadcasting on oneDNN's binary
// primitive, plus fused activations as post-ops. oneDNN broadcasts only src1: when A is the
// broadcast operand, commutative ops swap, Sub swaps and negates, and otherwise A is expanded
// into the output first and the op runs in place.
#include <fmt/format.h>

#include "kernels/onednn/common.h"
#include "kernels/onednn/factories.h"

namespace qbench::kernels::onednn {

namespace {

// Shapes of A, B and Y padded to one rank, with size-1 output dims dropped and neighbouring
// dims of the same broadcast pattern merged, so oneDNN sees the simplest equivalent problem.
struct BroadcastShapes {
  Shape a, b, y;
};

BroadcastShapes collapse(Shape a, Shape b, const Shape& y) {
  size_t r = y.size();
  a.insert(a.begin(), r - a.size(), 1);
  b.insert(b.begin(), r - b.size(), 1);
  BroadcastShapes out;
  int prev = -1;
  for (size_t i = 0; i < r; ++i) {
    if (y[i] == 1) continue;
    int pattern = (a[i] == y[i] ? 1 : 0) | (b[i] == y[i] ? 2 : 0);
    if (pattern == prev) {
      out.a.back() *= a[i];
      out.b.back() *= b[i];
      out.y.back() *= y[i];
    } else {
      out.a.push_back(a[i]);
      out.b.push_back(b[i]);
      out.y.push_back(y[i]);
      prev = pattern;
    }
  }
  if (out.y.empty()) out = {{1}, {1}, {1}};
  return out;
}

// dst (shape y) = src (shape s, each dim 1 or y's) broadcast.
void expand(const float* src, const Shape& s, float* dst, const Shape& y) {
  size_t r = y.size();
  std::vector<int64_t> sstride(r), idx(r, 0);
  int64_t st = 1;
  for (size_t i = r; i-- > 0;) {
    sstride[i] = s[i] == 1 ? 0 : st;
    st *= s[i];
  }
  int64_t inner = y[r - 1], total = shape_numel(y);
  for (int64_t o = 0; o < total; o += inner) {
    int64_t off = 0;
    for (size_t i = 0; i + 1 < r; ++i) off += idx[i] * sstride[i];
    const float* sp = src + off;
    if (sstride[r - 1] == 0) {
      std::fill(dst + o, dst + o + inner, sp[0]);
    } else {
      std::copy(sp, sp + inner, dst + o);
    }
    for (size_t i = r - 1; i-- > 0;) {
      if (++idx[i] < y[i]) break;
      idx[i] = 0;
    }
  }
}

class BinaryKernel final : public Kernel {
 public:
  bool swap = false;      // src0 = B, src1 = A
  bool expand_a = false;  // Y = broadcast(A) first, then Y = Y op B in place
  Tensor b_full;          // B expanded, when oneDNN has no JIT kernel for B's broadcast
  BroadcastShapes shapes;

  bool init(dnnl::algorithm alg, const memory::desc& s0, const memory::desc& s1,
            const memory::desc& d, const dnnl::post_ops& po, std::string& why_not) {
    dnnl::primitive_attr attr = scratch_attr();
    attr.set_post_ops(po);
    dnnl::binary::primitive_desc pd;
    if (!try_dnnl(why_not, "binary", [&] {
          pd = dnnl::binary::primitive_desc(dnnl::binary::desc(alg, s0, s1, d), attr, cpu_engine());
        }))
      return false;
    if (is_reference_impl(pd)) {
      why_not = "oneDNN has only its reference binary for this broadcast";
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
    const Tensor* a = in[0];
    const Tensor* b = in[1];
    if (b_full.defined()) {
      expand(b->data<float>(), shapes.b, b_full.data<float>(), shapes.y);
      b = &b_full;
    }
    if (expand_a) {
      expand(a->data<float>(), shapes.a, out[0]->data<float>(), shapes.y);
      bind(src0_, out[0]);
      bind(src1_, b);
    } else {
      bind(src0_, swap ? b : a);
      bind(src1_, swap ? a : b);
    }
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

}  // namespace

std::unique_ptr<Kernel> make_onednn_binary(const KernelInit& init, std::string& why_not) {
  if (!check_f32(init, why_not)) return nullptr;
  const std::string& op = init.node.op_type;
  if (init.inputs.size() != 2 || init.outputs.size() != 1) {
    why_not = fmt::format("{} with {} inputs (only 2)", op, init.inputs.size());
    return nullptr;
  }
  if (init.opset < 7 && init.node.has_attr("axis")) {
    why_not = "broadcast with axis (before opset 7)";
    return nullptr;
  }
  const Shape& y = init.outputs[0].shape;
  if (shape_numel(y) == 0) {
    why_not = "empty tensor";
    return nullptr;
  }
  dnnl::algorithm alg;
  bool commutative = true;
  if (op == "Add")
    alg = dnnl::algorithm::binary_add;
  else if (op == "Mul")
    alg = dnnl::algorithm::binary_mul;
  else if (op == "Max")
    alg = dnnl::algorithm::binary_max;
  else if (op == "Min")
    alg = dnnl::algorithm::binary_min;
  else if (op == "Sub")
    alg = dnnl::algorithm::binary_sub, commutative = false;
  else if (op == "Div")
    alg = dnnl::algorithm::binary_div, commutative = false;
  else {
    why_not = fmt::format("op {} is not a oneDNN binary", op);
    return nullptr;
  }
  for (size_t i = 0; i < 2; ++i) {
    const Shape& s = init.inputs[i].shape;
    if (s.size() > y.size()) {
      why_not = "input rank above output rank";
      return nullptr;
    }
    for (size_t d = 0; d < s.size(); ++d) {
      int64_t yd = y[y.size() - s.size() + d];
      if (s[d] != yd && s[d] != 1) {
        why_not = fmt::format("input {} shape {} does not broadcast to {}", i, shape_str(s),
                              shape_str(y));
        return nullptr;
      }
    }
  }
  auto k = std::make_unique<BinaryKernel>();
  k->shapes = collapse(init.inputs[0].shape, init.inputs[1].shape, y);
  if (k->shapes.y.size() > static_cast<size_t>(DNNL_MAX_NDIMS)) {
    why_not = "too many broadcast dims";
    return nullptr;
  }
  const BroadcastShapes& sh = k->shapes;
  bool a_bcast = sh.a != sh.y, b_bcast = sh.b != sh.y;
  std::vector<EltwiseStep> fused;
  if (!fused_steps(init.node, fused, why_not)) return nullptr;
  // First try: oneDNN broadcasts B (or A after a swap). Second: both operands are expanded by
  // hand, for broadcast patterns oneDNN has only its reference kernel for.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<EltwiseStep> post;
    k->swap = attempt == 0 && a_bcast && !b_bcast && (commutative || op == "Sub");
    k->expand_a = a_bcast && !k->swap;
    // A - B = -(B - A); negation is exact.
    if (k->swap && op == "Sub") post.push_back({dnnl::algorithm::eltwise_linear, -1.f, 0.f});
    post.insert(post.end(), fused.begin(), fused.end());
    if (attempt == 1) k->b_full = Tensor(DType::F32, sh.y);
    dnnl::post_ops po;
    append_steps(po, post);
    const Shape& s0 = k->swap ? sh.b : k->expand_a ? sh.y : sh.a;
    const Shape& s1 = k->swap ? sh.a : attempt == 1 ? sh.y : sh.b;
    std::string why;
    if (k->init(alg, plain_desc(s0), plain_desc(s1), plain_desc(sh.y), po, why)) {
      why_not.clear();
      return k;
    }
    if (attempt == 0) why_not = why;
    if (!b_bcast && !k->swap) break;  // nothing left to expand
  }
  return nullptr;
  return k;
}

}  // namespace qbench::kernels::onednn
