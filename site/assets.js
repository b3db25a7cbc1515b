// assets.js — downloads shared by worker.js and sw.js (classic scripts, importScripts): every
// body is sha256-verified before use and kept in Cache Storage under its hash; a body that fails
// the check is dropped and fetched again. No state: only constants and functions.
'use strict';

const CONTENT_CACHE = 'toonid-content-v1';

// The smallest module that uses a SIMD128 instruction (v128.const; drop). validate() is false
// on engines without wasm SIMD, and then the scalar build is loaded.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 23, 1, 21,
  0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 26, 11]);

// assetLog reports a retried download: to the page from the Web Worker, to the console elsewhere.
function assetLog(m) {
  if (typeof WorkerGlobalScope !== 'undefined' && typeof self.postMessage === 'function' && !self.registration) self.postMessage({ log: m });
  else console.warn(m);
}

async function sha256Hex(buf) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  let s = '';
  for (const b of d) s += b.toString(16).padStart(2, '0');
  return s;
}

// Cache Storage keys must be http(s) URLs; an extension's worker lives at chrome-extension://, so
// keys use a reserved name that is never fetched.
const KEY_BASE = 'https://toonid.invalid/';
function contentKey(sha) { return `${KEY_BASE}.toonid-content/${sha}`; }

function firstBytes(buf) {
  const b = new Uint8Array(buf, 0, Math.min(16, buf.byteLength));
  return JSON.stringify(String.fromCharCode(...b));
}

// readBody reads a response while reporting bytes, so progress is real and not a guess.
async function readBody(res, onBytes) {
  if (!res.body || !res.body.getReader) return res.arrayBuffer();
  const reader = res.body.getReader();
  const parts = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.byteLength;
    onBytes(value.byteLength);
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.byteLength; }
  return out.buffer;
}

// fetchVerified returns the bytes of url whose sha256 must be sha. Verified bytes are kept in
// Cache Storage under their hash; a cached copy is re-hashed before use, and a download that
// fails the check is dropped (never cached) and fetched again, at most `attempts` times.
// With onStored, the Cache Storage write is not awaited (it is slow for megabytes); its promise
// goes to onStored so the caller can tell when everything is stored.
async function fetchVerified(url, sha, { attempts = 3, onBytes = () => {}, onSize, check, digest = sha256Hex, onStored } = {}) {
  sha = String(sha).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sha)) throw new Error(`${url}: bad sha256 ${JSON.stringify(sha)} in manifest`);
  const cache = await caches.open(CONTENT_CACHE);
  const key = contentKey(sha);
  const hit = await cache.match(key);
  if (hit) {
    const buf = await hit.arrayBuffer();
    if (await digest(buf) === sha) {
      if (onSize) onSize(buf.byteLength);
      onBytes(buf.byteLength, true);
      return buf;
    }
    await cache.delete(key);
  }
  let lastErr;
  for (let i = 0; i < attempts; i++) {
    let counted = 0;
    try {
      // After a bad copy, bypass the HTTP cache: it may hold the same bad bytes.
      const res = await fetch(url, { cache: i === 0 ? 'default' : 'reload' });
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status} (${res.headers.get('content-type')})`);
      if (onSize) onSize(Number(res.headers.get('content-length')) || 0);
      const buf = await readBody(res, (n) => { counted += n; onBytes(n, false); });
      const got = await digest(buf);
      if (got !== sha) {
        throw new Error(`${url}: sha256 mismatch: got ${got}, manifest says ${sha} ` +
          `(${buf.byteLength} bytes, content-type ${res.headers.get('content-type')}, first bytes ${firstBytes(buf)})`);
      }
      if (check) check(buf, res);
      const put = cache.put(key, new Response(buf, { headers: { 'content-type': 'application/octet-stream' } }));
      if (onStored) onStored(put); else await put;
      return buf;
    } catch (err) {
      lastErr = err;
      onBytes(-counted, false); // the retry re-counts its bytes
      assetLog(`toonid: download attempt ${i + 1} failed: ${err.message}`);
    }
  }
  throw lastErr;
}

// modelChecksum is a model file's content address, the rule of model/FORMAT.md ("Content
// address") that model.Checksum implements in Go: the sha256 of every byte after offset 40, which
// the file also carries at bytes 8..40 - not the sha256 of the whole file. Like Go it requires the
// magic, version 1 or 2, that version's header length and the stored sum, and throws otherwise;
// model/testdata/checksums.txt pins both to the same answers (site/test/assets.test.mjs).
async function modelChecksum(buf) {
  const b = new Uint8Array(buf);
  if (b.byteLength < 96) throw new Error(`model: file is ${b.byteLength} bytes, shorter than the 96-byte header`);
  if (String.fromCharCode(...b.subarray(0, 4)) !== 'TMDL') throw new Error(`model: bad magic ${JSON.stringify(String.fromCharCode(...b.subarray(0, 4)))} (not a toonid model file)`);
  const version = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(4, true);
  if (version !== 1 && version !== 2) throw new Error(`model: file version ${version}, this build reads versions 1 and 2`);
  if (version === 2 && b.byteLength < 128) throw new Error(`model: file is ${b.byteLength} bytes, shorter than the 128-byte version-2 header`);
  const sum = await sha256Hex(b.slice(40));
  let stored = '';
  for (const x of b.subarray(8, 40)) stored += x.toString(16).padStart(2, '0');
  if (sum !== stored) throw new Error('model: sha256 mismatch (file truncated or corrupted)');
  return sum;
}

// modelDigest is fetchVerified's digest for a model: its checksum, or the reason it has none
// (which then never equals a name, so the download is refused and retried with that reason).
async function modelDigest(buf) {
  try { return await modelChecksum(buf); } catch (err) { return `none (${err.message})`; }
}

// fetchJSON is network-first with the last good copy as the offline fallback. Only used for
// the two small mutable documents (build.json, pack manifest); everything else is addressed by hash.
// check(doc) throws for a document the caller cannot use; it runs before the copy is stored, so
// an invalid document never replaces the last good one.
async function fetchJSON(url, { onStored, check } = {}) {
  const cache = await caches.open(CONTENT_CACHE);
  const key = `${KEY_BASE}.toonid-doc/${encodeURIComponent(url)}`;
  let res;
  try {
    res = await fetch(url, { cache: 'no-cache' });
  } catch (netErr) {
    const hit = await cache.match(key);
    if (hit) return { doc: await hit.json(), offline: true };
    throw new Error(`${url}: ${netErr.message} and no cached copy`);
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} (${res.headers.get('content-type')})`);
  const text = await res.text();
  let doc;
  try { doc = JSON.parse(text); } catch (e) {
    throw new Error(`${url}: not JSON (content-type ${res.headers.get('content-type')}, starts ${JSON.stringify(text.slice(0, 16))})`);
  }
  if (check) check(doc);
  const put = cache.put(key, new Response(text, { headers: { 'content-type': 'application/json' } }));
  if (onStored) onStored(put); else await put;
  return { doc, offline: false };
}

// checkBuild checks the build.json fields the workers read (site/tools/build.mjs writes them):
// the wasm file of each flavour, the bridge protocol version and the page shell.
function checkBuild(doc) {
  const need = (ok, what) => { if (!ok) throw new Error(`toonid: build.json: ${what}`); };
  need(doc && typeof doc === 'object', 'not an object');
  for (const k of ['simd', 'scalar']) {
    const w = doc.wasm && doc.wasm[k];
    need(w && typeof w.file === 'string' && typeof w.sha256 === 'string', `missing wasm.${k} file/sha256`);
  }
  need(Number.isInteger(doc.bridge), 'missing bridge version');
  // The face detector is optional: a build without one names faces by click only.
  need(doc.detector === undefined || (doc.detector && /^[0-9a-f]{64}$/.test(doc.detector.sha256) && Number.isInteger(doc.detector.bytes)),
    'bad detector (want {sha256, bytes})');
  // A file beside the page or in one folder under it (examples/), no name starting with a dot.
  need(Array.isArray(doc.shell) && doc.shell.every((f) => typeof f === 'string' && /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)?[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(f)),
    'missing or bad shell list');
}

// contentURLs lists the content-addressed files one pack needs, in the order the worker hands
// them to the bridge (wasm, model, then the pack's files), with where each comes from and how
// it is verified: the wasm build (build.json, beside the page at siteURL; simd or scalar), the
// model (base/models/<checksum>.tmdl, serve/API.md) and every shard of the parsed manifest m
// (base/packs/<pack>/<file>). worker.js downloads these and sw.js precaches the same list.
function contentURLs({ build, m, siteURL, base, pack, simd }) {
  const wasm = simd ? build.wasm.simd : build.wasm.scalar;
  const baseURL = new URL(base, siteURL).href;
  return [
    { what: 'wasm', url: new URL(wasm.file, siteURL).href, sha256: wasm.sha256, bytes: wasm.bytes, digest: sha256Hex },
    { what: 'model', url: new URL(`models/${m.model.sha256}.tmdl`, baseURL).href, sha256: m.model.sha256, bytes: m.model.bytes, digest: modelDigest },
    ...m.shards.map((s) => ({ what: `shard ${s.name}`, name: s.name, url: new URL(`packs/${encodeURIComponent(pack)}/${s.name}`, baseURL).href,
      sha256: s.sha256, bytes: s.bytes, digest: sha256Hex })),
  ];
}

// detectorURL is where the face detector build.json names comes from, found as the embedder is:
// by its content address in the store (base/models/<checksum>.tmdl, serve/API.md), verified by
// the same model checksum; null when the build has none. worker.js fetches it after the embedder
// and the pack (the first click does not wait for it); sw.js precaches it with them.
function detectorURL({ build, siteURL, base }) {
  if (!build.detector) return null;
  const { sha256, bytes } = build.detector;
  return { what: 'detector', url: new URL(`models/${sha256}.tmdl`, new URL(base, siteURL)).href, sha256, bytes, digest: modelDigest };
}

// The worker records where its last good load came from (the page's base and pack), so the
// service worker precaches that pack from that store rather than a guess of its own.
const LOAD_KEY = `${KEY_BASE}.toonid-doc/last-load`;
async function rememberLoad({ siteURL, base, pack }) {
  const cache = await caches.open(CONTENT_CACHE);
  await cache.put(LOAD_KEY, new Response(JSON.stringify({ siteURL, base, pack }), { headers: { 'content-type': 'application/json' } }));
}
// lastLoad returns {siteURL, base, pack} of the last good load, or null before the first.
async function lastLoad() {
  const cache = await caches.open(CONTENT_CACHE);
  const hit = await cache.match(LOAD_KEY);
  return hit ? hit.json() : null;
}

// A label's thumbnail is <sha256>.jpg, at most MAX_THUMBNAIL_BYTES (pack/FORMAT.md, "Thumbnails";
// pack.MaxThumbnailBytes). thumbnailSHA256 returns the sha256 its name carries, or throws.
const MAX_THUMBNAIL_BYTES = 65536;
function thumbnailSHA256(name, id = '') {
  const m = /^([0-9a-f]{64})\.jpg$/.exec(String(name));
  if (!m) throw new Error(`toonid: pack manifest: label ${JSON.stringify(String(id).slice(0, 80))}: thumbnail ${JSON.stringify(String(name).slice(0, 80))} is not <sha256>.jpg`);
  return m[1];
}

// parseManifest checks the few fields this worker relies on (pack/FORMAT.md) and fails naming
// the field; the Go decoder checks everything again before use.
function parseManifest(doc) {
  const need = (ok, what) => { if (!ok) throw new Error(`toonid: pack manifest: ${what}`); };
  need(doc && typeof doc === 'object', 'not an object');
  need(doc.format === 'toonid-pack' && doc.version === 1, `format ${JSON.stringify(doc.format)} version ${doc.version}, want toonid-pack 1`);
  need(typeof doc.model_sha256 === 'string', 'missing model_sha256');
  need(Array.isArray(doc.shards) && doc.shards.length > 0, 'missing shards');
  const shards = doc.ivf ? [...doc.shards, doc.ivf] : doc.shards;
  for (const s of shards) {
    need(typeof s.file === 'string' && /^[A-Za-z0-9._-]+$/.test(s.file) && !s.file.startsWith('.'), `bad shard file ${JSON.stringify(s.file)}`);
    need(typeof s.sha256 === 'string', `shard ${s.file}: missing sha256`);
  }
  for (const l of Array.isArray(doc.labels) ? doc.labels : []) {
    if (l && l.thumbnail) thumbnailSHA256(l.thumbnail, l.id);
  }
  return { model: { sha256: doc.model_sha256 }, shards: shards.map((s) => ({ name: s.file, sha256: s.sha256, bytes: s.bytes })) };
}

