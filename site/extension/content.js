// Injected on demand (activeTab): one full-viewport crosshair layer; the click point goes to the
// background, which screenshots the tab and answers; the answer is drawn with textContent only.
// A video under the click is paused first, so the screenshot, the box and the frame on screen stay
// the same picture; the box goes when that video plays again, on scroll or resize (it is drawn in
// viewport pixels), on Escape or its × — not after a timer. The full answer (candidates, score,
// teach, "Wrong?") is in the toolbar button's popup.
(() => {
  if (window.__toonidContent) return; // idempotent injection
  window.__toonidContent = true;
  const PICK = 'toonid:pick', PICKED = 'toonid:picked', SHOW = 'toonid:show';
  let layer = null, card = null, paused = null, cardAC = null;

  function clear() { layer?.remove(); layer = null; }
  function clearCard() { cardAC?.abort(); cardAC = null; card?.remove(); card = null; }

  chrome.runtime.onMessage.addListener((m) => {
    if (m?.target !== 'content') return;
    if (m.type === PICK) pick();
    if (m.type === SHOW) show(m.data);
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
      const v = videoAt(data.x, data.y);
      if (v && !v.paused) v.pause();
      paused = v;
      // Wait a frame so the screenshot does not include the layer (and shows the paused frame).
      requestAnimationFrame(() => requestAnimationFrame(() => chrome.runtime.sendMessage({ type: PICKED, target: 'background', data })));
    });
    layer.addEventListener('keydown', (e) => { if (e.key === 'Escape') clear(); });
    document.documentElement.append(layer);
    layer.focus();
  }

  function show(r) {
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
