// taught.js — characters taught in one browser, carried to another (the demo and the extension
// keep theirs apart: two origins, two IndexedDBs). The file holds the crops, not embeddings, so it
// works across models: the importing side re-embeds them.
//
// {"format": "toonid-taught", "version": 1, "exported": ISO date,
//  "characters": [{"name", "series", "pack": label id or null, "crops": ["data:image/png;base64,…", …],
//                  "exact": [indices of crops taught as exact sub-centres] (optional)}]}
//
// A "pack" character (examples added to a pack character) is imported under its name, which adds
// them to that character again if the importing side has the same pack.

export const FORMAT = 'toonid-taught';
// What a taught character may be (its name, how many examples, how many characters) is the
// bridge's to judge (wasm/bridge.MaxTaught*), through enroll: not repeated here. MAX_SIDE and
// MAX_FILE only bound what this file decodes.
const MAX_SIDE = 512, MAX_FILE = 64 << 20;

async function toPNG({ pix, w, h }) {
  const c = new OffscreenCanvas(w, h);
  c.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(pix), w, h), 0, 0);
  const b = new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(s)}`;
}

// exportTaught returns the JSON text of every character taught through api (toonid.load()).
export async function exportTaught(api) {
  const chars = await api.taught();
  const characters = [];
  // Characters imported from a pack have no crops: they travel as a pack (packio.js), not here.
  for (const c of chars.filter((x) => x.crops.length)) {
    const exact = c.crops.flatMap((x, i) => (x.exact ? [i] : []));
    characters.push({ name: c.name, series: c.series || '', pack: c.pack, crops: await Promise.all(c.crops.map(toPNG)), ...(exact.length && { exact }) });
  }
  return JSON.stringify({ format: FORMAT, version: 1, exported: new Date().toISOString(), characters });
}

// importTaught teaches every character of an exported file (text) through api; a name already
// known gains the examples. All or nothing: the whole file is read and every crop decoded before
// one api.enrollAll, which stores none of it when the bridge refuses any character (a name too
// long, too many characters). Returns [{name, examples}] as enroll reported them.
export async function importTaught(api, text) {
  if (text.length > MAX_FILE) throw new Error('taught characters: file too large');
  let doc;
  try { doc = JSON.parse(text); } catch { throw new Error('taught characters: not a JSON file'); }
  if (!doc || doc.format !== FORMAT || doc.version !== 1 || !Array.isArray(doc.characters)) throw new Error(`taught characters: not a ${FORMAT} version 1 file`);
  const items = [];
  try {
    for (const c of doc.characters) {
      if (!c || !Array.isArray(c.crops) || !c.crops.length) throw new Error('taught characters: a character without crops');
      const name = typeof c.name === 'string' ? c.name : '';
      const label = JSON.stringify(name.slice(0, 80));
      const sources = [];
      items.push({ name, sources });
      const exact = new Set(Array.isArray(c.exact) ? c.exact : []);
      for (const [i, url] of c.crops.entries()) {
        if (typeof url !== 'string' || !url.startsWith('data:image/png;base64,')) throw new Error(`taught characters: ${label}: a crop is not a PNG data URL`);
        const bmp = await createImageBitmap(await (await fetch(url)).blob());
        sources.push(exact.has(i) ? { source: bmp, exact: true } : bmp);
        if (bmp.width > MAX_SIDE || bmp.height > MAX_SIDE) throw new Error(`taught characters: ${label}: a crop is larger than ${MAX_SIDE} px`);
      }
    }
    if (!items.length) return [];
    return (await api.enrollAll(items)).map((r) => ({ name: r.name, examples: r.examples }));
  } finally {
    for (const it of items) for (const b of it.sources) (b.source || b).close();
  }
}
