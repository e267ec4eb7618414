#include "cli/quantize_options.h"

#include <filesystem>

#include "cli/common.h"
#include "core/error.h"

namespace qbench::cli {

quant::QuantizeOptions options_of(const QuantizeArgs& a) {
  quant::QuantizeOptions o;
  o.recipe = quant::parse_recipe(a.recipe);
  o.exclude = a.exclude;
  o.per_channel = !a.per_tensor;
  o.dynamic_conv = a.dynamic_conv;
  o.shapes = parse_shapes(a.shapes);
  o.range.method = quant::parse_range_method(a.range);
  if (!(a.percentile > 0 && a.percentile <= 100))
    fail("--percentile must be in (0, 100] (got {})", a.percentile);
  o.range.percentile = a.percentile;
  if (a.activations == "u8")
    o.activations = quant::ActType::U8Asymmetric;
  else if (a.activations == "s8")
    o.activations = quant::ActType::S8Symmetric;
  else
    fail("--activations must be u8 (asymmetric uint8) or s8 (symmetric int8), got '{}'",
         a.activations);
  if (a.bins < 256) fail("--bins must be at least 256 (got {})", a.bins);
  if (a.calib_size < 1) fail("--calib-size must be at least 1 (got {})", a.calib_size);
  if (a.calib_batch < 1) fail("--calib-batch must be at least 1 (got {})", a.calib_batch);
  if (a.threads < 1) fail("--threads must be at least 1 (got {})", a.threads);
  const bool weight_only =
      o.recipe == quant::Recipe::WeightOnlyInt8 || o.recipe == quant::Recipe::WeightOnlyInt4;
  if (a.group_size != -1 && !weight_only)
    fail("--group-size applies to the weight-only recipes, not {}", a.recipe);
  if (a.group_size != -1 && a.group_size != 0 && a.group_size != 32 && a.group_size != 64 &&
      a.group_size != 128)
    fail("--group-size must be 0 (per channel), 32, 64 or 128 (got {})", a.group_size);
  if (a.dynamic_conv && o.recipe != quant::Recipe::DynamicInt8)
    fail("--dynamic-conv applies to the dynamic-int8 recipe, not {}", a.recipe);
  if (a.reduce_range && o.recipe != quant::Recipe::DynamicInt8 && !quant::is_static_int8(o.recipe))
    fail("--reduce-range applies to the int8 recipes (static-int8, dynamic-int8), not {}",
         a.recipe);
  o.reduce_range = a.reduce_range;
  o.equalize = a.equalize;
  if (a.relu6_to_relu && !a.equalize) fail("--relu6-to-relu applies with --equalize");
  o.relu6_to_relu = a.relu6_to_relu;
  o.bias_correct = a.bias_correct;
  o.smooth_quant = a.smooth_quant;
  o.smooth_alpha = a.smooth_alpha;
  o.group_size = a.group_size;
  o.calib.data = a.calib_data;
  o.calib.size = a.calib_size;
  o.calib.batch = a.calib_batch;
  o.calib.seed = a.calib_seed;
  o.calib.threads = a.threads;
  o.calib.bins = a.bins;
  o.calib.image = a.image;
  o.calib.preprocess = preprocess_from_flags(a.mean, a.std);
  o.calib.progress = progress_printer("calibrate", false);
  o.calib_table = a.calib_table;
  o.save_calib_table = a.save_calib_table;
  if (quant::is_static_int8(o.recipe) && o.calib.data.empty() &&
      !(!a.calib_table.empty() && std::filesystem::exists(a.calib_table)))
    fail("static-int8 needs --calib-data (or an existing --calib-table)");
  if ((a.bias_correct || a.smooth_quant) && o.calib.data.empty())
    fail("{} measures each layer's input on calibration images: give --calib-data",
         a.bias_correct ? "--bias-correct" : "--smooth-quant");
  return o;
}

void add_quantize_options(CLI::App* c, QuantizeArgs& a, bool static_only) {
  c->add_option("--exclude", a.exclude, "Node names or op types that stay float (comma separated)")
      ->delimiter(',');
  c->add_flag("--per-tensor", a.per_tensor,
              "One scale per weight tensor instead of per output channel");
  if (!static_only)
    c->add_flag("--dynamic-conv", a.dynamic_conv, "dynamic-int8: also quantize Conv (ConvInteger)");
  c->add_flag("--reduce-range", a.reduce_range,
              "static-int8, dynamic-int8: 7-bit weights in [-64, 64], so u8 x s8 pair sums never "
              "overflow int16 on CPUs without VNNI (static-int8-rr is static-int8 with this)");
  c->add_flag("--equalize", a.equalize,
              "int8/int4 recipes: cross-layer equalization first (Nagel et al. 2019): balances the "
              "per-channel weight ranges of consecutive convolutions (through Relu/MaxPool) "
              "without changing the FP32 function; helps --per-tensor weights");
  c->add_flag("--relu6-to-relu", a.relu6_to_relu,
              "with --equalize: also equalize across Clip(0, M) (ReLU6, MobileNetV2), replacing "
              "it by Relu as Nagel et al. do; the float model then differs where an activation "
              "exceeded M");
  c->add_flag("--bias-correct", a.bias_correct,
              "static-int8: bias correction (Nagel et al. 2019): subtracts from each Conv/Gemm "
              "bias the mean shift its quantized weights cause, (W_q - W) E[x], with E[x] the "
              "layer input's channel means on the calibration images");
  c->add_flag("--smooth-quant", a.smooth_quant,
              "static-int8: SmoothQuant (Xiao et al. 2023): divides each channel of a "
              "LayerNormalization -> MatMul input by s = max|X|^alpha / max|W|^(1-alpha) (folded "
              "into the normalization) and multiplies the weight rows by it; same FP32 function, "
              "easier per-tensor activation ranges");
  c->add_option("--smooth-alpha", a.smooth_alpha, "static-int8 --smooth-quant: migration strength")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  c->add_option("--calib-data", a.calib_data,
                "static-int8: dataset whose TRAIN split calibrates (fashion-mnist, "
                "fashion-mnist:DIR, mnist:DIR, folder:DIR)");
  add_image_options(c, a.image);
  add_normalize_options(c, a.mean, a.std,
                        "; static-int8: normalises the calibration images (give what "
                        "evaluation will use)");
  c->add_option("--calib-size", a.calib_size,
                "static-int8: calibration images, drawn with a fixed seed")
      ->check(in_range(1, 10000000))
      ->capture_default_str();
  c->add_option("--calib-batch", a.calib_batch, "static-int8: images per calibration run")
      ->check(in_range(1, 65536))
      ->capture_default_str();
  c->add_option("--calib-seed", a.calib_seed, "static-int8: seed that draws the calibration images")
      ->capture_default_str();
  c->add_option("--range", a.range,
                "static-int8 range method: minmax, percentile, entropy (KL divergence, "
                "TensorRT-style) or mse")
      ->capture_default_str();
  c->add_option("--percentile", a.percentile, "percentile method: share of |x| kept, in percent")
      ->check(in_range(0, 100))
      ->capture_default_str();
  c->add_option("--bins", a.bins, "static-int8: histogram bins per tensor")
      ->check(in_range(256, 1048576))
      ->capture_default_str();
  c->add_option("--activations", a.activations,
                "static-int8 activations: u8 (asymmetric uint8) or s8 (symmetric int8)")
      ->capture_default_str();
  if (!static_only)
    c->add_option(
        "--group-size", a.group_size,
        "weight-only: group size along the reduction axis: 32, 64, 128, or 0 for one scale "
        "per output channel (default: 0 for int8, 32 for int4)");
  c->add_option("--calib-table", a.calib_table,
                "static-int8: calibration table; loaded instead of calibrating when the file "
                "exists, written after calibrating when it does not");
  c->add_option("--save-calib-table", a.save_calib_table,
                "static-int8: write the calibration table here");
  c->add_option(
       "--threads", a.threads,
       static_only ? "Threads for calibration and every kernel" : "Threads for calibration")
      ->check(in_range(1, 1024))
      ->capture_default_str();
  add_shape_option(c, a.shapes);
}

}  // namespace qbench::cli
