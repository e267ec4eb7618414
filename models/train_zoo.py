#!/usr/bin/python3
"""Train and export the qbench model zoo (Fashion-MNIST, 1x28x28 -> 10 logits).

Run with Debian's PyTorch:  /usr/bin/python3 models/train_zoo.py [--only NAME ...]

Recipe (all models):
  * data: Fashion-MNIST TRAIN split only (60,000 images), read from the IDX .gz
    files in /usr/share/datasets/fashion-mnist; the TEST split (10,000) is used
    only for the reported accuracy and the reference outputs.
  * preprocessing exactly as torchvision: x = uint8.float() / 255, then for
    resnet/mobilenet (x - 0.2860) / 0.3530 in float32.  Normalisation is NOT
    part of the ONNX graph; it is recorded in metadata_props and zoo.json.
  * determinism: torch.set_num_threads(1); per model torch.manual_seed(SEED),
    np.random.seed(SEED) and a torch.Generator(SEED) drive init, shuffling and
    augmentation, so `--only NAME` reproduces the same model as a full run.
  * optimiser AdamW (no weight decay on biases/norm params), one-cycle
    schedule (5% linear warm-up, then cosine decay to 0, stepped per batch),
    cross-entropy; last partial batch of each epoch dropped.  Per model:
      mlp        15 ep  lr 1e-3  wd 1e-4  batch 128  no aug
      lenet      30 ep  lr 2e-3  wd 1e-4  batch 128  crop2
      resnet     12 ep  lr 3e-3  wd 5e-4  batch 128  crop2+flip  smoothing 0.1
      mobilenet   8 ep  lr 3e-3  wd 1e-4  batch 128  crop2+flip  smoothing 0.1
      vit         7 ep  lr 2e-3  wd 5e-2  batch  64  no aug
      mobilenetv2 3 ep  lr 1e-2  wd 1e-4  batch 128  crop2+flip  smoothing 0.1
    mobilenetv2 is MobileNetV2's layout (expansion 6) trained at a high learning
    rate on purpose: a few expansion channels die (always 0 after ReLU6), the
    depthwise BatchNorm after them sees variance ~0, and folding it scales those
    channels' depthwise weights ~100x the others, the mechanism behind MobileNetV2's
    per-tensor PTQ collapse (Krishnamoorthi 2018; Nagel et al. 2019). It is the
    zoo's model where one weight scale per tensor struggles.
    ("crop2" = random 28x28 crop of the 2-pixel zero-padded image, "flip" =
    random horizontal flip; both per sample, in uint8 space.)  RECIPES below
    is the source of truth.  ~25 min in total on one otherwise idle core.
  * speed only (no effect on the exported graphs): conv nets train in
    channels_last; Linear layers train as 1x1 convolutions (see Linear).
  * export: eval() mode, torch.onnx.export, input "input", output "logits",
    dynamic batch axis, do_constant_folding=True, opset 13 (opset 17 for vit
    so LayerNorm becomes LayerNormalization); metadata_props qbench.mean,
    qbench.std, qbench.labels, qbench.source; onnx.checker.check_model.
  * outputs: models/<name>.onnx, models/reference/<name>.pred.npy (uint8
    argmax over the 10,000 test images), models/reference/<name>.logits64.npy
    (float32 [64,10], first 64 test images), models/zoo.json.
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA_DIR = "/usr/share/datasets/fashion-mnist"
SEED = 20240601
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FMNIST_MEAN, FMNIST_STD = 0.2860, 0.3530


# ----------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------
def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    assert (magic >> 8) == 0x08, "expected unsigned byte IDX file"
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load_split(split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.copy()).unsqueeze(1)          # uint8 [N,1,28,28]
    y = torch.from_numpy(y.astype(np.int64))
    return x, y


def preprocess(x_u8, mean, std):
    """torchvision ToTensor (+ Normalize) in float32."""
    x = x_u8.float().div(255)
    if mean is not None:
        x = (x - mean) / std
    return x


def augment(x_u8, aug, gen):
    if not aug:
        return x_u8
    b = x_u8.shape[0]
    if "flip" in aug:
        flip = torch.rand(b, generator=gen) < 0.5
        x_u8 = torch.where(flip[:, None, None, None], x_u8.flip(3), x_u8)
    if "crop2" in aug:
        p = 2
        xp = F.pad(x_u8, (p, p, p, p))
        oy = torch.randint(0, 2 * p + 1, (b,), generator=gen)
        ox = torch.randint(0, 2 * p + 1, (b,), generator=gen)
        ar = torch.arange(28)
        rows = (oy[:, None] + ar)[:, :, None]               # [B,28,1]
        cols = (ox[:, None] + ar)[:, None, :]               # [B,1,28]
        bi = torch.arange(b)[:, None, None]
        x_u8 = xp[bi, 0, rows, cols].unsqueeze(1)
    return x_u8


# ----------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------
class Linear(nn.Linear):
    """nn.Linear whose *training* forward runs as a 1x1 convolution.

    Debian's torch is linked against reference (netlib) BLAS, ~6 GFLOP/s on one
    thread, while oneDNN convolutions run ~8x faster.  The conv computes the
    same affine map (differences ~1e-6), so only training speed changes.  In
    eval() mode -- used for export, accuracy and reference outputs -- this is
    the plain F.linear of nn.Linear (Gemm / MatMul+Add in ONNX)."""

    def forward(self, x):
        if not self.training:
            return F.linear(x, self.weight, self.bias)
        shp = x.shape
        y = F.conv2d(x.reshape(-1, shp[-1], 1, 1),
                     self.weight[:, :, None, None], self.bias)
        return y.reshape(*shp[:-1], self.out_features)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            Linear(784, 256), nn.ReLU(inplace=True),
            Linear(256, 128), nn.ReLU(inplace=True),
            Linear(128, 10))

    def forward(self, x):
        return self.net(x)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            Linear(400, 120), nn.ReLU(inplace=True),
            Linear(120, 84), nn.ReLU(inplace=True),
            Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + sc)


class ResNet(nn.Module):
    def __init__(self, blocks_per_stage=(1, 1, 1), widths=(16, 32, 64)):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 3, 1, 1, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        layers, cin = [], widths[0]
        for i, (n, w) in enumerate(zip(blocks_per_stage, widths)):
            for j in range(n):
                stride = (1 if i == 0 else 2) if j == 0 else 1
                layers.append(BasicBlock(cin, w, stride))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = Linear(cin, 10)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True),
            nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False),
            nn.BatchNorm2d(hid), nn.ReLU6(inplace=True),
            nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.block(x)
        return x + out if self.use_res else out


class MobileNet(nn.Module):
    # (expand t, out channels c, stride s)
    # stem has stride 2: blocks run at 14x14 -> 7x7 -> 4x4
    CFG = [(4, 16, 1), (4, 24, 2), (4, 24, 1), (4, 32, 1), (4, 32, 1), (4, 64, 2), (4, 64, 1)]

    def __init__(self, last=128):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(inplace=True))
        blocks, cin = [], 16
        for t, c, s in self.CFG:
            blocks.append(InvertedResidual(cin, c, s, t))
            cin = c
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Conv2d(cin, last, 1, bias=False), nn.BatchNorm2d(last), nn.ReLU6(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = Linear(last, 10)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class MobileNetV2(MobileNet):
    # MobileNetV2's inverted residuals at expansion 6 (first block 1); the same stem, head and
    # classifier as MobileNet.
    CFG = [(1, 16, 1), (6, 24, 2), (6, 24, 1), (6, 32, 1), (6, 32, 1), (6, 64, 2), (6, 64, 1)]


class Attention(nn.Module):
    """Multi-head self attention written out explicitly (MatMul/Softmax in ONNX).

    Reshapes use -1 for the batch axis and constants for the rest, so they
    export as Reshape with a constant shape (no Shape/Gather arithmetic)."""

    def __init__(self, dim, heads, tokens):
        super().__init__()
        self.dim, self.heads, self.tokens = dim, heads, tokens
        self.hd = dim // heads
        self.scale = self.hd ** -0.5
        self.qkv = Linear(dim, 3 * dim)
        self.proj = Linear(dim, dim)

    def forward(self, x):                                   # x [B,N,D]
        n, h, hd = self.tokens, self.heads, self.hd
        qkv = self.qkv(x).reshape(-1, n, 3, h, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)                             # 3 x [B,h,N,hd]
        attn = torch.matmul(q * self.scale, k.transpose(-2, -1))   # [B,h,N,N]
        attn = torch.softmax(attn, dim=-1)
        out = torch.matmul(attn, v)                         # [B,h,N,hd]
        out = out.transpose(1, 2).reshape(-1, n, self.dim)
        return self.proj(out)


class EncoderBlock(nn.Module):
    def __init__(self, dim, heads, mlp_hidden, tokens):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, tokens)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(Linear(dim, mlp_hidden), nn.GELU(), Linear(mlp_hidden, dim))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class ViT(nn.Module):
    def __init__(self, dim=64, depth=4, heads=4, mlp_hidden=128, patch=4):
        super().__init__()
        self.dim = dim
        self.np = (28 // patch) ** 2                        # 49 patches
        self.patch_embed = nn.Conv2d(1, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.np + 1, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.blocks = nn.Sequential(
            *[EncoderBlock(dim, heads, mlp_hidden, self.np + 1) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = Linear(dim, 10)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_embed(x)                             # [B,D,7,7]
        x = x.reshape(-1, self.dim, self.np).transpose(1, 2)  # [B,49,D]
        cls = self.cls_token.expand_as(x[:, :1])            # [B,1,D] (Slice/Shape/Expand)
        x = torch.cat([cls, x], 1) + self.pos_embed         # [B,50,D]
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


# ----------------------------------------------------------------------------
# recipes
# ----------------------------------------------------------------------------
RECIPES = {
    "mlp": dict(make=MLP, normalize=False, opset=13, epochs=15, lr=1e-3, wd=1e-4,
                batch=128, aug="", smoothing=0.0),
    "lenet": dict(channels_last=True, make=LeNet, normalize=False, opset=13, epochs=30,
                  lr=2e-3, wd=1e-4, batch=128, aug="crop2", smoothing=0.0),
    "resnet": dict(channels_last=True, make=ResNet, normalize=True, opset=13, epochs=12,
                   lr=3e-3, wd=5e-4, batch=128, aug="crop2+flip", smoothing=0.1),
    "mobilenet": dict(channels_last=True, make=MobileNet, normalize=True, opset=13, epochs=8,
                      lr=3e-3, wd=1e-4, batch=128, aug="crop2+flip", smoothing=0.1),
    "vit": dict(make=ViT, normalize=False, opset=17, epochs=7, lr=2e-3, wd=5e-2,
                batch=64, aug="", smoothing=0.0),
    # High learning rate on purpose (see the docstring); qbench demo adds its per-tensor rows.
    "mobilenetv2": dict(channels_last=True, make=MobileNetV2, normalize=True, opset=13,
                        epochs=3, lr=1e-2, wd=1e-4, batch=128, aug="crop2+flip", smoothing=0.1,
                        demo_variants=["static-int8+per-tensor",
                                       "static-int8+per-tensor+bias-correct"]),
}
ORDER = ["mlp", "lenet", "resnet", "mobilenet", "vit", "mobilenetv2"]


def one_cycle(step, total, warm_frac=0.05):
    warm = max(1, int(total * warm_frac))
    if step < warm:
        return (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return 0.5 * (1.0 + math.cos(math.pi * t))


@torch.no_grad()
def infer(model, x_u8, mean, std, bs=500):
    model.eval()
    outs = [model(preprocess(x_u8[i:i + bs], mean, std)) for i in range(0, len(x_u8), bs)]
    return torch.cat(outs)


def train(name, r, data, log, max_batches=None):
    xtr, ytr, xte, yte = data
    mean, std = (FMNIST_MEAN, FMNIST_STD) if r["normalize"] else (None, None)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model = r["make"]()
    if r.get("channels_last"):   # oneDNN training speed only; exported in NCHW
        model = model.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": r["wd"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=r["lr"])
    n, bs = len(xtr), r["batch"]
    steps_per_epoch = n // bs                               # drop last partial batch
    total = steps_per_epoch * r["epochs"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: one_cycle(s, total))
    log(f"[{name}] params={params} epochs={r['epochs']} batch={bs} lr={r['lr']} aug={r['aug'] or 'none'}")
    t0 = time.time()
    for ep in range(r["epochs"]):
        model.train()
        perm = torch.randperm(n, generator=gen)
        tl, tc, te = 0.0, 0, time.time()
        for it in range(steps_per_epoch):
            idx = perm[it * bs:(it + 1) * bs]
            xb = preprocess(augment(xtr[idx], r["aug"], gen), mean, std)
            if r.get("channels_last"):
                xb = xb.contiguous(memory_format=torch.channels_last)
            yb = ytr[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb, label_smoothing=r["smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tl += loss.item()
            tc += (out.argmax(1) == yb).sum().item()
            if max_batches and it + 1 >= max_batches:
                dt = time.time() - te
                log(f"[{name}] timing: {max_batches} batches in {dt:.1f}s -> "
                    f"{dt / max_batches * steps_per_epoch:.1f}s/epoch")
                return model, params, dt
        # progress monitor only (first 2000 test images); never used for selection
        acc = (infer(model, xte[:2000], mean, std).argmax(1) == yte[:2000]).float().mean().item()
        log(f"[{name}] epoch {ep + 1}/{r['epochs']} loss={tl / steps_per_epoch:.4f} "
            f"train_acc={tc / (steps_per_epoch * bs):.4f} test2k_acc={acc:.4f} "
            f"lr={sched.get_last_lr()[0]:.2e} ({time.time() - te:.1f}s)")
    secs = time.time() - t0
    model = model.to(memory_format=torch.contiguous_format)
    return model, params, secs


def export(name, r, model, path):
    import onnx
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, dummy, path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True, opset_version=r["opset"])
    m = onnx.load(path)
    mean, std = ("%.4f" % FMNIST_MEAN, "%.4f" % FMNIST_STD) if r["normalize"] else ("0", "1")
    props = {"qbench.mean": mean, "qbench.std": std,
             "qbench.labels": ",".join(LABELS), "qbench.source": "models/train_zoo.py"}
    del m.metadata_props[:]
    for k, v in props.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    onnx.checker.check_model(onnx.load(path))
    ops = {}
    for node in m.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", choices=ORDER,
                    help="train/export only this model (repeatable); other zoo.json entries are kept")
    ap.add_argument("--time", type=int, default=0,
                    help="only time N training batches per model, write nothing")
    args = ap.parse_args()
    torch.set_num_threads(1)
    names = args.only or ORDER

    def log(msg):
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    xtr, ytr = load_split("train")
    xte, yte = load_split("test")
    data = (xtr, ytr, xte, yte)
    if args.time:
        for name in names:
            train(name, RECIPES[name], data, log, max_batches=args.time)
        return

    refdir = os.path.join(HERE, "reference")
    os.makedirs(refdir, exist_ok=True)
    zoo_path = os.path.join(HERE, "zoo.json")
    entries = {}
    if os.path.exists(zoo_path):
        with open(zoo_path) as f:
            entries = {e["name"]: e for e in json.load(f)["models"]}

    for name in names:
        r = RECIPES[name]
        model, params, secs = train(name, r, data, log)
        mean, std = (FMNIST_MEAN, FMNIST_STD) if r["normalize"] else (None, None)
        model.eval()
        logits = infer(model, xte, mean, std)
        pred = logits.argmax(1)
        top1_n = int((pred == yte).sum())
        top5_n = int((logits.topk(5, 1).indices == yte[:, None]).any(1).sum())
        onnx_rel = f"models/{name}.onnx"
        onnx_path = os.path.join(ROOT, onnx_rel)
        ops = export(name, r, model, onnx_path)
        # Reference outputs from the exported-from model (eval mode, float32).
        pred_rel = f"models/reference/{name}.pred.npy"
        l64_rel = f"models/reference/{name}.logits64.npy"
        np.save(os.path.join(ROOT, pred_rel), pred.numpy().astype(np.uint8))
        with torch.no_grad():
            l64 = model(preprocess(xte[:64], mean, std)).numpy().astype(np.float32)
        np.save(os.path.join(ROOT, l64_rel), l64)
        with open(onnx_path, "rb") as f:
            blob = f.read()
        entries[name] = {
            "name": name, "file": onnx_rel, "input": "input", "output": "logits",
            "opset": r["opset"], "params": params, "onnx_bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "preprocess": {"scale": "1/255",
                           "mean": [FMNIST_MEAN if r["normalize"] else 0.0],
                           "std": [FMNIST_STD if r["normalize"] else 1.0],
                           "layout": "NCHW"},
            "pytorch": {"top1": top1_n / len(yte), "top5": top5_n / len(yte),
                        "correct_top1": top1_n, "version": torch.__version__},
            "reference": {"pred": pred_rel, "logits64": l64_rel},
            "training": {"epochs": r["epochs"], "optimizer": "AdamW", "lr": r["lr"],
                         "weight_decay": r["wd"], "batch": r["batch"], "seed": SEED,
                         "augmentation": r["aug"] or "none",
                         "label_smoothing": r["smoothing"],
                         "schedule": "one-cycle: 5% linear warm-up, cosine decay to 0 (per step)",
                         "train_seconds": round(secs, 1)},
        }
        if r.get("demo_variants"):
            entries[name]["demo_variants"] = r["demo_variants"]
        log(f"[{name}] top1={top1_n / 1e4:.4f} top5={top5_n / 1e4:.4f} params={params} "
            f"onnx_bytes={len(blob)} train_s={secs:.0f} ops={json.dumps(ops, sort_keys=True)}")
        zoo = {"dataset": "fashion-mnist",
               "models": [entries[n] for n in ORDER if n in entries]}
        with open(zoo_path, "w") as f:
            json.dump(zoo, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
