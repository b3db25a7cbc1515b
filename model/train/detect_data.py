"""detect_data: synthetic scenes with exact face boxes for the face detector (detect.py).

Two steps, both pure functions of their arguments (seeded), so data is regenerated, never stored:

  bank    the sprite bank: characters cut out on alpha with a face box each, and face-less
          distractor objects. Sources (training art only, never the reserved sets):
            dicebear  the training DiceBear styles, rendered transparent by detect_sprites.mjs;
                      face box = the style's fixed layout (FACE_LAYOUT, measured by eye on
                      canonical renders: brow/hair-line to chin, ear to ear, in canvas fractions)
            procgen   procgen.py characters drawn on a chroma key: box = the head ellipse from
                      procgen's geometry (render(info=...)), top moved to the hair-line (20% of
                      the head height down), rotated with the pose (the box of the rotated ellipse)
            tuxemon   the two menu icons of every monster (head icons): box = alpha bbox
            supertux  frames of the creatures whose body is a face (SUPERTUX_FACES): alpha bbox
            distractor: Tuxemon back views (no face)
  scenes  N scenes of 320 px on the long side (aspects 16:9, 4:3, 1:1, 3:4, 2.35:1), 0-8
          characters, face sizes 12-300 px log-uniform (smaller when crowded), rotation
          (sd 10 deg, max 30), mirror, crops at the border, occlusion by later characters and by
          random shapes, on Big Buck Bunny frames (no character) or procedural fills (gradients,
          noise, stripes, blobs, panel lines), photometric jitter, blur, JPEG.
          labels.jsonl rows: {"path", "w", "h", "boxes": [[x, y, w, h], ...], "ignore": [...]}.
          A face is labelled when >= 55% of its box is in frame and unoccluded and its box is
          >= 8 px; faces 25-55% visible (or smaller) become "ignore" boxes (no loss either way).

usage: python3 detect_data.py bank --shared ../shared/data --dicebear DIR --out DATA/bank
       python3 detect_data.py scenes --bank DATA/bank --shared ../shared/data --out DATA/scenes/train \
               --first 0 --count 12000 [--shard i/n]
"""
import argparse
import glob
import io
import json
import math
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageEnhance

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procgen  # noqa: E402

LONG = 320
RESERVED_STYLES = {"bigEars", "bigEarsNeutral", "dylan", "openPeeps", "pixelArt", "pixelArtNeutral"}
# Face box per DiceBear style: (x0, y0, x1, y1) as fractions of the square canvas, canonical pose.
FACE_LAYOUT = {
    "adventurer": (0.15, 0.23, 0.85, 0.81),
    "avataaars": (0.27, 0.24, 0.74, 0.71),
    "bigSmile": (0.12, 0.25, 0.90, 0.86),
    "croodles": (0.22, 0.30, 0.78, 0.80),
    "lorelei": (0.23, 0.27, 0.77, 0.75),
    "micah": (0.22, 0.20, 0.75, 0.70),
    "miniavs": (0.20, 0.27, 0.80, 0.83),
    "notionists": (0.29, 0.31, 0.70, 0.69),
    "personas": (0.22, 0.24, 0.78, 0.71),
    "toonHead": (0.22, 0.27, 0.78, 0.74),
}
# SuperTux creatures drawn as one face (a head with eyes and mouth is the whole body).
SUPERTUX_FACES = {"snowball", "bouncing_snowball", "flying_snowball", "mr_cherry", "mr_bomb", "gold_bomb",
                  "kirby", "haywire", "short_fuse", "jumpy", "snowjumpy", "mr_iceblock", "skullyhop",
                  "angrystone"}
# Frames that are effects, not the creature's face.
SUPERTUX_EFFECTS = ("explod", "burning", "melting", "squish", "sparkle", "flat-", "hit_", "editor", "iced", "frozen")
KEY = (0, 255, 0)


def alpha_bbox(im, thr=128):
    a = np.asarray(im.getchannel("A")) >= thr
    ys, xs = np.nonzero(a)
    if len(xs) == 0:
        return None
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def rotated_box(box, angle, cx, cy):
    """rotated_box: the axis-aligned box of the ellipse inscribed in box after rotating it by angle
    degrees counter-clockwise (PIL's sense, y down) about (cx, cy)."""
    x0, y0, x1, y1 = box
    a, b = (x1 - x0) / 2, (y1 - y0) / 2
    ex, ey = (x0 + x1) / 2 - cx, (y0 + y1) / 2 - cy
    t = math.radians(angle)
    # PIL rotates counter-clockwise on screen: (x, y) -> (x cos + y sin, -x sin + y cos).
    nx, ny = ex * math.cos(t) + ey * math.sin(t), -ex * math.sin(t) + ey * math.cos(t)
    hw = math.sqrt((a * math.cos(t)) ** 2 + (b * math.sin(t)) ** 2)
    hh = math.sqrt((a * math.sin(t)) ** 2 + (b * math.cos(t)) ** 2)
    return (cx + nx - hw, cy + ny - hh, cx + nx + hw, cy + ny + hh)


def procgen_sprite(i):
    """procgen_sprite renders procgen identity i (renderer by i) cut out of a chroma key ->
    (RGBA image 224 px, face box)."""
    rd = procgen.RENDERERS[i % len(procgen.RENDERERS)]
    info = {}
    im = procgen.render(procgen.identity(i), rd, i % 4, 224, key=KEY, info=info)
    a = np.asarray(im).astype(np.int16)
    # The renderer shades the key too (gain 0.6-1.15): the key is any pixel with a dominant green.
    key = (a[..., 1] > 100) & (a[..., 0] < 60) & (a[..., 2] < 60) & (a[..., 1] - np.maximum(a[..., 0], a[..., 2]) > 90)
    alpha = np.where(key, 0, 255).astype(np.uint8)
    rgba = np.dstack([np.asarray(im), alpha])
    x0, y0, x1, y1 = info["head"]
    y0 = y0 + 0.2 * (y1 - y0)  # the skull top -> the hair-line
    box = rotated_box((x0, y0, x1, y1), info["angle"], 112, 112)
    return Image.fromarray(rgba, "RGBA"), box


def cmd_bank(a):
    os.makedirs(a.out, exist_ok=True)
    rows = []
    # DiceBear (rendered by detect_sprites.mjs)
    for tsv in sorted(glob.glob(os.path.join(a.dicebear, "sprites-*.tsv"))):
        for line in open(tsv):
            rel, style, _ = line.rstrip("\n").split("\t")
            if style in RESERVED_STYLES:
                raise ValueError(f"reserved style {style} in {tsv}")
            p = os.path.join(a.dicebear, rel)
            w, h = Image.open(p).size
            f = FACE_LAYOUT[style]
            rows.append((os.path.relpath(p, a.out), "dicebear:" + style, f[0] * w, f[1] * h, f[2] * w, f[3] * h))
    # procgen
    pdir = os.path.join(a.out, "procgen")
    os.makedirs(pdir, exist_ok=True)
    for i in range(a.procgen_first, a.procgen_first + a.procgen):
        im, box = procgen_sprite(i)
        rel = f"procgen/p{i}.png"
        im.save(os.path.join(a.out, rel))
        rows.append((rel, "procgen:" + procgen.RENDERERS[i % len(procgen.RENDERERS)], *box))
    # Tuxemon head icons; back views as distractors
    tdir = os.path.join(a.out, "tuxemon")
    os.makedirs(tdir, exist_ok=True)
    tux = os.path.join(a.shared, "tuxemon")
    for line in list(open(os.path.join(tux, "manifest.tsv")))[1:]:
        mid, view, f = line.rstrip("\n").split("\t")
        if view not in ("menu01", "menu02", "back"):
            continue
        im = Image.open(os.path.join(tux, f)).convert("RGBA")
        bb = alpha_bbox(im)
        if bb is None or bb[2] - bb[0] < 8 or bb[3] - bb[1] < 8:
            continue
        im = im.crop(bb)
        rel = f"tuxemon/{mid}_{view}.png"
        im.save(os.path.join(a.out, rel))
        if view == "back":
            rows.append((rel, "distractor:tuxemon-back", -1, -1, -1, -1))
        else:
            rows.append((rel, "tuxemon", 0, 0, im.width, im.height))
    # SuperTux face-creatures
    sdir = os.path.join(a.out, "supertux")
    os.makedirs(sdir, exist_ok=True)
    st = os.path.join(a.shared, "supertux")
    for k, line in enumerate(list(open(os.path.join(st, "manifest.tsv")))[1:]):
        cid, f = line.rstrip("\n").split("\t")
        if cid not in SUPERTUX_FACES or any(w in f for w in SUPERTUX_EFFECTS):
            continue
        im = Image.open(os.path.join(st, f)).convert("RGBA")
        bb = alpha_bbox(im)
        if bb is None:
            continue
        w, h = bb[2] - bb[0], bb[3] - bb[1]
        if w < 12 or h < 12 or not 0.6 <= w / h <= 1.7:  # squished / melting frames
            continue
        im = im.crop(bb)
        rel = f"supertux/{cid}_{k}.png"
        im.save(os.path.join(a.out, rel))
        rows.append((rel, "supertux", 0, 0, im.width, im.height))
    with open(os.path.join(a.out, "bank.tsv"), "w") as f:
        for r in rows:
            f.write("\t".join([r[0], r[1]] + [f"{v:.2f}" for v in r[2:]]) + "\n")
    kinds = {}
    for r in rows:
        kinds[r[1].split(":")[0]] = kinds.get(r[1].split(":")[0], 0) + 1
    print(f"detect_data bank: {len(rows)} sprites {kinds} -> {a.out}")


def load_bank(d):
    out = {"dicebear": [], "procgen": [], "tuxemon": [], "supertux": [], "distractor": []}
    for line in open(os.path.join(d, "bank.tsv")):
        rel, src, *box = line.rstrip("\n").split("\t")
        out[src.split(":")[0]].append((os.path.join(d, rel), tuple(float(v) for v in box)))
    return out


def bbb_frames(shared, every=4):
    import cv2
    cap = cv2.VideoCapture(os.path.join(shared, "video", "big_buck_bunny_intro_10s.mp4"))
    frames, k = [], 0
    while True:
        ok, fr = cap.read()
        if not ok:
            break
        if k % every == 0:
            frames.append(Image.fromarray(fr[:, :, ::-1]).resize((640, 360), Image.BILINEAR))
        k += 1
    if not frames:
        raise RuntimeError("no Big Buck Bunny frames")
    return frames


def rand_color(r, lo=0, hi=255):
    return tuple(r.randint(lo, hi) for _ in range(3))


def procedural_bg(r, W, H):
    kind = r.choice(["gradient", "gradient", "noise", "stripes", "blobs", "panels", "flat"])
    c1, c2 = rand_color(r), rand_color(r)
    g = Image.linear_gradient("L").resize((W, H)).rotate(r.uniform(0, 360), expand=False)
    im = Image.composite(Image.new("RGB", (W, H), c1), Image.new("RGB", (W, H), c2), g)
    d = ImageDraw.Draw(im)
    if kind == "flat":
        im = Image.new("RGB", (W, H), c1)
        d = ImageDraw.Draw(im)
    elif kind == "noise":
        n = np.random.default_rng(r.randint(0, 1 << 30)).normal(0, r.uniform(10, 50), (H // 4 + 1, W // 4 + 1, 3))
        n = Image.fromarray(np.clip(n + 128, 0, 255).astype(np.uint8)).resize((W, H), Image.BICUBIC)
        im = Image.blend(im, n, r.uniform(0.3, 0.7))
        d = ImageDraw.Draw(im)
    elif kind == "stripes":
        w = r.randint(4, 40)
        for x in range(-H, W + H, 2 * w):
            d.polygon([(x, 0), (x + w, 0), (x + w + H * 0.3, H), (x + H * 0.3, H)], fill=c2)
    elif kind == "panels":
        d.rectangle([0, 0, W, H], fill=(245, 245, 240))
        for _ in range(r.randint(1, 4)):
            x0, y0 = r.randint(0, W // 2), r.randint(0, H // 2)
            d.rectangle([x0, y0, x0 + r.randint(40, W), y0 + r.randint(40, H)], outline=(20, 20, 20),
                        width=r.randint(1, 4), fill=rand_color(r, 150, 255) if r.random() < 0.5 else None)
    for _ in range(r.randint(0, 12) if kind in ("blobs", "gradient", "flat", "panels") else r.randint(0, 3)):
        x, y, s = r.uniform(0, W), r.uniform(0, H), r.uniform(5, 120)
        sh = r.choice(["ellipse", "rectangle", "polygon", "line"])
        col = rand_color(r)
        if sh == "ellipse":
            d.ellipse([x - s, y - s * r.uniform(0.4, 1.2), x + s, y + s * r.uniform(0.4, 1.2)], fill=col,
                      outline=(20, 20, 20) if r.random() < 0.3 else None, width=2)
        elif sh == "rectangle":
            d.rectangle([x - s, y - s * 0.6, x + s, y + s * 0.6], fill=col)
        elif sh == "polygon":
            d.polygon([(x + s * math.cos(t), y + s * math.sin(t)) for t in
                       sorted(r.uniform(0, 6.283) for _ in range(r.randint(3, 7)))], fill=col)
        else:
            d.line([(x, y), (x + r.uniform(-200, 200), y + r.uniform(-200, 200))], fill=col, width=r.randint(1, 6))
    return im


def bbb_bg(r, frames, W, H):
    f = r.choice(frames)
    s = r.uniform(0.35, 1.0)
    cw, ch = f.width * s, f.width * s * H / W
    if ch > f.height:
        ch = f.height
        cw = ch * W / H
    x0, y0 = r.uniform(0, f.width - cw), r.uniform(0, f.height - ch)
    im = f.crop((int(x0), int(y0), int(x0 + cw), int(y0 + ch))).resize((W, H), Image.BILINEAR)
    if r.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    if r.random() < 0.5:
        im = hue_shift(im, r.uniform(0, 1), r.uniform(0.5, 1.2))
    return im


def colour_jitter(im, r):
    """brightness, contrast and saturation jitter, the same for synthetic and real scenes."""
    im = ImageEnhance.Brightness(im).enhance(r.uniform(0.7, 1.3))
    im = ImageEnhance.Contrast(im).enhance(r.uniform(0.7, 1.3))
    return ImageEnhance.Color(im).enhance(r.uniform(0.5, 1.4))


def hue_shift(im, dh, sat):
    """rotates the hue by dh (a fraction of the circle) and scales saturation: the landscape in
    other palettes (sand, dusk, stone), so colour alone does not say 'background'."""
    h, s_, v = im.convert("HSV").split()
    h = h.point(lambda x: int(x + dh * 255) % 256)
    s_ = s_.point(lambda x: min(255, int(x * sat)))
    return Image.merge("HSV", (h, s_, v)).convert("RGB")


def shade(sp, r):
    """shade: light a pasted RGBA sprite as a render or a painting would: a smooth light
    gradient (key light from a random side), sometimes a darker rim, sometimes soft edges.
    Flat-coloured sprites alone taught 'uniform fill + outline = face'; shaded 3D and painted
    faces were missed (detect/README.md)."""
    if r.random() < 0.45:
        return sp
    w, h = sp.size
    a = np.asarray(sp, np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = r.uniform(0, 2 * math.pi)
    d = ((xx / max(1, w) - 0.5) * math.cos(t) + (yy / max(1, h) - 0.5) * math.sin(t)) * 2
    k = r.uniform(0.15, 0.5)
    light = 1 + k * d
    if r.random() < 0.4:
        rr = np.sqrt(((xx / max(1, w) - 0.5) * 2) ** 2 + ((yy / max(1, h) - 0.5) * 2) ** 2)
        light *= 1 - r.uniform(0.1, 0.35) * np.clip(rr, 0, 1) ** 2
    warm = np.array([1.0, r.uniform(0.9, 1.0), r.uniform(0.75, 1.0)], np.float32) if r.random() < 0.5 else 1.0
    a[..., :3] = np.clip(a[..., :3] * light[..., None] * warm, 0, 255)
    out = Image.fromarray(a.astype(np.uint8), "RGBA")
    if r.random() < 0.35:
        out = out.filter(ImageFilter.GaussianBlur(r.uniform(0.4, 1.2) * max(1.0, min(w, h) / 100)))
    return out


def patch_sprite(r, frames):
    """a face-less pasted object: a crop of a background frame, hue-shifted, cut to an ellipse,
    a rounded block or a tall column, with a soft edge. Hard negatives for what the shipped
    detector fired on in real frames: large smooth shapes, towers, rock columns."""
    f = r.choice(frames)
    cw, ch = r.randint(40, 320), r.randint(40, 320)
    kind = r.choice(["ellipse", "block", "column"])
    if kind == "column":
        cw, ch = r.randint(30, 120), r.randint(150, 360)
    x0, y0 = r.randint(0, max(0, f.width - cw)), r.randint(0, max(0, f.height - ch))
    im = f.crop((x0, y0, x0 + cw, y0 + ch))
    im = hue_shift(im, r.uniform(0, 1), r.uniform(0.3, 1.2))
    im = shade(im.convert("RGBA"), r).convert("RGB")
    m = Image.new("L", im.size, 0)
    d = ImageDraw.Draw(m)
    if kind == "ellipse":
        d.ellipse([0, 0, cw - 1, ch - 1], fill=255)
    else:
        d.rounded_rectangle([0, 0, cw - 1, ch - 1], radius=r.randint(0, min(cw, ch) // 3), fill=255)
    m = m.filter(ImageFilter.GaussianBlur(r.uniform(0, 3)))
    im.putalpha(m)
    return im


_cache = {}


def sprite(path):
    im = _cache.get(path)
    if im is None:
        im = Image.open(path).convert("RGBA")
        if len(_cache) < 20000:
            _cache[path] = im
    return im


def scene(i, bank, frames):
    """scene i -> (RGB image, boxes [[x,y,w,h]], ignore boxes)."""
    r = random.Random(f"detect-scene-{i}")
    W, H = r.choices([(320, 180), (320, 240), (320, 320), (240, 320), (320, 136)], [4, 2, 2, 2, 1])[0]
    im = bbb_bg(r, frames, W, H) if r.random() < 0.55 else procedural_bg(r, W, H)
    n = 0 if r.random() < 0.1 else r.choices(range(1, 9), [6, 5, 4, 3, 2, 1.5, 1, 1])[0]
    alpha_cover = np.zeros((H, W), np.float32)  # coverage by everything pasted so far
    faces = []  # (box x0,y0,x1,y1 in scene, index of the paste)
    masks = []  # alpha of each paste in scene coords, for occlusion accounting
    items = []
    for _ in range(n):
        src = r.choices(["dicebear", "procgen", "tuxemon", "supertux"], [0.45, 0.25, 0.15, 0.15])[0]
        items.append(src)
    for _ in range(r.choice([0, 0, 0, 1, 2])):
        items.insert(r.randint(0, len(items)), "distractor")
    for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
        items.insert(r.randint(0, len(items)), "patch")
    fmax = min(300, 0.95 * max(W, H)) / math.sqrt(max(1.0, n / 2))
    for src in items:
        if src == "patch":
            sp, box = patch_sprite(r, frames), None
        else:
            path, box = r.choice(bank[src])
            sp = sprite(path)
        if src in ("distractor", "patch"):
            fw = None
            target = math.exp(r.uniform(math.log(16), math.log(200)))
            s = target / max(sp.size)
        else:
            fw = box[2] - box[0]
            target = math.exp(r.uniform(math.log(12), math.log(max(13, fmax))))
            s = target / fw
        sw, sh = max(1, round(sp.width * s)), max(1, round(sp.height * s))
        if sw > 2000 or sh > 2000:
            continue
        if src == "patch":
            target = math.exp(r.uniform(math.log(20), math.log(0.9 * max(W, H))))
            s = target / max(sp.size)
            sw, sh = max(1, round(sp.width * s)), max(1, round(sp.height * s))
        pixel = src in ("tuxemon", "supertux") and s > 1.5 and r.random() < 0.7
        spi = sp.resize((sw, sh), Image.NEAREST if pixel else Image.LANCZOS if s < 1 else Image.BICUBIC)
        flip = r.random() < 0.5
        if flip:
            spi = spi.transpose(Image.FLIP_LEFT_RIGHT)
        if src != "distractor" or r.random() < 0.5:
            spi = shade(spi, r)
        ang = max(-30.0, min(30.0, r.gauss(0, 10)))
        if fw is not None:
            fb = [v * s for v in box]
            if flip:
                fb = [sw - fb[2], fb[1], sw - fb[0], fb[3]]
        rot = spi.rotate(ang, resample=Image.BICUBIC, expand=True)
        if fw is not None:
            fb = rotated_box(fb, ang, sw / 2, sh / 2)
            dx, dy = (rot.width - sw) / 2, (rot.height - sh) / 2
            fb = (fb[0] + dx, fb[1] + dy, fb[2] + dx, fb[3] + dy)
            fcx, fcy = (fb[0] + fb[2]) / 2, (fb[1] + fb[3]) / 2
            fsz = max(fb[2] - fb[0], fb[3] - fb[1])
            # the face centre anywhere in the frame, up to 30% of the face beyond the border
            px = r.uniform(-0.3 * fsz, W + 0.3 * fsz) - fcx
            py = r.uniform(-0.3 * fsz, H + 0.3 * fsz) - fcy
        else:
            px, py = r.uniform(-rot.width / 2, W - rot.width / 2), r.uniform(-rot.height / 2, H - rot.height / 2)
        px, py = int(round(px)), int(round(py))
        # alpha of this paste in scene coordinates
        a = np.zeros((H, W), np.float32)
        ra = np.asarray(rot.getchannel("A"), np.float32) / 255
        x0, y0 = max(0, px), max(0, py)
        x1, y1 = min(W, px + rot.width), min(H, py + rot.height)
        if x1 <= x0 or y1 <= y0:
            continue
        a[y0:y1, x0:x1] = ra[y0 - py:y1 - py, x0 - px:x1 - px]
        im.paste(rot, (px, py), rot)
        for m in masks:
            m *= (1 - a)
        if fw is not None:
            faces.append([fb[0] + px, fb[1] + py, fb[2] + px, fb[3] + py])
            masks.append(np.ones((H, W), np.float32))
    # random occluders over some faces (hands, props, speech bubbles)
    d = ImageDraw.Draw(im)
    occ = np.zeros((H, W), np.float32)
    for fb in faces:
        if r.random() < 0.2:
            w, h = fb[2] - fb[0], fb[3] - fb[1]
            ox, oy = r.uniform(fb[0] - 0.3 * w, fb[2] - 0.2 * w), r.uniform(fb[1] - 0.3 * h, fb[3] - 0.2 * h)
            ow, oh = w * r.uniform(0.3, 0.8), h * r.uniform(0.3, 0.8)
            col = rand_color(r)
            (d.ellipse if r.random() < 0.5 else d.rectangle)([ox, oy, ox + ow, oy + oh], fill=col)
            x0, y0 = int(max(0, ox)), int(max(0, oy))
            x1, y1 = int(min(W, ox + ow)), int(min(H, oy + oh))
            if x1 > x0 and y1 > y0:
                occ[y0:y1, x0:x1] = 1
    boxes, ignore = [], []
    for fb, m in zip(faces, masks):
        x0, y0, x1, y1 = fb
        area = (x1 - x0) * (y1 - y0)
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
        if cx1 - cx0 < 2 or cy1 - cy0 < 2:
            continue
        ix0, iy0, ix1, iy1 = int(cx0), int(cy0), int(math.ceil(cx1)), int(math.ceil(cy1))
        vis = float((m[iy0:iy1, ix0:ix1] * (1 - occ[iy0:iy1, ix0:ix1])).sum())
        v = vis / max(1.0, area)
        clipped = [cx0, cy0, cx1 - cx0, cy1 - cy0]
        if v >= 0.55 and min(clipped[2], clipped[3]) >= 8:
            boxes.append([round(c, 1) for c in clipped])
        elif v >= 0.25 or (v >= 0.55 and min(clipped[2], clipped[3]) < 8):
            ignore.append([round(c, 1) for c in clipped])
    # photometric: film-like grading (a tint and haze over the whole frame), then jitter
    if r.random() < 0.35:
        tint = Image.new("RGB", (W, H), r.choice([(255, 170, 90), (250, 210, 150), (120, 150, 220), (200, 200, 200),
                                                   rand_color(r, 60, 255)]))
        im = Image.blend(im, tint, r.uniform(0.08, 0.35))
    if r.random() < 0.8:
        im = colour_jitter(im, r)
    if r.random() < 0.08:
        im = im.convert("L").convert("RGB")
    if r.random() < 0.2:
        im = im.filter(ImageFilter.GaussianBlur(r.uniform(0.3, 1.2)))
    if r.random() < 0.2:
        n = np.random.default_rng(i).normal(0, r.uniform(2, 10), (H, W, 3))
        im = Image.fromarray(np.clip(np.asarray(im, np.float32) + n, 0, 255).astype(np.uint8))
    return im, boxes, ignore, r.randint(60, 95)


def read_real(path):
    """read_real: the hand-labelled real images (detect_real.tsv) -> [(rel path, boxes, ignore)],
    boxes as [x, y, w, h] in the image's pixels."""
    rows = []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        rel, boxes, ignore = line.rstrip("\n").split("\t")
        parse = lambda v: [] if v == "-" else [[float(c) for c in b.split(",")] for b in v.split(";")]
        rows.append((rel, parse(boxes), parse(ignore)))
    return rows


def real_scene(i, rows, images):
    """real scene i: a random window of a hand-labelled real image (scale, aspect, mirror, the
    same photometric jitter as the synthetic scenes), its boxes carried along; a face less than
    55% inside the window becomes an ignore box, as in scene()."""
    r = random.Random(f"detect-real-{i}")
    k = r.randrange(len(rows))
    rel, boxes, ignore = rows[k]
    src = images[k]
    W, H = r.choices([(320, 180), (320, 240), (320, 320), (240, 320), (320, 136)], [4, 2, 2, 2, 1])[0]
    # the window: between the whole image and a zoom that makes the largest face ~250 px
    full = min(src.width / W, src.height / H)
    big = max([max(b[2], b[3]) for b in boxes] or [64])
    zmin = max(big / 250.0 * 1.0, full * 0.15)
    scale = math.exp(r.uniform(math.log(min(zmin, full)), math.log(full)))
    cw, ch = W * scale, H * scale
    if boxes and r.random() < 0.7:  # centre near a face most of the time
        b = r.choice(boxes)
        cx = b[0] + b[2] / 2 + r.uniform(-0.5, 0.5) * cw
        cy = b[1] + b[3] / 2 + r.uniform(-0.5, 0.5) * ch
    else:
        cx, cy = r.uniform(0, src.width), r.uniform(0, src.height)
    x0 = min(max(0, cx - cw / 2), max(0, src.width - cw))
    y0 = min(max(0, cy - ch / 2), max(0, src.height - ch))
    im = src.crop((int(x0), int(y0), int(x0 + cw), int(y0 + ch))).resize((W, H), Image.BILINEAR)
    sx, sy = W / int(cw), H / int(ch)
    flip = r.random() < 0.5
    if flip:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    out_b, out_i = [], []
    for lst, is_face in ((boxes, True), (ignore, False)):
        for bx, by, bw, bh in lst:
            X0, Y0 = (bx - int(x0)) * sx, (by - int(y0)) * sy
            X1, Y1 = X0 + bw * sx, Y0 + bh * sy
            if flip:
                X0, X1 = W - X1, W - X0
            c = [max(0, X0), max(0, Y0), min(W, X1), min(H, Y1)]
            if c[2] - c[0] < 2 or c[3] - c[1] < 2:
                continue
            v = (c[2] - c[0]) * (c[3] - c[1]) / max(1.0, (X1 - X0) * (Y1 - Y0))
            box = [round(c[0], 1), round(c[1], 1), round(c[2] - c[0], 1), round(c[3] - c[1], 1)]
            if is_face and v >= 0.55 and min(box[2], box[3]) >= 8:
                out_b.append(box)
            elif v >= 0.25 or not is_face:
                out_i.append(box)
    if r.random() < 0.8:
        im = colour_jitter(im, r)
    if r.random() < 0.3:
        im = hue_shift(im, r.uniform(-0.08, 0.08), r.uniform(0.6, 1.2))
    if r.random() < 0.15:
        im = im.filter(ImageFilter.GaussianBlur(r.uniform(0.3, 1.0)))
    return im, out_b, out_i, r.randint(60, 95)


def cmd_real(a):
    """writes real scenes r<i>.jpg with their labels-real.jsonl beside the synthetic ones (the
    trainer reads every labels-*.jsonl of the folder). Deterministic; reruns rewrite."""
    rows = read_real(a.labels)
    images = [Image.open(os.path.join(a.shared, rel)).convert("RGB") for rel, _, _ in rows]
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "labels-real.jsonl.tmp"), "w") as f:
        for i in range(a.count):
            rel = f"r{i:06d}.jpg"
            im, boxes, ignore, q = real_scene(i, rows, images)
            im.save(os.path.join(a.out, rel), quality=q)
            f.write(json.dumps({"path": rel, "w": im.width, "h": im.height, "boxes": boxes, "ignore": ignore}) + "\n")
    os.replace(os.path.join(a.out, "labels-real.jsonl.tmp"), os.path.join(a.out, "labels-real.jsonl"))
    print(f"detect_data real: {a.count} scenes from {len(rows)} labelled images -> {a.out}")


def cmd_scenes(a):
    """writes the scenes of this shard; labels are appended as each scene is written, and a rerun
    skips the scenes its labels file already holds (resumable)."""
    bank = load_bank(a.bank)
    frames = bbb_frames(a.shared)
    os.makedirs(a.out, exist_ok=True)
    si, sn = (int(v) for v in a.shard.split("/"))
    lab = os.path.join(a.out, f"labels-{si}.jsonl")
    done = set()
    if os.path.exists(lab):
        for line in open(lab):
            try:
                done.add(json.loads(line)["path"])
            except ValueError:
                break  # a torn last line: rewritten below
        with open(lab) as f:
            keep = [l for l in f if l.endswith("\n") and json.loads(l)["path"] in done]
        with open(lab, "w") as f:
            f.writelines(keep)
    n = 0
    with open(lab, "a") as f:
        for i in range(a.first, a.first + a.count):
            rel = f"s{i:06d}.jpg"
            if i % sn != si or rel in done:
                continue
            im, boxes, ignore, q = scene(i, bank, frames)
            im.save(os.path.join(a.out, rel), quality=q)
            f.write(json.dumps({"path": rel, "w": im.width, "h": im.height, "boxes": boxes, "ignore": ignore}) + "\n")
            f.flush()
            n += 1
    print(f"detect_data scenes: {n} new, {len(done)} kept -> {a.out}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bank")
    b.add_argument("--shared", required=True)
    b.add_argument("--dicebear", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--procgen", type=int, default=1500)
    b.add_argument("--procgen-first", type=int, default=300000)
    s = sub.add_parser("scenes")
    s.add_argument("--bank", required=True)
    s.add_argument("--shared", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--first", type=int, default=0)
    s.add_argument("--count", type=int, default=100)
    s.add_argument("--shard", default="0/1")
    rl = sub.add_parser("real")
    rl.add_argument("--labels", required=True)
    rl.add_argument("--shared", required=True)
    rl.add_argument("--out", required=True)
    rl.add_argument("--count", type=int, default=1500)
    a = ap.parse_args(argv)
    {"bank": cmd_bank, "scenes": cmd_scenes, "real": cmd_real}[a.cmd](a)


if __name__ == "__main__":
    main()
