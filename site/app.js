// The demo page: open/drop/paste an image or a video, click a face, read the card, teach a name.
import * as toonid from './toonid.js';
import { liveControls, mountVideoTeach } from './live-ui.js';
import { verdict, distinct, position, level, details } from './verdict.js';
import { render as renderMarkdown } from './md.js';
import { sniff } from './sniff.js';
import { exportTaught, importTaught } from './taught.js';
import { isPackFile, importPackFile, mountPackExport } from './packio.js';

const $ = (id) => document.getElementById(id);
const stage = $('stage'), media = $('media'), marks = $('marks'), box = $('box'), cross = $('crosshair');
const statusEl = $('status'), statusText = $('status-text'), progress = $('progress'), facesEl = $('faces');

let id = null;          // the loaded toonid API
let current = null;     // the <img> or <video> being shown
let last = null;        // {source snapshot, box, at: the click, face: the boxed face} of the answer on the card: "Teach" uses only this
let gen = 0;            // bumped whenever what is on screen changes; an answer for an older state is dropped
let readyText = '';     // the status line once loaded, put back when an error is over
let point = null;       // keyboard crosshair, in source pixels
let objectURL = null;
let opens = 0;          // counts show() calls, so a slow sniff never replaces a later file
let faces = null;       // {source snapshot, list, user} of the faces boxed on the picture: a click in a box shows its card
let scans = 0;          // bumped whenever the boxed faces no longer describe the picture (as gen is for answers)
let boxing = false;     // the picture on screen has its faces boxed (or a scan running for it)
let announce = false;   // the next nameFaces result is a new scan's: the status line says what it found
let scanNote = '';       // that line, put back to the ready line once its faces are gone (clearFaces)
let naming = null;      // the identifyAll in flight for the picture on screen (nameFaces), else null
let renameDue = false;  // the taught characters changed while it ran: it names the faces once more
let users = 0;          // bumped whenever the taught characters change (teach, forget, import)

// window.toonidDemo lets the browser tests and the figures script see what the page did.
// boxClicks false makes every click a click search, boxes or not (bench.mjs times that search).
const demo = window.toonidDemo = { ready: null, answers: [], loadInfo: null, error: null, faces: null, scans: 0, boxClicks: true };
// The crop "Teach" would store now (null when there is no card), for the tests.
Object.defineProperty(demo, 'crop', { get: () => last && { box: last.box, w: last.source.width, h: last.source.height } });

function setStatus(text, isError = false) {
  statusText.textContent = text;
  statusEl.classList.toggle('error', isError);
}

// clearError puts the ready line back after a success, so an old red error never sits above a
// good answer.
function clearError() {
  if (statusEl.classList.contains('error')) setStatus(readyText || '');
}

// clearAnswer removes the box and the card and forgets their crop: after a seek, play, another
// file or an error they would describe a picture that is no longer on screen (and "Teach" would
// store the wrong pixels). In-flight answers are dropped through gen.
function clearAnswer(why = '') {
  gen++;
  clearFaces();
  (demo.clears ||= []).push(typeof why === 'string' ? why : why.type); // what cleared it, for the tests
  last = null;
  box.hidden = true;
  $('card').hidden = true;
  $('teach-status').textContent = '';
  demo.cleared = (demo.cleared || 0) + 1;
}

demo.ready = (async () => {
  const t0 = performance.now();
  try {
    id = await toonid.load({
      base: new URL('v1/', document.baseURI).pathname, pack: 'default',
      // ?wasm=scalar forces the fallback build (tests, comparisons); default: feature detection.
      wasm: new URLSearchParams(location.search).get('wasm') || 'auto',
      onProgress: (p) => {
        if (p.total) { progress.max = p.total; progress.value = Math.min(p.loaded, p.total); }
        setStatus(p.phase === 'start' ? 'Starting…' : `Downloading ${(p.loaded / 1e6).toFixed(2)} / ${(p.total / 1e6).toFixed(2)} MB`);
      },
    });
  } catch (err) {
    demo.error = String(err.message || err);
    setStatus(`Could not load: ${demo.error}`, true);
    throw err;
  }
  demo.api = id;
  demo.loadInfo = { ...id.loadInfo, pageMs: performance.now() - t0, readyAt: performance.now() };
  progress.hidden = true;
  const i = id.loadInfo.info;
  // Plain words: which wasm build runs (SIMD or not) is for the About box, not the status line.
  readyText = `Ready: knows ${i.pack.characters} characters${id.loadInfo.offline ? ' (working offline)' : ''}. Open a picture and click a face.`;
  setStatus(readyText);
  fillAbout(id.loadInfo);
  fillNames();
  fillCatalogue(id.loadInfo.credits || []);
  if ('serviceWorker' in navigator) {
    // Registered once the first load's downloads are stored, so its precache finds them there.
    id.cached.then(() => navigator.serviceWorker.register('sw.js')).catch((e) => console.warn('toonid: service worker:', e));
  }
  return id;
})();

// --- choosing a picture ---

// show opens a File or Blob. Its kind comes from its bytes (sniff.js), not its name or MIME type.
async function show(file) {
  if (!file) return;
  clearAnswer('open');
  demo.mediaReady = false; // at once: the sniff below is async, and the old picture is no longer the one
  const name = file.name || 'pasted image';
  const opening = ++opens;
  const type = await sniff(file);
  if (opening !== opens) return; // another file was chosen meanwhile
  if (!type) { failOpen(`Not an image or video this page can open: ${name}${file.type ? ` (${file.type})` : ''}`); return; }
  const isVideo = type.startsWith('video/');
  // A JPEG cut short (an interrupted download) still "loads": the browser draws what arrived
  // and greys the rest, and fails only later, when a click copies the pixels. So a picture is
  // decoded whole before it is shown, and a JPEG without its end marker is said to be one.
  const cutShort = type === 'image/jpeg' && !(await jpegEnds(file));
  if (opening !== opens) return;
  if (objectURL) URL.revokeObjectURL(objectURL);
  objectURL = URL.createObjectURL(new Blob([file], { type }));
  const el = document.createElement(isVideo ? 'video' : 'img');
  if (isVideo) { el.controls = true; el.playsInline = true; el.muted = true; } else { el.alt = `Picture: ${name}`; el.draggable = false; }
  el.src = objectURL;
  el.addEventListener(isVideo ? 'loadeddata' : 'load', async () => {
    // current moves to the next file only once its own checks are done: opens says at once.
    const mine = () => current === el && opening === opens;
    if (!mine()) return;
    if (!isVideo && type !== 'image/svg+xml') { // an SVG has no bytes to be cut short: a broken one fails to load
      // Resized to a few pixels: the whole file is decoded, the check holds no full-size copy.
      try { (await createImageBitmap(el, { resizeWidth: 8, resizeHeight: 8 })).close(); } catch {
        if (mine()) failOpen(`Could not open ${name}: the file is damaged or cut short (the browser could not decode all of it)`);
        return;
      }
      if (!mine()) return;
    }
    $('stage-empty').hidden = true;
    point = null; cross.hidden = true;
    fitMedia(el);
    clearError();
    if (cutShort) setStatus(`${name} ends early (no JPEG end marker): the bottom of the picture may be missing, and answers there mean little.`, true);
    demo.mediaReady = true;
    if (!isVideo) scanFaces();
  }, { once: true });
  el.addEventListener('error', () => { if (current === el) failOpen(`Could not open ${name}: not a picture this browser can decode`); }, { once: true });
  // Live names on a playing video (live-ui.js); pausing leaves the boxing to scanFaces.
  liveControls(isVideo ? el : null, { getToonid: () => id, container: marks, keepOnPause: false, onError: (err) => setStatus(`Live names: ${err.message}`, true) });
  if (isVideo) {
    // A new frame is on screen: the box and the card no longer describe it.
    // Only while it is the one on screen: a replaced video still fires (removed while playing, it
    // pauses), and its events must not clear or rescan the picture that replaced it.
    for (const t of ['seeking', 'play', 'emptied']) el.addEventListener(t, (e) => { if (current === el) clearAnswer(e); });
    // A paused frame gets its faces boxed: on pause, and after a seek that lands while paused.
    el.addEventListener('pause', () => { if (current === el) scanFaces(); });
    el.addEventListener('seeked', () => { if (current === el && el.paused) scanFaces(); });
  }
  demo.mediaReady = false;
  media.replaceChildren(el, marks);
  current = el;
}

// jpegEnds says whether a JPEG file's last 64 KB hold its end-of-image marker (FF D9): phones
// append data after it (a motion photo's MP4, Samsung's trailer), and inside the compressed
// data an FF byte is never followed by D9.
async function jpegEnds(file) {
  const tail = new Uint8Array(await file.slice(Math.max(0, file.size - 65536)).arrayBuffer());
  for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return true;
  return false;
}

// failOpen shows why a file could not be opened and leaves nothing of the previous picture:
// old results under a new error would read as the answer for the broken file.
function failOpen(msg) {
  clearAnswer('failed');
  media.replaceChildren(marks);
  current = null;
  point = null; cross.hidden = true;
  $('stage-empty').hidden = false;
  demo.mediaReady = false;
  setStatus(msg, true);
}

$('file').addEventListener('change', (e) => { show(e.target.files[0]); e.target.value = ''; /* the same file again still opens */ });

// "Try an example": the bundled open art, opened like a chosen file.
for (const b of document.querySelectorAll('#examples .example')) {
  b.addEventListener('click', async () => {
    try {
      const res = await fetch(b.dataset.src);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const blob = await res.blob();
      show(new File([blob], b.dataset.name, { type: blob.type }));
    } catch (err) {
      failOpen(`Could not load the example ${b.dataset.name}: ${err.message}`);
    }
  });
}

// fillCatalogue lists the pack's characters by series, each with its thumbnail (pack/FORMAT.md,
// "Thumbnails"). The thumbnails are fetched when the list is first opened, not at load (they are
// not needed to name anyone), through the worker: verified against the sha256 their files are
// named by and cached like the pack's shards. A character without one shows its initial.
function fillCatalogue(labels) {
  const bySeries = new Map();
  for (const l of labels) {
    const k = l.series || 'Other';
    if (!bySeries.has(k)) bySeries.set(k, []);
    bySeries.get(k).push(l);
  }
  const cat = $('catalogue');
  cat.querySelector('summary').textContent = `Who it knows (${labels.length})`;
  const pending = [];
  $('catalogue-list').replaceChildren(...[...bySeries].map(([series, ls]) => {
    const d = document.createElement('div');
    d.className = 'series';
    const ul = document.createElement('ul');
    ul.append(...ls.map((l) => {
      const li = document.createElement('li');
      const pic = document.createElement('span');
      pic.className = 'thumb';
      pic.textContent = [...(l.name || '?')][0].toUpperCase();
      pic.setAttribute('aria-hidden', 'true');
      li.append(pic, Object.assign(document.createElement('span'), { className: 'name', textContent: l.name }));
      li.dataset.id = l.id;
      if (l.thumbnail) pending.push([l, pic]);
      return li;
    }));
    d.append(Object.assign(document.createElement('h3'), { textContent: series }), ul);
    return d;
  }));
  const thumbs = demo.thumbnails = { wanted: pending.length, shown: 0, failed: [], done: pending.length === 0 };
  let started = false;
  const fetchAll = async () => {
    if (started || !cat.open) return;
    started = true;
    await Promise.all(pending.map(async ([l, pic]) => {
      try {
        const blob = await id.thumbnail(l.id);
        if (!blob) return;
        const img = new Image(40, 40);
        img.alt = '';
        img.src = URL.createObjectURL(blob); // a few KB each, kept for the page's life
        await img.decode();
        pic.replaceChildren(img);
        pic.classList.add('has-img');
        thumbs.shown++;
      } catch (err) {
        thumbs.failed.push(`${l.id}: ${err.message}`);
        console.warn(`toonid: thumbnail of ${l.id}: ${err.message}`);
      }
    }));
    thumbs.done = true;
  };
  cat.addEventListener('toggle', fetchAll);
  fetchAll();
}
stage.addEventListener('dragover', (e) => { e.preventDefault(); stage.classList.add('drag'); });
stage.addEventListener('dragleave', () => stage.classList.remove('drag'));
stage.addEventListener('drop', (e) => {
  e.preventDefault();
  stage.classList.remove('drag');
  openTransfer(e.dataTransfer);
});
document.addEventListener('paste', (e) => {
  if (e.target.closest && e.target.closest('input, textarea, [contenteditable]')) return; // typing a name
  if (openTransfer(e.clipboardData)) e.preventDefault();
});

// openTransfer opens what a drop or a paste carries: a file first; else an image dragged from
// another tab, which arrives as a URL (text/uri-list, or the <img src> in text/html), or a URL
// pasted as text. Returns whether it found anything to open.
function openTransfer(dt) {
  if (!dt) return false;
  const f = [...(dt.files || [])][0];
  if (f) { show(f); return true; }
  const html = dt.getData('text/html');
  const fromHTML = html && new DOMParser().parseFromString(html, 'text/html').querySelector('img[src], video[src], a[href]');
  const url = (dt.getData('text/uri-list') || '').split(/\r?\n/).find((l) => l && !l.startsWith('#')) ||
    (fromHTML && (fromHTML.getAttribute('src') || fromHTML.getAttribute('href'))) ||
    (/^(https?:|data:image\/)/i.test((dt.getData('text/plain') || '').trim()) ? dt.getData('text/plain').trim() : '');
  if (!url) return false;
  openURL(url);
  return true;
}

// openURL fetches an image by URL. Another site's image can be read only when that site allows it
// (CORS); when it does not, the browser refuses and says only "failed to fetch", so the message
// says what to do instead.
async function openURL(url) {
  let u;
  try { u = new URL(url, document.baseURI); } catch { failOpen(`Not a URL: ${url.slice(0, 200)}`); return; }
  if (!/^(https?|data|blob):$/.test(u.protocol)) { failOpen(`Cannot open ${u.protocol} URLs`); return; }
  const seg = u.pathname.split('/').pop() || u.hostname || 'image';
  let name; try { name = decodeURIComponent(seg); } catch { name = seg; } // a malformed %-escape (%E0%A4%A) keeps the raw segment
  name = name.slice(0, 120) || 'image';
  setStatus(`Fetching ${u.protocol === 'data:' ? 'the dropped image' : u.href.slice(0, 120)}…`);
  try {
    const res = await fetch(u.href, { mode: 'cors', credentials: 'omit' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const blob = await res.blob();
    setStatus(readyText || ''); // the "Fetching…" line is over
    show(new File([blob], name));
  } catch (err) {
    const cors = err instanceof TypeError && u.origin !== location.origin && u.protocol.startsWith('http');
    failOpen(cors
      ? `${u.host} does not let other pages read its images (no CORS permission). Save the image and open the file, or copy the image itself and paste it here.`
      : `Could not fetch ${u.href.slice(0, 120)}: ${err.message}`);
  }
}

// Very wide or tall pictures: fitting the whole of a 6000x100 strip into the stage would draw it
// 14 px tall. Below MIN_SIDE on screen, the short side is shown at MIN_SIDE (or its natural size
// if smaller) and the stage scrolls along the long side.
const MIN_SIDE = 160;
// UPSCALE_SIDE is the short side (CSS px) fitMedia scales small pictures up towards.
const UPSCALE_SIDE = 320;
new ResizeObserver(() => { if (current && !drag) fitMedia(current); }).observe(stage);
function fitMedia(el) {
  const [W, H] = naturalSize(el);
  if (!W || !H) return; // not decoded yet: its load fits it
  const room = { w: stage.clientWidth - 4, h: window.innerHeight * 0.75 };
  const fit = Math.min(1, room.w / W, room.h / H);
  const short = Math.min(W, H) * fit;
  const big = short < MIN_SIDE && short < Math.min(W, H);
  stage.classList.toggle('scroll', big);
  if (big) {
    const s = Math.min(1, MIN_SIDE / Math.min(W, H));
    Object.assign(el.style, { width: `${Math.round(W * s)}px`, height: `${Math.round(H * s)}px`, maxWidth: 'none', maxHeight: 'none' });
    el.style.imageRendering = '';
    return;
  }
  // A small picture (a 64 px game sprite, most of the pack) is scaled up by a whole factor to a
  // short side near UPSCALE_SIDE, pixels kept square and sharp: at its own size there is no face
  // to aim a click at. Only on screen: identify reads the file's own pixels.
  const up = Math.max(1, Math.floor(Math.min(room.w / W, room.h / H, UPSCALE_SIDE / Math.min(W, H))));
  if (up > 1) {
    // Sharp pixels from 3x (sprites); a small photo at 2x stays smooth.
    Object.assign(el.style, { width: `${W * up}px`, height: `${H * up}px`, maxWidth: '', maxHeight: '', imageRendering: el.tagName === 'IMG' && up >= 3 ? 'pixelated' : '' });
  } else {
    Object.assign(el.style, { width: '', height: '', maxWidth: '', maxHeight: '', imageRendering: '' });
  }
}

// --- clicking ---

function naturalSize(el) {
  return el.tagName === 'VIDEO' ? [el.videoWidth, el.videoHeight] : [el.naturalWidth, el.naturalHeight];
}

// A click in a video's bottom strip is left to the video's own controls: Chromium draws a 48 px
// button row with the timeline under it (the play button's centre sits 48 px above the bottom).
const CONTROLS_STRIP = 72;
// A press that moves less than this (CSS px) is a click; more starts a drag.
const DRAG_SLOP = 5;
// The smallest box a drag makes, in source pixels (below it the model sees mostly blur).
const MIN_BOX = 16;

// toSource maps a pointer position to source pixels of the picture on screen.
function toSource(e) {
  const [W, H] = naturalSize(current);
  const r = current.getBoundingClientRect();
  return { x: (e.clientX - r.left) * W / r.width, y: (e.clientY - r.top) * H / r.height, s: W / r.width };
}

function inControls(e) {
  return current.tagName === 'VIDEO' && current.controls && e.clientY > current.getBoundingClientRect().bottom - CONTROLS_STRIP;
}

// squareIn returns the square box [x, y, side, side] with one corner at anchor (source px) and the
// other towards p, inside the W x H picture: crops are square, as the model was trained.
function squareIn(anchor, p, W, H) {
  const sx = p.x >= anchor.x ? 1 : -1, sy = p.y >= anchor.y ? 1 : -1;
  const room = Math.min(sx > 0 ? W - anchor.x : anchor.x, sy > 0 ? H - anchor.y : anchor.y);
  const side = Math.max(MIN_BOX, Math.min(room, Math.max(Math.abs(p.x - anchor.x), Math.abs(p.y - anchor.y))));
  const x = sx > 0 ? anchor.x : anchor.x - side, y = sy > 0 ? anchor.y : anchor.y - side;
  return clampBox([x, y, side, side], W, H);
}

function clampBox([x, y, w, h], W, H) {
  w = Math.min(w, W); h = Math.min(h, H);
  return [Math.max(0, Math.min(x, W - w)), Math.max(0, Math.min(y, H - h)), w, h].map((v) => Math.round(v));
}

// Pointer gestures on the picture: a click names what is under it; a drag on the picture selects
// a square region; a drag on the box moves it, on a corner handle resizes it. A changed box is
// identified as it is ({box}), without the click search.
let drag = null; // {mode: 'press'|'select'|'move'|'resize', start: {x, y} source px, box0, anchor, cx, cy}
media.addEventListener('pointerdown', (e) => {
  if (!current || e.button !== 0 || inControls(e)) return;
  const onBox = e.target === box || box.contains(e.target);
  if (e.target !== current && !onBox) return;
  const p = toSource(e);
  drag = { mode: 'press', start: p, cx: e.clientX, cy: e.clientY, id: e.pointerId, onBox };
  if (onBox && last) {
    const b = last.box;
    const corner = e.target.dataset.corner;
    drag.box0 = b;
    if (corner) {
      // The corner opposite the grabbed one stays put.
      drag.mode = 'resize';
      drag.anchor = { x: corner.includes('w') ? b[0] + b[2] : b[0], y: corner.includes('n') ? b[1] + b[3] : b[1] };
    } else {
      drag.mode = 'move-press';
    }
  }
  media.setPointerCapture(e.pointerId);
  e.preventDefault(); // no native image drag, no text selection
});

media.addEventListener('pointermove', (e) => {
  if (!drag || e.pointerId !== drag.id) return;
  const far = Math.hypot(e.clientX - drag.cx, e.clientY - drag.cy) >= DRAG_SLOP;
  if (drag.mode === 'press' && far) drag.mode = 'select';
  if (drag.mode === 'move-press' && far) drag.mode = 'move';
  const [W, H] = naturalSize(current);
  const p = toSource(e);
  if (drag.mode === 'select') drag.box = squareIn(drag.start, p, W, H);
  else if (drag.mode === 'move') drag.box = clampBox([drag.box0[0] + p.x - drag.start.x, drag.box0[1] + p.y - drag.start.y, drag.box0[2], drag.box0[3]], W, H);
  else if (drag.mode === 'resize') drag.box = squareIn(drag.anchor, p, W, H);
  else return;
  drawBox(drag.box, { pending: true });
});

function endDrag(e, cancelled) {
  if (!drag || e.pointerId !== drag.id) return;
  const d = drag;
  drag = null;
  if (cancelled) { if (last) drawBox(last.box); else box.hidden = true; return; }
  if (current.tagName === 'VIDEO' && !current.paused) current.pause();
  if (d.box) { identifyAt(null, { box: d.box }); return; }
  // A press without a drag inside a boxed face shows that face's card; elsewhere (on the yellow
  // box too: another face may be inside it) it is a click search at that point.
  const f = !d.onBox && faceAt(d.start);
  if (f) { pickFace(f, d.start); return; }
  point = d.start;
  identifyAt(point);
}
media.addEventListener('pointerup', (e) => endDrag(e, false));
media.addEventListener('pointercancel', (e) => endDrag(e, true));
media.addEventListener('dragstart', (e) => e.preventDefault());
// A click on a video would toggle play; here a click names the paused frame instead.
media.addEventListener('click', (e) => { if (current && current.tagName === 'VIDEO' && !inControls(e)) e.preventDefault(); });

stage.addEventListener('keydown', (e) => {
  if (!current || e.altKey || e.ctrlKey || e.metaKey) return;
  const [W, H] = naturalSize(current);
  if (!point) point = { x: W / 2, y: H / 2 };
  const step = (e.shiftKey ? 0.1 : 0.02) * Math.min(W, H);
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  if (moves[e.key]) {
    point.x = Math.min(W - 1, Math.max(0, point.x + moves[e.key][0]));
    point.y = Math.min(H - 1, Math.max(0, point.y + moves[e.key][1]));
    drawCrosshair();
    e.preventDefault();
  } else if (e.key === 'Enter' || e.key === ' ') {
    if (current.tagName === 'VIDEO' && !current.paused) current.pause();
    const f = faceAt(point);
    if (f) pickFace(f, point); else identifyAt(point);
    e.preventDefault();
  }
});

// The crosshair and the box are drawn in percent of the picture, inside #media (which is exactly
// the picture's size), so they stay on the picture whatever the layout does afterwards: the card
// appearing, a window resize, a rotation, a scroll. (Pixel offsets taken at draw time went stale:
// the box sat ~32 px off after the first click moved the layout.)
const pct = (v, of) => `${(v / of) * 100}%`;
function drawCrosshair() {
  const [W, H] = naturalSize(current);
  Object.assign(cross.style, { left: pct(point.x, W), top: pct(point.y, H) });
  cross.hidden = false;
}

function drawBox(b, { pending = false } = {}) {
  const [W, H] = naturalSize(current);
  Object.assign(box.style, { left: pct(b[0], W), top: pct(b[1], H), width: pct(b[2], W), height: pct(b[3], H) });
  box.classList.toggle('pending', pending);
  box.hidden = false;
}

// --- the detector's faces ---

function clearFaces() {
  scans++;
  boxing = false;
  faces = null;
  naming = null;
  renameDue = false;
  facesEl.replaceChildren();
  demo.faces = null;
  if (scanNote && statusText.textContent === scanNote) setStatus(readyText);
  scanNote = '';
}

// scanFaces boxes and names every face of the picture on screen, from scratch (a new picture, a
// paused or seeked frame).
function scanFaces() {
  clearFaces();
  boxing = true;
  announce = true;
  return nameFaces();
}

// nameFaces names the faces of the picture on screen (one identifyAll: detect + embed every face
// in the worker), one run at a time: asked while one runs (the taught characters changed), that
// run's answer is dropped when it returns and the faces are named once more, so however many
// changes come, one run is in flight and the last taught set wins. It resolves once the faces are
// named under the current taught characters, or could not be. Nothing is shown for a picture that
// changed meanwhile; a failure (no detector in this build, a frame not decoded yet) leaves the
// click search as it is.
function nameFaces() {
  if (naming) { renameDue = true; return naming; }
  const my = scans;
  naming = (async () => {
    const el = current;
    if (!id) await demo.ready;
    if (!el || el !== current || my !== scans) { if (my === scans) naming = null; return; }
    const user = users;
    const t0 = performance.now();
    let src = faces && faces.source, list; // naming again: the same pixels
    try {
      src ||= await snapshot(el);
      list = await id.identifyAll(src, { k: 5 });
    } catch (err) {
      if (my !== scans) return;
      naming = null;
      if (renameDue) { renameDue = false; return nameFaces(); }
      demo.facesError = String(err.message || err);
      console.warn(`toonid: faces: ${err.message || err}`);
      // Boxes named under older taught characters can't be named again: they go.
      if (faces && faces.user !== users) { faces = null; facesEl.replaceChildren(); demo.faces = null; }
      return;
    }
    if (my !== scans || el !== current) return;
    naming = null;
    if (renameDue || user !== users) { renameDue = false; return nameFaces(); } // named under an older set
    faces = { source: src, list, ms: performance.now() - t0, user };
    demo.faces = { list, ms: faces.ms, at: performance.now() };
    demo.scans++;
    drawFaces();
    // Say what a new scan found, so that no boxes reads as "none found", not "nothing happened"
    // (not after a rename, whose own line stays; nor over an error, such as a file cut short).
    if (announce && !statusEl.classList.contains('error')) {
      scanNote = list.length === 0 ? 'No face found automatically: click a face to identify it.'
        : `${list.length} face${list.length === 1 ? '' : 's'} found: click one to see who it is, or click anywhere else.`;
      setStatus(scanNote);
    }
    announce = false;
  })();
  return naming;
}

// faceName is what a face's box says: its top name when the verdict names it, else "?".
function faceName(f) {
  const v = verdict(f);
  return v.kind === 'known' ? v.best.name : '?';
}

// drawFaces draws the boxes. Boxes named before the taught characters last changed keep their
// place (the faces are where they were) but say "…" until they are named again.
function drawFaces() {
  const [W, H] = naturalSize(current);
  const stale = faces.user !== users;
  facesEl.replaceChildren(...faces.list.map((f) => {
    const d = document.createElement('div');
    const name = stale ? '…' : faceName(f);
    d.className = `face${name === '?' ? ' unknown' : ''}${stale ? ' stale' : ''}${f.box.y < 0.06 * H ? ' top' : ''}`;
    const b = f.box;
    Object.assign(d.style, { left: pct(b.x, W), top: pct(b.y, H), width: pct(b.w, W), height: pct(b.h, H) });
    d.append(Object.assign(document.createElement('span'), { className: 'label', textContent: name }));
    d.setAttribute('aria-label', stale ? 'A face, being named again' : name === '?' ? 'A face it does not know' : `A face: ${name}`);
    return d;
  }));
}

// usersChanged is called once a teach, forget or import has changed the taught characters: the
// boxes' names were matched against the old ones, so the picture's faces are named again.
function usersChanged() {
  users++;
  if (!boxing) return;
  if (faces) drawFaces();
  nameFaces();
}

// faceAt is the boxed face under a point (source px): the smallest box holding it.
function faceAt(p) {
  if (!faces || !demo.boxClicks) return null;
  const hits = faces.list.filter(({ box: b }) => p.x >= b.x && p.x < b.x + b.w && p.y >= b.y && p.y < b.y + b.h);
  return hits.sort((a, b) => a.box.w * a.box.h - b.box.w * b.box.h)[0] || null;
}

// pickFace answers a click at p in face f's box. A box named before the taught characters last
// changed is being named again: its card waits for that (its crop drawn dashed meanwhile) and
// never shows the old names; were the faces not named again (a failure), that box's crop is
// identified as it is. Another click or another picture meanwhile drops it, as gen does.
async function pickFace(f, p) {
  if (faces.user === users) { showFace(f); return; }
  const my = ++gen, epoch = scans;
  const crop = clampBox(f.crop, faces.source.width, faces.source.height);
  drawBox(crop, { pending: true });
  while (naming && faces && faces.user !== users) await naming;
  if (my !== gen || epoch !== scans) return;
  const named = faces && faces.user === users && faceAt(p);
  if (named) showFace(named); else identifyAt(null, { box: crop });
}

// showFace puts a boxed face on the card, as a click's answer: the crop that was embedded (inside
// the picture) is the card's box, so "Teach" and "Wrong?" store that face.
function showFace(f) {
  gen++;
  const { source } = faces;
  const b = clampBox(f.crop, source.width, source.height);
  const r = { answers: f.answers, unknown: f.unknown, threshold: f.threshold, score: f.best, box: b, candidates: 1, ms: faces.ms, face: f };
  clearError();
  last = { source, box: b, face: f };
  demo.answers.push({ ...r, at: performance.now() });
  drawBox(b);
  showCard(r, source);
}

// snapshot freezes the current frame so "Teach" uses exactly the pixels that were identified.
async function snapshot(el) {
  const [W, H] = naturalSize(el);
  return createImageBitmap(el, 0, 0, W, H);
}

async function identifyAt(p, { box: b } = {}) {
  if (!id) { setStatus('Still loading the model…'); await demo.ready; }
  if (!current) return;
  const my = ++gen;
  let r, src;
  try {
    src = await snapshot(current); // throws for a video frame the decoder has not produced
    r = await id.identify(src, b ? { box: b, k: 5 } : { x: p.x, y: p.y, k: 5 });
  } catch (err) {
    if (my !== gen) return;
    clearAnswer('identify error');
    setStatus(`Could not identify: ${err.message}`, true);
    return;
  }
  if (my !== gen) return; // the picture changed (seek, play, another file) while this ran
  clearError();
  last = { source: src, box: r.box, at: p };
  demo.answers.push({ ...r, at: performance.now() });
  drawBox(r.box);
  showCard(r, src);
}

// showCard draws the answer: the verdict worded by margin (verdict.js), its sentence,
// the distinct top 5 with bars, and "Wrong? It's …" with the other candidates as one-click fixes.
function showCard(r, src) {
  $('card').hidden = false;
  const c = $('crop'), g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  g.drawImage(src, r.box[0], r.box[1], r.box[2], r.box[3], 0, 0, c.width, c.height);
  const v = verdict(r);
  $('card').dataset.kind = v.kind;
  $('verdict').textContent = v.text;
  $('match').textContent = v.sentence;
  const answers = distinct(r.answers).slice(0, 5);
  // Bars on the threshold-relative scale of verdict.js (the tick in the middle is what naming
  // needs), worded, never a percentage.
  $('answers').replaceChildren(...answers.map((a) => {
    const li = document.createElement('li');
    if (a.score < r.threshold) li.className = 'below';
    const name = Object.assign(document.createElement('span'), { className: 'name', textContent: a.name });
    const lv = Object.assign(document.createElement('span'), { className: 'pc', textContent: ` ${level(a.score, v.rule)}` });
    const series = Object.assign(document.createElement('span'), { className: 'series', textContent: a.series ? ` — ${a.series}` : '' });
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.setAttribute('role', 'meter');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', '100');
    bar.setAttribute('aria-valuenow', String(position(a.score, v.rule)));
    bar.setAttribute('aria-valuetext', level(a.score, v.rule));
    bar.setAttribute('aria-label', `${a.name}: ${level(a.score, v.rule)}`);
    const fill = document.createElement('span');
    fill.style.width = `${position(a.score, v.rule)}%`;
    bar.append(fill);
    li.append(name, lv, series, bar);
    return li;
  }));
  // A boxed face was named with the others when the picture opened: its time is theirs.
  const n = r.face && faces ? faces.list.length : 0;
  $('timing').textContent = r.face
    ? `${details(r)} · its box's crop; ${n} face${n === 1 ? '' : 's'} found and named in ${r.ms.toFixed(0)} ms`
    : r.flat ? `no crop had a face's edges, so none was compared · ${r.candidates} crop${r.candidates === 1 ? '' : 's'} tried, ${r.ms.toFixed(0)} ms`
      : `${details(r)} · ${r.candidates} crop${r.candidates === 1 ? '' : 's'} tried, ${r.ms.toFixed(0)} ms`;
  // The fixes offered: when the name was given, the runners-up; otherwise the best few as well.
  const alts = (v.kind === 'known' ? answers.slice(1) : answers).slice(0, 3);
  $('teach-title').textContent = v.kind === 'known' ? `Wrong? It's …` : v.kind === 'unknown' ? 'Who is it? It\'s …' : 'Which is it? It\'s …';
  $('alts').replaceChildren(...alts.map((a) => {
    const b = Object.assign(document.createElement('button'), { type: 'button', className: 'alt', textContent: a.name });
    b.setAttribute('aria-label', `It's ${a.name}: teach this crop as ${a.name}`);
    b.addEventListener('click', () => teach(a.name));
    return b;
  }));
  $('teach-status').textContent = '';
  videoTeach.update();
}

// faceOf is the detector's face a card shows, if the picture's faces are boxed: on a face's card
// that face; else the smallest box the click fell in, failing that the box the card's crop
// covers most of (at least half of it).
function faceOf({ source, box: [x, y, w, h], at, face }) {
  if (face) return face;
  if (!faces || faces.source.width !== source.width || faces.source.height !== source.height) return null;
  const area = (b) => b.w * b.h;
  if (at) {
    const hit = faces.list.filter(({ box: b }) => at.x >= b.x && at.x < b.x + b.w && at.y >= b.y && at.y < b.y + b.h).sort((a, c) => area(a.box) - area(c.box))[0];
    if (hit) return hit;
  }
  const covered = (b) => Math.max(0, Math.min(x + w, b.x + b.w) - Math.max(x, b.x)) * Math.max(0, Math.min(y + h, b.y + b.h) - Math.max(y, b.y)) / area(b);
  const best = faces.list.map((f) => ({ f, c: covered(f.box) })).sort((a, c) => c.c - a.c)[0];
  return best && best.c >= 0.5 ? best.f : null;
}

// teach stores the crop on the card (and its neighbours) under name — a pack character's name adds
// examples to it — then names the same box again, so the card shows what was learned.
async function teach(name) {
  name = name.trim();
  if (!name || !last) return;
  const card = last, { source, box: b } = card;
  const my = gen;
  $('teach-status').textContent = `Teaching "${name}"…`;
  try {
    // The crop and the neighbours the click search tries around it (Go's identify.Search.Views): one
    // crop alone is matched again only when the next click lands on nearly the same box (measured: a
    // click 14 px away scored 0.794 against a threshold of 0.813 with the shipped model).
    const views = await id.views(b, source.width, source.height);
    const crops = views.map((box) => ({ source, box }));
    // And the face as identifyAll crops it, kept as a sub-centre of its own: taught from a click
    // search's crops alone, a face scored 0.37 in its own box, 0.52 with that crop averaged in,
    // against a threshold of 0.75 (a DiceBear robot in the composited frame, default pack).
    const f = faceOf(card);
    if (f) crops.push({ source, box: clampBox(f.crop, source.width, source.height), exact: true });
    const c = await id.enroll(name, crops);
    usersChanged(); // the boxes' names now know what was taught
    $('teach-name').value = '';
    fillNames();
    const r = await id.identify(source, { box: b, k: 5 });
    if (my !== gen) { setStatus(`Learned ${c.name}.`); demo.taught = c; return; } // the card was cleared meanwhile
    clearError();
    demo.answers.push({ ...r, at: performance.now(), relabel: true });
    showCard(r, source);
    last = card;
    $('teach-status').textContent = `Learned: this is ${c.name} (${c.examples} example${c.examples === 1 ? '' : 's'}${c.pack ? ' added to the pack character' : ''}). Click it again anywhere.`;
    demo.taught = c; // last, so a test that waits for it also has the relabelled card
  } catch (err) {
    $('teach-status').textContent = `Could not teach: ${err.message}`;
  }
}

$('teach').addEventListener('submit', (e) => { e.preventDefault(); teach($('teach-name').value); });

// "Teach from this video" (live-ui.js) on a paused video's card: the card's crop, followed through
// the clip, taught under the name typed above.
const videoTeach = mountVideoTeach({ form: $('teach'), nameInput: $('teach-name'), api: () => id,
  target: () => (current && current.tagName === 'VIDEO' && current.paused && last ? { video: current, box: last.box } : null),
  onTaught: () => { fillNames(); usersChanged(); } });
demo.videoTeach = videoTeach;

// relabelCard names the card's crop again once a forget or an import changed the taught
// characters, so the card never keeps a name matched against the old set (a forgotten one). Not
// an answer to a click: it goes to demo.relabels, not demo.answers. A click or another picture
// meanwhile wins (gen).
async function relabelCard() {
  if (!last) return;
  const { source, box: b } = last, my = gen;
  try {
    const r = await id.identify(source, { box: b, k: 5 });
    if (my !== gen) return;
    (demo.relabels ||= []).push({ ...r, at: performance.now() });
    showCard(r, source);
  } catch (err) {
    console.warn(`toonid: naming the card again: ${err.message || err}`);
  }
}

// fillNames offers the pack's and the taught characters' names for "…or type a name".
async function fillNames() {
  if (!id) return;
  const names = new Set((id.loadInfo.credits || []).map((c) => c.name));
  try { for (const t of (await id.packs()).taught) names.add(t.name); } catch { /* the pack names still help */ }
  $('known-names').replaceChildren(...[...names].sort((a, b) => a.localeCompare(b)).map((n) => Object.assign(document.createElement('option'), { value: n })));
}

// --- about / credits ---

const about = $('about');
$('about-open').addEventListener('click', () => {
  listTaught();
  about.showModal();
  // Open at the top: focus goes to the Close button up there (autofocus), and the scroll is reset
  // in case a previous visit left it at the credits.
  about.scrollTop = 0;
  $('about-close').focus();
});

// Export / import of taught characters (taught.js), to carry them to the extension or another browser.
$('taught-export').addEventListener('click', async () => {
  if (!id) return;
  try {
    const text = await exportTaught(id);
    const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(new Blob([text], { type: 'application/json' })), download: 'toonid-taught.json' });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    $('taught-io').textContent = `Exported ${JSON.parse(text).characters.length} character(s).`;
  } catch (err) { $('taught-io').textContent = `Could not export: ${err.message}`; }
});
$('taught-import').addEventListener('change', async (e) => {
  const f = e.target.files[0];
  e.target.value = '';
  if (!f || !id) return;
  try {
    const got = await isPackFile(f) ? await importPackFile(id, f) : await importTaught(id, await f.text());
    $('taught-io').textContent = `Imported ${got.map((c) => `${c.name} (${c.examples})`).join(', ') || 'nothing'}.`;
    demo.imported = got;
    usersChanged();
    relabelCard();
    listTaught();
    fillNames();
  } catch (err) { $('taught-io').textContent = `Could not import: ${err.message}`; }
});

// ...or as one pack file (packio.js), the format toonid serve serves.
mountPackExport({ after: $('taught-export'), input: $('taught-import'), status: $('taught-io'), api: () => id });

async function listTaught() {
  const ul = $('taught');
  if (!id) { ul.replaceChildren(); return; }
  const { taught } = await id.packs();
  if (!taught.length) {
    ul.replaceChildren(Object.assign(document.createElement('li'), { textContent: 'None yet: click a face, then pick or type its name under "Wrong? It\'s …" / "Who is it?".' }));
    return;
  }
  ul.replaceChildren(...taught.map((c) => {
    const li = document.createElement('li');
    const b = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Forget' });
    b.setAttribute('aria-label', `Forget ${c.name}`);
    b.addEventListener('click', async () => { await id.forget(c.id); usersChanged(); relabelCard(); listTaught(); fillNames(); });
    li.append(`${c.name} (${c.examples} example${c.examples === 1 ? '' : 's'}${c.pack ? ', added to the pack character' : ''}) `, b);
    return li;
  }));
}

async function fillAbout(li) {
  const i = li.info;
  $('about-info').textContent = `Model ${i.model.sha256.slice(0, 12)}… (${i.model.inputW}px input, ${i.model.embedDim}-d embedding${i.model.mirror ? ', mirror-averaged' : ''}), ` +
    `pack "${i.pack.name}" with ${i.pack.characters} characters, threshold ${i.pack.threshold.toFixed(3)}` +
    `${i.pack.calibrated ? ` (calibrated at ${(i.pack.far * 100).toFixed(1)}% false accepts)` : ' (not calibrated)'}, ${i.build} wasm.`;
  const credits = $('credits');
  credits.replaceChildren(...(li.credits || []).map((c) => {
    const item = document.createElement('li');
    item.textContent = `${c.name}${c.series ? ` (${c.series})` : ''}: ${c.credit || 'no credit recorded'}`;
    return item;
  }));
  try {
    const res = await fetch('CREDITS.md');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    $('credits-file').replaceChildren(renderMarkdown(await res.text()));
  } catch (err) {
    $('credits-file').textContent = `CREDITS.md: ${err.message}`;
  }
}
