#!/usr/bin/env python3
"""Writes tests/data/lenet_input64.npy: the first 64 Fashion-MNIST test images as LeNet's
float32 input [64, 1, 28, 28], preprocessed like models/train_zoo.py (torchvision ToTensor:
pixel / 255 in float32, no normalization for lenet), so `qbench run` on it must reproduce
models/reference/lenet.logits64.npy. Standard library only (no NumPy).

Usage: make_lenet_input.py [IDX_GZ] [OUT]
"""
import gzip
import struct
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
OUT = sys.argv[2] if len(sys.argv) > 2 else "tests/data/lenet_input64.npy"
N = 64

with gzip.open(SRC, "rb") as f:
    data = f.read()
magic, count, rows, cols = struct.unpack(">IIII", data[:16])
assert magic == 0x00000803 and (rows, cols) == (28, 28) and count >= N, "unexpected IDX header"
pixels = data[16:16 + N * rows * cols]

# p / 255 in double then rounded to float32 equals the float32 division PyTorch does.
body = struct.pack(f"<{len(pixels)}f", *(p / 255.0 for p in pixels))
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 1, %d, %d), }" % (N, rows, cols)
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
with open(OUT, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + body)
