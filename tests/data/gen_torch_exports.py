#!/usr/bin/python3
"""Exports small PyTorch models that use the neural-network ops (ConvTranspose, Resize/Upsample,
LSTM, GRU, RNN, PRelu, InstanceNormalization, DepthToSpace, LRN) to ONNX at several opsets with
torch.onnx.export, as users' models are made, and records PyTorch's outputs (computed in float64)
for tests/e2e/torch_exports.sh.

Each model is a directory tests/data/torch_exports/<name>/ with model.onnx, input_<NAME>.npy for
every graph input and expected_<NAME>.npy for every graph output.
Run: /usr/bin/python3 tests/data/gen_torch_exports.py   (rewrites the directory).
"""
import os
import shutil
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_exports")


class Decoder(nn.Module):
    """A U-Net/FPN style decoder: transposed convs, nearest and bilinear upsampling, skip concat."""

    def __init__(self, linear):
        super().__init__()
        self.linear = linear
        self.up1 = nn.ConvTranspose2d(8, 6, 4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.dw = nn.ConvTranspose2d(4, 4, 2, stride=2, groups=4, bias=False)
        self.conv = nn.Conv2d(4 + 8, 3, 3, padding=1)

    def forward(self, x):
        y = F.relu(self.up1(x))
        y = self.dw(self.up2(y))
        if self.linear:
            skip = F.interpolate(x, size=y.shape[2:], mode="bilinear", align_corners=False)
        else:
            skip = F.interpolate(x, scale_factor=8, mode="nearest")
        return self.conv(torch.cat([y, skip], 1))


class Audio(nn.Module):
    """1-D conv front end, bidirectional LSTM, GRU and a ReLU RNN."""

    def __init__(self, batch_first):
        super().__init__()
        self.batch_first = batch_first
        self.conv = nn.Conv1d(3, 8, 5, stride=2, padding=2)
        self.deconv = nn.ConvTranspose1d(8, 8, 4, stride=2, padding=1)
        self.lstm = nn.LSTM(8, 6, bidirectional=True, batch_first=batch_first)
        self.gru = nn.GRU(12, 5, batch_first=batch_first)
        self.rnn = nn.RNN(5, 4, nonlinearity="relu", batch_first=batch_first)

    def forward(self, x, h0, c0):
        f = torch.tanh(self.deconv(self.conv(x)))       # [N, 8, T]
        f = f.permute(0, 2, 1) if self.batch_first else f.permute(2, 0, 1)
        y, (h, c) = self.lstm(f, (h0, c0))
        y, g = self.gru(y)
        y, r = self.rnn(y)
        return y, h, c, g, r


class Head(nn.Module):
    """Super-resolution / style-transfer head: PReLU, InstanceNorm, LRN, PixelShuffle."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)
        self.prelu = nn.PReLU(12)
        self.inorm = nn.InstanceNorm2d(12, affine=True)
        self.lrn = nn.LocalResponseNorm(3, alpha=1e-3, beta=0.75, k=2.0)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x):
        y = self.lrn(self.inorm(self.prelu(self.conv(x))))
        return self.shuffle(y)


def randomize(m, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.4)
    return m


def export(name, model, inputs, in_names, out_names, opset):
    d = os.path.join(OUT, name)
    os.makedirs(d)
    model = model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(torch.from_numpy(a) for a in inputs),
                          os.path.join(d, "model.onnx"), opset_version=opset,
                          input_names=in_names, output_names=out_names)
    with torch.no_grad():
        outs = model.double()(*[torch.from_numpy(a).double() for a in inputs])
    model.float()
    if not isinstance(outs, tuple):
        outs = (outs,)
    for n, a in zip(in_names, inputs):
        np.save(os.path.join(d, f"input_{n}.npy"), a)
    for n, o in zip(out_names, outs):
        np.save(os.path.join(d, f"expected_{n}.npy"), o.numpy().astype(np.float32))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 8, 5, 6)).astype(np.float32)
    # Opset 9 exports nearest upsampling as Upsample; bilinear needs Resize's half_pixel (11+).
    export("decoder_nearest_opset9", randomize(Decoder(False), 1), [x], ["x"], ["y"], 9)
    export("decoder_nearest_opset11", randomize(Decoder(False), 1), [x], ["x"], ["y"], 11)
    export("decoder_bilinear_opset13", randomize(Decoder(True), 2), [x], ["x"], ["y"], 13)
    a = rng.standard_normal((2, 3, 16)).astype(np.float32)
    h0 = (rng.standard_normal((2, 2, 6)) * 0.5).astype(np.float32)
    c0 = (rng.standard_normal((2, 2, 6)) * 0.5).astype(np.float32)
    names = ["y", "h", "c", "g", "r"]
    export("audio_rnn_opset9", randomize(Audio(False), 3), [a, h0, c0], ["x", "h0", "c0"], names, 9)
    export("audio_rnn_opset14", randomize(Audio(False), 3), [a, h0, c0], ["x", "h0", "c0"], names,
           14)
    export("audio_rnn_batch_first_opset14", randomize(Audio(True), 4), [a, h0, c0],
           ["x", "h0", "c0"], names, 14)
    img = rng.standard_normal((2, 3, 7, 9)).astype(np.float32)
    export("head_opset11", randomize(Head(), 5), [img], ["x"], ["y"], 11)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"{len(os.listdir(OUT))} models, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
