// Options: the pack origin (chrome.storage.local, read by the background for every request), the
// taught characters (in the extension's IndexedDB, held by the offscreen document's worker) with
// Forget, and export/import in the demo's format (taught.js), so both share taught characters.
import { T, msg, PACK_BASE } from './messages.js';
import { isPackFile, saveBytes, toBase64, fromBase64 } from './packio.js';

const $ = (id) => document.getElementById(id);
const relay = async (type, data = {}) => {
  const r = await chrome.runtime.sendMessage(msg(T.RELAY, 'background', { type, data }));
  if (r && r.error) throw new Error(r.error);
  return r;
};

async function listTaught() {
  try {
    const { taught } = await relay(T.TAUGHT);
    $('taught').replaceChildren(...(taught.length ? taught.map((c) => {
      const li = document.createElement('li');
      const b = Object.assign(document.createElement('button'), { type: 'button', className: 'alt', textContent: 'Forget' });
      b.setAttribute('aria-label', `Forget ${c.name}`);
      b.addEventListener('click', async () => { await relay(T.FORGET, { id: c.id }); listTaught(); });
      li.append(`${c.name} (${c.examples} example${c.examples === 1 ? '' : 's'}${c.pack ? ', added to the pack character' : ''}) `, b);
      return li;
    }) : [Object.assign(document.createElement('li'), { className: 'hint', textContent: 'None yet.' })]));
  } catch (err) {
    $('taught').replaceChildren(Object.assign(document.createElement('li'), { textContent: `Could not read them: ${err.message}` }));
  }
  document.body.dataset.listed = String(Date.now()); // for the browser test
}

$('export').addEventListener('click', async () => {
  try {
    const { text } = await relay(T.EXPORT);
    const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(new Blob([text], { type: 'application/json' })), download: 'toonid-taught.json' });
    a.click();
    $('io').textContent = `Exported ${JSON.parse(text).characters.length} character(s).`;
  } catch (err) { $('io').textContent = `Could not export: ${err.message}`; }
});
$('export-pack').addEventListener('click', async () => {
  try {
    const { b64, characters } = await relay(T.EXPORT_PACK);
    saveBytes(fromBase64(b64));
    $('io').textContent = `Exported ${characters} character(s) as a pack.`;
  } catch (err) { $('io').textContent = `Could not export: ${err.message}`; }
});
$('import').addEventListener('change', async (e) => {
  const f = e.target.files[0];
  e.target.value = '';
  if (!f) return;
  try {
    const { imported } = await isPackFile(f)
      ? await relay(T.IMPORT_PACK, { b64: toBase64(await f.arrayBuffer()) })
      : await relay(T.IMPORT, { text: await f.text() });
    $('io').textContent = `Imported ${imported.map((c) => `${c.name} (${c.examples})`).join(', ') || 'nothing'}.`;
    listTaught();
  } catch (err) { $('io').textContent = `Could not import: ${err.message}`; }
});

$('base-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const v = $('base').value.trim();
  try {
    if (v) {
      const u = new URL(v);
      if (!/^https?:$/.test(u.protocol)) throw new Error('want an http(s) URL');
      if (!u.pathname.endsWith('/')) throw new Error('the store URL ends with / (…/v1/)');
      // Reading another origin from an extension page needs that origin's permission.
      if (!(await chrome.permissions.request({ origins: [`${u.origin}/*`] }))) throw new Error(`no permission to read ${u.origin}`);
    }
    await chrome.storage.local.set({ [PACK_BASE]: v });
    $('base-status').textContent = v ? `Saved: the next pick loads the pack from ${v}.` : 'Saved: the pack inside the extension.';
  } catch (err) { $('base-status').textContent = `Not saved: ${err.message}`; }
});

chrome.storage.local.get(PACK_BASE).then((s) => { $('base').value = s[PACK_BASE] || ''; });
listTaught();
