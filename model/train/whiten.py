"""whiten folds centring and PCA whitening of the training embeddings into the exported ONNX.

The margin-loss nets this recipe can afford on a CPU leave every embedding close to one shared
direction (post-ReLU pooled features are all positive): cosines between different characters sit
near 0.99, so a threshold cannot separate them and int8 centroids lose the ranking. Whitening, fit
on TRAINING images only, removes that direction and equalises the others. It is affine, so it folds
into the last MatMul's weight and one Add: the runtime's op list does not change.

    e' = (e - mu) @ W,  W = V diag(1 / (sd + eps * sd_max))   (V, sd: PCA of training embeddings)

With --data (the training sources, as train.py takes them) W whitens the WITHIN-identity scatter
instead (WCCN, Hatch et al. 2006): classes are character@style, as in the eval manifests, and both
mirror passes of two images per class are the samples. Directions along which one character's
drawings vary (expression, pose, background) shrink; directions that tell characters apart grow.

    W = (Sw + lam * tr(Sw)/D * I)^(-1/2)

WCCN was measured and is not what `make train` ships: it wins on every synthetic manifest but,
fit on synthetic variation, draws unrelated real-art characters together (MODEL_CARD.md).

usage: python3 whiten.py --run RUN --cache CACHE.npz [--n 4000] [--eps 1e-3] [--out RUN/toonid.onnx]
                         [--data DIR,DIR --holdout-styles S,S --lam 0.01] [--eval manifest.tsv ...]
The run's toonid.onnx is read from RUN/toonid.raw.onnx when present (a re-run does not whiten twice).
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import metrics  # noqa: E402
import train  # noqa: E402
import evaluate  # noqa: E402


def fit(emb, eps):
    """fit returns mu and W of the whitening transform for embeddings emb [N, D]."""
    emb = np.asarray(emb, dtype=np.float64)
    mu = emb.mean(0)
    _, s, vt = np.linalg.svd(emb - mu, full_matrices=False)
    sd = s / np.sqrt(len(emb))
    return mu, vt.T / (sd + eps * sd[0])


def fit_within(emb, labels, lam):
    """fit_within returns mu and W = (Sw + lam*tr(Sw)/D*I)^(-1/2) for embeddings emb [N, D] of
    classes labels [N]: the within-class whitening (WCCN) of the embeddings."""
    emb = np.asarray(emb, dtype=np.float64)
    _, inv = np.unique(np.asarray(labels), return_inverse=True)
    counts = np.bincount(inv)
    if (counts < 2).any():
        raise ValueError("whiten: every class needs at least two samples")
    means = np.zeros((len(counts), emb.shape[1]))
    np.add.at(means, inv, emb)
    d = emb - means[inv] / counts[inv][:, None]
    sw = d.T @ d / len(emb)
    vals, vecs = np.linalg.eigh(sw + lam * np.trace(sw) / len(sw) * np.eye(len(sw)))
    return emb.mean(0), vecs @ np.diag(vals ** -0.5) @ vecs.T


def class_pairs(rows, n, seed=0):
    """class_pairs picks up to n character@style classes with two images or more and returns the
    indices of two images of each and their class names."""
    by = {}
    for i, r in enumerate(rows):
        by.setdefault(f"{r[1]}@{r[2]}", []).append(i)
    keys = sorted(k for k, v in by.items() if len(v) >= 2)
    keys = [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))[:n]]
    idx = np.array([i for k in keys for i in by[k][:2]], dtype=np.int64)
    return idx, np.array([k for k in keys for _ in range(2)])


def cached_rows(dirs, hold, cache):
    """cached_rows returns the manifest rows of train.py's image cache, refusing a cache made from
    other sources or another hold-out (train.load_sources would rebuild it; we must not)."""
    rows = train.source_rows(dirs, hold)
    imgs = train.cached_images(rows, cache)
    if imgs is None:
        raise SystemExit(f"whiten: {cache} was not made from --data with --holdout-styles {sorted(hold)}")
    return rows, imgs


def fold(graph_path, mu, w, out_path):
    """fold rewrites the final MatMul's weight P as P @ W and appends Add(-mu @ W)."""
    g = onnx.load(graph_path)
    last = g.graph.node[-1]
    if last.op_type != "MatMul":
        raise SystemExit(f"whiten: last node is {last.op_type}, want the bias-free MatMul projection")
    inits = {i.name: i for i in g.graph.initializer}
    name = last.input[1]
    p = numpy_helper.to_array(inits[name]).astype(np.float64)
    inits[name].CopyFrom(numpy_helper.from_array((p @ w).astype(np.float32), name))
    out = last.output[0]
    last.output[0] = out + "_raw"
    g.graph.initializer.append(numpy_helper.from_array((-(mu @ w)).astype(np.float32).reshape(1, -1), "whiten_bias"))
    g.graph.node.append(helper.make_node("Add", [out + "_raw", "whiten_bias"], [out], name="whiten"))
    onnx.checker.check_model(g)
    ops = {n.op_type for n in g.graph.node}
    if not ops <= train.ALLOWED_OPS:
        raise SystemExit(f"whiten: ops {sorted(ops - train.ALLOWED_OPS)} outside the runtime's list")
    onnx.save(g, out_path)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--cache", required=True, help="training image cache (npz 'images') written by train.py")
    ap.add_argument("--n", type=int, default=4000, help="training images to fit on (WCCN: classes, two images each)")
    ap.add_argument("--eps", type=float, default=1e-3, help="floor on a direction's sd, relative to the largest")
    ap.add_argument("--data", default="", help="training sources (comma-separated): fit WCCN on their classes")
    ap.add_argument("--holdout-styles", default="", help="as given to train.py for this run's cache")
    ap.add_argument("--lam", type=float, default=0.01, help="WCCN ridge, relative to the mean within-class variance")
    ap.add_argument("--out", default="")
    ap.add_argument("--eval", nargs="*", default=[])
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    raw = os.path.join(a.run, "toonid.raw.onnx")
    src = os.path.join(a.run, "toonid.onnx")
    if not os.path.exists(raw):
        shutil.copyfile(src, raw)
    model = evaluate.load_model(a.run)
    if a.data:
        rows, imgs = cached_rows(a.data.split(","), set(filter(None, a.holdout_styles.split(","))), a.cache)
        idx, labels = class_pairs(rows, a.n)
        im = imgs[idx]
        # Each mirror pass is a sample of its own (not their average): both are what Embed sums.
        both = np.concatenate([train.embed_images(model, im), train.embed_images(model, np.ascontiguousarray(im[..., ::-1]))])
        mu, w = fit_within(both, np.concatenate([labels, labels]), a.lam)
        res = {"fit_images": int(len(idx)), "mode": "wccn", "classes": int(len(idx) // 2), "lam": a.lam}
    else:
        imgs = np.load(a.cache)["images"]
        idx = np.sort(np.random.default_rng(0).choice(len(imgs), min(a.n, len(imgs)), replace=False))
        mu, w = fit(train.embed_images(model, imgs[idx]), a.eps)
        res = {"fit_images": int(len(idx)), "mode": "pca", "eps": a.eps}
    fold(raw, mu, w, a.out or src)
    for m in a.eval:
        paths, ids, roles = metrics.read_eval_manifest(m)
        im = data.load_images(paths)
        e = train.embed_images(model, im)
        before, after = metrics.score(e, ids, roles), metrics.score((e - mu) @ w, ids, roles)
        mirrored = metrics.score(train.embed_images(model, im, mirror=True, post=lambda x: (x - mu) @ w), ids, roles)
        res[os.path.basename(m)] = {"raw": before, "whitened": after, "whitened_mirror": mirrored}
        keys = ("centroid_top1", "centroid_top5", "centroid_dir_at_far_1pct", "tar_at_far_1e-3", "icf_rank1")
        for k, r in (("raw", before), ("whitened", after), ("whitened_mirror", mirrored)):
            print(os.path.basename(m), k, json.dumps({x: round(r[x], 4) for x in keys}), flush=True)
    with open(os.path.join(a.run, "whiten.json"), "w") as f:
        json.dump(res, f, indent=1)
    print("whiten: wrote", a.out or src)


if __name__ == "__main__":
    main()
