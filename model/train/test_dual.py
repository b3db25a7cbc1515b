"""dual.py: the MobileNetV2 branch's function, its export and the merge with the ResNet's ONNX.
Needs no ../shared: a tiny stand-in trunk, and the committed ResNet branch; the numeric check of the
merged graph runs it in onnxruntime-node (node_modules, as make test-train has)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import dual  # noqa: E402
import whiten  # noqa: E402

RESNET = os.path.join(ROOT, "model/shipped/resnet.onnx")
# What the Go importer takes (model/onnximport): the ResNet's ops, the MobileNetV2 trunk's, the
# branch's preprocessing and head, and the two ops that join the branches.
IMPORTABLE = {"Conv", "Relu", "Clip", "Pad", "Add", "Mul", "Constant", "GlobalAveragePool", "Flatten", "MatMul",
              "Sqrt", "LpNormalization", "Concat"}


ORT = os.path.join(ROOT, "node_modules/onnxruntime-node")
RUN_ORT = """
const ort = require(process.argv[1]); const fs = require('fs');
(async () => {
  const [model, side] = [process.argv[2], +process.argv[3]];
  const x = Float32Array.from(JSON.parse(fs.readFileSync(0, 'utf8')));
  const s = await ort.InferenceSession.create(model);
  const o = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, side, side]) });
  process.stdout.write(JSON.stringify(Array.from(o[s.outputNames[0]].data)));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def ort(model, x):
    out = subprocess.run(["node", "-e", RUN_ORT, ORT, model, str(x.shape[-1])], input=json.dumps(x.ravel().tolist()),
                         capture_output=True, text=True, check=True)
    return np.array(json.loads(out.stdout), np.float32)


def tiny_trunk():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU6()).eval()


class DualTest(unittest.TestCase):
    def branch(self, weight=1.0):
        trunk = tiny_trunk()
        rng = np.random.default_rng(0)
        imgs = rng.integers(0, 256, (40, 3, 32, 32), dtype=np.uint8)
        mu, w = whiten.fit(dual.trunk_features(trunk, imgs, 32), 0.1)
        return dual.Branch(trunk, mu, w[:, :4], weight), trunk, mu, w[:, :4]

    def test_branch_function(self):
        b, trunk, mu, w = self.branch(weight=0.5)
        y = torch.rand(2, 3, 32, 32) * 2 - 1
        with torch.no_grad():
            got = b(y).numpy()
            f = torch.sqrt(torch.flatten(nn.functional.adaptive_avg_pool2d(trunk(y * 0.5 + 0.5), 1), 1)).numpy()
        want = (f - mu) @ w
        want = 0.5 * want / np.linalg.norm(want, axis=1, keepdims=True)
        np.testing.assert_allclose(got, want, atol=1e-5)

    def test_merge(self):
        b, _, _, _ = self.branch()
        with tempfile.TemporaryDirectory() as d:
            bp, out = os.path.join(d, "b.onnx"), os.path.join(d, "dual.onnx")
            dual.export_branch(b, 32, bp)
            self.assertIn("LpNormalization", {n.op_type for n in onnx.load(bp).graph.node})
            m = dual.merge(RESNET, bp, out, 32)
            g = onnx.load(out).graph
        ops = {n.op_type for n in g.node}
        self.assertLessEqual(ops, IMPORTABLE, ops)
        self.assertEqual([i.name for i in g.input], ["input"])
        self.assertEqual([d.dim_value for d in g.output[0].type.tensor_type.shape.dim], [1, 128 + 4])
        self.assertEqual(m.opset_import[0].version, dual.OPSET)
        names = [o for n in g.node for o in n.output]
        self.assertEqual(len(names), len(set(names)), "every value is written once")
        # Both branches read the one input; the last node joins them, the ResNet's half first.
        readers = {n.name.split("/")[0] for n in g.node if "input" in n.input}
        self.assertEqual(readers, {"r", "m"})
        self.assertEqual(g.node[-1].op_type, "Concat")
        self.assertEqual(list(g.node[-1].input), ["r/embedding_l2", "m/embedding"])

    @unittest.skipUnless(os.path.isdir(ORT), "needs node_modules (npm ci)")
    def test_merged_computes_both_branches(self):
        """The merged graph's output is [l2(ResNet(y)), branch(y)] on the same input (onnxruntime)."""
        b, _, _, _ = self.branch(weight=0.5)
        y = np.random.default_rng(3).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
        with tempfile.TemporaryDirectory() as d:
            bp, out = os.path.join(d, "b.onnx"), os.path.join(d, "dual.onnx")
            dual.export_branch(b, 32, bp)
            dual.merge(RESNET, bp, out, 32)
            r = onnx.load(RESNET)  # the ResNet alone, its input declared at the test's size
            for i, v in enumerate((1, 3, 32, 32)):
                r.graph.input[0].type.tensor_type.shape.dim[i].dim_value = v
            rp = os.path.join(d, "r.onnx")
            onnx.save(r, rp)
            got, res = ort(out, y), ort(rp, y)
        with torch.no_grad():
            want_b = b(torch.from_numpy(y)).numpy().ravel()
        np.testing.assert_allclose(got[:128], res / np.linalg.norm(res), atol=1e-5)
        np.testing.assert_allclose(got[128:], want_b, atol=1e-5)
        self.assertAlmostEqual(float(np.linalg.norm(got[128:])), 0.5, places=5)

    def test_grouped_rows_takes_whole_identities(self):
        rows = [(f"{y}_{i}.png", y, f"s{i % 3}") for y in "abcdefgh" for i in range(5)]
        idx = dual.grouped_rows(rows, 12, seed=3)
        got = {rows[i][1] for i in idx}
        self.assertEqual(len(idx), 5 * len(got))  # every image of each drawn identity
        self.assertEqual(len(got), 3)  # the first draw past 12 images stops it
        self.assertEqual(list(idx), sorted(idx))

    def test_train_head_starts_at_pca_and_learns_identity(self):
        rng = np.random.default_rng(0)
        ids = np.repeat(np.arange(16), 4)
        centres = rng.normal(size=(16, 12))
        feats = np.abs(centres[ids] + rng.normal(size=(64, 12))).astype(np.float32)
        rows = [(f"{i}.png", f"id{y}", f"s{i % 2}") for i, y in enumerate(ids)]
        idx = np.arange(64)
        mu, w = whiten.fit(feats, 0.1)
        mu, w = mu.astype(np.float32), np.ascontiguousarray(w[:, :6], dtype=np.float32)
        w0, b0, _ = dual.train_head(feats, rows, idx, mu, w, 0, 1e-2, 1.0)
        np.testing.assert_allclose(w0, w, atol=1e-6)
        np.testing.assert_allclose(b0, -(mu @ w), atol=1e-5)

        def objective(wt, b):  # the training loss over the whole set, in one batch
            z = torch.from_numpy(feats @ wt + b)
            return float(dual.train.supcon(z, torch.from_numpy(ids)) + dual.train.relational(z, torch.from_numpy(feats) ** 2))
        w1, b1, _ = dual.train_head(feats, rows, idx, mu, w, 200, 1e-2, 1.0)
        self.assertLess(objective(w1, b1), objective(w0, b0) - 0.1)
        # Views ([N, V, C], pca_head.py's form): a sample takes one of them; identical views train
        # exactly as the plain features.
        w2, b2, _ = dual.train_head(np.stack([feats, feats], 1), rows, idx, mu, w, 200, 1e-2, 1.0)
        np.testing.assert_array_equal(w2, w1)
        np.testing.assert_array_equal(b2, b1)

    def test_merge_refuses_unknown_resnet_ops(self):
        b, _, _, _ = self.branch()
        with tempfile.TemporaryDirectory() as d:
            bp, bad = os.path.join(d, "b.onnx"), os.path.join(d, "bad.onnx")
            dual.export_branch(b, 32, bp)
            m = onnx.load(RESNET)
            m.graph.node[0].op_type = "Resize"
            onnx.save(m, bad)
            with self.assertRaisesRegex(ValueError, "Resize"):
                dual.merge(bad, bp, os.path.join(d, "out.onnx"), 32)


if __name__ == "__main__":
    unittest.main()
