// Injected on demand (activeTab): one full-viewport crosshair layer; the click point goes to the
// background, which screenshots the tab and answers; the answer is drawn with textContent only.
(() => {
  if (window.__toonidContent) return; // idempotent injection
  window.__toonidContent = true;
  const PICK = 'toonid:pick', PICKED = 'toonid:picked', SHOW = 'toonid:show';
  let layer = null, card = null;

  function clear() { layer?.remove(); layer = null; }

  chrome.runtime.onMessage.addListener((m) => {
    if (m?.target !== 'content') return;
    if (m.type === PICK) pick();
    if (m.type === SHOW) show(m.data);
  });

  function pick() {
    clear();
    layer = document.createElement('div');
    Object.assign(layer.style, { position: 'fixed', inset: '0', zIndex: 2147483647, cursor: 'crosshair', background: 'transparent' });
    layer.setAttribute('aria-label', 'toonid: click a face, Escape to cancel');
    layer.tabIndex = -1;
    layer.addEventListener('click', (e) => {
      e.preventDefault(); e.stopPropagation();
      const data = { x: e.clientX, y: e.clientY, dpr: devicePixelRatio };
      clear();
      // Wait a frame so the screenshot does not include the layer.
      requestAnimationFrame(() => requestAnimationFrame(() => chrome.runtime.sendMessage({ type: PICKED, target: 'background', data })));
    }, { once: true });
    layer.addEventListener('keydown', (e) => { if (e.key === 'Escape') clear(); });
    document.documentElement.append(layer);
    layer.focus();
  }

  function show(r) {
    card?.remove();
    card = document.createElement('div');
    Object.assign(card.style, { position: 'fixed', zIndex: 2147483647, border: '3px solid #ffcc00', boxShadow: '0 0 0 2px #000a', pointerEvents: 'none' });
    const label = document.createElement('div');
    Object.assign(label.style, { position: 'absolute', left: '0', top: '-1.7em', whiteSpace: 'nowrap', font: 'bold 14px system-ui, sans-serif', background: '#000c', color: '#fff', padding: '1px 6px', borderRadius: '3px' });
    if (r.error) {
      label.textContent = `toonid: ${r.error}`;
      Object.assign(card.style, { left: '10px', top: '40px', width: '1px', height: '1px' });
    } else {
      label.textContent = r.unknown || !r.answers.length ? 'Unknown character' : `${r.answers[0].name} (${r.answers[0].score.toFixed(2)})`;
      const [x, y, w, h] = r.box;
      Object.assign(card.style, { left: `${x}px`, top: `${y}px`, width: `${w}px`, height: `${h}px` });
    }
    card.append(label);
    document.documentElement.append(card);
    setTimeout(() => card?.remove(), 8000);
  }
})();
