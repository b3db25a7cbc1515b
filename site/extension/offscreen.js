// The offscreen document hosts the same Web Worker and API as the demo page; the model, the wasm
// and the default pack ship inside the extension under v1/ and are verified like any download.
// Offscreen documents only get chrome.runtime, so the background passes the pack origin (`base`,
// from the options page; '' = the copy inside the extension) with every message.
import * as toonid from './toonid.js';
import { T } from './messages.js';
import { exportTaught, importTaught } from './taught.js';
import { toBase64, fromBase64 } from './packio.js';

// One load shared by every request; a failed load is forgotten, so the next request tries again
// (a load that failed once, say while the disk was full, must not fail every pick until restart).
// Another pack origin than the loaded one closes the instance and loads from the new one.
let loading = null, loadedBase = null;
function api(base = '') {
  const want = base || 'v1/';
  if (loading && loadedBase !== want) {
    loading.then((id) => id.close(), () => {});
    loading = null;
  }
  loadedBase = want;
  return (loading ||= toonid.load({ base: want, pack: 'default' }).catch((err) => { loading = null; throw err; }));
}

async function bitmap(url) {
  return createImageBitmap(await (await fetch(url)).blob());
}

const handlers = {
  async [T.IDENTIFY](id, { image, x, y, box }) {
    const bmp = await bitmap(image);
    try {
      return await id.identify(bmp, box ? { box } : { x, y });
    } finally { bmp.close(); }
  },
  async [T.IDENTIFY_ALL](id, { image }) {
    const bmp = await bitmap(image);
    try {
      return { faces: await id.identifyAll(bmp) };
    } finally { bmp.close(); }
  },
  async [T.TEACH](id, { name, image, box }) {
    const bmp = await bitmap(image);
    try {
      const views = await id.views(box, bmp.width, bmp.height);
      return await id.enroll(name, views.map((b) => ({ source: bmp, box: b })));
    } finally { bmp.close(); }
  },
  // Live names: the frame (a JPEG of the video's frame, or a tab screenshot with the picture's
  // rect, device px, drawn into w x h so boxes come back in the same pixels either way).
  async [T.LIVE_START](id, { every }) { return id.liveStart({ every }); },
  async [T.LIVE_FRAME](id, { image, t, crop, w, h }) {
    let bmp = await bitmap(image);
    if (crop) {
      const c = new OffscreenCanvas(w, h);
      // A picture partly out of view: drawImage clips the source rect and leaves the rest empty.
      c.getContext('2d').drawImage(bmp, crop.x, crop.y, crop.w, crop.h, 0, 0, w, h);
      bmp.close();
      bmp = c.transferToImageBitmap();
    }
    return id.liveFrame(bmp, t); // transferred to the worker, which closes it
  },
  async [T.LIVE_STOP](id) { return id.liveStop(); },
  async [T.TAUGHT](id) { return { taught: (await id.packs()).taught, characters: id.loadInfo.credits.map((c) => c.name) }; },
  async [T.FORGET](id, { id: cid }) { return id.forget(cid); },
  async [T.EXPORT](id) { return { text: await exportTaught(id) }; },
  async [T.IMPORT](id, { text }) { return { imported: await importTaught(id, text) }; },
  // Messages are JSON: the archive's bytes travel as base64.
  async [T.EXPORT_PACK](id) { const { bytes, characters } = await id.exportPack(); return { b64: toBase64(bytes), characters }; },
  async [T.IMPORT_PACK](id, { b64 }) { return { imported: await id.importPack(fromBase64(b64)) }; },
};

chrome.runtime.onMessage.addListener((m, _sender, reply) => {
  if (m?.target !== 'offscreen' || !handlers[m.type]) return false;
  (async () => handlers[m.type](await api(m.data.base), m.data))().then(reply, (e) => reply({ error: String(e.message || e) }));
  return true; // async reply
});
