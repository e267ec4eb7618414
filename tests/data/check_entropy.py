#!/usr/bin/env python3
"""Independent check of qbench's entropy (TensorRT KL) calibration.

Writes N Fashion-MNIST train images into a scratch IDX directory (so qbench calibrates on
exactly those images: with --calib-size N over N images every one is used, in order), runs
`qbench quantize --range entropy --save-calib-table` on it, dumps the calibrated tensors of the
float model with `qbench run` (a copy of the model whose extra graph outputs are those tensors),
and recomputes each threshold in numpy:

  ref   : exact |x| histogram, 2048 bins over [0, max|x|], exact zeros left out, TensorRT's
          search (reference distribution P = first i bins with the outliers folded into bin i-1;
          Q = the first i bins (no outliers) merged into `levels` levels, each level's mass
          spread evenly over its bins that are non-empty; KL(P||Q) with scipy-style
          normalization; the smallest KL wins, ties to the larger i)
  pq    : NVIDIA pytorch-quantization's _compute_amax_entropy verbatim (numpy digitize
          partition, bins[0] = bins[1], start bin 128, 128 levels signed / 256 unsigned) on the
          histogram with zeros included, as that library collects it.

Usage: check_entropy.py --qbench build/qbench --model models/lenet.onnx [--n 512]
                        [--activations u8|s8] [--tol 0.02] [--pq] [--write-table FILE]
Prints one line per tensor; exit 1 when qbench's threshold and `ref` differ by more than
--tol (relative) on some tensor.
"""
import argparse
import gzip
import os
import struct
import subprocess
import sys
import tempfile
from collections import Counter

import numpy as np
import onnx
from onnx import helper, TensorProto

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, arr):
    arr = np.ascontiguousarray(arr, np.uint8)
    head = struct.pack(">I", 0x0800 | arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with open(path, "wb") as f:
        f.write(head + arr.tobytes())


def hist_abs(x, bins, drop_zeros=True):
    a = np.abs(x.ravel().astype(np.float64))
    limit = a.max()
    zeros = int((a == 0).sum())
    if drop_zeros:
        a = a[a != 0]
    if limit == 0:
        return np.zeros(bins), 0.0, zeros
    idx = np.minimum((a * (bins / limit)).astype(np.int64), bins - 1)
    return np.bincount(idx, minlength=bins).astype(np.float64), limit, zeros


def kl(p, q):
    """scipy.stats.entropy(p, q): both normalized; inf where q == 0 < p."""
    p = p / p.sum()
    q = q / q.sum()
    m = p > 0
    if np.any(q[m] == 0):
        return np.inf
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


def entropy_ref(counts, limit, levels):
    """TensorRT's search, written from the published pseudo-code (GTC 2017, '8-bit inference
    with TensorRT'), levels = quantized bins between 0 and the threshold."""
    n = len(counts)
    w = limit / n
    nz = np.nonzero(counts)[0]
    if len(nz) == 0:
        return limit
    last = nz[-1] + 1
    if last <= levels:
        return last * w
    best, best_i = np.inf, last
    for i in range(levels, last + 1):
        p = counts[:i].copy()
        p[i - 1] += counts[i:].sum()
        sl = counts[:i]
        # level of each source bin: bins [floor(b*i/L), floor((b+1)*i/L)) form level b
        edges = np.floor(np.arange(levels + 1) * (i / levels)).astype(np.int64)
        edges[-1] = i
        q = np.zeros(i)
        for b in range(levels):
            s, e = edges[b], edges[b + 1]
            nzb = p[s:e] != 0
            k = nzb.sum()
            if k:
                q[s:e][nzb] = sl[s:e].sum() / k
        # TensorRT smooths empty q bins where p has mass
        q[(p > 0) & (q <= 0)] = 1e-4
        d = kl(p, q)
        if d < best:
            best, best_i = d, i
    return best_i * w


def entropy_pq(calib_hist, limit, unsigned, num_bits=8, stride=1, start_bin=128):
    """pytorch_quantization.calib.histogram._compute_amax_entropy (v2.1), numpy only."""
    bin_edges = np.linspace(0, limit, len(calib_hist) + 1)
    bins = calib_hist[:].copy()
    bins[0] = bins[1]
    total_data = np.sum(bins)
    divergences, arguments = [], []
    nbins = 1 << (num_bits - 1 + int(unsigned))
    stop = len(bins)
    for i in range(start_bin, stop + 1, stride):
        # the library's per-bin Python loops, vectorized (same arithmetic)
        space = np.linspace(0, i, num=nbins + 1)
        digitized_space = np.digitize(np.arange(i), space) - 1
        digitized_space[bins[:i] == 0] = -1
        keep = digitized_space != -1
        new_density_counts = np.bincount(digitized_space[keep], weights=bins[:i][keep],
                                         minlength=nbins)
        val = np.bincount(digitized_space[keep], minlength=nbins)
        new_density_counts = np.where(val > 0, new_density_counts / np.maximum(val, 1), 0)
        new_density = np.zeros(i, dtype=np.float64)
        new_density[keep] = new_density_counts[digitized_space[keep]]
        reference_density = np.array(bins[:len(digitized_space)])
        reference_density[-1] += np.sum(bins[i:])
        divergences.append(kl(reference_density, new_density))
        arguments.append(i)
    divergences = np.array(divergences)
    last_argmin = len(divergences) - 1 - np.argmin(divergences[::-1])
    return bin_edges[last_argmin * stride + start_bin]


def write_table(path, rows, act):
    """qbench calibration table v1 from (tensor, min, max), qparams as activation_qparams."""
    with open(path, "w") as f:
        f.write("# qbench calibration table v1 (check_entropy.py: numpy reference thresholds)\n")
        for t, lo, hi in rows:
            lo, hi = min(lo, np.float32(0)), max(hi, np.float32(0))
            if act == "s8":
                m = max(-lo, hi)
                scale, zp, dt = (np.float32(m / np.float32(127)) if m > 0 else 1.0), 0, "s8"
            else:
                scale = np.float32((hi - lo) / np.float32(255)) if hi > lo else np.float32(1)
                zp = int(np.clip(np.round(np.float64(np.float32(-lo) / scale)), 0, 255))
                dt = "u8"
            f.write(f"{t} entropy {lo:.9g} {hi:.9g} {scale:.9g} {zp} {dt}\n")


def read_table(path):
    rows = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, method, lo, hi, scale, zp, dt = line.split()
        rows[name] = (float(lo), float(hi))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qbench", default="build/qbench")
    ap.add_argument("--model", required=True)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--activations", default="u8")
    ap.add_argument("--bins", type=int, default=2048)
    ap.add_argument("--tol", type=float, default=0.02)
    ap.add_argument("--write-table", help="write a calibration table with the reference thresholds")
    ap.add_argument("--pq", action="store_true", help="also run pytorch-quantization's search (slow)")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="check_entropy_")
    imgs = read_idx(f"{DATA}/train-images-idx3-ubyte.gz")[: args.n]
    labs = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz")[: args.n]
    ddir = os.path.join(tmp, "data")
    os.makedirs(ddir)
    write_idx(f"{ddir}/train-images-idx3-ubyte", imgs)
    write_idx(f"{ddir}/train-labels-idx1-ubyte", labs)
    write_idx(f"{ddir}/t10k-images-idx3-ubyte", imgs)
    write_idx(f"{ddir}/t10k-labels-idx1-ubyte", labs)

    table = os.path.join(tmp, "table.tsv")
    subprocess.run([args.qbench, "quantize", "--model", args.model, "--recipe", "static-int8",
                    "--calib-data", f"fashion-mnist:{ddir}", "--calib-size", str(args.n),
                    "--range", "entropy", "--activations", args.activations,
                    "--bins", str(args.bins), "--out", os.path.join(tmp, "q.onnx"),
                    "--save-calib-table", table], check=True, stdout=subprocess.DEVNULL)
    ours = read_table(table)

    m = onnx.load(args.model)
    meta = {p.key: p.value for p in m.metadata_props}
    mean = float(meta.get("qbench.mean", "0"))
    std = float(meta.get("qbench.std", "1"))
    in_name = m.graph.input[0].name
    outs = [o.name for o in m.graph.output]
    for t in ours:
        if t not in outs and t != in_name:
            m.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    probe = os.path.join(tmp, "probe.onnx")
    onnx.save(m, probe)
    x = ((imgs.astype(np.float32) / np.float32(255.0) - np.float32(mean)) / np.float32(std))
    x = x.reshape(args.n, 1, 28, 28).astype(np.float32)
    np.save(os.path.join(tmp, "x.npy"), x)
    odir = os.path.join(tmp, "acts")
    subprocess.run([args.qbench, "run", "--model", probe, "--input", os.path.join(tmp, "x.npy"),
                    "--out", odir], check=True, stdout=subprocess.DEVNULL)

    def fname(t):
        return "".join(c if c.isalnum() or c in "._-" else "_" for c in t) + ".npy"

    bad = 0
    ref_rows = []
    print(f"{'tensor':50s} {'min':>9s} {'max':>9s} {'zeros%':>6s} {'L':>4s} {'qbench':>9s} "
          f"{'ref':>9s} {'rel':>7s}" + (f" {'pq':>9s}" if args.pq else ""))
    for t, (lo, hi) in ours.items():
        a = x if t == in_name else np.load(os.path.join(odir, fname(t)))
        amin, amax = float(a.min()), float(a.max())
        if args.activations == "s8":
            levels = 127
        else:
            levels = 255 if amin >= 0 else 128
        counts, limit, zeros = hist_abs(a, args.bins)
        ref = entropy_ref(counts, limit, levels)
        # qbench's table holds [max(min, -t), min(max, t)]; t shows on the side that was clipped
        # (both sides unclipped: t >= max|x|, any such t is equivalent)
        if hi < amax:
            ours_t = hi
        elif amin < 0 and lo > amin:
            ours_t = -lo
        else:
            ours_t = max(-lo, hi)
        rlo, rhi = max(amin, -ref), min(amax, ref)
        # compare the effective ranges, relative to max|x|
        rel = max(abs(rlo - lo), abs(rhi - hi)) / max(-amin, amax)
        ref_rows.append((t, np.float32(rlo), np.float32(rhi)))
        flag = "" if rel <= args.tol else "  <-- MISMATCH"
        bad += rel > args.tol
        line = (f"{t[-50:]:50s} {amin:9.4f} {amax:9.4f} {100.0 * zeros / a.size:6.1f} {levels:4d} "
                f"{ours_t:9.4f} {ref:9.4f} {rel:7.4f}")
        if args.pq:
            c0, lim0, _ = hist_abs(a, args.bins, drop_zeros=False)
            line += f" {entropy_pq(c0, lim0, unsigned=amin >= 0):9.4f}"
        print(line + flag)
    if args.write_table:
        write_table(args.write_table, ref_rows, args.activations)
    print(f"scratch: {tmp}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
