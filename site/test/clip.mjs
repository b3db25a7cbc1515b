// A test video made at test time in the page (canvas + MediaRecorder, VP8/WebM, recorded in real
// time) of one gallery sprite moving over a gradient, and where its face is at each moment: the
// same formula draws the clip and judges the boxes. Used by live-embed.mjs (live names in
// overlay.js and the extension).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, recordCanvas } from './lib.mjs';

// Jumpy (SuperTux, tools/gallery, credited there): composite.mjs's cast, which the shipped
// detector finds and names at 150 px on a gradient.
export const WALKER = join(ROOT, 'tools', 'gallery', 'img', 'supertux', 'jumpy_left-down.png');
export const CLIP = { w: 640, h: 360, seconds: 6 };

// walkTruth is the sprite's tile at t (s): walking right at 70 px/s and bobbing 40 px. Its true
// face is the tile's central half (a gallery crop is the face enlarged ~2x). As source text, so
// the page draws with the very same function.
export const walkTruth = '(t) => ({ x: 40 + 70 * t, y: 110 + 40 * Math.sin(1.3 * t), w: 150, h: 150 })';

// recordWalk records the clip in page (any page of the test's server) and returns its bytes.
export function recordWalk(page, { file = WALKER, seconds = CLIP.seconds } = {}) {
  // Source text, so the page draws with walkTruth itself.
  const draw = `(g, t, img) => {
    const p = (${walkTruth})(t);
    const grad = g.createLinearGradient(0, 0, 0, ${CLIP.h});
    grad.addColorStop(0, 'rgb(54,84,114)');
    grad.addColorStop(1, 'rgb(156,186,216)');
    g.fillStyle = grad;
    g.fillRect(0, 0, ${CLIP.w}, ${CLIP.h});
    g.imageSmoothingQuality = 'high';
    g.drawImage(img, p.x, p.y, p.w, p.h);
  }`;
  return recordCanvas(page, { draw, image: `data:image/png;base64,${readFileSync(file).toString('base64')}`, w: CLIP.w, h: CLIP.h, seconds,
    fps: 25, mimeType: 'video/webm;codecs=vp8', bitsPerSecond: 4e6 });
}

// onFace reports whether box b ({x, y, w, h}, video px) sits on the sprite's face at t: its centre
// inside the true face (the tile's central half) grown by slack px, its size 0.5-2.5x the face.
export function onFace(b, t, slack = 0) {
  const p = eval(walkTruth)(t);
  const f = { x: p.x + p.w / 4 - slack, y: p.y + p.h / 4 - slack, w: p.w / 2 + 2 * slack, h: p.h / 2 + 2 * slack };
  const cx = b.x + b.w / 2, cy = b.y + b.h / 2, q = Math.max(b.w, b.h) / (p.w / 2);
  return cx >= f.x && cx <= f.x + f.w && cy >= f.y && cy <= f.y + f.h && q >= 0.5 && q <= 2.5;
}
