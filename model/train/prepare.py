"""prepare copies the shared open art into the ignored data folder and writes eval manifests.

usage: python3 prepare.py shared --shared DIR --data DATA
       python3 prepare.py manifests --data DATA [--holdout-styles croodles,personas,sketch]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["shared", "manifests", "calib"])
    ap.add_argument("--shared", default="")
    ap.add_argument("--data", required=True)
    ap.add_argument("--holdout-styles", default="croodles,personas,sketch")
    a = ap.parse_args(argv)
    if a.cmd == "shared":
        if not a.shared or not os.path.isdir(a.shared):
            raise SystemExit(f"prepare: shared art folder {a.shared!r} not found; pass --shared DIR "
                             "(the folder holding tuxemon/ and supertux/)")
        n = data.copy_shared(a.shared, os.path.join(a.data, "real", "train"), os.path.join(a.data, "real", "eval"))
        print(f"prepare: copied {n} shared images")
        return
    if a.cmd == "calib":
        # ~200 held-out images across every source for int8 calibration / agreement checks.
        import random
        import shutil
        rows = []
        for d in ("dicebear/eval", "procgen/eval", "real/eval"):
            p = os.path.join(a.data, d)
            if os.path.isdir(p):
                rows += data.read_dir(p)
        random.Random(0).shuffle(rows)
        out = os.path.join(a.data, "calib")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        for k, r in enumerate(rows[:200]):
            shutil.copy(r[0], os.path.join(out, f"{k:03d}_{r[2]}.png"))
        print(f"prepare: {min(200, len(rows))} calibration images in {out}")
        return
    hold = set(a.holdout_styles.split(","))
    ev = os.path.join(a.data, "eval")
    os.makedirs(ev, exist_ok=True)
    synth = []
    for d in ("dicebear/eval", "procgen/eval"):
        p = os.path.join(a.data, d)
        if os.path.isdir(p):
            synth += data.read_dir(p)
    known = [r for r in synth if r[2] not in hold]
    styles = [r for r in synth if r[2] in hold]
    out = {"ids_trainstyles.tsv": known, "styles_heldout.tsv": styles}
    rp = os.path.join(a.data, "real", "eval")
    if os.path.isdir(rp):
        out["real_heldout.tsv"] = data.read_dir(rp)
    for name, rows in out.items():
        if rows:
            n = data.write_eval_manifest(os.path.join(ev, name), rows)
            print(f"prepare: {name}: {n} rows")
    db = [r for r in synth if r[1].startswith("db")]
    if db:
        n = cross_style(os.path.join(ev, "cross_style.tsv"), db, hold)
        print(f"prepare: cross_style.tsv: {n} rows")


def cross_style(path, rows, hold, known_frac=0.75):
    """cross_style: identity = the DiceBear character across styles. Gallery: variants 0 and 1 in
    two seen colour styles; probes: variant 0 in every held-out style. Distractors: a quarter of
    the characters, all of those images."""
    import random
    seen = ["adventurer", "avataaars", "bigSmile", "lorelei", "micah", "miniavs", "toonHead"]
    base = os.path.dirname(os.path.abspath(path))
    chars = sorted({r[1] for r in rows})
    rnd = random.Random(1)
    rnd.shuffle(chars)
    known = set(chars[:int(len(chars) * known_frac)])
    gal_styles = {c: rnd.sample(seen, 2) for c in chars}
    out = ["path\tidentity\trole\n"]
    for p, ident, style, var in sorted(rows):
        rel = os.path.relpath(p, base)
        if style in gal_styles[ident] and var in ("0", "1"):
            role = "gallery" if ident in known else "distractor"
        elif style in hold and var == "0":
            role = "probe" if ident in known else "distractor"
        else:
            continue
        out.append(f"{rel}\t{ident}\t{role}\n")
    with open(path, "w") as f:
        f.writelines(out)
    return len(out) - 1


if __name__ == "__main__":
    main()
