"""evaluate embeds every image of eval manifests with a trained model (float, PyTorch) and
prints the metrics of metrics.py as JSON.

usage: python3 evaluate.py --run RUN manifest.tsv [...]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import metrics  # noqa: E402
import train  # noqa: E402


def load_model(run):
    with open(os.path.join(run, "info.json")) as f:
        info = json.load(f)
    args = info["args"]
    m = train.build_model(args.get("arch", "resnet"), args["widths"], args["head"], args.get("end", "block_13_expand_relu"),
                          args.get("input", 112))
    m.load_state_dict(torch.load(os.path.join(run, "model.pt")))
    return m.eval()


def evaluate(model, manifest, mirror=False):
    paths, ids, roles = metrics.read_eval_manifest(manifest)
    emb = train.embed_images(model, data.load_images(paths), mirror=mirror)
    return metrics.score(emb, ids, roles)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mirror", action="store_true", help="mirror-averaged embeddings, as toonid quantize -mirror ships")
    ap.add_argument("manifests", nargs="+")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model = load_model(a.run)
    res = {}
    for m in a.manifests:
        r = evaluate(model, m, a.mirror)
        res[os.path.basename(m)] = r
        print(os.path.basename(m), json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}),
              flush=True)
    with open(os.path.join(a.run, "eval.json"), "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
