#!/usr/bin/python3
"""Writes a QDQ (static int8) version of a float ONNX model made of Conv, Gemm, MatMul, Add,
Relu, MaxPool, AveragePool, GlobalAveragePool and Flatten, the way ONNX Runtime's quantizer lays
it out: per-channel symmetric int8 weights, int32 biases (scale x_scale * w_scale), uint8
asymmetric activations with min/max ranges from a few random inputs, Q/DQ after each Relu,
MaxPool/Flatten sharing their input's scale. Used only to time qbench's int8 path when
`qbench quantize --recipe static-int8` has no calibration data for the model.

    /usr/bin/python3 benchmarks/resnet50/make_qdq.py /tmp/resnet50.onnx /tmp/resnet50-int8.onnx
    /usr/bin/python3 benchmarks/resnet50/make_qdq.py --reduce-range /tmp/resnet50.onnx /tmp/resnet50-int8-rr.onnx
"""
import argparse

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

QUANTIZED_INPUTS = {"Conv", "Gemm", "MatMul", "Add", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten"}
SAME_SCALE = {"MaxPool", "Flatten"}


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def run_float(model, x):
    """Evaluates the graph with torch; returns every tensor by name."""
    env = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    env = {k: torch.from_numpy(v.copy()) for k, v in env.items()}
    env[model.graph.input[0].name] = torch.from_numpy(x)
    for n in model.graph.node:
        a = attrs(n)
        i = [env[name] for name in n.input if name]
        if n.op_type == "Conv":
            p = a.get("pads", [0, 0, 0, 0])
            assert p[0] == p[2] and p[1] == p[3]
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, a.get("strides", [1, 1]),
                         (p[0], p[1]), a.get("dilations", [1, 1]), a.get("group", 1))
        elif n.op_type == "Relu":
            y = F.relu(i[0])
        elif n.op_type == "Add":
            y = i[0] + i[1]
        elif n.op_type == "MaxPool":
            p = a.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", 1), (p[0], p[1]))
        elif n.op_type == "AveragePool":
            p = a.get("pads", [0, 0, 0, 0])
            y = F.avg_pool2d(i[0], a["kernel_shape"], a.get("strides", 1), (p[0], p[1]),
                             count_include_pad=bool(a.get("count_include_pad", 0)))
        elif n.op_type == "GlobalAveragePool":
            y = i[0].mean(dim=(2, 3), keepdim=True)
        elif n.op_type == "Flatten":
            y = torch.flatten(i[0], a.get("axis", 1))
        elif n.op_type == "Gemm":
            b = i[1].t() if a.get("transB", 0) else i[1]
            y = i[0] @ b + (i[2] if len(i) > 2 else 0)
        elif n.op_type == "MatMul":
            y = i[0] @ i[1]
        else:
            raise SystemExit(f"unsupported op {n.op_type} ({n.name})")
        env[n.output[0]] = y
    return env


def act_params(lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-8) / 255.0
    return np.float32(scale), np.uint8(round(-lo / scale))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--calib", type=int, default=4, help="random N(0,1) inputs for the ranges")
    ap.add_argument("--reduce-range", action="store_true",
                    help="7-bit weights in [-64, 64] (ONNX Runtime's reduce_range), so u8 x s8 pair sums "
                         "never overflow int16 on CPUs without VNNI")
    args = ap.parse_args()
    model = onnx.load(args.model)
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    shape = [d.dim_value or 1 for d in g.input[0].type.tensor_type.shape.dim]

    ranges = {}
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for _ in range(args.calib):
            env = run_float(model, rng.standard_normal(shape).astype(np.float32))
            for k, v in env.items():
                if k in inits:
                    continue
                lo, hi = float(v.min()), float(v.max())
                old = ranges.get(k, (lo, hi))
                ranges[k] = (min(lo, old[0]), max(hi, old[1]))

    producer = {o: n for n in g.node for o in n.output}
    # Activations that get a Q -> DQ pair: inputs of quantizable ops, and the graph outputs.
    to_quantize = []
    for n in g.node:
        if n.op_type in QUANTIZED_INPUTS:
            for k, name in enumerate(n.input):
                if name in inits or not name:
                    continue
                if n.op_type in ("Conv", "Gemm") and k > 0:
                    continue
                if name not in to_quantize:
                    to_quantize.append(name)
    for o in g.output:
        to_quantize.append(o.name)
    # Same-scale ops: their output reuses their input's range.
    for n in g.node:
        if n.op_type in SAME_SCALE and n.input[0] in ranges:
            ranges[n.output[0]] = ranges[n.input[0]]

    new_inits, params = [], {}
    for t in to_quantize:
        s, z = act_params(*ranges[t])
        params[t] = (s, z)
        new_inits += [numpy_helper.from_array(np.array(s, np.float32), t + "_scale"),
                      numpy_helper.from_array(np.array(z, np.uint8), t + "_zero_point")]

    nodes = []
    rename = {}
    graph_outputs = {o.name for o in g.output}
    for t in to_quantize:
        if t in graph_outputs:
            continue
        rename[t] = t + "_dq"

    def qdq_nodes(t, out_dq):
        return [helper.make_node("QuantizeLinear", [t, t + "_scale", t + "_zero_point"], [t + "_q"], name=t + "_Q"),
                helper.make_node("DequantizeLinear", [t + "_q", t + "_scale", t + "_zero_point"], [out_dq], name=t + "_DQ")]

    for t in to_quantize:
        if t == g.input[0].name:
            nodes += qdq_nodes(t, rename[t])
    drop = set()
    for n in g.node:
        ins = [rename.get(i, i) for i in n.input]
        if n.op_type in ("Conv", "Gemm") and n.input[1] in inits:
            w = inits[n.input[1]].astype(np.float32)
            m = w.shape[0]
            qmax = 64 if args.reduce_range else 127
            ws = np.maximum(np.abs(w.reshape(m, -1)).max(axis=1), 1e-8) / qmax
            wq = np.clip(np.round(w / ws.reshape((m,) + (1,) * (w.ndim - 1))), -qmax, qmax).astype(np.int8)
            wn = n.input[1]
            new_inits += [numpy_helper.from_array(wq, wn + "_q"),
                          numpy_helper.from_array(ws.astype(np.float32), wn + "_scale"),
                          numpy_helper.from_array(np.zeros(m, np.int8), wn + "_zero_point")]
            nodes.append(helper.make_node("DequantizeLinear", [wn + "_q", wn + "_scale", wn + "_zero_point"],
                                          [wn + "_dq"], name=wn + "_DQ", axis=0))
            drop.add(wn)
            ins[1] = wn + "_dq"
            if len(n.input) > 2 and n.input[2] in inits:
                bn = n.input[2]
                bs = (params[n.input[0]][0] * ws).astype(np.float32)
                bq = np.round(inits[bn] / bs).astype(np.int32)
                new_inits += [numpy_helper.from_array(bq, bn + "_q"),
                              numpy_helper.from_array(bs, bn + "_scale")]
                nodes.append(helper.make_node("DequantizeLinear", [bn + "_q", bn + "_scale"], [bn + "_dq"],
                                              name=bn + "_DQ", axis=0))
                drop.add(bn)
                ins[2] = bn + "_dq"
        out = n.output[0]
        if out in graph_outputs and out in params:
            # The graph output keeps its name: the node writes a float tensor that Q/DQ rename.
            nodes.append(helper.make_node(n.op_type, ins, [out + "_float"], name=n.name, domain=n.domain,
                                          **attrs(n)))
            nodes += [helper.make_node("QuantizeLinear", [out + "_float", out + "_scale", out + "_zero_point"],
                                       [out + "_q"], name=out + "_Q"),
                      helper.make_node("DequantizeLinear", [out + "_q", out + "_scale", out + "_zero_point"],
                                       [out], name=out + "_DQ")]
            continue
        nodes.append(helper.make_node(n.op_type, ins, list(n.output), name=n.name, domain=n.domain, **attrs(n)))
        if out in rename:
            nodes += qdq_nodes(out, rename[out])

    kept = [i for i in g.initializer if i.name not in drop]
    graph = helper.make_graph(nodes, g.name + "_qdq", list(g.input), list(g.output), kept + new_inits)
    qm = helper.make_model(graph, opset_imports=list(model.opset_import), producer_name="qbench make_qdq.py")
    qm.ir_version = model.ir_version
    onnx.save(qm, args.out)
    print(f"wrote {args.out}: {len(to_quantize)} activations quantized, {len(drop)} weights/biases int8/int32")


if __name__ == "__main__":
    main()
