"""Tests of whiten.py: the fitted transform whitens, and folding keeps the runtime's op list."""
import os
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import whiten  # noqa: E402


class WhitenTest(unittest.TestCase):
    def test_fit_whitens_a_dominant_direction(self):
        rng = np.random.default_rng(1)
        # Every row shares one large offset, like the collapsed embeddings whiten exists for.
        e = rng.normal(size=(2000, 8)) * np.array([5, 1, 1, 0.5, 0.5, 0.2, 0.2, 0.1]) + 40.0
        mu, w = whiten.fit(e, eps=1e-6)
        z = (e - mu) @ w
        np.testing.assert_allclose(z.mean(0), 0, atol=1e-9)
        np.testing.assert_allclose(np.cov(z.T, bias=True), np.eye(8), atol=1e-3)
        raw = e / np.linalg.norm(e, axis=1, keepdims=True)
        self.assertGreater((raw @ raw.T).min(), 0.9)  # before: everything looks alike
        zn = z / np.linalg.norm(z, axis=1, keepdims=True)
        self.assertLess(abs((zn @ zn.T)[np.triu_indices(200, 1)].mean()), 0.05)

    def test_fit_within_shrinks_within_class_directions(self):
        rng = np.random.default_rng(2)
        # 300 classes apart along dims 0-3; each class's samples spread widely along dims 4-7
        # (expression, background) and little along 0-3, on top of a shared offset.
        centres = np.repeat(rng.normal(size=(300, 8)) * np.array([1, 1, 1, 1, 0, 0, 0, 0]), 4, axis=0)
        noise = rng.normal(size=(1200, 8)) * np.array([0.1, 0.1, 0.1, 0.1, 3, 3, 3, 3])
        e, labels = centres + noise + 20.0, np.repeat(np.arange(300), 4)
        mu, w = whiten.fit_within(e, labels, lam=1e-6)
        z = (e - mu) @ w
        within = z - np.stack([z[labels == c].mean(0) for c in labels])
        np.testing.assert_allclose(within.T @ within / len(z), np.eye(8), atol=1e-3)
        zn = z / np.linalg.norm(z, axis=1, keepdims=True)
        en = (e - mu) / np.linalg.norm(e - mu, axis=1, keepdims=True)
        same = labels[:, None] == labels[None, :]
        # After WCCN a class's own samples are closer than other classes', far more than before.
        gap = lambda x: (x @ x.T)[same].mean() - (x @ x.T)[~same].mean()
        self.assertGreater(gap(zn), 0.8)
        self.assertLess(gap(en), 0.4)
        with self.assertRaises(ValueError):
            whiten.fit_within(e[:3], [0, 0, 1], lam=0.01)

    def test_class_pairs_picks_two_images_of_classes_with_two(self):
        rows = [("a0", "c1", "s1", 0), ("a1", "c1", "s1", 1), ("a2", "c1", "s2", 0), ("a3", "c2", "s1", 0),
                ("a4", "c2", "s1", 1), ("a5", "c2", "s1", 2)]
        idx, labels = whiten.class_pairs(rows, 10)
        self.assertEqual(sorted(zip(labels, idx)), [("c1@s1", 0), ("c1@s1", 1), ("c2@s1", 3), ("c2@s1", 4)])
        idx, labels = whiten.class_pairs(rows, 1)
        self.assertEqual(len(idx), 2)
        self.assertEqual(labels[0], labels[1])

    def test_fold_rewrites_projection_and_appends_add(self):
        p = np.arange(12, dtype=np.float32).reshape(4, 3)
        g = helper.make_graph(
            [helper.make_node("MatMul", ["x", "P"], ["embedding"])], "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
            [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 3])],
            [numpy_helper.from_array(p, "P")])
        mu, w = np.array([1.0, 2.0, 3.0]), np.diag([2.0, 0.5, 1.0])
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "a.onnx"), os.path.join(d, "b.onnx")
            onnx.save(helper.make_model(g), src)
            whiten.fold(src, mu, w, dst)
            out = onnx.load(dst).graph
        self.assertEqual([n.op_type for n in out.node], ["MatMul", "Add"])
        self.assertEqual(out.node[-1].output[0], "embedding")
        inits = {i.name: numpy_helper.to_array(i) for i in out.initializer}
        np.testing.assert_allclose(inits["P"], p @ w, rtol=1e-6)
        np.testing.assert_allclose(inits["whiten_bias"], -(mu @ w).reshape(1, -1), rtol=1e-6)
        # x @ P' + b == (x @ P - mu) @ W for any x.
        x = np.ones((1, 4))
        np.testing.assert_allclose(x @ inits["P"] + inits["whiten_bias"], (x @ p - mu) @ w, rtol=1e-5)


if __name__ == "__main__":
    unittest.main()
