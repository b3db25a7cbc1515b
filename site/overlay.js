// overlay.js — click-to-identify over any HTML5 <video>, without touching the host page's video.
//
//   import { attach } from './overlay.js';
//   const handle = attach(video, { toonid: id });   // id from toonid.load(); attach twice = same handle
//   video.addEventListener('toonid:answer', (e) => console.log(e.detail.answers[0]));
//   handle.arm();   // the next click on the video names the face under it (also the "Name a face" button)
//   handle.detach();
//
// The layer is a sibling positioned over the video (never wraps, moves or replaces it). It follows
// layout changes (ResizeObserver, scroll, resize, rAF while armed) and fullscreen: when the
// fullscreen element contains the video, the layer re-mounts inside it; when the video itself is
// fullscreen nothing can be drawn over it, so the layer hides until fullscreen ends.
// Events bubble from the video: toonid:answer {answers, unknown, box, ...}, toonid:error {message}.
// Keys are opt-in (keys: true): "i" arms while focus is on the video or the layer; modifiers and
// editable targets are ignored.

const attached = new WeakMap();

export function attach(video, { toonid, keys = false, k = 5 } = {}) {
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
  const button = doc.createElement('button');
  button.type = 'button';
  button.textContent = 'Name a face';
  Object.assign(button.style, { position: 'absolute', right: '8px', top: '8px', pointerEvents: 'auto', font: '13px system-ui, sans-serif',
    padding: '4px 8px', borderRadius: '4px', border: '1px solid #fff8', background: '#000a', color: '#fff', cursor: 'pointer' });
  const catcher = doc.createElement('div'); // takes clicks only while armed
  Object.assign(catcher.style, { position: 'absolute', inset: '0', cursor: 'crosshair', pointerEvents: 'none' });
  const box = doc.createElement('div');
  Object.assign(box.style, { position: 'absolute', border: '3px solid #ffcc00', boxShadow: '0 0 0 2px #000a', pointerEvents: 'none', display: 'none' });
  const label = doc.createElement('div');
  label.setAttribute('aria-live', 'polite');
  Object.assign(label.style, { position: 'absolute', left: '0', top: '-1.6em', whiteSpace: 'nowrap', font: 'bold 14px system-ui, sans-serif',
    background: '#000c', color: '#fff', padding: '1px 6px', borderRadius: '3px' });
  box.append(label);
  layer.append(catcher, box, button);

  let armed = false, raf = 0, lastBox = null, hidden = false;

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
    if (lastBox) drawBox(lastBox);
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

  function loop() { place(); raf = armed ? requestAnimationFrame(loop) : 0; }

  function arm(v = true) {
    armed = v;
    catcher.style.pointerEvents = armed ? 'auto' : 'none';
    button.setAttribute('aria-pressed', String(armed));
    button.textContent = armed ? 'Click a face…' : 'Name a face';
    if (armed && !raf) raf = requestAnimationFrame(loop);
  }

  async function identifyAt(clientX, clientY) {
    const { r, s, x0, y0 } = content();
    const x = (clientX - r.left - x0) / s, y = (clientY - r.top - y0) / s;
    if (!(x >= 0 && y >= 0 && x < video.videoWidth && y < video.videoHeight)) return;
    if (!video.paused) video.pause();
    try {
      const frame = await createImageBitmap(video);
      const res = await toonid.identify(frame, { x, y, k });
      frame.close();
      lastBox = res.box;
      label.textContent = res.unknown || !res.answers.length ? 'Unknown character' : `${res.answers[0].name} (${res.answers[0].score.toFixed(2)})`;
      drawBox(res.box);
      video.dispatchEvent(new CustomEvent('toonid:answer', { bubbles: true, composed: true, detail: res }));
    } catch (err) {
      video.dispatchEvent(new CustomEvent('toonid:error', { bubbles: true, composed: true, detail: { message: String(err.message || err) } }));
    }
  }

  on(button, 'click', (e) => { e.stopPropagation(); arm(!armed); });
  on(catcher, 'click', (e) => {
    e.preventDefault();
    e.stopPropagation();
    arm(false);
    identifyAt(e.clientX, e.clientY);
  });
  on(doc, 'fullscreenchange', mount);
  on(doc.defaultView, 'resize', place);
  on(doc, 'scroll', place, { capture: true, passive: true });
  on(video, 'loadedmetadata', place);
  on(video, 'seeked', () => { lastBox = null; box.style.display = 'none'; });
  on(video, 'play', () => { lastBox = null; box.style.display = 'none'; });
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

  const handle = {
    arm: () => arm(true),
    disarm: () => arm(false),
    identifyAt,
    get element() { return layer; },
    detach() {
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
