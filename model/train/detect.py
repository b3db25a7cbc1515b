"""detect: toonid's cartoon face detector, a single-stage anchor-free (CenterNet-style) net.

Net: the ImageNet MobileNetV2 trunk of npm nsfwjs (mnv2.py) through block_7 (stride 16, 64
channels; fixed, its activations on every training scene computed once into a cache), then
block 8 (started from the same ImageNet weights, trained) and a light head (1x1 64->96,
depthwise 3x3, 1x1 96->5). Input 3 x 256 x 256 RGB x/255 (mean 0, std 1: the trunk's own
preprocessing); a frame is scaled so its long side is 256 and put at the top-left, the rest
filled with 0.5 (package detect does the same in Go). 256, not 320: on the shared 2-core
machine the trunk ran at ~3 scenes/s at 320 px, so the cache alone would have taken the budget.

Output [5, 16, 16], raw (the model file's decode record says so; Go decodes, package detect):
  0   centre heatmap logit: score = sigmoid(v); a face centre is a 3x3 local maximum
  1,2 dx, dy: the centre is ((j + 0.5 + dx) * 16, (i + 0.5 + dy) * 16) in input pixels
  3,4 lw, lh: the box is exp(lw) * 16 wide and exp(lh) * 16 high
Training: penalty-reduced focal loss on a Gaussian heatmap (CenterNet; sigma from the box size),
L1 on offsets and log sizes at every cell where the target heat is >= 0.3 (weighted by it),
cells inside "ignore" boxes carry no heatmap loss. AdamW, cosine over the wall-clock budget,
checkpoint every 5 minutes, --resume continues.

usage: python3 detect.py --data DATA/detect --out runs/detect --minutes 60 [--resume]
       python3 detect.py --data DATA/detect --out runs/detect --export-only
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnv2  # noqa: E402

SIZE = 256
STRIDE = 16
GRID = SIZE // STRIDE
FROZEN_END = "block_7_add"
PAD = 0.5
ALLOWED_OPS = {"Conv", "Clip", "Relu", "Pad", "Add"}


class Head(nn.Module):
    """block 8 of MobileNetV2 + the detection head, on block_7 activations."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(mnv2.Inverted(64, 64, 1, 6))
        self.pw = mnv2.ConvBN(64, 96)
        self.dw = mnv2.ConvBN(96, 96, 3, 1, groups=96)
        self.out = nn.Conv2d(96, 5, 1)
        with torch.no_grad():
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()
            self.out.bias[0] = -4.0  # prior score ~0.02

    def forward(self, h):
        return self.out(self.dw(self.pw(self.blocks(h))))


class Detector(nn.Module):
    def __init__(self, trunk, head):
        super().__init__()
        self.trunk, self.head = trunk, head

    def forward(self, x):
        return self.head(self.trunk(x))


def keras_head_init(head, w):
    """copies Keras block_8 weights into the head's block."""
    for b, i in zip(head.blocks, (8,)):
        for m, conv, bn, dw in ((b.expand, f"block_{i}_expand", f"block_{i}_expand_BN", False),
                                (b.dw, f"block_{i}_depthwise", f"block_{i}_depthwise_BN", True),
                                (b.project, f"block_{i}_project", f"block_{i}_project_BN", False)):
            if dw:
                k = np.transpose(w[f"{conv}/depthwise_kernel"], (2, 3, 0, 1))
            else:
                k = np.transpose(w[f"{conv}/kernel"], (3, 2, 0, 1))
            with torch.no_grad():
                m.conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(k)))
                m.bn.weight.copy_(torch.from_numpy(w[f"{bn}/gamma"]))
                m.bn.bias.copy_(torch.from_numpy(w[f"{bn}/beta"]))
                m.bn.running_mean.copy_(torch.from_numpy(w[f"{bn}/moving_mean"]))
                m.bn.running_var.copy_(torch.from_numpy(w[f"{bn}/moving_variance"]))


def letterbox(im):
    """letterbox: RGB PIL image -> (float32 [3, SIZE, SIZE] x/255, scale): long side to SIZE,
    top-left, the rest PAD."""
    s = SIZE / max(im.width, im.height)
    w, h = max(1, round(im.width * s)), max(1, round(im.height * s))
    if (w, h) != im.size:
        im = im.resize((w, h), Image.BILINEAR)
    x = np.full((3, SIZE, SIZE), PAD, np.float32)
    x[:, :h, :w] = np.asarray(im.convert("RGB"), np.float32).transpose(2, 0, 1) / 255
    return x, s


def read_labels(d):
    rows = []
    for f in sorted(os.listdir(d)):
        if f.startswith("labels-") and f.endswith(".jsonl"):
            rows += [json.loads(l) for l in open(os.path.join(d, f)) if l.strip()]
    rows.sort(key=lambda r: r["path"])
    return rows


def build_cache(trunk, d, rows, path, threads):
    """the fixed trunk's block_6 activations of every scene, float16 [N, 64, GRID, GRID]."""
    meta = path + ".json"
    key = {"n": len(rows), "first": rows[0]["path"], "last": rows[-1]["path"], "end": FROZEN_END, "size": SIZE}
    if os.path.exists(path) and os.path.exists(meta) and json.load(open(meta)) == key:
        return np.load(path, mmap_mode="r")
    torch.set_num_threads(threads)
    out = np.lib.format.open_memmap(path + ".tmp", mode="w+", dtype=np.float16, shape=(len(rows), 64, GRID, GRID))
    start = 0
    if os.path.exists(path) and os.path.exists(meta):  # an older cache of a prefix of these scenes is kept
        old = json.load(open(meta))
        n = old.get("n", 0)
        if (old.get("end"), old.get("size"), old.get("first")) == (FROZEN_END, SIZE, rows[0]["path"]) and \
                0 < n <= len(rows) and old.get("last") == rows[n - 1]["path"]:
            out[:n] = np.load(path, mmap_mode="r")
            start = n
            print(f"cache {path}: {n} scenes kept", flush=True)
    t0, bs = time.time(), 16
    with torch.no_grad():
        for i in range(start, len(rows), bs):
            x = np.stack([letterbox(Image.open(os.path.join(d, r["path"])))[0] for r in rows[i:i + bs]])
            x = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
            out[i:i + bs] = trunk(x).float().numpy().astype(np.float16)
            if i % 800 == 0:
                print(f"cache {path}: {i + len(x)}/{len(rows)} {time.time() - t0:.0f}s", flush=True)
    out.flush()
    del out
    os.replace(path + ".tmp", path)
    json.dump(key, open(meta, "w"))
    return np.load(path, mmap_mode="r")


def targets(rows):
    """per scene: heat [G,G], reg [4,G,G], regw [G,G], mask [G,G] (0 inside ignore boxes)."""
    n = len(rows)
    heat = np.zeros((n, GRID, GRID), np.float32)
    reg = np.zeros((n, 4, GRID, GRID), np.float32)
    regw = np.zeros((n, GRID, GRID), np.float32)
    mask = np.ones((n, GRID, GRID), np.float32)
    jj, ii = np.meshgrid(np.arange(GRID) + 0.5, np.arange(GRID) + 0.5)
    for k, r in enumerate(rows):
        s = SIZE / max(r["w"], r["h"])
        for x, y, w, h in r["ignore"]:
            x0, y0, x1, y1 = x * s / STRIDE, y * s / STRIDE, (x + w) * s / STRIDE, (y + h) * s / STRIDE
            mask[k][(jj >= x0) & (jj <= x1) & (ii >= y0) & (ii <= y1)] = 0
        for x, y, w, h in r["boxes"]:
            cx, cy = (x + w / 2) * s / STRIDE, (y + h / 2) * s / STRIDE
            bw, bh = w * s / STRIDE, h * s / STRIDE
            sig = max(0.5, 0.16 * math.sqrt(bw * bh))
            pj, pi = min(GRID - 1, int(cx)), min(GRID - 1, int(cy))
            g = np.exp(-((jj - (pj + 0.5)) ** 2 + (ii - (pi + 0.5)) ** 2) / (2 * sig * sig))
            g[pi, pj] = 1.0
            heat[k] = np.maximum(heat[k], g)
            sel = g >= 0.3
            better = sel & (g > regw[k])
            reg[k, 0][better] = cx - jj[better]
            reg[k, 1][better] = cy - ii[better]
            reg[k, 2][better] = math.log(max(bw, 0.25))
            reg[k, 3][better] = math.log(max(bh, 0.25))
            regw[k][better] = g[better]
    mask = np.maximum(mask, (heat > 0).astype(np.float32))
    return heat, reg, regw, mask


def loss_fn(out, heat, reg, regw, mask):
    logit = out[:, 0]
    p = torch.sigmoid(logit).clamp(1e-4, 1 - 1e-4)
    pos = (heat >= 0.999).float()
    neg = (1 - pos) * mask
    lp = -(torch.log(p) * (1 - p) ** 2 * pos).sum()
    ln = -(torch.log(1 - p) * p ** 2 * (1 - heat) ** 4 * neg).sum()
    npos = pos.sum().clamp(min=1)
    lh = (lp + ln) / npos
    lr = ((out[:, 1:5] - reg).abs().sum(1) * regw).sum() / regw.sum().clamp(min=1)
    return lh + lr, lh.item(), lr.item()


def decode(out, thr=0.05, topk=100, nms=0.5):
    """out [5,G,G] numpy -> boxes [[x,y,w,h,score]] in input pixels (python twin of package detect)."""
    score = 1 / (1 + np.exp(-out[0]))
    t = torch.from_numpy(score)[None, None]
    peak = (F.max_pool2d(t, 3, 1, 1)[0, 0].numpy() == score) & (score >= thr)
    ii, jj = np.nonzero(peak)
    cand = []
    for i, j in zip(ii, jj):
        cx, cy = (j + 0.5 + out[1, i, j]) * STRIDE, (i + 0.5 + out[2, i, j]) * STRIDE
        w, h = math.exp(min(out[3, i, j], 6)) * STRIDE, math.exp(min(out[4, i, j], 6)) * STRIDE
        cand.append([cx - w / 2, cy - h / 2, w, h, float(score[i, j])])
    cand.sort(key=lambda b: -b[4])
    keep = []
    for b in cand:
        if all(iou(b, k) <= nms for k in keep):
            keep.append(b)
        if len(keep) >= topk:
            break
    return keep


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    u = a[2] * a[3] + b[2] * b[3] - inter
    return inter / u if u > 0 else 0.0


def average_precision(dets, gts, ignores, match="iou"):
    """dets: per image [[x,y,w,h,s]], gts/ignores per image [[x,y,w,h]]. match "iou" (>= 0.5) or
    "lenient" (detection centre inside the true box and size ratio sqrt(wh) within 0.5-2x).
    Greedy by score; a detection matching only an ignore box is dropped. -> (AP, recall at 1 FP
    per image, precision/recall points). AP: all-point interpolated area under the PR curve."""
    def ok(d, g):
        if match == "iou":
            return iou(d, g) >= 0.5
        cx, cy = d[0] + d[2] / 2, d[1] + d[3] / 2
        r = math.sqrt(max(d[2] * d[3], 1e-9) / max(g[2] * g[3], 1e-9))
        return g[0] <= cx <= g[0] + g[2] and g[1] <= cy <= g[1] + g[3] and 0.5 <= r <= 2
    allds = sorted([(d[4], k, d) for k, ds in enumerate(dets) for d in ds], key=lambda t: -t[0])
    used = [[False] * len(g) for g in gts]
    npos = sum(len(g) for g in gts)
    tp, fp, flags = 0, 0, []
    for s, k, d in allds:
        best, bj = -1, -1
        for j, g in enumerate(gts[k]):
            if used[k][j] or not ok(d, g):
                continue
            q = iou(d, g)
            if q > best:
                best, bj = q, j
        if bj >= 0:
            used[k][bj] = True
            flags.append(1)
        elif any(ok(d, g) or iou(d, g) > 0.3 for g in ignores[k]):
            continue
        else:
            flags.append(0)
    tp = np.cumsum(flags)
    fp = np.cumsum(1 - np.asarray(flags)) if flags else np.zeros(0)
    rec = tp / max(npos, 1) if flags else np.zeros(0)
    prec = tp / np.maximum(tp + fp, 1) if flags else np.zeros(0)
    ap = 0.0
    if len(rec):
        mrec = np.concatenate([[0], rec, [rec[-1]]])
        mpre = np.concatenate([[1], prec, [0]])
        for i in range(len(mpre) - 2, -1, -1):
            mpre[i] = max(mpre[i], mpre[i + 1])
        idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
        ap = float(((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]).sum())
    nimg = len(gts)
    r1 = float(rec[fp <= nimg].max()) if len(rec) and (fp <= nimg).any() else 0.0
    return ap, r1


def evaluate(model_head, feats, rows):
    model_head.eval()
    dets, gts, igs = [], [], []
    with torch.no_grad():
        for i in range(0, len(rows), 64):
            out = model_head(torch.from_numpy(np.asarray(feats[i:i + 64], np.float32))).numpy()
            for o, r in zip(out, rows[i:i + 64]):
                s = SIZE / max(r["w"], r["h"])
                dets.append([[b[0] / s, b[1] / s, b[2] / s, b[3] / s, b[4]] for b in decode(o)])
                gts.append(r["boxes"])
                igs.append(r["ignore"])
    model_head.train()
    ap, r1 = average_precision(dets, gts, igs)
    apl, _ = average_precision(dets, gts, igs, "lenient")
    return {"ap50": round(ap, 4), "ap_lenient": round(apl, 4), "recall_at_1fp": round(r1, 4)}


def export(trunk, head, path, size=SIZE):
    """export: the whole net as ONNX at input size x size. The net is fully convolutional, so a
    head trained on SIZE inputs runs at any multiple of STRIDE (package detect reads the input
    size from the model file and letterboxes to it): a larger size sees small faces at the
    scale training gave them larger ones, for size^2 more work."""
    if size % STRIDE:
        raise ValueError(f"export size {size} is not a multiple of {STRIDE}")
    net = Detector(trunk, head).eval()
    x = torch.zeros(1, 3, size, size)
    # opset 9: torch 1.13 exports ZeroPad2d at opset >= 11 as a computed pads subgraph; opset 9
    # keeps pads (and Clip bounds) attributes, as train.py does for the embedder.
    torch.onnx.export(net, x, path, opset_version=9, input_names=["input"], output_names=["output"],
                      do_constant_folding=True)
    import onnx
    m = onnx.load(path)
    g = m.graph
    # strip Identity nodes (torch emits one for a weight tensor it shares; the allowed op list
    # stays the runtime's)
    outs = {o.name for o in g.output}
    for n in [n for n in g.node if n.op_type == "Identity" and n.output[0] not in outs]:
        for m2 in g.node:
            m2.input[:] = [n.input[0] if v == n.output[0] else v for v in m2.input]
        g.node.remove(n)
    onnx.save(m, path)
    ops = sorted({n.op_type for n in g.node})
    if not set(ops) <= ALLOWED_OPS:
        raise ValueError(f"export: ops {ops} outside {ALLOWED_OPS}")
    print(f"export: {path} ops {ops} output {[d.dim_value for d in g.output[0].type.tensor_type.shape.dim]}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder with scenes/train, scenes/val (detect_data.py)")
    ap.add_argument("--tfjs", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "nsfwjs_mnv2"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--max-steps", type=int, default=0, help="run this many steps instead of a wall-clock budget")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache-threads", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--export-size", type=int, default=SIZE, help="input size of the exported ONNX (multiple of 16)")
    ap.add_argument("--cache-only", action="store_true", help="build the trunk caches and stop (another run may be training)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training scenes")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    _, w = mnv2.load_tfjs(a.tfjs)
    trunk = mnv2.MobileNetV2Trunk(FROZEN_END).load_keras(w).eval()
    head = Head()
    keras_head_init(head, w)
    ckpt = os.path.join(a.out, "checkpoint.pt")
    if a.export_only:
        head.load_state_dict(torch.load(os.path.join(a.out, "head.pt")))
        export(trunk, head.eval(), os.path.join(a.out, "detect.onnx"), a.export_size)
        return
    ftrunk = mnv2.MobileNetV2Trunk(FROZEN_END).load_keras(w).eval()
    for m in ftrunk.modules():
        if isinstance(m, mnv2.ConvBN):
            m.conv = torch.nn.utils.fusion.fuse_conv_bn_eval(m.conv.eval(), m.bn.eval())
            m.bn = nn.Identity()
    ftrunk = ftrunk.to(memory_format=torch.channels_last)
    sets = {}
    for split in ("train", "val"):
        d = os.path.join(a.data, "scenes", split)
        rows = read_labels(d)
        if split == "train" and a.limit:
            rows = rows[:a.limit]
        feats = build_cache(ftrunk, d, rows, os.path.join(a.data, f"cache_{split}.npy"), a.cache_threads)
        sets[split] = (rows, feats)
    if a.cache_only:
        return
    torch.set_num_threads(a.threads)
    rows, feats = sets["train"]
    heat, reg, regw, mask = (torch.from_numpy(t) for t in targets(rows))
    feats_t = torch.from_numpy(np.asarray(feats))  # float16 in memory
    opt = torch.optim.AdamW(head.parameters(), lr=a.lr, weight_decay=1e-4)
    step, elapsed, log = 0, 0.0, []
    if a.resume and os.path.exists(ckpt):
        c = torch.load(ckpt)
        head.load_state_dict(c["head"])
        opt.load_state_dict(c["opt"])
        step, elapsed, log = c["step"], c["elapsed"], c["log"]
        print(f"resumed at step {step}, {elapsed / 60:.1f} min")
    budget = a.minutes * 60
    g = torch.Generator().manual_seed(a.seed + step)
    t0, last_ck = time.time() - elapsed, time.time()
    head.train()

    def save():
        torch.save({"head": head.state_dict(), "opt": opt.state_dict(), "step": step,
                    "elapsed": time.time() - t0, "log": log}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    while True:
        el = time.time() - t0
        frac = step / a.max_steps if a.max_steps else el / budget
        if frac >= 1:
            break
        lr = a.lr * (min(1.0, (step + 1) / 200)) * 0.5 * (1 + math.cos(math.pi * min(frac, 1)))
        for pg in opt.param_groups:
            pg["lr"] = lr
        idx = torch.randint(0, len(rows), (a.batch,), generator=g)
        x = feats_t[idx].float()
        if torch.rand(1, generator=g).item() < 0.5:  # feature noise: the cached trunk sees one view per scene
            x = x * (1 + 0.1 * torch.randn(x.shape[0], x.shape[1], 1, 1, generator=g))
        out = head(x)
        loss, lh, lr_ = loss_fn(out, heat[idx], reg[idx], regw[idx], mask[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0:
            print(f"step {step} {el / 60:.1f}min lr {lr:.2e} heat {lh:.3f} reg {lr_:.3f}", flush=True)
        if step % 1000 == 0:
            m = evaluate(head, sets["val"][1], sets["val"][0])
            m.update(step=step, minutes=round(el / 60, 1))
            log.append(m)
            print("val", json.dumps(m), flush=True)
        if time.time() - last_ck > 300:
            save()
            last_ck = time.time()
    save()
    m = evaluate(head, sets["val"][1], sets["val"][0])
    m.update(step=step, minutes=round((time.time() - t0) / 60, 1))
    log.append(m)
    print("final val", json.dumps(m), flush=True)
    head.eval()
    torch.save(head.state_dict(), os.path.join(a.out, "head.pt"))
    json.dump(log, open(os.path.join(a.out, "log.json"), "w"), indent=1)
    export(trunk, head, os.path.join(a.out, "detect.onnx"), a.export_size)


if __name__ == "__main__":
    main()
