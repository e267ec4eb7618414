#!/usr/bin/python3
"""Writes tests/data/imagenet_val: two tiny ImageNet validation sets as they are distributed, and
the labels torchvision gives their images, for tests/unit/imagenet_val_test.cpp.

  devkit/val/ILSVRC2012_val_000000NN.JPEG   flat validation images (ILSVRC2012_img_val.tar)
  devkit/ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt
                        one ILSVRC2012 id (1-based, the devkit's own class order) per image
  devkit/ILSVRC2012_devkit_t12/data/meta.mat
                        the devkit's synsets struct array (MATLAB v5, zlib-compressed as MATLAB
                        saves it): leaves and inner WordNet nodes, written by scipy.io.savemat
  devkit/meta_uncompressed.mat   the same without compression
  devkit/labels.txt     the class index of each image in sorted file order, as torchvision
                        gives it: parse_val_archive's layout (images moved into WNID folders,
                        WNIDs from meta.mat through scipy.io.loadmat as parse_devkit_archive
                        reads them) read by torchvision.datasets.ImageFolder (sorted WNIDs)
  devkit/classes.txt    ImageFolder's classes (the WNIDs in class-index order)
  kaggle/ILSVRC/Data/CLS-LOC/val/*.JPEG, kaggle/LOC_val_solution.csv,
  kaggle/LOC_synset_mapping.txt   the Kaggle ImageNet layout (boxes after each WNID)
  kaggle/labels.txt     as above, from the solution file's WNIDs through ImageFolder
  devkit_order.txt      the WNIDs in ILSVRC2012 id order (as the devkit's map_clsloc.txt lists
                        them, one "WNID ID name" per line), for the --labels test: with it the
                        class index of an image is its ground-truth id - 1

Run with /usr/bin/python3 (scipy, torchvision, PIL, NumPy); the output is deterministic.
"""
import os
import shutil
import tempfile

import numpy as np
import scipy.io as sio
from PIL import Image
from torchvision.datasets import ImageFolder

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "imagenet_val")
rng = np.random.default_rng(20261204)

# Leaves in ILSVRC2012 id order (the devkit's first five: not sorted by WNID), then inner nodes
# whose WNIDs sort before every leaf: a reader that forgets num_children gets the classes wrong.
LEAVES = [("n02119789", "kit fox, Vulpes macrotis"), ("n02100735", "English setter"),
          ("n02110185", "Siberian husky"), ("n02096294", "Australian terrier"),
          ("n02102040", "English springer, English springer spaniel")]
INNER = [("n00001740", "entity"), ("n01317541", "domestic animal, domesticated animal")]
N_IMAGES = 14


def picture():
    h, w = rng.integers(9, 15, 2)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def write_meta(path, compress):
    n = len(LEAVES) + len(INNER)
    fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children",
              "wordnet_height", "num_train_images"]
    synsets = np.zeros((n, 1), dtype=[(f, "O") for f in fields])
    for i, (wnid, words) in enumerate(LEAVES + INNER):
        leaf = i < len(LEAVES)
        synsets[i, 0] = (np.array([[i + 1.0]]), wnid, words, "a gloss of " + words.split(",")[0],
                         np.array([[0.0 if leaf else 2.0]]),
                         np.zeros((1, 0)) if leaf else np.array([[1.0, 2.0]]),
                         np.array([[0.0 if leaf else 3.0]]), np.array([[1300.0 if leaf else 0]]))
    sio.savemat(path, {"synsets": synsets}, do_compression=compress, format="5")


def imagefolder_labels(files, wnids):
    """torchvision's val layout (parse_val_archive) read by ImageFolder: labels per sorted file."""
    with tempfile.TemporaryDirectory() as tmp:
        for f, w in zip(files, wnids):
            os.makedirs(os.path.join(tmp, w), exist_ok=True)
            shutil.copy(f, os.path.join(tmp, w, os.path.basename(f)))
        folder = ImageFolder(tmp)
        by_name = {os.path.basename(p): t for p, t in folder.samples}
        return [by_name[os.path.basename(f)] for f in sorted(files)], folder.classes


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    # The devkit layout.
    dk = os.path.join(OUT, "devkit")
    data = os.path.join(dk, "ILSVRC2012_devkit_t12", "data")
    os.makedirs(data)
    os.makedirs(os.path.join(dk, "val"))
    ids = rng.integers(1, len(LEAVES) + 1, N_IMAGES)
    files = []
    for i in range(N_IMAGES):
        f = os.path.join(dk, "val", "ILSVRC2012_val_%08d.JPEG" % (i + 1))
        picture().save(f, format="JPEG", quality=90)
        files.append(f)
    with open(os.path.join(data, "ILSVRC2012_validation_ground_truth.txt"), "w") as f:
        f.writelines("%d\n" % i for i in ids)
    write_meta(os.path.join(data, "meta.mat"), True)
    write_meta(os.path.join(dk, "meta_uncompressed.mat"), False)
    # torchvision's reading of meta.mat (parse_devkit_archive.parse_meta_mat).
    meta = sio.loadmat(os.path.join(data, "meta.mat"), squeeze_me=True)["synsets"]
    nums_children = list(zip(*meta))[4]
    meta = [meta[i] for i, c in enumerate(nums_children) if c == 0]
    idx_to_wnid = {idx: wnid for idx, wnid in zip(*list(zip(*meta))[:2])}
    labels, classes = imagefolder_labels(files, [idx_to_wnid[i] for i in ids])
    with open(os.path.join(dk, "labels.txt"), "w") as f:
        f.writelines("%d\n" % t for t in labels)
    with open(os.path.join(dk, "classes.txt"), "w") as f:
        f.writelines(c + "\n" for c in classes)
    with open(os.path.join(OUT, "devkit_order.txt"), "w") as f:
        f.writelines("%s %d %s\n" % (w, i + 1, n.split(",")[0].replace(" ", "_"))
                     for i, (w, n) in enumerate(LEAVES))

    # The Kaggle layout: WNIDs in the solution file, rows in no particular order.
    kg = os.path.join(OUT, "kaggle")
    val = os.path.join(kg, "ILSVRC", "Data", "CLS-LOC", "val")
    os.makedirs(val)
    files, wnids = [], []
    for i in range(N_IMAGES - 4):
        f = os.path.join(val, "ILSVRC2012_val_%08d.JPEG" % (3 * i + 7))
        picture().save(f, format="JPEG", quality=90)
        files.append(f)
        wnids.append(LEAVES[rng.integers(0, len(LEAVES))][0])
    rows = ["%s,%s %d %d %d %d %s 1 2 3 4 \n" % (os.path.basename(f)[:-5], w, *rng.integers(0, 9, 4), w)
            for f, w in zip(files, wnids)]
    rng.shuffle(rows)
    with open(os.path.join(kg, "LOC_val_solution.csv"), "w") as f:
        f.write("ImageId,PredictionString\n")
        f.writelines(rows)
    with open(os.path.join(kg, "LOC_synset_mapping.txt"), "w") as f:
        f.writelines("%s %s\n" % (w, n) for w, n in sorted(LEAVES))
    labels, classes = imagefolder_labels(files, wnids)
    with open(os.path.join(kg, "labels.txt"), "w") as f:
        f.writelines("%d\n" % t for t in labels)
    with open(os.path.join(kg, "classes.txt"), "w") as f:
        f.writelines(c + "\n" for c in classes)


if __name__ == "__main__":
    main()
