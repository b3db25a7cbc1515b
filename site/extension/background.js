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
  const answer = (p) => { p.then(reply, (e) => reply({ error: String(e.message || e) })); return true; };
  if (m.type === T.START_PICK) return answer(chrome.tabs.get(m.data.tabId).then(startPick));
  if (m.type === T.TEACH) return answer(teach(m.data.name));
  if (m.type === T.RELAY) return answer(offscreen(m.data.type, m.data.data));
  return false;
});

async function startPick(tab) {
  await chrome.scripting.executeScript({ target: { tabId: tab.id }, files: ['content.js'] });
  await chrome.tabs.sendMessage(tab.id, msg(T.PICK, 'content', {}));
}

// identifyTab screenshots the visible tab (activeTab grants it; no cross-origin pixel access is
// needed), names the face at the picked point and remembers the answer for the popup.
async function identifyTab(tab, { x, y, dpr }) {
  const image = await chrome.tabs.captureVisibleTab(tab.windowId, { format: 'png' });
  const r = await pickAt(image, x * dpr, y * dpr, tab.url);
  return { ...r, box: r.box.map((v) => v / dpr) };
}

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
