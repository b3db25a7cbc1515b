"""mnv2: the ImageNet MobileNetV2 trunk shipped in npm nsfwjs@4.4.0, as a PyTorch module.

Chain of the weights: Keras Applications MobileNetV2 (alpha 1.0, ImageNet) -> nsfwjs fine-tune of
the blocks after block_10 on its five classes (Infinite Red, MIT) -> this converter -> toonid's
fine-tune (train.py --arch mnv2). `tfjs_mnv2.mjs dump` writes the TF.js layers files (model.json +
weights.bin) that `load_tfjs` reads; every weight there is uint8-affine quantized
(value = min + scale * q) and is dequantized here.

The module reproduces Keras exactly: BatchNorm eps 1e-3, ReLU6, and the asymmetric zero padding
Keras puts before stride-2 convolutions ("correct_pad": one row/column at the bottom/right for
even sizes), so the trunk's activations match TF.js (test_mnv2.py).

usage: python3 mnv2.py --tfjs DIR --out trunk.pt     (state dict of MobileNetV2Trunk)
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Keras MobileNetV2 blocks 1..16: (output channels, stride); expansion 6 (block 0 has none).
BLOCKS = [(24, 2), (24, 1), (32, 2), (32, 1), (32, 1), (64, 2), (64, 1), (64, 1), (64, 1),
          (96, 1), (96, 1), (96, 1), (160, 2), (160, 1), (160, 1), (320, 1)]
EXPAND = 6
BN_EPS = 1e-3


def load_tfjs(d):
    """load_tfjs reads a TF.js layers model folder -> (topology dict, {name: float32 ndarray})."""
    with open(os.path.join(d, "model.json")) as f:
        m = json.load(f)
    out = {}
    for group in m["weightsManifest"]:
        blob = b"".join(open(os.path.join(d, p), "rb").read() for p in group["paths"])
        off = 0
        for s in group["weights"]:
            n = int(np.prod(s["shape"])) if s["shape"] else 1
            q = s.get("quantization")
            if q is None:
                if s.get("dtype", "float32") != "float32":
                    raise ValueError(f"{s['name']}: dtype {s['dtype']} unsupported")
                v = np.frombuffer(blob, "<f4", n, off)
                off += 4 * n
            elif q.get("dtype") == "uint8" and "min" in q and "scale" in q:
                v = np.float32(q["min"]) + np.float32(q["scale"]) * np.frombuffer(blob, np.uint8, n, off).astype(np.float32)
                off += n
            else:
                raise ValueError(f"{s['name']}: quantization {q} unsupported")
            out[s["name"]] = v.astype(np.float32).reshape(s["shape"])
        if off != len(blob):
            raise ValueError(f"weights cover {off} of {len(blob)} bytes")
    return m["modelTopology"], out


class ConvBN(nn.Module):
    """Keras Conv2D/DepthwiseConv2D (no bias) + BatchNormalization (+ ReLU6)."""

    def __init__(self, cin, cout, k=1, stride=1, groups=1, act=True):
        super().__init__()
        self.stride, self.k = stride, k
        # Stride 1 "same" is symmetric; stride 2 pads bottom/right only (F.pad in forward).
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2 if stride == 1 else 0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.act = act
        self.pad = nn.ZeroPad2d((0, 1, 0, 1))

    def forward(self, x):
        if self.stride != 1 and self.k > 1:
            # Keras correct_pad for even sizes: ((0, 1), (0, 1)). Odd sizes would need ((1, 1), (1, 1)).
            if x.shape[-1] % 2 or x.shape[-2] % 2:
                raise ValueError(f"stride-2 input {tuple(x.shape[-2:])} must be even (Keras pads odd sizes symmetrically)")
            x = self.pad(x)
        x = self.bn(self.conv(x))
        return F.relu6(x) if self.act else x


class Inverted(nn.Module):
    """An inverted residual block; expand_only stops after the expansion's ReLU6 (e.g.
    block_13_expand_relu, the trunk's end point)."""

    def __init__(self, cin, cout, stride, t, expand_only=False):
        super().__init__()
        mid = cin * t
        self.expand = ConvBN(cin, mid) if t != 1 else None
        self.expand_only = expand_only
        if not expand_only:
            self.dw = ConvBN(mid, mid, 3, stride, groups=mid)
            self.project = ConvBN(mid, cout, act=False)
        self.residual = stride == 1 and cin == cout and not expand_only

    def forward(self, x):
        y = self.expand(x) if self.expand is not None else x
        if self.expand_only:
            return y
        y = self.project(self.dw(y))
        return x + y if self.residual else y


def end_point(name):
    """end_point parses a Keras layer name the trunk may end at -> (last block index, expand_only)."""
    if name.startswith("block_") and name.endswith("_expand_relu"):
        return int(name[6:-12]), True
    if name.startswith("block_") and name.endswith("_add"):
        return int(name[6:-4]), False
    if name.startswith("block_") and name.endswith("_project_BN"):
        return int(name[6:-11]), False
    raise ValueError(f"unsupported end point {name}")


class MobileNetV2Trunk(nn.Module):
    """Keras MobileNetV2 (alpha 1.0) from the input to `end` (a Keras layer name). Input NCHW x/255."""

    def __init__(self, end="block_13_expand_relu"):
        super().__init__()
        last, expand_only = end_point(end)
        self.end = end
        self.stem = ConvBN(3, 32, 3, 2)
        self.block0 = Inverted(32, 16, 1, 1)
        blocks, cin = [], 16
        for i, (c, s) in enumerate(BLOCKS[:last], start=1):
            if expand_only and i == last:
                blocks.append(Inverted(cin, c, s, EXPAND, expand_only=True))
                cin *= EXPAND
            else:
                blocks.append(Inverted(cin, c, s, EXPAND))
                cin = c
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = cin

    def forward(self, x):
        return self.blocks(self.block0(self.stem(x)))

    def keras_names(self):
        """(torch ConvBN module, Keras conv layer name, Keras BN layer name, depthwise) in order."""
        out = [(self.stem, "Conv1", "bn_Conv1", False),
               (self.block0.dw, "expanded_conv_depthwise", "expanded_conv_depthwise_BN", True),
               (self.block0.project, "expanded_conv_project", "expanded_conv_project_BN", False)]
        for i, b in enumerate(self.blocks, start=1):
            out.append((b.expand, f"block_{i}_expand", f"block_{i}_expand_BN", False))
            if not b.expand_only:
                out.append((b.dw, f"block_{i}_depthwise", f"block_{i}_depthwise_BN", True))
                out.append((b.project, f"block_{i}_project", f"block_{i}_project_BN", False))
        return out

    def load_keras(self, w):
        """load_keras copies Keras weights ({name: ndarray}, as load_tfjs returns) into the module."""
        for m, conv, bn, dw in self.keras_names():
            if dw:
                k = w[f"{conv}/depthwise_kernel"]  # [kh, kw, in, 1]
                k = np.transpose(k, (2, 3, 0, 1))  # [in, 1, kh, kw]
            else:
                k = np.transpose(w[f"{conv}/kernel"], (3, 2, 0, 1))  # [kh, kw, in, out] -> [out, in, kh, kw]
            if tuple(k.shape) != tuple(m.conv.weight.shape):
                raise ValueError(f"{conv}: shape {k.shape} != {tuple(m.conv.weight.shape)}")
            with torch.no_grad():
                m.conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(k)))
                m.bn.weight.copy_(torch.from_numpy(w[f"{bn}/gamma"]))
                m.bn.bias.copy_(torch.from_numpy(w[f"{bn}/beta"]))
                m.bn.running_mean.copy_(torch.from_numpy(w[f"{bn}/moving_mean"]))
                m.bn.running_var.copy_(torch.from_numpy(w[f"{bn}/moving_variance"]))
        return self


class Student(nn.Module):
    """The toonid embedder on the MobileNetV2 trunk: trunk -> global average pool -> bias-free
    projection to `embed` dims (the Go importer's Gemm re-adds bias on every run). Input NCHW
    RGB x/255 at `input_size` px: nsfwjs feeds its net x/255, so mean 0 and std 1 keep the
    pretrained statistics (the model file records them)."""

    input_size, mean, std, fused = 112, 0.0, 1.0, False

    def __init__(self, end="block_13_expand_relu", embed=128, input_size=112):
        super().__init__()
        self.trunk = MobileNetV2Trunk(end)
        self.proj = nn.Linear(self.trunk.out_channels, embed, bias=False)
        self.input_size = input_size

    def features(self, x):
        return torch.flatten(F.adaptive_avg_pool2d(self.trunk(x), 1), 1)

    def forward(self, x):
        return self.proj(self.features(x))

    def prefix(self, x, through):
        """prefix runs the frozen part (stem..block `through`) without gradients."""
        t = self.trunk
        with torch.no_grad():
            h = t.block0(t.stem(x))
            for b in t.blocks[:through]:
                h = b(h)
        return h

    def tail(self, h, through, teacher=None):
        """tail runs the trained blocks after `through` and the projection on prefix activations
        h, and the frozen copy of those blocks (`teacher`, taken at the start of training) on the
        same h -> (embedding, the teacher's GAP features or None)."""
        e = self.proj(torch.flatten(F.adaptive_avg_pool2d(self.trunk.blocks[through:](h), 1), 1))
        if teacher is None:
            return e, None
        with torch.no_grad():
            ft = torch.flatten(F.adaptive_avg_pool2d(teacher(h), 1), 1)
        return e, ft

    def fuse_bn(self):
        """fuse_bn folds every BatchNorm into its convolution (weight and a bias), for training with
        frozen BN statistics: same function, and on CPU PyTorch runs the folded net ~2x faster
        (channels-last on top: ~3.5x, measured on the prefix). The ONNX export folds BN anyway."""
        fuse_bn(self)
        self.fused = True
        return self

    def frozen_prefix(self, through):
        """frozen_prefix lists the trunk modules up to block `through` (0 = stem and block 0,
        -1 = none), the part fine-tuning keeps fixed."""
        if through < 0:
            return []
        return [self.trunk.stem, self.trunk.block0] + list(self.trunk.blocks[:through])


def fuse_bn(module):
    """fuse_bn folds every ConvBN's BatchNorm (eval statistics) into its convolution, in place."""
    for m in module.modules():
        if isinstance(m, ConvBN) and isinstance(m.bn, nn.BatchNorm2d):
            m.conv = torch.nn.utils.fusion.fuse_conv_bn_eval(m.conv.eval(), m.bn.eval())
            m.bn = nn.Identity()
    return module


def pretrained(tfjs_dir, end="block_13_expand_relu"):
    _, w = load_tfjs(tfjs_dir)
    return MobileNetV2Trunk(end).load_keras(w)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--tfjs", required=True, help="folder written by `node tfjs_mnv2.mjs dump`")
    ap.add_argument("--end", default="block_13_expand_relu")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    t = pretrained(a.tfjs, a.end)
    torch.save(t.state_dict(), a.out)
    print(f"mnv2: {sum(p.numel() for p in t.parameters()) / 1e6:.3f} M params to {a.end} -> {a.out}")


if __name__ == "__main__":
    main()
