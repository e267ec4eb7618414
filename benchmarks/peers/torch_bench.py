#!/usr/bin/python3
"""Times a torchvision model (ARCH: resnet50, the default, or mobilenet_v2; random weights, as
timing does not depend on their values) in PyTorch FP32 eval mode: RUNS timed runs at batch
BATCH after WARMUP, prints the median in ms. Peer figure for benchmarks/peers/side_by_side.sh
(dev-time only).

    /usr/bin/python3 torch_bench.py THREADS BATCH [RUNS] [WARMUP] [ARCH]
"""
import statistics
import sys
import time

import torch
import torchvision


def main():
    threads, batch = int(sys.argv[1]), int(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    arch = sys.argv[5] if len(sys.argv) > 5 else "resnet50"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(weights=None).eval()
    x = torch.randn(batch, 3, 224, 224)
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            t.append((time.perf_counter() - t0) * 1e3)
    print(f"{statistics.median(t):.3f}")


if __name__ == "__main__":
    main()
