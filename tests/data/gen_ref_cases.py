#!/usr/bin/python3
"""Writes the reference-kernel test cases in tests/data/ref_cases/ (read by ref_cases_test.cpp).

Two independent sources of expected outputs:
  * ONNX's own backend node tests (/usr/share/libonnx-testdata), converted as-is ("onnx_*").
  * PyTorch functional ops and numpy with fixed seeds ("torch_*", "np_*") for the cases the
    backend tests miss: groups, depthwise, dilation, 1-D conv, ceil_mode pools, opset variants,
    rounding ties, Mod sign rules, TopK ties, Einsum forms, scatter reductions, loss options.
  * "onnxdata_*": values derived by a stated formula from a backend test's expected output.

Case file format: text header lines, then "data\n", then raw little-endian bytes of every
input followed by every output, in header order.
  op <OpType>
  opset <n>
  attr <name> int <v> | float <v> | string <s> | ints <n> <v...> | floats <n> <v...>
       | strings <n> <s...>
       | tensor <dtype> <rank> <dims...> <values...>
  input <dtype> <rank> <dims...>      (or "input none" for an omitted optional input)
  output <dtype> <rank> <dims...>
  tol <atol> <rtol>
  expect error                        (qbench must reject the case with an Error naming the node)
Run: /usr/bin/python3 tests/data/gen_ref_cases.py   (rewrites the directory).
Only the quantization cases: /usr/bin/python3 -c "import gen_ref_cases as g; g.convert_backend(g.QUANT_PREFIXES)"
  (run in tests/data).
"""
import os
import glob
import numpy as np
import torch
import torch.nn.functional as F
import onnx
from onnx import numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref_cases")
BACKEND = "/usr/share/libonnx-testdata/data/node"
DT = {np.float32: "f32", np.float64: "f64", np.float16: "f16", np.int64: "i64", np.int32: "i32",
      np.int8: "i8", np.uint8: "u8", np.bool_: "bool", np.int16: "i16", np.uint16: "u16",
      np.uint32: "u32", np.uint64: "u64"}


def dt_name(a):
    for k, v in DT.items():
        if a.dtype == k:
            return v
    return None


def fmt_attr(name, v):
    if isinstance(v, bool) or isinstance(v, (int, np.integer)):
        return f"attr {name} int {int(v)}"
    if isinstance(v, float):
        return f"attr {name} float {v!r}"
    if isinstance(v, str):
        return f"attr {name} string {v}"
    if isinstance(v, np.ndarray):
        vals = " ".join(repr(x.item()) if v.dtype.kind == "f" else str(int(x)) for x in v.flatten())
        return f"attr {name} tensor {dt_name(v)} {v.ndim} {' '.join(map(str, v.shape))} {vals}".rstrip()
    v = list(v)
    if v and all(isinstance(x, str) for x in v):
        return f"attr {name} strings {len(v)} {' '.join(v)}"
    if all(isinstance(x, (int, np.integer)) for x in v):
        return f"attr {name} ints {len(v)} {' '.join(str(int(x)) for x in v)}".rstrip()
    return f"attr {name} floats {len(v)} {' '.join(repr(float(x)) for x in v)}".rstrip()


def tensor_line(kind, a):
    if a is None:
        return f"{kind} none"
    return f"{kind} {dt_name(a)} {a.ndim} {' '.join(map(str, a.shape))}".rstrip()


def write_case(name, op, opset, attrs, inputs, outputs, atol=1e-5, rtol=1e-4, expect_error=False):
    inputs = [None if x is None else np.asarray(x, order="C") for x in inputs]
    outputs = [np.asarray(x, order="C") for x in outputs]
    lines = [f"op {op}", f"opset {opset}"]
    if expect_error:
        lines.append("expect error")
    lines += [fmt_attr(k, v) for k, v in attrs.items()]
    lines += [tensor_line("input", x) for x in inputs]
    lines += [tensor_line("output", x) for x in outputs]
    lines += [f"tol {atol} {rtol}", "data"]
    with open(os.path.join(OUT, name + ".case"), "wb") as f:
        f.write(("\n".join(lines) + "\n").encode())
        for x in inputs + outputs:
            if x is not None:
                f.write(x.astype(x.dtype.newbyteorder("<")).tobytes())


# ---------------------------------------------------------------- ONNX backend tests
BACKEND_PREFIXES = [
    "conv_", "maxpool_", "averagepool_", "globalaveragepool", "globalmaxpool", "gemm_", "matmul_",
    "softmax_", "logsoftmax_", "layer_normalization_", "batchnorm_", "reduce_mean", "reduce_sum",
    "reduce_max", "reduce_min", "argmax_", "concat_", "reshape_", "flatten_", "transpose_",
    "squeeze", "unsqueeze", "gather_", "shape", "slice", "split_", "constant", "expand_",
    "cast_", "range_", "tile", "constant_pad", "edge_pad", "reflect_pad", "clip", "gelu",
    "hardswish", "hardsigmoid", "where_", "pow", "equal", "less", "greater", "and", "or", "not_",
    "max_", "min_", "elu", "softplus", "erf", "leakyrelu", "dropout_default", "identity",
    "relu", "sigmoid", "tanh", "sqrt", "exp", "log", "neg", "abs", "reciprocal", "add", "sub",
    "mul", "div",
]
# Quantization ops compute on u8/i8/i32 by definition, so they are exempt from the CORE check.
QUANT_PREFIXES = ["quantizelinear", "dequantizelinear", "dynamicquantizelinear", "matmulinteger",
                  "basic_convinteger", "convinteger", "qlinearconv", "qlinearmatmul"]
QUANT_OPS = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
             "ConvInteger", "QLinearConv", "QLinearMatMul"}
BACKEND_PREFIXES += QUANT_PREFIXES
SKIP_WORDS = ["expanded", "training", "argmax_2d", "_opt", "sequence", "random_old", "log_sum",
              "reduce_log", "sum_square", "greater_equal", "less_equal", "elements"]
SUPPORTED = {"f32", "i64", "i32", "bool", "f16", "f64", "i8", "u8"}
CORE = {"f32", "i64", "i32", "bool"}
# Ops whose reference computes in every numeric dtype (f16/bf16 through f32), not only CORE.
ALL_DTYPE_OPS = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Clip", "Relu",
                 "Neg", "Abs", "Equal", "Less", "Greater", "Where"}

# Ops that also take uint8/int8 (MaxPool since opset 12).
INT8_DTYPE_OPS = {"MaxPool": {"u8", "i8"}}


def convert_backend(prefixes=None):
    prefixes = prefixes or BACKEND_PREFIXES
    count = 0
    for d in sorted(glob.glob(os.path.join(BACKEND, "test_*"))):
        base = os.path.basename(d)[5:]
        if not any(base.startswith(p) for p in prefixes):
            continue
        if any(w in base for w in SKIP_WORDS) or base.startswith("transpose_all"):
            continue
        model_path = os.path.join(d, "model.onnx")
        ds = os.path.join(d, "test_data_set_0")
        if not os.path.exists(model_path) or not os.path.isdir(ds):
            continue
        m = onnx.load(model_path)
        if len(m.graph.node) != 1 or m.graph.node[0].domain not in ("", "ai.onnx"):
            continue
        node = m.graph.node[0]
        opset = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
        attrs = {}
        ok = True
        for a in node.attribute:
            v = onnx.helper.get_attribute_value(a)
            if a.type == onnx.AttributeProto.TENSOR:
                v = numpy_helper.to_array(v)
                if dt_name(v) is None:
                    ok = False
            elif a.type == onnx.AttributeProto.STRING:
                v = v.decode()
            elif a.type not in (onnx.AttributeProto.INT, onnx.AttributeProto.FLOAT,
                                onnx.AttributeProto.INTS, onnx.AttributeProto.FLOATS):
                ok = False
            attrs[a.name] = v
        def load(kind, n):
            p = os.path.join(ds, f"{kind}_{n}.pb")
            t = onnx.TensorProto()
            with open(p, "rb") as f:
                t.ParseFromString(f.read())
            return numpy_helper.to_array(t)
        # Inputs are matched to node inputs by position; omitted optional ones are "".
        inputs, k = [], 0
        for name in node.input:
            if name == "":
                inputs.append(None)
            else:
                inputs.append(load("input", k))
                k += 1
        outputs = [load("output", i) for i in range(len(node.output))]
        arrays = [x for x in inputs + outputs if x is not None]
        if not ok or any(dt_name(x) not in SUPPORTED for x in arrays):
            continue
        if sum(x.nbytes for x in arrays) > 12000:
            continue
        if node.op_type == "Cast" and any(dt_name(x) not in SUPPORTED for x in arrays):
            continue
        # Outside Cast, qbench computes in f32, i32, i64 and bool only; other dtypes must be
        # rejected with a clear error rather than computed.
        allowed = CORE | INT8_DTYPE_OPS.get(node.op_type, set())
        unsupported = node.op_type not in QUANT_OPS | ALL_DTYPE_OPS | {"Cast"} and any(
            dt_name(x) not in allowed for x in arrays)
        write_case("onnx_" + base, node.op_type, opset, attrs, inputs, outputs,
                   expect_error=unsupported)
        count += 1
    return count


# ---------------------------------------------------------------- torch / numpy cases
def rnd(*shape, seed=0):
    g = np.random.default_rng(seed)
    return g.standard_normal(shape).astype(np.float32)


def same_pads(in_sz, k, s, d, lower):
    out = -(-in_sz // s)
    total = max(0, (out - 1) * s + (k - 1) * d + 1 - in_sz)
    small = total // 2
    return (total - small, small) if lower else (small, total - small)


def torch_conv_cases():
    n = 0
    def conv(name, x, w, b, stride, pads, dil, group, attrs):
        # pads: ONNX order [b0, b1, e0, e1] (or [b, e] for 1-D); applied with F.pad.
        xt = torch.from_numpy(x).double()
        nd = x.ndim - 2
        fp = []
        for i in reversed(range(nd)):
            fp += [pads[i], pads[i + nd]]
        xt = F.pad(xt, fp)
        f = F.conv1d if nd == 1 else F.conv2d
        y = f(xt, torch.from_numpy(w).double(), None if b is None else torch.from_numpy(b).double(),
              stride=stride, dilation=dil, groups=group).float().numpy()
        write_case("torch_conv_" + name, "Conv", 11, attrs, [x, w] + ([b] if b is not None else []), [y])
    x = rnd(2, 4, 7, 6, seed=1)
    conv("stride2_pad1", x, rnd(5, 4, 3, 3, seed=2), rnd(5, seed=3), (2, 2), [1, 1, 1, 1], 1, 1,
         {"strides": [2, 2], "pads": [1, 1, 1, 1], "kernel_shape": [3, 3]})
    conv("groups2_dil2", x, rnd(6, 2, 3, 2, seed=4), None, (1, 1), [0, 1, 2, 0], (2, 2), 2,
         {"group": 2, "dilations": [2, 2], "pads": [0, 1, 2, 0]})
    conv("depthwise", x, rnd(4, 1, 3, 3, seed=5), rnd(4, seed=6), (1, 2), [1, 1, 1, 1], 1, 4,
         {"group": 4, "strides": [1, 2], "pads": [1, 1, 1, 1]})
    conv("depthwise_mult2", x, rnd(8, 1, 3, 3, seed=7), rnd(8, seed=8), (2, 1), [1, 0, 1, 0], 1, 4,
         {"group": 4, "strides": [2, 1], "pads": [1, 0, 1, 0]})
    for mode in ["SAME_UPPER", "SAME_LOWER"]:
        ph = same_pads(7, 3, 2, 1, mode == "SAME_LOWER")
        pw = same_pads(6, 4, 2, 1, mode == "SAME_LOWER")
        conv("auto_" + mode.lower(), x, rnd(3, 4, 3, 4, seed=9), None, (2, 2), [ph[0], pw[0], ph[1], pw[1]],
             1, 1, {"auto_pad": mode, "strides": [2, 2]})
    conv("auto_valid", x, rnd(3, 4, 2, 3, seed=10), rnd(3, seed=11), (2, 2), [0, 0, 0, 0], 1, 1,
         {"auto_pad": "VALID", "strides": [2, 2]})
    x1 = rnd(2, 3, 11, seed=12)
    conv("1d", x1, rnd(4, 3, 3, seed=13), rnd(4, seed=14), (2,), [1, 2], (2,), 1,
         {"strides": [2], "pads": [1, 2], "dilations": [2]})
    conv("1d_groups", x1, rnd(6, 1, 5, seed=15), None, (1,), [2, 2], (1,), 3,
         {"group": 3, "pads": [2, 2]})
    conv("pointwise", rnd(1, 8, 5, 5, seed=16), rnd(16, 8, 1, 1, seed=17), rnd(16, seed=18), (1, 1),
         [0, 0, 0, 0], 1, 1, {})
    return 10


def torch_pool_cases():
    x = rnd(2, 3, 7, 8, seed=20)
    xt = torch.from_numpy(x)
    def pads_attr(p):
        return [p[0], p[1], p[0], p[1]]
    cases = [
        ("k3s2", dict(kernel_size=(3, 3), stride=(2, 2), padding=(0, 0)), False),
        ("k3s2_pad1_ceil", dict(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True), False),
        ("k2s2_ceil", dict(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=True), False),
        ("k3s1_pad1", dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1)), False),
    ]
    for name, kw, _ in cases:
        attrs = {"kernel_shape": list(kw["kernel_size"]), "strides": list(kw["stride"]),
                 "pads": pads_attr(kw["padding"]), "ceil_mode": int(kw.get("ceil_mode", False))}
        y = F.max_pool2d(xt, **kw).numpy()
        write_case("torch_maxpool_" + name, "MaxPool", 12, attrs, [x], [y])
        for cip in [0, 1]:
            y = F.avg_pool2d(xt.double(), count_include_pad=bool(cip), **kw).float().numpy()
            write_case(f"torch_avgpool_{name}_cip{cip}", "AveragePool", 11,
                       dict(attrs, count_include_pad=cip), [x], [y])
    y = F.max_pool2d(xt, kernel_size=3, stride=1, padding=1, dilation=2).numpy()
    write_case("torch_maxpool_dil2", "MaxPool", 12,
               {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "dilations": [2, 2]}, [x], [y])
    x1 = rnd(2, 3, 10, seed=21)
    y = F.max_pool1d(torch.from_numpy(x1), 3, 2, 1, ceil_mode=True).numpy()
    write_case("torch_maxpool_1d_ceil", "MaxPool", 12,
               {"kernel_shape": [3], "strides": [2], "pads": [1, 1], "ceil_mode": 1}, [x1], [y])
    y = F.avg_pool1d(torch.from_numpy(x1), 4, 3, 2, ceil_mode=True, count_include_pad=True).numpy()
    write_case("torch_avgpool_1d_ceil_cip1", "AveragePool", 11,
               {"kernel_shape": [4], "strides": [3], "pads": [2, 2], "ceil_mode": 1,
                "count_include_pad": 1}, [x1], [y])
    y = F.adaptive_avg_pool2d(xt, 1).numpy()
    write_case("torch_global_avgpool", "GlobalAveragePool", 11, {}, [x], [y])
    y = F.adaptive_max_pool2d(xt, 1).numpy()
    write_case("torch_global_maxpool", "GlobalMaxPool", 11, {}, [x], [y])


def dense_cases():
    a, b = rnd(3, 5, seed=30), rnd(5, 4, seed=31)
    for ta in [0, 1]:
        for tb in [0, 1]:
            A = a.T.copy() if ta else a
            B = b.T.copy() if tb else b
            for cname, c in [("cN", rnd(4, seed=32)), ("cM1", rnd(3, 1, seed=33)),
                             ("cscalar", np.array(0.5, np.float32)), ("noC", None)]:
                y = 0.7 * (a.astype(np.float64) @ b.astype(np.float64))
                if c is not None:
                    y = y + 1.3 * c.astype(np.float64)
                write_case(f"np_gemm_ta{ta}_tb{tb}_{cname}", "Gemm", 13,
                           {"alpha": 0.7, "beta": 1.3, "transA": ta, "transB": tb},
                           [A, B] + ([c] if c is not None else []), [y.astype(np.float32)])
    for name, sa, sb in [("2x3d", (2, 3, 4, 5), (5, 6)), ("bcast", (2, 1, 3, 4), (5, 4, 2)),
                         ("vec_mat", (4,), (2, 4, 3)), ("mat_vec", (2, 3, 4), (4,)),
                         ("vec_vec", (4,), (4,)), ("2d", (7, 9), (9, 3))]:
        A, B = rnd(*sa, seed=34), rnd(*sb, seed=35)
        y = torch.matmul(torch.from_numpy(A).double(), torch.from_numpy(B).double()).float().numpy()
        write_case("torch_matmul_" + name, "MatMul", 13, {}, [A, B], [np.asarray(y, np.float32)])


def activation_cases():
    x = rnd(3, 17, seed=40) * 3
    xt = torch.from_numpy(x)
    acts = [
        ("Relu", {}, F.relu(xt)), ("Sigmoid", {}, torch.sigmoid(xt)), ("Tanh", {}, torch.tanh(xt)),
        ("LeakyRelu", {"alpha": 0.1}, F.leaky_relu(xt, 0.1)),
        ("HardSigmoid", {}, torch.clamp(0.2 * xt + 0.5, 0, 1)),
        ("HardSwish", {}, F.hardswish(xt)), ("Gelu", {}, F.gelu(xt)),
        ("Gelu", {"approximate": "tanh"}, F.gelu(xt, approximate="tanh")),
        ("Erf", {}, torch.erf(xt)), ("Exp", {}, torch.exp(xt)), ("Neg", {}, -xt),
        ("Abs", {}, xt.abs()), ("Elu", {"alpha": 0.5}, F.elu(xt, 0.5)),
        ("Softplus", {}, F.softplus(xt)),
    ]
    for i, (op, attrs, y) in enumerate(acts):
        write_case(f"torch_act_{op.lower()}_{i}", op, 20 if op == "Gelu" else 14, attrs, [x], [y.numpy()])
    xp = np.abs(x) + 0.1
    for op, f in [("Log", np.log), ("Sqrt", np.sqrt), ("Reciprocal", lambda v: 1 / v)]:
        write_case(f"np_act_{op.lower()}", op, 13, {}, [xp], [f(xp.astype(np.float64)).astype(np.float32)])
    write_case("np_clip_opset6", "Clip", 6, {"min": -1.0, "max": 2.0}, [x], [np.clip(x, -1, 2)])
    write_case("np_clip_opset13_min_only", "Clip", 13, {}, [x, np.array(-0.5, np.float32)],
               [np.maximum(x, -0.5)])
    write_case("np_clip_opset13_max_only", "Clip", 13, {}, [x, None, np.array(0.5, np.float32)],
               [np.minimum(x, 0.5)])
    xi = np.arange(-5, 7, dtype=np.int64).reshape(3, 4)
    write_case("np_clip_opset13_i64", "Clip", 13, {}, [xi, np.array(-2, np.int64), np.array(3, np.int64)],
               [np.clip(xi, -2, 3)])


def norm_cases():
    x = rnd(2, 3, 4, 5, seed=50) * 2
    xt = torch.from_numpy(x)
    for axis in [1, 3, -1]:
        for log in [False, True]:
            op = "LogSoftmax" if log else "Softmax"
            f = F.log_softmax if log else F.softmax
            # opset 13: along one axis.
            y = f(xt.double(), dim=axis).float().numpy()
            write_case(f"torch_{op.lower()}_op13_axis{axis}", op, 13, {"axis": axis}, [x], [y])
            # opset 11: coerced to 2-D at axis.
            ax = axis % 4
            flat = xt.double().reshape(int(np.prod(x.shape[:ax])), -1)
            y = f(flat, dim=1).reshape(x.shape).float().numpy()
            write_case(f"torch_{op.lower()}_op11_axis{axis}", op, 11, {"axis": axis}, [x], [y])
    y = F.softmax(xt.double().reshape(2, -1), dim=1).reshape(x.shape).float().numpy()
    write_case("torch_softmax_op11_default", "Softmax", 11, {}, [x], [y])
    y = F.softmax(xt.double(), dim=-1).float().numpy()
    write_case("torch_softmax_op13_default", "Softmax", 13, {}, [x], [y])
    for axis, shp in [(-1, (5,)), (-2, (4, 5)), (1, (3, 4, 5))]:
        s, b = rnd(*shp, seed=51), rnd(*shp, seed=52)
        y = F.layer_norm(xt.double(), shp, torch.from_numpy(s).double(), torch.from_numpy(b).double(),
                         eps=1e-5).float().numpy()
        write_case(f"torch_layernorm_axis{axis}", "LayerNormalization", 17, {"axis": axis}, [x, s, b], [y])
    s = rnd(5, seed=53)
    y = F.layer_norm(xt.double(), (5,), torch.from_numpy(s).double(), None, eps=1e-3).float().numpy()
    write_case("torch_layernorm_nobias_eps", "LayerNormalization", 17, {"epsilon": 1e-3}, [x, s], [y])
    sc, bi, mu = rnd(3, seed=54), rnd(3, seed=55), rnd(3, seed=56)
    var = np.abs(rnd(3, seed=57)) + 0.5
    y = F.batch_norm(xt.double(), torch.from_numpy(mu).double(), torch.from_numpy(var).double(),
                     torch.from_numpy(sc).double(), torch.from_numpy(bi).double(), False, 0.0, 1e-3).float().numpy()
    write_case("torch_batchnorm", "BatchNormalization", 15, {"epsilon": 1e-3}, [x, sc, bi, mu, var], [y])


def binary_cases():
    g = np.random.default_rng(60)
    shapes = [((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (2, 2)), ((3, 1, 5), (1, 4, 1))]
    for i, (sa, sb) in enumerate(shapes):
        a = g.standard_normal(sa).astype(np.float32)
        b = g.standard_normal(sb).astype(np.float32) + 3
        for op, f in [("Add", np.add), ("Sub", np.subtract), ("Mul", np.multiply), ("Div", np.divide)]:
            write_case(f"np_{op.lower()}_bcast{i}", op, 14, {}, [a, b], [f(a, b).astype(np.float32)])
        write_case(f"np_less_bcast{i}", "Less", 13, {}, [a, b - 3], [a < b - 3])
        write_case(f"np_greater_bcast{i}", "Greater", 13, {}, [a, b - 3], [a > b - 3])
    ai = g.integers(-20, 20, (3, 4)).astype(np.int64)
    bi = g.integers(1, 6, (4,)).astype(np.int64) * np.array([1, -1, 1, -1])
    write_case("np_div_i64_trunc", "Div", 14, {}, [ai, bi], [np.trunc(ai / bi).astype(np.int64)])
    ai32, bi32 = ai.astype(np.int32), bi.astype(np.int32)
    write_case("np_mul_i32", "Mul", 14, {}, [ai32, bi32], [ai32 * bi32])
    write_case("np_add_i64", "Add", 14, {}, [ai, bi], [ai + bi])
    write_case("np_equal_i64", "Equal", 13, {}, [ai, np.array([3], np.int64)], [ai == 3])
    a, b = g.standard_normal((2, 3)).astype(np.float32), g.standard_normal((3,)).astype(np.float32)
    c = g.standard_normal((2, 1)).astype(np.float32)
    write_case("np_max_variadic", "Max", 13, {}, [a, b, c], [np.maximum(np.maximum(a, b), c)])
    write_case("np_min_variadic", "Min", 13, {}, [a, b, c], [np.minimum(np.minimum(a, b), c)])
    cond = g.integers(0, 2, (2, 1, 3)).astype(np.bool_)
    write_case("np_where_bcast", "Where", 16, {}, [cond, a, b], [np.where(cond, a, b)])
    p = np.abs(a) + 0.5
    write_case("np_pow_f32", "Pow", 15, {}, [p, b], [np.power(p, b)])
    write_case("np_pow_i64_exp", "Pow", 15, {}, [p, np.array(2, np.int64)], [np.power(p, 2).astype(np.float32)])
    l1, l2 = g.integers(0, 2, (2, 3)).astype(np.bool_), g.integers(0, 2, (3,)).astype(np.bool_)
    write_case("np_and_bcast", "And", 7, {}, [l1, l2], [l1 & l2])
    write_case("np_or_bcast", "Or", 7, {}, [l1, l2], [l1 | l2])


def reduce_cases():
    x = rnd(2, 3, 4, seed=70)
    for op, f in [("ReduceMean", np.mean), ("ReduceSum", np.sum), ("ReduceMax", np.max), ("ReduceMin", np.min)]:
        for axes, keep in [([1], 1), ([0, 2], 0), ([-1], 1), (None, 0)]:
            ax = None if axes is None else tuple(axes)
            y = f(x.astype(np.float64), axis=ax, keepdims=bool(keep)).astype(np.float32)
            tag = "all" if axes is None else "_".join(str(a) for a in axes)
            # Attribute form (opset 13; for ReduceSum opset 11) and input form (opset 18).
            attr_opset = 11 if op == "ReduceSum" else 13
            attrs = {"keepdims": keep}
            if axes is not None:
                attrs["axes"] = axes
            write_case(f"np_{op.lower()}_attr_{tag}_k{keep}", op, attr_opset, attrs, [x], [y])
            ins = [x] if axes is None else [x, np.array(axes, np.int64)]
            write_case(f"np_{op.lower()}_input_{tag}_k{keep}", op, 18, {"keepdims": keep}, ins, [y])
    write_case("np_reducesum_noop_empty_axes", "ReduceSum", 13, {"noop_with_empty_axes": 1}, [x], [x])
    xi = np.random.default_rng(71).integers(-9, 9, (3, 5)).astype(np.int64)
    write_case("np_reducesum_i64", "ReduceSum", 13, {"keepdims": 0}, [xi, np.array([1], np.int64)],
               [xi.sum(axis=1)])


def shape_cases():
    x = rnd(2, 3, 4, seed=80)
    write_case("np_reshape_zero_minus1", "Reshape", 13, {}, [x, np.array([0, -1], np.int64)], [x.reshape(2, 12)])
    write_case("np_reshape_allowzero_empty", "Reshape", 14, {"allowzero": 1},
               [np.zeros((0, 3), np.float32), np.array([3, 0], np.int64)], [np.zeros((3, 0), np.float32)])
    write_case("np_unsqueeze_op11", "Unsqueeze", 11, {"axes": [0, -1]}, [x], [x.reshape(1, 2, 3, 4, 1)])
    write_case("np_unsqueeze_op13", "Unsqueeze", 13, {}, [x, np.array([1, 4], np.int64)], [x.reshape(2, 1, 3, 4, 1)])
    x1 = rnd(1, 3, 1, 4, seed=81)
    write_case("np_squeeze_op11_attr", "Squeeze", 11, {"axes": [2]}, [x1], [x1.reshape(1, 3, 4)])
    write_case("np_squeeze_op13_input", "Squeeze", 13, {}, [x1, np.array([-4], np.int64)], [x1.reshape(3, 1, 4)])
    write_case("np_squeeze_all", "Squeeze", 13, {}, [x1], [x1.reshape(3, 4)])
    s = np.array(7.5, np.float32)
    write_case("np_unsqueeze_scalar", "Unsqueeze", 13, {}, [s, np.array([0], np.int64)], [s.reshape(1)])
    write_case("np_flatten_axis0", "Flatten", 13, {"axis": 0}, [x], [x.reshape(1, 24)])
    write_case("np_shape_start_end", "Shape", 15, {"start": 1, "end": -1}, [x], [np.array([3], np.int64)])
    write_case("np_shape_scalar", "Shape", 13, {}, [s], [np.zeros((0,), np.int64)])
    idx = np.array([[0, -1], [-2, 1]], np.int64)
    write_case("np_gather_neg_axis1", "Gather", 13, {"axis": 1}, [x, idx], [np.take(x, idx % 3, axis=1)])
    xi = np.arange(12, dtype=np.int64).reshape(3, 4)
    write_case("np_gather_i64_scalar_index", "Gather", 13, {"axis": 0}, [xi, np.array(-1, np.int64)], [xi[-1]])
    write_case("np_gather_i32_idx", "Gather", 13, {"axis": -1}, [xi, np.array([3, 0], np.int32)], [xi[:, [3, 0]]])
    # Slice across opsets, negative steps, clamping.
    write_case("np_slice_op9_attrs", "Slice", 9, {"starts": [1, 0], "ends": [1000, -1], "axes": [0, 2]},
               [x], [x[1:, :, 0:-1]])
    def sl(name, starts, ends, axes, steps, ref):
        ins = [x, np.array(starts, np.int64), np.array(ends, np.int64)]
        ins += [np.array(axes, np.int64) if axes is not None else None]
        if steps is not None:
            ins += [np.array(steps, np.int64)]
        if ins[-1] is None:
            ins = ins[:-1]
        write_case("np_slice_" + name, "Slice", 13, {}, ins, [ref])
    sl("neg_step", [-1], [-1000], [2], [-2], x[:, :, ::-2])
    sl("neg_step_bounds", [10, 2], [0, -10], [1, 2], [-1, -1], x[:, 10:0:-1, 2::-1])
    sl("int64_max", [1], [9223372036854775807], [0], None, x[1:])
    sl("step3", [0, 1], [4, 3], [-1, 1], [3, 1], x[:, 1:3, 0:4:3])
    sl("empty", [2], [1], [1], None, x[:, 2:1])
    # Split across opsets.
    y = rnd(2, 7, seed=82)
    write_case("np_split_op11_attr", "Split", 11, {"axis": 1, "split": [3, 4]}, [y], [y[:, :3], y[:, 3:]])
    write_case("np_split_op13_input", "Split", 13, {"axis": -1}, [y, np.array([2, 5], np.int64)], [y[:, :2], y[:, 2:]])
    write_case("np_split_op18_num_outputs", "Split", 18, {"axis": 1, "num_outputs": 3}, [y],
               [y[:, :3], y[:, 3:6], y[:, 6:]])
    write_case("np_split_equal", "Split", 13, {"axis": 0}, [y], [y[:1], y[1:]])
    write_case("np_concat_i64", "Concat", 13, {"axis": -1}, [xi, xi[:, :1], np.zeros((3, 0), np.int64)],
               [np.concatenate([xi, xi[:, :1]], axis=1)])
    write_case("np_transpose_perm", "Transpose", 13, {"perm": [2, 0, 1]}, [x], [x.transpose(2, 0, 1)])
    write_case("np_transpose_default", "Transpose", 13, {}, [x], [x.transpose()])
    write_case("np_expand_bcast", "Expand", 13, {}, [x[:, :1, :], np.array([3, 1, 1, 1], np.int64)],
               [np.broadcast_to(x[:, :1, :], (3, 2, 1, 4))])
    write_case("np_tile", "Tile", 13, {}, [xi, np.array([2, 3], np.int64)], [np.tile(xi, (2, 3))])
    write_case("np_range_f32", "Range", 11, {}, [np.array(1.0, np.float32), np.array(2.0, np.float32),
               np.array(0.3, np.float32)], [np.array([1.0, 1.3, 1.6, 1.9], np.float32)])
    write_case("np_range_i64_neg", "Range", 11, {}, [np.array(10, np.int64), np.array(3, np.int64),
               np.array(-3, np.int64)], [np.array([10, 7, 4], np.int64)])
    write_case("np_constantofshape_i64", "ConstantOfShape", 13, {"value": np.array([5], np.int64)},
               [np.array([2, 3], np.int64)], [np.full((2, 3), 5, np.int64)])
    write_case("np_constant_value_ints", "Constant", 13, {"value_ints": [1, -2, 3]}, [], [np.array([1, -2, 3], np.int64)])
    write_case("np_constant_value_float", "Constant", 13, {"value_float": 2.5}, [], [np.array(2.5, np.float32)])
    # Pad: attribute form before 11, input form after; all three modes.
    p2 = rnd(1, 2, 3, 4, seed=83)
    write_case("np_pad_op2_constant", "Pad", 2, {"pads": [0, 0, 1, 2, 0, 0, 2, 1], "value": 1.5}, [p2],
               [np.pad(p2, ((0, 0), (0, 0), (1, 2), (2, 1)), constant_values=1.5)])
    for mode, npmode in [("constant", "constant"), ("reflect", "reflect"), ("edge", "edge")]:
        pads = np.array([0, 0, 2, 1, 0, 0, 1, 3], np.int64)
        write_case(f"np_pad_op13_{mode}", "Pad", 13, {"mode": mode}, [p2, pads],
                   [np.pad(p2, ((0, 0), (0, 0), (2, 1), (1, 3)), mode=npmode)])
    write_case("np_pad_negative_crop", "Pad", 13, {}, [p2, np.array([0, 0, -1, 1, 0, 0, 0, -2], np.int64),
               np.array(9.0, np.float32)],
               [np.pad(p2, ((0, 0), (0, 0), (0, 0), (1, 0)), constant_values=9.0)[:, :, 1:, :-2]])
    write_case("np_pad_op18_axes", "Pad", 18, {"mode": "edge"}, [p2, np.array([1, 2], np.int64), None,
               np.array([-1], np.int64)], [np.pad(p2, ((0, 0), (0, 0), (0, 0), (1, 2)), mode="edge")])
    # Cast between the supported types.
    f = np.array([-2.7, -0.5, 0.0, 0.4, 1.5, 300.25], np.float32)
    write_case("np_cast_f32_i32", "Cast", 13, {"to": 6}, [f], [f.astype(np.int32)])
    write_case("np_cast_f32_i64", "Cast", 13, {"to": 7}, [f], [f.astype(np.int64)])
    write_case("np_cast_f32_bool", "Cast", 13, {"to": 9}, [f], [f.astype(np.bool_)])
    write_case("np_cast_i64_f32", "Cast", 13, {"to": 1}, [xi], [xi.astype(np.float32)])
    write_case("np_cast_f32_f16", "Cast", 13, {"to": 10}, [f], [f.astype(np.float16)])
    write_case("np_cast_f32_f64", "Cast", 13, {"to": 11}, [f], [f.astype(np.float64)])
    write_case("np_cast_bool_i64", "Cast", 13, {"to": 7}, [f.astype(np.bool_)], [f.astype(np.bool_).astype(np.int64)])
    write_case("np_cast_i64_u8", "Cast", 13, {"to": 2}, [xi], [xi.astype(np.uint8)])
    write_case("np_argmax_axis1", "ArgMax", 13, {"axis": 1, "keepdims": 0}, [x], [x.argmax(axis=1)])


# ---------------------------------------------------------------- math, indexing, losses
# Semantics the backend tests cover thinly: rounding ties, Mod sign rules, TopK ties, Einsum
# forms, scatter reductions, opset-18 reduce axes, loss options checked against PyTorch.
def math_cases():
    ties = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -3.5, 0.49999997, 2.4, -2.6, 0.0],
                    np.float32)
    write_case("np_round_half_even", "Round", 11, {}, [ties], [np.round(ties)])
    write_case("np_round_half_even_f64", "Round", 11, {}, [ties.astype(np.float64)],
               [np.round(ties.astype(np.float64))])
    a = np.array([-7, -7, 7, 7, -3, 3, 0, 5], np.int64)
    b = np.array([3, -3, 3, -3, 5, -5, 4, 1], np.int64)
    for t in [np.int64, np.int32, np.int8, np.int16]:
        n = np.dtype(t).name
        write_case(f"np_mod_{n}_python_sign", "Mod", 13, {}, [a.astype(t), b.astype(t)],
                   [np.mod(a, b).astype(t)])
        write_case(f"np_mod_{n}_fmod", "Mod", 13, {"fmod": 1}, [a.astype(t), b.astype(t)],
                   [np.fmod(a, b).astype(t)])
    fa = np.array([-7.5, 7.5, -7.5, 7.5, 5.25, -0.0], np.float32)
    fb = np.array([2.0, 2.0, -2.0, -2.0, 1.5, 3.0], np.float32)
    write_case("np_mod_f32_fmod", "Mod", 13, {"fmod": 1}, [fa, fb], [np.fmod(fa, fb)])
    write_case("np_mod_f16_fmod", "Mod", 13, {"fmod": 1}, [fa.astype(np.float16), fb.astype(np.float16)],
               [np.fmod(fa, fb).astype(np.float16)])
    write_case("np_mod_bcast_u8", "Mod", 13, {}, [np.arange(12, dtype=np.uint8).reshape(3, 4),
                                                  np.array([5], np.uint8)],
               [np.arange(12, dtype=np.uint8).reshape(3, 4) % 5])
    write_case("np_mod_int_div_zero", "Mod", 13, {}, [a, np.zeros_like(b)], [a], expect_error=True)
    write_case("np_mod_float_needs_fmod", "Mod", 13, {}, [fa, fb], [fa], expect_error=True)
    u = np.array([1, 255, 16, 3], np.uint32)
    s = np.array([3, 4, 31, 0], np.uint32)
    write_case("np_bitshift_left_u32", "BitShift", 11, {"direction": "LEFT"}, [u, s],
               [(u.astype(np.uint64) << s.astype(np.uint64)).astype(np.uint32)])
    write_case("np_bitshift_right_u16", "BitShift", 11, {"direction": "RIGHT"},
               [u.astype(np.uint16), s.astype(np.uint16)], [u.astype(np.uint16) >> s.astype(np.uint16)])
    x = rnd(3, 5, seed=90)
    xt = torch.from_numpy(x).double()
    unary = [("Cos", torch.cos), ("Sin", torch.sin), ("Tan", torch.tan), ("Atan", torch.atan),
             ("Cosh", torch.cosh), ("Sinh", torch.sinh), ("Asinh", torch.asinh),
             ("Ceil", torch.ceil), ("Floor", torch.floor), ("Sign", torch.sign),
             ("Softsign", F.softsign), ("Selu", F.selu), ("Celu", F.celu)]
    for op, f in unary:
        write_case(f"torch_{op.lower()}", op, 13, {}, [x], [f(xt).float().numpy()])
    xc = np.clip(x, -0.9, 0.9)
    for op, f in [("Acos", np.arccos), ("Asin", np.arcsin), ("Atanh", np.arctanh)]:
        write_case(f"np_{op.lower()}", op, 9, {}, [xc], [f(xc.astype(np.float64)).astype(np.float32)])
    write_case("np_acosh", "Acosh", 9, {}, [np.abs(x) + 1], [np.arccosh(np.abs(x).astype(np.float64) + 1).astype(np.float32)])
    write_case("torch_celu_alpha2", "Celu", 12, {"alpha": 2.0}, [x], [F.celu(xt, 2.0).float().numpy()])
    write_case("torch_thresholdedrelu", "ThresholdedRelu", 10, {"alpha": 0.3}, [x],
               [F.threshold(xt, 0.3, 0.0).float().numpy()])
    write_case("torch_hardshrink", "Shrink", 9, {"lambd": 0.4}, [x], [F.hardshrink(xt, 0.4).float().numpy()])
    write_case("torch_softshrink", "Shrink", 9, {"lambd": 0.4, "bias": 0.4}, [x],
               [F.softshrink(xt, 0.4).float().numpy()])
    xi = np.array([-5, -1, 0, 2, 7], np.int32)
    write_case("np_sign_i32", "Sign", 13, {}, [xi], [np.sign(xi)])
    special = np.array([np.inf, -np.inf, np.nan, 0.0, -1.5], np.float32)
    write_case("np_isinf_negative_only", "IsInf", 10, {"detect_positive": 0}, [special],
               [np.isneginf(special)])
    write_case("np_isnan_f64", "IsNaN", 13, {}, [special.astype(np.float64)], [np.isnan(special)])
    m = rnd(2, 3, 4, 4, seed=91).astype(np.float64)
    write_case("np_det_batched_f64", "Det", 11, {}, [m], [np.linalg.det(m)], atol=1e-9, rtol=1e-9)
    sing = np.array([[1, 2, 3], [2, 4, 6], [0, 1, 1]], np.float32)
    write_case("np_det_singular", "Det", 11, {}, [sing], [np.array(0, np.float32)])
    h = rnd(2, 3, 4, seed=92)
    h[0, 1, :2] = 5.0  # a tie: the first index wins
    def hardmax(v, axis):
        out = np.zeros_like(v)
        np.put_along_axis(out, np.expand_dims(v.argmax(axis=axis), axis), 1, axis)
        return out
    write_case("np_hardmax_op13_axis1", "Hardmax", 13, {"axis": 1}, [h], [hardmax(h, 1)])
    write_case("np_hardmax_op13_tie", "Hardmax", 13, {}, [h], [hardmax(h, -1)])
    flat = h.reshape(2, 12)
    write_case("np_hardmax_op11_coerced", "Hardmax", 11, {"axis": 1}, [h], [hardmax(flat, 1).reshape(h.shape)])
    f16 = rnd(4, 3, seed=93).astype(np.float16)
    g16 = rnd(3, seed=94).astype(np.float16)
    write_case("np_max_f16_bcast", "Max", 13, {}, [f16, g16], [np.maximum(f16, g16)])
    u8a, u8b = np.array([[200, 3], [7, 0]], np.uint8), np.array([100, 9], np.uint8)
    write_case("np_add_u8_wraps", "Add", 14, {}, [u8a, u8b], [u8a + u8b])
    write_case("np_sum_variadic", "Sum", 13, {}, [x, x[0], x[:, :1]], [x + x[0] + x[:, :1]])
    write_case("np_mean_variadic", "Mean", 13, {}, [x, x[0], x[:, :1]],
               [((x.astype(np.float64) + x[0] + x[:, :1]) / 3).astype(np.float32)])
    le_a, le_b = np.array([1, 2, 3], np.int64), np.array([[2], [2]], np.int64)
    write_case("np_greaterorequal_i64", "GreaterOrEqual", 16, {}, [le_a, le_b], [le_a >= le_b])
    write_case("np_lessorequal_i64", "LessOrEqual", 16, {}, [le_a, le_b], [le_a <= le_b])
    p, q = np.array([True, True, False, False]), np.array([[True], [False]])
    write_case("np_xor_bcast", "Xor", 7, {}, [p, q], [p ^ q])
    # Opset 6 Add/Mul broadcast B onto A only with broadcast=1, at `axis` when given.
    a6, b6 = rnd(2, 3, 4, seed=95), rnd(3, seed=96)
    write_case("np_add_opset6_axis1", "Add", 6, {"broadcast": 1, "axis": 1}, [a6, b6],
               [a6 + b6[None, :, None]])
    write_case("np_mul_opset6_suffix", "Mul", 6, {"broadcast": 1}, [a6, rnd(4, seed=97)],
               [a6 * rnd(4, seed=97)])
    write_case("np_add_opset6_no_broadcast", "Add", 6, {}, [a6, rnd(4, seed=97)], [a6],
               expect_error=True)
    sq, col = rnd(3, 3, seed=98), rnd(3, seed=99)
    write_case("np_mul_opset6_axis0_square", "Mul", 6, {"broadcast": 1, "axis": 0}, [sq, col],
               [sq * col[:, None]])


def reduce_extra_cases():
    x = rnd(2, 3, 4, seed=100)
    xd = x.astype(np.float64)
    ops = [("ReduceL1", lambda v, ax, k: np.abs(v).sum(axis=ax, keepdims=k)),
           ("ReduceL2", lambda v, ax, k: np.sqrt((v * v).sum(axis=ax, keepdims=k))),
           ("ReduceSumSquare", lambda v, ax, k: (v * v).sum(axis=ax, keepdims=k)),
           ("ReduceProd", lambda v, ax, k: v.prod(axis=ax, keepdims=k)),
           ("ReduceLogSumExp", lambda v, ax, k: np.log(np.exp(v).sum(axis=ax, keepdims=k))),
           ("ReduceLogSum", lambda v, ax, k: np.log(np.abs(v).sum(axis=ax, keepdims=k)))]
    for op, f in ops:
        v = np.abs(xd) if op == "ReduceLogSum" else xd
        xin = v.astype(np.float32)
        for axes, keep in [([1], 1), ([0, 2], 0), (None, 1)]:
            ax = None if axes is None else tuple(axes)
            y = f(v, ax, bool(keep)).astype(np.float32)
            tag = "all" if axes is None else "_".join(str(a) for a in axes)
            attrs = {"keepdims": keep}
            if axes is not None:
                attrs["axes"] = axes
            write_case(f"np_{op.lower()}_attr_{tag}_k{keep}", op, 13, attrs, [xin], [y])
            ins = [xin] if axes is None else [xin, np.array(axes, np.int64)]
            write_case(f"np_{op.lower()}_input_{tag}_k{keep}", op, 18, {"keepdims": keep}, ins, [y])
    write_case("np_reducel2_noop_empty_axes", "ReduceL2", 18, {"noop_with_empty_axes": 1},
               [x, np.zeros(0, np.int64)], [x])
    big = np.array([[1000.0, 1000.0, 999.0], [-1000.0, -1001.0, -1000.0]], np.float32)
    m = big.astype(np.float64).max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(big - m).sum(axis=1, keepdims=True))).astype(np.float32)
    write_case("np_reducelogsumexp_large", "ReduceLogSumExp", 13, {"axes": [1]}, [big], [lse])
    xi = np.array([[1, -2, 3], [4, 5, -6]], np.int64)
    write_case("np_reduceprod_i64", "ReduceProd", 13, {"axes": [1], "keepdims": 0}, [xi], [xi.prod(axis=1)])
    write_case("np_reducel1_i32", "ReduceL1", 13, {"keepdims": 0}, [xi.astype(np.int32)],
               [np.array(np.abs(xi).sum(), np.int32)])
    a = np.array([[3, 1, 3, 0], [2, 2, 1, 2]], np.float32)
    for last in [0, 1]:
        for op, f in [("ArgMin", np.argmin), ("ArgMax", np.argmax)]:
            if last:
                want = a.shape[1] - 1 - f(a[:, ::-1], axis=1)
            else:
                want = f(a, axis=1)
            write_case(f"np_{op.lower()}_last{last}", op, 13, {"axis": 1, "select_last_index": last},
                       [a], [want.reshape(2, 1).astype(np.int64)])


def index_cases():
    g = np.random.default_rng(110)
    x = rnd(3, 4, 5, seed=111)
    idx = g.integers(-4, 4, (3, 2, 5)).astype(np.int64)
    write_case("np_gatherelements_axis1", "GatherElements", 13, {"axis": 1}, [x, idx],
               [np.take_along_axis(x, idx % 4, axis=1)])
    write_case("np_gatherelements_oob", "GatherElements", 13, {"axis": 1}, [x, idx + 8], [x[:, :2]],
               expect_error=True)
    data = np.zeros((3, 4), np.float32)
    upd = rnd(3, 4, seed=112)
    sidx = np.array([[0, 1, 0, 1], [2, 2, 2, 2], [1, 0, 1, 0]], np.int64)
    for red, f in [("add", np.add), ("mul", np.multiply), ("max", np.maximum), ("min", np.minimum)]:
        base = rnd(3, 4, seed=113)
        want = base.copy()
        for i in range(3):
            for j in range(4):
                want[sidx[i, j], j] = f(want[sidx[i, j], j], upd[i, j])
        write_case(f"np_scatterelements_{red}_dup", "ScatterElements", 18,
                   {"axis": 0, "reduction": red}, [base, sidx, upd], [want])
    want = data.copy()
    for i in range(3):
        for j in range(4):
            want[sidx[i, j], j] = upd[i, j]
    write_case("np_scatter_opset9", "Scatter", 9, {"axis": 0}, [data, sidx, upd], [want])
    d4 = rnd(2, 3, 4, seed=114)
    gi = np.array([[[1, 0], [2, 3]], [[0, 3], [1, 1]]], np.int64)  # batch_dims=1: tuples of 2
    want = np.stack([np.stack([d4[b][tuple(t)] for t in gi[b]]) for b in range(2)])
    write_case("np_gathernd_batch1", "GatherND", 13, {"batch_dims": 1}, [d4, gi], [want])
    gi2 = np.array([[1], [0], [1]], np.int64)
    write_case("np_gathernd_slices", "GatherND", 13, {}, [d4, gi2], [d4[[1, 0, 1]]])
    ni = np.array([[0, 1], [1, 2], [0, 1]], np.int64)
    nu = rnd(3, 4, seed=115)
    for red, f in [("add", np.add), ("mul", np.multiply), ("max", np.maximum)]:
        want = d4.copy()
        for k in range(3):
            want[tuple(ni[k])] = f(want[tuple(ni[k])], nu[k])
        write_case(f"np_scatternd_{red}_dup", "ScatterND", 18, {"reduction": red}, [d4, ni, nu], [want])
    t = np.array([[3, 1, 3, 2, 1, 3], [0, 0, 5, 5, -1, 0]], np.float32)
    for largest in [1, 0]:
        key = -t if largest else t
        order = np.argsort(key, axis=1, kind="stable")[:, :4]
        write_case(f"np_topk_ties_largest{largest}", "TopK", 11, {"largest": largest},
                   [t, np.array([4], np.int64)],
                   [np.take_along_axis(t, order, axis=1), order.astype(np.int64)])
    order = np.argsort(-t, axis=0, kind="stable")[:1]
    write_case("np_topk_opset1_axis0", "TopK", 1, {"k": 1, "axis": 0}, [t],
               [np.take_along_axis(t, order, axis=0), order.astype(np.int64)])
    c = rnd(3, 4, seed=116).astype(np.float64)
    for excl in [0, 1]:
        for rev in [0, 1]:
            v = c[:, ::-1] if rev else c
            cs = np.cumsum(v, axis=1)
            if excl:
                cs = np.concatenate([np.zeros((3, 1)), cs[:, :-1]], axis=1)
            if rev:
                cs = cs[:, ::-1]
            write_case(f"np_cumsum_excl{excl}_rev{rev}", "CumSum", 14, {"exclusive": excl, "reverse": rev},
                       [c, np.array(-1, np.int32)], [cs])
    tr = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
    for k in [-1, 0, 2]:
        write_case(f"np_triu_k{k}", "Trilu", 14, {}, [tr, np.array(k, np.int64)], [np.triu(tr, k)])
        write_case(f"np_tril_k{k}", "Trilu", 14, {"upper": 0}, [tr, np.array(k, np.int64)], [np.tril(tr, k)])
    oi = np.array([[1.7, -1.0], [3.0, 9.0]], np.float32)  # 1.7 truncates to 1; 9 is out of range
    want = np.full((2, 4, 2), 2.0, np.float32)
    for i in range(2):
        for j in range(2):
            h = int(oi[i, j])
            h = h + 4 if h < 0 else h
            if 0 <= h < 4:
                want[i, h, j] = 5.0
    write_case("np_onehot_axis1_float_indices", "OneHot", 11, {"axis": 1},
               [oi, np.array(4, np.int64), np.array([2, 5], np.float32)], [want])
    write_case("np_eyelike_k1_f32", "EyeLike", 9, {"k": 1, "dtype": 1}, [np.zeros((3, 4), np.int32)],
               [np.eye(3, 4, 1, dtype=np.float32)])
    rs = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)
    lens = np.array([4, 0, 2], np.int64)
    want = rs.copy()
    for b in range(3):
        want[:lens[b], b] = rs[:lens[b], b][::-1]
    write_case("np_reversesequence_time0", "ReverseSequence", 10, {"time_axis": 0, "batch_axis": 1},
               [rs, lens], [want])
    rs2 = rs.transpose(1, 0, 2).copy()
    want2 = want.transpose(1, 0, 2).copy()
    write_case("np_reversesequence_batch0", "ReverseSequence", 10, {"time_axis": 1, "batch_axis": 0},
               [rs2, lens], [want2])


def einsum_cases():
    g = np.random.default_rng(120)
    def r(*s):
        return g.standard_normal(s).astype(np.float32)
    eqs = [("ij,jk->ik", [r(3, 4), r(4, 5)]), ("bij,bjk->bik", [r(2, 3, 4), r(2, 4, 2)]),
           ("ij->ji", [r(3, 4)]), ("ij->", [r(3, 4)]), ("ii->i", [r(4, 4)]), ("ii", [r(4, 4)]),
           ("ij,jk", [r(3, 4), r(4, 2)]), ("i,i->", [r(5), r(5)]), ("i,j->ij", [r(3), r(4)]),
           ("...ij,...jk->...ik", [r(2, 1, 3, 4), r(3, 4, 2)]), ("bii->bi", [r(2, 3, 3)]),
           ("ijk->kji", [r(2, 3, 4)]), ("ij,ij->i", [r(3, 4), r(3, 4)])]
    for i, (eq, ins) in enumerate(eqs):
        want = np.einsum(eq, *[v.astype(np.float64) for v in ins]).astype(np.float32)
        write_case(f"np_einsum_{i}", "Einsum", 12, {"equation": eq}, ins, [np.asarray(want)])
    a = g.integers(-5, 5, (2, 3)).astype(np.int64)
    write_case("np_einsum_i64", "Einsum", 12, {"equation": "ij,kj->ik"}, [a, a], [np.einsum("ij,kj->ik", a, a)])
    write_case("np_einsum_bad_size", "Einsum", 12, {"equation": "ij,jk->ik"}, [r(3, 4), r(5, 2)],
               [r(3, 2)], expect_error=True)


def loss_cases():
    g = np.random.default_rng(130)
    x = g.standard_normal((4, 5, 3)).astype(np.float32)
    t = g.integers(0, 5, (4, 3)).astype(np.int64)
    t[0, 0] = t[2, 1] = 2  # some targets hit ignore_index 2
    w = (np.abs(g.standard_normal(5)) + 0.2).astype(np.float32)
    xt, tt, wt = torch.from_numpy(x).double(), torch.from_numpy(t), torch.from_numpy(w).double()
    logp = F.log_softmax(xt, dim=1)
    for red in ["none", "sum", "mean"]:
        for use_w in [False, True]:
            for ii in [None, 2]:
                kw = {"reduction": red}
                attrs = {"reduction": red}
                if ii is not None:
                    kw["ignore_index"] = ii
                    attrs["ignore_index"] = ii
                weight = wt if use_w else None
                tag = f"{red}{'_w' if use_w else ''}{'_ii' if ii is not None else ''}"
                ins = [t] + ([w] if use_w else [])
                nll = F.nll_loss(logp, tt, weight=weight, **kw).float().numpy()
                write_case(f"torch_nllloss_{tag}", "NegativeLogLikelihoodLoss", 13, attrs,
                           [logp.float().numpy()] + ins, [nll])
                ce = F.cross_entropy(xt, tt, weight=weight, **kw).float().numpy()
                write_case(f"torch_sceloss_{tag}", "SoftmaxCrossEntropyLoss", 13, attrs, [x] + ins,
                           [ce, logp.float().numpy()])
    x2, t2 = x[:, :, 0].copy(), t[:, 0].copy()
    ce = F.cross_entropy(torch.from_numpy(x2).double(), torch.from_numpy(t2)).float().numpy()
    write_case("torch_sceloss_2d_default_mean", "SoftmaxCrossEntropyLoss", 13, {}, [x2, t2], [ce])
    bad = t2.copy()
    bad[1] = 7
    write_case("torch_nllloss_target_out_of_range", "NegativeLogLikelihoodLoss", 13, {}, [x2, bad],
               [ce], expect_error=True)


def signal_cases():
    g = np.random.default_rng(140)
    x = g.standard_normal((2, 6, 3, 1)).astype(np.float32)
    def cplx(v):
        return np.stack([v.real, v.imag], axis=-1).astype(np.float32)
    write_case("np_dft_axis1", "DFT", 17, {"axis": 1}, [x], [cplx(np.fft.fft(x[..., 0], axis=1))])
    write_case("np_dft_onesided_pad8", "DFT", 17, {"axis": 1, "onesided": 1},
               [x, np.array(8, np.int64)], [cplx(np.fft.rfft(x[..., 0], n=8, axis=1))])
    write_case("np_dft_truncate4_axis2", "DFT", 17, {"axis": 2}, [x, np.array(2, np.int64)],
               [cplx(np.fft.fft(x[..., 0], n=2, axis=2))])
    z = g.standard_normal((2, 5, 2)).astype(np.float32)
    zc = z[..., 0] + 1j * z[..., 1]
    write_case("np_dft_inverse_complex", "DFT", 17, {"axis": 1, "inverse": 1}, [z],
               [cplx(np.fft.ifft(zc, axis=1))])
    write_case("np_dft_onesided_complex", "DFT", 17, {"onesided": 1}, [z], [z], expect_error=True)
    sig = g.standard_normal((2, 40, 1)).astype(np.float32)
    win = torch.hann_window(12, periodic=True, dtype=torch.float64)
    ref = torch.stft(torch.from_numpy(sig[..., 0]).double(), n_fft=12, hop_length=5, window=win,
                     center=False, onesided=True, return_complex=True)  # [batch, bins, frames]
    write_case("torch_stft_hann", "STFT", 17, {}, [sig, np.array(5, np.int64), win.float().numpy()],
               [cplx(ref.transpose(1, 2).numpy())])
    sz = g.standard_normal((1, 20, 2)).astype(np.float32)
    szc = torch.from_numpy(sz[..., 0] + 1j * sz[..., 1]).to(torch.complex128)
    ref = torch.stft(szc, n_fft=8, hop_length=4, window=torch.ones(8, dtype=torch.float64),
                     center=False, onesided=False, return_complex=True)
    write_case("torch_stft_complex_twosided", "STFT", 17, {"onesided": 0},
               [sz, np.array(4, np.int64), None, np.array(8, np.int64)], [cplx(ref.transpose(1, 2).numpy())])
    for periodic in [1, 0]:
        n = 10
        for op, tw in [("HannWindow", torch.hann_window), ("BlackmanWindow", torch.blackman_window)]:
            want = tw(n, periodic=bool(periodic), dtype=torch.float64).float().numpy()
            write_case(f"torch_{op.lower()}_p{periodic}", op, 17, {"periodic": periodic},
                       [np.array(n, np.int64)], [want])
        # ONNX's Hamming uses alpha = 25/46 (torch's default is 0.54).
        want = torch.hamming_window(n, periodic=bool(periodic), alpha=25 / 46, beta=21 / 46,
                                    dtype=torch.float64).float().numpy()
        write_case(f"torch_hammingwindow_p{periodic}", "HammingWindow", 17, {"periodic": periodic},
                   [np.array(n, np.int32)], [want])
    want = torch.hann_window(7, periodic=True, dtype=torch.float64).numpy()
    write_case("torch_hannwindow_f64", "HannWindow", 17, {"output_datatype": 11},
               [np.array(7, np.int64)], [want])


def tfidf_cases():
    # IDF and TFIDF follow from ONNX's TF counts of the same input: (tf > 0) * w and tf * w.
    def load_case(name):
        d = os.path.join(BACKEND, "test_tfidfvectorizer_" + name)
        m = onnx.load(os.path.join(d, "model.onnx"))
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in m.graph.node[0].attribute}
        attrs["mode"] = attrs["mode"].decode()
        arrays = []
        for f in ["input_0.pb", "output_0.pb"]:
            t = onnx.TensorProto()
            with open(os.path.join(d, "test_data_set_0", f), "rb") as fh:
                t.ParseFromString(fh.read())
            arrays.append(numpy_helper.to_array(t))
        return attrs, arrays[0], arrays[1]
    attrs, x, tf = load_case("tf_uniandbigrams_skip5")
    w = np.array([0.5, 2.0, 1.5, 3.0, 0.25, 4.0, 1.0], np.float32)
    for mode, y in [("IDF", (tf > 0) * w), ("TFIDF", tf * w)]:
        write_case(f"onnxdata_tfidf_{mode.lower()}_weights", "TfIdfVectorizer", 9,
                   dict(attrs, mode=mode, weights=list(map(float, w))), [x], [y.astype(np.float32)])
    attrs, x, tf = load_case("tf_batch_uniandbigrams_skip5")
    write_case("onnxdata_tfidf_batch_int32", "TfIdfVectorizer", 9, attrs, [x.astype(np.int32)], [tf])


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in glob.glob(os.path.join(OUT, "*.case")):
        os.remove(f)
    n = convert_backend()
    import gen_nn_cases  # the neural-network ops' cases (nn_*.case), written by their own script
    gen_nn_cases.main()
    torch_conv_cases()
    torch_pool_cases()
    dense_cases()
    activation_cases()
    norm_cases()
    binary_cases()
    reduce_cases()
    shape_cases()
    math_cases()
    reduce_extra_cases()
    index_cases()
    einsum_cases()
    loss_cases()
    signal_cases()
    tfidf_cases()
    files = glob.glob(os.path.join(OUT, "*.case"))
    size = sum(os.path.getsize(f) for f in files)
    print(f"{len(files)} cases ({n} from ONNX backend tests), {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
