// Times qbench's exact int16 convolution (kernels/onednn/exact_int8_conv.h) on ResNet-50's
// layer shapes, one thread (threads=N: N), with its weights in cache (the same layer run again and
// again) and cold (96 MB written between runs, as when every other layer of a model ran in
// between): the measurement behind avx2_tile.h's weight prefetch. Prints one line per shape,
// medians of 9; only=TEXT times the layers whose name has TEXT; runs=N runs each warm layer N times
// (a loop to profile with perf) and prints no cold time.
//   ninja -C build bench_exact_int8 && build/benchmarks/bench_exact_int8
// With the argument `u8`: 7-bit weights (a reduce-range file's) on the byte products
// (u8_products) wherever they apply, int16 Winograd elsewhere. With `split`: full-range weights on
// the split byte products wherever they apply, over a source like a ReLU's output (half zeros, 1%
// of the bytes above 127); `relu` times the int16 kernels on that same source.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "kernels/onednn/exact_int8_conv.h"

using qbench::kernels::onednn::ExactConvShape;
using qbench::kernels::onednn::ExactInt8Conv;
using qbench::kernels::onednn::Requantization;

namespace {

struct Layer {
  const char* name;
  int64_t size, in_c, out_c, kernel, stride;
};

// ResNet-50's convolutions at batch 1 (input size, channels, kernel, stride).
const Layer kLayers[] = {
    {"stem 7x7/2", 224, 3, 64, 7, 2},
    {"layer1 1x1 64->256", 56, 64, 256, 1, 1},
    {"layer1 1x1 256->64", 56, 256, 64, 1, 1},
    {"layer1 3x3", 56, 64, 64, 3, 1},
    {"layer2 3x3/2", 56, 128, 128, 3, 2},
    {"layer2 1x1 128->512", 28, 128, 512, 1, 1},
    {"layer2 1x1 512->128", 28, 512, 128, 1, 1},
    {"layer2 3x3", 28, 128, 128, 3, 1},
    {"layer3 1x1 1024->256", 14, 1024, 256, 1, 1},
    {"layer3 3x3", 14, 256, 256, 3, 1},
    {"layer3 1x1 256->1024", 14, 256, 1024, 1, 1},
    {"layer4 1x1 2048->512", 7, 2048, 512, 1, 1},
    {"layer4 1x1 512->2048", 7, 512, 2048, 1, 1},
    {"layer4 3x3/2", 14, 512, 512, 3, 2},
    {"layer4 3x3", 7, 512, 512, 3, 1},
    {"fc 2048->1000", 1, 2048, 1000, 1, 1},  // the classifier: a matmul of one row
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

}  // namespace

int main(int argc, char** argv) {
  bool u8 = false, split = false, relu = false;
  int threads = 1, runs = 9;
  std::string only;  // only=TEXT: the layers whose name has TEXT
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "u8")
      u8 = true;
    else if (a == "split")
      split = relu = true;
    else if (a == "relu")
      relu = true;
    else if (a.rfind("only=", 0) == 0)
      only = a.substr(5);
    else if (a.rfind("threads=", 0) == 0 && std::atoi(a.c_str() + 8) > 0)
      threads = std::atoi(a.c_str() + 8);
    else if (a.rfind("runs=", 0) == 0 && std::atoi(a.c_str() + 5) > 0)
      runs = std::atoi(a.c_str() + 5);
    else {
      std::fprintf(stderr, "usage: %s [u8 | split | relu] [threads=N] [only=TEXT] [runs=N]\n",
                   argv[0]);
      return 2;
    }
  }
  // One thread unless told (threads=N) whatever OMP_NUM_THREADS says: without it the kernels
  // split the larger layers over every core and a table that said "1 thread" was not true.
  omp_set_num_threads(threads);
  if (!ExactInt8Conv::available()) {
    std::printf("this CPU has no AVX2: the int16 kernel cannot run\n");
    return 0;
  }
  std::printf("# qbench exact %s convolution%s, %d thread%s; %s; medians of 9 runs\n",
              u8      ? "u8 x s8 (7-bit weights)"
              : split ? "split u8 x s8"
                      : "int16",
              relu ? " over a ReLU-like source" : "", threads, threads > 1 ? "s" : "",
              cpu_model().c_str());
  std::printf("%-22s %10s %10s %10s %9s\n", "layer", "MACs", "warm us", "cold us", "cold/warm");
  std::vector<uint8_t> junk(size_t(96) << 20, 1);
  std::mt19937 rng(1);
  for (const Layer& l : kLayers) {
    if (!only.empty() && std::string(l.name).find(only) == std::string::npos) continue;
    ExactConvShape s;
    s.in_h = s.in_w = l.size;
    s.in_c = l.in_c;
    s.out_c = l.out_c;
    s.kernel_h = s.kernel_w = l.kernel;
    s.stride_h = s.stride_w = l.stride;
    s.pad_top = s.pad_left = l.kernel / 2;
    s.out_h = s.out_w = (l.size + 2 * (l.kernel / 2) - l.kernel) / l.stride + 1;
    std::vector<int8_t> w(size_t(l.out_c * l.in_c * l.kernel * l.kernel));
    // Spread like the static-int8 ResNet-50's (benchmarks/resnet50/make_qdq.py): mean |w| about
    // 33, which decides whether F(4x4, 3x3) may run (ExactInt8Conv::winograd4_fits).
    std::normal_distribution<float> normal(0.f, 42.f);
    // Reduce-range weights: half the spread, within [-64, 64].
    for (int8_t& v : w)
      v = static_cast<int8_t>(u8 ? std::clamp(std::lround(normal(rng) / 2), -64L, 64L)
                                 : std::clamp(std::lround(normal(rng)), -127L, 127L));
    std::vector<uint8_t> x(size_t(l.size * l.size * l.in_c));
    std::normal_distribution<float> activation(0.f, 55.f);  // |a| > 127: 2%
    for (uint8_t& v : x)
      v = static_cast<uint8_t>(
          relu ? std::clamp(std::lround(std::max(0.f, activation(rng))), 0L, 255L) : rng() % 256);
    std::vector<uint8_t> y(size_t(s.out_h * s.out_w * l.out_c));
    Requantization rq;
    rq.bias.assign(size_t(l.out_c), 0.f);
    rq.scale.assign(size_t(l.out_c), 1e-4f);
    ExactInt8Conv conv(s, w.data(), 3, false, rq,
                       (u8 || split) && ExactInt8Conv::u8_products_apply(s, w, false, 3));
    auto once = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      conv.run(x.data(), y.data());
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e6;
    };
    for (int i = 0; i < 3; ++i) once();
    std::vector<double> warm, cold;
    for (int i = 0; i < runs; ++i) warm.push_back(once());
    for (int i = 0; i < (runs == 9 ? 9 : 1); ++i) {
      for (size_t j = 0; j < junk.size(); j += 64) junk[j]++;
      cold.push_back(once());
    }
    const double macs = double(s.out_h * s.out_w) * double(l.out_c * l.in_c * l.kernel * l.kernel);
    std::printf("%-22s %9.1fM %10.1f %10.1f %9.2f%s\n", l.name, macs / 1e6, median(warm),
                median(cold), median(cold) / median(warm),
                conv.split()           ? "  (split u8 x s8)"
                : conv.u8_products()   ? "  (u8 x s8)"
                : conv.winograd() == 4 ? "  (Winograd F(4x4))"
                : conv.winograd()      ? "  (Winograd F(2x2))"
                                       : "");
  }
  return 0;
}
