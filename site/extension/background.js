// toonid extension service worker. No state lives in globals: the offscreen document is found
// with runtime.getContexts, and a creation in progress is shared through one memoised promise.
import { T, msg } from './messages.js';

const OFFSCREEN = 'offscreen.html';
let creating = null; // memoised offscreen creation (not state: it only dedupes concurrent calls)

chrome.runtime.onInstalled.addListener(() => {
  chrome.contextMenus.create({ id: 'toonid-pick', title: 'Name a character on this page', contexts: ['page', 'image', 'video'] });
});

chrome.contextMenus.onClicked.addListener((info, tab) => { if (info.menuItemId === 'toonid-pick') startPick(tab); });
chrome.action.onClicked.addListener((tab) => startPick(tab));

chrome.runtime.onMessage.addListener((m, sender, reply) => {
  if (m?.target !== 'background') return false;
  if (m.type === T.PICKED && sender.tab) {
    identifyTab(sender.tab, m.data).then(
      (r) => chrome.tabs.sendMessage(sender.tab.id, msg(T.SHOW, 'content', r)),
      (e) => chrome.tabs.sendMessage(sender.tab.id, msg(T.SHOW, 'content', { error: String(e.message || e) })));
  }
  return false;
});

async function startPick(tab) {
  await chrome.scripting.executeScript({ target: { tabId: tab.id }, files: ['content.js'] });
  await chrome.tabs.sendMessage(tab.id, msg(T.PICK, 'content', {}));
}

// identifyTab screenshots the visible tab (activeTab grants it; no cross-origin pixel access is
// needed) and names the face at the picked point.
async function identifyTab(tab, { x, y, dpr }) {
  const image = await chrome.tabs.captureVisibleTab(tab.windowId, { format: 'png' });
  const r = await identify(image, x * dpr, y * dpr);
  return { ...r, box: r.box.map((v) => v / dpr) };
}

// identify is also what the browser test calls (through the service worker) with its own image.
export async function identify(image, x, y) {
  await ensureOffscreen();
  const r = await chrome.runtime.sendMessage(msg(T.IDENTIFY, 'offscreen', { image, x, y }));
  if (!r || r.error) throw new Error(r ? r.error : 'toonid: no answer from the offscreen document');
  return r;
}
self.toonidIdentify = identify;

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
