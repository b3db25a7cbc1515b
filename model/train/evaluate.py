"""evaluate embeds every image of eval manifests with a trained model (float, PyTorch) and
prints the metrics of metrics.py as JSON (float: its centroid_* keys are not toonid eval's pack
metrics; MODEL_CARD.md, "Which numbers are which").

usage: python3 evaluate.py --run RUN manifest.tsv [...]
       python3 evaluate.py --zeroshot TFJS_DIR [--size 112] manifest.tsv [...]

--zeroshot scores the pretrained MobileNetV2 trunk with no identity training, the way the
zero-shot baseline of MODEL_CARD.md was measured: GAP of block_13_expand_relu, square-rooted,
centred on the manifest's mean (x/255 input).
"""
import argparse
import json
import os
import sys

import numpy as np
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
    if args.get("arch") == "mnv2" and not args.get("train_bn"):
        m.fuse_bn()  # train.py trains (and saves) the BN-folded form when BN statistics are frozen
    m.load_state_dict(torch.load(os.path.join(run, "model.pt")))
    return m.eval()


class ZeroShot(torch.nn.Module):
    def __init__(self, trunk, size):
        super().__init__()
        self.trunk, self.input_size, self.mean, self.std = trunk, size, 0.0, 1.0

    def forward(self, x):
        return torch.sqrt(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(self.trunk(x), 1), 1))


def evaluate(model, manifest, mirror=False):
    paths, ids, roles = metrics.read_eval_manifest(manifest)
    # Load at least at the model's input size: a 128 px model must not see 112 px upscaled.
    emb = train.embed_images(model, data.load_images(paths, max(data.SIZE, model.input_size)), mirror=mirror)
    if isinstance(model, ZeroShot):
        emb = emb - emb.mean(0, keepdims=True)
    return metrics.score(emb, ids, roles)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", help="a train.py output folder")
    ap.add_argument("--zeroshot", help="TF.js folder of the pretrained MobileNetV2 (tfjs_mnv2.mjs dump)")
    ap.add_argument("--size", type=int, default=112, help="--zeroshot input size")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mirror", action="store_true", help="mirror-averaged embeddings, as toonid quantize -mirror ships")
    ap.add_argument("manifests", nargs="+")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    if bool(a.run) == bool(a.zeroshot):
        ap.error("give one of --run or --zeroshot")
    if a.zeroshot:
        import mnv2
        model = ZeroShot(mnv2.pretrained(a.zeroshot).eval(), a.size).eval()
    else:
        model = load_model(a.run)
    res = {}
    for m in a.manifests:
        r = evaluate(model, m, a.mirror)
        res[os.path.basename(m)] = r
        print(os.path.basename(m), json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}),
              flush=True)
    if a.run:
        with open(os.path.join(a.run, "eval.json"), "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
