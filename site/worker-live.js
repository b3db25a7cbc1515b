// Live mode and teaching from a video, the worker's side (imported by worker.js, whose state,
// call and enroll it uses). Frames arrive as transferred ImageBitmaps; their pixels are read on
// an OffscreenCanvas kept between frames and handed to the bridge (wasm/bridge live.go).
'use strict';

// One canvas per frame size, reused: a video's frames all share one.
let frameCanvas = null;

function framePixels(bitmap) {
  const w = bitmap.width, h = bitmap.height;
  if (!frameCanvas || frameCanvas.width !== w || frameCanvas.height !== h) {
    const c = new OffscreenCanvas(w, h);
    frameCanvas = { width: w, height: h, canvas: c, g: c.getContext('2d', { willReadFrequently: true }) };
  }
  frameCanvas.g.drawImage(bitmap, 0, 0);
  bitmap.close();
  return new Uint8Array(frameCanvas.g.getImageData(0, 0, w, h).data.buffer);
}

async function liveReady() {
  if (!state) throw new Error('toonid: not loaded');
  await state.detector; // live mode needs the face detector, downloaded after load
}

const LIVE = {
  async liveStart({ every }) {
    await liveReady();
    return call(state.bridge.liveStart(JSON.stringify(every ? { every } : {})));
  },

  // liveFrame returns the frame's faces ({id, box, label, charID, series, score, confidence,
  // predicted} in the pixels of the bitmap), whether the detector ran, and the worker's time.
  async liveFrame({ bitmap, t }) {
    await liveReady();
    const t0 = performance.now();
    const w = bitmap.width, h = bitmap.height;
    // Frames the detector skips are not read back (the costly part of a frame's trip).
    const pix = call(state.bridge.liveWants(t)).pixels ? framePixels(bitmap) : (bitmap.close(), new Uint8Array(0));
    const r = call(state.bridge.liveFrame(pix, w, h, t));
    r.faces = r.faces.map((f) => ({ ...f, ...foldLabel(f) }));
    r.workerMs = performance.now() - t0;
    return r;
  },

  async liveStop() {
    if (!state) return {};
    return call(state.bridge.liveStop());
  },

  // gatherStart begins teaching from a video on the paused frame: box is the clicked face (in the
  // bitmap's pixels), side the longest side a kept crop is stored at (toonid.js ENROLL_SIDE).
  async gatherStart({ bitmap, t, box, side }) {
    await liveReady();
    const w = bitmap.width, h = bitmap.height;
    const pix = framePixels(bitmap);
    state.gather = { crops: [], side, w, h };
    const r = call(state.bridge.gatherStart(pix, w, h, JSON.stringify({ t, box })));
    keepCrop(r);
    return r;
  },

  async gatherFrame({ bitmap, t }) {
    if (!state || !state.gather) throw new Error('toonid: no teaching from a video in progress');
    const w = bitmap.width, h = bitmap.height;
    const pix = framePixels(bitmap);
    const r = call(state.bridge.gatherFrame(pix, w, h, t));
    keepCrop(r);
    return r;
  },

  // gatherDone ends the gathering; with a name it teaches the picked crops under it (enroll, so
  // the same checks and IndexedDB record as any teach) and returns {summary, taught}.
  async gatherDone({ name }) {
    if (!state || !state.gather) throw new Error('toonid: no teaching from a video in progress');
    const g = state.gather;
    state.gather = null;
    const summary = call(state.bridge.gatherDone());
    if (name == null) return { summary };
    const crops = summary.picked.map((i) => g.crops[i]).filter(Boolean);
    const taught = await enroll({ name, crops });
    return { summary, taught };
  },
};

// keepCrop stores the frame's crop under the index the bridge kept it as: the square it embedded,
// clamped to the frame (as toonid.js clamps an enroll box), at most side px.
function keepCrop(r) {
  const g = state.gather;
  if (!g || !(r.keep >= 0)) return;
  const [cx, cy, cw, ch] = r.crop;
  const x0 = Math.max(0, cx), y0 = Math.max(0, cy);
  const x1 = Math.min(frameCanvas.width, cx + cw), y1 = Math.min(frameCanvas.height, cy + ch);
  if (x1 <= x0 || y1 <= y0) return;
  const f = Math.min(1, g.side / Math.max(x1 - x0, y1 - y0));
  const w = Math.max(1, Math.round((x1 - x0) * f)), h = Math.max(1, Math.round((y1 - y0) * f));
  const c = new OffscreenCanvas(w, h);
  const cg = c.getContext('2d', { willReadFrequently: true });
  cg.imageSmoothingQuality = 'high';
  cg.drawImage(frameCanvas.canvas, x0, y0, x1 - x0, y1 - y0, 0, 0, w, h);
  g.crops[r.keep] = { pix: cg.getImageData(0, 0, w, h).data.buffer, w, h };
}

// foldLabel names a face whose track settled on a taught pack character ("user:pack:<id>") as
// that pack character, as identify's answers are folded.
function foldLabel(f) {
  if (!f.charID || !f.charID.startsWith(PACK_PREFIX)) return {};
  const l = (state.manifest.labels || []).find((x) => x.id === f.charID.slice(PACK_PREFIX.length));
  return l ? { charID: l.id, label: l.name, series: l.series || '' } : {};
}
