#!/usr/bin/python3
"""Writes an ImageNet-validation-shaped set for measuring qbench's single-node evaluation rate:
N flat ILSVRC2012_val_NNNNNNNN.JPEG files of ImageNet's typical size (500x375, quality 90, a
smooth picture with noise so they decode like photographs, ~110 kB each) and a devkit folder
with a 1000-class meta.mat and a ground truth of random ids. The labels are random: this set
measures speed, not accuracy. Usage: make_val_set.py OUT_DIR [N] (default 512).
Run with /usr/bin/python3 (scipy, PIL, NumPy)."""
import os
import sys

import numpy as np
import scipy.io as sio
from PIL import Image

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 512
rng = np.random.default_rng(7)
os.makedirs(os.path.join(out, "val"), exist_ok=True)
data = os.path.join(out, "ILSVRC2012_devkit_t12", "data")
os.makedirs(data, exist_ok=True)
y, x = np.mgrid[0:375, 0:500]
for i in range(n):
    planes = [128 + 90 * np.sin((x * (c + 1 + i % 5) + y * (3 - c)) / 37.0) for c in range(3)]
    img = np.clip(np.stack(planes, -1) + rng.normal(0, 12, (375, 500, 3)), 0, 255)
    Image.fromarray(img.astype(np.uint8)).save(
        os.path.join(out, "val", "ILSVRC2012_val_%08d.JPEG" % (i + 1)), quality=90)
synsets = np.zeros((1000, 1), dtype=[(f, "O") for f in ["ILSVRC2012_ID", "WNID", "words",
                                                        "num_children"]])
for i in range(1000):
    synsets[i, 0] = (np.array([[i + 1.0]]), "n%08d" % (1000 + 7 * i), "class %d" % i,
                     np.array([[0.0]]))
sio.savemat(os.path.join(data, "meta.mat"), {"synsets": synsets}, do_compression=True)
with open(os.path.join(data, "ILSVRC2012_validation_ground_truth.txt"), "w") as f:
    f.writelines("%d\n" % v for v in rng.integers(1, 1001, n))
