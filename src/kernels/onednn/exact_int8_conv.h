#pragma once
// An exact int8 convolution for x86 CPUs whose int8 dot products saturate (AVX2 without VNNI).
//
// Without VNNI, oneDNN (and ONNX Runtime's MLAS) multiply u8 x s8 with vpmaddubsw, which sums
// each pair of products in int16 and saturates; qbench used to stay exact there by running two
// convolutions over 7-bit weight halves, twice the work. This kernel computes in int16 instead:
// activations minus their zero point (within [-255, 255]) and weights widened to int16, multiplied
// with vpmaddwd, which sums each pair in int32 and cannot overflow. On these CPUs vpmaddwd has
// the same throughput as vpmaddubsw, and vpmaddubsw needs a second vpmaddwd to widen its sums,
// so exact int16 products cost the same multiplier issue slots per multiply-accumulate as the
// saturating u8 x s8 path (benchmarks/peak/avx2_int8.c, results/exact-int8-avx2-*.txt).
//
// The convolution runs as a matrix product over NHWC data: each output pixel's receptive field
// (im2col, zero point subtracted, padding 0) times the weights packed once into panels of 16
// output channels, 6 pixels x 16 channels per register tile, then requantized in registers in
// the order of oneDNN's own int8 epilogue (loops.h Requantization), so outputs equal what one
// oneDNN primitive writes on a CPU with VNNI.
//
// Weights within [-64, 64] (a reduce-range file's) cannot saturate a pair sum, and for them with
// a uint8 source the same tiles multiply bytes (u8_products): vpmaddubsw, then vpmaddwd by ones
// to widen its pair sums, 32 multiply-accumulates per three instructions where int16 takes 16 per
// two (benchmarks/peak/avx2_int8.c: 144 vs 122 GMAC/s on Zen 5), on the source's own bytes
// (a 1x1 convolution packs nothing), with the zero point's share (zp x the channel's weight sum)
// subtracted in int32 before the epilogue, as oneDNN's compensation does.
//
// Full-range weights multiply bytes too where the source's values lie mostly below 128 (a zero
// point below kSplitMaxZeroPoint: ReLU outputs): each source byte is split into its low seven bits,
// whose pair sums with any int8 weights stay within int16 (2 x 127 x 128), and its high bit (0 or
// 128: pair sums within [-32768, 32512]). The packed rows hold the low bits; each row lists the
// quads where a high bit is set, and the tile multiplies those quads again as bytes of 128 or 0.
// In ResNet-50's int8 file (make_qdq.py's ranges, a random image) 0-7% of the quads that its
// layers read have one, 1.4% on average, so a layer costs the byte products and a few percent,
// not the int16 products' 1.25x; a source with every byte above 127 would cost twice the bytes.
//
// 7-bit weights over such a source split it too where the product is long (paired()):
// four products of a byte below 128 and a weight within [-64, 64] fit int16, so two quads'
// vpmaddubsw pair sums are added with vpaddw before one vpmaddwd widens them, five instructions
// per 64 multiply-accumulates instead of six (benchmarks/peak/avx2_int8.c: 1.2x), in a tile of
// two halves of three rows that keep the two quads' weights in registers.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/onednn/loops.h"

namespace qbench::kernels::onednn {

// A 2-D convolution over NHWC tensors (groups 1).
struct ExactConvShape {
  int64_t batch = 1, in_h = 0, in_w = 0, in_c = 0;
  int64_t out_h = 0, out_w = 0, out_c = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
};

class ExactInt8Conv {
 public:
  struct Epilogue;  // the requantization as the register tiles read it (exact_int8_conv.cpp)

  // True where the CPU has AVX2 (the kernel's instructions).
  static bool available();

  // `weights`: [out_c, in_c, kernel_h, kernel_w] int8 (ONNX layout); `x_zero_point` the source's
  // (uint8 or int8 per `signed_source`); `rq` the per-channel requantization into the output.
  // Shapes where winograd_applies() run as exact integer Winograd: F(4x4, 3x3) (4x fewer
  // multiplies) where winograd4_fits(), else F(2x2, 3x3) (2.25x fewer); the others as im2col
  // matrix products.
  // With `u8_products` (only where u8_products_apply()) it multiplies bytes: split where the
  // weights are not pair_safe(), paired where they are and the product is long; see above.
  ExactInt8Conv(const ExactConvShape& s, const int8_t* weights, int32_t x_zero_point,
                bool signed_source, Requantization rq, bool u8_products = false);
  static bool winograd_applies(const ExactConvShape& s);
  // Where the byte products apply and pay, over a uint8 source and not where Winograd applies:
  // weights within [-64, 64] with a 1x1 kernel or fewer than 16 source channels; full-range
  // weights (split source bytes) over 16 or more channels with a zero point below
  // kSplitMaxZeroPoint.
  static bool u8_products_apply(const ExactConvShape& s, std::span<const int8_t> weights,
                                bool signed_source, int32_t x_zero_point);
  static constexpr int32_t kSplitMaxZeroPoint = 64;
  // The receptive field of the paired byte products: at least this, or an eighth of it with 128
  // output channels or more.
  static constexpr int64_t kPairedMinK = 512;
  bool u8_products() const { return u8_; }
  bool split() const { return split_; }
  bool paired() const { return paired_; }
  // At least kWinograd4MinTiles 4x4 output tiles, and weights and a source range whose
  // convolution sums stay within 2^25 (F(4x4, 3x3) recovers them modulo 2^26).
  static bool winograd4_fits(const ExactConvShape& s, const int8_t* weights, int32_t x_zero_point,
                             bool signed_source);
  static constexpr int64_t kWinograd4MinTiles = 16;
  // The Winograd output tile's size (2 or 4), 0 for im2col.
  int winograd() const { return winograd_; }
  // F(4x4) on the AVX-512 VNNI tiles (vpdpwssd over 32-channel panels), where
  // vnni_winograd_applies() and winograd4_fits(): the CPU has them (own_vnni_kernels()) and the
  // output at least kVnniMinTiles 4x4 tiles. On such CPUs, where oneDNN's u8 x s8 products are
  // exact, these and vnni_direct()'s are the only layers qbench takes from oneDNN (qconv.cpp).
  bool vnni_winograd() const { return vnni_; }
  static bool vnni_winograd_applies(const ExactConvShape& s);
  static constexpr int64_t kVnniMinTiles = 32;
  // Sources of few channels (ResNet-50's stem: 3) on the VNNI tiles: u8 x s8 vpdpbusd read
  // straight from a zero-point-padded copy of the source, each kernel row's run of kernel_w x
  // in_c bytes a whole number of quads (the bytes past it meet zero weights), no im2col; 6 pixels
  // x 64 channels a register tile, each tile's requantization run while the next one multiplies.
  // Where the CPU has them (own_vnni_kernels()), over a uint8 source, a run of at most 32 bytes,
  // no dilation; these layers too qbench takes from oneDNN there.
  bool vnni_direct() const { return vnni_direct_; }
  static bool vnni_direct_applies(const ExactConvShape& s, bool signed_source);
  // Makes run() add the residual the output holds when it starts (a fused QLinearAdd, loops.h)
  // instead of writing the requantized convolution itself.
  void add_residual(const ResidualEpilogue& e) { residual_ = e; }

  // x: [batch, in_h, in_w, in_c] uint8/int8; y: [batch, out_h, out_w, out_c] uint8/int8 (rq).
  // Uses the calling thread's scratch slots 0 and 1 and the OpenMP threads.
  void run(const void* x, void* y) const;

 private:
  // Pixel p's receptive field, minus the zero point, into `row` (row_stride() int16: pairs_ * 2
  // and room for whole-vector writes).
  void pack_row(const uint8_t* x, int64_t p, int16_t* row) const;
  // The same from the whole source widened once (zero point subtracted), for few channels.
  void pack_row_widened(const int16_t* x, int64_t p, int16_t* row) const;
  // u8 products: pixel p's receptive field as bytes (quads_ x 4, the zero point in the padding).
  void pack_row_u8(const uint8_t* x, int64_t p, uint8_t* row) const;
  // Split products: pixel p's row of low bits into `row`, the quads with a high bit into `high`.
  void pack_row_split(const uint8_t* x, int64_t p, uint8_t* row, uint32_t* high) const;
  int64_t row_bytes_u8() const;
  const int32_t* compensation() const;  // null where the zero point is 0
  int64_t row_stride() const;
  // n source values minus the zero point; `end` is where the source tensor ends.
  void widen_run(const uint8_t* from, int16_t* to, int64_t n, const uint8_t* end) const;
  void run_gemm(const uint8_t* x, uint8_t* y) const;
  void run_gemm_u8(const uint8_t* x, uint8_t* y) const;
  template <int N>
  void run_winograd(const uint8_t* x, uint8_t* y) const;
  void run_winograd_vnni(const uint8_t* x, uint8_t* y) const;
  void run_direct_vnni(const uint8_t* x, uint8_t* y) const;
  Epilogue epilogue() const;

  ExactConvShape s_;
  int64_t k_ = 0, pairs_ = 0, panels_ = 0;
  int32_t x_zp_ = 0;
  bool signed_source_ = false;
  int winograd_ = 0;
  bool vnni_ = false;
  // VNNI direct products: the padded source's rows and columns, the byte offset of each of the
  // quads_ quads from a pixel's first one, and -zp x sum(w) per channel (where the sums start).
  bool vnni_direct_ = false;
  int64_t padded_h_ = 0, padded_w_ = 0;
  std::vector<int64_t> quad_offsets_;
  std::vector<int32_t> sums_start_;
  // u8 products: quads_ steps of 4 bytes per receptive field; `direct_` where the source's pixels
  // are the rows themselves (1x1, stride 1, no padding, channels a multiple of 4); `split_` for
  // full-range weights and paired ones (the rows are then always packed: their low bits).
  bool u8_ = false, direct_ = false, split_ = false, paired_ = false;
  int64_t quads_ = 0;
  // [panel][pair][16 channels][2] int16: each 32-byte row holds 8 channels' two weights of a
  // pair; with Winograd [panel][xi][pair of input channels][16][2], the transformed weights
  // (with vnni_, panels of 32 channels).
  std::vector<int16_t> weights_;
  // u8 products: [panel][quad][16 channels][4] int8, and per channel zp x its weights' sum.
  std::vector<int8_t> weights8_;
  std::vector<int32_t> compensation_;
  // Per channel, padded to whole panels.
  std::vector<float> bias_, scale_;
  Requantization rq_;
  std::optional<ResidualEpilogue> residual_;
};

// When QLinearConv (qconv.cpp) and QLinearMatMul/QGemm with a constant B (qmatmul.cpp) run on
// this kernel instead of oneDNN's: Auto where the CPU's int8 pair sums saturate (convolutions with
// full-range weights; 7-bit ones where it runs Winograd or u8_products_apply(); matmuls with any
// constant B), with byte products wherever u8_products_apply(). Tests force it (any AVX2 CPU, any
// weights) to compare it with oneDNN: Always in int16 products everywhere, AlwaysU8 with byte
// products where they apply; or turn it off.
enum class Int16Kernels { Auto, Always, AlwaysU8, Never };
void set_int16_kernels(Int16Kernels mode);
Int16Kernels int16_kernels();

// A Kernel running `conv` from its first input into its output; `op` ("convolution",
// "matmul") names what it computes in impl(). With a residual (ExactInt8Conv::add_residual), input
// `residual_input` is the residual: the output starts as it (in place where the plan allows).
std::unique_ptr<Kernel> make_exact_int8_kernel(std::unique_ptr<ExactInt8Conv> conv, const char* op,
                                               int residual_input = -1);

}  // namespace qbench::kernels::onednn
