// What oneDNN's brgconv 1x1 int8 kernel pays for its epilogue: ResNet-50's 1x1 shapes at batch 1,
// one thread, u8 x s8 over NHWC, with four epilogues: mode 0 int32 output, 1 per-channel output
// scales into u8 (a plain QLinearConv), 2 also round and clip (the conv's own requantization
// before a residual add), 3 also the add's linear, sum post-op and clip (qconv.cpp's
// residual_post_ops). Medians of 200 runs. Build and run:
//   g++ -O2 benchmarks/peak/brgconv_1x1_epilogue.cpp -ldnnl -o /tmp/pe && OMP_NUM_THREADS=1 /tmp/pe
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dnnl.hpp>
#include <vector>
using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;
int main(int argc, char** argv) {
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  struct L {
    int hw, ic, oc;
  } ls[] = {{56, 64, 256},   {56, 256, 64},   {28, 128, 512}, {28, 512, 128},
            {14, 256, 1024}, {14, 1024, 256}, {7, 512, 2048}, {7, 2048, 512}};
  for (auto l : ls) {
    for (int mode = 0; mode < 4; ++mode) {
      memory::desc src({1, l.ic, l.hw, l.hw}, dt::u8, tag::nhwc);
      memory::desc wei({l.oc, l.ic, 1, 1}, dt::s8, tag::any);
      memory::desc dst({1, l.oc, l.hw, l.hw}, mode == 0 ? dt::s32 : dt::u8, tag::nhwc);
      primitive_attr attr;
      attr.set_scratchpad_mode(scratchpad_mode::user);
      std::vector<float> sc(l.oc, 0.001f);
      if (mode >= 1) attr.set_output_scales(2, sc);
      post_ops po;
      if (mode >= 2) {
        po.append_eltwise(1.f, algorithm::eltwise_round, 0, 0);
        po.append_eltwise(1.f, algorithm::eltwise_clip_v2, -3, 250);
      }
      if (mode >= 3) {
        po.append_eltwise(1.f, algorithm::eltwise_linear, 0.7f, 3.f);
        po.append_sum(0.8f, 0, dt::u8);
        po.append_eltwise(1.f, algorithm::eltwise_clip, 0, 255);
      }
      attr.set_post_ops(po);
      attr.set_zero_points(DNNL_ARG_SRC, 0, {3});
      convolution_forward::desc d(prop_kind::forward_inference, algorithm::convolution_direct, src,
                                  wei, memory::desc(), dst, {1, 1}, {0, 0}, {0, 0});
      convolution_forward::primitive_desc pd(d, attr, eng);
      memory ms(src, eng), mw(pd.weights_desc(), eng), md(pd.dst_desc(), eng),
          sp(pd.scratchpad_desc(), eng);
      std::memset(ms.get_data_handle(), 7, src.get_size());
      std::memset(mw.get_data_handle(), 1, pd.weights_desc().get_size());
      convolution_forward c(pd);
      auto run = [&] {
        c.execute(s, {{DNNL_ARG_SRC, ms},
                      {DNNL_ARG_WEIGHTS, mw},
                      {DNNL_ARG_DST, md},
                      {DNNL_ARG_SCRATCHPAD, sp}});
        s.wait();
      };
      for (int i = 0; i < 20; ++i) run();
      std::vector<double> t;
      for (int i = 0; i < 200; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        run();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() *
                    1e6);
      }
      std::sort(t.begin(), t.end());
      double macs = double(l.hw * l.hw) * l.ic * l.oc;
      std::printf("%2d %4d->%4d mode %d: %7.1f us %6.1f GMAC/s  %s\n", l.hw, l.ic, l.oc, mode,
                  t[100], macs / t[100] / 1e3, pd.impl_info_str());
    }
  }
}
