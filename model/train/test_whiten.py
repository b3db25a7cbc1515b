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
