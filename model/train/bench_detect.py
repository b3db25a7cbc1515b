"""bench_detect: toonid's detector (the int8 model file, run by `toonid detect`) against
nagadomi's lbpcascade_animeface (OpenCV; grey, equalizeHist, detectMultiScale scaleFactor 1.1,
minNeighbors 5, minSize 24, as its README; scores are detectMultiScale3's level weights) on the
hand-labelled frames of tools/gallery/detval. Both on one thread.

Metrics (detect.average_precision): AP at IoU 0.5; lenient AP (a detection's centre inside the
true box and sqrt(area) within 0.5-2x of it); recall at 1 false positive per image; ms per frame
(the detector: letterbox + network + decode, from `toonid detect -time`; the cascade: grey +
equalizeHist + detectMultiScale3). Detections on ignore boxes count neither way.
The last line printed is one JSON object.

usage: python3 bench_detect.py --model FILE --cascade ../shared/baselines/lbpcascade_animeface.xml
       [--labels tools/gallery/detval/labels.tsv] [--toonid CMD] [--go go]
--go also times the shipped detector on one 848x480 frame natively and as js/wasm under node
(BenchmarkShippedDetector; node, not Chromium).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

import cv2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from detect import average_precision  # noqa: E402


def parse_boxes(s):
    if s == "-":
        return []
    return [[float(v) for v in b.split(",")] for b in s.split(";")]


def read_labels(path):
    root = os.path.dirname(path)
    rows = []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        p, b, ig = line.rstrip("\n").split("\t")
        rows.append((os.path.join(root, p), parse_boxes(b), parse_boxes(ig)))
    return rows


def scores(dets, rows):
    gts, igs = [r[1] for r in rows], [r[2] for r in rows]
    ap, r1 = average_precision(dets, gts, igs)
    apl, r1l = average_precision(dets, gts, igs, "lenient")
    return {"ap50": round(ap, 4), "ap_lenient": round(apl, 4), "recall_at_1fp": round(r1, 4),
            "recall_at_1fp_lenient": round(r1l, 4)}


def run_cascade(xml, rows):
    cv2.setNumThreads(1)
    cc = cv2.CascadeClassifier(xml)
    if cc.empty():
        raise SystemExit(f"cannot load {xml}")
    dets, t = [], 0.0
    for p, _, _ in rows:
        im = cv2.imread(p)
        t0 = time.perf_counter()
        g = cv2.equalizeHist(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY))
        boxes, _, weights = cc.detectMultiScale3(g, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24),
                                                 outputRejectLevels=True)
        t += time.perf_counter() - t0
        dets.append([[float(x), float(y), float(w), float(h), float(s)] for (x, y, w, h), s in
                     zip(boxes, list(weights) if len(boxes) else [])])
    return dets, 1000 * t / len(rows)


def run_toonid(cmd, model, rows):
    args = shlex.split(cmd) + ["detect", "-model", model, "-json", "-time", "-threshold", "0.01"] + [r[0] for r in rows]
    env = dict(os.environ, GOMAXPROCS="1")
    out = subprocess.run(args, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"toonid detect failed: {out.stderr}")
    by = {}
    for line in out.stdout.splitlines():
        o = json.loads(line)
        by[o["path"]] = o["boxes"]
    ms = None
    for line in out.stderr.splitlines():
        if "ms/frame" in line:
            ms = float(line.split("ms/frame")[0].split()[-1])
    return [by[r[0]] for r in rows], ms


def go_bench(go, wasm):
    """ms per 848x480 frame of BenchmarkShippedDetector (package detect), natively or as js/wasm
    under node (SIMD), one thread."""
    env = dict(os.environ, GOEXPERIMENT="simd", GOMAXPROCS="1")
    cmd = [go, "test", "./detect", "-run", "XXX", "-bench", "ShippedDetector", "-benchtime", "10x", "-cpu", "1"]
    if wasm:
        env.update(GOOS="js", GOARCH="wasm")
        root = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True).stdout.strip()
        cmd[2:2] = ["-exec", os.path.join(root, "lib", "wasm", "go_js_wasm_exec")]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("BenchmarkShippedDetector"):
            f = line.split()
            return round(float(f[f.index("ns/op") - 1]) / 1e6, 2)
    print("go bench failed:", out.stdout[-500:], out.stderr[-500:], file=sys.stderr)
    return None


def spread(n, s):
    if s >= n:
        return [0]
    stride = max(1, s // 2)
    k = (n - s + stride - 1) // stride + 1
    return [int(round(i * (n - s) / (k - 1))) for i in range(k)]


def windows(w, h, grid=(1, 2, 3), min_side=32):
    """collect.Windows: the window grid collect propose uses without boxes (DefaultGrid, DefaultMinSide)."""
    out, short = [], min(w, h)
    for d in grid:
        side = short // d
        if side < 1 or (side < min_side and d != 1):
            continue
        out += [[x, y, side, side] for y in spread(h, side) for x in spread(w, side)]
    return out


def crop2x(b):
    s = 2 * max(b[2], b[3])
    return [b[0] + b[2] / 2 - s / 2, b[1] + b[3] / 2 - s / 2, s, s]


def proposals_per_face(rows, dets, thr):
    """collect propose before (the window grid) and after (the detector's boxes >= thr, each
    enlarged 2x as collect propose -enlarge 2 does): proposals, true faces covered (a proposal
    whose IoU with the face's 2x square crop is >= 0.4), proposals per covered face."""
    from detect import iou
    out = {}
    for name, props in (("grid", [windows(*cv2.imread(r[0]).shape[1::-1]) for r in rows]),
                        ("detector", [[crop2x(d) for d in ds if d[4] >= thr] for ds in dets])):
        n = sum(len(p) for p in props)
        found = sum(any(iou(crop2x(g), p) >= 0.4 for p in ps) for r, ps in zip(rows, props) for g in r[1])
        out[name] = {"proposals": n, "faces_covered": found, "faces": sum(len(r[1]) for r in rows),
                     "proposals_per_covered_face": round(n / max(found, 1), 2)}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--cascade", required=True)
    ap.add_argument("--labels", default="tools/gallery/detval/labels.tsv")
    ap.add_argument("--toonid", default="go run ./tools/toonid")
    ap.add_argument("--go", default="", help="go command: also time the shipped detector natively and as js/wasm (node)")
    ap.add_argument("--browser", default="", help="the JSON line of model/bench/driver.mjs run on this detector "
                    "(Go wasm vs onnxruntime-web in Chromium, one network pass): its timings join the result")
    a = ap.parse_args(argv)
    rows = read_labels(a.labels)
    nf = sum(len(r[1]) for r in rows)
    res = {"images": len(rows), "faces": nf}
    for name, sel in (("all", rows), ("sintel", [r for r in rows if "/sintel/" in r[0]]),
                      ("peppercarrot", [r for r in rows if "/peppercarrot/" in r[0]])):
        cd, cms = run_cascade(a.cascade, sel)
        td, tms = run_toonid(a.toonid, a.model, sel)
        res[name] = {"toonid": dict(scores(td, sel), ms_per_frame=round(tms, 2) if tms else None),
                     "lbpcascade": dict(scores(cd, sel), ms_per_frame=round(cms, 2))}
        print(name, json.dumps(res[name]))
    res["collect_propose"] = proposals_per_face(rows, run_toonid(a.toonid, a.model, rows)[0], 0.3)
    print("collect_propose", json.dumps(res["collect_propose"]))
    if a.go:
        res["go_native_ms_848x480"] = go_bench(a.go, False)
        res["go_wasm_node_ms_848x480"] = go_bench(a.go, True)
    if a.browser:
        b = json.loads(open(a.browser).read().strip().splitlines()[-1])
        # one network pass on the detector's input (a frame's long side scaled to it), Chromium,
        # one thread each, the same page load; letterbox + decode add ~1 ms (go_native above)
        for k in ("go_wasm_ms", "go_wasm_scalar_ms", "ort_web_1t_ms", "ort_web_2t_ms", "ratio", "ratio_min",
                  "cos_go_vs_ort", "input", "macs", "chromium"):
            res[k] = b.get(k)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
