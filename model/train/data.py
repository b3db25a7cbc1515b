"""data gathers training and evaluation images for the toonid embedder.

Sources, each listed by a TSV manifest "path<TAB>identity<TAB>style<TAB>variant" (paths relative to
the manifest's folder):
  - DiceBear cross-style identities (dicebear_gen.mjs), procedural characters (procgen.py);
  - Tuxemon and SuperTux art copied from a shared folder given by path (copy_shared);
  - an iCartoonFace-format annotation file (read_icartoonface / icartoonface_manifest).
It also loads images into one uint8 array (load_images) and writes eval manifests in the
"path<TAB>identity<TAB>role" format that toonid eval reads.
"""
import csv
import os
import random
import shutil

import numpy as np
from PIL import Image

SIZE = 112  # stored image side; training crops 96 px out of it


def read_rows(tsv):
    """read_rows returns (abs path, identity, style, variant) rows of a source manifest."""
    base = os.path.dirname(os.path.abspath(tsv))
    out = []
    with open(tsv, newline="") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != 4:
                raise ValueError(f"data: {tsv}:{n}: want 4 tab-separated fields, got {len(parts)}")
            out.append((os.path.join(base, parts[0]), parts[1], parts[2], parts[3]))
    return out


def read_dir(d):
    """read_dir reads every manifest-*.tsv in d."""
    rows = []
    names = sorted(n for n in os.listdir(d) if n.startswith("manifest-") and n.endswith(".tsv"))
    if not names:
        raise FileNotFoundError(f"data: no manifest-*.tsv in {d}")
    for n in names:
        rows += read_rows(os.path.join(d, n))
    return rows


def to_square(im, size=SIZE, bg=(255, 255, 255)):
    """to_square flattens alpha onto bg, pads to a square and resizes; pixel art stays crisp."""
    im = im.convert("RGBA")
    w, h = im.size
    s = max(w, h)
    canvas = Image.new("RGBA", (s, s), bg + (255,))
    canvas.alpha_composite(im, ((s - w) // 2, (s - h) // 2))
    small = max(w, h) <= 64
    return canvas.convert("RGB").resize((size, size), Image.NEAREST if small else Image.LANCZOS)


def held_out(identity, every=10):
    """held_out picks a fixed, content-independent 1/every of identities for evaluation."""
    import zlib
    return every > 0 and zlib.crc32(identity.encode()) % every == 0


def copy_shared(shared, dst, eval_dst=None, every=10):
    """copy_shared copies Tuxemon (per monster: front, back, two menu icons) and SuperTux
    (frames per creature) from the shared art folder, squared to SIZE px, into dst, or into
    eval_dst for the held-out identities (see held_out); each gets a manifest-0.tsv.
    A missing folder is an error, not an empty dataset."""
    rows = {dst: [], eval_dst: []}
    for src, style in (("tuxemon", "tuxemon"), ("supertux", "supertux")):
        man = os.path.join(shared, src, "manifest.tsv")
        if not os.path.isfile(man):
            raise FileNotFoundError(f"data: shared art manifest {man} not found (pass --shared DIR)")
        with open(man, newline="") as f:
            for k, rec in enumerate(csv.DictReader(f, delimiter="\t")):
                # The shared manifest is trusted only as far as its own folder.
                if os.path.isabs(rec["file"]) or ".." in rec["file"].split("/"):
                    raise ValueError(f"data: {man}: hostile path {rec['file']!r}")
                ident = f"{style[:2]}:{rec['id']}"
                out = eval_dst if (eval_dst and held_out(ident)) else dst
                os.makedirs(os.path.join(out, style), exist_ok=True)
                rel = f"{style}/{rec['id']}_{k}.png"
                with Image.open(os.path.join(shared, src, rec["file"])) as im:
                    to_square(im).save(os.path.join(out, rel))
                view = rec.get("view") or f"{k:05d}"
                rows[out].append(f"{rel}\t{ident}\t{style}\t{view}\n")
    n = 0
    for out, rs in rows.items():
        if out is None:
            continue
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "manifest-0.tsv"), "w") as f:
            f.writelines(rs)
        n += len(rs)
    return n


def read_icartoonface(ann):
    """read_icartoonface parses iCartoonFace recognition annotations: one line per face,
    "filename x1 y1 x2 y2 label_id", label -1 = distractor. Returns (filename, (x1,y1,x2,y2), label)."""
    out = []
    with open(ann) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise ValueError(f"icartoonface: {ann}:{n}: want 6 fields, got {len(parts)}")
            name = parts[0]
            if os.path.isabs(name) or ".." in name.replace("\\", "/").split("/"):
                raise ValueError(f"icartoonface: {ann}:{n}: hostile path {name!r}")
            try:
                x1, y1, x2, y2 = (float(v) for v in parts[1:5])
                label = int(parts[5])
            except ValueError as e:
                raise ValueError(f"icartoonface: {ann}:{n}: {e}") from None
            if not (x2 > x1 and y2 > y1):
                raise ValueError(f"icartoonface: {ann}:{n}: empty box")
            if label < -1:
                raise ValueError(f"icartoonface: {ann}:{n}: label {label} < -1")
            out.append((name, (x1, y1, x2, y2), label))
    return out


def enlarge(box, w, h, factor=2.0):
    """enlarge grows a face box about its centre to a square of factor x its longer side
    (hair and accessories identify cartoon characters), clipped to the image."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    s = max(x2 - x1, y2 - y1) * factor / 2
    return (max(0, int(round(cx - s))), max(0, int(round(cy - s))),
            min(w, int(round(cx + s))), min(h, int(round(cy + s))))


def icartoonface_manifest(ann, image_root, dst, factor=2.0):
    """icartoonface_manifest crops every annotated face (box enlarged factor x) into dst and
    writes dst/manifest-0.tsv; distractors (label -1) get identity "icf:-1:<n>" so each is its own
    identity, never a class shared by unrelated faces."""
    rows = []
    os.makedirs(os.path.join(dst, "icf"), exist_ok=True)
    for k, (name, box, label) in enumerate(read_icartoonface(ann)):
        with Image.open(os.path.join(image_root, name)) as im:
            im = im.convert("RGB")
            crop = im.crop(enlarge(box, im.width, im.height, factor))
        rel = f"icf/{k:07d}.png"
        to_square(crop).save(os.path.join(dst, rel))
        ident = f"icf:{label}" if label >= 0 else f"icf:-1:{k}"
        rows.append(f"{rel}\t{ident}\ticartoonface\t{k}\n")
    with open(os.path.join(dst, "manifest-0.tsv"), "w") as f:
        f.writelines(rows)
    return len(rows)


def load_images(paths, size=SIZE):
    """load_images returns a uint8 array [N, 3, size, size]."""
    arr = np.empty((len(paths), 3, size, size), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            if im.size != (size, size) or im.mode != "RGB":
                im = to_square(im, size)
            arr[i] = np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)
    return arr


def file_stamps(paths):
    """file_stamps is each file's (size, modification time in ns): what identifies a version of it
    in an image cache, so a regenerated file (same path, new pixels) is read again."""
    out = np.empty((len(paths), 2), dtype=np.int64)
    for i, p in enumerate(paths):
        st = os.stat(p)
        out[i] = (st.st_size, st.st_mtime_ns)
    return out


def cached_images(paths, cache):
    """cached_images returns the images of the cache file (written by save_image_cache) when it was
    made from exactly these paths and every file still has the size and modification time it had
    then, else None. A cache from before the stamps were kept is stale too."""
    if not (cache and os.path.isfile(cache)):
        return None
    z = np.load(cache, allow_pickle=False)
    if "stamps" not in z.files or list(z["paths"]) != list(paths):
        return None
    if not np.array_equal(z["stamps"], file_stamps(paths)):
        return None
    return z["images"]


def save_image_cache(cache, paths, imgs, stamps):
    """save_image_cache writes images with their paths and file_stamps (taken before reading the
    files, so a file changed while it was read makes the cache stale, not wrong)."""
    np.savez(cache, images=imgs, paths=np.array(paths), stamps=stamps)


def write_eval_manifest(path, rows, known_frac=0.75, gallery_variants=2, seed=0):
    """write_eval_manifest writes a "path identity role" TSV from (abs path, identity, style,
    variant) rows. Identity is per style (identity@style): a pack enrols a character as drawn.
    A fixed share of identities are known (first gallery_variants images gallery, the rest probes);
    the others are distractors."""
    base = os.path.dirname(os.path.abspath(path))
    by = {}
    for p, ident, style, var in rows:
        by.setdefault(f"{ident}@{style}", []).append((p, var))
    keys = sorted(by)
    rnd = random.Random(seed)
    rnd.shuffle(keys)
    nk = int(round(len(keys) * known_frac))
    out = ["path\tidentity\trole\n"]
    for i, key in enumerate(keys):
        items = sorted(by[key], key=lambda t: str(t[1]))
        for j, (p, _) in enumerate(items):
            role = "distractor" if i >= nk else ("gallery" if j < gallery_variants else "probe")
            out.append(f"{os.path.relpath(p, base)}\t{key}\t{role}\n")
    with open(path, "w") as f:
        f.writelines(out)
    return len(out) - 1
