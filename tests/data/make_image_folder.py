#!/usr/bin/python3
"""Writes tests/data/image_folder: a tiny torchvision ImageFolder dataset (train/ and val/, JPEG
and PNG files of every colour type qbench decodes) and the references the unit test
tests/unit/data_folder_test.cpp compares qbench against, computed by torchvision itself:

  val_ref.npy     uint8 [N, 3, 16, 16]: ImageFolder(val, Compose([Resize(20), CenterCrop(16)]))
                  (PIL loading and antialiased bilinear resize), in ImageFolder's order
  val_labels.npy  int64 [N]: ImageFolder's targets
  val_files.txt   the image paths relative to val/, in ImageFolder's order
  decoded/*.npy   uint8 [H, W, 3]: PIL's Image.open(f).convert("RGB") of some files, unresized
  val_ref_gray.npy  uint8 [N, 1, 16, 16]: the same with Grayscale() first
  tiny_rgb.onnx   a small random-weight 3-class CNN on 3x16x16 input (dynamic batch), exported
                  by torch.onnx.export, for tests/e2e/folder.sh
  tiny_rgb.pred.txt  PyTorch's top-1 prediction per val image with the transform above plus
                  ToTensor + Normalize(ImageNet mean/std), one per line (ImageFolder order)

It also writes tests/data/fmnist_folder: the first 100 Fashion-MNIST test images (Debian package
dataset-fashion-mnist) as 28x28 grayscale PNGs in class folders 0-tshirt ... 9-boot, and
lenet.pred.txt, PyTorch's predictions for them from models/reference/lenet.pred.npy in
ImageFolder's order, for the e2e test of a grayscale model on an image folder.

Run with /usr/bin/python3 (torch, torchvision, PIL, NumPy); the output is deterministic.
"""
import gzip
import os
import shutil

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "image_folder")
rng = np.random.default_rng(20261127)


def picture(h, w, channels=3):
    """Smooth gradients plus noise: JPEG-friendly but with detail for the resampler."""
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(channels):
        base = 128 + 100 * np.sin((x * (c + 1) + y * (3 - c)) / 5.0)
        planes.append(base + rng.normal(0, 20, (h, w)))
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


def save(rel, img, **kw):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, **kw)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    # Class names whose sorted order (byte order: upper case first) differs from creation order.
    # val: every colour type and size case.
    save("val/zebra/a.jpg", Image.fromarray(picture(37, 50)), quality=90)  # landscape RGB
    save("val/zebra/b.PNG", Image.fromarray(picture(45, 31)))  # portrait RGB, upper-case ext
    save("val/zebra/nested/c.jpeg", Image.fromarray(picture(20, 26)))  # short side == resize
    save("val/Apple/gray.jpg", Image.fromarray(picture(33, 41, 1)[:, :, 0], "L"), quality=85)
    save("val/Apple/gray.png", Image.fromarray(picture(24, 23, 1)[:, :, 0], "L"))
    save("val/Apple/tiny.png", Image.fromarray(picture(10, 12)))  # upscaled
    rgba = np.concatenate([picture(30, 29), rng.integers(0, 256, (30, 29, 1), np.uint8)], -1)
    save("val/mole/rgba.png", Image.fromarray(rgba, "RGBA"))
    save("val/mole/palette.png", Image.fromarray(picture(27, 40)).quantize(colors=32))
    save("val/mole/cmyk.jpg", Image.fromarray(picture(26, 34, 4), "CMYK"), quality=90)
    save("val/mole/la.png", Image.fromarray(picture(21, 35, 2), "LA"))
    save("val/mole/progressive.jpg", Image.fromarray(picture(40, 22)), quality=80,
         progressive=True)
    with open(os.path.join(OUT, "val/mole/notes.txt"), "w") as f:
        f.write("not an image: ImageFolder skips it\n")
    # train: different images, same classes.
    for cls, n in (("zebra", 3), ("Apple", 2), ("mole", 2)):
        for i in range(n):
            save(f"train/{cls}/{i}.png", Image.fromarray(picture(24 + i, 30)))

    val = os.path.join(OUT, "val")
    tf = transforms.Compose([transforms.Resize(20), transforms.CenterCrop(16)])
    ds = torchvision.datasets.ImageFolder(val, transform=tf)
    ref = np.stack([np.asarray(img).transpose(2, 0, 1) for img, _ in ds])
    np.save(os.path.join(OUT, "val_ref.npy"), ref.astype(np.uint8))
    np.save(os.path.join(OUT, "val_labels.npy"), np.array(ds.targets, np.int64))
    gray = torchvision.datasets.ImageFolder(
        val, transform=transforms.Compose([transforms.Grayscale(), tf]))
    ref = np.stack([np.asarray(img)[None] for img, _ in gray])
    np.save(os.path.join(OUT, "val_ref_gray.npy"), ref.astype(np.uint8))
    with open(os.path.join(OUT, "val_files.txt"), "w") as f:
        for path, _ in ds.samples:
            f.write(os.path.relpath(path, val) + "\n")
    os.makedirs(os.path.join(OUT, "decoded"))
    for rel in ("zebra/a.jpg", "Apple/gray.jpg", "mole/cmyk.jpg", "mole/progressive.jpg",
                "mole/palette.png", "mole/rgba.png", "mole/la.png"):
        rgb = np.asarray(Image.open(os.path.join(val, rel)).convert("RGB"))
        name = rel.replace("/", "_").replace(".", "_") + ".npy"
        np.save(os.path.join(OUT, "decoded", name), rgb)
    write_model(val)
    write_fmnist_folder()
    print(f"wrote {len(ds)} val images, classes {ds.classes}")


def write_model(val):
    torch.set_num_threads(1)
    tf = transforms.Compose([
        transforms.Resize(20), transforms.CenterCrop(16), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    ds = torchvision.datasets.ImageFolder(val, transform=tf)
    x = torch.stack([img for img, _ in ds])
    # The first seed whose random model predicts more than one class with no near-tie (the test
    # compares exact predictions).
    for seed in range(100):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(), torch.nn.Linear(16, 3)).eval()
        with torch.no_grad():
            model[-1].weight *= 10
            logits = model(x)
        top2 = logits.topk(2, dim=1).values
        if (top2[:, 0] - top2[:, 1]).min() > 1e-2 and len(set(logits.argmax(1).tolist())) > 1:
            break
    else:
        raise SystemExit("no seed gives a model without near-ties")
    torch.onnx.export(model, x[:1], os.path.join(OUT, "tiny_rgb.onnx"), input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}},
                      opset_version=13)
    with open(os.path.join(OUT, "tiny_rgb.pred.txt"), "w") as f:
        for p in logits.argmax(1).tolist():
            f.write(f"{p}\n")


def write_fmnist_folder():
    out = os.path.join(HERE, "fmnist_folder")
    shutil.rmtree(out, ignore_errors=True)
    src = "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(src, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:100]
    with gzip.open(os.path.join(src, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:100]
    names = ["0-tshirt", "1-trouser", "2-pullover", "3-dress", "4-coat", "5-sandal", "6-shirt",
             "7-sneaker", "8-bag", "9-boot"]
    for i, (img, label) in enumerate(zip(images, labels)):
        path = os.path.join(out, names[label], f"{i:03d}.png")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Image.fromarray(img, "L").save(path)
    pred = np.load(os.path.join(HERE, "..", "..", "models", "reference", "lenet.pred.npy"))
    ds = torchvision.datasets.ImageFolder(out)
    with open(os.path.join(out, "lenet.pred.txt"), "w") as f:
        for path, _ in ds.samples:
            f.write(f"{pred[int(os.path.basename(path)[:3])]}\n")


if __name__ == "__main__":
    main()
