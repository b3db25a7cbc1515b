"""metrics scores embeddings of an eval manifest ("path identity role", roles gallery, probe,
distractor) with the definitions toonid eval uses. All similarities are cosines of L2-normalised
embeddings.

  icf_rank1        for each known probe and each mate (another gallery or probe image of the same
                   identity): a hit if the mate's similarity beats every distractor's; hits / pairs.
  pack_top1/top5   one centroid per identity from its gallery images; the probe's identity is
                   first / within the first five.
  dir_at_far_1pct  t is the smallest threshold with at most 1% of distractors having a best pack
                   score >= t; the share of known probes whose first answer is right and >= t.
  tar_at_far_1e-3  over all image pairs (same identity = genuine), the share of genuine pairs at or
                   above the smallest threshold that admits at most 0.1% of impostor pairs.
"""
import numpy as np


def l2n(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def threshold_at_far(impostor, far):
    """threshold_at_far returns the smallest t with count(impostor >= t) <= far * len(impostor)."""
    s = np.asarray(impostor)
    k = int(np.floor(far * len(s)))
    if len(s) == 0 or k >= len(s):
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
    if not known or not prb.any():
        raise ValueError("metrics: manifest needs gallery and probe rows")
    res = {"n_images": int(len(idents)), "n_identities": len(known), "n_probes": int(prb.sum()),
           "n_distractors": int(dis.sum())}
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
    res["icf_rank1"] = hits / pairs if pairs else float("nan")
    # pack: one centroid per known identity
    cent = l2n(np.stack([emb[gal & (idents == k)].mean(0) for k in known]))
    known_arr = np.asarray(known)
    ps = emb[pi] @ cent.T
    order = np.argsort(-ps, axis=1)
    truth = idents[pi]
    top1 = known_arr[order[:, 0]] == truth
    top5 = np.array([t in set(known_arr[o[:5]]) for t, o in zip(truth, order)])
    res["pack_top1"] = float(top1.mean())
    res["pack_top5"] = float(top5.mean())
    if len(di):
        dbest = (emb[di] @ cent.T).max(1)
        t = threshold_at_far(dbest, 0.01)
        res["dir_at_far_1pct"] = float((top1 & (ps.max(1) >= t)).mean())
        res["threshold_far_1pct"] = float(t)
    else:
        res["dir_at_far_1pct"] = float("nan")
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
    res["tar_at_far_1e-3"] = float((gen >= t).mean()) if len(gen) else float("nan")
    return res


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
