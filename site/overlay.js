// overlay.js — click-to-identify over any HTML5 <video>, without touching the host page's video.
//
//   import { attach } from './overlay.js';
//   const handle = attach(video, { toonid: id });   // id from toonid.load(); attach twice = same handle
//   video.addEventListener('toonid:answer', (e) => console.log(e.detail.answers[0])); // undefined if detail.flat
//   handle.arm();   // the next click on the video names the face under it (also the "Name a face" button)
//   handle.detach();
//
// The layer is a sibling positioned over the video (never wraps, moves or replaces it). It follows
// layout changes (ResizeObserver, scroll, resize, rAF while armed) and fullscreen: when the
// fullscreen element contains the video, the layer re-mounts inside it; when the video itself is
// fullscreen nothing can be drawn over it, so the layer hides until fullscreen ends.
// Once armed (the button, "i" or handle.arm()), every paused frame of the video gets its faces
// boxed, each with its top name or "?" (toonid.identifyAll; needs a build with the face detector):
// on arming a paused video, on each pause and on a seek that lands paused; the boxes go on play
// and seek. A click in a box answers for that face (detail.face), armed or not; elsewhere an armed
// click runs the click search, whose answer is dropped if the video played or seeked, or a newer
// click came, before it returned. handle.faces is the list shown (null when none).
// "Live names" (live: true, the default; live-ui.js and live.js, the demo's own toggle): while the
// video plays, each face carries its name or "?", following it (the Web Worker does the work;
// frames are dropped while it is busy); on pause those go and the paused frame's faces are boxed
// as above, clickable. Turning it on engages the overlay as arming does.
// Events bubble from the video: toonid:answer {answers, unknown, box, flat, ...} (answers empty
// and flat true where no crop around the click had a face's edges), toonid:faces {faces},
// toonid:error {message}; live mode adds toonid:live {faces, t, latencyMs, ...} per frame and
// toonid:live-mode {on}.
// Keys are opt-in (keys: true): "i" arms while focus is on the video or the layer; modifiers and
// editable targets are ignored. Escape always disarms.
//
// While armed, only a click on the video's picture identifies: not one on the letterbox bars, on
// the native controls' strip (bottom 72 px when the video has `controls`), or on anything the page
// draws over the video (a custom player's buttons) — those reach the player as usual. There is no
// click-catching layer: a capture-phase listener on the window decides per click from what is
// under the pointer (elementsFromPoint), and only stops the events of a click it takes.

import { verdict, label as wordLabel } from './verdict.js';
import { liveControls } from './live-ui.js';

// One registry per page, shared by every copy of this module (loaded twice under two URLs, or by
// two scripts): attaching to a video that any copy attached to returns that copy's handle, so a
// page never gets two layers over one video.
const REGISTRY = Symbol.for('toonid.overlay.attached/v1');
const attached = globalThis[REGISTRY] || (globalThis[REGISTRY] = new WeakMap());
// Chromium's native controls: a 48 px button row with the timeline under it on a file video
// (measured: the play button's centre 48 px above the bottom), so 72 px are left to them.
const CONTROLS_STRIP = 72;

export function attach(video, { toonid, keys = false, k = 5, live = true } = {}) {
  if (!(video instanceof HTMLVideoElement)) throw new TypeError('toonid overlay: attach needs a <video>');
  if (!toonid || typeof toonid.identify !== 'function') throw new TypeError('toonid overlay: attach needs {toonid} from toonid.load()');
  const existing = attached.get(video);
  if (existing) return existing;

  const ac = new AbortController();
  const on = (target, type, fn, opts = {}) => target.addEventListener(type, fn, { ...opts, signal: ac.signal });
  const doc = video.ownerDocument;

  const layer = doc.createElement('div');
  layer.className = 'toonid-overlay';
  layer.setAttribute('role', 'group');
  layer.setAttribute('aria-label', 'toonid: name a character in this video');
  Object.assign(layer.style, { position: 'absolute', zIndex: 2147483646, pointerEvents: 'none', left: '0', top: '0', width: '0', height: '0' });
  const bar = doc.createElement('div'); // the overlay's buttons, top right; takes no events itself
  Object.assign(bar.style, { position: 'absolute', right: '8px', top: '8px', display: 'flex', gap: '6px', pointerEvents: 'none' });
  const button = doc.createElement('button');
  button.type = 'button';
  button.className = 'toonid-arm';
  button.textContent = 'Name a face';
  Object.assign(button.style, { pointerEvents: 'auto', font: '13px system-ui, sans-serif',
    padding: '4px 8px', borderRadius: '4px', border: '1px solid #fff8', background: '#000a', color: '#fff', cursor: 'pointer' });
  // Exactly over the letterboxed picture: live mode places its boxes in percent of it.
  const pic = doc.createElement('div');
  Object.assign(pic.style, { position: 'absolute', pointerEvents: 'none' });
  const frame = doc.createElement('div'); // outlines the clickable picture while armed; takes no events
  Object.assign(frame.style, { position: 'absolute', pointerEvents: 'none', display: 'none', outline: '2px dashed #ffcc00', outlineOffset: '-2px' });
  const box = doc.createElement('div');
  Object.assign(box.style, { position: 'absolute', border: '3px solid #ffcc00', boxShadow: '0 0 0 2px #000a', pointerEvents: 'none', display: 'none' });
  const label = doc.createElement('div');
  label.setAttribute('aria-live', 'polite');
  Object.assign(label.style, { position: 'absolute', left: '0', top: '-1.6em', whiteSpace: 'nowrap', font: 'bold 14px system-ui, sans-serif',
    background: '#000c', color: '#fff', padding: '1px 6px', borderRadius: '3px' });
  box.append(label);
  const facesEl = doc.createElement('div'); // the paused frame's face boxes (faceBoxes below)
  Object.assign(facesEl.style, { position: 'absolute', inset: '0', pointerEvents: 'none' });
  bar.append(button);
  layer.append(pic, facesEl, frame, box, bar);

  let armed = false, raf = 0, lastBox = null, hidden = false;
  // engaged: armed once; from then on every paused frame of this video gets its faces boxed.
  let engaged = false, faces = null, scans = 0;
  // clicks counts the clicks answered and the frames left (play, seek): a click search's answer
  // that comes back after either describes a frame or a click no longer on screen, and is dropped.
  let clicks = 0;

  function mountPoint() {
    const fs = doc.fullscreenElement;
    if (fs && fs !== video && fs.contains(video)) return fs;
    return doc.body;
  }

  function mount() {
    const fs = doc.fullscreenElement;
    hidden = !!fs && (fs === video || !fs.contains(video));
    layer.style.display = hidden ? 'none' : '';
    const parent = mountPoint();
    if (layer.parentNode !== parent) parent.append(layer);
    place();
  }

  // place puts the layer over the video's content box, in the mount point's coordinates.
  function place() {
    if (hidden) return;
    const r = video.getBoundingClientRect();
    const parent = layer.parentNode;
    let ox = 0, oy = 0;
    if (parent === doc.body && getComputedStyle(doc.body).position === 'static') {
      ox = doc.defaultView.scrollX; oy = doc.defaultView.scrollY;
    } else {
      const pr = parent.getBoundingClientRect();
      ox = -pr.left + parent.scrollLeft; oy = -pr.top + parent.scrollTop;
    }
    Object.assign(layer.style, { left: `${r.left + ox}px`, top: `${r.top + oy}px`, width: `${r.width}px`, height: `${r.height}px` });
    if (video.videoWidth) {
      const { s, x0, y0 } = content();
      Object.assign(pic.style, { left: `${x0}px`, top: `${y0}px`, width: `${video.videoWidth * s}px`, height: `${video.videoHeight * s}px` });
    }
    if (lastBox) drawBox(lastBox);
    placeFaces();
  }

  // content maps the video's letterboxed picture (object-fit: contain) inside its element box.
  function content() {
    const r = video.getBoundingClientRect();
    const W = video.videoWidth, H = video.videoHeight;
    const s = Math.min(r.width / W, r.height / H);
    return { r, s, x0: (r.width - W * s) / 2, y0: (r.height - H * s) / 2 };
  }

  function drawBox(b) {
    const { s, x0, y0 } = content();
    Object.assign(box.style, { display: '', left: `${x0 + b[0] * s}px`, top: `${y0 + b[1] * s}px`, width: `${b[2] * s}px`, height: `${b[3] * s}px` });
  }

  // picture is the part of the video's box a click may identify in (client px): the letterboxed
  // picture, less the native controls' strip.
  function picture() {
    const { r, s, x0, y0 } = content();
    const w = video.videoWidth * s, h = video.videoHeight * s;
    const bottom = Math.min(r.top + y0 + h, video.controls ? r.bottom - CONTROLS_STRIP : Infinity);
    return { left: r.left + x0, top: r.top + y0, right: r.left + x0 + w, bottom };
  }

  // takes reports whether a click at (x, y) is one the armed overlay identifies: on the picture,
  // not on our own buttons, and with the video itself topmost there under our layer (which takes
  // no pointer events but the buttons'), not a control the player or the page draws over it.
  function takes(x, y) {
    if (!(armed || faceAt(x, y)) || !video.videoWidth) return false;
    const p = picture();
    if (!(x >= p.left && x < p.right && y >= p.top && y < p.bottom)) return false;
    const els = doc.elementsFromPoint(x, y);
    if (els.length && bar.contains(els[0])) return false;
    return els.find((el) => !layer.contains(el)) === video;
  }

  function loop() {
    place();
    if (armed && video.videoWidth) {
      const p = picture(), lr = layer.getBoundingClientRect();
      Object.assign(frame.style, { display: '', left: `${p.left - lr.left}px`, top: `${p.top - lr.top}px`, width: `${p.right - p.left}px`, height: `${Math.max(0, p.bottom - p.top)}px` });
    }
    raf = armed || (liveUI && liveUI.on) ? requestAnimationFrame(loop) : 0; // live boxes follow the video's layout too
  }

  function arm(v = true) {
    armed = v;
    if (armed && !engaged) { engaged = true; if (video.paused) scanFaces(); }
    button.setAttribute('aria-pressed', String(armed));
    button.textContent = armed ? 'Click a face… (Esc: cancel)' : 'Name a face';
    if (!armed) frame.style.display = 'none';
    video.style.cursor = armed ? 'crosshair' : prevCursor;
    if (armed && !raf) raf = requestAnimationFrame(loop);
  }
  const prevCursor = video.style.cursor;

  // --- the detector's faces on a paused frame (toonid.identifyAll: detect, then name each) ---
  // A box per face with its top name or "?"; a click in one shows that face's answer. They go on
  // play and seek. A failure (a build without a detector) leaves the click search as it is.
  async function scanFaces() {
    clearFaces();
    const my = scans;
    if (!video.paused || !video.videoWidth || typeof toonid.identifyAll !== 'function') return;
    try {
      const bmp = await createImageBitmap(video);
      let list;
      try { list = await toonid.identifyAll(bmp, { k }); } finally { bmp.close(); }
      if (my !== scans || !video.paused) return;
      faces = list;
      drawFaces();
      video.dispatchEvent(new CustomEvent('toonid:faces', { bubbles: true, composed: true, detail: { faces: list } }));
    } catch (err) {
      if (my === scans) console.warn(`toonid overlay: faces: ${err.message || err}`);
    }
  }

  function clearFaces() {
    scans++;
    faces = null;
    facesEl.replaceChildren();
  }

  // faceName is what a face's box says: its top name when the verdict names it, else "?".
  const faceName = (f) => { const v = verdict(f); return v.kind === 'known' ? v.best.name : '?'; };

  function drawFaces() {
    facesEl.replaceChildren(...faces.map((f) => {
      const d = doc.createElement('div');
      const name = faceName(f);
      d.className = 'toonid-face';
      d.setAttribute('aria-label', name === '?' ? 'A face it does not know' : `A face: ${name}`);
      Object.assign(d.style, { position: 'absolute', boxSizing: 'border-box', border: `2px ${name === '?' ? 'dashed' : 'solid'} #39d5ff`, boxShadow: '0 0 0 1px #000a' });
      const t = doc.createElement('span');
      t.textContent = name;
      Object.assign(t.style, { position: 'absolute', left: '-2px', bottom: '100%', marginBottom: '2px', whiteSpace: 'nowrap', font: 'bold 12px system-ui, sans-serif',
        background: '#000c', color: '#fff', padding: '1px 5px', borderRadius: '3px' });
      d.append(t);
      return d;
    }));
    placeFaces();
  }

  // placeFaces puts the face boxes on the picture as it is laid out now (letterbox included).
  function placeFaces() {
    if (!faces) return;
    const { s, x0, y0 } = content();
    faces.forEach(({ box: b }, i) => Object.assign(facesEl.children[i].style, { left: `${x0 + b.x * s}px`, top: `${y0 + b.y * s}px`, width: `${b.w * s}px`, height: `${b.h * s}px` }));
  }

  // faceAt is the boxed face under a click (client px): the smallest box holding it.
  function faceAt(clientX, clientY) {
    if (!faces || !video.videoWidth) return null;
    const { r, s, x0, y0 } = content();
    const x = (clientX - r.left - x0) / s, y = (clientY - r.top - y0) / s;
    const hits = faces.filter(({ box: b }) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h);
    return hits.sort((a, b) => a.box.w * a.box.h - b.box.w * b.box.h)[0] || null;
  }

  // showFace answers for a boxed face as a click would: the square that was embedded (inside the
  // picture) is the answer's box; detail.face is the face itself.
  function showFace(f) {
    const W = video.videoWidth, H = video.videoHeight;
    const x = Math.max(0, f.crop[0]), y = Math.max(0, f.crop[1]);
    const b = [x, y, Math.min(W, f.crop[0] + f.crop[2]) - x, Math.min(H, f.crop[1] + f.crop[3]) - y];
    const res = { answers: f.answers, unknown: f.unknown, threshold: f.threshold, score: f.best, box: b, candidates: 1, face: f };
    clicks++;
    lastBox = b;
    label.textContent = wordLabel(verdict(res));
    drawBox(b);
    video.dispatchEvent(new CustomEvent('toonid:answer', { bubbles: true, composed: true, detail: res }));
  }

  async function identifyAt(clientX, clientY) {
    const { r, s, x0, y0 } = content();
    const x = (clientX - r.left - x0) / s, y = (clientY - r.top - y0) / s;
    if (!(x >= 0 && y >= 0 && x < video.videoWidth && y < video.videoHeight)) return;
    if (!video.paused) video.pause();
    const my = ++clicks;
    try {
      const frame = await createImageBitmap(video);
      let res;
      try { res = await toonid.identify(frame, { x, y, k }); } finally { frame.close(); }
      if (my !== clicks || !video.paused) return;
      lastBox = res.box;
      const v = verdict(res); // the demo's wording (verdict.js)
      label.textContent = wordLabel(v);
      drawBox(res.box);
      video.dispatchEvent(new CustomEvent('toonid:answer', { bubbles: true, composed: true, detail: res }));
    } catch (err) {
      if (my !== clicks) return;
      video.dispatchEvent(new CustomEvent('toonid:error', { bubbles: true, composed: true, detail: { message: String(err.message || err) } }));
    }
  }

  on(button, 'click', (e) => { e.stopPropagation(); arm(!armed); });
  // A click the overlay takes: its press, release and click are kept from the page and the player
  // (which would toggle play), in the capture phase on the window, before anyone else sees them.
  let pressed = false;
  const win = doc.defaultView;
  for (const type of ['pointerdown', 'mousedown', 'pointerup', 'mouseup', 'click', 'dblclick']) {
    on(win, type, (e) => {
      if (e.button !== 0) return;
      if (type === 'pointerdown') pressed = takes(e.clientX, e.clientY);
      if (!pressed) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      if (type === 'click') {
        pressed = false;
        arm(false);
        const f = faceAt(e.clientX, e.clientY);
        if (f) showFace(f); else identifyAt(e.clientX, e.clientY);
      }
    }, { capture: true });
  }
  // Capture phase on the window: focus may sit in the native controls, which keep Escape to themselves.
  on(win, 'keydown', (e) => {
    if (e.key === 'Escape' && armed) { arm(false); e.preventDefault(); }
  }, { capture: true });
  on(doc, 'fullscreenchange', mount);
  on(doc.defaultView, 'resize', place);
  on(doc, 'scroll', place, { capture: true, passive: true });
  on(video, 'loadedmetadata', place);
  on(video, 'seeked', () => { clicks++; lastBox = null; box.style.display = 'none'; clearFaces(); if (engaged && video.paused) scanFaces(); });
  on(video, 'play', () => { clicks++; lastBox = null; box.style.display = 'none'; clearFaces(); });
  on(video, 'pause', () => { if (engaged) scanFaces(); });
  if (keys) {
    on(doc, 'keydown', (e) => {
      if (e.key !== 'i' || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
      const t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      if (t !== video && !layer.contains(t)) return;
      e.preventDefault();
      arm(!armed);
    });
  }
  const ro = new ResizeObserver(place);
  ro.observe(video);
  mount();

  // Live names: the demo's toggle (live-ui.js), one per attached video, in the overlay's bar. On
  // pause its boxes go (keepOnPause false) and the paused frame is boxed by identifyAll above.
  const liveUI = live && typeof toonid.liveStart === 'function' ? liveControls(video, {
    getToonid: () => toonid, container: pic, bar, keepOnPause: false, exclusive: false,
    onError: (err) => video.dispatchEvent(new CustomEvent('toonid:error', { bubbles: true, composed: true, detail: { message: `live names: ${err.message || err}` } })),
  }) : null;
  if (liveUI) bar.prepend(liveUI.button);
  on(video, 'toonid:live-mode', (e) => { if (e.detail.on) { engaged = true; if (!raf) raf = requestAnimationFrame(loop); } });

  const handle = {
    arm: () => arm(true),
    disarm: () => arm(false),
    identifyAt,
    scanFaces,
    get faces() { return faces; },
    get element() { return layer; },
    get live() { return liveUI; },
    detach() {
      clicks++;
      if (armed) arm(false);
      if (liveUI) liveUI.remove();
      ac.abort();
      ro.disconnect();
      if (raf) cancelAnimationFrame(raf);
      layer.remove();
      attached.delete(video);
    },
  };
  attached.set(video, handle);
  return handle;
}
