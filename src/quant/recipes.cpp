#include "quant/recipes.h"

#include <filesystem>
#include <set>

#include "core/error.h"
#include "engine/engine.h"
#include "kernels/kernel.h"
#include "passes/passes.h"
#include "quant/calib_table.h"
#include "quant/bias_correction.h"
#include "quant/equalize.h"
#include "quant/smooth_quant.h"
#include "quant/rewrites.h"
#include "quant/weights.h"

namespace qbench::quant {

namespace {

struct RecipeDef {
  Recipe recipe;
  const char* name;
  const char* description;
};

constexpr RecipeDef kRecipes[] = {
    {Recipe::Fp32, "fp32", "the model as it is (float32 weights and compute)"},
    {Recipe::Fp16, "fp16",
     "Conv/MatMul/Gemm weights stored as float16 initializers feeding Cast(to float); compute "
     "stays float32"},
    {Recipe::Bf16, "bf16",
     "Conv/MatMul/Gemm weights stored as bfloat16 initializers feeding Cast(to float); the "
     "engine may run these ops in bf16"},
    {Recipe::DynamicInt8, "dynamic-int8",
     "int8 MatMul/Gemm (and Conv with --dynamic-conv) weights; activations quantized per batch "
     "at run time (DynamicQuantizeLinear -> MatMulInteger/ConvInteger -> Cast -> Mul)"},
    {Recipe::StaticInt8, "static-int8",
     "QDQ post-training quantization: int8 weights, uint8/int8 activations with ranges "
     "calibrated on train images, int32 biases"},
    {Recipe::StaticInt8ReduceRange, "static-int8-rr",
     "static-int8 with reduce-range 7-bit weights in [-64, 64]: a bit of weight precision for "
     "files whose u8 x s8 pair sums never overflow int16 (exact and faster on CPUs without "
     "VNNI, and in runtimes that take that shortcut)"},
    {Recipe::WeightOnlyInt8, "weight-only-int8",
     "int8 MatMul/Gemm weights (per channel, or per group with --group-size) dequantized to "
     "float; activations and compute stay float32"},
    {Recipe::WeightOnlyInt4, "weight-only-int4",
     "int4 MatMul/Gemm weights in groups along the reduction axis (default 32), stored one value "
     "per int8 byte, dequantized to float; compute stays float32"},
};

const RecipeDef& def_of(Recipe r) {
  for (const auto& d : kRecipes)
    if (d.recipe == r) return d;
  return kRecipes[0];
}

std::string ints_input(ir::Graph& g, const ir::Node& n, const std::string& what,
                       const std::vector<int64_t>& v) {
  return add_initializer(g, n.name + "_" + what,
                         Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
}

void count_left_float(QuantizeResult& r, const std::vector<FloatNode>& nodes) {
  r.left_float.insert(r.left_float.end(), nodes.begin(), nodes.end());
}

}  // namespace

const char* recipe_name(Recipe r) {
  return def_of(r).name;
}
const char* recipe_description(Recipe r) {
  return def_of(r).description;
}

bool is_static_int8(Recipe r) {
  return r == Recipe::StaticInt8 || r == Recipe::StaticInt8ReduceRange;
}

std::vector<Recipe> all_recipes() {
  std::vector<Recipe> v;
  for (const auto& d : kRecipes) v.push_back(d.recipe);
  return v;
}

Recipe parse_recipe(const std::string& s) {
  std::vector<std::string> names;
  for (const auto& d : kRecipes) {
    if (s == d.name) return d.recipe;
    names.push_back(d.name);
  }
  fail("unknown recipe '{}' (expected one of {})", s, fmt::join(names, ", "));
}

bool has_integer_weights(Recipe r) {
  return r != Recipe::Fp32 && r != Recipe::Fp16 && r != Recipe::Bf16;
}

VariantSpec parse_variant(const std::string& s) {
  VariantSpec v;
  size_t plus = s.find('+');
  v.recipe = parse_recipe(s.substr(0, plus));
  while (plus != std::string::npos) {
    const size_t next = s.find('+', plus + 1);
    const std::string opt = s.substr(plus + 1, next == std::string::npos ? next : next - plus - 1);
    if (opt == "per-tensor")
      v.per_tensor = true;
    else if (opt == "equalize")
      v.equalize = true;
    else if (opt == "relu6-to-relu")
      v.relu6_to_relu = true;
    else if (opt == "bias-correct")
      v.bias_correct = true;
    else if (opt == "smooth-quant")
      v.smooth_quant = true;
    else
      fail("variant '{}': unknown option '{}' after '+' (expected per-tensor, equalize, "
           "relu6-to-relu, bias-correct or smooth-quant)",
           s, opt);
    plus = next;
  }
  if (v.equalize && !has_integer_weights(v.recipe))
    fail("variant '{}': equalize applies to the int8 and int4 recipes", s);
  if (v.relu6_to_relu && !v.equalize)
    fail("variant '{}': relu6-to-relu is an option of equalize (add +equalize)", s);
  if ((v.bias_correct || v.smooth_quant) && !is_static_int8(v.recipe))
    fail("variant '{}': {} applies to the static-int8 recipes", s,
         v.bias_correct ? "bias-correct" : "smooth-quant");
  return v;
}

bool upgrade_opset(ir::Graph& g, int64_t target, std::string& why) {
  const int64_t from = g.opset();
  if (from >= target) return true;
  if (from < 7) {
    why = fmt::format("opset {} predates numpy broadcasting (opset 7)", from);
    return false;
  }
  ir::Graph out = g;
  for (auto& n : out.nodes) {
    if (!n.domain.empty()) {
      why = fmt::format("{} is in domain '{}'", n.describe(), n.domain);
      return false;
    }
    // What the op's descriptor says about its form from opset 7 to 13.
    const kernels::OpTraits& traits = kernels::traits_of(n);
    const int64_t since = traits.form_changed_at;
    if (since < 0) {
      why = fmt::format("{}: qbench does not know whether op type {} changed up to opset {}",
                        n.describe(), n.op_type, target);
      return false;
    }
    if (!since || from >= since || target < since) continue;
    using FC = kernels::FormChange;
    const FC change = traits.form_change;
    if (change == FC::AxesToInput) {
      if (n.has_attr("axes")) {
        n.inputs.resize(1);
        n.inputs.push_back(ints_input(out, n, "axes", n.attr_ints("axes")));
        n.attrs.erase("axes");
      }
    } else if (change == FC::SplitToInput) {
      if (n.has_attr("split")) {
        n.inputs.resize(1);
        n.inputs.push_back(ints_input(out, n, "split", n.attr_ints("split")));
        n.attrs.erase("split");
      }
    } else if (change == FC::OneAxis) {
      // Before 13 the input is coerced to 2-D at `axis`; the same as one axis only for the last.
      const ir::Value* v = out.find(n.inputs[0]);
      const int64_t axis = n.attr_int("axis", 1);
      const int64_t rank = v && v->dims ? static_cast<int64_t>(v->dims->size()) : -1;
      if (rank < 0 || (axis < 0 ? axis + rank : axis) != rank - 1) {
        why = fmt::format("{}: axis {} is not the last axis of its rank-{} input", n.describe(),
                          axis, rank);
        return false;
      }
      n.attrs["axis"] = ir::Attribute::of_int(-1);
    } else if (change == FC::BoundsToInputs) {
      const float lo = n.attr_float("min", -3.402823466e38f),
                  hi = n.attr_float("max", 3.402823466e38f);
      n.attrs.erase("min");
      n.attrs.erase("max");
      n.inputs = {n.inputs[0], add_initializer(out, n.name + "_min", Tensor::scalar<float>(lo)),
                  add_initializer(out, n.name + "_max", Tensor::scalar<float>(hi))};
    } else if (change == FC::PadsToInputs) {
      const float value = n.attr_float("value", 0.0f);
      n.inputs = {n.inputs[0], ints_input(out, n, "pads", n.attr_ints("pads")),
                  add_initializer(out, n.name + "_value", Tensor::scalar<float>(value))};
      n.attrs.erase("pads");
      n.attrs.erase("value");
    } else if (change == FC::SliceToInputs) {
      std::vector<std::string> ins = {n.inputs[0],
                                      ints_input(out, n, "starts", n.attr_ints("starts")),
                                      ints_input(out, n, "ends", n.attr_ints("ends"))};
      if (n.has_attr("axes")) ins.push_back(ints_input(out, n, "axes", n.attr_ints("axes")));
      n.inputs = ins;
      n.attrs.erase("starts");
      n.attrs.erase("ends");
      n.attrs.erase("axes");
    }
  }
  out.opsets[""] = target;
  g = std::move(out);
  return true;
}

namespace {

// Calibrates `tensors` and appends their entries to the table.
CalibStats calibrate_into(CalibTable& table, const ir::Graph& g,
                          const std::vector<std::string>& tensors, const QdqPlan& plan,
                          const QuantizeOptions& opts) {
  CalibStats st = collect_statistics(g, tensors, opts.calib);
  for (const auto& t : tensors) {
    const Observer& obs = st.observers.at(t);
    const ActType act = plan.signed_sources.count(t) ? ActType::S8Symmetric : opts.activations;
    Range range = compute_range(obs, opts.range, act);
    table.entries.push_back({t, range_method_name(opts.range.method), range.min, range.max,
                             activation_qparams(range, act)});
  }
  return st;
}

}  // namespace

ir::Graph prepare_for_quantization(const ir::Graph& model,
                                   const std::map<std::string, Shape>& shapes) {
  ir::Graph g = model;
  // Nodes without a name get "<op>_<index>", so --exclude (and debug, tune) can name every one.
  std::set<std::string> names;
  for (const auto& n : g.nodes) names.insert(n.name);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!g.nodes[i].name.empty()) continue;
    std::string name = fmt::format("{}_{}", g.nodes[i].op_type, i);
    while (names.count(name)) name += "_";
    names.insert(name);
    g.nodes[i].name = name;
  }
  passes::remove_identity(g);
  passes::fold_constants(g, /*allow_growth=*/false);
  passes::fold_batchnorm(g);
  engine::infer_shapes(g, shapes);
  return g;
}

QuantizeResult quantize(const ir::Graph& model, const QuantizeOptions& opts) {
  QuantizeResult r;
  ir::Graph g = prepare_for_quantization(model, opts.shapes);
  if (opts.bias_correct && !is_static_int8(opts.recipe))
    fail("--bias-correct applies to the static-int8 recipes, not {}", recipe_name(opts.recipe));
  if (opts.smooth_quant && !is_static_int8(opts.recipe))
    fail("--smooth-quant applies to the static-int8 recipes, not {}", recipe_name(opts.recipe));
  if (opts.equalize) {
    if (!has_integer_weights(opts.recipe))
      fail("--equalize applies to the int8 and int4 recipes, not {}", recipe_name(opts.recipe));
    EqualizeOptions eo;
    eo.relu6_to_relu = opts.relu6_to_relu;
    const EqualizeReport eq = equalize_cross_layer(g, eo);
    r.notes.push_back(fmt::format(
        "cross-layer equalization: {} convolution pair{} balanced{}", eq.pairs,
        eq.pairs == 1 ? "" : "s",
        opts.relu6_to_relu ? fmt::format(", {} Clip(0, M) replaced by Relu (the float model "
                                         "changes where an activation exceeded M)",
                                         eq.clips_relu)
                           : ""));
  }
  if (opts.smooth_quant) {
    const SmoothQuantReport sq = smooth_quant(g, opts.calib, opts.smooth_alpha);
    r.notes.push_back(fmt::format(
        "SmoothQuant (alpha {}): {} LayerNormalization -> MatMul input{} smoothed{}",
        opts.smooth_alpha, sq.pairs, sq.pairs == 1 ? "" : "s",
        sq.worst.empty() ? ""
                         : fmt::format(" (largest channel {:.3g}x the median, after {})",
                                       sq.largest_ratio, sq.worst)));
  }
  const ir::Graph prepared = g;
  r.float_graph = prepared;

  // The lowest opset each recipe's ops need: per-axis DequantizeLinear (13), DynamicQuantizeLinear
  // (11), Q/DQ (10), Cast to/from bfloat16 (13).
  auto need_opset = [&](int64_t target, bool can_fall_back) {
    std::string why;
    if (g.opset() >= target) return true;
    const int64_t from = g.opset();
    if (upgrade_opset(g, target, why)) {
      r.notes.push_back(fmt::format("raised the opset import from {} to {}", from, target));
      return true;
    }
    if (!can_fall_back)
      fail("recipe {} needs opset {} but the model has opset {} and cannot be carried over: {}",
           recipe_name(opts.recipe), target, from, why);
    r.notes.push_back(
        fmt::format("kept opset {} ({}): weights use one scale per tensor", from, why));
    return false;
  };

  std::set<std::string> quantized;
  std::map<std::string, std::string> output_of;  // static-int8: node -> quantized output tensor
  std::map<std::string, std::string> source_of;  // static-int8: tensor -> its range's tensor
  const bool reduce_range = opts.reduce_range || opts.recipe == Recipe::StaticInt8ReduceRange;
  const int weight_qmax = reduce_range ? 64 : 127;
  switch (opts.recipe) {
    case Recipe::Fp32:
      break;
    case Recipe::Fp16:
    case Recipe::Bf16: {
      need_opset(opts.recipe == Recipe::Bf16 ? 13 : 7, false);
      RewriteReport rep =
          rewrite_half(g, opts.recipe == Recipe::Bf16 ? DType::BF16 : DType::F16, opts.exclude);
      quantized.insert(rep.quantized.begin(), rep.quantized.end());
      count_left_float(r, rep.left_float);
      r.notes.insert(r.notes.end(), rep.notes.begin(), rep.notes.end());
      break;
    }
    case Recipe::DynamicInt8: {
      need_opset(11, false);
      RewriteReport rep =
          rewrite_dynamic(g, opts.per_channel, opts.dynamic_conv, opts.exclude, weight_qmax);
      quantized.insert(rep.quantized.begin(), rep.quantized.end());
      count_left_float(r, rep.left_float);
      r.notes.insert(r.notes.end(), rep.notes.begin(), rep.notes.end());
      break;
    }
    case Recipe::WeightOnlyInt8:
    case Recipe::WeightOnlyInt4: {
      const int bits = opts.recipe == Recipe::WeightOnlyInt4 ? 4 : 8;
      int64_t group = opts.group_size >= 0 ? opts.group_size : (bits == 4 ? 32 : 0);
      bool per_channel = opts.per_channel;
      if (group == 0 && per_channel) per_channel = need_opset(13, true);
      need_opset(10, false);
      RewriteReport rep = rewrite_weight_only(g, bits, group, per_channel, opts.exclude);
      quantized.insert(rep.quantized.begin(), rep.quantized.end());
      count_left_float(r, rep.left_float);
      r.notes.insert(r.notes.end(), rep.notes.begin(), rep.notes.end());
      break;
    }
    case Recipe::StaticInt8:
    case Recipe::StaticInt8ReduceRange: {
      QdqOptions qo;
      qo.weight_qmax = weight_qmax;
      qo.per_channel = opts.per_channel && need_opset(13, true);
      need_opset(10, false);
      qo.activations = opts.activations;
      qo.exclude = opts.exclude;
      qo.exclude.insert(qo.exclude.end(), opts.bf16_nodes.begin(), opts.bf16_nodes.end());
      QdqPlan plan = plan_qdq(g, qo);
      if (opts.bias_correct) {
        const BiasCorrectionReport bc = correct_biases(g, plan, weight_qmax, opts.calib);
        r.notes.push_back(fmt::format(
            "bias correction: {} layer{} ({} given a bias){}", bc.layers, bc.layers == 1 ? "" : "s",
            bc.added_biases,
            bc.worst_layer.empty() ? ""
                                   : fmt::format(", largest shift {:.3g} of the bias range in {}",
                                                 bc.largest_shift, bc.worst_layer)));
        plan = plan_qdq(g, qo);  // the new biases join the plan
      }
      r.calibrated_tensors = plan.calibrated_tensors();
      CalibTable table;
      const bool load = !opts.calib_table.empty() && std::filesystem::exists(opts.calib_table);
      if (load) {
        table = load_calib_table(opts.calib_table);
        std::vector<std::string> missing;
        for (const auto& t : r.calibrated_tensors)
          if (!table.find(t)) missing.push_back(t);
        if (!missing.empty() && !opts.calibrate_missing)
          fail("calibration table '{}' lacks {} tensor{} this model needs: {}", opts.calib_table,
               missing.size(), missing.size() > 1 ? "s" : "", fmt::join(missing, ", "));
        r.calib_source = fmt::format("loaded from {}", opts.calib_table);
        if (!missing.empty()) {
          r.calib_seconds = calibrate_into(table, g, missing, plan, opts).seconds;
          r.calib_source += fmt::format(" ({} more calibrated)", missing.size());
        }
      } else {
        CalibStats st = calibrate_into(table, g, r.calibrated_tensors, plan, opts);
        r.calib_seconds = st.seconds;
        r.calib_source =
            fmt::format("calibrated on {} images of {} (train split, seed {}), {}", st.images,
                        st.dataset, opts.calib.seed, range_method_name(opts.range.method));
        if (!opts.calib_table.empty()) save_calib_table(table, opts.calib_table);
      }
      if (!opts.save_calib_table.empty()) save_calib_table(table, opts.save_calib_table);
      std::map<std::string, QParams> params;
      for (const auto& e : table.entries) params[e.tensor] = e.q;
      insert_qdq(g, plan, params, qo);
      std::set<std::string> qdq(plan.tensors.begin(), plan.tensors.end());
      source_of = plan.scale_source;
      for (const auto& it : plan.intents) {
        quantized.insert(prepared.nodes[it.node].name);
        if (qdq.count(it.output_tensor)) output_of[prepared.nodes[it.node].name] = it.output_tensor;
      }
      if (!opts.bf16_nodes.empty()) {
        need_opset(13, false);
        const std::set<std::string> half(opts.bf16_nodes.begin(), opts.bf16_nodes.end());
        std::vector<std::string> not_half;
        for (const auto& n : g.nodes)
          if (!half.count(n.name)) not_half.push_back(n.name);
        RewriteReport rep = rewrite_half(g, DType::BF16, not_half);
        r.bf16_nodes = rep.quantized;
        r.notes.insert(r.notes.end(), rep.notes.begin(), rep.notes.end());
        const std::set<std::string> done(rep.quantized.begin(), rep.quantized.end());
        std::erase_if(plan.left_float, [&](const FloatNode& f) { return done.count(f.name); });
      }
      count_left_float(r, plan.left_float);
      break;
    }
  }
  for (const auto& n : prepared.nodes) {
    if (!quantized.count(n.name)) continue;
    r.quantized_by_op[n.op_type]++;
    auto o = output_of.find(n.name);
    QuantizedNode qn{n.name, n.op_type, o == output_of.end() ? "" : o->second, ""};
    auto src = source_of.find(qn.output);
    if (src != source_of.end() && src->second != qn.output) qn.range_source = src->second;
    r.quantized_nodes.push_back(std::move(qn));
  }
  // Value types the input model did not record stay unrecorded: shape inference was only a means.
  std::set<std::string> io(g.inputs.begin(), g.inputs.end());
  io.insert(g.outputs.begin(), g.outputs.end());
  for (auto& [name, v] : g.values) {
    const ir::Value* before = model.find(name);
    // Values keep the dims the model declared (symbolic ones included: --shape only served
    // inference).
    if (before && before->dims && !v.is_constant()) v.dims = before->dims;
    if (v.is_constant() || io.count(name) || (before && before->dtype != DType::Undefined))
      continue;
    v.dtype = DType::Undefined;
    v.dims.reset();
  }
  g.metadata.emplace_back("qbench.recipe", recipe_name(opts.recipe));
  if (reduce_range) g.metadata.emplace_back("qbench.reduce_range", "1");
  // Preprocessing given explicitly (--mean/--std) travels with the variant, as the zoo's does,
  // so evaluating the saved file needs no flags the float model did not need.
  if (opts.calib.preprocess) {
    auto set = [&](const std::string& key, const std::vector<float>& v) {
      std::erase_if(g.metadata, [&](const auto& kv) { return kv.first == key; });
      g.metadata.emplace_back(key, fmt::format("{}", fmt::join(v, ",")));
    };
    set("qbench.mean", opts.calib.preprocess->mean);
    set("qbench.std", opts.calib.preprocess->std);
  }
  r.graph = std::move(g);
  return r;
}

}  // namespace qbench::quant
