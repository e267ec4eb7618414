// Every reporter on one fixed, hand-built result: the exact text each one writes.
#include <gtest/gtest.h>

#include <sstream>

#include "report/json.h"
#include "report/reporter.h"

using namespace qbench;
using report::VariantResult;

namespace {

VariantResult variant(const std::string& recipe, int64_t top1, int64_t top5, double p50,
                      int64_t bytes) {
  VariantResult v;
  v.recipe = recipe;
  v.file = "out/models/" + recipe + ".onnx";
  v.n = 1000;
  v.correct_top1 = top1;
  v.correct_top5 = top5;
  v.bench.model = v.file;
  v.bench.model_bytes = bytes;
  v.bench.threads = 1;
  v.bench.load_seconds = 0.5;
  v.bench.compile_seconds = 0.25;
  v.bench.queries = 200;
  v.bench.latency_seconds = 2;
  v.bench.latency_ms.n = 200;
  v.bench.latency_ms.p50 = p50;
  v.bench.latency_ms.p90 = p50 * 1.25;
  v.bench.latency_ms.p99 = p50 * 1.5;
  v.bench.latency_ms.max = p50 * 2;
  v.bench.latency_ms.min = p50 * 0.75;
  v.bench.latency_ms.mean = p50 * 1.125;
  v.bench.latency_ms.stddev = p50 * 0.25;
  v.bench.offline_batch = 64;
  v.bench.offline_runs = 10;
  v.bench.images_per_second = 1000.0 / p50 * 2;
  v.bench.peak_rss_bytes = 25000000;
  v.bench.coverage = {0, 0, 1000, 0, 0, 4000};
  return v;
}

// fp32 (90.0%, 2 ms, 1 MB), static-int8 (89.5%, 0.5 ms, 250 kB), bf16 (90.0%, 1 ms, 500 kB,
// and a warning), given in that order.
report::CompareResults fixture() {
  report::CompareResults r;
  r.model = "lenet.onnx";
  r.model_bytes = 1000000;
  r.model_hash = "0123456789abcdef";
  r.data = "fashion-mnist (test)";
  r.images = 1000;
  r.settings.limit = 1000;
  r.settings.calib_data = "fashion-mnist";
  r.settings.calib_size = 512;
  r.settings.bench.min_seconds = 2;
  r.machine.cpu = "Test CPU";
  r.machine.logical_cpus = 2;
  r.machine.isa = {"avx2", "avx512f"};
  r.machine.onednn_isa = "avx512_core";
  r.machine.int8_path = "AVX-512 pairwise (vpmaddubsw, avx512_core): int16 pair sums saturate";
  r.machine.bf16_path = "emulated: this CPU has no native bf16";
  r.machine.onednn_version = "2.6.3";
  r.machine.threads = 1;
  r.machine.build_type = "Release";
  r.machine.compiler = "12.2.0";
  r.machine.qbench_version = "0.1.0";
  r.machine.git_commit = "abc1234";
  r.machine.os = "Linux 6.1 x86_64";
  VariantResult fp32 = variant("fp32", 900, 990, 2.0, 1000000);
  VariantResult s8 = variant("static-int8", 895, 989, 0.5, 250000);
  s8.drop_points = -0.5;
  s8.drop_ci_low = -1.25;
  s8.drop_ci_high = 0;
  s8.fp32_only = 7;
  s8.variant_only = 2;
  s8.mcnemar_p = 0.1796875;
  s8.agreement = 0.985;
  s8.calib_seconds = 1.5;
  s8.quantize_seconds = 2;
  s8.bench.coverage = {980, 0, 20, 3900, 0, 100};
  s8.bench.saturation = {4, 3, 1000, 11};  // 1.1% of pairs, 3 of 4 layers
  VariantResult bf = variant("bf16", 900, 990, 1.0, 500000);
  bf.agreement = 0.999;
  bf.mcnemar_p = 1;
  // A CPU without native bf16: the f32 kernels ran it, emulated.
  bf.bench.coverage = {0, 0, 1000, 0, 0, 4000, 4000};
  bf.bench.emulation = "bf16 emulated on 100% of MACs: this CPU has no native bf16 (avx2)";
  bf.bench.warnings = {"latency varies a lot: coefficient of variation 25.0% (over 10%)"};
  r.variants = {fp32, s8, bf};
  r.skipped = {"fp16: no kernel"};
  report::finalize(r);
  return r;
}

// Expected outputs, checked by hand against the fixture: speedup 2 ms / 0.5 ms = 4.00x, size
// 250 kB / 1 MB = 0.25x, static-int8 MACs 3900 / 4000 = 97.5% int8, Pareto rows first.
const char* const kConsole = R"x(model    lenet.onnx (1.00 MB, fnv1a64 0123456789abcdef)
data     fashion-mnist (test), 1000 images
machine  Test CPU (2 CPUs; avx2 avx512f); oneDNN 2.6.3 dispatching avx512_core; 1 thread; Release build, 12.2.0; qbench 0.1.0 (abc1234)
int8     AVX-512 pairwise (vpmaddubsw, avx512_core): int16 pair sums saturate
bf16     emulated: this CPU has no native bf16
timing   batch 1: >= 100 queries and >= 2 s after a 1 s / 10 query warm-up; offline batch 64

recipe        top-1   top-5  Δ top-1          95% CI  McNemar p    agree  p50 ms  p90 ms  img/s  speedup      size  size ratio  peak RSS  MACs i8/bf16/f32 %  params i8/bf16/f32 %  int16 risk  calib s  best
static-int8  89.50%  98.90%    -0.50  [-1.25, +0.00]     0.1797   98.50%   0.500   0.625   4000    4.00x  250.0 kB       0.25x  25.00 MB              98/0/2                98/0/2    1.1% 3/4     1.50  lat+size
bf16         90.00%  99.00%    +0.00  [+0.00, +0.00]     1.0000   99.90%  1.000*  1.250*  2000*   2.00x*  500.0 kB       0.50x  25.00 MB             0/0/100               0/0/100           -        -  lat+size
fp32         90.00%  99.00%    +0.00  [+0.00, +0.00]     1.0000  100.00%   2.000   2.500   1000    1.00x   1.00 MB       1.00x  25.00 MB             0/0/100               0/0/100           -        -

Δ top-1: variant minus FP32 in points, 95% CI by paired bootstrap over images; McNemar p: exact test on the paired predictions.
agree: images with the same label as FP32. Latency: batch 1, single stream; img/s: offline batch. speedup and size ratio vs FP32; *: emulated on this CPU (see warnings).
MACs/params %: share that ran in int8/bf16/f32 in the compiled plan. best: Pareto-best on accuracy vs latency (lat) and vs size (size).
int16 risk: int8 weight pairs (%) and layers whose u8 x s8 pair sums overflow int16 in runtimes without VNNI that add products in pairs; -rr: reduce-range 7-bit weights.
skipped: fp16: no kernel
warning: bf16: latency varies a lot: coefficient of variation 25.0% (over 10%)
warning: bf16: bf16 emulated on 100% of MACs: this CPU has no native bf16 (avx2); the accuracy is that precision's, the timing (marked *) is not
warning: static-int8: 1.1% of its int8 weight pairs (3 of 4 layers) overflow int16 when u8 x s8 products are added in pairs, as runtimes do on CPUs without VNNI (ONNX Runtime's u8s8 kernels, oneDNN); qbench computes them exactly, but this file may lose accuracy there; static-int8-rr (reduce-range 7-bit weights) has none
)x";

const char* const kMarkdown = R"x(# qbench compare: lenet.onnx

- model: `lenet.onnx`, 1.00 MB, fnv1a64 `0123456789abcdef`
- data: fashion-mnist (test), 1000 images
- machine: Test CPU (2 CPUs; avx2 avx512f); oneDNN 2.6.3 dispatching avx512_core; 1 thread; Release build, 12.2.0; qbench 0.1.0 (abc1234)
- int8 path: AVX-512 pairwise (vpmaddubsw, avx512_core): int16 pair sums saturate
- bf16 path: emulated: this CPU has no native bf16
- timing: batch 1, >= 100 queries and >= 2 s after a 1 s / 10 query warm-up; offline batch 64

| recipe | top-1 | top-5 | Δ top-1 | 95% CI | McNemar p | agree | p50 ms | p90 ms | img/s | speedup | size | size ratio | peak RSS | MACs i8/bf16/f32 % | params i8/bf16/f32 % | int16 risk | calib s | best |
|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|
| **static-int8** | 89.50% | 98.90% | -0.50 | [-1.25, +0.00] | 0.1797 | 98.50% | 0.500 | 0.625 | 4000 | 4.00x | 250.0 kB | 0.25x | 25.00 MB | 98/0/2 | 98/0/2 | 1.1% 3/4 | 1.50 | lat+size |
| **bf16** | 90.00% | 99.00% | +0.00 | [+0.00, +0.00] | 1.0000 | 99.90% | 1.000* | 1.250* | 2000* | 2.00x* | 500.0 kB | 0.50x | 25.00 MB | 0/0/100 | 0/0/100 | - | - | lat+size |
| fp32 | 90.00% | 99.00% | +0.00 | [+0.00, +0.00] | 1.0000 | 100.00% | 2.000 | 2.500 | 1000 | 1.00x | 1.00 MB | 1.00x | 25.00 MB | 0/0/100 | 0/0/100 | - | - |  |

Δ top-1: variant minus FP32 in points, 95% CI by paired bootstrap over images; McNemar p: exact test on the paired predictions.
agree: images with the same label as FP32. Latency: batch 1, single stream; img/s: offline batch. speedup and size ratio vs FP32; *: emulated on this CPU (see warnings).
MACs/params %: share that ran in int8/bf16/f32 in the compiled plan. best: Pareto-best on accuracy vs latency (lat) and vs size (size).
int16 risk: int8 weight pairs (%) and layers whose u8 x s8 pair sums overflow int16 in runtimes without VNNI that add products in pairs; -rr: reduce-range 7-bit weights.

- skipped: fp16: no kernel
- **warning**: bf16: latency varies a lot: coefficient of variation 25.0% (over 10%)
- **warning**: bf16: bf16 emulated on 100% of MACs: this CPU has no native bf16 (avx2); the accuracy is that precision's, the timing (marked *) is not
- **warning**: static-int8: 1.1% of its int8 weight pairs (3 of 4 layers) overflow int16 when u8 x s8 products are added in pairs, as runtimes do on CPUs without VNNI (ONNX Runtime's u8s8 kernels, oneDNN); qbench computes them exactly, but this file may lose accuracy there; static-int8-rr (reduce-range 7-bit weights) has none
)x";

const char* const kCsv =
    R"x(recipe,file,n,top1,top5,drop_points,drop_ci95_low,drop_ci95_high,mcnemar_p,fp32_only,variant_only,agreement,p50_ms,p90_ms,p99_ms,max_ms,mean_ms,std_ms,queries,images_per_second,offline_batch,speedup,model_bytes,size_ratio,peak_rss_bytes,params_int8,params_bf16,params_f32,macs_int8,macs_bf16,macs_f32,load_seconds,compile_seconds,quantize_seconds,calib_seconds,pareto_latency,pareto_size,emulated,emulation,macs_emulated,int16_layers,int16_layers_at_risk,int16_pairs,int16_pairs_at_risk
static-int8,out/models/static-int8.onnx,1000,0.895,0.989,-0.5,-1.25,0,0.1796875,7,2,0.985,0.5,0.625,0.75,1,0.5625,0.125,200,4000,64,4,250000,0.25,25000000,980,0,20,3900,0,100,0.5,0.25,2,1.5,1,1,0,,0,4,3,1000,11
bf16,out/models/bf16.onnx,1000,0.9,0.99,0,0,0,1,0,0,0.999,1,1.25,1.5,2,1.125,0.25,200,2000,64,2,500000,0.5,25000000,0,0,1000,0,0,4000,0.5,0.25,0,0,1,1,1,bf16 emulated on 100% of MACs: this CPU has no native bf16 (avx2),4000,0,0,0,0
fp32,out/models/fp32.onnx,1000,0.9,0.99,0,0,0,1,0,0,1,2,2.5,3,4,2.25,0.5,200,1000,64,1,1000000,1,25000000,0,0,1000,0,0,4000,0.5,0.25,0,0,0,0,0,,0,0,0,0,0
)x";

const char* const kJson = R"x({
  "data": "fashion-mnist (test)",
  "hosts": [],
  "images": 1000,
  "machine": {
    "bf16_path": "emulated: this CPU has no native bf16",
    "build_type": "Release",
    "compiler": "12.2.0",
    "cpu": "Test CPU",
    "git_commit": "abc1234",
    "int8_path": "AVX-512 pairwise (vpmaddubsw, avx512_core): int16 pair sums saturate",
    "isa_flags": [
      "avx2",
      "avx512f"
    ],
    "logical_cpus": 2,
    "onednn_isa": "avx512_core",
    "onednn_version": "2.6.3",
    "os": "Linux 6.1 x86_64",
    "qbench_version": "0.1.0",
    "threads": 1
  },
  "model": "lenet.onnx",
  "model_bytes": 1000000,
  "model_hash": "0123456789abcdef",
  "peer_notes": [],
  "peers": [],
  "ranks": 1,
  "schema": "qbench.compare",
  "schema_version": 2,
  "settings": {
    "bootstrap_resamples": 1000,
    "bootstrap_seed": 20240601,
    "calib_data": "fashion-mnist",
    "calib_size": 512,
    "eval_batch": 64,
    "limit": 1000,
    "min_queries": 100,
    "min_seconds": 2.0,
    "offline_batch": 64,
    "threads": 1,
    "warmup_queries": 10,
    "warmup_seconds": 1.0
  },
  "skipped": [
    "fp16: no kernel"
  ],
  "variants": [
    {
      "agreement": 0.985,
      "bench": {
        "compile_seconds": 0.25,
        "coverage": {
          "macs": {
            "bf16": 0,
            "bf16_share": 0.0,
            "f32": 100,
            "f32_share": 0.025,
            "int8": 3900,
            "int8_share": 0.975
          },
          "macs_emulated": 0,
          "params": {
            "bf16": 0,
            "bf16_share": 0.0,
            "f32": 20,
            "f32_share": 0.02,
            "int8": 980,
            "int8_share": 0.98
          }
        },
        "emulated": false,
        "emulation": "",
        "kernels": [],
        "latency_ms": {
          "max": 1.0,
          "mean": 0.5625,
          "min": 0.375,
          "p50": 0.5,
          "p90": 0.625,
          "p99": 0.75,
          "queries": 200,
          "seconds": 2.0,
          "std": 0.125
        },
        "load_seconds": 0.5,
        "model": "out/models/static-int8.onnx",
        "model_bytes": 250000,
        "offline": {
          "batch": 64,
          "images_per_second": 4000.0,
          "not_split": "",
          "one_at_a_time": false,
          "runs": 10,
          "streams": 1
        },
        "other_cpu_share": 0.0,
        "peak_rss_bytes": 25000000,
        "saturation_risk": {
          "layers": 4,
          "layers_at_risk": 3,
          "pair_share": 0.011,
          "pairs": 1000,
          "pairs_at_risk": 11
        },
        "threads": 1,
        "warnings": []
      },
      "calib_seconds": 1.5,
      "correct_top1": 895,
      "correct_top5": 989,
      "drop_ci95": [
        -1.25,
        0.0
      ],
      "drop_points": -0.5,
      "file": "out/models/static-int8.onnx",
      "fp32_only": 7,
      "mcnemar_p": 0.1796875,
      "n": 1000,
      "pareto_latency": true,
      "pareto_size": true,
      "quantize_seconds": 2.0,
      "recipe": "static-int8",
      "size_ratio": 0.25,
      "speedup": 4.0,
      "top1": 0.895,
      "top5": 0.989,
      "variant_only": 2
    },
    {
      "agreement": 0.999,
      "bench": {
        "compile_seconds": 0.25,
        "coverage": {
          "macs": {
            "bf16": 0,
            "bf16_share": 0.0,
            "f32": 4000,
            "f32_share": 1.0,
            "int8": 0,
            "int8_share": 0.0
          },
          "macs_emulated": 4000,
          "params": {
            "bf16": 0,
            "bf16_share": 0.0,
            "f32": 1000,
            "f32_share": 1.0,
            "int8": 0,
            "int8_share": 0.0
          }
        },
        "emulated": true,
        "emulation": "bf16 emulated on 100% of MACs: this CPU has no native bf16 (avx2)",
        "kernels": [],
        "latency_ms": {
          "max": 2.0,
          "mean": 1.125,
          "min": 0.75,
          "p50": 1.0,
          "p90": 1.25,
          "p99": 1.5,
          "queries": 200,
          "seconds": 2.0,
          "std": 0.25
        },
        "load_seconds": 0.5,
        "model": "out/models/bf16.onnx",
        "model_bytes": 500000,
        "offline": {
          "batch": 64,
          "images_per_second": 2000.0,
          "not_split": "",
          "one_at_a_time": false,
          "runs": 10,
          "streams": 1
        },
        "other_cpu_share": 0.0,
        "peak_rss_bytes": 25000000,
        "saturation_risk": {
          "layers": 0,
          "layers_at_risk": 0,
          "pair_share": 0.0,
          "pairs": 0,
          "pairs_at_risk": 0
        },
        "threads": 1,
        "warnings": [
          "latency varies a lot: coefficient of variation 25.0% (over 10%)"
        ]
      },
      "calib_seconds": 0.0,
      "correct_top1": 900,
      "correct_top5": 990,
      "drop_ci95": [
        0.0,
        0.0
      ],
      "drop_points": 0.0,
      "file": "out/models/bf16.onnx",
      "fp32_only": 0,
      "mcnemar_p": 1.0,
      "n": 1000,
      "pareto_latency": true,
      "pareto_size": true,
      "quantize_seconds": 0.0,
      "recipe": "bf16",
      "size_ratio": 0.5,
      "speedup": 2.0,
      "top1": 0.9,
      "top5": 0.99,
      "variant_only": 0
    },
    {
      "agreement": 1.0,
      "bench": {
        "compile_seconds": 0.25,
        "coverage": {
          "macs": {
            "bf16": 0,
            "bf16_share": 0.0,
            "f32": 4000,
            "f32_share": 1.0,
            "int8": 0,
            "int8_share": 0.0
          },
          "macs_emulated": 0,
          "params": {
            "bf16": 0,
            "bf16_share": 0.0,
            "f32": 1000,
            "f32_share": 1.0,
            "int8": 0,
            "int8_share": 0.0
          }
        },
        "emulated": false,
        "emulation": "",
        "kernels": [],
        "latency_ms": {
          "max": 4.0,
          "mean": 2.25,
          "min": 1.5,
          "p50": 2.0,
          "p90": 2.5,
          "p99": 3.0,
          "queries": 200,
          "seconds": 2.0,
          "std": 0.5
        },
        "load_seconds": 0.5,
        "model": "out/models/fp32.onnx",
        "model_bytes": 1000000,
        "offline": {
          "batch": 64,
          "images_per_second": 1000.0,
          "not_split": "",
          "one_at_a_time": false,
          "runs": 10,
          "streams": 1
        },
        "other_cpu_share": 0.0,
        "peak_rss_bytes": 25000000,
        "saturation_risk": {
          "layers": 0,
          "layers_at_risk": 0,
          "pair_share": 0.0,
          "pairs": 0,
          "pairs_at_risk": 0
        },
        "threads": 1,
        "warnings": []
      },
      "calib_seconds": 0.0,
      "correct_top1": 900,
      "correct_top5": 990,
      "drop_ci95": [
        0.0,
        0.0
      ],
      "drop_points": 0.0,
      "file": "out/models/fp32.onnx",
      "fp32_only": 0,
      "mcnemar_p": 1.0,
      "n": 1000,
      "pareto_latency": false,
      "pareto_size": false,
      "quantize_seconds": 0.0,
      "recipe": "fp32",
      "size_ratio": 1.0,
      "speedup": 1.0,
      "top1": 0.9,
      "top5": 0.99,
      "variant_only": 0
    }
  ],
  "warnings": [
    "bf16: latency varies a lot: coefficient of variation 25.0% (over 10%)",
    "bf16: bf16 emulated on 100% of MACs: this CPU has no native bf16 (avx2); the accuracy is that precision's, the timing (marked *) is not",
    "static-int8: 1.1% of its int8 weight pairs (3 of 4 layers) overflow int16 when u8 x s8 products are added in pairs, as runtimes do on CPUs without VNNI (ONNX Runtime's u8s8 kernels, oneDNN); qbench computes them exactly, but this file may lose accuracy there; static-int8-rr (reduce-range 7-bit weights) has none"
  ]
}
)x";

std::string render(const report::Reporter& rep, const report::CompareResults& r = fixture()) {
  std::ostringstream s;
  rep.report(r, s);
  return s.str();
}

}  // namespace

TEST(Finalize, SpeedupSizeRatioParetoAndOrder) {
  const report::CompareResults r = fixture();
  ASSERT_EQ(r.variants.size(), 3u);
  // Pareto on accuracy vs latency: static-int8 (fastest) and bf16 (most accurate of the rest);
  // fp32 is dominated by bf16 (as accurate, faster). Front first, each part by latency.
  EXPECT_EQ(r.variants[0].recipe, "static-int8");
  EXPECT_EQ(r.variants[1].recipe, "bf16");
  EXPECT_EQ(r.variants[2].recipe, "fp32");
  EXPECT_TRUE(r.variants[0].pareto_latency);
  EXPECT_TRUE(r.variants[1].pareto_latency);
  EXPECT_FALSE(r.variants[2].pareto_latency);
  EXPECT_TRUE(r.variants[0].pareto_size);
  EXPECT_TRUE(r.variants[1].pareto_size);
  EXPECT_FALSE(r.variants[2].pareto_size);
  EXPECT_DOUBLE_EQ(r.variants[0].speedup, 4.0);
  EXPECT_DOUBLE_EQ(r.variants[1].speedup, 2.0);
  EXPECT_DOUBLE_EQ(r.variants[0].size_ratio, 0.25);
  // Trust warnings first, then the emulated timing, then the file's int16 risk (11 of 1000
  // pairs, 3 of 4 layers; no variant without risk, so the reduce-range recipe is suggested).
  ASSERT_EQ(r.warnings.size(), 3u);
  EXPECT_EQ(r.warnings[0], "bf16: latency varies a lot: coefficient of variation 25.0% (over 10%)");
  EXPECT_EQ(r.warnings[1].rfind("bf16: bf16 emulated on 100% of MACs", 0), 0u) << r.warnings[1];
  EXPECT_NE(r.warnings[1].find("timing (marked *) is not"), std::string::npos);
  EXPECT_EQ(r.warnings[2].rfind("static-int8: 1.1% of its int8 weight pairs (3 of 4 layers)", 0),
            0u)
      << r.warnings[2];
  EXPECT_NE(r.warnings[2].find("static-int8-rr (reduce-range 7-bit weights) has none"),
            std::string::npos);
}

// A reduce-range variant without risky pairs is named beside the one that has them.
TEST(Finalize, SaturationWarningNamesTheSafeVariant) {
  report::CompareResults r = fixture();
  VariantResult rr = r.variants[0];
  rr.recipe = "static-int8-rr";
  rr.bench.saturation = {4, 0, 1000, 0};
  r.variants.push_back(rr);
  r.warnings.clear();
  report::finalize(r);
  int risky = 0;
  for (const auto& w : r.warnings) {
    if (w.find("overflow int16") == std::string::npos) continue;
    risky++;
    EXPECT_EQ(w.rfind("static-int8: ", 0), 0u) << w;
    EXPECT_NE(w.find("(static-int8-rr has no such pair)"), std::string::npos) << w;
  }
  EXPECT_EQ(risky, 1);
}

TEST(ConsoleReporter, ExactOutput) {
  EXPECT_EQ(render(report::ConsoleReporter{}), kConsole);
}

TEST(MarkdownReporter, ExactOutput) {
  EXPECT_EQ(render(report::MarkdownReporter{}), kMarkdown);
}

TEST(CsvReporter, ExactOutput) {
  EXPECT_EQ(render(report::CsvReporter{}), kCsv);
}

TEST(JsonReporter, ExactOutput) {
  EXPECT_EQ(render(report::JsonReporter{}), kJson);
}

TEST(JsonReporter, VariantRoundTrips) {
  VariantResult v = fixture().variants[0];
  v.predictions = {3, 1, 4};
  const VariantResult back = report::variant_from_json(report::to_json(v, true));
  EXPECT_EQ(report::to_json(back, true), report::to_json(v, true));
  EXPECT_EQ(back.predictions, v.predictions);
}

TEST(HtmlReporter, SelfContainedWithPlotsTableAndMachine) {
  const std::string h = render(report::HtmlReporter{});
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(h.find("<svg class=\"plot\" id=\"scatter\""), std::string::npos);
  EXPECT_NE(h.find("<svg class=\"plot\" id=\"size\""), std::string::npos);
  EXPECT_NE(h.find("<svg class=\"plot\" id=\"speedup\""), std::string::npos);
  EXPECT_NE(h.find("<table id=\"results\">"), std::string::npos);
  EXPECT_NE(h.find("<dd>avx2 avx512f</dd>"), std::string::npos);
  EXPECT_NE(h.find("<tr class=\"front\"><td>static-int8</td><td>89.50%</td>"), std::string::npos);
  // Three points, one per variant.
  size_t circles = 0;
  for (size_t p = h.find("<circle"); p != std::string::npos; p = h.find("<circle", p + 1))
    ++circles;
  EXPECT_EQ(circles, 3u);
  // Nothing fetched from anywhere.
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("http"), std::string::npos);
  EXPECT_EQ(h.find("url("), std::string::npos);
}

// compare --peers: the peer rows and notes in every report. Cells checked by hand: 899/1000 =
// 89.90%, 998/1000 = 99.80%, qbench 2.0 ms / peer 2.5 ms = 0.80x.
TEST(Reporters, PeerRowsAndNotes) {
  report::CompareResults r = fixture();
  report::PeerResult p;
  p.engine = "onnxruntime 1.30.0";
  p.recipe = "fp32";
  p.rounds = 3;
  p.p50_ms = 2.5;
  p.qbench_p50_ms = 2.0;
  p.n = 1000;
  p.correct_top1 = 899;
  p.agreement = 0.998;
  r.peers = {p};
  r.peer_notes = {"PyTorch: no PyTorch module is known"};
  const std::string console = render(report::ConsoleReporter{}, r);
  EXPECT_NE(console.find("onnxruntime 1.30.0    fp32  89.90%  99.80%   2.500          2.000  0.80x"),
            std::string::npos)
      << console;
  EXPECT_NE(console.find("\npeer: PyTorch: no PyTorch module is known\n"), std::string::npos);
  const std::string md = render(report::MarkdownReporter{}, r);
  EXPECT_NE(md.find("| onnxruntime 1.30.0 | fp32 | 89.90% | 99.80% | 2.500 | 2.000 | 0.80x |"),
            std::string::npos)
      << md;
  const std::string html = render(report::HtmlReporter{}, r);
  EXPECT_NE(html.find("<tr class=\"peer\"><td>onnxruntime 1.30.0</td><td>fp32</td>"),
            std::string::npos);
  const auto j = nlohmann::json::parse(render(report::JsonReporter{}, r));
  ASSERT_EQ(j.at("peers").size(), 1u);
  EXPECT_EQ(j["peers"][0]["engine"], "onnxruntime 1.30.0");
  EXPECT_EQ(j["peers"][0]["correct_top1"], 899);
  EXPECT_DOUBLE_EQ(j["peers"][0]["top1"].get<double>(), 0.899);
  EXPECT_DOUBLE_EQ(j["peers"][0]["qbench_p50_ms"].get<double>(), 2.0);
  EXPECT_EQ(j["peer_notes"][0], "PyTorch: no PyTorch module is known");
  // The CSV keeps one row per variant: peers are not variants.
  EXPECT_EQ(render(report::CsvReporter{}, r), kCsv);
}

// compare under mpirun: the ranks and hosts, and each other host's own timing, in every report
// and through the variant cache (JSON round trip); none of it for a single process (the exact
// outputs above).
TEST(Reporters, MpiRanksHostsAndOtherHostsTimings) {
  report::CompareResults r = fixture();
  r.ranks = 4;
  r.hosts = {"node1: ranks 0-1", "node2: ranks 2-3"};
  bench::BenchResult b;
  b.latency_ms.p50 = 0.75;
  b.latency_ms.p99 = 1.5;
  b.images_per_second = 1234;
  r.variants[0].other_hosts = {{"node2", b}};
  const std::string line =
      "Evaluated by 4 MPI ranks, each on its share of the test images; hosts: node1: ranks 0-1; "
      "node2: ranks 2-3. Latency and throughput above are the first host's.";
  const std::string other =
      r.variants[0].recipe + " on node2: p50 0.750 ms, p99 1.500 ms, 1234 img/s";
  for (const std::string& text : {render(report::ConsoleReporter{}, r),
                                  render(report::MarkdownReporter{}, r),
                                  render(report::HtmlReporter{}, r)}) {
    EXPECT_NE(text.find(line), std::string::npos) << text;
    EXPECT_NE(text.find(other), std::string::npos) << text;
  }
  const auto j = nlohmann::json::parse(render(report::JsonReporter{}, r));
  EXPECT_EQ(j["ranks"], 4);
  EXPECT_EQ(j["hosts"][1], "node2: ranks 2-3");
  EXPECT_EQ(j["variants"][0]["other_hosts"][0]["host"], "node2");
  const VariantResult back = report::variant_from_json(report::to_json(r.variants[0], true));
  ASSERT_EQ(back.other_hosts.size(), 1u);
  EXPECT_EQ(back.other_hosts[0].host, "node2");
  EXPECT_DOUBLE_EQ(back.other_hosts[0].bench.latency_ms.p50, 0.75);
  EXPECT_DOUBLE_EQ(back.other_hosts[0].bench.images_per_second, 1234);
}
