#!/usr/bin/python3
"""make_realval.py: cut the real-art validation crops listed in boxes.tsv out of the shared art.

Run by hand from the repository root (not by tests or builds; the crops are committed):

    /usr/bin/python3 tools/gallery/realval/make_realval.py --shared ../shared/data

boxes.tsv (next to this script), header `path source x y w h credit`:
  path    the crop to write, relative to boxes.tsv's folder (.jpg: JPEG quality 92, .png: PNG)
  source  the art it is cut from, relative to --shared. A video frame is `FILE.mp4#t=SECONDS`
          (decoded with `ffmpeg -ss SECONDS -i FILE -frames:v 1`, so ffmpeg must be on PATH).
  x y w h the face box in source pixels (brow/hair-line to chin, ear to ear), before enlarging.

Drawn art and film frames (everything but sprites): the face box is enlarged 2x about its centre
to a square of side 2 * max(w, h), cut out of the picture (white where the square leaves it) and
scaled down to at most 256 px (the project's convention: the model sees the face enlarged ~2x,
hair and accessories identify cartoon characters).

Sprites (sources under tuxemon/ and supertux/): flattened on white; the box is the sprite's
non-transparent bounding box (checked against the image); the crop is the square around it with a
small margin (side = round(1.15 * max(w, h)) + 2), scaled up with nearest-neighbour by a whole
factor to at least 96 px (down to at most 256 px with Lanczos if larger).

--check writes nothing and fails if a committed crop is missing or differs from the regenerated one
(after encoding it the same way: mean absolute pixel difference above 1 grey level, so another
libjpeg build may differ by a little).
manifest.tsv (`path identity role`) is hand-written and is not touched by this script.
"""
import argparse
import csv
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image, ImageChops, ImageStat

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_SIDE = 256
MIN_SPRITE_SIDE = 96
JPEG_QUALITY = 92
SPRITE_DIRS = ("tuxemon/", "supertux/")


def is_sprite(source):
    return source.startswith(SPRITE_DIRS)


def load_source(shared, source, tmp):
    """load_source opens a source image, or decodes one frame of a video source FILE#t=SECONDS."""
    if os.path.isabs(source) or ".." in source.split("/"):
        raise ValueError(f"realval: hostile source path {source!r}")
    if "#t=" in source:
        name, t = source.split("#t=", 1)
        float(t)  # a number, not an option
        ffmpeg = shutil.which("ffmpeg")
        if not ffmpeg:
            raise RuntimeError("realval: video source needs ffmpeg on PATH")
        out = os.path.join(tmp, "frame.png")
        subprocess.run([ffmpeg, "-loglevel", "error", "-threads", "1", "-ss", t, "-i",
                        os.path.join(shared, name), "-frames:v", "1", "-y", out], check=True)
        path = out
    else:
        path = os.path.join(shared, source)
    with Image.open(path) as im:
        im.load()
        return im.copy()


def flatten(im, bg=(255, 255, 255)):
    im = im.convert("RGBA")
    out = Image.new("RGBA", im.size, bg + (255,))
    out.alpha_composite(im)
    return out.convert("RGB")


def cut_square(im, cx, cy, side, bg=(255, 255, 255)):
    """cut_square cuts the side x side square centred on (cx, cy); white where it leaves im."""
    x0 = int(round(cx - side / 2))
    y0 = int(round(cy - side / 2))
    out = Image.new("RGB", (side, side), bg)
    box = (max(x0, 0), max(y0, 0), min(x0 + side, im.width), min(y0 + side, im.height))
    if box[2] > box[0] and box[3] > box[1]:
        out.paste(im.crop(box), (box[0] - x0, box[1] - y0))
    return out


def face_crop(im, x, y, w, h):
    side = int(round(2 * max(w, h)))
    out = cut_square(im.convert("RGB"), x + w / 2, y + h / 2, side)
    if side > MAX_SIDE:
        out = out.resize((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
    return out


def sprite_bbox(im):
    im = im.convert("RGBA")
    return im.getchannel("A").getbbox() or (0, 0, im.width, im.height)


def sprite_crop(im, x, y, w, h):
    side = int(round(1.15 * max(w, h))) + 2
    out = cut_square(flatten(im), x + w / 2, y + h / 2, side)
    if side < MIN_SPRITE_SIDE:
        k = math.ceil(MIN_SPRITE_SIDE / side)
        out = out.resize((side * k, side * k), Image.NEAREST)
    elif side > MAX_SIDE:
        out = out.resize((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
    return out


def read_boxes(tsv):
    with open(tsv, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for n, r in enumerate(rows, 2):
        for k in ("path", "source", "x", "y", "w", "h", "credit"):
            if not (r.get(k) or "").strip():
                raise ValueError(f"realval: {tsv}:{n}: empty {k!r}")
        if os.path.isabs(r["path"]) or ".." in r["path"].split("/"):
            raise ValueError(f"realval: {tsv}:{n}: hostile path {r['path']!r}")
        if not r["path"].endswith((".jpg", ".png")):
            raise ValueError(f"realval: {tsv}:{n}: path must end in .jpg or .png")
        r["_line"] = n
    return rows


def make(row, shared, tmp):
    im = load_source(shared, row["source"], tmp)
    x, y, w, h = (float(row[k]) for k in ("x", "y", "w", "h"))
    if w <= 0 or h <= 0:
        raise ValueError(f"realval: line {row['_line']}: empty box")
    if is_sprite(row["source"]):
        bb = sprite_bbox(im)
        if (bb[0], bb[1], bb[2] - bb[0], bb[3] - bb[1]) != (x, y, w, h):
            raise ValueError(f"realval: line {row['_line']}: {row['source']}: sprite bbox is "
                             f"{bb[0]} {bb[1]} {bb[2] - bb[0]} {bb[3] - bb[1]}, boxes.tsv says {x:g} {y:g} {w:g} {h:g}")
        return sprite_crop(im, x, y, w, h)
    return face_crop(im, x, y, w, h)


def save(im, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if path.endswith(".jpg"):
        im.save(path, quality=JPEG_QUALITY)
    else:
        im.save(path, optimize=True)


def encoded(im, path):
    """encoded returns im as it reads back after saving to path's format (JPEG loss included)."""
    buf = io.BytesIO()
    im.save(buf, format="JPEG" if path.endswith(".jpg") else "PNG", quality=JPEG_QUALITY)
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", required=True, help="the shared art folder (e.g. ../shared/data)")
    ap.add_argument("--boxes", default=os.path.join(HERE, "boxes.tsv"))
    ap.add_argument("--out", help="write the crops under this folder instead of next to boxes.tsv")
    ap.add_argument("--check", action="store_true", help="compare with the committed crops, write nothing")
    a = ap.parse_args(argv)
    rows = read_boxes(a.boxes)
    base = a.out or os.path.dirname(os.path.abspath(a.boxes))
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for r in rows:
            im = make(r, a.shared, tmp)
            dst = os.path.join(base, r["path"])
            if a.check:
                if not os.path.isfile(dst):
                    print(f"missing {r['path']}")
                    bad += 1
                    continue
                im = encoded(im, dst)
                with Image.open(dst) as old:
                    old = old.convert("RGB")
                    if old.size != im.size:
                        print(f"size differs {r['path']}: {old.size} vs {im.size}")
                        bad += 1
                        continue
                    diff = sum(ImageStat.Stat(ImageChops.difference(old, im)).mean) / 3
                    if diff > 1.0:
                        print(f"differs {r['path']}: mean |diff| {diff:.2f}")
                        bad += 1
            else:
                save(im, dst)
    print(f"realval: {len(rows)} crops {'checked' if a.check else 'written'}, {bad} bad")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
