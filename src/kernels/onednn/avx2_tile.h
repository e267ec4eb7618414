#pragma once
// What qbench's own AVX2 convolution kernels share (exact_int8_conv.cpp in int16, winograd_f32.cpp
// in f32): their register tile of 6 rows x 16 output channels, and the N x N output tiles of a
// 3x3 stride-1 convolution over NHWC tensors as the Winograd paths walk them (F(2x2, 3x3) in both,
// F(4x4, 3x3) in int16), in passes of whole register tiles whose transformed input rows stay in
// L2.
#include <algorithm>
#include <cstdint>

namespace qbench::kernels::onednn {

// The portable build has no AVX2: the kernels' inner functions are compiled for it and run only
// where ExactInt8Conv::available() or WinogradF32Conv::applies() said the CPU has it.
#define QBENCH_AVX2 __attribute__((target("avx2,fma")))

constexpr int kTileRows = 6;               // rows (pixels, tiles) per register tile
constexpr int kPanel = 16;                 // output channels per weight panel (two registers)
constexpr int kXi = 16;                    // positions of a 4x4 transformed tile
constexpr int64_t kRowsBytes = 512 << 10;  // packed rows per pass: about half of L2

// Rows per pass, a whole number of register tiles: all of them where their packed rows (`row_bytes`
// each) fit kRowsBytes, or fit twice that and the weights (`weight_bytes`) outweigh them, rather
// than stream every weight panel past two passes (16 MB of f32 Winograd weights at 512
// channels); else equal passes of at most kRowsBytes. Taking all rows up to twice kRowsBytes
// whatever the weights, the 56 x 56 int16 Winograd F(4x4) layer's 900 KB of transformed rows
// spilled from L2 while each of its four weight panels (73 KB) streamed past them: 548 us, in two
// passes 475-490 (benchmarks/exact_int8 u8 relu, 1 thread, Zen 4 as AVX2-only).
inline int64_t rows_per_pass(int64_t rows, int64_t row_bytes, int64_t weight_bytes) {
  const int64_t tiles = (rows + kTileRows - 1) / kTileRows;
  const int64_t fit = std::max<int64_t>(1, kRowsBytes / row_bytes / kTileRows);  // tiles a pass
  if (tiles <= fit || (tiles <= 2 * fit && weight_bytes > tiles * kTileRows * row_bytes))
    return tiles * kTileRows;
  const int64_t passes = (tiles + fit - 1) / fit;
  return (tiles + passes - 1) / passes * kTileRows;
}

// The loop of every qbench AVX2 product: `count` rows (pixels or Winograd tiles) in passes of
// `chunk`; in each pass pack(i, row) for its rows (i counted from the pass's first), then
// tile(panel, i0, row0, r) for each 16-channel panel x register tile of r <= 6 rows, over the
// OpenMP threads where `parallel`, panel-major on one thread. On several, each thread takes a
// share of whichever is larger in a pass, its packed rows (`row_bytes` each) or the weights
// (`weight_bytes` in all): rows where they are, the same rows it packed itself, which stay in its
// own core's cache (panel-major, every thread read every packed row, half of them from the other
// core: ResNet-50's 56x56 1x1 64->64 layer took 246 us at 2 threads against 152 at 1, exact int8
// as AVX2-only, the whole model 19.8 ms against ONNX Runtime's 17.4, now 17.5); panels where the
// weights are (the 7x7 layers' megabytes), so each thread streams only its own share of them.
template <typename Pack, typename Tile>
void run_passes(int64_t count, int64_t chunk, int64_t panels, bool parallel, int64_t row_bytes,
                int64_t weight_bytes, Pack&& pack, Tile&& tile) {
  const bool by_rows = parallel && std::min(chunk, count) * row_bytes > weight_bytes;
  for (int64_t row0 = 0; row0 < count; row0 += chunk) {
    const int64_t n = std::min(chunk, count - row0);
    const int64_t blocks = (n + kTileRows - 1) / kTileRows;
#pragma omp parallel if (parallel)
    {
#pragma omp for schedule(static)
      for (int64_t i = 0; i < n; ++i) pack(i, row0 + i);
#pragma omp for schedule(static)
      for (int64_t t = 0; t < panels * blocks; ++t) {
        const int64_t block = by_rows ? t / panels : t % blocks;
        const int64_t panel = by_rows ? t % panels : t / blocks;
        const int64_t i0 = block * kTileRows;
        tile(panel, i0, row0 + i0, int(std::min<int64_t>(kTileRows, n - i0)));
      }
    }
  }
}

// The N x N output tiles of a 3x3 stride-1 convolution over NHWC tensors, as Winograd F(NxN, 3x3)
// walks them, and each tile's (N + 2) x (N + 2) input patch.
template <int N>
struct WinogradTilesOf {
  static constexpr int kPatch = N + 2, kPositions = kPatch * kPatch, kOutputs = N * N;
  int64_t batch, in_h, in_w, out_h, out_w, pad_top, pad_left;

  int64_t across() const { return (out_w + N - 1) / N; }
  int64_t count() const { return batch * ((out_h + N - 1) / N) * across(); }

  // The input pixels of tile t's patch, as NHWC pixel indices (b * in_h + ih) * in_w + iw; -1 in
  // the padding.
  void patch(int64_t t, int64_t (&pixel)[kPositions]) const {
    int64_t b, oh, ow;
    origin(t, b, oh, ow);
    for (int q = 0; q < kPositions; ++q) {
      const int64_t ih = oh - pad_top + q / kPatch, iw = ow - pad_left + q % kPatch;
      pixel[q] = ih < 0 || ih >= in_h || iw < 0 || iw >= in_w ? -1 : (b * in_h + ih) * in_w + iw;
    }
  }
  // The same as pointers into NHWC data x with c channels; null in the padding.
  template <typename T>
  void patch(int64_t t, const T* x, int64_t c, const T* (&at)[kPositions]) const {
    int64_t pixel[kPositions];
    patch(t, pixel);
    for (int q = 0; q < kPositions; ++q) at[q] = pixel[q] < 0 ? nullptr : x + pixel[q] * c;
  }
  // Its N x N output pixels, (b * out_h + h) * out_w + w; -1 beyond the image's edge.
  void outputs(int64_t t, int64_t (&pixel)[kOutputs]) const {
    int64_t b, oh, ow;
    origin(t, b, oh, ow);
    for (int q = 0; q < kOutputs; ++q) {
      const int64_t h = oh + q / N, w = ow + q % N;
      pixel[q] = h < out_h && w < out_w ? (b * out_h + h) * out_w + w : -1;
    }
  }

 private:
  void origin(int64_t t, int64_t& b, int64_t& oh, int64_t& ow) const {
    const int64_t down = (out_h + N - 1) / N;
    b = t / (down * across());
    oh = t / across() % down * N;
    ow = t % across() * N;
  }
};
using WinogradTiles = WinogradTilesOf<2>;
static_assert(WinogradTiles::kPositions == kXi);

// How far ahead of the weights it multiplies the tile loop prefetches them, in bytes. In a whole
// model a layer's weights come from L3 or memory (every other layer ran in between), and int16
// weights are twice the int8 bytes: ResNet-50's layer-4 1x1 convolution (2 MB) took 520 us
// rerun and 580-620 us cold, its stride-2 3x3 (4.7 MB) 1350 cold; with 8 KB of prefetch
// 430 and 445-450 us, and 1040 (benchmarks/exact_int8, results/exact-int8-avx2-*). Whole
// model, AVX2-only: exact int8 b1 1T 1.02-1.03x ONNX Runtime -> 0.96-0.98x.
#ifndef QBENCH_WEIGHT_PREFETCH_BYTES  // -DQBENCH_WEIGHT_PREFETCH_BYTES=0: the loop as it was, for
                                      // comparison
#define QBENCH_WEIGHT_PREFETCH_BYTES 8192
#endif
#define QBENCH_STRINGIFY(x) #x
#define QBENCH_STRING(x) QBENCH_STRINGIFY(x)
#define QBENCH_WEIGHT_PREFETCH QBENCH_STRING(QBENCH_WEIGHT_PREFETCH_BYTES)

// The same for the partial tiles' loops in C++: one reduction step's 64 bytes of weights at w.
inline void prefetch_weights(const void* w) {
  __builtin_prefetch(static_cast<const char*>(w) + QBENCH_WEIGHT_PREFETCH_BYTES, 0, 3);
}

// The 6x16 register tile's loop in assembly, for a STEP(W0, W1, B) macro that multiplies one
// reduction step: weights at byte offsets W0 and W1 from %[w] (8 channels each, into ymm12 and
// ymm13), the six rows' values at byte offset B from %[p0] + {0, 1, 2} x %[s] and %[p3] + {0, 1,
// 2} x %[s], accumulated into ymm0-ymm11 (row r: ymm 2r and 2r + 1). Two steps per iteration
// (4 bytes of each row, 64 of weights per step), then the odd one; the twelve sums are stored at
// %[out]. Twelve accumulators, two weight registers, a broadcast and a product are all sixteen
// registers, which the compiler does not keep without spilling. Each iteration prefetches the
// weights QBENCH_WEIGHT_PREFETCH_BYTES ahead (past a panel's end: the next panel's).
#define QBENCH_TILE_LOOP(STEP) \
  "vxorps %%xmm0, %%xmm0, %%xmm0\n vxorps %%xmm1, %%xmm1, %%xmm1\n"                             \
  "vxorps %%xmm2, %%xmm2, %%xmm2\n vxorps %%xmm3, %%xmm3, %%xmm3\n"                             \
  "vxorps %%xmm4, %%xmm4, %%xmm4\n vxorps %%xmm5, %%xmm5, %%xmm5\n"                             \
  "vxorps %%xmm6, %%xmm6, %%xmm6\n vxorps %%xmm7, %%xmm7, %%xmm7\n"                             \
  "vxorps %%xmm8, %%xmm8, %%xmm8\n vxorps %%xmm9, %%xmm9, %%xmm9\n"                             \
  "vxorps %%xmm10, %%xmm10, %%xmm10\n vxorps %%xmm11, %%xmm11, %%xmm11\n"                       \
  "cmp $2, %[n]\n jb 3f\n"                                                                     \
  "1:\n" STEP("0", "32", "0") STEP("64", "96", "4")                                            \
  "prefetcht0 " QBENCH_WEIGHT_PREFETCH "(%[w])\n prefetcht0 " QBENCH_WEIGHT_PREFETCH "+64(%[w])\n" \
  "add $128, %[w]\n add $8, %[p0]\n add $8, %[p3]\n"                                            \
  "sub $2, %[n]\n cmp $2, %[n]\n jae 1b\n"                                                     \
  "3:\n test %[n], %[n]\n jz 2f\n" STEP("0", "32", "0") "2:\n"                                 \
  "vmovups %%ymm0, (%[out])\n vmovups %%ymm1, 32(%[out])\n"                                    \
  "vmovups %%ymm2, 64(%[out])\n vmovups %%ymm3, 96(%[out])\n"                                  \
  "vmovups %%ymm4, 128(%[out])\n vmovups %%ymm5, 160(%[out])\n"                                \
  "vmovups %%ymm6, 192(%[out])\n vmovups %%ymm7, 224(%[out])\n"                                \
  "vmovups %%ymm8, 256(%[out])\n vmovups %%ymm9, 288(%[out])\n"                                \
  "vmovups %%ymm10, 320(%[out])\n vmovups %%ymm11, 352(%[out])\n"

// The six rows' addresses at byte offset B, for a STEP's ROW(ADDR, ACC0, ACC1) macro.
#define QBENCH_TILE_ROWS(ROW, B)    \
  ROW(B "(%[p0])", "0", "1")        \
  ROW(B "(%[p0],%[s],1)", "2", "3") \
  ROW(B "(%[p0],%[s],2)", "4", "5") \
  ROW(B "(%[p3])", "6", "7")        \
  ROW(B "(%[p3],%[s],1)", "8", "9") \
  ROW(B "(%[p3],%[s],2)", "10", "11")

// The same passing the step's weight offsets on, for a ROW(ADDR, ACC0, ACC1, W0, W1) that reads
// its weights from memory.
#define QBENCH_TILE_ROWS_W(ROW, B, W0, W1)  \
  ROW(B "(%[p0])", "0", "1", W0, W1)        \
  ROW(B "(%[p0],%[s],1)", "2", "3", W0, W1) \
  ROW(B "(%[p0],%[s],2)", "4", "5", W0, W1) \
  ROW(B "(%[p3])", "6", "7", W0, W1)        \
  ROW(B "(%[p3],%[s],1)", "8", "9", W0, W1) \
  ROW(B "(%[p3],%[s],2)", "10", "11", W0, W1)

// Operands and clobbers of QBENCH_TILE_LOOP: p0 (rows 0-2), p3 (rows 3-5), w, n (steps) advance;
// any further arguments are more inputs the STEP reads.
#define QBENCH_TILE_OPERANDS(P0, P3, W, N, STRIDE_BYTES, OUT, ...)                           \
  : [p0] "+r"(P0), [p3] "+r"(P3), [w] "+r"(W), [n] "+r"(N)                                       \
  : [s] "r"(STRIDE_BYTES), [out] "r"(OUT)__VA_OPT__(, ) __VA_ARGS__                              \
  : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",     \
    "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory"

}  // namespace qbench::kernels::onednn
