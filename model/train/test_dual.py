"""dual.py: the MobileNetV2 branch's function, its export and the merge with the ResNet's ONNX.
Needs no node_modules and no ../shared: a tiny stand-in trunk, and the committed ResNet branch."""
import os
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
