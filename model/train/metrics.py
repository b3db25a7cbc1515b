"""metrics scores embeddings of an eval manifest ("path identity role", roles gallery, probe,
distractor). All similarities are cosines of L2-normalised embeddings.

Two kinds of keys, named apart:

* Keys shared with `toonid eval` (tools/eval/metrics.go) have its definitions exactly, and
  tools/eval/testdata/crosscheck pins both to the same values on one embeddings file
  (MetricsCrossCheckTest here, TestCrossCheck in Go):

  icf_rank1        for each probe and each mate (another gallery or probe image of the same
                   identity): a hit if the mate's similarity beats every distractor's; hits / pairs.
  tar_at_far_1e-3  over all image pairs (same identity = genuine), the share of genuine pairs at or
                   above the smallest threshold that admits at most 0.1% of impostor pairs.
  n_identities     distinct identities of gallery and probe rows.
  n_gallery, n_probe, n_distractor   rows of each role.

* centroid_* keys are this file's float stand-in for toonid eval's pack metrics, which it cannot
  reproduce: toonid eval matches against the int8 pack `toonid pack build` writes (sub-centres per
  identity, per-character max), these against one float mean centroid per gallery identity. They
  follow the pack metrics' rules otherwise (known probes only, the same threshold rule) and come
  close to them, not equal (MODEL_CARD.md, "Which numbers are which").

  centroid_top1/top5  the known probe's identity is first / within the first five centroids
                      (known: its identity has gallery rows).
  centroid_dir_at_far_1pct  t is the smallest threshold with at most 1% of distractors having a best
                      centroid score >= t; the share of known probes whose first answer is right
                      and >= t.
  centroid_threshold_far_1pct  that t.

As in toonid eval, a metric with nothing to count is 0, and so is a metric whose false-accept rate
cannot be measured (DIR without distractors, TAR without impostor pairs).
"""
import numpy as np


def l2n(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def threshold_at_far(impostor, far):
    """threshold_at_far returns the smallest t with count(impostor >= t) <= far * len(impostor)
    (pack.ThresholdAtFAR; +inf without impostors, so nothing is accepted)."""
    s = np.asarray(impostor)
    if len(s) == 0:
        return np.inf
    k = int(np.floor(far * len(s) + 1e-9))  # the same rounding guard as Go's
    if k >= len(s):
        return -np.inf
    # The (k+1)-th highest impostor: admit the k above it and nothing tied with it.
    kth = np.partition(s, len(s) - 1 - k)[len(s) - 1 - k]
    return np.nextafter(kth, np.inf)


def score(emb, idents, roles):
    emb = l2n(emb)
    idents = np.asarray(idents)
    roles = np.asarray(roles)
    gal = roles == "gallery"
    prb = roles == "probe"
    dis = roles == "distractor"
    known = sorted(set(idents[gal]))
    res = {"n_images": int(len(idents)), "n_identities": len(set(idents[gal | prb])), "n_gallery": int(gal.sum()),
           "n_probe": int(prb.sum()), "n_distractor": int(dis.sum())}
    # icf_rank1
    pi = np.flatnonzero(prb)
    di = np.flatnonzero(dis)
    hits = pairs = 0
    for p in pi:
        mates = np.flatnonzero((idents == idents[p]) & (gal | prb))
        mates = mates[mates != p]
        if len(mates) == 0:
            continue
        best_d = (emb[di] @ emb[p]).max() if len(di) else -np.inf
        hits += int((emb[mates] @ emb[p] > best_d).sum())
        pairs += len(mates)
    res["icf_rank1"] = hits / pairs if pairs else 0.0
    # centroid_*: one float centroid per known identity, known probes only
    res["centroid_top1"] = res["centroid_top5"] = res["centroid_dir_at_far_1pct"] = 0.0
    res["centroid_threshold_far_1pct"] = float("inf")
    ki = np.asarray([p for p in pi if idents[p] in set(known)], dtype=int)
    if known:
        cent = l2n(np.stack([emb[gal & (idents == k)].mean(0) for k in known]))
        known_arr = np.asarray(known)
        t = threshold_at_far((emb[di] @ cent.T).max(1) if len(di) else [], 0.01)
        res["centroid_threshold_far_1pct"] = float(t)
        if len(ki):
            ps = emb[ki] @ cent.T
            order = np.argsort(-ps, axis=1)
            truth = idents[ki]
            top1 = known_arr[order[:, 0]] == truth
            top5 = np.array([tr in set(known_arr[o[:5]]) for tr, o in zip(truth, order)])
            res["centroid_top1"] = float(top1.mean())
            res["centroid_top5"] = float(top5.mean())
            res["centroid_dir_at_far_1pct"] = float((top1 & (ps.max(1) >= t)).mean())
    # All pairs, row by row, in float32: the full pair list of a 10k-image manifest would need GBs.
    e32 = emb.astype(np.float32)
    gen, imp = [], []
    for i in range(len(idents) - 1):
        s = e32[i + 1:] @ e32[i]
        same = idents[i + 1:] == idents[i]
        gen.append(s[same])
        imp.append(s[~same])
    gen = np.concatenate(gen) if gen else np.zeros(0, np.float32)
    imp = np.concatenate(imp) if imp else np.zeros(0, np.float32)
    t = threshold_at_far(imp, 1e-3)
    res["tar_at_far_1e-3"] = float((gen >= t).mean()) if len(gen) else 0.0
    return res


def read_embeddings(path):
    """read_embeddings reads `toonid eval -embeddings` output: "path<TAB>v1,v2,..." per line,
    returned as {path: float32 vector}."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                p, v = line.split("\t")
                out[p] = np.array([float(x) for x in v.split(",")], dtype=np.float32)
    return out


def read_eval_manifest(path):
    """read_eval_manifest returns (abs paths, identities, roles) of a "path identity role" TSV."""
    import os
    base = os.path.dirname(os.path.abspath(path))
    paths, ids, roles = [], [], []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["path", "identity", "role"]:
            raise ValueError(f"metrics: {path}: header {header}, want path identity role")
        for n, line in enumerate(f, 2):
            line = line.rstrip("\n")
            if not line:
                continue
            p, i, r = line.split("\t")
            if r not in ("gallery", "probe", "distractor"):
                raise ValueError(f"metrics: {path}:{n}: role {r!r}")
            paths.append(os.path.join(base, p))
            ids.append(i)
            roles.append(r)
    return paths, ids, roles
