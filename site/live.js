// live.js — live mode: while a <video> plays, each face carries a name (or "?") that moves with it.
//
//   import { startLive } from './live.js';
//   const lv = await startLive(video, id, { container });   // id from toonid.load()
//   video.addEventListener('toonid:live', (e) => e.detail);  // each processed frame: {faces, t, latencyMs, ...}
//   lv.stop();
//
// The main thread only captures: on each new video frame (requestVideoFrameCallback, rAF where it
// is missing) it takes an ImageBitmap of the frame, scaled to at most LIVE_SIDE px, and hands it to
// the Web Worker (transferred, not copied). While the worker is busy with a frame, new frames are
// dropped, never queued, so the labels trail the video by one frame's work at most and nothing
// piles up. Detection, embedding, tracking and the label decision run in Go in the worker
// (wasm/bridge live.go, package live); the label shown is the track's running decision, not the
// frame's top-1, so names do not flicker.
//
// container must lie exactly over the video's picture (the demo's #media, overlay.js's picture
// layer): boxes are placed in percent of the video's own size, so layout changes need no redraw.
// While the video is paused the boxes stay and take clicks: a click on one dispatches
// toonid:live-pick {face, box} on the video (keepOnPause: false hides them instead, for a page
// that boxes a paused frame itself, as the demo does with identifyAll).

// Frames go to the worker with their longer side at most this: the detector sees 256 px and a
// face crop 112 px, so more pixels only cost the copy into the worker and the readback.
export const LIVE_SIDE = 640;

// The worker holds one live session (one set of tracks): a second startLive on the same API
// stops the first (its onStop runs) before starting, so two videos never feed one tracker.
// Shared by every copy of this module, as overlay.js's registry is.
const RUNNING = Symbol.for('toonid.live.running/v1');
const running = globalThis[RUNNING] || (globalThis[RUNNING] = new WeakMap());

export async function startLive(video, toonid, { container, every, side = LIVE_SIDE, keepOnPause = true, onStop } = {}) {
  if (!(video instanceof HTMLVideoElement)) throw new TypeError('toonid live: needs a <video>');
  if (!container) throw new TypeError('toonid live: needs a container over the picture');
  const before = running.get(toonid);
  if (before) await before.stop();
  const opts = await toonid.liveStart({ every });
  const doc = video.ownerDocument;
  const layer = doc.createElement('div');
  layer.className = 'toonid-live';
  Object.assign(layer.style, { position: 'absolute', inset: '0', pointerEvents: 'none', overflow: 'hidden' });
  container.append(layer);

  const shown = new Map(); // track id -> {el, chip, face}
  const stats = { processed: 0, dropped: 0, errors: 0, latencies: [], workerMs: [], started: performance.now() };
  let busy = false, stopped = false, vfc = 0, raf = 0, lastFrames = [];
  const ac = new AbortController();
  const on = (t, type, fn) => t.addEventListener(type, fn, { signal: ac.signal });

  function draw(faces) {
    const W = video.videoWidth, H = video.videoHeight;
    const seen = new Set();
    for (const f of faces) {
      seen.add(f.id);
      let s = shown.get(f.id);
      if (!s) {
        const el = doc.createElement('div');
        el.className = 'toonid-live-face';
        Object.assign(el.style, { position: 'absolute', border: '3px solid #ffcc00', boxShadow: '0 0 0 2px #000a', boxSizing: 'border-box', cursor: 'pointer' });
        const chip = doc.createElement('span');
        Object.assign(chip.style, { position: 'absolute', left: '-3px', bottom: '100%', whiteSpace: 'nowrap', font: 'bold 14px system-ui, sans-serif',
          background: '#000c', color: '#fff', padding: '1px 6px', borderRadius: '3px', marginBottom: '2px' });
        el.append(chip);
        el.addEventListener('click', (e) => {
          if (!video.paused) return;
          e.preventDefault();
          e.stopPropagation();
          video.dispatchEvent(new CustomEvent('toonid:live-pick', { bubbles: true, composed: true, detail: { face: s.face, box: s.face.box } }));
        });
        layer.append(el);
        s = { el, chip };
        shown.set(f.id, s);
      }
      s.face = f;
      const [x, y, w, h] = f.box;
      Object.assign(s.el.style, { left: `${(x / W) * 100}%`, top: `${(y / H) * 100}%`, width: `${(w / W) * 100}%`, height: `${(h / H) * 100}%`,
        borderStyle: f.predicted ? 'dashed' : 'solid', borderColor: f.label === '?' ? '#9ad' : '#ffcc00' });
      if (s.chip.textContent !== f.label) s.chip.textContent = f.label;
      s.el.title = f.label === '?' ? 'Not recognised yet' : `${f.label}${f.series ? ` (${f.series})` : ''}`;
    }
    for (const [k, s] of shown) if (!seen.has(k)) { s.el.remove(); shown.delete(k); }
  }

  async function process(t) {
    const W = video.videoWidth, H = video.videoHeight;
    if (!W || !H) return;
    const f = Math.min(1, side / Math.max(W, H));
    const w = Math.round(W * f), h = Math.round(H * f);
    const t0 = performance.now();
    let bm;
    try {
      bm = await createImageBitmap(video, { resizeWidth: w, resizeHeight: h, resizeQuality: 'low' });
    } catch { return; } // no decoded frame yet (after a seek): the next one comes
    if (stopped) { bm.close(); return; }
    const r = await toonid.liveFrame(bm, t * 1000);
    if (stopped) return;
    const faces = r.faces.map((x) => ({ ...x, box: x.box.map((v) => v / f) }));
    const latencyMs = performance.now() - t0;
    stats.processed++;
    stats.latencies.push(latencyMs);
    stats.workerMs.push(r.workerMs);
    lastFrames = faces;
    if (keepOnPause || !video.paused) draw(faces); // an answer landing after a pause does not redraw
    video.dispatchEvent(new CustomEvent('toonid:live', { detail: { faces, t, latencyMs, workerMs: r.workerMs, detected: r.detected, detections: r.detections, behindS: video.currentTime - t } }));
  }

  function onFrame(now, meta) {
    vfc = 0;
    if (stopped) return;
    schedule();
    if (video.paused || video.seeking) return;
    if (busy) { stats.dropped++; return; }
    busy = true;
    const t = meta && Number.isFinite(meta.mediaTime) ? meta.mediaTime : video.currentTime;
    process(t).catch((err) => {
      stats.errors++;
      video.dispatchEvent(new CustomEvent('toonid:error', { bubbles: true, composed: true, detail: { message: String(err.message || err) } }));
    }).finally(() => { busy = false; });
  }

  function schedule() {
    if (stopped || vfc || raf) return;
    if (video.requestVideoFrameCallback) vfc = video.requestVideoFrameCallback(onFrame);
    else raf = requestAnimationFrame(() => { raf = 0; onFrame(performance.now(), null); });
  }

  const paused = () => { layer.style.pointerEvents = 'none'; for (const s of shown.values()) s.el.style.pointerEvents = video.paused ? 'auto' : 'none'; };
  on(video, 'pause', () => { if (!keepOnPause) draw([]); paused(); });
  on(video, 'play', () => { paused(); schedule(); });
  // A seek shows another moment: the old boxes would be wrong; the worker starts its tracks over
  // when time goes back, and a jump forward ends them by their own timeouts.
  on(video, 'seeking', () => draw([]));
  paused();
  schedule();

  const lv = {
    options: opts,
    stats,
    get faces() { return lastFrames; },
    async stop() {
      if (stopped) return;
      stopped = true;
      ac.abort();
      if (vfc && video.cancelVideoFrameCallback) video.cancelVideoFrameCallback(vfc);
      if (raf) cancelAnimationFrame(raf);
      layer.remove();
      shown.clear();
      if (running.get(toonid) === lv) running.delete(toonid);
      if (onStop) onStop();
      await toonid.liveStop().catch(() => {});
    },
  };
  running.set(toonid, lv);
  return lv;
}

// Seconds between the frames teaching from a video looks at: a pose changes over a few tenths of a
// second; nearer frames are mostly near-duplicates the bridge drops anyway.
export const TEACH_STEP_S = 0.2;

// teachFromVideo teaches the face in box ([x, y, w, h], video pixels) of the paused frame under
// name: an off-screen copy of the video is seeked forward from the current time, then backward
// from it, one frame every TEACH_STEP_S; the bridge follows the face (live.Gatherer), keeps its
// crops over poses minus near-duplicates, and the crops it picks are taught as any teach is
// (IndexedDB, the taught-character limits). onProgress({fraction, t, kept, direction}) follows
// the seeks; aborting signal stops at the next frame and teaches nothing. Resolves with
// {taught (enroll's result), crops (taught), kept, seconds, from, to (s)}.
export async function teachFromVideo(video, toonid, { box, name, onProgress, signal, step = TEACH_STEP_S, side = LIVE_SIDE } = {}) {
  if (!(video instanceof HTMLVideoElement)) throw new TypeError('toonid teach from video: needs a <video>');
  if (!Array.isArray(box) || box.length !== 4) throw new TypeError('toonid teach from video: needs the face box [x, y, w, h]');
  const W = video.videoWidth, H = video.videoHeight;
  const f = Math.min(1, side / Math.max(W, H));
  const w = Math.round(W * f), h = Math.round(H * f);
  const grab = (el) => createImageBitmap(el, { resizeWidth: w, resizeHeight: h, resizeQuality: 'high' });
  const t0 = video.currentTime;
  const aborted = () => signal && signal.aborted;
  const stop = async () => { await toonid.gatherDone(null).catch(() => {}); throw new DOMException('teaching from the video was cancelled', 'AbortError'); };

  await toonid.gatherStart(await grab(video), t0 * 1000, box.map((v) => v * f));
  const copy = video.ownerDocument.createElement('video');
  copy.muted = true;
  copy.preload = 'auto';
  copy.src = video.currentSrc || video.src;
  try {
    await new Promise((res, rej) => {
      copy.addEventListener('loadeddata', res, { once: true });
      copy.addEventListener('error', () => rej(new Error('toonid teach from video: the video could not be opened again off-screen')), { once: true });
    });
    // A recorded WebM may not know its duration (Infinity) until read to the end: the shown
    // video's then, else the copy is seeked past the end once to learn it; the forward pass also
    // stops where seeking stops advancing.
    let dur = Number.isFinite(copy.duration) ? copy.duration : video.duration;
    if (!Number.isFinite(dur)) {
      await seek(copy, 1e6);
      dur = Number.isFinite(copy.duration) ? copy.duration : copy.currentTime;
    }
    const times = [[], []];
    for (let t = t0 + step; t < dur; t += step) times[0].push(t);
    for (let t = t0 - step; t >= 0; t -= step) times[1].push(t);
    const total = Math.max(1, times[0].length + times[1].length);
    let doneN = 0, kept = 1;
    for (const [di, list] of times.entries()) {
      for (const t of list) {
        if (aborted()) await stop();
        const before = copy.currentTime;
        await seek(copy, t);
        if (aborted()) await stop();
        if (di === 0 ? copy.currentTime <= before : copy.currentTime >= before) break; // the clip's end (or start)
        const r = await toonid.gatherFrame(await grab(copy), copy.currentTime * 1000);
        kept = r.kept;
        doneN++;
        if (onProgress) onProgress({ fraction: doneN / total, t: copy.currentTime, kept, direction: di ? 'backward' : 'forward' });
        if (r.done) { doneN += list.length - list.indexOf(t) - 1; break; }
      }
    }
    if (aborted()) await stop();
    const { summary, taught } = await toonid.gatherDone(name);
    if (onProgress) onProgress({ fraction: 1, t: t0, kept: summary.kept, direction: 'done' });
    return { taught, crops: summary.picked.length, kept: summary.kept, seconds: summary.seconds, from: summary.from / 1000, to: summary.to / 1000 };
  } finally {
    copy.removeAttribute('src');
    copy.load();
  }
}

function seek(v, t) {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`toonid teach from video: seeking to ${t.toFixed(2)} s took over 10 s`)), 10000);
    v.addEventListener('seeked', () => { clearTimeout(timer); res(); }, { once: true });
    v.currentTime = t;
  });
}
