// live-ui.js — the live-mode toggle of the demo, overlay.js and the extension: a "Live names"
// button over a video; while on, the faces of the playing video carry names (live.js). Pausing
// leaves the boxes (or, with keepOnPause false, leaves the paused frame to the page's own boxes);
// a click on one names that face (onPick with the face: {box, crop, label, ...});
// mountVideoTeach adds the card's "Teach from this video".
import { startLive, teachFromVideo } from './live.js';

let active = null; // the one video with exclusive controls: opening another file replaces them

// liveControls puts the toggle in container (lying over the video's picture); getToonid returns
// the loaded API (null while it loads). keepOnPause as startLive's. A null video only removes the
// controls of the last one. bar: an element the button goes in instead (a toolbar beside other
// buttons), in its flow. exclusive (default): these controls replace the last exclusive ones, as
// the demo's one video; overlay.js gives each attached video its own (startLive still runs one
// live session per API at a time: starting one turns the other's toggle off). trusted: only a
// real click toggles (the extension's: a page's synthetic click must not start tab screenshots).
export function liveControls(video, { getToonid, container, bar, onPick, onError, keepOnPause = true, exclusive = true, trusted = false } = {}) {
  if (exclusive && active) active.remove();
  if (!video) return null;
  const doc = video.ownerDocument;
  const button = doc.createElement('button');
  button.type = 'button';
  button.className = 'live-toggle';
  button.setAttribute('aria-pressed', 'false');
  button.textContent = 'Live names: off';
  button.title = 'While the video plays, show who each face is, following it';
  Object.assign(button.style, { pointerEvents: 'auto', lineHeight: 'normal', font: '13px system-ui, sans-serif',
    padding: '4px 8px', borderRadius: '4px', border: '1px solid #fff8', background: '#000a', color: '#fff', cursor: 'pointer', zIndex: 2 },
  bar ? {} : { position: 'absolute', right: '8px', top: '8px' });
  (bar || container).append(button);
  let lv = null, starting = false;
  const ac = new AbortController();
  // The page's own pointer handlers (click to identify, drag a box) never see the button's presses.
  for (const t of ['pointerdown', 'pointerup', 'mousedown', 'mouseup']) button.addEventListener(t, (e) => e.stopPropagation(), { signal: ac.signal });
  video.addEventListener('toonid:live-pick', (e) => onPick && onPick(e.detail.face), { signal: ac.signal });
  const show = () => {
    button.setAttribute('aria-pressed', String(!!lv));
    button.textContent = lv ? 'Live names: on' : 'Live names: off';
  };

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
        // Stopped from elsewhere (another video's live on the same API): the toggle says so.
        const mine = await startLive(video, id, { container, keepOnPause, onStop: () => { if (lv === mine) { lv = null; show(); notify(); } } });
        lv = mine;
      } catch (err) {
        onError && onError(err);
      } finally { starting = false; }
      if (lv && video.paused) video.play().catch(() => {});
    }
    show();
    notify();
  }
  const notify = () => video.dispatchEvent(new CustomEvent('toonid:live-mode', { detail: { on: !!lv } }));
  button.addEventListener('click', (e) => { e.preventDefault(); e.stopPropagation(); if (!trusted || e.isTrusted) set(!lv); }, { signal: ac.signal });

  const controls = {
    get on() { return !!lv; },
    get live() { return lv; },
    set,
    get button() { return button; },
    remove() { ac.abort(); const old = lv; lv = null; if (old) old.stop(); button.remove(); if (active === this) active = null; },
  };
  if (exclusive) active = controls;
  return controls;
}

// mountVideoTeach adds "Teach from this video" to the demo's card: on a paused video, the card's
// face is followed through the whole clip off-screen (live.js teachFromVideo) and taught under the
// name typed in the card's name field, with a progress bar and a Cancel button; the card then says
// how many crops from how many seconds were taught. A cancelled run teaches nothing (the worker
// drops what it gathered). target() returns {video, box} (the card's crop, video pixels) when the
// card shows a paused video's face, else null; api() the loaded toonid API; onTaught(result) runs
// after a teach so the page can name its faces again. update() is called whenever the card is
// redrawn. Returns {update, running}.
export function mountVideoTeach({ form, nameInput, target, api, onTaught }) {
  const doc = form.ownerDocument;
  const wrap = doc.createElement('div');
  wrap.className = 'video-teach';
  wrap.hidden = true;
  const button = Object.assign(doc.createElement('button'), { type: 'button', className: 'teach-video', textContent: 'Teach from this video' });
  button.title = 'Follow this face through the whole clip and learn it from every pose it shows';
  const bar = Object.assign(doc.createElement('progress'), { max: 1, value: 0, hidden: true });
  bar.setAttribute('aria-label', 'Teaching from the video');
  const cancel = Object.assign(doc.createElement('button'), { type: 'button', className: 'teach-video-cancel', textContent: 'Cancel', hidden: true });
  const status = Object.assign(doc.createElement('p'), { className: 'hint teach-video-status' });
  status.setAttribute('role', 'status');
  const row = doc.createElement('div');
  row.className = 'row-buttons';
  row.append(button, bar, cancel);
  wrap.append(row, status);
  form.append(wrap);

  let run = null; // {ac} while a teach runs
  const busy = (on) => { button.disabled = on; bar.hidden = !on; cancel.hidden = !on; };

  button.addEventListener('click', async () => {
    const t = target(), id = api(), name = nameInput.value.trim();
    if (!t || !id || run) return;
    if (!name) { status.textContent = 'Type the name first, then teach from the video.'; nameInput.focus(); return; }
    const ac = new AbortController();
    run = { ac };
    busy(true);
    bar.value = 0;
    status.textContent = `Following this face through the video to teach "${name}"…`;
    try {
      const r = await teachFromVideo(t.video, id, { box: t.box, name, signal: ac.signal,
        onProgress: (p) => { bar.value = p.fraction; status.textContent = `Following this face through the video: ${p.kept} crop${p.kept === 1 ? '' : 's'} so far (at ${p.t.toFixed(1)} s)…`; } });
      const secs = r.seconds.toFixed(1);
      status.textContent = `Learned ${r.taught.name} from ${r.crops} crop${r.crops === 1 ? '' : 's'} over ${secs} second${secs === '1.0' ? '' : 's'} of the video.`;
      nameInput.value = '';
      wrap.dataset.result = JSON.stringify({ name: r.taught.name, crops: r.crops, seconds: r.seconds });
      if (onTaught) onTaught(r);
    } catch (err) {
      status.textContent = err.name === 'AbortError' ? 'Cancelled: nothing was taught.' : `Could not teach from the video: ${err.message}`;
    } finally {
      run = null;
      busy(false);
    }
  });
  cancel.addEventListener('click', () => { if (run) { status.textContent = 'Cancelling…'; run.ac.abort(); } });

  return {
    get running() { return !!run; },
    update() {
      wrap.hidden = !target() && !run;
      if (!run) { status.textContent = ''; delete wrap.dataset.result; }
    },
  };
}
