"""train trains the toonid face embedder on CPU (or CUDA if present) and exports ONNX.

The net is a small plain ResNet (Conv, ReLU, same-shape Add, GlobalAveragePool, bias-free MatMul)
so every op is one the Go importer supports. Loss: ArcFace (margin ramped in) on identities that
span art styles, plus a supervised-contrastive term over P x K batches whose K images of one
identity come from different styles (cross-style positives). Augmentation runs on whole batches
as tensor ops and keeps identity cues: no hue shift.

usage: python3 train.py --data DIR[,DIR...] --out RUN --minutes M [--holdout-styles a,b]
"""
import argparse
import copy
import hashlib
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import mnv2  # noqa: E402

PER_STYLE = {"notionists"}
INPUT = 96
EMBED = 128
MEAN, STD = 0.5, 0.5


def conv_bn(cin, cout, stride=1, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Block(nn.Module):
    """Basic residual block; the add is same-shape so the Go runtime needs no broadcast."""

    def __init__(self, c):
        super().__init__()
        self.c1 = conv_bn(c, c)
        self.c2 = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return F.relu(x + self.c2(self.c1(x)))


class Net(nn.Module):
    """The from-scratch plain ResNet of rounds 1-3 (--arch resnet), input (x-0.5)/0.5 at 96 px."""

    input_size, mean, std, opset = INPUT, MEAN, STD, 13

    def __init__(self, widths=(16, 32, 64, 128), head=256, embed=EMBED):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.body = nn.Sequential(
            conv_bn(3, w0, 2),            # 48
            conv_bn(w0, w1, 2), Block(w1),  # 24
            conv_bn(w1, w2, 2), Block(w2),  # 12
            conv_bn(w2, w3, 2), Block(w3),  # 6
            conv_bn(w3, head, 1, 1),
        )
        # Projection without bias: the Go importer's Gemm re-adds bias on every run.
        self.proj = nn.Linear(head, embed, bias=False)

    def forward(self, x):
        x = self.body(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.proj(x)


def count_macs(model, size=None):
    size = size or model.input_size
    macs = 0

    def hook(m, i, o):
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            macs += o.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs += m.in_features * m.out_features
    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for h in hs:
        h.remove()
    return macs


class ArcFace(nn.Module):
    def __init__(self, n, d=EMBED, s=32.0, m=0.3):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n, d) * 0.01)
        self.s, self.m = s, m
        self.register_buffer("seen", torch.zeros(n, dtype=torch.bool))

    @torch.no_grad()
    def update_proxies(self, e, y, momentum=0.5, first_only=False):
        """EMA class proxies: a class's weight moves to the mean of its batch embeddings. With
        thousands of classes and a CPU budget each class is seen only tens of times, too few for
        gradient-trained proxies (measured: no progress in 200 steps); a class seen once already
        has a sensible proxy this way. First sight replaces the random init."""
        z = F.normalize(e.detach())
        for c in torch.unique(y):
            mu = F.normalize(z[y == c].mean(0), dim=0)
            if not self.seen[c]:
                self.w.data[c] = mu
                self.seen[c] = True
            elif not first_only:
                self.w.data[c] = F.normalize(momentum * F.normalize(self.w.data[c], dim=0) + (1 - momentum) * mu, dim=0)

    def forward(self, e, y, m):
        cos = F.linear(F.normalize(e), F.normalize(self.w)).clamp(-1 + 1e-6, 1 - 1e-6)
        th = torch.acos(cos.gather(1, y[:, None]))
        tgt = torch.cos(th + m)
        # Past pi - m the margin would flip the sign; fall back to CosFace there.
        tgt = torch.where(th + m < math.pi, tgt, cos.gather(1, y[:, None]) - m)
        logits = cos.scatter(1, y[:, None], tgt) * self.s
        return F.cross_entropy(logits, y)


def relational(e, ft):
    """relational (relational knowledge distillation on cosine similarities) keeps the batch's
    pairwise similarities in the embedding close to those of the frozen ImageNet trunk's
    features, square-rooted and centred as they match zero-shot: identity training may add
    distinctions, but art the synthetic data never shows keeps the neighbours ImageNet gave it."""
    zt = torch.sqrt(ft.clamp(min=0))
    zt = F.normalize(zt - zt.mean(0, keepdim=True))
    ze = F.normalize(e)
    n = len(e)
    off = ~torch.eye(n, dtype=torch.bool)
    return ((ze @ ze.t() - zt @ zt.t())[off] ** 2).mean()


def supcon(e, y, t=0.1):
    """Supervised contrastive loss: every other image of the same identity in the batch is a
    positive (the batch sampler makes them come from other styles)."""
    z = F.normalize(e)
    sim = z @ z.t() / t
    n = len(y)
    eye = torch.eye(n, dtype=torch.bool)
    sim = sim.masked_fill(eye, -1e9)
    pos = (y[:, None] == y[None, :]) & ~eye
    logp = sim - torch.logsumexp(sim, 1, keepdim=True)
    cnt = pos.sum(1).clamp(min=1)
    return -(logp * pos).sum(1).div(cnt).mean()


# ---- batch augmentation (tensor ops; identity-safe) ----

def _rand(n, lo, hi):
    return torch.empty(n).uniform_(lo, hi)


def geometric(x, out=INPUT, strength=1.0):
    """Crop jitter around the face, zoom, rotation and flip in one grid_sample."""
    n = x.shape[0]
    ang = _rand(n, -12, 12) * strength * math.pi / 180
    sc = _rand(n, 0.82, 1.12) if strength else torch.ones(n)
    tx, ty = _rand(n, -0.08, 0.08) * strength, _rand(n, -0.08, 0.08) * strength
    flip = torch.where(torch.rand(n) < 0.5 * strength, -1.0, 1.0)
    cos, sin = torch.cos(ang) * sc, torch.sin(ang) * sc
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, (n, 3, out, out), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def style_aug(x, p=1.0, colour_drop=True):
    """x in [0,1], [N,3,H,W]. Each transform hits a random subset of the batch.

    colour_drop=False turns off greyscale and line art (the two transforms that remove colour, the
    cue that tells many cartoon characters apart) while drawing the same random numbers, so a run
    without them sees the same batches and every other augmentation unchanged (a paired ablation)."""
    keep = 1.0 if colour_drop else 0.0
    n = x.shape[0]

    def sel(prob):
        return (torch.rand(n) < prob * p).view(n, 1, 1, 1).float()

    grey = x.mul(torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    # busy background: replace pixels matching the corner colour with another image of the batch
    m = sel(0.15)
    corner = x[:, :, :2, :2].mean((2, 3), keepdim=True)
    bgmask = ((x - corner).abs().amax(1, keepdim=True) < 0.04).float()
    # fragments of another image, shifted half a frame so no second centred face appears
    H = x.shape[2]
    other = x.roll(1, 0).roll((H // 2, H // 2), (2, 3))
    x = x * (1 - m * bgmask) + other * (m * bgmask)
    # mild brightness / contrast / saturation (no hue change)
    b = _rand(n, 0.85, 1.15).view(n, 1, 1, 1)
    c = _rand(n, 0.8, 1.2).view(n, 1, 1, 1)
    s = _rand(n, 0.7, 1.25).view(n, 1, 1, 1)
    mu = x.mean((1, 2, 3), keepdim=True)
    g = x.mul(torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    x = ((g + (x - g) * s - mu) * c + mu) * b
    x = x.clamp(0, 1)
    # greyscale
    m = sel(0.2) * keep
    g = x.mul(torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    x = x * (1 - m) + g.expand_as(x) * m
    # line art from colour edges
    m = sel(0.15) * keep
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3).repeat(3, 1, 1, 1)
    gx = F.conv2d(x, kx, padding=1, groups=3)
    gy = F.conv2d(x, kx.transpose(2, 3), padding=1, groups=3)
    edge = (gx.abs() + gy.abs()).amax(1, keepdim=True)
    line = (1 - (edge * 1.5).clamp(0, 1)).expand_as(x)
    x = x * (1 - m) + line * m
    # posterize to 3-6 levels
    m = sel(0.2)
    lv = torch.randint(3, 7, (n,)).float().view(n, 1, 1, 1)
    x = x * (1 - m) + (torch.round(x * lv) / lv) * m
    # stroke thickening / thinning (min / max pool)
    m = sel(0.15)
    thick = -F.max_pool2d(-x, 3, 1, 1)
    thin = F.max_pool2d(x, 3, 1, 1)
    pick = (torch.rand(n) < 0.5).view(n, 1, 1, 1).float()
    x = x * (1 - m) + (thick * pick + thin * (1 - pick)) * m
    # blur
    m = sel(0.12)
    x = x * (1 - m) + F.avg_pool2d(x, 3, 1, 1, count_include_pad=False) * m
    # resolution drop
    m = sel(0.15)
    r = random.choice([20, 28, 36, 48])
    low = F.interpolate(F.interpolate(x, size=(r, r), mode="bilinear", align_corners=False),
                        size=x.shape[2:], mode="bilinear", align_corners=False)
    x = x * (1 - m) + low * m
    # occlusion: one random rectangle of flat colour
    m = sel(0.2)
    H = x.shape[2]
    ys, xs = torch.randint(0, H - H // 4, (n,)), torch.randint(0, H - H // 4, (n,))
    hh, ww = torch.randint(H // 8, H // 3, (n,)), torch.randint(H // 8, H // 3, (n,))
    ar = torch.arange(H)
    box = ((ar.view(1, H, 1) >= ys.view(n, 1, 1)) & (ar.view(1, H, 1) < (ys + hh).view(n, 1, 1)) &
           (ar.view(1, 1, H) >= xs.view(n, 1, 1)) & (ar.view(1, 1, H) < (xs + ww).view(n, 1, 1))).float()[:, None]
    x = x * (1 - m * box) + torch.rand(n, 3, 1, 1) * (m * box)
    # light noise stands in for JPEG / scan artefacts
    m = sel(0.15)
    x = x + torch.randn_like(x) * 0.03 * m
    return x.clamp(0, 1)


def normalise(x, model):
    return (x - model.mean) / model.std


# ---- data ----

def source_rows(dirs, holdout_styles=()):
    """source_rows reads the manifests of dirs without the held-out styles, in the cache's order."""
    return sorted(r for d in dirs for r in data.read_dir(d) if r[2] not in holdout_styles)


def cached_images(rows, cache):
    """cached_images returns the images of the cache file when it was made from exactly rows' files,
    unchanged since (data.cached_images: paths, sizes and modification times), else None."""
    return data.cached_images([r[0] for r in rows], cache)


def load_sources(dirs, holdout_styles=(), cache=None):
    rows = source_rows(dirs, holdout_styles)
    imgs = cached_images(rows, cache)
    if imgs is not None:
        return rows, imgs
    paths = [r[0] for r in rows]
    stamps = data.file_stamps(paths)
    imgs = data.load_images(paths)
    if cache:
        data.save_image_cache(cache, paths, imgs, stamps)
    return rows, imgs


class PKSampler:
    """P identities x K images; K images prefer distinct styles so positives are cross-style."""

    def __init__(self, labels, styles, p, k, seed):
        self.by = {}
        for i, (y, s) in enumerate(zip(labels, styles)):
            self.by.setdefault(y, {}).setdefault(s, []).append(i)
        self.ids = [y for y in self.by if sum(len(v) for v in self.by[y].values()) >= 2]
        self.p, self.k = p, k
        self.r = random.Random(seed)

    def batch(self):
        """K/2 styles per identity, two images (variants) of each when it has them: within-style
        positives are learnt quickly, cross-style ones carry the style invariance."""
        out, lab = [], []
        for y in self.r.sample(self.ids, self.p):
            styles = list(self.by[y])
            self.r.shuffle(styles)
            got = []
            j = 0
            while len(got) < self.k:
                lst = self.by[y][styles[j % len(styles)]]
                got += self.r.sample(lst, min(2, len(lst), self.k - len(got)))
                j += 1
            out += got
            lab += [y] * self.k
        return out, lab


def build_model(arch, widths="16,32,64,128", head=256, end="block_13_expand_relu", input_size=112):
    if arch == "resnet":
        return Net(tuple(int(v) for v in widths.split(",")), head)
    if arch == "mnv2":
        m = mnv2.Student(end, EMBED, input_size)
        # torch 1.13 exports ZeroPad2d at opset >= 11 as a computed pads subgraph the runtime does
        # not run; opset 9 keeps pads an attribute (and Clip's bounds attributes).
        m.opset = 9
        return m
    raise ValueError(f"unknown arch {arch}")


def export_onnx(model, path):
    model.eval().to(memory_format=torch.contiguous_format)
    dummy = torch.zeros(1, 3, model.input_size, model.input_size)
    torch.onnx.export(model, dummy, path, opset_version=model.opset, input_names=["input"], output_names=["embedding"],
                      do_constant_folding=True, dynamic_axes=None)
    import onnx
    m = onnx.load(path)
    strip_identity(m.graph)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return sorted({n.op_type for n in m.graph.node})


def strip_identity(g):
    """strip_identity removes Identity nodes (torch emits them for shared initializers) by
    rewiring their consumers, so the runtime needs no Identity op."""
    outs = {o.name for o in g.output}
    for n in [n for n in g.node if n.op_type == "Identity"]:
        src, dst = n.input[0], n.output[0]
        if dst in outs:
            continue
        for m in g.node:
            for i, name in enumerate(m.input):
                if name == dst:
                    m.input[i] = src
        g.node.remove(n)


ALLOWED_OPS = {"Conv", "Relu", "PRelu", "Clip", "Pad", "Add", "GlobalAveragePool", "Flatten", "MatMul"}


def embed_images(model, imgs, bs=256, mirror=False, post=None):
    """imgs uint8 [N,3,S,S] -> float embeddings, resized to the model's input (no augmentation).

    post (numpy [N,D] -> [N,D]) is applied to each pass, e.g. the whitening whiten.py folds into the
    exported graph. mirror=True returns l2n(post(f(x))) + l2n(post(f(mirror x))), what the Go runtime's
    Embed computes for a model file with the mirror-average flag (toonid quantize -mirror)."""
    model.eval()
    post = post or (lambda e: e)
    out = []
    with torch.no_grad():
        for i in range(0, len(imgs), bs):
            x = torch.from_numpy(imgs[i:i + bs]).float() / 255
            x = normalise(F.interpolate(x, size=(model.input_size,) * 2, mode="bilinear", align_corners=False,
                                        antialias=True), model)
            e = post(model(x).numpy())
            if mirror:
                f = post(model(torch.flip(x, dims=[3])).numpy())
                e = l2n_rows(e) + l2n_rows(f)
            out.append(e)
    return np.concatenate(out) if out else np.zeros((0, EMBED), np.float32)


def l2n_rows(e):
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def prefix_views(model, imgs, paths, a, path, bs=128):
    """prefix_views returns float16 [N, V, C, h, w]: the frozen prefix's activations on a.views
    augmented views (geometric + style, at the deployed size) of every image. The prefix runs once
    per view instead of once per step: on 2 CPU cores it is most of the network's time (the
    high-resolution blocks), so the tail then trains several times faster. Kept in `path` with
    a JSON sidecar; reused only when the sidecar matches (same images, prefix, views, seed)."""
    meta = {"paths_sha256": hashlib.sha256("\n".join(paths).encode()).hexdigest(),
            "freeze_through": a.freeze_through, "views": a.views, "size": model.input_size, "seed": a.seed,
            "colour_drop": not a.no_colour_drop, "init": a.init or a.tfjs}
    side = path + ".json"
    if os.path.isfile(path) and os.path.isfile(side) and json.load(open(side)) == meta:
        print(f"views: reusing {path}", flush=True)
        return np.load(path, mmap_mode="r")
    g = torch.get_rng_state()
    torch.manual_seed(a.seed + 7)
    model.eval()
    out = None
    t0 = time.time()
    for v in range(a.views):
        for i in range(0, len(imgs), bs):
            x = torch.from_numpy(imgs[i:i + bs]).float().div_(255)
            x = style_aug(geometric(x, out=model.input_size), colour_drop=not a.no_colour_drop)
            h = model.prefix(normalise(x, model).contiguous(memory_format=torch.channels_last), a.freeze_through)
            h = h.contiguous().numpy().astype(np.float16)
            if out is None:
                out = np.lib.format.open_memmap(path + ".tmp", mode="w+", dtype=np.float16,
                                                shape=(len(imgs), a.views) + h.shape[1:])
            out[i:i + len(h), v] = h
            if (i // bs) % 50 == 0:
                print(f"views: view {v + 1}/{a.views} image {i + len(h)}/{len(imgs)} {time.time() - t0:.0f}s", flush=True)
    out.flush()
    del out
    os.replace(path + ".tmp", path)
    with open(side, "w") as f:
        json.dump(meta, f)
    torch.set_rng_state(g)
    model.train()
    return np.load(path, mmap_mode="r")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="comma-separated source dirs with manifest-*.tsv")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=50)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--holdout-styles", default="")
    ap.add_argument("--p", type=int, default=32)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--supcon", type=float, default=0.5)
    ap.add_argument("--margin", type=float, default=0.3)
    ap.add_argument("--arc-per-style", action="store_true", help="ArcFace classes = DiceBear identity@style")
    ap.add_argument("--proxy", choices=["ema", "sgd"], default="ema", help="class proxies: EMA of embeddings or trained")
    ap.add_argument("--widths", default="16,32,64,128")
    ap.add_argument("--head", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", default="")
    ap.add_argument("--init", default="", help="state_dict to start from")
    ap.add_argument("--no-colour-drop", action="store_true", help="ablation: no greyscale or line-art augmentation")
    ap.add_argument("--sizes", default="64,80", help="input sizes for the first 60%% and next 25%% of training")
    ap.add_argument("--arch", choices=["resnet", "mnv2"], default="resnet")
    ap.add_argument("--tfjs", default="", help="mnv2: TF.js folder of the pretrained trunk (node tfjs_mnv2.mjs dump)")
    ap.add_argument("--end", default="block_13_expand_relu", help="mnv2: the Keras layer the trunk ends at")
    ap.add_argument("--input", type=int, default=112, help="mnv2: deployed input size")
    ap.add_argument("--freeze-through", type=int, default=-1, help="mnv2: keep stem..block N fixed (-1: none)")
    ap.add_argument("--trunk-lr", type=float, default=1.0, help="mnv2: trunk learning rate as a fraction of --lr")
    ap.add_argument("--l2sp", type=float, default=0.0, help="mnv2: L2-SP weight toward the initial trunk weights")
    ap.add_argument("--rkd", type=float, default=0.0, help="mnv2: weight of the relational distillation toward the frozen trunk")
    ap.add_argument("--train-bn", action="store_true", help="mnv2: update BatchNorm statistics (default: frozen)")
    ap.add_argument("--views", type=int, default=0,
                    help="mnv2 with --freeze-through: precompute the frozen prefix on this many augmented views of "
                         "every image once, then train only the tail on them (--feature-cache keeps them)")
    ap.add_argument("--feature-cache", default="", help="--views: .npy file of the prefix activations (reused when it matches)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/ckpt.pt when it exists")
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    a.sizes = [int(v) for v in a.sizes.split(",")]
    hold = set(s for s in a.holdout_styles.split(",") if s)
    rows, imgs = load_sources(a.data.split(","), hold, a.cache or None)
    # Styles whose options cannot express the shared attributes (notionists has no colours)
    # keep their own identities: linking them across styles would be label noise.
    rows = [(p, f"{i}@{st}" if st in PER_STYLE else i, st, v) for p, i, st, v in rows]
    names = sorted({r[1] for r in rows})
    idx = {n: i for i, n in enumerate(names)}
    labels = [idx[r[1]] for r in rows]
    # --arc-per-style: the margin loss separates DiceBear characters within each style
    # (identity@style) while SupCon keeps pulling the styles of one character together.
    arc_names = sorted({f"{r[1]}@{r[2]}" if (a.arc_per_style and r[1].startswith("db")) else r[1] for r in rows})
    arc_idx = {n: i for i, n in enumerate(arc_names)}
    arc_labels = [arc_idx[f"{r[1]}@{r[2]}" if (a.arc_per_style and r[1].startswith("db")) else r[1]] for r in rows]
    styles = [r[2] for r in rows]
    print(f"train: {len(rows)} images, {len(names)} identities, styles {sorted(set(styles))}", flush=True)
    model = build_model(a.arch, a.widths, a.head, a.end, a.input)
    if a.arch == "mnv2" and a.tfjs and not a.init:
        model.trunk.load_keras(mnv2.load_tfjs(a.tfjs)[1])
    fast = a.arch == "mnv2" and not a.train_bn
    if fast:
        model.fuse_bn().to(memory_format=torch.channels_last)
    if a.init:
        model.load_state_dict(torch.load(a.init))
    frozen = model.frozen_prefix(a.freeze_through) if a.arch == "mnv2" else []
    for m in frozen:
        m.requires_grad_(False)
    # L2-SP: a pull toward the starting trunk keeps what ImageNet taught it.
    start = [(p, p.detach().clone()) for p in (model.trunk.parameters() if a.arch == "mnv2" else []) if p.requires_grad]
    split = a.arch == "mnv2" and a.freeze_through >= 0
    teacher = None
    if a.rkd:
        if not split:
            raise SystemExit("train: --rkd needs --arch mnv2 and --freeze-through N")
        teacher = copy.deepcopy(model.trunk.blocks[a.freeze_through:]).eval().requires_grad_(False)
    head = ArcFace(len(arc_names))
    head.w.requires_grad_(a.proxy == "sgd")
    macs = count_macs(model)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {macs / 1e6:.1f} MMAC at {model.input_size}px, {params / 1e6:.3f} M params", flush=True)
    if a.arch == "mnv2":
        trunk = [p for p in model.trunk.parameters() if p.requires_grad]
        groups = [{"params": trunk, "weight_decay": 0 if a.l2sp else 5e-4, "lr_mult": a.trunk_lr},
                  {"params": model.proj.parameters(), "weight_decay": 5e-4}]
    else:
        groups = [{"params": model.parameters(), "weight_decay": 5e-4}]
    if a.proxy == "sgd":
        groups.append({"params": head.parameters(), "weight_decay": 0})
    opt = torch.optim.AdamW(groups, lr=a.lr)
    sampler = PKSampler(labels, styles, a.p, a.k, a.seed)
    feats = None
    if a.views:
        if not split:
            raise SystemExit("train: --views needs --arch mnv2 and --freeze-through N")
        feats = prefix_views(model, imgs, [r[0] for r in rows], a, a.feature_cache or os.path.join(a.out, "views.npy"))
        vr = np.random.default_rng(a.seed + 1)

        def view_of(ix):
            return vr.integers(0, a.views, len(ix))
    budget = a.minutes * 60
    t0 = time.time()
    step = 0
    ckpt = os.path.join(a.out, "ckpt.pt")
    if a.resume and os.path.isfile(ckpt):
        c = torch.load(ckpt)
        model.load_state_dict(c["model"])
        head.load_state_dict(c["head"])
        opt.load_state_dict(c["opt"])
        sampler.r.setstate(c["sampler"])
        torch.set_rng_state(c["torch_rng"])
        step, t0 = c["step"], time.time() - c["seconds"]
        print(f"resume: step {step} at {c['seconds']:.0f}s from {ckpt}", flush=True)
    last_ckpt = time.time()
    log = open(os.path.join(a.out, "train.log"), "a")
    model.train()
    if a.arch == "mnv2" and not a.train_bn:
        # Frozen BN statistics: P x K batches of synthetic faces would pull ImageNet's away.
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
    while True:
        el = time.time() - t0
        frac = el / budget if not a.max_steps else step / a.max_steps
        if frac >= 1:
            break
        # warm-up then cosine decay over the wall-clock budget
        lr = a.lr * min(1.0, (frac + 1e-3) / 0.05) * 0.5 * (1 + math.cos(math.pi * min(frac, 1)))
        for g in opt.param_groups:
            g["lr"] = lr * g.get("lr_mult", 1.0)
        ix, lab = sampler.batch()
        if feats is None:
            x = torch.from_numpy(imgs[ix]).float().div_(255)
            # Progressive resizing: most steps at low resolution (the net is fully convolutional
            # up to the global pool), the last ones at the deployed size so BN statistics match it.
            size = a.sizes[0] if frac < 0.6 else a.sizes[1] if frac < 0.85 else model.input_size
            x = style_aug(geometric(x, out=size), colour_drop=not a.no_colour_drop)
        else:
            size = model.input_size
        y = torch.tensor(lab)
        ya = torch.tensor([arc_labels[i] for i in ix])
        if feats is not None:
            h = torch.from_numpy(feats[np.asarray(ix), np.asarray(view_of(ix))].astype(np.float32))
            h = h.contiguous(memory_format=torch.channels_last)
            e, ft = model.tail(h, a.freeze_through, teacher)
        elif split:
            x = normalise(x, model).contiguous(memory_format=torch.channels_last)
            e, ft = model.tail(model.prefix(x, a.freeze_through), a.freeze_through, teacher)
        else:
            e, ft = model(normalise(x, model)), None
        # Plain normalised softmax first, then ramp the margin in: from scratch on CPU budgets a
        # full margin at step one stalls training (measured: no progress in 260 steps).
        margin = a.margin * min(1.0, max(0.0, (frac - 0.1) / 0.3))
        la = head(e, ya, margin)
        ls = supcon(e, y) if a.supcon else torch.zeros(())
        loss = la + a.supcon * ls
        lsp = sum((((p - p0) ** 2).sum() for p, p0 in start), torch.zeros(())) if a.l2sp else torch.zeros(())
        loss = loss + a.l2sp * lsp
        lrk = relational(e, ft) if teacher is not None else torch.zeros(())
        loss = loss + a.rkd * lrk
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if a.proxy == "ema":
            head.update_proxies(e, ya)
        step += 1
        if time.time() - last_ckpt > 300:
            torch.save({"model": model.state_dict(), "head": head.state_dict(), "opt": opt.state_dict(), "step": step,
                        "seconds": time.time() - t0, "sampler": sampler.r.getstate(), "torch_rng": torch.get_rng_state()},
                       ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
            last_ckpt = time.time()
        if step % 20 == 0 or step == 1:
            msg = (f"step {step} t {el:.0f}s lr {lr:.2e} m {margin:.2f} arc {la.item():.3f} supcon {ls.item():.3f} "
                   f"l2sp {lsp.item():.4f} rkd {lrk.item():.4f} "
                   f"px {size} img/s {step * len(ix) / max(el, 1e-6):.1f}")
            print(msg, flush=True)
            log.write(msg + "\n")
    torch.save(model.state_dict(), os.path.join(a.out, "model.pt"))
    ops = export_onnx(model, os.path.join(a.out, "toonid.onnx"))
    info = {"steps": step, "seconds": round(time.time() - t0), "images": len(rows), "identities": len(names),
            "macs": macs, "params": params, "ops": ops, "holdout_styles": sorted(hold), "args": vars(a),
            "torch": torch.__version__, "threads": a.threads}
    with open(os.path.join(a.out, "info.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info), flush=True)
    bad = set(ops) - ALLOWED_OPS
    if bad:
        raise SystemExit(f"train: exported graph uses unsupported ops {sorted(bad)}")


if __name__ == "__main__":
    main()
