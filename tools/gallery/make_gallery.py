#!/usr/bin/python3
"""make_gallery.py: cut the default pack's gallery out of the open art in a data folder.

Run by hand (not by tests or builds; its outputs are committed):

    /usr/bin/python3 tools/gallery/make_gallery.py /work/shared/data /tmp/dicebear

where /tmp/dicebear was rendered with the training generator (same cross-style identities as
training, ids far above the training range):

    node model/train/dicebear_gen.mjs --out /tmp/dicebear --first 900000 --count 16 --variants 2 \
        --styles adventurer,lorelei,micah,personas,avataaars,toonHead --size 128

Sintel trailer frames are extracted with ffmpeg (apt install ffmpeg) at 2 and 4 fps:
    ffmpeg -i video/sintel_trailer_848x480.mp4 -vf fps=2 f_%03d.png

Every crop is the face box enlarged about 2x (hair and accessories identify cartoon characters),
squared, padded where it leaves the picture, and scaled to at most 160 px. Face boxes were picked
by looking at the frames. Writes img/, calib/, testimages/, gallery.tsv, calib.tsv, eval.tsv
next to this script.
"""
import os
import re
import subprocess
import sys
import tempfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SIDE = 160

SINTEL_SERIES = "Sintel (Blender Foundation, 2010)"
SINTEL_CREDIT = "(c) copyright Blender Foundation | durian.blender.org, CC-BY 3.0"
PC_SERIES = "Pepper&Carrot"
PC_CREDIT = "David Revoy, www.peppercarrot.com, CC-BY 4.0"
TUX_SERIES = "Tuxemon"
ST_SERIES = "SuperTux"
ST_CREDIT = "SuperTux Devel Team, GPL-3+ (SuperTux 0.6.3 data)"
DB_SERIES = "DiceBear cross-style (toonid)"

# Sintel trailer frames (fps=2 numbering) -> square crop x0, y0, x1, y1 (848x480 frames).
SINTEL_TRAILER = {
    7: (200, 182, 360, 342), 8: (104, 34, 338, 268), 9: (120, 96, 383, 359),
    33: (316, 101, 447, 232), 34: (300, 109, 475, 284), 36: (291, 50, 553, 312),
    45: (389, 84, 513, 208), 46: (364, 138, 488, 262), 47: (300, 155, 445, 300),
    49: (292, 48, 598, 354),
}
# More shots from the same takes, a quarter second later (fps=4 numbering: fps=2 frame n is fps=4
# frame 2n-1), boxes checked on the frames. Nothing within 0.5 s of the test frame.
SINTEL_TRAILER4 = {
    14: (200, 120, 360, 280), 16: (125, 83, 359, 317), 66: (316, 101, 447, 232),
    68: (300, 109, 475, 284), 90: (389, 84, 513, 208), 92: (364, 138, 488, 262),
}
# Trailer frame 48 is NOT in the gallery: it is the end-to-end test image (full frame), face box below.
SINTEL_TEST_FRAME = 48
SINTEL_TEST_FACE = (296, 69, 219, 219)  # x, y, w, h of the enlarged face box in the 848x480 frame
# MPI-Sintel close-up frames (1024x436).
SINTEL_MPI = {16: (317, 52, 607, 342), 25: (352, 47, 622, 317)}

# Pepper&Carrot website covers (1244x436): (cover, who) -> crop.
PC_COVERS = {
    (0, "pepper"): (250, 68, 430, 248), (0, "carrot"): (410, 268, 520, 378),
    (1, "carrot"): (135, 177, 255, 297),
    (2, "pepper"): (246, 74, 406, 234), (2, "carrot"): (324, 185, 444, 305),
    (3, "pepper"): (213, 72, 353, 212), (3, "carrot"): (293, 180, 413, 300),
    (4, "carrot"): (368, 306, 468, 406),
    (5, "pepper"): (118, 117, 268, 267), (5, "carrot"): (155, 242, 265, 352),
}
PC_TEST = "data_images_static_2015-05-21_pepper-sample.jpg"
PC_TEST_FACE = (167, 75, 140, 140)

# Tuxemon monsters whose credit line was written by hand (their own entry in ATTRIBUTIONS.md, section
# "Tuxemon"); every other monster's comes from that section when it has an entry (tuxemon_credits),
# else the project's general line. The default pack names every monster of the data folder but
# TUXEMON_RESERVED.
TUXEMON = {
    "bamboon": ("Bamboon", "Mike Bramson, CC BY-SA 4.0"),
    "fruitera": ("Fruitera", "Rawng, CC BY 4.0, based on \"Fruit bat starter\" by jozzer26"),
    "bigfin": ("Bigfin", "Cavalcadeur and rsg167, CC BY-SA 4.0"),
    "eyenemy": ("Eyenemy", "Cavalcadeur, CC BY-SA 4.0"),
    "dollfin": ("Dollfin", "Cavalcadeur, CC BY-SA 4.0"),
    "axolightl": ("Axolightl", "Cavalcadeur and josepharaoh99, CC BY-SA 4.0"),
    "djinnbo": ("Djinnbo", "Cavalcadeur and rsg167, CC BY-SA 4.0"),
    "pigabyte": ("Pigabyte", "josepharaoh99, CC BY-SA 4.0"),
    "lambert": ("Lambert", "Sanglorian, CC BY-SA 4.0"),
    "propellercat": ("Propellercat", "tamashihoshi, CC BY-SA 4.0"),
    "foxfire": ("Foxfire", "Sanglorian, CC BY-SA 4.0"),
    "arthrobolt": ("Arthrobolt", "josepharaoh99, CC BY-SA 4.0"),
    "nut": ("Nut", "TacoBot, public domain (CC0)"),
    "bolt": ("Bolt", "TacoBot, public domain (CC0)"),
}
# "tux" is Tux the free-software mascot outside SuperTux: reserved for outside evaluation.
TUXEMON_RESERVED = {"tux"}
TUXEMON_GENERAL = "open licences per Tuxemon's ATTRIBUTIONS.md and LICENSE (mostly CC BY-SA 4.0)"
# SuperTux creature folders that are not characters (projectiles, traps, hazards, a cannon): no face
# to name, so they are calibration impostors beside the backgrounds. Every other creature is named.
# "flame" is not among them: its frames are the Will-o'-the-wisp's own flame drawing (scored 0.81-0.89
# against it), the same near-duplicate trap as Tuxemon evolution relatives; as impostors they alone
# set the FAR 1% threshold above real matches (Pepper's test image fell to unknown).
SUPERTUX_OBJECTS = {"dart", "darttrap", "dispenser", "leafshot", "spike", "stalactite"}
SUPERTUX_SKIP = {"flame"}
SUPERTUX_NAMES = {"mr_iceblock": "Mr. Iceblock", "mr_bomb": "Mr. Bomb", "mr_cherry": "Mr. Cherry",
                  "mr_candle": "Mr. Candle", "mr_tree": "Mr. Tree", "bsod": "BSOD"}
ST_SKIP = ("burning", "melting", "squished", "flat", "frozen", "iced", "busted", "dust", "hud", "explod",
           "freeze", "hit", "worldmap", "dead", "cracked", "sleeping", "diving", "wooden", "shadow")


def key(name):
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def tuxemon_credits(attributions):
    """Monster key -> (name, credit) from the "### Tuxemon" section of Tuxemon's ATTRIBUTIONS.md."""
    text = open(attributions).read()
    sec = text.split("\n### Tuxemon\n", 1)[1].split("\n### ", 1)[0]
    out = {}
    for bullet in re.split(r"\n\* ", "\n" + sec)[1:]:
        flat = " ".join(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", bullet).split())
        flat = re.sub(r"\[(https?://\S+) ([^\]]*)\]", r"\2", flat)
        m = re.match(r'((?:"[^"]+"(?:,| and| &)? ?)+)[.,]? ?(.*)$', flat)
        if not m:
            continue
        names = [n for n in re.findall(r'"([^"]+)"', m.group(1))]
        names = [x.strip() for n in names for x in n.split("&")]
        credit = m.group(2).removeprefix("by ").rstrip(".")
        credit = credit.replace(" is licensed under ", ", ").replace(" released under ", ", ")
        if not re.search(r"CC|Public Domain|GPL|licen", credit, re.I):
            credit += "; " + TUXEMON_GENERAL
        for n in names:
            out[key(n)] = (n, credit)
    return out


def title(cid):
    return " ".join(w[:1].upper() + w[1:] for w in cid.split("_"))


DB_STYLES = ["adventurer", "lorelei", "micah", "personas", "avataaars", "toonHead"]
DB_CREDIT = {
    "adventurer": "Adventurer by Lisa Wischofsky, CC BY 4.0",
    "lorelei": "Lorelei by Lisa Wischofsky, CC0 1.0",
    "micah": "Avatar Illustration System by Micah Lanier, CC BY 4.0",
    "personas": "Personas by Draftbit, CC BY 4.0",
    "avataaars": "Avataaars by Pablo Stanley, free for personal and commercial use",
    "toonHead": "ToonHead by Johan Melin, CC BY 4.0",
}
DB_NAMES = ["Ada Quill", "Bram Tock", "Cleo Fenn", "Dov Marsh", "Esme Vale", "Fitz Rowan"]


def crop_square(im, box, side=SIDE, bg=(0, 0, 0)):
    """Crop box (may leave the image: padded with bg), resize to at most side px."""
    x0, y0, x1, y1 = box
    out = Image.new("RGB", (x1 - x0, y1 - y0), bg)
    out.paste(im.convert("RGB").crop((max(x0, 0), max(y0, 0), min(x1, im.width), min(y1, im.height))),
              (max(-x0, 0), max(-y0, 0)))
    if out.width > side:
        out = out.resize((side, side), Image.LANCZOS)
    return out


def sprite(path, side=SIDE):
    """A sprite composited on white and padded to a square with a small margin."""
    im = Image.open(path).convert("RGBA")
    bb = im.getbbox() or (0, 0, im.width, im.height)
    im = im.crop(bb)
    s = int(max(im.width, im.height) * 1.15) + 2
    out = Image.new("RGBA", (s, s), (255, 255, 255, 255))
    out.alpha_composite(im, ((s - im.width) // 2, (s - im.height) // 2))
    out = out.convert("RGB")
    if s > side:
        out = out.resize((side, side), Image.LANCZOS)
    return out


def example_thumb(rel, width=240):
    """The demo's "Try an example" picture (shown 120 px wide, so 240 px for 2x screens): the page
    loads these at once and the full image only when it is chosen."""
    im = Image.open(os.path.join(HERE, rel)).convert("RGB")
    im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    im.save(os.path.join(HERE, rel[:-4] + ".thumb.jpg"), quality=82, optimize=True, progressive=True)


def save(im, rel):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if rel.endswith(".jpg"):
        im.save(path, quality=90)
    else:
        im.save(path, optimize=True)
    return rel


def main():
    data, dicebear = sys.argv[1], sys.argv[2]
    gal, cal = [], []  # (rel, id, name, series, credit)

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", os.path.join(data, "video/sintel_trailer_848x480.mp4"),
                        "-vf", "fps=2", os.path.join(tmp, "f_%03d.png")], check=True)
        for n, box in sorted(SINTEL_TRAILER.items()):
            im = Image.open(os.path.join(tmp, "f_%03d.png" % n))
            gal.append((save(crop_square(im, box), "img/sintel/trailer_%03d.jpg" % n), "sintel", "Sintel", SINTEL_SERIES, SINTEL_CREDIT))
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", os.path.join(data, "video/sintel_trailer_848x480.mp4"),
                        "-vf", "fps=4", os.path.join(tmp, "q_%03d.png")], check=True)
        for n, box in sorted(SINTEL_TRAILER4.items()):
            im = Image.open(os.path.join(tmp, "q_%03d.png" % n))
            gal.append((save(crop_square(im, box), "img/sintel/trailer4_%03d.jpg" % n), "sintel", "Sintel", SINTEL_SERIES, SINTEL_CREDIT))
        # Backgrounds for calibration: a click that misses every character should stay unknown.
        # Sintel trailer shots without Sintel (rooftops, sky, the dragon), fps=2 numbering.
        for n, box in ((12, (40, 80, 300, 340)), (14, (500, 90, 760, 350)), (16, (300, 100, 540, 340)),
                       (19, (560, 60, 800, 300)), (21, (20, 150, 260, 390)), (24, (20, 120, 260, 360))):
            im = Image.open(os.path.join(tmp, "f_%03d.png" % n))
            cal.append((save(crop_square(im, box), "calib/background/sintel_%03d.jpg" % n), "background-sintel-%03d" % n,
                        "background", SINTEL_SERIES, SINTEL_CREDIT))
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", os.path.join(data, "video/big_buck_bunny_intro_10s.mp4"),
                        "-vf", "fps=1", os.path.join(tmp, "b_%03d.png")], check=True)
        for n, box in ((2, (100, 100, 400, 400)), (4, (600, 200, 900, 500)), (6, (900, 300, 1200, 600)),
                       (8, (300, 350, 600, 650)), (9, (700, 50, 1000, 350))):
            im = Image.open(os.path.join(tmp, "b_%03d.png" % n))
            cal.append((save(crop_square(im, box), "calib/background/bbb_%03d.jpg" % n), "background-bbb-%03d" % n,
                        "background", "Big Buck Bunny (Blender Foundation, 2008)",
                        "(c) copyright Blender Foundation | www.bigbuckbunny.org, CC-BY 3.0"))
        test = Image.open(os.path.join(tmp, "f_%03d.png" % SINTEL_TEST_FRAME)).convert("RGB")
        save(test, "testimages/sintel_trailer_%03d.jpg" % SINTEL_TEST_FRAME)
    for n, box in sorted(SINTEL_MPI.items()):
        im = Image.open(os.path.join(data, "video/sintel_frames/frame_%04d.png" % n))
        gal.append((save(crop_square(im, box), "img/sintel/mpi_%04d.jpg" % n), "sintel", "Sintel", SINTEL_SERIES,
                    "(c) Blender Foundation, CC-BY 3.0; frames via the MPI-Sintel benchmark"))

    names = {"pepper": "Pepper", "carrot": "Carrot"}
    for (c, who), box in sorted(PC_COVERS.items()):
        im = Image.open(os.path.join(data, "peppercarrot/themes_peppercarrot-theme_v2_img_pepper-carrot-cover%d_by-david-revoy.jpg" % c))
        gal.append((save(crop_square(im, box), "img/peppercarrot/%s_cover%d.jpg" % (who, c)), who, names[who], PC_SERIES, PC_CREDIT))
    save(Image.open(os.path.join(data, "peppercarrot", PC_TEST)).convert("RGB"), "testimages/pepper_sample.jpg")
    for name in ("sintel_trailer_%03d" % SINTEL_TEST_FRAME, "pepper_sample"):
        example_thumb("testimages/%s.jpg" % name)

    credits = tuxemon_credits(os.path.join(data, "tuxemon/ATTRIBUTIONS.md"))
    monsters = sorted({line.split("\t")[0] for line in open(os.path.join(data, "tuxemon/manifest.tsv"))} - {"id"})
    for mid in monsters:
        if mid in TUXEMON_RESERVED:
            continue
        name, credit = TUXEMON.get(mid) or credits.get(mid) or (title(mid), TUXEMON_GENERAL)
        for view in ("front", "menu01", "menu02"):
            rel = save(sprite(os.path.join(data, "tuxemon/battle/%s-%s.png" % (mid, view))), "img/tuxemon/%s_%s.png" % (mid, view))
            gal.append((rel, "tuxemon-" + mid, name, TUX_SERIES, "The Tuxemon project; " + credit))

    for cid in sorted(os.listdir(os.path.join(data, "supertux/creatures"))):
        d = os.path.join(data, "supertux/creatures", cid)
        frames = sorted(f for f in os.listdir(d) if f.endswith(".png") and not any(s in f for s in ST_SKIP))
        if not frames or cid in SUPERTUX_SKIP:
            continue
        obj = cid in SUPERTUX_OBJECTS
        for f in frames[:: max(1, len(frames) // 4)][:4]:
            rel = save(sprite(os.path.join(d, f)), "%s/supertux/%s_%s" % ("calib" if obj else "img", cid, f))
            if obj:  # each object its own identity, like the backgrounds
                cal.append((rel, "object-supertux-%s-%s" % (cid, f[:-4]), "object", ST_SERIES, ST_CREDIT))
            else:
                gal.append((rel, "supertux-" + cid, SUPERTUX_NAMES.get(cid, title(cid)), ST_SERIES, ST_CREDIT))

    # DiceBear identities are invented, so the default pack names none of them (a user asking about
    # Sintel should not be offered "Ada Quill"): all 16 are calibration impostors, the synthetic
    # style next to the game sprites and backgrounds. The first six were gallery identities until
    # round 2 and keep that smaller set of images (8 of the 12).
    for k in range(16):
        cid = 900000 + k
        name = DB_NAMES[k] if k < len(DB_NAMES) else "DiceBear %d" % cid
        for style in DB_STYLES:
            for v in (0, 1):
                if k < len(DB_NAMES) and v == 1 and style not in ("adventurer", "toonHead"):
                    continue
                im = Image.open(os.path.join(dicebear, "%s/c%d_v%d.png" % (style, cid, v))).convert("RGB")
                rel = save(im, "calib/dicebear/c%d_%s_v%d.png" % (cid, style, v))
                cal.append((rel, "dicebear-%d" % cid, name, DB_SERIES, "DiceBear (dicebear.com): " + DB_CREDIT[style]))

    write_tables(gal + realval_rows(), cal)


# The recurring Pepper&Carrot cast and Sintel from the hand-cut real-art crops (realval/, their
# boxes and credits in realval/boxes.tsv): the art toonid is asked about, in more poses and by more
# artists than the covers above. realval/ stays the model's validation with its own gallery/probe
# split; the default pack simply holds all of its crops of these characters.
REALVAL_CAST = {"pepper": ("Pepper", PC_SERIES), "carrot": ("Carrot", PC_SERIES), "saffron": ("Saffron", PC_SERIES),
                "shichimi": ("Shichimi", PC_SERIES), "sintel": ("Sintel", SINTEL_SERIES)}


def realval_rows():
    def rows(name):
        with open(os.path.join(HERE, "realval", name)) as f:
            return [line.rstrip("\n").split("\t") for line in f][1:]
    credit = {r[0]: r[6] for r in rows("boxes.tsv")}
    return [("realval/" + path, ident, REALVAL_CAST[ident][0], REALVAL_CAST[ident][1], credit[path])
            for path, ident, role in rows("manifest.tsv") if ident in REALVAL_CAST and role != "distractor"]


def write_tables(gal, cal):
    head = "path\tidentity\tname\tseries\tcredit\n"
    with open(os.path.join(HERE, "gallery.tsv"), "w") as f:
        f.write(head + "".join("\t".join(r) + "\n" for r in gal))
    with open(os.path.join(HERE, "calib.tsv"), "w") as f:
        f.write(head + "".join("\t".join(r) + "\n" for r in cal))
    # Eval manifest over the same art: per gallery identity the last image is a probe (the rest
    # gallery); every calibration image is a distractor.
    by = {}
    for r in gal:
        by.setdefault(r[1], []).append(r[0])
    with open(os.path.join(HERE, "eval.tsv"), "w") as f:
        f.write("path\tidentity\trole\n")
        for ident, paths in by.items():
            for i, p in enumerate(paths):
                f.write("%s\t%s\t%s\n" % (p, ident, "probe" if i == len(paths) - 1 and len(paths) > 1 else "gallery"))
        for r in cal:
            f.write("%s\t%s\tdistractor\n" % (r[0], r[1]))
    with open(os.path.join(HERE, "testimages/faces.tsv"), "w") as f:
        f.write("path\tidentity\tx\ty\tw\th\tnote\n")
        f.write("sintel_trailer_%03d.jpg\tsintel\t%d\t%d\t%d\t%d\tSintel trailer frame at %.1f s (fps=2 frame %d), not in the gallery\n"
                % ((SINTEL_TEST_FRAME,) + SINTEL_TEST_FACE + ((SINTEL_TEST_FRAME - 1) / 2, SINTEL_TEST_FRAME)))
        f.write("pepper_sample.jpg\tpepper\t%d\t%d\t%d\t%d\tPepper&Carrot website sample image, not in the gallery\n" % PC_TEST_FACE)
    print("gallery %d images, calib %d images" % (len(gal), len(cal)))


if __name__ == "__main__":
    main()
