"""tests of the detector's data generator pieces that need no shared art (detect_data.py)."""
import os
import sys
import tempfile
import unittest

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import detect_data  # noqa: E402


class RealScenes(unittest.TestCase):
    def setUp(self):
        # one "real" image: a red square face at a known box on a grey field
        self.im = Image.new("RGB", (900, 500), (128, 128, 128))
        self.box = [400, 150, 120, 120]
        x, y, w, h = self.box
        self.im.paste((255, 0, 0), (x, y, x + w, y + h))

    def test_labels_parse(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "real.tsv")
            with open(p, "w") as f:
                f.write("# comment\n\na.jpg\t1,2,3,4;5,6,7,8\t-\nb.png\t-\t9,9,9,9\n")
            rows = detect_data.read_real(p)
        self.assertEqual(rows, [("a.jpg", [[1, 2, 3, 4], [5, 6, 7, 8]], []), ("b.png", [], [[9, 9, 9, 9]])])

    def test_boxes_follow_the_window(self):
        rows = [("x.jpg", [self.box], [])]
        seen = 0
        for i in range(60):
            im, boxes, ignore, q = detect_data.real_scene(i, rows, [self.im])
            self.assertEqual(max(im.size), 320)
            self.assertTrue(60 <= q <= 95)
            for x, y, w, h in boxes:
                a = np.asarray(im, np.float32)
                inner = a[int(y + 0.2 * h):int(y + 0.8 * h), int(x + 0.2 * w):int(x + 0.8 * w)]
                # the square's inside is red whatever the photometric jitter (red dominant)
                self.assertGreater(inner[..., 0].mean() - inner[..., 2].mean(), 40, (i, boxes))
                seen += 1
            for b in boxes + ignore:
                self.assertTrue(0 <= b[0] and 0 <= b[1] and b[0] + b[2] <= im.width + 0.1 and
                                b[1] + b[3] <= im.height + 0.1, (i, b))
        self.assertGreater(seen, 20)

    def test_deterministic(self):
        rows = [("x.jpg", [self.box], [])]
        a = detect_data.real_scene(7, rows, [self.im])
        b = detect_data.real_scene(7, rows, [self.im])
        self.assertEqual(a[1:], b[1:])
        self.assertEqual(a[0].tobytes(), b[0].tobytes())


class Augment(unittest.TestCase):
    def test_shade_keeps_alpha_and_size(self):
        import random
        sp = Image.new("RGBA", (50, 40), (200, 100, 50, 0))
        sp.paste((200, 100, 50, 255), (10, 10, 40, 30))
        for i in range(20):
            out = detect_data.shade(sp, random.Random(i))
            self.assertEqual(out.size, sp.size)
            self.assertEqual(out.mode, "RGBA")
            # the outside stays transparent (a soft edge may spread alpha by a few pixels only)
            self.assertLess(np.asarray(out)[0, 0, 3], 16)

    def test_hue_shift_keeps_value(self):
        im = Image.new("RGB", (8, 8), (200, 50, 50))
        out = detect_data.hue_shift(im, 0.5, 1.0)
        self.assertEqual(out.size, im.size)
        self.assertEqual(max(out.getpixel((0, 0))), 200)  # HSV value kept
        self.assertNotEqual(out.getpixel((0, 0)), im.getpixel((0, 0)))

    def test_patch_is_cut_out(self):
        import random
        frames = [Image.new("RGB", (640, 360), (30, 160, 60))]
        for i in range(10):
            p = detect_data.patch_sprite(random.Random(i), frames)
            self.assertEqual(p.mode, "RGBA")
            a = np.asarray(p)[..., 3]
            self.assertGreater(a.max(), 200)


if __name__ == "__main__":
    unittest.main()
