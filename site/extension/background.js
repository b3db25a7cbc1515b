// toonid extension service worker. No state lives in globals: the offscreen document is found
// with runtime.getContexts, and a creation in progress is shared through one memoised promise.
// The last answer (with the crop around it, for "Teach" and "Wrong?") is kept in
// chrome.storage.session, where the popup reads it; the pack origin is in chrome.storage.local.
import { T, msg, LAST, PACK_BASE } from './messages.js';
import { verdict, label as wordLabel } from './verdict.js';

const OFFSCREEN = 'offscreen.html';
let creating = null; // memoised offscreen creation (not state: it only dedupes concurrent calls)

chrome.runtime.onInstalled.addListener(() => {
  chrome.contextMenus.create({ id: 'toonid-pick', title: 'Name a character on this page', contexts: ['page', 'image', 'video'] });
});

chrome.contextMenus.onClicked.addListener((info, tab) => { if (info.menuItemId === 'toonid-pick') startPick(tab); });

chrome.runtime.onMessage.addListener((m, sender, reply) => {
  if (m?.target !== 'background') return false;
  if (m.type === T.PICKED && sender.tab) {
    identifyTab(sender.tab, m.data).then(
      (r) => chrome.tabs.sendMessage(sender.tab.id, msg(T.SHOW, 'content', r)),
      (e) => chrome.tabs.sendMessage(sender.tab.id, msg(T.SHOW, 'content', { error: String(e.message || e) })));
    return false;
  }
  if (m.type === T.SCAN && sender.tab) {
    capture(sender.tab)
      .then((image) => facesOn(image, m.data.video, m.data.dpr))
      .then((faces) => chrome.tabs.sendMessage(sender.tab.id, msg(T.FACES, 'content', { faces })), (e) => {
        console.warn(`toonid: faces: ${e.message || e}`);
        chrome.tabs.sendMessage(sender.tab.id, msg(T.FACES, 'content', { faces: [] })); // content.js shows its live names again
      });
    return false;
  }
  if (m.type === T.FACE && sender.tab) {
    capture(sender.tab)
      .then((image) => faceOn(image, m.data.face, m.data.dpr, sender.tab.url)).then(
        (r) => chrome.tabs.sendMessage(sender.tab.id, msg(T.SHOW, 'content', r)),
        (e) => chrome.tabs.sendMessage(sender.tab.id, msg(T.SHOW, 'content', { error: String(e.message || e) })));
    return false;
  }
  const answer = (p) => { p.then(reply, (e) => reply({ error: String(e.message || e) })); return true; };
  if (m.type === T.START_PICK) return answer(chrome.tabs.get(m.data.tabId).then(startPick));
  if (m.type === T.START_LIVE) return answer(chrome.tabs.get(m.data.tabId).then(startLive));
  if (m.type === T.LIVE_START || m.type === T.LIVE_FRAME || m.type === T.LIVE_STOP) return answer(offscreen(m.type, m.data));
  if (m.type === T.LIVE_CAPTURE && sender.tab) return answer(liveCapture(sender.tab, m.data));
  if (m.type === T.TEACH) return answer(teach(m.data.name));
  if (m.type === T.RELAY) return answer(offscreen(m.data.type, m.data.data));
  return false;
});

async function startPick(tab) {
  await chrome.scripting.executeScript({ target: { tabId: tab.id }, files: ['content.js'] });
  await chrome.tabs.sendMessage(tab.id, msg(T.PICK, 'content', {}));
}

// startLive turns live names on for the tab's main video (content.js picks it: the largest in view).
async function startLive(tab) {
  await chrome.scripting.executeScript({ target: { tabId: tab.id }, files: ['content.js'] });
  return chrome.tabs.sendMessage(tab.id, msg(T.LIVE, 'content', {}));
}
self.toonidStartLive = async (tabId) => startLive(await chrome.tabs.get(tabId)); // the browser test's way in

// Chrome allows captureVisibleTab about twice a second per extension
// (MAX_CAPTURE_VISIBLE_TAB_CALLS_PER_SECOND): live names on a video the page may not read
// screenshot at that rate, and a pause's scan or a click right after one waits its turn.
const CAPTURE_GAP_MS = 520;

async function capture(tab, format = 'png') {
  for (let i = 0; ; i++) {
    try {
      return await chrome.tabs.captureVisibleTab(tab.windowId, format === 'jpeg' ? { format, quality: 85 } : { format });
    } catch (e) {
      if (i >= 3 || !/MAX_CAPTURE_VISIBLE_TAB_CALLS_PER_SECOND/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, CAPTURE_GAP_MS));
    }
  }
}

// liveCapture names the faces of a video content.js cannot read (a cross-origin one without CORS):
// a screenshot of the tab, cropped in the offscreen document to the video's picture (rect, CSS
// px) at w x h, the frame size the content script's live mode expects.
async function liveCapture(tab, { rect, dpr, w, h, t }) {
  const image = await capture(tab, 'jpeg');
  chrome.tabs.sendMessage(tab.id, msg(T.LIVE_SHOT, 'content', {})).catch(() => {}); // it shows its boxes again
  const crop = { x: rect.left * dpr, y: rect.top * dpr, w: rect.width * dpr, h: rect.height * dpr };
  return offscreen(T.LIVE_FRAME, { image, crop, w, h, t });
}

// identifyTab screenshots the visible tab (activeTab grants it; no cross-origin pixel access is
// needed), names the face at the picked point and remembers the answer for the popup.
// When the click paused a video (video: its rect), the same screenshot's faces in that video are
// boxed too, and a click inside one of them answers for that face instead of searching.
async function identifyTab(tab, { x, y, dpr, video }) {
  const image = await capture(tab);
  const faces = video ? await facesOn(image, video, dpr) : [];
  const f = faces.filter(({ box: b }) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h).sort((a, b) => a.box.w * a.box.h - b.box.w * b.box.h)[0];
  if (f) return { ...(await faceOn(image, f, dpr, tab.url)), faces };
  const r = await pickAt(image, x * dpr, y * dpr, tab.url);
  return { ...r, box: r.box.map((v) => v / dpr), faces };
}

// facesOn names every face the detector finds on a screenshot whose centre lies in rect (a paused
// video's box), all in CSS px: {box: {x, y, w, h}, crop: [x, y, w, h], label (top name or "?"),
// answers, unknown, best, threshold}. A build without a detector boxes none: the click still searches.
async function facesOn(image, rect, dpr) {
  let r;
  try { r = await offscreen(T.IDENTIFY_ALL, { image }); } catch (e) { console.warn(`toonid: faces: ${e.message || e}`); return []; }
  return r.faces.map((f) => {
    const b = { x: f.box.x / dpr, y: f.box.y / dpr, w: f.box.w / dpr, h: f.box.h / dpr };
    const v = verdict(f);
    return { box: b, crop: f.crop.map((c) => c / dpr), label: v.kind === 'known' ? v.best.name : '?', answers: f.answers, unknown: f.unknown, best: f.best, threshold: f.threshold };
  }).filter(({ box: b }) => {
    const cx = b.x + b.w / 2, cy = b.y + b.h / 2;
    return cx >= rect.left && cx < rect.right && cy >= rect.top && cy < rect.bottom;
  });
}
self.toonidFacesAt = (image, rect, dpr = 1) => facesOn(image, rect, dpr); // the browser test's way in

// faceOn answers for a boxed face (facesOn's, CSS px) as a pick would: the square that was
// embedded, inside the screenshot, is the answer's box and what the popup's crop and teaching use.
async function faceOn(image, face, dpr, pageURL = '') {
  const bmp = await createImageBitmap(await (await fetch(image)).blob());
  const W = bmp.width, H = bmp.height;
  bmp.close();
  const [cx, cy, cw, ch] = face.crop.map((v) => v * dpr);
  const x = Math.max(0, cx), y = Math.max(0, cy);
  const box = [x, y, Math.min(W, cx + cw) - x, Math.min(H, cy + ch) - y];
  const r = { answers: face.answers, unknown: face.unknown, threshold: face.threshold, score: face.best, box, candidates: 1, face: true };
  await remember(r, image, pageURL);
  const v = verdict(r);
  return { box: box.map((c) => c / dpr), kind: v.kind, label: wordLabel(v), answers: r.answers, unknown: r.unknown, face: true };
}
self.toonidFaceAt = (image, face, dpr = 1) => faceOn(image, face, dpr, 'test');

// pickAt identifies at a point of a screenshot and stores the answer; what the content script
// draws comes back: the verdict's wording (verdict.js, as in the demo) and the box.
async function pickAt(image, x, y, pageURL = '') {
  const r = await identify(image, x, y);
  await remember(r, image, pageURL);
  const v = verdict(r);
  return { box: r.box, kind: v.kind, label: wordLabel(v), answers: r.answers, unknown: r.unknown };
}
self.toonidPickAt = pickAt; // the browser test's way in (the page click needs a user gesture)

// identify is also what the browser test calls (through the service worker) with its own image.
export async function identify(image, x, y) {
  return offscreen(T.IDENTIFY, { image, x, y });
}
self.toonidIdentify = identify;

async function offscreen(type, data) {
  await ensureOffscreen();
  const base = (await chrome.storage.local.get(PACK_BASE))[PACK_BASE] || '';
  const r = await chrome.runtime.sendMessage(msg(type, 'offscreen', { ...data, base }));
  if (!r || r.error) throw new Error(r ? r.error : 'toonid: no answer from the offscreen document');
  return r;
}

// remember keeps the answer and the screenshot region around its box (the box grown by 40% on
// each side, at most 400 px): enough for the teaching views (shifted 18%, scaled 1.2x) without
// keeping whole screenshots in session storage.
async function remember(r, image, pageURL) {
  const bmp = await createImageBitmap(await (await fetch(image)).blob());
  const [bx, by, bw, bh] = r.box;
  const gx = 0.4 * bw, gy = 0.4 * bh;
  const x0 = Math.max(0, Math.floor(bx - gx)), y0 = Math.max(0, Math.floor(by - gy));
  const x1 = Math.min(bmp.width, Math.ceil(bx + bw + gx)), y1 = Math.min(bmp.height, Math.ceil(by + bh + gy));
  const f = Math.min(1, 400 / Math.max(x1 - x0, y1 - y0));
  const c = new OffscreenCanvas(Math.max(1, Math.round((x1 - x0) * f)), Math.max(1, Math.round((y1 - y0) * f)));
  c.getContext('2d').drawImage(bmp, x0, y0, x1 - x0, y1 - y0, 0, 0, c.width, c.height);
  bmp.close();
  const region = await dataURL(await c.convertToBlob({ type: 'image/png' }));
  const box = [(bx - x0) * f, (by - y0) * f, bw * f, bh * f].map((v) => Math.round(v));
  await chrome.storage.session.set({ [LAST]: { answer: r, region, box, pageURL, at: Date.now() } });
}

async function dataURL(blob) {
  const b = new Uint8Array(await blob.arrayBuffer());
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return `data:${blob.type};base64,${btoa(s)}`;
}

// teach stores the last answer's crop (and its neighbours) under name, then names that box again
// so the popup shows what was learned.
async function teach(name) {
  const last = (await chrome.storage.session.get(LAST))[LAST];
  if (!last) throw new Error('toonid: nothing to teach yet: pick a face first');
  const taught = await offscreen(T.TEACH, { name, image: last.region, box: last.box });
  const again = await offscreen(T.IDENTIFY, { image: last.region, box: last.box });
  await chrome.storage.session.set({ [LAST]: { ...last, answer: { ...again, box: last.answer.box }, taught } });
  return taught;
}

async function ensureOffscreen() {
  const url = chrome.runtime.getURL(OFFSCREEN);
  const have = await chrome.runtime.getContexts({ contextTypes: ['OFFSCREEN_DOCUMENT'], documentUrls: [url] });
  if (have.length) return;
  if (!creating) {
    creating = chrome.offscreen.createDocument({ url: OFFSCREEN, reasons: ['WORKERS'], justification: 'runs the toonid wasm model in a Web Worker' })
      .finally(() => { creating = null; });
  }
  await creating;
}
