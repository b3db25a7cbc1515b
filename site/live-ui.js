// live-ui.js — the demo's live-mode toggle: a "Live names" button over a video; while on, the
// faces of the playing video carry names (live.js). Pausing leaves the boxes; a click on one
// names that face (onPick with the face: {box, crop, label, ...}).
import { startLive } from './live.js';

let active = null; // the one video with controls: opening another file replaces them

// liveControls puts the toggle in container (lying over the video's picture); getToonid returns
// the loaded API (null while it loads). keepOnPause as startLive's. A null video only removes the
// controls of the last one.
export function liveControls(video, { getToonid, container, onPick, onError, keepOnPause = true } = {}) {
  if (active) active.remove();
  if (!video) return null;
  const doc = video.ownerDocument;
  const button = doc.createElement('button');
  button.type = 'button';
  button.className = 'live-toggle';
  button.setAttribute('aria-pressed', 'false');
  button.textContent = 'Live names: off';
  Object.assign(button.style, { position: 'absolute', right: '8px', top: '8px', pointerEvents: 'auto', lineHeight: 'normal', font: '13px system-ui, sans-serif',
    padding: '4px 8px', borderRadius: '4px', border: '1px solid #fff8', background: '#000a', color: '#fff', cursor: 'pointer', zIndex: 2 });
  container.append(button);
  let lv = null, starting = false;
  const ac = new AbortController();
  // The page's own pointer handlers (click to identify, drag a box) never see the button's presses.
  for (const t of ['pointerdown', 'pointerup', 'mousedown', 'mouseup']) button.addEventListener(t, (e) => e.stopPropagation(), { signal: ac.signal });
  video.addEventListener('toonid:live-pick', (e) => onPick && onPick(e.detail.face), { signal: ac.signal });

  async function set(on) {
    if (starting) return;
    if (!on) {
      const old = lv;
      lv = null;
      if (old) await old.stop();
    } else {
      const id = getToonid();
      if (!id) { onError && onError(new Error('Still loading the model…')); return; }
      starting = true;
      button.textContent = 'Live names: starting…';
      try {
        lv = await startLive(video, id, { container, keepOnPause });
      } catch (err) {
        onError && onError(err);
      } finally { starting = false; }
      if (lv && video.paused) video.play().catch(() => {});
    }
    button.setAttribute('aria-pressed', String(!!lv));
    button.textContent = lv ? 'Live names: on' : 'Live names: off';
    video.dispatchEvent(new CustomEvent('toonid:live-mode', { detail: { on: !!lv } }));
  }
  button.addEventListener('click', (e) => { e.preventDefault(); e.stopPropagation(); set(!lv); }, { signal: ac.signal });

  active = {
    get on() { return !!lv; },
    get live() { return lv; },
    set,
    remove() { ac.abort(); if (lv) lv.stop(); lv = null; button.remove(); if (active === this) active = null; },
  };
  return active;
}
