// Injected on demand (activeTab): one full-viewport crosshair layer; the click point goes to the
// background, which screenshots the tab and answers; the answer is drawn with textContent only.
// A video under the click is paused first, so the screenshot, the box and the frame on screen stay
// the same picture; the box goes when that video plays again, on scroll or resize (it is drawn in
// viewport pixels), on Escape or its × — not after a timer. The full answer (candidates, score,
// teach, "Wrong?") is in the toolbar button's popup.
// Faces: a paused video in view when a pick starts, one the pick's click pauses, and any video
// paused later on this tab get every face the detector finds boxed, with its top name or "?"
// (the background screenshots and names them); a click inside a box answers for that face, a
// click elsewhere is the usual pick. The boxes go on play, seek, scroll and resize.
// Live names: once injected, the largest video in view gets the demo's "Live names" toggle
// (live-ui.js and live.js, imported from the extension: web_accessible_resources). While it plays,
// each face carries its name or "?", following it; on pause those go and the paused frame is
// boxed as above. Frames: a video whose pixels the page may read (same-origin, or CORS with
// crossorigin) is drawn here and sent as a JPEG to the offscreen document; any other (a
// cross-origin video without CORS, where the canvas is tainted) is seen through tab screenshots,
// which Chrome allows about twice a second, so its labels update at that rate. Messages are
// JSON (no transferables reach the offscreen document), hence the JPEG.
(() => {
  if (window.__toonidContent) return; // idempotent injection
  window.__toonidContent = true;
  const PICK = 'toonid:pick', PICKED = 'toonid:picked', SHOW = 'toonid:show', SCAN = 'toonid:scan', FACES = 'toonid:faces', FACE = 'toonid:face'; // messages.js
  const LIVE = 'toonid:live', LIVE_START = 'toonid:live-start', LIVE_FRAME = 'toonid:live-frame', LIVE_CAPTURE = 'toonid:live-capture', LIVE_STOP = 'toonid:live-stop', LIVE_SHOT = 'toonid:live-shot';
  let layer = null, card = null, paused = null, cardAC = null;
  let faces = null, facesEl = null, facesVideo = null, picking = false;

  function clear() { layer?.remove(); layer = null; }
  function clearCard() { cardAC?.abort(); cardAC = null; card?.remove(); card = null; }

  chrome.runtime.onMessage.addListener((m, _sender, reply) => {
    if (m?.target !== 'content') return false;
    if (m.type === LIVE) {
      const v = mainVideo();
      if (!v) { reply({ error: 'no video in view on this page' }); return false; }
      liveOn(v, true).then(() => reply({ on: true }), (e) => reply({ error: String(e.message || e) }));
      return true;
    }
    if (m.type === LIVE_SHOT) liveShot();
    if (m.type === PICK) pick();
    if (m.type === SHOW) show(m.data);
    if (m.type === FACES) drawFaces(m.data.faces, facesVideo);
  });

  // videoAt finds the <video> whose box holds the point (under our own layer, which is gone by then).
  function videoAt(x, y) {
    return document.elementsFromPoint(x, y).find((el) => el instanceof HTMLVideoElement) ||
      [...document.querySelectorAll('video')].find((v) => { const r = v.getBoundingClientRect(); return x >= r.left && x < r.right && y >= r.top && y < r.bottom; }) || null;
  }

  function pick() {
    clear();
    clearCard();
    layer = document.createElement('div');
    Object.assign(layer.style, { position: 'fixed', inset: '0', zIndex: 2147483647, cursor: 'crosshair', background: 'transparent' });
    layer.setAttribute('aria-label', 'toonid: click a face, Escape to cancel');
    layer.tabIndex = -1;
    // Only a real click: the page's own scripts can reach this layer and dispatch synthetic
    // clicks (isTrusted false), which must not trigger a screenshot of the tab.
    layer.addEventListener('click', function onClick(e) {
      e.preventDefault(); e.stopPropagation();
      if (!e.isTrusted) return;
      e.currentTarget.removeEventListener('click', onClick);
      const data = { x: e.clientX, y: e.clientY, dpr: devicePixelRatio };
      clear();
      hideLive(true);
      const f = faceAt(data.x, data.y);
      if (f) { faceClick(f); return; }
      const v = videoAt(data.x, data.y);
      picking = true; // its own pause scans nothing: the pick's answer brings the faces
      if (v && !v.paused) v.pause();
      paused = v;
      clearFaces();
      if (v) data.video = v.getBoundingClientRect().toJSON();
      // Wait a frame so the screenshot does not include the layer (and shows the paused frame).
      requestAnimationFrame(() => requestAnimationFrame(() => chrome.runtime.sendMessage({ type: PICKED, target: 'background', data })));
    });
    layer.addEventListener('keydown', (e) => { if (e.key === 'Escape') clear(); });
    document.documentElement.append(layer);
    layer.focus();
    const v = [...document.querySelectorAll('video')].find((x) => x.paused && x.videoWidth && inView(x));
    if (v && !faces) scan(v);
    const main = mainVideo();
    if (main) liveOn(main, false).catch((e) => console.warn(`toonid: live names: ${e.message || e}`));
  }

  // --- live names ---
  let live = null; // {video, box, controls}: the one video with the toggle
  const GAP_MS = 520; // background.js CAPTURE_GAP_MS: Chrome's captureVisibleTab quota, 2 a second

  const mainVideo = () => [...document.querySelectorAll('video')].filter((v) => v.videoWidth && inView(v))
    .sort((a, b) => { const r = (v) => v.getBoundingClientRect(); return r(b).width * r(b).height - r(a).width * r(a).height; })[0] || null;

  async function send(type, data) {
    const r = await chrome.runtime.sendMessage({ type, target: 'background', data });
    if (!r || r.error) throw new Error(r ? r.error : 'toonid: no answer from the extension');
    return r;
  }

  // picture is the video's letterboxed picture (object-fit: contain) in viewport px.
  function picture(v) {
    const r = v.getBoundingClientRect(), W = v.videoWidth, H = v.videoHeight;
    const s = Math.min(r.width / W, r.height / H);
    return { left: r.left + (r.width - W * s) / 2, top: r.top + (r.height - H * s) / 2, width: W * s, height: H * s };
  }

  // liveAPI is what live.js calls toonid.liveStart/liveFrame/liveStop, answered by the offscreen
  // document's worker. live.js hands each frame as an ImageBitmap of the video (at most LIVE_SIDE
  // px); the boxes come back in its pixels either way.
  function liveAPI(v, box) {
    let screen = false, last = 0;
    return {
      liveStart: (o) => send(LIVE_START, o),
      liveStop: () => send(LIVE_STOP, {}),
      async liveFrame(bitmap, t) {
        const w = bitmap.width, h = bitmap.height;
        if (!screen) {
          try {
            const c = new OffscreenCanvas(w, h);
            c.getContext('2d').drawImage(bitmap, 0, 0);
            const blob = await c.convertToBlob({ type: 'image/jpeg', quality: 0.85 }); // a tainted canvas throws SecurityError
            bitmap.close();
            return send(LIVE_FRAME, { image: await dataURL(blob), t });
          } catch (e) {
            if (e.name !== 'SecurityError') { bitmap.close(); throw e; }
            screen = true;
            box.dataset.frames = 'screenshots'; // which path runs (the browser test reads it)
            // Say why the names lag: this video is only seen through Chrome's rate-limited screenshots.
            const note = document.createElement('span');
            note.className = 'toonid-live-note';
            note.textContent = 'names update about twice a second here: this video reaches toonid only as screenshots';
            Object.assign(note.style, { position: 'absolute', right: '8px', top: '38px', maxWidth: '60%', font: '12px system-ui, sans-serif', background: '#000a', color: '#fff', padding: '2px 6px', borderRadius: '3px', textAlign: 'right' });
            box.append(note);
            v.addEventListener('toonid:live-mode', (ev) => { note.hidden = !ev.detail.on; });
          }
        }
        bitmap.close();
        const wait = last + GAP_MS - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        last = performance.now();
        // Our boxes and names would be in the screenshot, inside the very crops that get named:
        // they are hidden from the frame before it until the background says it has its shot.
        const faces = box.querySelector('.toonid-live');
        if (faces) faces.style.visibility = 'hidden';
        await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
        const rect = picture(v);
        let r;
        try {
          r = await send(LIVE_CAPTURE, { rect, dpr: devicePixelRatio, w, h, t: v.currentTime * 1000 });
        } finally { liveShot(); }
        // The screenshot shows our toggle over the picture, which the detector may take for a face.
        const btn = box.querySelector('.live-toggle')?.getBoundingClientRect();
        if (btn) {
          const k = w / rect.width, bx = (btn.left - rect.left) * k, by = (btn.top - rect.top) * k, bw = btn.width * k, bh = btn.height * k;
          r.faces = r.faces.filter((f) => { const cx = f.box[0] + f.box[2] / 2, cy = f.box[1] + f.box[3] / 2; return !(cx >= bx && cx < bx + bw && cy >= by && cy < by + bh); });
        }
        return r;
      },
    };
  }

  // liveShot shows the live boxes again (the background's LIVE_SHOT: the screenshot is taken).
  function liveShot() { const f = live?.box.querySelector('.toonid-live'); if (f) f.style.visibility = ''; }

  function dataURL(blob) {
    return new Promise((res, rej) => { const f = new FileReader(); f.onload = () => res(f.result); f.onerror = () => rej(f.error); f.readAsDataURL(blob); });
  }

  // liveOn puts the toggle over v (replacing another video's) and, with start, turns it on.
  async function liveOn(v, start) {
    if (!live || live.video !== v) {
      const { liveControls } = await import(chrome.runtime.getURL('live-ui.js'));
      if (live) live.controls.remove();
      live?.box.remove();
      const box = document.createElement('div'); // over the picture, in viewport px, following it
      box.className = 'toonid-live-box';
      Object.assign(box.style, { position: 'fixed', zIndex: 2147483645, pointerEvents: 'none' });
      document.documentElement.append(box);
      box.dataset.frames = 'video';
      const api = liveAPI(v, box);
      const controls = liveControls(v, { getToonid: () => api, container: box, keepOnPause: false, trusted: true,
        onError: (e) => show({ error: `live names: ${e.message || e}` }) });
      live = { video: v, box, controls };
      (function follow() {
        if (live?.box !== box) return;
        const p = v.isConnected && v.videoWidth ? picture(v) : null;
        Object.assign(box.style, p ? { display: '', left: `${p.left}px`, top: `${p.top}px`, width: `${p.width}px`, height: `${p.height}px` } : { display: 'none' });
        requestAnimationFrame(follow);
      })();
    }
    if (start && !live.controls.on) await live.controls.set(true);
  }

  // --- the paused video's faces ---
  const inView = (v) => { const r = v.getBoundingClientRect(); return r.width > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth; };

  // The screenshot must not show our live names (their toggle was found as a face): hidden from
  // the frame before it until the faces (or the answer) come back.
  function scan(v) {
    clearFaces();
    facesVideo = v;
    hideLive(true);
    requestAnimationFrame(() => requestAnimationFrame(() =>
      chrome.runtime.sendMessage({ type: SCAN, target: 'background', data: { dpr: devicePixelRatio, video: v.getBoundingClientRect().toJSON() } })));
  }
  function hideLive(on) { if (live) live.box.style.visibility = on ? 'hidden' : ''; }

  function clearFaces() { faces = null; facesVideo = null; facesEl?.remove(); facesEl = null; }

  // drawFaces boxes the faces (viewport px) of the video they were found on, while it stays paused.
  function drawFaces(list, v) {
    hideLive(false);
    facesEl?.remove();
    if (!v || !v.paused || !list.length) { faces = null; facesEl = null; return; }
    faces = list;
    facesVideo = v;
    facesEl = document.createElement('div');
    facesEl.className = 'toonid-faces';
    Object.assign(facesEl.style, { position: 'fixed', inset: '0', zIndex: 2147483646, pointerEvents: 'none' });
    for (const f of list) {
      const d = document.createElement('div');
      d.className = 'toonid-face';
      d.setAttribute('aria-label', f.label === '?' ? 'A face toonid does not know' : `A face: ${f.label}`);
      Object.assign(d.style, { position: 'absolute', left: `${f.box.x}px`, top: `${f.box.y}px`, width: `${f.box.w}px`, height: `${f.box.h}px`, boxSizing: 'border-box',
        border: `2px ${f.label === '?' ? 'dashed' : 'solid'} #39d5ff`, boxShadow: '0 0 0 1px #000a', pointerEvents: 'auto', cursor: 'pointer' });
      const t = document.createElement('span');
      t.textContent = f.label;
      Object.assign(t.style, { position: 'absolute', left: '-2px', bottom: '100%', marginBottom: '2px', whiteSpace: 'nowrap', font: 'bold 12px system-ui, sans-serif', background: '#000c', color: '#fff', padding: '1px 5px', borderRadius: '3px' });
      d.append(t);
      // Only a real click, as on the pick layer: a page's synthetic one must not screenshot the tab.
      d.addEventListener('click', (e) => { e.preventDefault(); e.stopPropagation(); if (e.isTrusted) faceClick(f); });
      facesEl.append(d);
    }
    document.documentElement.append(facesEl);
  }

  function faceAt(x, y) {
    return (faces || []).filter(({ box: b }) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h).sort((a, b) => a.box.w * a.box.h - b.box.w * b.box.h)[0] || null;
  }

  // faceClick answers for a boxed face: the background screenshots the paused frame again (without
  // our boxes and card, hence the hiding and the frame's wait) to keep its crop for the popup.
  function faceClick(f) {
    clearCard();
    paused = facesVideo;
    if (facesEl) facesEl.style.visibility = 'hidden';
    hideLive(true);
    picking = true;
    requestAnimationFrame(() => requestAnimationFrame(() => chrome.runtime.sendMessage({ type: FACE, target: 'background', data: { face: f, dpr: devicePixelRatio } })));
  }

  // Media events do not bubble: listened for in the capture phase, for every video of the page.
  document.addEventListener('pause', (e) => { if (e.target instanceof HTMLVideoElement && !picking && inView(e.target)) scan(e.target); }, true);
  document.addEventListener('play', (e) => { if (e.target === facesVideo) clearFaces(); }, true);
  document.addEventListener('seeked', (e) => {
    const v = e.target;
    if (!(v instanceof HTMLVideoElement)) return;
    if (v === facesVideo) clearFaces();
    if (v.paused && !picking && inView(v)) scan(v);
  }, true);
  addEventListener('scroll', () => clearFaces(), { capture: true, passive: true });
  addEventListener('resize', () => clearFaces());

  function show(r) {
    picking = false;
    hideLive(false);
    if (r.faces) drawFaces(r.faces, paused);
    else if (facesEl) facesEl.style.visibility = '';
    clearCard();
    cardAC = new AbortController();
    const on = (t, type, fn, o = {}) => t.addEventListener(type, fn, { ...o, signal: cardAC.signal });
    card = document.createElement('div');
    card.className = 'toonid-card';
    Object.assign(card.style, { position: 'fixed', zIndex: 2147483647, border: '3px solid #ffcc00', boxShadow: '0 0 0 2px #000a', pointerEvents: 'none' });
    const label = document.createElement('div');
    label.setAttribute('role', 'status');
    Object.assign(label.style, { position: 'absolute', left: '0', top: '-1.9em', whiteSpace: 'nowrap', font: 'bold 14px system-ui, sans-serif', background: '#000c', color: '#fff', padding: '2px 6px', borderRadius: '3px', pointerEvents: 'auto', display: 'flex', gap: '6px', alignItems: 'center' });
    const text = document.createElement('span');
    const close = document.createElement('button');
    close.type = 'button';
    close.textContent = '×';
    close.setAttribute('aria-label', 'Close the toonid answer');
    Object.assign(close.style, { font: 'bold 14px system-ui, sans-serif', background: 'transparent', color: '#fff', border: '0', cursor: 'pointer', padding: '0 2px' });
    on(close, 'click', clearCard);
    if (r.error) {
      text.textContent = `toonid: ${r.error}`;
      Object.assign(card.style, { left: '10px', top: '40px', width: '1px', height: '1px' });
    } else {
      text.textContent = r.label;
      text.title = 'Candidates, score, Teach and Wrong? are in the toonid toolbar button';
      const [x, y, w, h] = r.box;
      Object.assign(card.style, { left: `${x}px`, top: `${y}px`, width: `${w}px`, height: `${h}px` });
    }
    label.append(text, close);
    card.append(label);
    document.documentElement.append(card);
    on(document, 'keydown', (e) => { if (e.key === 'Escape') clearCard(); });
    on(window, 'scroll', clearCard, { capture: true, passive: true });
    on(window, 'resize', clearCard);
    if (paused) on(paused, 'play', clearCard);
  }
})();
