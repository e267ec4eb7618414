// Times every non-reference oneDNN implementation of one convolution, channels-last, on the
// calling thread's OpenMP team (run with OMP_NUM_THREADS=1 for one thread): the measurement
// behind kernels/onednn/common.h prefer_direct_jit. A dev tool, built by hand:
//   g++ -O2 -std=c++17 benchmarks/conv_impl/conv_impl.cpp -ldnnl -o /tmp/conv_impl
//   OMP_NUM_THREADS=1 /tmp/conv_impl f32 100 16 16 28 3     # type batch in out size kernel
//   OMP_NUM_THREADS=1 /tmp/conv_impl f32 1 144 144 56 3 1 dw  # ... stride, depthwise (in = out)
// int8: u8 source (zero point 0, as after a Relu), s8 weights, per-channel scales, u8 output.
// f32 also lists oneDNN's Winograd implementations (conv.cpp winograd_pays).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

int main(int argc, char** argv) {
  if (argc < 7 || (argc > 8 && std::string(argv[8]) != "dw")) {
    std::fprintf(stderr, "usage: conv_impl f32|int8 batch in out size kernel [stride] [dw]\n");
    return 2;
  }
  const bool int8 = std::string(argv[1]) == "int8";
  const int n = std::atoi(argv[2]), ic = std::atoi(argv[3]), oc = std::atoi(argv[4]),
            hw = std::atoi(argv[5]), k = std::atoi(argv[6]), s = argc > 7 ? std::atoi(argv[7]) : 1;
  const bool dw = argc > 8;  // depthwise: one group per channel
  if (s < 1 || (dw && ic != oc)) {
    std::fprintf(stderr, "conv_impl: stride must be >= 1; depthwise needs in == out\n");
    return 2;
  }
  const int ohw = (hw + 2 * (k / 2) - k) / s + 1;
  engine eng(engine::kind::cpu, 0);
  stream st(eng);
  const double macs = double(n) * oc * (dw ? 1 : ic) * k * k * ohw * ohw;
  // Direct implementations on channels-last activations, then (f32) oneDNN's Winograd ones,
  // which take only their blocked layout: a caller with NHWC tensors adds two reorders.
  for (const algorithm alg : {algorithm::convolution_direct, algorithm::convolution_winograd}) {
    const bool wino = alg == algorithm::convolution_winograd;
    if (wino && int8) break;
    const tag act = wino ? tag::any : tag::nhwc;
    memory::desc src({n, ic, hw, hw}, int8 ? dt::u8 : dt::f32, act);
    memory::desc dst({n, oc, ohw, ohw}, int8 ? dt::u8 : dt::f32, act);
    memory::desc wei = dw ? memory::desc({oc, 1, 1, k, k}, int8 ? dt::s8 : dt::f32, tag::any)
                          : memory::desc({oc, ic, k, k}, int8 ? dt::s8 : dt::f32, tag::any);
    memory::desc bias({oc}, int8 ? dt::s32 : dt::f32, tag::x);
    primitive_attr attr;
    attr.set_scratchpad_mode(scratchpad_mode::user);
    if (int8) attr.set_output_scales(2, std::vector<float>(oc, 0.01f));
    post_ops po;
    po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
    // The descriptor outlives the walk over implementations (next_impl reads it), and the
    // primitive_desc is built in place.
    const convolution_forward::desc d(prop_kind::forward_inference, alg, src, wei, bias, dst,
                                      {s, s}, {k / 2, k / 2}, {k / 2, k / 2});
    std::optional<convolution_forward::primitive_desc> made;
    try {
      made.emplace(d, attr, eng);
    } catch (const error&) {
      continue;  // no Winograd implementation for this shape or CPU
    }
    convolution_forward::primitive_desc& pd = *made;
    do {
      const std::string impl = pd.impl_info_str();
      if (impl.rfind("ref", 0) == 0) continue;
      memory S(pd.src_desc(), eng), W(pd.weights_desc(), eng), D(pd.dst_desc(), eng), B(bias, eng),
          sp(pd.scratchpad_desc(), eng);
      std::memset(S.get_data_handle(), 1, pd.src_desc().get_size());
      std::memset(W.get_data_handle(), 0, pd.weights_desc().get_size());
      convolution_forward c(pd);
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, S},
                                           {DNNL_ARG_WEIGHTS, W},
                                           {DNNL_ARG_DST, D},
                                           {DNNL_ARG_BIAS, B},
                                           {DNNL_ARG_SCRATCHPAD, sp}};
      const int reps = std::max(1, int(2e8 / macs));
      for (int i = 0; i < 3; ++i) c.execute(st, args);
      st.wait();
      std::vector<double> t;
      for (int r = 0; r < 7; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) c.execute(st, args);
        st.wait();
        t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                        .count() /
                    reps);
      }
      std::sort(t.begin(), t.end());
      std::printf("%-32s %10.1f us  %6.1f GMAC/s%s\n", impl.c_str(), t[3], macs / t[3] / 1e3,
                  wino ? "  (blocked activations)" : "");
    } while (pd.next_impl());
  }
}
