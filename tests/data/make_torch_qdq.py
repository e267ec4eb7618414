#!/usr/bin/python3
"""Make tests/data/torch_qdq.onnx: a QDQ model quantized by ANOTHER tool (PyTorch), with
FULL-RANGE int8 weights.

Why: qbench's int8 kernels must give exact results on every CPU, including those without VNNI,
where the int8 dot product is done with u8 x s8 pair sums into int16 (pmaddubsw), which can
saturate when two adjacent weights of the same sign add up to more than 128 in magnitude.
qbench's own quantizer may avoid this (e.g. by limiting the weight range), but a file made
elsewhere does not: PyTorch's per-channel symmetric qint8 weights (quant range -128..127, no
reduce_range) reach 127/-128 in every output channel.  This file is the input of that test; the
Q/DQ placement and the int8 weights are PyTorch's, not qbench's.

What it does:
  1. reads Fashion-MNIST (IDX, gzip) from /usr/share/datasets/fashion-mnist;
  2. trains a small CNN (seed 0, 1 thread, Adam, ~1 min of CPU) on the train split,
     preprocessing pixel/255 then (x - 0.2860) / 0.3530 (stored in metadata, not in the graph);
  3. quantizes it with torch.ao.quantization (eager mode): fuse Conv+ReLU, prepare_qat with
     per-channel symmetric qint8 weights (-128..127) and per-tensor affine quint8 activations
     (0..255), calibrate the observers on 512 train images with fake quantization off, then
     freeze the observers and turn fake quantization on (post-training quantization expressed
     with PyTorch's fake-quant modules);
  4. exports the fake-quantized model with torch.onnx.export (opset 13); the exporter writes
     QuantizeLinear -> DequantizeLinear on the FLOAT weights, so those pairs are folded here
     with the onnx API: each weight becomes an int8 initializer read by a DequantizeLinear
     (as ONNX Runtime's quantizer writes them);
  5. checks: full-range weights (some channel with |w| >= 100, must hold), the int8 weights
     equal PyTorch's own int_repr, and the ONNX graph (run op by op with torch here) predicts
     the same classes as the PyTorch fake-quant model on the 10,000 test images.

Run:  /usr/bin/python3 tests/data/make_torch_qdq.py
Writes tests/data/torch_qdq.onnx and tests/data/torch_qdq.json.
Needs (Debian 12): python3-torch python3-onnx python3-numpy dataset-fashion-mnist.
"""
import gzip
import json
import os
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper
from torch.ao import quantization as tq

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/datasets/fashion-mnist"
OUT_ONNX = os.path.join(HERE, "torch_qdq.onnx")
OUT_JSON = os.path.join(HERE, "torch_qdq.json")

MEAN, STD = 0.2860, 0.3530
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
          "Bag", "Ankle boot"]
SEED = 0            # torch.manual_seed: weight init and training shuffle
CALIB_SEED = 1      # which 512 train images calibrate the observers
CALIB_IMAGES = 512
EPOCHS = 2
BATCH = 64
LR = 1e-3
OPSET = 13


def load(prefix):
    """Images as float NCHW, preprocessed: pixel / 255, then (x - MEAN) / STD."""
    with gzip.open(f"{DATA}/{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{DATA}/{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    x = torch.from_numpy(images.copy()).float().div(255).sub(MEAN).div(STD)
    return x, torch.from_numpy(labels.astype(np.int64))


class Net(nn.Module):
    """28x28x1 -> 10 logits.  QuantStub/DeQuantStub mark where eager-mode quantization starts
    and ends; `quant_fc` re-quantizes after Flatten (same scale as its input, since Flatten does
    not change values), so the Gemm reads a DequantizeLinear directly."""

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.relu3 = nn.ReLU()
        self.quant_fc = tq.QuantStub()
        self.fc = nn.Linear(32 * 14 * 14, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.conv1(x))
        x = self.relu2(self.conv2(x))
        x = self.relu3(self.conv3(x))
        x = self.quant_fc(torch.flatten(x, 1))
        return self.dequant(self.fc(x))


def top1(model, x, y, batch=1000):
    model.eval()
    correct, preds = 0, []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            p = model(x[i:i + batch]).argmax(1)
            preds.append(p)
            correct += int((p == y[i:i + batch]).sum())
    return correct / len(x), torch.cat(preds)


def train(model, x, y):
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        print(f"epoch {epoch + 1}/{EPOCHS}: train loss {total / len(x):.4f}", flush=True)


def qconfig():
    """Full-range int8: weights per-channel symmetric qint8 -128..127, activations per-tensor
    affine quint8 0..255; reduce_range off for both (fbgemm's default config reduces the
    activation range to 0..127, which is not what we want here)."""
    act = tq.FakeQuantize.with_args(
        observer=tq.MinMaxObserver, quant_min=0, quant_max=255, dtype=torch.quint8,
        qscheme=torch.per_tensor_affine, reduce_range=False)
    weight = tq.FakeQuantize.with_args(
        observer=tq.PerChannelMinMaxObserver, quant_min=-128, quant_max=127, dtype=torch.qint8,
        qscheme=torch.per_channel_symmetric, ch_axis=0, reduce_range=False)
    return tq.QConfig(activation=act, weight=weight)


def quantize(model, calib):
    """Eager-mode fake quantization, calibrated post-training."""
    model.train()
    tq.fuse_modules_qat(model, [["conv1", "relu1"], ["conv2", "relu2"], ["conv3", "relu3"]],
                        inplace=True)
    model.qconfig = qconfig()
    tq.prepare_qat(model, inplace=True)
    model.eval()
    # Calibrate: observers on, fake quantization off (activations observed in float).
    model.apply(tq.enable_observer)
    model.apply(tq.disable_fake_quant)
    with torch.no_grad():
        for i in range(0, len(calib), 128):
            model(calib[i:i + 128])
    # Freeze the ranges and quantize.
    model.apply(tq.disable_observer)
    model.apply(tq.enable_fake_quant)
    return model


def torch_int8_weights(model):
    """PyTorch's own int8 weights, {module name: int8 array}, from each weight fake-quant."""
    out = {}
    for name, m in model.named_modules():
        if hasattr(m, "weight_fake_quant"):
            fq = m.weight_fake_quant
            q = torch.quantize_per_channel(m.weight.detach(), fq.scale, fq.zero_point,
                                           fq.ch_axis, torch.qint8)
            out[name] = q.int_repr().numpy()
    return out


def constant_values(graph):
    vals = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant":
            vals[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return vals


def fold_weight_qdq(m):
    """Replace QuantizeLinear(float initializer) -> DequantizeLinear by an int8 initializer read
    by the DequantizeLinear, as ONNX Runtime's quantizer stores weights.  Returns how many, and
    how many int8 weights ONNX's own QuantizeLinear rounding would have made differently."""
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    vals = constant_values(g)
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    drop, folded, onnx_rounding_differs = [], 0, 0
    for n in g.node:
        if n.op_type != "QuantizeLinear" or n.input[0] not in inits:
            continue
        users = consumers.get(n.output[0], [])
        if not users or any(u.op_type != "DequantizeLinear" for u in users):
            continue
        w = vals[n.input[0]].astype(np.float32)
        scale = vals[n.input[1]].astype(np.float32)
        zp = vals[n.input[2]]
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        if scale.ndim == 1 and scale.size > 1:  # per-axis: broadcast along `axis`
            shape = [1] * w.ndim
            shape[axis] = -1
            scale, zpb = scale.reshape(shape), zp.reshape(shape).astype(np.int32)
        else:
            zpb = zp.astype(np.int32)
        info = np.iinfo(zp.dtype)
        # PyTorch's rounding: round_half_to_even(x * (1 / scale)) in float32, as
        # fake_quantize_per_channel_affine and quantize_per_channel compute it.  ONNX's
        # QuantizeLinear divides, x / scale, which differs at near-ties (e.g. -127.49999 vs
        # -127.5 for a channel's extreme weight, since a symmetric scale is amax / 127.5); we
        # keep PyTorch's values, so the file computes what the fake-quant model computed.
        inv = (np.float32(1) / scale).astype(np.float32)
        q = np.clip(np.rint(w * inv).astype(np.int32) + zpb, info.min, info.max).astype(zp.dtype)
        q_onnx = np.clip(np.rint(w / scale).astype(np.int32) + zpb, info.min, info.max)
        onnx_rounding_differs += int((q_onnx != q.astype(np.int32)).sum())
        name = n.input[0] + "_quantized"
        g.initializer.append(numpy_helper.from_array(q, name))
        for u in users:
            u.input[0] = name
        drop.append(n)
        folded += 1
    for n in drop:
        g.node.remove(n)
    # Drop initializers nobody reads any more (the float weights).
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    for t in [t for t in g.initializer if t.name not in used]:
        g.initializer.remove(t)
    return folded, onnx_rounding_differs


def fold_constant_nodes(m):
    """Make every weight, scale and zero point an initializer read directly: Constant nodes
    become initializers, and Identity nodes of an initializer are bypassed.  (With
    do_constant_folding the exporter deduplicates equal initializers, e.g. the zero points and
    the Flatten re-quantization scale, and leaves Identity nodes in their place.)
    Returns (constants, identities) removed."""
    g = m.graph
    consts = [n for n in g.node if n.op_type == "Constant"]
    for n in consts:
        t = onnx.TensorProto()
        t.CopyFrom(n.attribute[0].t)
        t.name = n.output[0]
        g.initializer.append(t)
        g.node.remove(n)
    inits = {t.name for t in g.initializer}
    outputs = {o.name for o in g.output}
    ids = [n for n in g.node
           if n.op_type == "Identity" and n.input[0] in inits and n.output[0] not in outputs]
    for n in ids:
        for u in g.node:
            for k, name in enumerate(u.input):
                if name == n.output[0]:
                    u.input[k] = n.input[0]
        g.node.remove(n)
    return len(consts), len(ids)


def run_onnx_with_torch(m, x):
    """Evaluate the (small) QDQ graph op by op with torch, to check the file computes what the
    PyTorch model does.  Only the op types this graph has are supported."""
    env = {k: torch.from_numpy(np.array(v)) for k, v in constant_values(m.graph).items()}
    env[m.graph.input[0].name] = x
    for n in m.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
        i = [env[name] if name else None for name in n.input]
        if n.op_type == "Constant":
            continue
        if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            s, zp = i[1].float(), i[2]
            shape = [1] * i[0].dim()
            if s.numel() > 1:
                shape[a.get("axis", 1)] = -1
                s, zpv = s.reshape(shape), zp.reshape(shape).int()
            else:
                zpv = zp.int()
            if n.op_type == "QuantizeLinear":
                lo, hi = (0, 255) if zp.dtype == torch.uint8 else (-128, 127)
                y = torch.clamp(torch.round(i[0] / s).int() + zpv, lo, hi)
            else:
                y = (i[0].int() - zpv).float() * s
        elif n.op_type == "Conv":
            p = a.get("pads", [0, 0, 0, 0])
            assert p[0] == p[2] and p[1] == p[3] and a.get("group", 1) == 1
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", 1),
                         padding=p[:2], dilation=a.get("dilations", 1))
        elif n.op_type == "Relu":
            y = F.relu(i[0])
        elif n.op_type == "Flatten":
            y = torch.flatten(i[0], a.get("axis", 1))
        elif n.op_type == "Gemm":
            b = i[1].t() if a.get("transB", 0) else i[1]
            aa = i[0].t() if a.get("transA", 0) else i[0]
            y = a.get("alpha", 1.0) * aa @ b + a.get("beta", 1.0) * i[2]
        elif n.op_type == "Cast":
            to = {onnx.TensorProto.UINT8: torch.uint8, onnx.TensorProto.INT8: torch.int8,
                  onnx.TensorProto.FLOAT: torch.float32}[a["to"]]
            y = i[0].to(to)
        else:
            raise NotImplementedError(n.op_type)
        env[n.output[0]] = y
    return env[m.graph.output[0].name]


def pair_stats(w):
    """Adjacent weight pairs along the input axis (axis 1 of a Conv [O, C, kh, kw] or Gemm
    [N, K] weight): channels c, c+1 (c even) at the same output and kernel tap.  A pair
    overflows an int16 pair sum with u8 activations when both weights have the same sign and
    255 * (|a| + |b|) > 32767.  Returns (overflowing pairs, total pairs)."""
    w = w.astype(np.int32)
    c = w.shape[1] // 2 * 2
    a, b = w[:, 0:c:2], w[:, 1:c:2]
    same = ((a > 0) & (b > 0)) | ((a < 0) & (b < 0))
    over = same & (255 * (np.abs(a) + np.abs(b)) > 32767)
    return int(over.sum()), int(a.size)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    xtr, ytr = load("train")
    xte, yte = load("t10k")

    model = Net()
    t0 = time.time()
    train(model, xtr, ytr)
    train_s = time.time() - t0
    fp32_top1, fp32_pred = top1(model, xte, yte)
    print(f"trained {EPOCHS} epochs in {train_s:.1f} s; fp32 top-1 {fp32_top1:.4f}")

    g = torch.Generator().manual_seed(CALIB_SEED)
    calib = xtr[torch.randperm(len(xtr), generator=g)[:CALIB_IMAGES]]
    quantize(model, calib)
    fq_top1, fq_pred = top1(model, xte, yte)
    fp32_agree = int((fq_pred == fp32_pred).sum())
    print(f"fake-quant top-1 on the 10,000 test images: {fq_top1:.4f} "
          f"(same class as fp32 on {fp32_agree}/10000)")
    ref_int8 = torch_int8_weights(model)

    # Export.  The exporter writes Q -> DQ on the float weights; folded below.
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), OUT_ONNX, opset_version=OPSET,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True)
    m = onnx.load(OUT_ONNX)
    consts, ids = fold_constant_nodes(m)
    folded, rounding_differs = fold_weight_qdq(m)
    print(f"exported; removed {consts} Constant and {ids} Identity nodes, folded {folded} "
          f"weight QuantizeLinear nodes into int8 initializers ({rounding_differs} weights "
          f"would round differently with ONNX QuantizeLinear's x / scale; PyTorch's kept)")
    del m.metadata_props[:]
    for k, v in {"qbench.mean": "%.4f" % MEAN, "qbench.std": "%.4f" % STD,
                 "qbench.labels": ",".join(LABELS),
                 "qbench.source": "tests/data/make_torch_qdq.py"}.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, OUT_ONNX)
    m = onnx.load(OUT_ONNX)
    onnx.checker.check_model(m)

    # The weight layers of the file, in graph order: the int8 initializer each reads.
    g = m.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    layers = []
    for n in g.node:
        if n.op_type in ("Conv", "Gemm"):
            dq = producer.get(n.input[1])
            assert dq is not None and dq.op_type == "DequantizeLinear", n.name
            w = inits[dq.input[0]]
            assert w.dtype == np.int8, (n.name, w.dtype)
            layers.append((n.op_type, n.name, w))
    assert [t for t, _, _ in layers] == ["Conv", "Conv", "Conv", "Gemm"], layers

    # The file's int8 weights are PyTorch's own (Gemm stores [out, in] with transB=1).
    for (op, name, w), (tname, tw) in zip(layers, ref_int8.items()):
        mismatch = int((w.astype(np.int32) != tw.astype(np.int32)).sum())
        print(f"{name} <- {tname}: {mismatch} int8 weights differ from torch's int_repr")
        assert w.shape == tw.shape and mismatch == 0

    ops = {}
    for n in g.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    qdq = ops.get("QuantizeLinear", 0) + ops.get("DequantizeLinear", 0)
    print(f"op types: {ops}; Q/DQ nodes: {qdq} "
          f"({ops.get('QuantizeLinear', 0)} Q, {ops.get('DequantizeLinear', 0)} DQ)")

    per_layer, conv_full = {}, False
    for (op, name, w), tname in zip(layers, ref_int8):
        w32 = w.astype(np.int32)
        ch_max = np.abs(w32).reshape(w.shape[0], -1).max(1)
        over, total = pair_stats(w)
        per_layer[tname] = {
            "onnx_node": name, "op": op, "shape": list(w.shape),
            "max_abs_int8": int(ch_max.max()), "min_channel_max_abs_int8": int(ch_max.min()),
            "int8_min": int(w32.min()), "int8_max": int(w32.max()),
            "pairs_overflowing_int16": over, "pairs_total": total,
        }
        conv_full |= op == "Conv" and int(ch_max.max()) >= 100
        print(f"{tname:6s} {op:4s} {str(list(w.shape)):16s} max|w| {int(ch_max.max()):3d} "
              f"(every channel >= {int(ch_max.min())}), range [{int(w32.min())}, "
              f"{int(w32.max())}], adjacent pairs with 255*(|a|+|b|) > 32767: {over}/{total}")
    assert conv_full, "no conv reaches |w| >= 100: the weight quantizer is not full range"

    # The file computes what PyTorch's fake-quant model computes.
    with torch.no_grad():
        onnx_pred = torch.cat([run_onnx_with_torch(m, xte[i:i + 1000]).argmax(1)
                               for i in range(0, len(xte), 1000)])
    agree = int((onnx_pred == fq_pred).sum())
    onnx_top1 = float((onnx_pred == yte).float().mean())
    print(f"ONNX graph (run with torch) top-1 {onnx_top1:.4f}; agrees with fake-quant "
          f"PyTorch on {agree}/10000 test images")

    size = os.path.getsize(OUT_ONNX)
    report = {
        "script": "tests/data/make_torch_qdq.py",
        "file": "tests/data/torch_qdq.onnx",
        "onnx_bytes": size,
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "opset": OPSET,
        "seeds": {"torch": SEED, "calibration": CALIB_SEED},
        "training": {"epochs": EPOCHS, "optimizer": "Adam", "lr": LR, "batch": BATCH,
                     "threads": 1, "seconds": round(train_s, 1)},
        "preprocess": {"scale": "1/255", "mean": MEAN, "std": STD},
        "quantization": {
            "tool": "torch.ao.quantization eager mode, prepare_qat + PTQ calibration",
            "weights": "per-channel symmetric qint8, quant_min -128, quant_max 127, "
                       "PerChannelMinMaxObserver, no reduce_range",
            "activations": "per-tensor affine quint8, 0..255, MinMaxObserver, no reduce_range",
            "calibration_images": CALIB_IMAGES,
        },
        "export": {
            "weight_qdq_folded": folded,
            "identity_nodes_removed": ids,
            "weights_rounding_differently_under_onnx_quantizelinear": rounding_differs,
            "note": "int8 weights are PyTorch's (x * (1/scale), as int_repr); ONNX's "
                    "QuantizeLinear (x / scale) on the exported float weights would differ "
                    "by one step at near-ties for the count above",
        },
        "fp32_top1": round(fp32_top1, 4),
        "fake_quant_top1": round(fq_top1, 4),
        "fake_quant_correct_top1": int(round(fq_top1 * len(xte))),
        "fake_quant_agrees_with_fp32": fp32_agree,
        "onnx_top1_run_with_torch": round(onnx_top1, 4),
        "onnx_agrees_with_fake_quant": agree,
        "ops": ops,
        "qdq_nodes": qdq,
        "max_abs_int8_per_conv": {k: v["max_abs_int8"] for k, v in per_layer.items()
                                  if v["op"] == "Conv"},
        "layers": per_layer,
        "pairs_overflowing_int16_total": sum(v["pairs_overflowing_int16"]
                                             for v in per_layer.values()),
        "pairs_total": sum(v["pairs_total"] for v in per_layer.values()),
    }
    with open(OUT_JSON, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"wrote {OUT_ONNX} ({size} bytes) and {OUT_JSON}")


if __name__ == "__main__":
    main()
