"""procgen draws procedural cartoon characters: explicit identity parameters (head shape, hair
silhouette and colour, eye shape and colour, marks, accessories) rendered by several renderers
(flat, ink, cel, sketch, chibi, pixel) with pose, expression and lighting variants. Every fifth
identity is a near-twin of its predecessor that differs in exactly one attribute: a hard negative.

Output is a pure function of (identity id, renderer, variant): the same call always gives the same
pixels, so data can be regenerated instead of stored.

usage: python3 procgen.py --out DIR --first N --count K --variants V [--renderers a,b] [--size 112]
"""
import argparse
import math
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter

RENDERERS = ["flat", "ink", "cel", "sketch", "chibi", "pixel"]
HAIR_STYLES = ["bald", "spiky", "bob", "long", "ponytail", "bun", "mohawk", "afro", "twintails", "bangs"]
EYE_SHAPES = ["round", "oval", "narrow", "anime", "dot", "angry"]
MARKS = ["none", "none", "freckles", "scar", "blush", "forehead", "eyepatch", "tattoo"]
ACCESSORIES = ["none", "none", "none", "glasses", "hat", "headband", "earrings", "catears", "horns"]
HEADS = ["round", "oval", "square", "pointy", "wide"]

PALETTE = [(20, 20, 20), (90, 50, 20), (150, 80, 30), (200, 60, 20), (230, 200, 100), (240, 240, 230),
           (150, 150, 150), (40, 80, 200), (50, 160, 70), (230, 90, 160), (120, 50, 180), (30, 170, 180),
           (240, 130, 20), (200, 20, 40)]
SKINS = [(255, 228, 200), (245, 205, 165), (230, 180, 140), (200, 145, 100), (160, 110, 70), (110, 70, 40),
         (170, 220, 140), (160, 190, 240)]  # last two: non-human cartoon skins


def _rgb(r, base, d):
    return tuple(max(0, min(255, int(c + r.uniform(-d, d)))) for c in base)


def identity(i):
    """identity returns the parameters of character i; near-twins share all but one."""
    if i % 5 == 1:
        p = dict(identity(i - 1))
        r = random.Random(f"twin-{i}")
        key = r.choice(["hair_color", "eye_color", "mark", "accessory", "hair", "skin"])
        base = _base_identity(i)  # a different value for the one changed attribute
        while base[key] == p[key]:
            base = _base_identity(base["seed"] + 7919)
        p[key] = base[key]
        p["id"] = i
        p["twin_of"] = i - 1
        p["twin_key"] = key
        return p
    return _base_identity(i)


def _base_identity(i):
    r = random.Random(f"toonid-proc-{i}")
    return {
        "id": i, "seed": i,
        "head": r.choice(HEADS), "head_w": r.uniform(0.62, 0.8), "head_h": r.uniform(0.7, 0.9),
        "skin": _rgb(r, r.choice(SKINS), 10),
        "hair": r.choice(HAIR_STYLES), "hair_color": _rgb(r, r.choice(PALETTE), 15),
        "eye": r.choice(EYE_SHAPES), "eye_color": _rgb(r, r.choice(PALETTE), 15),
        "eye_gap": r.uniform(0.16, 0.26), "eye_size": r.uniform(0.06, 0.1),
        "mark": r.choice(MARKS), "accessory": r.choice(ACCESSORIES),
        "acc_color": _rgb(r, r.choice(PALETTE), 20), "cloth": _rgb(r, r.choice(PALETTE), 20),
    }


def _darker(c, f=0.6):
    return tuple(int(v * f) for v in c)


def render(p, renderer, variant, size=112, key=None, info=None):
    """render draws identity p with a renderer at a variant (pose, expression, lighting).
    key replaces the background colour (a chroma key: detect_data.py cuts the character out) and
    info, a dict, receives the head box before the pose's rotation (x0, y0, x1, y1 on the
    224-px drawing canvas) and the rotation in degrees (counter-clockwise about the canvas centre);
    neither changes the random draws, so the character is the same."""
    if renderer not in RENDERERS:
        raise ValueError(f"procgen: unknown renderer {renderer!r}")
    r = random.Random(f"var-{p['id']}-{renderer}-{variant}")
    S = 224  # draw at 2x, downsample for antialiasing
    bg = tuple(r.randint(170, 255) for _ in range(3))
    if key is not None:
        bg = key
    im = Image.new("RGB", (S, S), bg)
    d = ImageDraw.Draw(im)
    chibi = renderer == "chibi"
    hs = 1.18 if chibi else 1.0
    cx = S / 2 + r.uniform(-12, 12)
    cy = S * (0.5 if chibi else 0.47) + r.uniform(-10, 10)
    hw = p["head_w"] * S * 0.42 * hs * r.uniform(0.92, 1.08)
    hh = p["head_h"] * S * 0.42 * hs * r.uniform(0.92, 1.08)
    tilt = r.uniform(-0.12, 0.12)  # head turn: features shift sideways
    ink = renderer in ("ink", "cel", "chibi")
    sketch = renderer == "sketch"
    ow = 4 if ink else 0
    line = (25, 20, 20)

    def fill(c):
        return None if sketch else c

    def outline():
        return line if (ink or sketch) else None

    def shape(kind, box, color, width=None):
        w = width if width is not None else (3 if sketch else ow)
        o = outline()
        if sketch:  # wobbly double strokes instead of fills
            for k in range(2):
                c = _darker(color, 0.5) if k else line
                if kind == "polygon":
                    pts = [(x + r.uniform(-3, 3), y + r.uniform(-3, 3)) for x, y in box]
                    d.line(pts + pts[:1], fill=c, width=2)
                else:
                    j = [v + r.uniform(-3, 3) for v in box]
                    getattr(d, kind)(j, outline=c, width=2)
            return
        getattr(d, kind)(box, fill=fill(color), outline=o, width=w if o else 0)

    # body / clothing
    shape("ellipse", [cx - hw * 1.1, cy + hh * 0.75, cx + hw * 1.1, cy + hh * 2.2], p["cloth"])
    # hair behind the head
    hc = p["hair_color"]
    hair = p["hair"]
    if hair in ("long", "ponytail", "twintails"):
        if hair == "long":
            shape("rectangle", [cx - hw * 1.08, cy - hh * 0.4, cx + hw * 1.08, cy + hh * 1.15], hc)
        elif hair == "ponytail":
            shape("ellipse", [cx + hw * 0.6, cy - hh * 0.6, cx + hw * 1.35, cy + hh * 0.9], hc)
        else:
            shape("ellipse", [cx - hw * 1.55, cy - hh * 0.5, cx - hw * 0.8, cy + hh * 0.8], hc)
            shape("ellipse", [cx + hw * 0.8, cy - hh * 0.5, cx + hw * 1.55, cy + hh * 0.8], hc)
    if hair == "bun":
        shape("ellipse", [cx - hw * 0.35, cy - hh * 1.45, cx + hw * 0.35, cy - hh * 0.8], hc)
    if hair == "afro":
        shape("ellipse", [cx - hw * 1.35, cy - hh * 1.35, cx + hw * 1.35, cy + hh * 0.5], hc)
    acc = p["accessory"]
    if acc == "catears":
        for s in (-1, 1):
            shape("polygon", [(cx + s * hw * 0.9, cy - hh * 0.4), (cx + s * hw * 0.75, cy - hh * 1.35),
                              (cx + s * hw * 0.2, cy - hh * 0.85)], p["acc_color"])
    if acc == "horns":
        for s in (-1, 1):
            shape("polygon", [(cx + s * hw * 0.5, cy - hh * 0.75), (cx + s * hw * 0.85, cy - hh * 1.4),
                              (cx + s * hw * 0.75, cy - hh * 0.6)], (235, 225, 200))
    # head
    skin = p["skin"]
    head = p["head"]
    k = {"round": 1.0, "oval": 0.9, "wide": 1.12}.get(head, 1.0)
    if info is not None:
        info["head"] = (cx - hw * k, cy - hh, cx + hw * k, cy + hh)
    if head in ("round", "oval", "wide"):
        shape("ellipse", [cx - hw * k, cy - hh, cx + hw * k, cy + hh], skin)
    elif head == "square":
        shape("rounded_rectangle", [cx - hw, cy - hh, cx + hw, cy + hh], skin) if not sketch else \
            shape("rectangle", [cx - hw, cy - hh, cx + hw, cy + hh], skin)
    else:  # pointy chin
        pts = [(cx + hw * math.cos(a), cy - hh * 0.15 + hh * 0.85 * math.sin(a)) for a in
               [math.pi + k * math.pi / 10 for k in range(11)]]
        pts += [(cx + hw * 0.7, cy + hh * 0.55), (cx, cy + hh), (cx - hw * 0.7, cy + hh * 0.55)]
        shape("polygon", pts, skin)
    if renderer == "cel":  # hard shadow on one side of the face
        a0 = r.choice([-90, 90])
        d.pieslice([cx - hw, cy - hh, cx + hw, cy + hh], a0, a0 + 180, fill=_darker(skin, 0.82))
    # hair on top
    if hair in ("spiky",):
        pts = [(cx - hw * 1.05, cy - hh * 0.2)]
        for k in range(7):
            x = cx - hw + 2 * hw * (k + 0.5) / 7
            pts += [(x - hw * 0.14, cy - hh * 0.8), (x, cy - hh * 1.35), (x + hw * 0.14, cy - hh * 0.8)]
        pts += [(cx + hw * 1.05, cy - hh * 0.2)]
        shape("polygon", pts, hc)
    elif hair == "mohawk":
        shape("rectangle", [cx - hw * 0.18, cy - hh * 1.4, cx + hw * 0.18, cy - hh * 0.6], hc)
    elif hair != "bald" and hair != "afro":
        # hair cap: the upper part of a larger ellipse; bangs come lower over the forehead
        box = [cx - hw * 1.08, cy - hh * 1.12, cx + hw * 1.08, cy + hh * (0.25 if hair == "bangs" else -0.2) * 2 + hh * 0.1]
        if sketch:
            for k in range(2):
                d.arc([v + r.uniform(-3, 3) for v in box], 180, 360, fill=line if k == 0 else _darker(hc, 0.5), width=2)
        else:
            d.chord(box, 180, 360, fill=hc, outline=outline(), width=ow if ink else 0)
    if acc == "hat":
        shape("rectangle", [cx - hw * 1.25, cy - hh * 0.85, cx + hw * 1.25, cy - hh * 0.7], p["acc_color"])
        shape("rectangle", [cx - hw * 0.8, cy - hh * 1.45, cx + hw * 0.8, cy - hh * 0.8], p["acc_color"])
    if acc == "headband":
        shape("rectangle", [cx - hw * 1.0, cy - hh * 0.62, cx + hw * 1.0, cy - hh * 0.48], p["acc_color"])
    # eyes
    ex = cx + tilt * hw
    ey = cy + hh * (0.05 if chibi else -0.02)
    gap = p["eye_gap"] * S * hs
    es = p["eye_size"] * S * (1.5 if chibi else 1.0)
    blink = r.random() < 0.15
    ec = p["eye_color"]
    for s in (-1, 1):
        x = ex + s * gap
        if p["mark"] == "eyepatch" and s < 0:
            d.ellipse([x - es * 1.2, ey - es * 1.1, x + es * 1.2, ey + es * 1.1], fill=line)
            d.line([x - hw * 0.9, ey - es * 2, x + es, ey - es * 0.5], fill=line, width=3)
            continue
        if blink:
            d.line([x - es, ey, x + es, ey], fill=line, width=4)
            continue
        shp = p["eye"]
        if shp == "dot":
            d.ellipse([x - es * 0.4, ey - es * 0.4, x + es * 0.4, ey + es * 0.4], fill=ec if not sketch else line)
            continue
        h = {"round": 1.0, "oval": 1.35, "narrow": 0.5, "anime": 1.6, "angry": 0.8}[shp]
        w = 1.25 if shp == "anime" else 1.0
        d.ellipse([x - es * w, ey - es * h, x + es * w, ey + es * h], fill=(250, 250, 250), outline=line, width=2)
        d.ellipse([x - es * 0.6 * w, ey - es * 0.7 * h, x + es * 0.6 * w, ey + es * 0.7 * h], fill=ec)
        d.ellipse([x - es * 0.25, ey - es * 0.3 * h, x + es * 0.25, ey + es * 0.2 * h], fill=line)
        if shp == "anime":
            d.ellipse([x - es * 0.5, ey - es * 0.9, x - es * 0.1, ey - es * 0.5], fill=(255, 255, 255))
        if shp == "angry":
            d.line([x - s * es * 1.2, ey - es * 1.6, x + s * es * 1.0, ey - es * 0.9], fill=line, width=5)
    # marks
    mark = p["mark"]
    if mark == "freckles":
        for s in (-1, 1):
            for k in range(3):
                fx = ex + s * gap + (k - 1) * es * 0.7
                d.ellipse([fx - 2, ey + es * 2.2 - 2, fx + 2, ey + es * 2.2 + 2], fill=_darker(skin, 0.6))
    elif mark == "scar":
        d.line([ex + gap - es, ey + es * 1.5, ex + gap + es * 1.5, ey + es * 3.2], fill=(170, 40, 40), width=4)
    elif mark == "blush":
        for s in (-1, 1):
            d.ellipse([ex + s * gap - es, ey + es * 1.8, ex + s * gap + es, ey + es * 2.6], fill=(240, 120, 130))
    elif mark == "forehead":
        d.regular_polygon((ex, cy - hh * 0.42, es * 0.7), 5, fill=p["acc_color"])
    elif mark == "tattoo":
        d.line([ex - gap * 1.4, ey + es * 2, ex - gap * 1.1, ey + es * 3.5], fill=(40, 60, 160), width=4)
        d.line([ex + gap * 1.4, ey + es * 2, ex + gap * 1.1, ey + es * 3.5], fill=(40, 60, 160), width=4)
    # mouth: the expression
    my = cy + hh * 0.5
    expr = r.choice(["smile", "open", "flat", "frown", "grin"])
    mw = hw * 0.28
    if expr == "smile":
        d.arc([ex - mw, my - mw * 0.8, ex + mw, my + mw * 0.4], 20, 160, fill=line, width=4)
    elif expr == "open":
        d.ellipse([ex - mw * 0.5, my - mw * 0.3, ex + mw * 0.5, my + mw * 0.5], fill=(120, 30, 40), outline=line)
    elif expr == "flat":
        d.line([ex - mw * 0.7, my, ex + mw * 0.7, my], fill=line, width=4)
    elif expr == "frown":
        d.arc([ex - mw, my, ex + mw, my + mw * 1.0], 200, 340, fill=line, width=4)
    else:
        d.chord([ex - mw, my - mw * 0.6, ex + mw, my + mw * 0.6], 0, 180, fill=(255, 255, 255), outline=line, width=3)
    if acc == "glasses":
        for s in (-1, 1):
            x = ex + s * gap
            d.ellipse([x - es * 1.6, ey - es * 1.6, x + es * 1.6, ey + es * 1.6], outline=p["acc_color"], width=5)
        d.line([ex - gap + es * 1.6, ey, ex + gap - es * 1.6, ey], fill=p["acc_color"], width=4)
    if acc == "earrings":
        for s in (-1, 1):
            d.ellipse([cx + s * hw * 0.98 - 6, cy + hh * 0.15, cx + s * hw * 0.98 + 6, cy + hh * 0.15 + 12],
                      fill=p["acc_color"])
    # pose: small rotation; lighting: a global gain and a side gradient
    angle = r.uniform(-12, 12)
    if info is not None:
        info["angle"] = angle
    im = im.rotate(angle, resample=Image.BILINEAR, fillcolor=bg)
    if renderer == "pixel":
        n = r.choice([24, 28, 32])
        im = im.resize((n, n), Image.BILINEAR).quantize(colors=16, method=Image.MEDIANCUT).convert("RGB")
        im = im.resize((size, size), Image.NEAREST)
    else:
        if sketch:
            im = im.filter(ImageFilter.SMOOTH)
        im = im.resize((size, size), Image.LANCZOS)
    gain = r.uniform(0.8, 1.15)
    grad = Image.linear_gradient("L").resize((size, size)).rotate(r.choice([0, 90, 180, 270]))
    shade = Image.eval(im, lambda v: min(255, int(v * gain)))
    dark = Image.eval(im, lambda v: int(v * gain * 0.75))
    return Image.composite(shade, dark, grad.point(lambda v: 255 - v // 3))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--variants", type=int, default=2)
    ap.add_argument("--renderers", default=",".join(RENDERERS))
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--shard", default="0/1")
    a = ap.parse_args(argv)
    si, sn = (int(x) for x in a.shard.split("/"))
    rends = a.renderers.split(",")
    rows = []
    for rd in rends:
        os.makedirs(os.path.join(a.out, rd), exist_ok=True)
    for i in range(a.first, a.first + a.count):
        if i % sn != si:
            continue
        p = identity(i)
        for rd in rends:
            for v in range(a.variants):
                rel = f"{rd}/p{i}_v{v}.png"
                render(p, rd, v, a.size).save(os.path.join(a.out, rel))
                rows.append(f"{rel}\tpg{i}\t{rd}\t{v}\n")
    with open(os.path.join(a.out, f"manifest-{si}.tsv"), "w") as f:
        f.writelines(rows)


if __name__ == "__main__":
    sys.exit(main())
