// toonid Web Worker: downloads (sha256-verified, cached by content hash), runs the Go wasm bridge,
// keeps user-taught characters in IndexedDB. The page talks to it only through site/toonid.js.
// Classic worker (importScripts) so it also runs where module workers are missing.
'use strict';

importScripts('wasm_exec.js', 'assets.js', 'worker-live.js');

// BRIDGE_VERSION is the protocol this worker speaks, stamped by site/tools/build.mjs from
// wasm/bridge.Version (the one place it is written; build.json carries the same number). The
// wasm module and build.json must report it too: a mismatch means a stale cached page or wasm,
// and we refuse to run rather than mis-read messages. Unstamped (not built), it is NaN and
// nothing matches.
const BRIDGE_VERSION = Number('@BRIDGE@');
const DB_NAME = 'toonid';
const DB_STORE = 'characters';

let state = null; // {bridge, info, manifest, packName, modelSha, secondary}

self.onmessage = async (ev) => {
  const { id, type, data } = ev.data;
  try {
    let result, transfer = []; // transfer: buffers handed over, not copied (taught crops)
    switch (type) {
      case 'load': result = await load(data, id); break;
      case 'identify': result = identify(data); break;
      case 'detect': result = await detect(data); break;
      case 'identifyAll': result = await identifyAll(data, id); break;
      case 'identifyFaces': result = identifyFaces(data); break;
      case 'reloadUser': result = { user: (await loadUser()).length }; break;
      case 'views': result = views(data); break;
      case 'enroll': result = await enroll(data); break;
      case 'forget': result = await forget(data); break;
      case 'packs': result = await packs(); break;
      case 'taught': ({ result, transfer } = await taught()); break;
      case 'exportPack': ({ result, transfer } = await exportPack()); break;
      case 'importPack': result = await importPack(data); break;
      case 'thumbnail': result = await thumbnail(data); transfer = result ? [result] : []; break;
      default:
        if (Object.hasOwn(LIVE, type)) { result = await LIVE[type](data); break; } // worker-live.js
        throw new Error(`toonid worker: unknown message type ${JSON.stringify(type)}`);
    }
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err && err.message || err) });
  }
};

function progress(id, p) { self.postMessage({ id, progress: p }); }

// role 'secondary': a second worker of toonid.js's pool, started after the first has stored every
// download, so each file comes from Cache Storage (re-verified) and nothing is fetched twice. It
// only names faces the first one detected (identifyFaces) and reads the taught characters
// (never writes them); it loads no detector and records nothing for the service worker.
async function load({ base, pack, siteURL, wasm: want = 'auto', role = 'primary' }, id) {
  if (state) throw new Error('toonid worker: already loaded');
  if (role !== 'primary' && role !== 'secondary') throw new Error(`toonid: load role ${JSON.stringify(role)}: want primary or secondary`);
  const secondary = role === 'secondary';
  const t0 = performance.now();
  const phases = {};
  let tp = t0;
  const phase = (name) => { const t = performance.now(); phases[name] = Math.round(t - tp); tp = t; };
  // Cache writes finish in the background; the page hears 'cached' when all are done, or 'cached'
  // with the error when one failed (so its promise settles either way).
  const stores = [];
  const onStored = (p) => stores.push(p);
  // IndexedDB opens while the downloads run; without it (some private modes) the pack still works.
  const userRecords = readUser().catch((err) => {
    self.postMessage({ log: `toonid: taught characters unavailable: ${err && err.message}` });
    return null;
  });
  const baseURL = new URL(base, siteURL).href;
  const [{ doc: build }, { doc: manifest, offline }] = await Promise.all([
    fetchJSON(new URL('build.json', siteURL).href, { onStored, check: checkBuild }),
    fetchJSON(new URL(`packs/${encodeURIComponent(pack)}/manifest.json`, baseURL).href, { onStored, check: parseManifest }),
  ]);
  phase('documents');
  if (build.bridge !== BRIDGE_VERSION) {
    throw new Error(`toonid: build.json is for bridge version ${build.bridge}, this worker speaks ${BRIDGE_VERSION}; reload the page`);
  }
  const m = parseManifest(manifest);

  if (!['auto', 'simd', 'scalar'].includes(want)) throw new Error(`toonid: wasm option ${JSON.stringify(want)}: want auto, simd or scalar`);
  const simd = want === 'auto' ? WebAssembly.validate(SIMD_PROBE) : want === 'simd';
  const wasm = simd ? build.wasm.simd : build.wasm.scalar;
  const files = contentURLs({ build, m, siteURL, base, pack, simd });
  let total = files.reduce((a, f) => a + (f.bytes || 0), 0);
  let loaded = 0, fromCache = 0;
  const onBytes = (n, cached) => {
    loaded += n;
    if (cached) fromCache += n;
    progress(id, { loaded, total, phase: 'download' });
  };
  progress(id, { loaded: 0, total, phase: 'download' });
  const pending = files.map((f) => fetchVerified(f.url, f.sha256, {
    onBytes,
    onStored,
    digest: f.digest,
    // Sizes the manifest does not give (the model's) join the total when their response arrives.
    onSize: f.bytes ? undefined : (n) => { if (!f.sized) { f.sized = true; total += n; } },
    check: f.what === 'wasm' ? (buf, res) => {
      const b = new Uint8Array(buf, 0, 4);
      if (b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) {
        throw new Error(`${f.url}: not a wasm module (content-type ${res.headers.get('content-type')}, first bytes ${firstBytes(buf)})`);
      }
    } : undefined,
  }));
  // Compile the wasm once its bytes are verified, while the model and shards still download.
  const compiled = pending[0].then((buf) => WebAssembly.compile(buf));
  compiled.catch(() => {}); // reported through Promise.all below
  const bufs = await Promise.all(pending);
  phase('download+verify');

  progress(id, { loaded, total, phase: 'start' });
  const go = new Go();
  const module = await compiled;
  phase('compile (after download)');
  const instance = await WebAssembly.instantiate(module, go.importObject);
  go.run(instance).then(() => { state = null; });
  const bridge = self.toonidBridge;
  if (!bridge) throw new Error('toonid: the wasm module did not register its bridge');
  if (bridge.version !== BRIDGE_VERSION) {
    throw new Error(`toonid: wasm bridge version ${bridge.version}, worker expects ${BRIDGE_VERSION}`);
  }
  phase('instantiate+Go start');
  const packFiles = {};
  files.forEach((f, i) => { if (f.name) packFiles[f.name] = new Uint8Array(bufs[i]); });
  const info = call(bridge.init(new Uint8Array(bufs[1]), JSON.stringify(manifest), packFiles));
  if (info.model.sha256 !== m.model.sha256) {
    throw new Error(`toonid: manifest names model ${m.model.sha256} but the loaded model is ${info.model.sha256}`);
  }
  state = { bridge, info, manifest, packName: pack, modelSha: info.model.sha256, simd, baseURL, secondary };
  if (!secondary) onStored(rememberLoad({ siteURL, base, pack })); // what sw.js precaches
  phase('model+pack init');
  const records = await userRecords;
  const user = records ? await loadUser(records) : [];
  phase('taught characters');
  // One throw-away single-crop identification: it makes the engine tier up the hot kernels
  // (compiled in the background) and grows the Go heap, so the first real click runs warm.
  const tw = performance.now();
  call(bridge.identify(new Uint8Array(4 * 96 * 96).fill(128), 96, 96, JSON.stringify({ box: [0, 0, 96, 96], k: 1 })));
  const warmMs = performance.now() - tw;
  phase('warm-up');
  if (secondary) {
    state.detector = Promise.reject(new Error('toonid: the second worker names faces; it does not detect them'));
    state.detector.catch(() => {});
    return { warmMs, phases, info, simd, offline, wasm: wasm.file, bytes: { total, fromCache, network: loaded - fromCache }, user: user.length, ms: performance.now() - t0, memoryBytes: instance.exports.mem.buffer.byteLength };
  }
  // The face detector comes after everything the first click needs: fetched, verified and cached
  // like the model, then handed to the bridge. detect and identifyAll wait for it; identify never does.
  const det = startDetector({ build, siteURL, base, bridge });
  state.detector = det.ready;
  Promise.all([...stores, det.stored]).then(() => self.postMessage({ event: 'cached' }),
    (err) => self.postMessage({ event: 'cached', error: `toonid: could not store downloads for offline use: ${err && err.message || err}` }));
  return {
    warmMs, phases,
    info, simd, offline, wasm: wasm.file,
    credits: (manifest.labels || []).map(({ id, name, series, credit, thumbnail }) => ({ id, name, series, credit, thumbnail: !!thumbnail })),
    bytes: { total, fromCache, network: loaded - fromCache },
    user: user.length, ms: performance.now() - t0,
    memoryBytes: instance.exports.mem.buffer.byteLength, // the Go heap and the wasm's data, after the warm-up
  };
}

// startDetector downloads the detector build.json names (assets.js detectorURL) and loads it into
// the bridge. ready resolves with its info (bytes from the network and from the cache, ms) once
// detect can run, and rejects with the reason it cannot; stored settles when its cache write has
// (the 'cached' event waits for it). The page hears {event: 'detector'} either way.
function startDetector({ build, siteURL, base, bridge }) {
  const f = detectorURL({ build, siteURL, base });
  const t0 = performance.now();
  let put = null, network = 0, fromCache = 0;
  const ready = (async () => {
    if (!f) throw new Error('toonid: this build has no face detector (build.json names none)');
    const buf = await fetchVerified(f.url, f.sha256, {
      digest: f.digest, onStored: (p) => { put = p; },
      onBytes: (n, cached) => { if (cached) fromCache += n; else network += n; },
    });
    const { detector } = call(bridge.setDetector(new Uint8Array(buf)));
    // One throw-away frame (not flat, so the network runs), as load warms the embedder.
    const w = 64, px = new Uint8Array(4 * w * w).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) & 255));
    call(bridge.detect(px, w, w));
    return { ...detector, bytes: { network, fromCache }, ms: performance.now() - t0 };
  })();
  ready.then((info) => self.postMessage({ event: 'detector', info }), (err) => self.postMessage({ event: 'detector', error: String(err && err.message || err) }));
  return { ready, stored: ready.then(() => put, () => null) };
}

async function detect({ pix, w, h }) {
  if (!state) throw new Error('toonid: not loaded');
  await state.detector;
  return call(state.bridge.detect(new Uint8Array(pix), w, h)).faces;
}

// identifyAll names every face of a frame in one bridge call (identify.IdentifyAll in Go), the
// answers folded as identify's are. With split (toonid.js has a second worker ready), it detects
// (identify.Detect), hands the last half (rounded down) of the faces IdentifyAll would name to the
// page as a progress message ({faces}, for the second worker's identifyFaces: it starts a message
// hop later) and names the rest itself (identify.NameFaces): together the same crops and scores
// as one identifyAll call.
async function identifyAll({ pix, w, h, k, split }, id) {
  if (!state) throw new Error('toonid: not loaded');
  const det = await state.detector;
  k = k || 5;
  if (!split) {
    const r = call(state.bridge.identifyAll(new Uint8Array(pix), w, h, JSON.stringify({ k: 2 * k })));
    for (const f of r.faces) f.answers = foldTaught(f.answers).slice(0, k);
    return r;
  }
  const t0 = performance.now();
  const px = new Uint8Array(pix);
  const faces = call(state.bridge.detect(px, w, h)).faces.slice(0, det.maxFaces);
  const detectMs = performance.now() - t0;
  const mine = faces.length - Math.floor(faces.length / 2);
  if (mine < faces.length) progress(id, { faces: faces.slice(mine) });
  const r = identifyFaces({ pix: px, w, h, faces: faces.slice(0, mine), k });
  return { faces: r.faces, shared: faces.length - mine, detectMs, ms: performance.now() - t0 };
}

// identifyFaces names face boxes a detect call found on the same frame (identify.NameFaces: the
// crops and scores identifyAll gives them), the answers folded as identify's are.
function identifyFaces({ pix, w, h, faces, k }) {
  if (!state) throw new Error('toonid: not loaded');
  k = k || 5;
  const r = call(state.bridge.identifyFaces(pix instanceof Uint8Array ? pix : new Uint8Array(pix), w, h, JSON.stringify({ faces, k: 2 * k })));
  for (const f of r.faces) f.answers = foldTaught(f.answers).slice(0, k);
  return r;
}

// call unwraps the bridge's {ok, ...}/{error} JSON replies.
function call(reply) {
  const r = JSON.parse(reply);
  if (r.error) throw new Error(r.error);
  return r;
}

// views is the crops teaching stores for an answer's box (W x H: the whole source image).
function views({ box, w, h }) {
  if (!state) throw new Error('toonid: not loaded');
  return call(state.bridge.views(JSON.stringify({ box, w, h }))).views;
}

function identify({ pix, w, h, click, box, part, refine, k }) {
  if (!state) throw new Error('toonid: not loaded');
  const px = new Uint8Array(pix);
  k = k || 5;
  // Twice k, so that after examples taught for a pack character are folded into it, k remain.
  const r = call(state.bridge.identify(px, w, h, JSON.stringify({ click, box, part, refine, k: 2 * k })));
  r.answers = foldTaught(r.answers).slice(0, k);
  return r;
}

// Examples taught under a pack character's name are stored as the taught character
// "user:pack:<label id>" (the bridge only takes taught ids under "user:", so they can never shadow
// a pack row); here they count as that pack character: one answer with its id, name and series,
// scored by the better of the two. The best score is unchanged, so `unknown` still holds.
const PACK_PREFIX = 'user:pack:';
function foldTaught(answers) {
  const labels = new Map((state.manifest.labels || []).map((l) => [l.id, l]));
  const byId = new Map();
  for (const a of answers) {
    let b = a;
    if (a.id.startsWith(PACK_PREFIX) && labels.has(a.id.slice(PACK_PREFIX.length))) {
      const l = labels.get(a.id.slice(PACK_PREFIX.length));
      b = { id: l.id, name: l.name, series: l.series || '', score: a.score };
    }
    const had = byId.get(b.id);
    if (!had || had.score < b.score) byId.set(b.id, b);
  }
  return [...byId.values()].sort((x, y) => y.score - x.score);
}

// packs describes the loaded pack and lists the characters taught in this browser.
async function packs() {
  if (!state) throw new Error('toonid: not loaded');
  const info = call(state.bridge.packs());
  const db = await openDB();
  try {
    const all = await tx(db, 'readonly', (s) => s.getAll());
    info.taught = all.map(({ id, name, series, created, crops, embeddings }) => ({ id, name, series, created, examples: crops.length || (embeddings || []).length,
      pack: id.startsWith(PACK_PREFIX) ? id.slice(PACK_PREFIX.length) : null }));
  } finally { db.close(); }
  return info;
}

// taught returns every taught character with its stored crops (RGBA, as enroll took them), for
// export: the crops, not the embeddings, so an import re-embeds them with whatever model it runs.
async function taught() {
  const all = await readUser();
  const transfer = [];
  const result = all.map(({ id, name, series, crops }) => ({
    id, name, series, pack: id.startsWith(PACK_PREFIX) ? id.slice(PACK_PREFIX.length) : null,
    crops: crops.map(({ pix, w, h, exact }) => { transfer.push(pix); return exact ? { pix, w, h, exact } : { pix, w, h }; }),
  }));
  return { result, transfer };
}

// thumbnail returns the bytes of a pack character's catalogue thumbnail (an ArrayBuffer of JPEG,
// handed over), or null when it has none. The file is named <sha256>.jpg (pack/FORMAT.md,
// "Thumbnails"), so it is downloaded, verified and cached like a shard: fetchVerified against
// the sha256 in its name, kept in the content cache under it (offline after the first view).
async function thumbnail({ id }) {
  if (!state) throw new Error('toonid: not loaded');
  const l = (state.manifest.labels || []).find((x) => x.id === id);
  if (!l) throw new Error(`toonid: thumbnail: no character ${JSON.stringify(String(id).slice(0, 80))} in the pack`);
  if (!l.thumbnail) return null;
  const sha = thumbnailSHA256(l.thumbnail);
  const url = new URL(`packs/${encodeURIComponent(state.packName)}/${l.thumbnail}`, state.baseURL).href;
  return fetchVerified(url, sha, { check: (buf) => {
    const b = new Uint8Array(buf, 0, Math.min(3, buf.byteLength));
    if (buf.byteLength > MAX_THUMBNAIL_BYTES || b[0] !== 0xff || b[1] !== 0xd8 || b[2] !== 0xff) throw new Error(`${url}: not a JPEG thumbnail of at most ${MAX_THUMBNAIL_BYTES} bytes`);
  } });
}

// --- user-taught characters (IndexedDB) ---

function openDB() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(DB_STORE, { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(DB_STORE, mode);
    const out = fn(t.objectStore(DB_STORE));
    t.oncomplete = () => resolve(out && out.result !== undefined ? out.result : out);
    t.onerror = () => reject(t.error);
  });
}

// userChar is a stored record as the bridge takes it (wasm/bridge.UserChar): with its exact flags
// when it has any (crops taught with exact: true, a face as the detector crops it, are kept as
// sub-centres of their own; records stored before there were flags have none, and load as before).
function userChar({ id, name, series, embeddings, exact }) {
  return exact && exact.length === embeddings.length && exact.some(Boolean) ? { id, name, series, embeddings, exact } : { id, name, series, embeddings };
}

// exactFlags is a record's flag per embedding (all false for a record stored without them).
const exactFlags = (rec) => (rec.exact && rec.exact.length === rec.embeddings.length ? rec.exact : rec.embeddings.map(() => false));

function embedCrop(c) {
  const r = call(state.bridge.embed(new Uint8Array(c.pix), c.w, c.h));
  return r.embedding;
}

async function readUser() {
  const db = await openDB();
  try { return await tx(db, 'readonly', (s) => s.getAll()); } finally { db.close(); }
}

// loadUser hands every stored character (or the records given) to the Go matcher. Embeddings
// from another model are recomputed from the stored crops, so a model update does not silently
// break them.
async function loadUser(records) {
  const db = await openDB();
  try {
    const all = records || await tx(db, 'readonly', (s) => s.getAll());
    const usable = [];
    for (const rec of all) {
      if (rec.modelSha !== state.modelSha) {
        // Imported from a pack (importPack): no crops to re-embed, and another model's vectors
        // mean nothing to this one. Kept, unused, until that model is back.
        if (!rec.crops.length) {
          self.postMessage({ log: `toonid: ${rec.name}: imported for another model; not used with this one` });
          continue;
        }
        rec.embeddings = rec.crops.map(embedCrop);
        rec.exact = rec.crops.map((c) => !!c.exact);
        rec.modelSha = state.modelSha;
        if (!state.secondary) await tx(db, 'readwrite', (s) => s.put(rec)); // the primary writes
      }
      usable.push(rec);
    }
    call(state.bridge.setUser(JSON.stringify(usable.map(userChar))));
    return usable;
  } finally { db.close(); }
}

// enroll teaches one character ({name, crops}) or several ({items: [{name, crops}]}, as an
// import does): all or nothing. The bridge is the only judge of what may be stored: checkName
// gives each name as stored (Go's trimming and code-point count), checkUser (setUser's dry run)
// the whole set IndexedDB would then hold; only when both agree is it written, in one
// transaction, since a stored record the bridge refuses would make every later load fail.
// Returns the item's result, or with items one per item.
async function enroll({ name, crops, items }) {
  if (!state) throw new Error('toonid: not loaded');
  const batch = items || [{ name, crops }];
  const keep = state.info.limits.examples; // teaching more keeps the latest (wasm/bridge.MaxTaughtExamples)
  const names = batch.map((it) => call(state.bridge.checkName(String(it.name == null ? '' : it.name))).name);
  batch.forEach((it, i) => {
    if (!Array.isArray(it.crops) || !it.crops.length) throw new Error(`toonid: enroll ${JSON.stringify(names[i])}: no crops`);
  });
  const db = await openDB();
  let recs;
  try {
    const all = await tx(db, 'readonly', (s) => s.getAll());
    const byId = new Map(all.map((r) => [r.id, r]));
    const changed = new Map();
    recs = batch.map((it, i) => {
      const nm = names[i], low = nm.toLowerCase();
      const now = [...byId.values()];
      // Teaching a name again adds examples to that character instead of making a twin.
      let rec = now.find((r) => r.name.toLowerCase() === low);
      // A pack character's name adds examples to that character (folded into it by identify).
      const label = (state.manifest.labels || []).find((l) => String(l.name).toLowerCase() === low);
      if (label && (!rec || rec.id !== PACK_PREFIX + label.id)) rec = now.find((r) => r.id === PACK_PREFIX + label.id);
      // A crop keeps its exact flag, so a re-embedding for another model keeps it exact.
      const crops = it.crops.map(({ pix, w, h, exact }) => (exact ? { pix, w, h, exact: true } : { pix, w, h }));
      const embeddings = crops.map(embedCrop), exact = crops.map((c) => !!c.exact);
      // loadUser re-embedded every record for this model at load, so old and new embeddings agree.
      if (rec) {
        rec = { ...rec, crops: [...rec.crops, ...crops].slice(-keep), embeddings: [...rec.embeddings, ...embeddings].slice(-keep), exact: [...exactFlags(rec), ...exact].slice(-keep) };
      } else {
        const made = { created: Date.now(), crops: crops.slice(-keep), modelSha: state.modelSha, embeddings: embeddings.slice(-keep), exact: exact.slice(-keep) };
        rec = label
          ? { id: PACK_PREFIX + label.id, name: label.name, series: label.series || '', ...made }
          : { id: `user:${crypto.randomUUID()}`, name: nm, series: 'taught in this browser', ...made };
      }
      byId.set(rec.id, rec);
      changed.set(rec.id, rec);
      return rec.id;
    });
    call(state.bridge.checkUser(JSON.stringify([...byId.values()].map(userChar))));
    await tx(db, 'readwrite', (s) => { for (const r of changed.values()) s.put(r); });
    recs = recs.map((id) => byId.get(id));
  } finally { db.close(); }
  await loadUser();
  const out = recs.map((rec) => {
    const pack = rec.id.startsWith(PACK_PREFIX) ? rec.id.slice(PACK_PREFIX.length) : null;
    return { id: pack || rec.id, record: rec.id, pack, name: rec.name, series: rec.series, examples: rec.crops.length };
  });
  return items ? out : out[0];
}

async function forget({ id }) {
  const db = await openDB();
  try { await tx(db, 'readwrite', (s) => s.delete(id)); } finally { db.close(); }
  await loadUser();
  return { id };
}

// --- taught characters as a pack (pack/FORMAT.md "One file"; the bridge builds and reads it) ---

// exportPack returns the taught characters of this model as a pack archive (an ArrayBuffer,
// handed over) built by the bridge's Go pack writer: {bytes, characters}.
async function exportPack() {
  if (!state) throw new Error('toonid: not loaded');
  const all = (await readUser()).filter((r) => r.modelSha === state.modelSha);
  if (!all.length) throw new Error('toonid: nothing taught to export');
  const r = state.bridge.exportPack(JSON.stringify(all.map(userChar)));
  if (typeof r === 'string') call(r); // an error reply: throws
  const bytes = r.buffer.slice(r.byteOffset, r.byteOffset + r.byteLength);
  return { result: { bytes, characters: all.length }, transfer: [bytes] };
}

// importPack teaches the characters of a pack archive ({bytes}: an ArrayBuffer), all or nothing:
// the bridge verifies every file's sha256 (and refuses another model's pack), checkUser judges
// the set IndexedDB would then hold, and only then is it written, in one transaction, so a bad
// file loses nothing already taught. A character already here by id or name gains the pack's
// vectors as examples (a record taught here keeps its own); the rest become new characters
// without crops. Returns [{name, examples}].
async function importPack({ bytes }) {
  if (!state) throw new Error('toonid: not loaded');
  const imp = call(state.bridge.importPack(new Uint8Array(bytes)));
  const keep = state.info.limits.examples;
  const db = await openDB();
  let out;
  try {
    const all = await tx(db, 'readonly', (s) => s.getAll());
    const byId = new Map(all.map((r) => [r.id, r]));
    const changed = new Map();
    out = imp.characters.map((c) => {
      const low = c.name.toLowerCase();
      let rec = byId.get(c.id) || [...byId.values()].find((r) => r.name.toLowerCase() === low);
      if (rec && rec.modelSha === state.modelSha) {
        if (rec.crops.length && byId.get(c.id) === rec) return { name: rec.name, examples: rec.crops.length }; // taught here: already has it
        const own = rec.crops.length ? rec : { embeddings: [] }; // a record taught here keeps its examples
        rec = { ...rec, embeddings: [...own.embeddings, ...c.embeddings].slice(-keep), exact: [...exactFlags(own), ...c.embeddings.map(() => false)].slice(-keep) };
      } else {
        const id = byId.has(c.id) ? `user:${crypto.randomUUID()}` : c.id;
        rec = { id, name: c.name, series: c.series || '', created: Date.now(), crops: [], modelSha: state.modelSha, embeddings: c.embeddings.slice(-keep), imported: imp.name };
      }
      byId.set(rec.id, rec);
      changed.set(rec.id, rec);
      return { name: rec.name, examples: rec.crops.length || rec.embeddings.length };
    });
    const set = [...byId.values()].filter((r) => r.modelSha === state.modelSha);
    call(state.bridge.checkUser(JSON.stringify(set.map(userChar))));
    await tx(db, 'readwrite', (s) => { for (const r of changed.values()) s.put(r); });
  } finally { db.close(); }
  await loadUser();
  return out;
}
