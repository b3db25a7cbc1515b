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
    s = np.sort(np.asarray(impostor, dtype=np.float64))[::-1]
    k = int(np.floor(far * len(s)))
    if len(s) == 0:
        return -np.inf
    if k >= len(s):
        return -np.inf
    # Admit the k highest impostors, and nothing tied with the (k+1)-th.
    return np.nextafter(s[k], np.inf)


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
    sim = emb @ emb.T
    # icf_rank1
    pi = np.flatnonzero(prb)
    di = np.flatnonzero(dis)
    hits = pairs = 0
    for p in pi:
        mates = np.flatnonzero((idents == idents[p]) & (gal | prb))
        mates = mates[mates != p]
        if len(mates) == 0:
            continue
        best_d = sim[p, di].max() if len(di) else -np.inf
        hits += int((sim[p, mates] > best_d).sum())
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
    iu = np.triu_indices(len(idents), 1)
    same = (idents[:, None] == idents[None, :])[iu]
    s = sim[iu]
    t = threshold_at_far(s[~same], 1e-3)
    res["tar_at_far_1e-3"] = float((s[same] >= t).mean()) if same.any() else float("nan")
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
