"""dual builds the two-branch embedder toonid ships: the synthetic-trained ResNet (model/shipped's
ONNX, unchanged) beside the ImageNet MobileNetV2 trunk of npm nsfwjs (no identity training), each
branch's embedding L2-normalised, then concatenated.

Why two branches: on art by artists toonid never trained on, generic ImageNet features carry
identity far better than the synthetic-trained CNN, while that CNN is better on synthetic styles
(DiceBear, emoji-like flat art); concatenated, the two beat either alone (MODEL_CARD.md, "The
dual embedder"). Every attempt to teach the MobileNetV2 trunk identity on our synthetic data on
2 CPU cores lost real-art accuracy; keeping it zero-shot keeps what it knows.

The MobileNetV2 branch: input y = (x - 0.5) / 0.5 (the ResNet's normalisation, which the model
file records) -> x = 0.5 y + 0.5 (nsfwjs feeds x/255) -> trunk through `--end` -> global average
pool -> sqrt (Hellinger: tames the few dominant channels of post-ReLU6 averages) -> PCA whitening
to `--dims` fitted on training images only (the reserved and held-out art never) -> L2 norm,
scaled by `--weight`. The ResNet branch's output is L2-normalised. Cosine similarity of the
concatenation is then (cos_resnet + weight^2 cos_mnv2) / (1 + weight^2).

usage: python3 dual.py --shipped model/shipped/resnet.onnx --tfjs DIR --data DIR,DIR
           [--holdout-styles a,b] [--size 112] [--dims 128] [--eps 0.1] [--weight 1.0] [--n 8000]
           [--work DIR] --out OUT.onnx
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import mnv2  # noqa: E402
import train  # noqa: E402
import whiten  # noqa: E402

OPSET = 9  # torch 1.13 exports Pad as a computed subgraph at opset >= 11 (see train.py)
MEAN, STD = 0.5, 0.5  # the ResNet branch's input normalisation, recorded in the model file


class L2Norm(torch.autograd.Function):
    """F.normalize that exports as one ONNX LpNormalization (the Go runtime's OpL2Norm)."""

    @staticmethod
    def forward(ctx, x):
        return F.normalize(x, dim=1)

    @staticmethod
    def symbolic(g, x):
        return g.op("LpNormalization", x, axis_i=1, p_i=2)


class Branch(nn.Module):
    """The MobileNetV2 branch on the ResNet's normalised input; see the module doc."""

    def __init__(self, trunk, mu, w, weight):
        super().__init__()
        self.trunk = trunk
        self.register_buffer("mu", torch.from_numpy(np.asarray(mu, np.float32)).view(1, -1))
        self.proj = nn.Linear(w.shape[0], w.shape[1], bias=False)
        with torch.no_grad():
            self.proj.weight.copy_(torch.from_numpy(np.ascontiguousarray(np.asarray(w, np.float32).T)))
        # The centring folds into the projection's bias: (f - mu) W = f W - mu W.
        self.register_buffer("bias", -(self.mu @ self.proj.weight.T))
        self.weight = float(weight)

    def features(self, y):
        """sqrt-GAP trunk features of the normalised input y."""
        x = y * STD + MEAN
        return torch.sqrt(torch.flatten(F.adaptive_avg_pool2d(self.trunk(x), 1), 1))

    def forward(self, y):
        e = L2Norm.apply(self.proj(self.features(y)) + self.bias)
        return e * self.weight if self.weight != 1.0 else e


def trunk_features(trunk, imgs, size, bs=128):
    """uint8 [N,3,S,S] images -> sqrt-GAP trunk features [N, C] at size px (x/255 input)."""
    out = []
    with torch.no_grad():
        for i in range(0, len(imgs), bs):
            x = torch.from_numpy(imgs[i:i + bs]).float() / 255
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
            f = F.adaptive_avg_pool2d(trunk(x.contiguous(memory_format=torch.channels_last)), 1)
            out.append(torch.sqrt(torch.flatten(f, 1)).numpy())
    return np.concatenate(out)


def fit_branch(trunk, rows, size, dims, eps, n, seed=0):
    """fit_branch fits the centring and PCA whitening of the branch on n training images."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(rows), size=min(n, len(rows)), replace=False))
    imgs = data.load_images([rows[i][0] for i in idx], max(data.SIZE, size))
    feats = trunk_features(trunk, imgs, size)
    mu, w = whiten.fit(feats, eps)
    return mu, w[:, :dims], len(idx)


def export_branch(branch, size, path):
    branch.eval()
    x = torch.zeros(1, 3, size, size)
    torch.onnx.export(branch, x, path, input_names=["input"], output_names=["embedding"], opset_version=OPSET,
                      do_constant_folding=True)


def merge(resnet_path, branch_path, out_path, size):
    """merge puts the ResNet graph (L2-normalised) and the branch side by side on one input and
    concatenates their outputs. The ResNet's ONNX (opset 13) uses only ops whose opset-9 forms
    are the same (Conv, Relu, Add, GlobalAveragePool, Flatten, MatMul), so one opset-9 model holds both."""
    r = onnx.load(resnet_path)
    b = onnx.load(branch_path)
    allowed = {"Conv", "Relu", "Add", "GlobalAveragePool", "Flatten", "MatMul"}
    ops = {n.op_type for n in r.graph.node}
    if not ops <= allowed:
        raise ValueError(f"{resnet_path}: ops {sorted(ops - allowed)} may differ between opset 13 and {OPSET}")
    nodes, inits = [], []
    for tag, m in (("r/", r), ("m/", b)):
        g = m.graph
        (inp,), (out,) = [i.name for i in g.input if i.name not in {t.name for t in g.initializer}], [o.name for o in g.output]

        def ren(name, tag=tag, inp=inp):
            return "input" if name == inp else (tag + name if name else name)
        for t in g.initializer:
            t2 = onnx.TensorProto()
            t2.CopyFrom(t)
            t2.name = ren(t.name)
            inits.append(t2)
        for nd in g.node:
            n2 = onnx.NodeProto()
            n2.CopyFrom(nd)
            n2.name = tag + nd.name
            del n2.input[:]
            del n2.output[:]
            n2.input.extend(ren(i) for i in nd.input)
            n2.output.extend(ren(o) for o in nd.output)
            nodes.append(n2)
        if tag == "r/":
            nodes.append(helper.make_node("LpNormalization", [ren(out)], ["r/embedding_l2"], name="r/l2", axis=1, p=2))
            r_out = "r/embedding_l2"
        else:
            m_out = ren(out)
    nodes.append(helper.make_node("Concat", [r_out, m_out], ["embedding"], name="concat", axis=1))
    width = sum(m.graph.output[0].type.tensor_type.shape.dim[1].dim_value for m in (r, b))
    graph = helper.make_graph(
        nodes, "toonid_dual",
        [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("embedding", onnx.TensorProto.FLOAT, [1, width])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="toonid dual.py")
    model.ir_version = b.ir_version
    onnx.checker.check_model(model)
    model = onnx.shape_inference.infer_shapes(model)
    onnx.save(model, out_path)
    return model


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--shipped", required=True, help="the ResNet branch's ONNX")
    ap.add_argument("--tfjs", required=True, help="folder written by `node tfjs_mnv2.mjs dump`")
    ap.add_argument("--data", required=True, help="training sources (comma-separated) to fit the whitening on")
    ap.add_argument("--holdout-styles", default="", help="styles kept out of the fit (the validation twin)")
    ap.add_argument("--end", default="block_13_expand_relu")
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--dims", type=int, default=128)
    ap.add_argument("--eps", type=float, default=0.1, help="floor on a direction's sd, relative to the largest")
    ap.add_argument("--weight", type=float, default=1.0, help="the MobileNetV2 branch's scale in the concatenation")
    ap.add_argument("--n", type=int, default=8000, help="training images to fit the whitening on")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="", help="folder for the branch's own ONNX, its whitening and dual.json (default: next to --out)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    # BN folded, as the export does: the fit sees the exported function.
    trunk = mnv2.fuse_bn(mnv2.pretrained(a.tfjs, a.end).eval()).to(memory_format=torch.channels_last)
    hold = tuple(s for s in a.holdout_styles.split(",") if s)
    rows = train.source_rows(a.data.split(","), hold)
    mu, w, n = fit_branch(trunk, rows, a.size, a.dims, a.eps, a.n)
    branch = Branch(trunk.to(memory_format=torch.contiguous_format), mu, w, a.weight)
    out_dir = a.work or os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    bpath = os.path.join(out_dir, "mnv2_branch.onnx")
    export_branch(branch, a.size, bpath)
    merge(a.shipped, bpath, a.out, a.size)
    torch.save({"mu": mu, "w": w, "weight": a.weight}, os.path.join(out_dir, "branch_whitening.pt"))
    info = {"fit_images": n, "holdout_styles": list(hold), "size": a.size, "dims": a.dims, "eps": a.eps,
            "weight": a.weight, "end": a.end, "mean": MEAN, "std": STD, "seconds": round(time.time() - t0, 1)}
    with open(os.path.join(out_dir, "dual.json"), "w") as f:
        json.dump(info, f, indent=1)
    print("dual:", json.dumps(info), "->", a.out)


if __name__ == "__main__":
    main()
