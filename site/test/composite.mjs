// The test frame of the face detector's browser tests and bench (site/test/faces.mjs, bench.mjs):
// six 150 px gallery crops (each the face enlarged ~2x, tools/gallery/make_gallery.py) on a
// blue-grey gradient in an 848x480 frame, drawn in the page at test time; each true face box is
// its tile's central 75 px.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const GALLERY = join(ROOT, 'tools', 'gallery');

// Picked because the shipped detector finds and names each of them at every one of the six
// places (tried: 57 gallery crops that an earlier detector named in a first composite, each at all
// six places; Sintel's crop re-picked for the retrained detector of 2026-12-02 the same way, from
// her 18 gallery crops); six characters from three series. Many gallery crops are not found or
// not named this way (detect/README.md): these are what the detector can do, not a sample of
// what it meets.
export const CAST = [
  { file: 'img/sintel/trailer_046.jpg', name: 'Sintel' },
  { file: 'realval/peppercarrot/saffron_nartance-e01p01_b.jpg', name: 'Saffron' },
  { file: 'img/supertux/jumpy_left-down.png', name: 'Jumpy' },
  { file: 'img/tuxemon/dollfin_menu01.png', name: 'Dollfin' },
  { file: 'realval/peppercarrot/carrot_philosophy02_b.jpg', name: 'Carrot' },
  { file: 'img/supertux/mr_iceblock_iceblock-0.png', name: 'Mr. Iceblock' },
];
export const FRAME = { w: 848, h: 480, tile: 150 };
export const tileAt = (i) => ({ x: 40 + (i % 3) * 270, y: 40 + Math.floor(i / 3) * 230 });
export const truthBox = (i) => { const t = tileAt(i); return { x: t.x + 37.5, y: t.y + 37.5, w: 75, h: 75 }; };

// composite draws the cast into an 848x480 PNG in the page and returns its bytes. A member is a
// gallery file ({file}) or a PNG made at test time ({png}: its bytes).
export async function composite(page, cast = CAST) {
  const src = (c) => (c.png ? `data:image/png;base64,${c.png.toString('base64')}`
    : `data:image/${c.file.endsWith('.png') ? 'png' : 'jpeg'};base64,${readFileSync(join(GALLERY, c.file)).toString('base64')}`);
  const tiles = cast.map((c, i) => ({ ...tileAt(i), src: src(c) }));
  const b64 = await page.evaluate(async ({ tiles, F }) => {
    const c = new OffscreenCanvas(F.w, F.h), g = c.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 0, F.h);
    grad.addColorStop(0, 'rgb(54,84,114)');
    grad.addColorStop(1, 'rgb(156,186,216)');
    g.fillStyle = grad;
    g.fillRect(0, 0, F.w, F.h);
    g.imageSmoothingQuality = 'high';
    for (const t of tiles) {
      const img = new Image();
      img.src = t.src;
      await img.decode();
      g.drawImage(img, t.x, t.y, F.tile, F.tile);
    }
    const buf = new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
    let s = '';
    for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
    return btoa(s);
  }, { tiles, F: FRAME });
  return Buffer.from(b64, 'base64');
}

export function lenient(b, t) {
  const cx = b.x + b.w / 2, cy = b.y + b.h / 2, q = Math.max(b.w, b.h) / Math.max(t.w, t.h);
  return cx >= t.x && cx <= t.x + t.w && cy >= t.y && cy <= t.y + t.h && q >= 0.5 && q <= 2;
}

// compositeVideo puts a playing <video id> at the top of the page (scrolled into view) whose picture is the PNG
// (a canvas stream redrawn every frame, as a live video would be), width CSS px wide, and
// resolves once it has a frame.
export async function compositeVideo(page, png, { id = 'cv', width = 640 } = {}) {
  await page.evaluate(async ({ b64, id, width }) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = Object.assign(document.createElement('canvas'), { width: img.naturalWidth, height: img.naturalHeight });
    const g = c.getContext('2d');
    const v = Object.assign(document.createElement('video'), { id, muted: true });
    v.style.cssText = `width:${width}px;display:block;margin:40px 20px`;
    v.srcObject = c.captureStream(10);
    (function draw() { g.drawImage(img, 0, 0); if (v.isConnected || !v.videoWidth) requestAnimationFrame(draw); })();
    document.body.prepend(v);
    await v.play();
    while (!v.videoWidth) await new Promise((r) => setTimeout(r, 20));
    // In view, at its final size: on a scrolled page, scroll anchoring moves the page down by the
    // inserted height, and a click at a point above the viewport reaches nothing.
    v.scrollIntoView({ block: 'nearest' });
  }, { b64: png.toString('base64'), id, width });
}

// toClient maps a point of the video's picture (video px) to the page (client px), letterbox included.
export function toClient(page, id, x, y) {
  return page.evaluate(([id, x, y]) => {
    const v = document.getElementById(id), r = v.getBoundingClientRect(), s = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
    return { x: r.left + (r.width - v.videoWidth * s) / 2 + x * s, y: r.top + (r.height - v.videoHeight * s) / 2 + y * s };
  }, [id, x, y]);
}
