"""Unit tests for the training recipe: iCartoonFace adapter, generator determinism, metrics,
and the ONNX export contract. Fast, and independent of ../shared."""
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import metrics  # noqa: E402
import procgen  # noqa: E402


class ICartoonFaceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        os.makedirs(os.path.join(self.d, "img", "sub"))
        for name, col in (("a.jpg", (255, 0, 0)), ("sub/b.png", (0, 0, 255))):
            Image.new("RGB", (200, 100), col).save(os.path.join(self.d, "img", name))

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, text):
        p = os.path.join(self.d, "ann.txt")
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_parse_and_crop(self):
        ann = self.write("a.jpg 10 20 50 60 7\nsub/b.png 150 40 190 90 -1\n\na.jpg 100 10 120 30 7\n")
        rows = data.read_icartoonface(ann)
        self.assertEqual(rows, [("a.jpg", (10, 20, 50, 60), 7), ("sub/b.png", (150, 40, 190, 90), -1),
                                ("a.jpg", (100, 10, 120, 30), 7)])
        out = os.path.join(self.d, "out")
        self.assertEqual(data.icartoonface_manifest(ann, os.path.join(self.d, "img"), out), 3)
        got = data.read_dir(out)
        self.assertEqual([r[1] for r in got], ["icf:7", "icf:-1:1", "icf:7"])
        im = Image.open(got[1][0])
        self.assertEqual(im.size, (data.SIZE, data.SIZE))
        self.assertEqual(im.convert("RGB").getpixel((data.SIZE // 2, data.SIZE // 2)), (0, 0, 255))

    def test_enlarge(self):
        # a 40x40 box doubled is 80x80 around the same centre, clipped to the image
        self.assertEqual(data.enlarge((10, 20, 50, 60), 200, 100), (0, 0, 70, 80))
        self.assertEqual(data.enlarge((80, 30, 120, 70), 200, 100), (60, 10, 140, 90))

    def test_bad_lines(self):
        for text in ("a.jpg 1 2 3\n", "a.jpg 1 2 3 4 x\n", "a.jpg 5 5 5 9 1\n", "../etc/passwd 1 1 9 9 1\n",
                     "/abs.png 1 1 9 9 1\n", "a.jpg 1 1 9 9 -2\n"):
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    data.read_icartoonface(self.write(text))


class ProcgenTest(unittest.TestCase):
    def test_deterministic(self):
        for rd in procgen.RENDERERS:
            a = procgen.render(procgen.identity(3), rd, 1, 64).tobytes()
            b = procgen.render(procgen.identity(3), rd, 1, 64).tobytes()
            self.assertEqual(hashlib.sha256(a).digest(), hashlib.sha256(b).digest(), rd)

    def test_variants_differ(self):
        a = np.asarray(procgen.render(procgen.identity(3), "ink", 0, 64), dtype=np.int16)
        b = np.asarray(procgen.render(procgen.identity(3), "ink", 1, 64), dtype=np.int16)
        self.assertGreater(np.abs(a - b).mean(), 1)

    def test_near_twin_differs_in_one_attribute(self):
        for i in (1, 6, 11, 16):
            t, base = procgen.identity(i), procgen.identity(i - 1)
            skip = {"id", "seed", "twin_of", "twin_key"}
            diff = [k for k in base if k not in skip and base[k] != t[k]]
            self.assertEqual(diff, [t["twin_key"]], i)

    def test_unknown_renderer(self):
        with self.assertRaises(ValueError):
            procgen.render(procgen.identity(0), "oil", 0)


class DicebearTest(unittest.TestCase):
    def run_gen(self, out, *extra):
        root = os.path.dirname(os.path.dirname(HERE))
        return subprocess.run(["node", os.path.join(HERE, "dicebear_gen.mjs"), "--out", out, "--first", "5",
                               "--count", "2", "--variants", "2", "--styles", "micah,croodles", "--size", "48", *extra],
                              cwd=root, capture_output=True, text=True, timeout=60)

    def test_deterministic(self):
        with tempfile.TemporaryDirectory() as d:
            for sub in ("a", "b"):
                r = self.run_gen(os.path.join(d, sub))
                self.assertEqual(r.returncode, 0, r.stderr)
            ra, rb = data.read_dir(os.path.join(d, "a")), data.read_dir(os.path.join(d, "b"))
            self.assertEqual(len(ra), 8)
            self.assertEqual({r[1] for r in ra}, {"db5", "db6"})
            for x, y in zip(ra, rb):
                with open(x[0], "rb") as f1, open(y[0], "rb") as f2:
                    self.assertEqual(f1.read(), f2.read(), x[0])

    def test_reserved_style_refused(self):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run(["node", os.path.join(HERE, "dicebear_gen.mjs"), "--out", d, "--count", "1",
                                "--styles", "pixelArt"], capture_output=True, text=True, timeout=60,
                               cwd=os.path.dirname(os.path.dirname(HERE)))
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("reserved", r.stderr)


class MetricsTest(unittest.TestCase):
    def test_hand_computed(self):
        # Two known identities A, B (gallery + probe each) and one distractor D.
        e = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.6, 0.8, 0], [0.8, 0.6, 0]], dtype=float)
        ids = ["A", "A", "B", "B", "D"]
        roles = ["gallery", "probe", "gallery", "probe", "distractor"]
        r = metrics.score(e, ids, roles)
        # probe A (0.99 cos to A, 0.71 to B): top1 right. probe B: cos 0.6 to A, 0.8 to B: right.
        self.assertEqual(r["centroid_top1"], 1.0)
        self.assertEqual(r["centroid_top5"], 1.0)
        # icf: probe A mate gallery A sim .994 > distractor .79 -> hit; probe B mate gallery B
        # sim 0.8 < distractor 0.96 -> miss
        self.assertAlmostEqual(r["icf_rank1"], 0.5)
        # distractor best pack score is 0.8 (A); probe A scores .994 (>= t), probe B 0.8 (not above)
        self.assertAlmostEqual(r["centroid_dir_at_far_1pct"], 0.5)

    def test_threshold_at_far(self):
        imp = np.arange(1000) / 1000.0
        t = metrics.threshold_at_far(imp, 0.01)
        self.assertEqual(int((imp >= t).sum()), 10)  # exactly 1% of 1000 impostors admitted
        tied = np.array([0.5] * 50 + [0.1] * 950)  # ties cannot be split: admit none of them
        self.assertEqual(int((tied >= metrics.threshold_at_far(tied, 0.01)).sum()), 0)

    def test_perfect(self):
        rng = np.random.default_rng(0)
        c = np.linalg.qr(rng.normal(size=(16, 16)))[0][:6]
        e = np.repeat(c, 3, axis=0) + rng.normal(size=(18, 16)) * 0.01
        ids = [i // 3 for i in range(18)]
        roles = ["distractor" if i >= 15 else ("gallery" if i % 3 == 0 else "probe") for i in range(18)]
        r = metrics.score(e, [str(i) for i in ids], roles)
        for k in ("icf_rank1", "centroid_top1", "centroid_dir_at_far_1pct", "tar_at_far_1e-3"):
            self.assertEqual(r[k], 1.0, k)

    def test_nothing_to_count_is_zero(self):
        # As toonid eval: no probes, no distractors, no impostor pairs -> 0, never NaN or an error.
        e = np.eye(3)
        r = metrics.score(e, ["A", "A", "A"], ["gallery", "gallery", "gallery"])
        for k in ("icf_rank1", "centroid_top1", "centroid_dir_at_far_1pct", "tar_at_far_1e-3"):
            self.assertEqual(r[k], 0.0, k)
        self.assertEqual((r["n_identities"], r["n_gallery"], r["n_probe"], r["n_distractor"]), (1, 3, 0, 0))
        # A probe whose identity has no gallery rows is no known probe: it does not count in centroid_*.
        r = metrics.score(np.eye(3), ["A", "A", "B"], ["gallery", "probe", "probe"])
        self.assertEqual(r["centroid_top1"], 1.0)
        self.assertEqual(r["n_identities"], 2)


class MetricsCrossCheckTest(unittest.TestCase):
    """The keys metrics.py shares with toonid eval give want.json's values on the embeddings of
    tools/eval/testdata/crosscheck, as Go's TestCrossCheck requires of eval.Evaluate."""

    def test_same_as_toonid_eval(self):
        import json
        root = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools", "eval", "testdata", "crosscheck")
        cases = sorted(os.listdir(root))
        self.assertTrue(cases)
        for case in cases:
            d = os.path.join(root, case)
            paths, ids, roles = metrics.read_eval_manifest(os.path.join(d, "manifest.tsv"))
            by_path = metrics.read_embeddings(os.path.join(d, "embeddings.tsv"))
            e = np.stack([by_path[os.path.relpath(p, d)] for p in paths])
            with open(os.path.join(d, "want.json")) as f:
                want = json.load(f)
            got = metrics.score(e, ids, roles)
            for k, v in want.items():
                self.assertEqual(got[k], v, f"{case}: {k}")


class DataTest(unittest.TestCase):
    def test_copy_shared_missing(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(FileNotFoundError) as cm:
                data.copy_shared(os.path.join(d, "nope"), os.path.join(d, "out"))
            self.assertIn("manifest", str(cm.exception))

    def test_image_cache_follows_the_files(self):
        # The cache was keyed on paths alone: regenerated data (same names, new pixels) trained
        # on the stale pixels. Now every change to a file's size or mtime makes it stale.
        with tempfile.TemporaryDirectory() as d:
            paths = [os.path.join(d, f"{i}.bmp") for i in range(3)]  # BMP: same size whatever the pixels
            for i, p in enumerate(paths):
                Image.new("RGB", (8, 8), (i * 80, 0, 0)).save(p)
            cache = os.path.join(d, "cache.npz")
            data.save_image_cache(cache, paths, data.load_images(paths, size=8), data.file_stamps(paths))
            self.assertIsNotNone(data.cached_images(paths, cache))
            self.assertIsNone(data.cached_images(paths[:2], cache), "other paths")
            st = os.stat(paths[1])
            Image.new("RGB", (8, 8), (0, 200, 0)).save(paths[1])  # same size as before
            self.assertEqual(os.path.getsize(paths[1]), st.st_size)
            os.utime(paths[1], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
            self.assertIsNone(data.cached_images(paths, cache), "a file rewritten since")
            data.save_image_cache(cache, paths, data.load_images(paths, size=8), data.file_stamps(paths))
            self.assertEqual(data.cached_images(paths, cache)[1, 1, 0, 0], 200)
            with open(paths[2], "ab") as f:
                f.write(b"\0")
            os.utime(paths[2], ns=(os.stat(paths[2]).st_atime_ns, data.file_stamps(paths)[2][1]))
            self.assertIsNone(data.cached_images(paths, cache), "a file of another size")
            np.savez(cache, images=data.load_images(paths, size=8), paths=np.array(paths))
            self.assertIsNone(data.cached_images(paths, cache), "a cache without stamps")

    def test_eval_manifest_roles(self):
        with tempfile.TemporaryDirectory() as d:
            rows = [(os.path.join(d, f"{i}_{v}.png"), f"c{i}", "s", str(v)) for i in range(8) for v in range(4)]
            path = os.path.join(d, "m.tsv")
            self.assertEqual(data.write_eval_manifest(path, rows), 32)
            paths, ids, roles = metrics.read_eval_manifest(path)
            by = {}
            for i, r in zip(ids, roles):
                by.setdefault(i, []).append(r)
            self.assertEqual(sum(1 for v in by.values() if set(v) == {"distractor"}), 2)
            for v in by.values():
                if "gallery" in v:
                    self.assertEqual(sorted(v), ["gallery", "gallery", "probe", "probe"])
            self.assertTrue(all(os.path.dirname(p) == d for p in paths))

    def test_sampler(self):
        import train
        labels = [i // 6 for i in range(60)]
        styles = [("a", "a", "b", "b", "c", "c")[i % 6] for i in range(60)]
        s = train.PKSampler(labels, styles, 4, 4, seed=0)
        ix, lab = s.batch()
        self.assertEqual(len(ix), 16)
        for k in range(4):
            grp = ix[4 * k:4 * k + 4]
            self.assertEqual({labels[i] for i in grp}, {lab[4 * k]})
            self.assertEqual(len(set(grp)), 4)
            self.assertEqual(len({styles[i] for i in grp}), 2)  # two styles, two images each

    def test_ema_proxies(self):
        import torch
        import train
        h = train.ArcFace(3, d=4)
        e = torch.tensor([[1.0, 0, 0, 0], [1.0, 0.1, 0, 0], [0, 1.0, 0, 0]])
        y = torch.tensor([0, 0, 2])
        h.update_proxies(e, y, first_only=True)
        self.assertTrue(bool(h.seen[0]) and bool(h.seen[2]) and not bool(h.seen[1]))
        self.assertAlmostEqual(float(h.w[2, 1]), 1.0, places=5)
        h.update_proxies(torch.tensor([[0, 0, 1.0, 0]]), torch.tensor([2]), first_only=True)
        self.assertAlmostEqual(float(h.w[2, 1]), 1.0, places=5)  # seen: first_only leaves it
        h.update_proxies(torch.tensor([[0, 0, 1.0, 0]]), torch.tensor([2]))
        self.assertAlmostEqual(float(h.w[2].norm()), 1.0, places=5)
        self.assertGreater(float(h.w[2, 2]), 0.5)


class ExportTest(unittest.TestCase):
    def test_export_contract(self):
        import onnx
        import torch
        import train
        torch.manual_seed(0)
        m = train.Net()
        self.assertLessEqual(train.count_macs(m), 60e6)
        self.assertLessEqual(sum(p.numel() for p in m.parameters()), 1.4e6)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "m.onnx")
            ops = train.export_onnx(m, p)
            self.assertTrue(set(ops) <= train.ALLOWED_OPS, ops)
            g = onnx.load(p).graph
            self.assertEqual([i.name for i in g.input], ["input"])
            dims = [x.dim_value for x in g.input[0].type.tensor_type.shape.dim]
            self.assertEqual(dims, [1, 3, 96, 96])
            odims = [x.dim_value for x in g.output[0].type.tensor_type.shape.dim]
            self.assertEqual(odims, [1, train.EMBED])
            self.assertFalse(any(n.op_type in ("Gemm", "BatchNormalization") for n in g.node))

    def test_mirror_embedding(self):
        """embed_images(mirror=True) is l2n(f(x)) + l2n(f(mirror x)), as the Go runtime computes it;
        a left-right symmetric image gives twice the single pass's unit vector."""
        import numpy as np
        import torch
        import train
        torch.manual_seed(0)
        m = train.Net().eval()
        rng = np.random.default_rng(0)
        imgs = rng.integers(0, 256, (3, 3, 96, 96), dtype=np.uint8)
        plain = train.embed_images(m, imgs)
        flipped = train.embed_images(m, imgs[:, :, :, ::-1].copy())
        got = train.embed_images(m, imgs, mirror=True)
        np.testing.assert_allclose(got, train.l2n_rows(plain) + train.l2n_rows(flipped), rtol=1e-4, atol=1e-5)
        sym = np.concatenate([imgs[:, :, :, :48], imgs[:, :, :, :48][:, :, :, ::-1]], axis=3)
        np.testing.assert_allclose(train.embed_images(m, sym, mirror=True),
                                   2 * train.l2n_rows(train.embed_images(m, sym)), rtol=1e-4, atol=1e-5)
        # post runs on each pass before normalising (the folded whitening)
        shift = np.ones(train.EMBED, np.float32)
        got = train.embed_images(m, imgs, mirror=True, post=lambda e: e - shift)
        np.testing.assert_allclose(got, train.l2n_rows(plain - shift) + train.l2n_rows(flipped - shift), rtol=1e-4, atol=1e-5)

    def test_augment_keeps_range_and_shape(self):
        import torch
        import train
        torch.manual_seed(0)
        x = torch.rand(8, 3, 112, 112)
        y = train.style_aug(train.geometric(x, out=64))
        self.assertEqual(tuple(y.shape), (8, 3, 64, 64))
        self.assertGreaterEqual(y.min().item(), 0)
        self.assertLessEqual(y.max().item(), 1)


    def test_colour_drop_off_keeps_colour_and_the_random_stream(self):
        import torch
        import train
        # Saturated flat colours: after greyscale or line art an image's channels (nearly) agree.
        x = torch.zeros(64, 3, 32, 32)
        x[:, 0], x[:, 1], x[:, 2] = 0.9, 0.2, 0.1
        spread = lambda y: (y.amax(1) - y.amin(1)).mean((1, 2))
        out, after = {}, {}
        for drop in (True, False):
            torch.manual_seed(3)
            out[drop] = spread(train.style_aug(x.clone(), colour_drop=drop))
            after[drop] = torch.rand(4)
        self.assertGreater(int((out[True] < 0.05).sum()), 5)
        self.assertEqual(int((out[False] < 0.05).sum()), 0)
        # Same draws either way: the ablation sees the same batches and other augmentations.
        self.assertTrue(torch.equal(after[True], after[False]))


if __name__ == "__main__":
    unittest.main()
