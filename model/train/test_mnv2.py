"""The nsfwjs MobileNetV2 converter against TF.js itself: the same images through TF.js (node,
wasm backend) and through the converted PyTorch trunk must agree at block_13_expand_relu.
Needs node_modules (npm ci: nsfwjs, @tensorflow/tfjs, @tensorflow/tfjs-backend-wasm); no network,
no ../shared."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import mnv2  # noqa: E402
import train  # noqa: E402

# Activations are ReLU6 outputs in [0, 6]; TF.js (wasm, float32) and PyTorch (float32) differ by
# summation order only. Measured: max |diff| 4e-5.
TOL = 1e-3


def node(*args):
    subprocess.run(["node", os.path.join(HERE, "tfjs_mnv2.mjs"), *args], check=True, capture_output=True, cwd=ROOT)


def images(size):
    """Three NHWC x/255 images: noise, a gradient, and a repo gallery drawing."""
    rng = np.random.default_rng(0)
    noise = rng.random((size, size, 3), dtype=np.float32)
    g = np.linspace(0, 1, size, dtype=np.float32)
    grad = np.stack([g[None, :].repeat(size, 0), g[:, None].repeat(size, 1), 1 - g[None, :].repeat(size, 0)], -1)
    art = os.path.join(ROOT, "tools/gallery/img/peppercarrot/pepper_cover0.jpg")
    pic = np.asarray(Image.open(art).convert("RGB").resize((size, size), Image.BILINEAR), np.float32) / 255
    return np.stack([noise, grad, pic]).astype("<f4")


class ConverterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.dir = os.path.join(cls.tmp, "tfjs")
        node("dump", "--out", cls.dir)
        _, cls.weights = mnv2.load_tfjs(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_matches_tfjs(self):
        layer = "block_13_expand_relu"
        trunk = mnv2.MobileNetV2Trunk(layer).load_keras(self.weights).eval()
        for size in (112, 128):
            with self.subTest(size=size):
                x = images(size)
                xin, yout = os.path.join(self.tmp, "x.f32"), os.path.join(self.tmp, "y.f32")
                x.tofile(xin)
                node("run", "--model", self.dir, "--layer", layer, "--size", str(size), "--n", str(len(x)),
                     "--in", xin, "--out", yout)
                with torch.no_grad():
                    got = trunk(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).permute(0, 2, 3, 1).numpy()
                want = np.fromfile(yout, "<f4").reshape(got.shape)
                self.assertEqual(got.shape, (3, size // 16, size // 16, 576))
                self.assertGreater(want.max(), 1.0)  # a live network, not all zeros
                self.assertLess(float(np.abs(got - want).max()), TOL)

    def test_every_weight_used_up_to_the_end_point(self):
        trunk = mnv2.MobileNetV2Trunk("block_13_expand_relu")
        names = {n for _, conv, bn, _ in trunk.keras_names() for n in (conv, bn)}
        used = {k for k in self.weights if k.split("/")[0] in names}
        # conv kernel + 4 BN tensors per ConvBN
        self.assertEqual(len(used), 5 * len(trunk.keras_names()))

    def test_truncated_weights_refused(self):
        bad = os.path.join(self.tmp, "bad")
        shutil.copytree(self.dir, bad)
        with open(os.path.join(bad, "weights.bin"), "r+b") as f:
            f.truncate(1000)
        with self.assertRaisesRegex(ValueError, "weights cover|buffer is smaller"):
            mnv2.load_tfjs(bad)

    def test_student_export_contract(self):
        import onnx
        m = train.build_model("mnv2")
        m.trunk.load_keras(self.weights)
        self.assertLessEqual(sum(p.numel() for p in m.parameters()), 1.4e6)  # int8 file <= 1.5 MB
        p = os.path.join(self.tmp, "s.onnx")
        ops = train.export_onnx(m, p)
        self.assertTrue(set(ops) <= train.ALLOWED_OPS, ops)
        g = onnx.load(p).graph
        self.assertEqual([x.dim_value for x in g.input[0].type.tensor_type.shape.dim], [1, 3, 112, 112])
        self.assertEqual([x.dim_value for x in g.output[0].type.tensor_type.shape.dim], [1, train.EMBED])
        pads = [n for n in g.node if n.op_type == "Pad"]
        self.assertEqual(len(pads), 4)  # stem, blocks 1, 3, 6: Keras's bottom/right pad before stride 2
        for n in pads:
            self.assertEqual(list(next(a for a in n.attribute if a.name == "pads").ints), [0, 0, 0, 0, 0, 0, 1, 1])


if __name__ == "__main__":
    unittest.main()
