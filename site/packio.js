// packio.js — taught characters as a pack: the same pack format the server serves (pack/FORMAT.md),
// in its one-file form (a tar of the pack's files, manifest.json, then SHA256SUMS). The wasm's Go
// pack writer builds it and its reader verifies it (worker.js exportPack / importPack); this file
// only moves the bytes: download, file picker, and base64 for the extension's messages.
//
// A file of this kind can be imported in another browser (demo or extension), or served by
// `toonid serve` after `toonid pack import FILE -store DIR` (site/README.md).

export const PACK_FILE = 'taught.toonid-pack.tar';

// isPackFile tells a pack archive from the toonid-taught JSON by content: a tar's header carries
// "ustar" at byte 257 (POSIX ustar, which the Go writer uses).
export async function isPackFile(file) {
  const head = new Uint8Array(await file.slice(257, 262).arrayBuffer());
  return String.fromCharCode(...head) === 'ustar';
}

// downloadPack asks the worker for the pack of everything taught here and downloads it;
// returns the number of characters in it.
export async function downloadPack(api, doc = document) {
  const { bytes, characters } = await api.exportPack();
  saveBytes(bytes, doc);
  return characters;
}

// saveBytes downloads a pack archive's bytes as PACK_FILE.
export function saveBytes(bytes, doc = document) {
  const a = Object.assign(doc.createElement('a'), { href: URL.createObjectURL(new Blob([bytes], { type: 'application/x-tar' })), download: PACK_FILE });
  doc.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// importPackFile teaches a pack archive file through api (all or nothing): [{name, examples}].
export async function importPackFile(api, file) {
  return api.importPack(await file.arrayBuffer());
}

// mountPackExport puts an "Export as a pack…" button after `after` (the JSON export button),
// reporting in `status`; the import input learns to take .tar as well.
export function mountPackExport({ after, input, status, api }) {
  const b = Object.assign(document.createElement('button'), { type: 'button', id: `${after.id}-pack`, textContent: 'Export as a pack…' });
  b.title = 'One file in the pack format: import it in another browser, or serve it with toonid serve';
  b.addEventListener('click', async () => {
    const id = api();
    if (!id) return;
    try {
      status.textContent = `Exported ${await downloadPack(id)} character(s) as a pack (${PACK_FILE}).`;
    } catch (err) { status.textContent = `Could not export: ${err.message}`; }
  });
  after.after(' ', b);
  if (input) input.accept = `${input.accept},.tar,application/x-tar`;
  return b;
}

// toBase64 / fromBase64 carry the bytes through the extension's JSON messages.
export function toBase64(bytes) {
  const b = new Uint8Array(bytes);
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text) {
  const s = atob(text);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b.buffer;
}
