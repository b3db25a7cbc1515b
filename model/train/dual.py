"""dual builds the two-branch embedder toonid ships: the synthetic-trained ResNet (model/shipped's
ONNX, unchanged) beside the ImageNet MobileNetV2 trunk of npm nsfwjs (the trunk untouched, its
576->128 head trained), each branch's embedding L2-normalised, then concatenated.

Why two branches: on art by artists toonid never trained on, generic ImageNet features carry
identity far better than the synthetic-trained CNN, while that CNN is better on synthetic styles
(DiceBear, emoji-like flat art); concatenated, the two beat either alone (MODEL_CARD.md, "The
dual embedder"). Every attempt to teach the MobileNetV2 trunk identity on our synthetic data on
2 CPU cores lost real-art accuracy; keeping it fixed keeps what it knows.

The MobileNetV2 branch: input y = (x - 0.5) / 0.5 (the ResNet's normalisation, which the model
file records) -> x = 0.5 y + 0.5 (nsfwjs feeds x/255) -> trunk through `--end` -> global average
pool -> sqrt (Hellinger: tames the few dominant channels of post-ReLU6 averages) -> a linear head
to `--dims` -> L2 norm, scaled by `--weight`. The head starts as the PCA whitening of training
features (the reserved and held-out art never); with --head-steps it then trains on those fixed
features, every image of the identities drawn (grouped_rows): cross-style SupCon plus relational
distillation toward the trunk's own similarities, which is what keeps it general (MODEL_CARD.md).
The ResNet branch's output is L2-normalised. Cosine similarity of the concatenation is then
(cos_resnet + weight^2 cos_mnv2) / (1 + weight^2).

usage: python3 dual.py --shipped model/shipped/resnet.onnx --tfjs DIR --data DIR,DIR
           [--holdout-styles a,b] [--size 112] [--dims 128] [--eps 0.1] [--weight 1.0] [--n 8000]
           [--head-steps 0 --head-lr 1e-3 --head-rkd 1.0]
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

    def __init__(self, trunk, mu, w, weight, bias=None):
        super().__init__()
        self.trunk = trunk
        self.register_buffer("mu", torch.from_numpy(np.asarray(mu, np.float32)).view(1, -1))
        self.proj = nn.Linear(w.shape[0], w.shape[1], bias=False)
        with torch.no_grad():
            self.proj.weight.copy_(torch.from_numpy(np.ascontiguousarray(np.asarray(w, np.float32).T)))
        # The centring folds into the projection's bias: (f - mu) W = f W - mu W.
        b = -(self.mu @ self.proj.weight.T) if bias is None else torch.from_numpy(np.asarray(bias, np.float32)).view(1, -1)
        self.register_buffer("bias", b)
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


def sampled_rows(rows, n, seed=0):
    """sampled_rows returns the indices of n training images drawn at random (what the PCA alone is
    fit on)."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(len(rows), size=min(n, len(rows)), replace=False))


def branch_features(trunk, rows, idx, size, cache):
    """branch_features returns the trunk's sqrt-GAP features of rows[idx]. They are the slow part
    (90 s for 16,000 images), so they are kept in cache and reused while the images are the same
    (the cache file's name carries the trunk's end and the size)."""
    paths = np.array([rows[i][0] for i in idx])
    got = np.load(cache) if os.path.exists(cache) else None
    if got is not None and np.array_equal(got["paths"], paths):
        return got["feats"]
    feats = trunk_features(trunk, data.load_images(list(paths), max(data.SIZE, size)), size)
    np.savez(cache, paths=paths, feats=feats)
    return feats


def grouped_rows(rows, n, seed=0):
    """grouped_rows returns the indices of every image of randomly drawn identities, about n in
    all: a head trained on them sees each identity's styles together (the PK sampler's batches)."""
    by = {}
    for i, r in enumerate(rows):
        by.setdefault(r[1], []).append(i)
    ids = sorted(by)
    np.random.default_rng(seed).shuffle(ids)
    out = []
    for y in ids:
        if len(out) >= n:
            break
        out += by[y]
    return np.sort(np.array(out))


def train_head(feats, rows, idx, mu, w, steps, lr, rkd, seed=0, rooted=True):
    """train_head starts a linear head at the PCA whitening (f - mu) w and trains it with
    cross-style SupCon plus relational distillation toward the trunk's own square-rooted,
    centred similarities (train.relational), the preservation term MODEL_CARD measured.
    feats[j] belongs to rows[idx[j]]: [N, C], or [N, V, C] for V augmented views of each image
    (a sample takes one at random); rooted says they are square-rooted GAP (else plain GAP)."""
    torch.manual_seed(seed)
    lin = nn.Linear(w.shape[0], w.shape[1])
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
        lin.bias.copy_(torch.from_numpy(-(mu @ w)))
    sampler = train.PKSampler([rows[i][1] for i in idx], [rows[i][2] for i in idx], 32, 4, seed + 1)
    sampler.p = min(sampler.p, len(sampler.ids))
    opt = torch.optim.AdamW(lin.parameters(), lr=lr, weight_decay=5e-4)
    g = torch.from_numpy(np.ascontiguousarray(feats))
    views = np.random.default_rng(seed + 1)
    names, loss = {}, float("nan")
    for st in range(steps):
        frac = st / max(steps, 1)
        for grp in opt.param_groups:
            grp["lr"] = lr * min(1, (frac + 1e-3) / 0.05) * 0.5 * (1 + np.cos(np.pi * frac))
        ix, lab = sampler.batch()
        f = g[ix] if g.dim() == 2 else g[ix, views.integers(0, g.shape[1], len(ix))]
        e = lin(f)
        y = torch.tensor([names.setdefault(v, len(names)) for v in lab])
        # relational takes plain GAP and roots it itself.
        loss = train.supcon(e, y) + (rkd * train.relational(e, f * f if rooted else f) if rkd else 0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return lin.weight.detach().numpy().T.copy(), lin.bias.detach().numpy().copy(), float(loss)


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
    ap.add_argument("--n", type=int, default=8000, help="training images to fit the whitening (and train the head) on")
    ap.add_argument("--head-steps", type=int, default=0, help="train the branch's head from the PCA start (0: PCA only)")
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--head-rkd", type=float, default=1.0)
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
    out_dir = a.work or os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    idx = grouped_rows(rows, a.n) if a.head_steps else sampled_rows(rows, a.n)
    feats = branch_features(trunk, rows, idx, a.size, os.path.join(out_dir, f"features_{a.end}_{a.size}.npz"))
    n = len(idx)
    print(f"dual: features of {n} images, {time.time() - t0:.0f}s", flush=True)
    mu, w = whiten.fit(feats, a.eps)
    mu, w = mu.astype(np.float32), np.ascontiguousarray(w[:, :a.dims], dtype=np.float32)
    bias, loss = None, None
    if a.head_steps:
        w, bias, loss = train_head(feats, rows, idx, mu, w, a.head_steps, a.head_lr, a.head_rkd)
        print(f"dual: head {a.head_steps} steps, loss {loss:.3f}, {time.time() - t0:.0f}s", flush=True)
    branch = Branch(trunk.to(memory_format=torch.contiguous_format), mu, w, a.weight, bias)
    bpath = os.path.join(out_dir, "mnv2_branch.onnx")
    export_branch(branch, a.size, bpath)
    merge(a.shipped, bpath, a.out, a.size)
    torch.save({"mu": mu, "w": w, "bias": bias, "weight": a.weight}, os.path.join(out_dir, "branch_whitening.pt"))
    info = {"fit_images": n, "head_steps": a.head_steps, "head_lr": a.head_lr, "head_rkd": a.head_rkd, "head_loss": loss, "holdout_styles": list(hold), "size": a.size, "dims": a.dims, "eps": a.eps,
            "weight": a.weight, "end": a.end, "mean": MEAN, "std": STD, "seconds": round(time.time() - t0, 1)}
    with open(os.path.join(out_dir, "dual.json"), "w") as f:
        json.dump(info, f, indent=1)
    print("dual:", json.dumps(info), "->", a.out)


if __name__ == "__main__":
    main()
