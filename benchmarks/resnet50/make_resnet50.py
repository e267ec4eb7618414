#!/usr/bin/python3
"""Exports torchvision's ResNet-50 (or, with --arch, another torchvision classifier such as
mobilenet_v2) with random weights (fixed seed, eval mode, dynamic batch, opset 13) to the ONNX
file given on the command line. For benchmarks only: never commit the file.

    /usr/bin/python3 benchmarks/resnet50/make_resnet50.py /tmp/resnet50.onnx
    /usr/bin/python3 benchmarks/resnet50/make_resnet50.py --arch mobilenet_v2 /tmp/mobilenet_v2.onnx
"""
import argparse

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="output .onnx path")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--arch", default="resnet50", help="torchvision.models constructor name")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    model = getattr(torchvision.models, args.arch)(weights=None).eval()
    # Random BatchNorm statistics, so the folded weights are not just the init's.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(model, x, args.out, opset_version=13, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
