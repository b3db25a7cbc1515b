#!/usr/bin/python3
"""smoke_check.py: sanity checks of `toonid eval -json` on tools/gallery/eval.tsv and of `toonid identify -at` (the browser's click search)
on the Sintel test frame. No expected numbers: keys, ranges, counts from the manifest, consistency."""
import csv
import json
import math
import sys

manifest, eval_json, embeddings, pack_manifest = sys.argv[1:5]
identify_jsons = sys.argv[5:]
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


with open(eval_json) as f:
    text = f.read()
check(text.count("\n") == 1 and text.endswith("\n"), "eval -json must print exactly one line")
r = json.loads(text)
want = {"icf_rank1", "pack_top1", "pack_top5", "dir_at_far_1pct", "tar_at_far_1e-3", "n_identities",
        "n_gallery", "n_probe", "n_distractor", "model_sha256", "seconds"}
check(set(r) == want, "keys %s, want %s" % (sorted(r), sorted(want)))

rows = list(csv.DictReader(open(manifest), delimiter="\t"))
roles = [x["role"] for x in rows]
check(r["n_gallery"] == roles.count("gallery"), "n_gallery %s vs manifest %d" % (r["n_gallery"], roles.count("gallery")))
check(r["n_probe"] == roles.count("probe"), "n_probe")
check(r["n_distractor"] == roles.count("distractor"), "n_distractor")
check(r["n_identities"] == len({x["identity"] for x in rows if x["role"] != "distractor"}), "n_identities")
for k in ("icf_rank1", "pack_top1", "pack_top5", "dir_at_far_1pct", "tar_at_far_1e-3"):
    check(isinstance(r[k], float) or isinstance(r[k], int), k + " not a number")
    check(0 <= r[k] <= 1, "%s = %s outside [0,1]" % (k, r[k]))
check(r["pack_top1"] <= r["pack_top5"], "pack_top1 > pack_top5")
check(r["dir_at_far_1pct"] <= r["pack_top1"], "dir > top1")
# A useful model must do far better than chance (1/n_identities) at top-1 on its own training-style art.
check(r["pack_top1"] > 2.0 / r["n_identities"], "pack_top1 %.3f is near chance" % r["pack_top1"])
check(r["seconds"] > 0, "seconds")
pm = json.load(open(pack_manifest))
check(r["model_sha256"] == pm["model_sha256"], "eval model %s, default pack model %s" % (r["model_sha256"], pm["model_sha256"]))
check(pm["threshold_calibrated"] and pm["threshold_far"] == 0.01, "default pack not calibrated at FAR 1%")

n = 0
for line in open(embeddings):
    path, vec = line.rstrip("\n").split("\t")
    v = [float(x) for x in vec.split(",")]
    check(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-3, "embedding of %s not unit length" % path)
    n += 1
check(n == len(rows), "embeddings file has %d lines for %d rows" % (n, len(rows)))

# identify -at on every bundled test image (file name identify-<id>.json): the expected character
# must rank first and be named, above the pack's calibrated threshold; and the verdict must follow
# that threshold.
for identify_json in identify_jsons:
    want = identify_json.rsplit("identify-", 1)[1].removesuffix(".json")
    ident = json.load(open(identify_json))
    got = [(a["id"], round(a["score"], 3)) for a in ident["answers"]]
    check(ident["answers"] and ident["answers"][0]["id"] == want,
          "identify on the %s test image answered %s" % (want, got))
    check(ident["unknown"] == (ident["answers"][0]["score"] < ident["threshold"]),
          "verdict unknown=%s disagrees with score %.4f vs threshold %.4f"
          % (ident["unknown"], ident["answers"][0]["score"], ident["threshold"]))
    check(not ident["unknown"], "identify on the %s test image: unknown (score %.4f < threshold %.4f)"
          % (want, ident["answers"][0]["score"], ident["threshold"]))
    print("identify %s:" % want, got, "unknown" if ident["unknown"] else "known", "(threshold %.3f)" % ident["threshold"])

print("test-pack-smoke:", json.dumps(r))
if errors:
    print("test-pack-smoke FAILED:\n  " + "\n  ".join(errors))
    sys.exit(1)
