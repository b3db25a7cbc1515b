// toonid.js — name cartoon characters in the browser. ES module, no dependencies.
//
//   import * as toonid from './toonid.js';
//   const id = await toonid.load({ base: '/v1/', pack: 'default', onProgress: (p) => {} });
//   const r = await id.identify(img, { x: 120, y: 80 });     // or { box: [x, y, w, h] }
//   // r = { answers: [{ id, name, series, score }], unknown, box: [x, y, w, h], ms, threshold, flat }
//   await id.enroll('My character', (await id.views(r.box, img.width, img.height)).map((box) => ({ source: img, box })));
//   const faces = await id.identifyAll(img);  // every face the detector finds, each named
//   // faces = [{ box: {x, y, w, h}, score, crop: [x, y, w, h], answers, unknown, best, threshold }]
//   const boxes = await id.detect(img);       // [{ box: {x, y, w, h}, score }], unnamed
//   id.close();
//
// All work runs in Web Workers (worker.js, loaded from its URL beside this module, never a
// blob:): one does everything; where the machine has two cores or more a second one, started once
// the first has stored its downloads, names half of the faces identifyAll finds. Pixels cross as
// transferable RGBA buffers; embeddings and matching happen in Go wasm.
// Scores are cosine similarities in [-1, 1] against the best reference vector of each character;
// `unknown` is true when the best score is below the pack's calibrated threshold.

// Pixels sent for a click are the region the search can reach, downscaled so its longer side is
// at most this: bounds transfer and getImageData cost; crops stay above the model's input size.
const MAX_REGION = 640;
// The crop kept for a taught character (re-embedded if the model changes).
const ENROLL_SIDE = 192;
// A frame sent to detect or identifyAll is downscaled so its longer side is at most this: the
// detector reads it at 256 px, and the faces it finds there (16 px and up) still give crops
// above the embedder's input size.
const MAX_FRAME = 1280;
// Go wasm runs on one thread, so a worker uses one core; identifyAll's faces are split between at
// most this many (a second pays only for naming: the detector pass is one network run).
const MAX_WORKERS = 2;

// wasm: 'auto' (SIMD build when the engine validates SIMD128, else scalar), 'simd' or 'scalar'.
// workers: 1 or 2 (default 2 when navigator.hardwareConcurrency is 2 or more, else 1).
export async function load({ base = '/v1/', pack = 'default', onProgress, workerURL, siteURL, wasm = 'auto', workers } = {}) {
  const site = siteURL ? new URL(siteURL, location.href) : new URL('./', import.meta.url);
  if (workers === undefined) workers = typeof navigator !== 'undefined' && navigator.hardwareConcurrency >= MAX_WORKERS ? MAX_WORKERS : 1;
  if (!(Number.isInteger(workers) && workers >= 1 && workers <= MAX_WORKERS)) throw new Error(`toonid: workers ${JSON.stringify(workers)}: want 1..${MAX_WORKERS}`);
  const url = workerURL || new URL('./worker.js', import.meta.url);
  const t = new Toonid(new Worker(url));
  try {
    t.loadInfo = await t._call('load', { base, pack, siteURL: site.href, wasm }, [], onProgress);
  } catch (err) {
    t.close();
    throw err;
  }
  t.search = t.loadInfo.info.search;
  // The same wasm flavour as the first, so both give the same scores.
  if (workers > 1) t._startSecondary(url, { base, pack, siteURL: site.href, wasm: t.loadInfo.simd ? 'simd' : 'scalar' });
  else t._secondaryGone(new Error('toonid: one worker (workers: 1)'), null, { log: false });
  return t;
}

// A Channel is one worker and the calls waiting on its answers. onEvent gets its {event}
// messages; onStop the error it stopped with (a worker error, or close).
class Channel {
  constructor(worker, { onEvent = () => {}, onStop = () => {} } = {}) {
    this.w = worker;
    this.next = 1;
    this.pending = new Map();
    this.stopped = null; // the error every call gets once the worker is gone
    this.onStop = onStop;
    worker.onmessage = (ev) => {
      const m = ev.data;
      if (m.log) { console.warn(m.log); return; }
      if (m.event) { onEvent(m); return; }
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.progress) { if (p.onProgress) p.onProgress(m.progress); return; }
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result); else p.reject(new Error(m.error));
    };
    // An error that reaches the page means the worker script itself failed (to start, or outside a
    // message handler): it will answer nothing more, so it is stopped and every call, pending or
    // later, fails with this error instead of waiting forever.
    worker.onerror = (ev) => this.stop(new Error(`toonid worker: ${ev.message || 'failed to start'}`));
  }

  stop(err) {
    if (!this.w) return;
    this.w.terminate();
    this.w = null;
    this.stopped = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onStop(err);
  }

  call(type, data, transfer = [], onProgress) {
    if (!this.w) return Promise.reject(this.stopped || new Error('toonid: closed'));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.w.postMessage({ id, type, data }, transfer);
    });
  }
}

class Toonid {
  constructor(worker) {
    // cached resolves when every download of load() is stored for offline use, and rejects when
    // storing failed or the worker stopped first. Marked handled here: waiting on it is optional.
    this.cached = new Promise((resolve, reject) => { this._cachedSettle = { resolve, reject }; });
    this.cached.catch(() => {});
    // detector resolves when detect and identifyAll can run ({sha256, inputW, threshold, maxFaces,
    // doubtfulScore, bytes: {network, fromCache}, ms}; the worker fetches it after load resolves), and rejects
    // with the reason they cannot. Marked handled: those calls report the same error.
    this.detector = new Promise((resolve, reject) => { this._detectorSettle = { resolve, reject }; });
    this.detector.catch(() => {});
    // secondary resolves when the second worker can name faces ({ms, bytes, phases, memoryBytes} of
    // its load)
    // and rejects with the reason there is none (workers: 1, or it failed to start: logged, and
    // everything runs in the first). Marked handled: nothing needs to wait for it.
    this.secondary = new Promise((resolve, reject) => { this._secondarySettle = { resolve, reject }; });
    this.secondary.catch(() => {});
    this._p = new Channel(worker, {
      onEvent: (m) => {
        const settle = m.event === 'detector' ? this._detectorSettle : m.event === 'cached' ? this._cachedSettle : null;
        if (!settle) return;
        if (m.error) settle.reject(new Error(m.error)); else settle.resolve(m.info);
      },
      onStop: (err) => {
        this._cachedSettle.reject(err);
        this._detectorSettle.reject(err);
        this._secondaryGone(err);
      },
    });
    // The second worker ({ch, gen, sync} once loaded) holds the taught characters as of generation
    // gen; every call that may change them bumps _gen, and the second worker names nothing until
    // it has read them again (reloadUser) with no change in flight.
    this._s = null;
    this._sch = null; // its channel, from the start of its load
    this._gen = 0;
    this._changing = 0;
    this._last = null;
  }

  _call(type, data, transfer = [], onProgress) { return this._p.call(type, data, transfer, onProgress); }

  // _startSecondary loads a second worker once the first has stored its downloads (the cached
  // event, either way), so it reads every file from Cache Storage, verified again, and the first
  // visit fetches nothing twice. A failure is logged, never thrown: one worker does everything.
  _startSecondary(url, req) {
    const t0 = performance.now();
    this.cached.catch(() => {}).then(async () => {
      if (this._p.stopped) throw this._p.stopped;
      const ch = new Channel(new Worker(url), { onStop: (err) => this._secondaryGone(err, ch) });
      this._sch = ch;
      const gen = this._gen, quiet = this._changing === 0;
      const r = await ch.call('load', { ...req, role: 'secondary' });
      if (r.info.model.sha256 !== this.loadInfo.info.model.sha256) throw new Error(`toonid: the second worker loaded model ${r.info.model.sha256}, the first ${this.loadInfo.info.model.sha256}`);
      // It read the taught characters at the start of its load: current if nothing changed since.
      this._s = { ch, gen: quiet && gen === this._gen ? gen : -1, sync: null };
      this._resync();
      this._secondarySettle.resolve({ ms: performance.now() - t0, bytes: r.bytes, phases: r.phases, memoryBytes: r.memoryBytes });
    }).catch((err) => this._secondaryGone(err, this._sch));
  }

  // _secondaryGone drops the second worker (ch, or whichever is current) for good and, unless the
  // first stopped too or log is false, says why once.
  _secondaryGone(err, ch, { log = true } = {}) {
    if (ch && this._sch !== ch) return; // one already dropped
    const was = this._sch;
    this._sch = null;
    this._s = null;
    if (was) was.stop(err);
    if (!this._secondaryEnded) {
      this._secondaryEnded = true;
      if (log && !this._p.stopped) console.warn(`toonid: second worker: ${err && err.message || err}; one worker names every face`);
    }
    this._secondarySettle.reject(err);
  }

  // _resync has the second worker read the taught characters again once no change is in flight.
  _resync() {
    const s = this._s;
    if (!s || this._changing || s.gen === this._gen) return;
    const gen = this._gen;
    s.sync = s.ch.call('reloadUser', {}).then(() => { if (this._s === s && s.gen < gen) s.gen = gen; },
      (err) => this._secondaryGone(err, s.ch));
  }

  // _change runs a call that may change the taught characters (in IndexedDB and the first
  // worker's matcher); the second worker is stale from now until it has read them again.
  _change(type, data, transfer) {
    this._gen++;
    this._changing++;
    const p = this._call(type, data, transfer);
    const done = () => { this._changing--; this._resync(); };
    p.then(done, done);
    return p;
  }

  // _current is the second worker when it holds the taught characters the first does (after
  // waiting for a reload under way), else null.
  async _current() {
    let s = this._s;
    if (s && !this._changing && s.gen !== this._gen && s.sync) await s.sync;
    s = this._s;
    return s && !this._changing && s.gen === this._gen ? s : null;
  }

  // pool says how the last identifyAll was shared: {workers: 1 or 2 (the second ready and
  // current), last: {primary, secondary (faces each named; the second names the last ones), ms
  // (when split: {detect, primary: detect and its share, secondary: its share}, in the workers)}}.
  get pool() { return { workers: this._s && !this._changing && this._s.gen === this._gen ? 2 : 1, last: this._last }; }

  // identify names the character at a point ({x, y}: candidate crops around it are searched, by
  // both workers when the second is ready: workers in the result says how many) or in a box
  // ({box: [x, y, w, h]}: the crop given to the model), in source pixel coordinates.
  async identify(source, where = {}) {
    const t0 = performance.now();
    const { width: W, height: H } = sourceSize(source);
    let region, req;
    if (Array.isArray(where.box)) {
      const [x, y, w, h] = where.box.map(Number);
      if (!(w > 0 && h > 0)) throw new Error('toonid: identify: box needs positive width and height');
      region = clampRect({ x, y, w, h }, W, H);
      if (!region) throw new Error('toonid: identify: box lies outside the image');
      req = { box: true };
    } else if (Number.isFinite(where.x) && Number.isFinite(where.y)) {
      if (where.x < 0 || where.y < 0 || where.x >= W || where.y >= H) throw new Error('toonid: identify: point outside the image');
      const unit = Math.min(W, H);
      const r = this.search.extent * unit; // farthest any candidate crop reaches from the click
      region = clampRect({ x: where.x - r, y: where.y - r, w: 2 * r, h: 2 * r }, W, H);
      req = { click: { x: where.x - region.x, y: where.y - region.y, unit } };
    } else {
      throw new Error('toonid: identify needs {x, y} or {box: [x, y, w, h]}');
    }
    const f = Math.min(1, MAX_REGION / Math.max(region.w, region.h));
    const img = await pixels(source, region, f);
    if (req.click) { req.click.x *= f; req.click.y *= f; req.click.unit *= f; }
    if (req.box) req.box = [0, 0, img.width, img.height]; // the region is the crop
    const k = where.k || 5;
    const s = req.click ? await this._current() : null;
    const r = s ? await this._splitClick(s, img, req.click, k)
      : await this._call('identify', { pix: img.data.buffer, w: img.width, h: img.height, ...req, k }, [img.data.buffer]);
    const [bx, by, bw, bh] = r.box;
    return {
      answers: r.answers, unknown: r.unknown, threshold: r.threshold, score: r.score,
      box: [region.x + bx / f, region.y + by / f, bw / f, bh / f].map((v) => Math.round(v * 10) / 10),
      candidates: r.candidates, workerMs: r.ms, workers: r.workers || 1, flat: !!r.flat,
      ms: performance.now() - t0,
    };
  }

  // detect finds the faces of a whole picture: [{box: {x, y, w, h}, score}] in source pixels,
  // best first (score in [0, 1]). A picture under 32 px or of one flat colour has none.
  async detect(source) {
    const { img, f } = await this._frame(source);
    const faces = await this._call('detect', { pix: img.data.buffer, w: img.width, h: img.height }, [img.data.buffer]);
    return faces.map((x) => ({ box: unscaleBox(x.box, f), score: x.score }));
  }

  // identifyAll finds every face of a whole picture and names each, in one worker message: per
  // face {box: {x, y, w, h}, score (the detector's), crop: [x, y, w, h] (the square embedded,
  // which may leave the picture), answers, unknown, best (the best answer's similarity), threshold},
  // best detector score first; at most detector info's maxFaces faces are named.
  // With a second worker ready, the first detects and names the better half of the faces while the
  // second names the rest (the same crops and scores, identify.NameFaces in both).
  async identifyAll(source, { k = 5 } = {}) {
    const { img, f } = await this._frame(source);
    const s = await this._current();
    const faces = s ? await this._split(s, img, k)
      : (await this._call('identifyAll', { pix: img.data.buffer, w: img.width, h: img.height, k }, [img.data.buffer])).faces;
    if (!s) this._last = { primary: faces.length, secondary: 0 };
    return faces.map((x) => ({
      box: unscaleBox(x.box, f), score: x.score, crop: x.crop.map((v) => Math.round(v / f * 10) / 10),
      answers: x.answers, unknown: x.unknown, best: x.best, threshold: x.threshold,
    }));
  }

  // _split is identifyAll on the first worker with split: it detects, hands over the last half of
  // the faces (a progress message) and names the rest; the second worker names those on its own
  // copy of the pixels. Should the second fail, it is dropped and the first names its share.
  async _split(s, img, k) {
    const { width: w, height: h } = img;
    const copy = img.data.slice().buffer; // the first worker's buffer is handed over
    let theirs = Promise.resolve([]), fellBack = false, theirMs = 0;
    const mine = await this._call('identifyAll', { pix: img.data.buffer, w, h, k, split: true }, [img.data.buffer], ({ faces }) => {
      const req = { pix: copy, w, h, faces, k };
      theirs = s.ch.call('identifyFaces', req).then((r) => { theirMs = r.ms; return r.faces; }, (err) => {
        this._secondaryGone(err, s.ch);
        fellBack = true;
        return this._call('identifyFaces', req, [copy]).then((r) => r.faces);
      });
      theirs.catch(() => {}); // awaited below unless the first worker's call fails
    });
    // A face whose crop is too flat to be one, or that no character matches at a low detector
    // score (identify.Face.flat, .doubtful), is a detector false alarm: one worker's
    // identify.IdentifyAll leaves it out; identifyFaces (NameFaces) only marks it, so the split
    // drops it here, before counting.
    const kept = (x) => !x.flat && !x.doubtful;
    const rest = (await theirs).filter(kept), own = mine.faces.filter(kept);
    this._last = fellBack ? { primary: own.length + rest.length, secondary: 0 }
      : { primary: own.length, secondary: rest.length, ms: { detect: mine.detectMs, primary: mine.ms, secondary: theirMs } };
    return [...own, ...rest];
  }

  // _splitClick shares a click search between the two workers (identify.Request's Part): each
  // embeds its half of the coarse crops, and, unless the best of them is confident, of the
  // refine crops around it; the best over both is the whole search's answer (beats: a matched
  // crop over a flat one, then the higher score, then the earlier crop). Should the second
  // worker fail (it is dropped if it stopped), or the taught characters change between the
  // stages, the first searches alone.
  async _splitClick(s, img, click, k) {
    const { width: w, height: h } = img;
    let candidates = 0, ms = 0, theirs = null;
    const alone = () => this._call('identify', { pix: img.data.buffer, w, h, click, k }, [img.data.buffer]);
    const stage = async (ask) => {
      const req = (index) => ({ pix: img.data.slice().buffer, w, h, k, ...ask, part: { index, of: 2 } });
      const a = req(0), b = req(1);
      const them = s.ch.call('identify', b, [b.pix]).catch((err) => { theirs = err; throw err; });
      const rs = await Promise.all([this._call('identify', a, [a.pix]), them]);
      let best = null, slowest = 0;
      for (const r of rs) {
        candidates += r.candidates;
        slowest = Math.max(slowest, r.ms);
        if (r.index >= 0 && beats(r, best)) best = r;
      }
      ms += slowest; // the stages run one after the other, the parts side by side
      return best;
    };
    try {
      let best = await stage({ click });
      if (!best.confident) {
        if (this._s !== s || this._changing || s.gen !== this._gen) return alone(); // the two would refine with different characters
        const fine = await stage({ refine: best.box });
        if (fine && beats(fine, best, true)) best = fine;
      }
      return { ...best, candidates, ms, workers: 2 };
    } catch (err) {
      if (!theirs) throw err; // the first worker's error: the search's own
      if (s.ch.stopped) this._secondaryGone(theirs, s.ch); // gone; an error reply leaves it in the pool
      return alone();
    }
  }

  // _frame is the whole source's RGBA, its longer side at most MAX_FRAME, and the scale f applied.
  async _frame(source) {
    const { width: W, height: H } = sourceSize(source);
    const f = Math.min(1, MAX_FRAME / Math.max(W, H));
    return { img: await pixels(source, { x: 0, y: 0, w: W, h: H }, f), f };
  }

  // enroll teaches a character: each item is a drawable (the whole of it is the crop) or
  // {source, box: [x, y, w, h]}; exact: true keeps that crop's embedding as a sub-centre of its
  // own, never averaged with the others (the demo teaches a face's detector crop so: identifyAll
  // matches exactly that square). Kept in this browser's IndexedDB and matched with the packs.
  async enroll(name, sources) {
    const { crops, transfer } = await enrollCrops(sources);
    return this._change('enroll', { name, crops }, transfer);
  }

  // enrollAll teaches several characters ([{name, sources}], sources as for enroll) all or
  // nothing: when the bridge refuses any of them, none is stored. One result per item.
  async enrollAll(items) {
    const all = [], transfer = [];
    for (const { name, sources } of items) {
      const c = await enrollCrops(sources);
      all.push({ name, crops: c.crops });
      transfer.push(...c.transfer);
    }
    return this._change('enroll', { items: all }, transfer);
  }

  // views returns the boxes to teach a character from, for the box of an answer on a source of
  // W x H pixels: that box and the neighbours the click search tries around it (shifted and
  // rescaled, moved inside the image), so a later click near the same face matches again.
  views(box, W, H) { return this._call('views', { box, w: W, h: H }); }

  forget(id) { return this._change('forget', { id }); }

  // Live mode and teaching from a video: live.js drives these (startLive, teachFromVideo); each
  // frame is an ImageBitmap handed over to the worker (transferred), times are ms on the video's clock.
  liveStart({ every } = {}) { return this._call('liveStart', { every }); }
  liveFrame(bitmap, t) { return this._call('liveFrame', { bitmap, t }, [bitmap]); }
  liveStop() { return this._call('liveStop', {}); }
  gatherStart(bitmap, t, box) { return this._call('gatherStart', { bitmap, t, box, side: ENROLL_SIDE }, [bitmap]); }
  gatherFrame(bitmap, t) { return this._call('gatherFrame', { bitmap, t }, [bitmap]); }
  // gatherDone(name) teaches the gathered crops under name; gatherDone(null) drops them.
  gatherDone(name) { return name == null ? this._call('gatherDone', { name }) : this._change('gatherDone', { name }); }

  // taught lists the characters taught in this browser with their crops
  // ([{id, name, series, pack, crops: [{pix: ArrayBuffer RGBA, w, h, exact?}]}]); taught.js exports them.
  taught() { return this._call('taught', {}); }

  // exportPack returns the characters taught here (for the loaded model) as one pack archive
  // (pack/FORMAT.md "One file"), built by the wasm's Go pack writer: {bytes: ArrayBuffer,
  // characters: n}. site/packio.js downloads it.
  exportPack() { return this._call('exportPack', {}); }

  // importPack teaches the characters of a pack archive (an ArrayBuffer, handed over to the
  // worker), all or nothing, every file's sha256 verified: [{name, examples}].
  importPack(bytes) { return this._change('importPack', { bytes }, [bytes]); }

  // thumbnail resolves to a pack character's catalogue thumbnail (a JPEG Blob, its bytes verified
  // against the sha256 its file is named by), or null when the pack has none for it.
  async thumbnail(labelId) {
    const buf = await this._call('thumbnail', { id: labelId });
    return buf ? new Blob([buf], { type: 'image/jpeg' }) : null;
  }

  // packs lists the loaded packs and the taught characters.
  packs() { return this._call('packs', {}); }

  close() {
    const err = new Error('toonid: closed');
    this._p.stop(err);
    this._secondaryGone(err, this._sch);
  }
}

// enrollCrops draws each enroll source (a drawable or {source, box}) as the RGBA crop sent to the
// worker, its longer side at most ENROLL_SIDE.
async function enrollCrops(sources) {
  if (!Array.isArray(sources)) sources = [sources];
  const crops = [], transfer = [];
  for (const s of sources) {
    const src = s && s.source ? s.source : s;
    const { width: W, height: H } = sourceSize(src);
    const [x, y, w, h] = s && s.box ? s.box.map(Number) : [0, 0, W, H];
    const region = clampRect({ x, y, w, h }, W, H);
    if (!region) throw new Error('toonid: enroll: box lies outside the image');
    const img = await pixels(src, region, Math.min(1, ENROLL_SIDE / Math.max(region.w, region.h)));
    crops.push({ pix: img.data.buffer, w: img.width, h: img.height, ...(s && s.exact === true && { exact: true }) });
    transfer.push(img.data.buffer);
  }
  return { crops, transfer };
}

// beats says whether a part's reply r is a better click-search answer than best (null: none
// yet): a crop that was matched beats one too flat to be (identify.Reply.Flat), then the higher
// score, then (within a stage, not refine) the earlier crop. identify's mergeParts is the same.
export function beats(r, best, refine = false) {
  if (!best) return true;
  if (r.flat !== best.flat) return !r.flat;
  return r.score > best.score || (!refine && r.score === best.score && r.index < best.index);
}

function unscaleBox([x, y, w, h], f) {
  const r = (v) => Math.round(v / f * 10) / 10;
  return { x: r(x), y: r(y), w: r(w), h: r(h) };
}

export function sourceSize(s) {
  if (typeof HTMLVideoElement !== 'undefined' && s instanceof HTMLVideoElement) return { width: s.videoWidth, height: s.videoHeight };
  if (typeof HTMLImageElement !== 'undefined' && s instanceof HTMLImageElement) return { width: s.naturalWidth, height: s.naturalHeight };
  if (typeof SVGImageElement !== 'undefined' && s instanceof SVGImageElement) return { width: s.width.baseVal.value, height: s.height.baseVal.value };
  if (s && s.width > 0 && s.height > 0) return { width: s.width, height: s.height };
  throw new Error('toonid: source must be an img, video, canvas, ImageBitmap or ImageData with a size');
}

function clampRect({ x, y, w, h }, W, H) {
  const x0 = Math.max(0, Math.floor(x)), y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(W, Math.ceil(x + w)), y1 = Math.min(H, Math.ceil(y + h));
  if (x1 <= x0 || y1 <= y0) return null;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

// pixels draws region of source, scaled by f, and returns its RGBA ImageData.
async function pixels(source, region, f) {
  const w = Math.max(1, Math.round(region.w * f)), h = Math.max(1, Math.round(region.h * f));
  if (typeof ImageData !== 'undefined' && source instanceof ImageData) {
    source = await createImageBitmap(source); // ImageData is not drawable; a bitmap is
  }
  const c = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(w, h) : Object.assign(document.createElement('canvas'), { width: w, height: h });
  const g = c.getContext('2d', { willReadFrequently: true });
  g.imageSmoothingQuality = 'high';
  g.drawImage(source, region.x, region.y, region.w, region.h, 0, 0, w, h);
  return g.getImageData(0, 0, w, h);
}
