# A seed for fuzz_onnx and fuzz_run (tests/fuzz/corpus/onnx/qdq_own_kernels.onnx): a small QDQ model
# whose convolutions take qbench's own int8 kernels, a 3x3 stride-1 convolution of 16 channels over
# 32x32 (integer Winograd on VNNI and on AVX2) with a residual add, then a 1x1 convolution of 7-bit
# weights (the byte products on AVX2). Run: /usr/bin/python3 tests/fuzz/make_qdq_seed.py OUT.onnx
import sys

import numpy as np
import onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
rng = np.random.default_rng(7)
inits = [
    nh.from_array(np.array(0.02, np.float32), "s"), nh.from_array(np.array(128, np.uint8), "zp"),
    nh.from_array(rng.integers(-127, 128, (16, 16, 3, 3)).astype(np.int8), "w1"),
    nh.from_array(np.full(16, 0.003, np.float32), "ws1"), nh.from_array(np.zeros(16, np.int8), "wz1"),
    nh.from_array(rng.standard_normal(16).astype(np.float32) * 0.1, "b1"),
    nh.from_array(rng.integers(-64, 64, (32, 16, 1, 1)).astype(np.int8), "w2"),
    nh.from_array(np.array(0.004, np.float32), "ws2"), nh.from_array(np.array(0, np.int8), "wz2"),
]
n = [
    h.make_node("QuantizeLinear", ["x", "s", "zp"], ["xq"]),
    h.make_node("DequantizeLinear", ["xq", "s", "zp"], ["xd"]),
    h.make_node("DequantizeLinear", ["w1", "ws1", "wz1"], ["w1d"], axis=0),
    h.make_node("Conv", ["xd", "w1d", "b1"], ["c1"], pads=[1, 1, 1, 1]),
    h.make_node("QuantizeLinear", ["c1", "s", "zp"], ["c1q"]),
    h.make_node("DequantizeLinear", ["c1q", "s", "zp"], ["c1d"]),
    h.make_node("Add", ["c1d", "xd"], ["a"]),
    h.make_node("Relu", ["a"], ["r"]),
    h.make_node("QuantizeLinear", ["r", "s", "zp"], ["rq"]),
    h.make_node("DequantizeLinear", ["rq", "s", "zp"], ["rd"]),
    h.make_node("DequantizeLinear", ["w2", "ws2", "wz2"], ["w2d"]),
    h.make_node("Conv", ["rd", "w2d"], ["c2"]),
    h.make_node("QuantizeLinear", ["c2", "s", "zp"], ["c2q"]),
    h.make_node("DequantizeLinear", ["c2q", "s", "zp"], ["y"]),
]
g = h.make_graph(n, "qdq_own_kernels", [h.make_tensor_value_info("x", T.FLOAT, [1, 16, 32, 32])],
                 [h.make_tensor_value_info("y", T.FLOAT, [1, 32, 32, 32])], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="qbench-fuzz-seed")
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1] if len(sys.argv) > 1 else "qdq_own_kernels.onnx")
