// The offscreen document hosts the same Web Worker and API as the demo page; the model, the wasm
// and the default pack ship inside the extension under v1/ and are verified like any download.
import * as toonid from './toonid.js';
import { T } from './messages.js';

// One load shared by every request; a failed load is forgotten, so the next request tries again
// (a load that failed once, say while the disk was full, must not fail every pick until restart).
let loading = null;
const api = () => (loading ||= toonid.load({ base: 'v1/', pack: 'default' }).catch((err) => { loading = null; throw err; }));

chrome.runtime.onMessage.addListener((m, _sender, reply) => {
  if (m?.target !== 'offscreen' || m.type !== T.IDENTIFY) return false;
  (async () => {
    const id = await api();
    const blob = await (await fetch(m.data.image)).blob();
    const bmp = await createImageBitmap(blob);
    try {
      return await id.identify(bmp, { x: m.data.x, y: m.data.y });
    } finally { bmp.close(); }
  })().then(reply, (e) => reply({ error: String(e.message || e) }));
  return true; // async reply
});
