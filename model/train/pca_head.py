"""pca_head: the MobileNetV2 trunk (unchanged) with a linear 576->128 head that starts as the PCA
whitening of the trunk's GAP features and is then trained with cross-style SupCon (+ relational
distillation toward the trunk's own similarities). Measured, not shipped: MODEL_CARD.md,
"A head alone, from the PCA start".

The trunk is fixed, so its GAP features on the views train.py --views precomputed (the frozen
prefix's activations) are computed once and the head trains on them in about a minute.

usage: python3 pca_head.py --tfjs DIR --views VIEWS.npy --data DIR,DIR --holdout-styles a,b
           [--steps 1500 --lr 1e-3 --rkd 1.0 --eps 0.1] [--eval manifest.tsv ...] [--out model.onnx]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import dual  # noqa: E402
import metrics  # noqa: E402
import mnv2  # noqa: E402
import train  # noqa: E402

THROUGH = 10  # the views hold block_10's output (train.py --freeze-through 10)


def gap_of_views(model, views, bs=512):
    """[N, V, C, h, w] prefix activations -> [N, V, 576] GAP features of the trunk's tail."""
    n, v = views.shape[:2]
    out = np.zeros((n, v, model.trunk.out_channels), np.float32)
    with torch.no_grad():
        for j in range(v):
            for i in range(0, n, bs):
                h = torch.from_numpy(views[i:i + bs, j].astype(np.float32)).contiguous(memory_format=torch.channels_last)
                out[i:i + bs, j] = torch.flatten(F.adaptive_avg_pool2d(model.trunk.blocks[THROUGH:](h), 1), 1).numpy()
    return out


class Headed(nn.Module):
    """The student with its projection plus a bias (exported as MatMul + Add)."""

    def __init__(self, student, w, b):
        super().__init__()
        self.m = student
        student.proj = nn.Linear(w.shape[0], w.shape[1], bias=False)
        with torch.no_grad():
            student.proj.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
        self.register_buffer("b", torch.from_numpy(b).view(1, -1))
        self.input_size, self.mean, self.std, self.opset = student.input_size, student.mean, student.std, student.opset

    def forward(self, x):
        return self.m(x) + self.b


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--tfjs", required=True)
    ap.add_argument("--views", required=True, help="train.py --views file made with --freeze-through 10")
    ap.add_argument("--data", required=True, help="the training sources the views were made from")
    ap.add_argument("--holdout-styles", default="")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--rkd", type=float, default=1.0)
    ap.add_argument("--eps", type=float, default=0.1, help="PCA whitening floor, relative to the largest sd")
    ap.add_argument("--dim", type=int, default=train.EMBED)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval", nargs="*", default=[])
    ap.add_argument("--out", default="", help="write the trunk + head as ONNX (toonid quantize -mean 0,0,0 -std 1,1,1)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = train.build_model("mnv2")
    model.trunk.load_keras(mnv2.load_tfjs(a.tfjs)[1])
    model.fuse_bn().eval()
    rows = train.source_rows(a.data.split(","), set(filter(None, a.holdout_styles.split(","))))
    views = np.load(a.views, mmap_mode="r")
    if len(views) != len(rows):
        raise SystemExit(f"pca_head: {a.views} has {len(views)} images, the sources {len(rows)}")
    t0 = time.time()
    gap = gap_of_views(model, views)
    print(f"pca_head: GAP of {gap.shape[0]} x {gap.shape[1]} views in {time.time() - t0:.0f}s", flush=True)
    flat = gap.reshape(-1, gap.shape[-1])
    mu = flat.mean(0)
    x = flat[np.random.default_rng(0).choice(len(flat), min(20000, len(flat)), replace=False)] - mu
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    sd = s / np.sqrt(len(x))
    w0 = (vt[:a.dim].T / (sd[:a.dim] + a.eps * sd[0])).astype(np.float32)
    w, b, loss = dual.train_head(gap, rows, np.arange(len(rows)), mu, w0, a.steps, a.lr, a.rkd, rooted=False)
    print(f"pca_head: {a.steps} steps, loss {loss:.3f}, {time.time() - t0:.0f}s", flush=True)

    class Feat(nn.Module):
        input_size, mean, std = model.input_size, model.mean, model.std

        def forward(self, x):
            return model.features(x)

    for m in a.eval:
        paths, ids, roles = metrics.read_eval_manifest(m)
        e = train.embed_images(Feat(), data.load_images(paths))
        for tag, z in (("pca", (e - mu) @ w0), ("head", e @ w + b)):
            r = metrics.score(z, ids, roles)
            print(os.path.basename(m), tag, {k: round(r[k], 4) for k in ("centroid_top1", "centroid_top5", "centroid_dir_at_far_1pct", "icf_rank1")}, flush=True)
    if a.out:
        print("pca_head: ops", train.export_onnx(Headed(model, w, b), a.out), "->", a.out)


if __name__ == "__main__":
    main()
