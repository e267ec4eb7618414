#!/usr/bin/python3
"""Make the "stranger" model: a small CNN that is NOT part of the qbench zoo.

It is written the way a new user would write it and exported with
torch.onnx.export's DEFAULT options (fixed batch 1, default opset, default
input/output names, no metadata), to test qbench end to end on an arbitrary
model.  Trained 3 epochs on the Fashion-MNIST TRAIN split (seed 0, one
thread, Adam lr 1e-3, batch 64, no augmentation), plain ToTensor
preprocessing (pixel / 255, no normalisation).

Run:  /usr/bin/python3 tests/data/make_stranger.py
Writes tests/data/stranger.onnx, stranger.pred.npy (uint8 argmax of each of
the 10,000 test images, in file order) and stranger.json.
"""
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/datasets/fashion-mnist"


def load(prefix):
    with gzip.open(f"{DATA}/{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{DATA}/{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    # same as torchvision.transforms.ToTensor()
    x = torch.from_numpy(images.copy()).float().div(255)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)
        self.dropout1 = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.dropout2 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = self.dropout1(x)
        x = x.view(x.size(0), -1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return self.fc2(x)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)

    x_train, y_train = load("train")
    x_test, y_test = load("t10k")
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(0))

    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.time()
    for epoch in range(3):
        model.train()
        total = 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()
        print(f"epoch {epoch + 1}: loss {total / len(loader):.4f} ({time.time() - t0:.0f}s)")

    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x_test[i:i + 500]).argmax(1) for i in range(0, 10000, 500)])
    correct = int((pred == y_test).sum())
    print(f"test top-1 {correct / 10000:.4f}")

    torch.onnx.export(model, torch.randn(1, 1, 28, 28), os.path.join(HERE, "stranger.onnx"))
    np.save(os.path.join(HERE, "stranger.pred.npy"), pred.numpy().astype(np.uint8))
    with open(os.path.join(HERE, "stranger.json"), "w") as f:
        json.dump({"top1": correct / 10000, "correct_top1": correct,
                   "pred": "tests/data/stranger.pred.npy"}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
