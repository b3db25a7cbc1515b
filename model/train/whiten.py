"""whiten folds centring and PCA whitening of the training embeddings into the exported ONNX.

The margin-loss nets this recipe can afford on a CPU leave every embedding close to one shared
direction (post-ReLU pooled features are all positive): cosines between different characters sit
near 0.99, so a threshold cannot separate them and int8 centroids lose the ranking. Whitening, fit
on TRAINING images only, removes that direction and equalises the others. It is affine, so it folds
into the last MatMul's weight and one Add: the runtime's op list does not change.

    e' = (e - mu) @ W,  W = V diag(1 / (sd + eps * sd_max))   (V, sd: PCA of training embeddings)

usage: python3 whiten.py --run RUN --cache CACHE.npz [--n 4000] [--eps 1e-3] [--out RUN/toonid.onnx]
                         [--eval manifest.tsv ...]
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
    ap.add_argument("--n", type=int, default=4000, help="training images to fit on")
    ap.add_argument("--eps", type=float, default=1e-3, help="floor on a direction's sd, relative to the largest")
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
    imgs = np.load(a.cache)["images"]
    idx = np.sort(np.random.default_rng(0).choice(len(imgs), min(a.n, len(imgs)), replace=False))
    mu, w = fit(train.embed_images(model, imgs[idx]), a.eps)
    fold(raw, mu, w, a.out or src)
    res = {"fit_images": int(len(idx)), "eps": a.eps}
    for m in a.eval:
        paths, ids, roles = metrics.read_eval_manifest(m)
        im = data.load_images(paths)
        e = train.embed_images(model, im)
        before, after = metrics.score(e, ids, roles), metrics.score((e - mu) @ w, ids, roles)
        mirrored = metrics.score(train.embed_images(model, im, mirror=True, post=lambda x: (x - mu) @ w), ids, roles)
        res[os.path.basename(m)] = {"raw": before, "whitened": after, "whitened_mirror": mirrored}
        keys = ("pack_top1", "pack_top5", "dir_at_far_1pct", "tar_at_far_1e-3", "icf_rank1")
        for k, r in (("raw", before), ("whitened", after), ("whitened_mirror", mirrored)):
            print(os.path.basename(m), k, json.dumps({x: round(r[x], 4) for x in keys}), flush=True)
    with open(os.path.join(a.run, "whiten.json"), "w") as f:
        json.dump(res, f, indent=1)
    print("whiten: wrote", a.out or src)


if __name__ == "__main__":
    main()
