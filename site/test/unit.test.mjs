// Unit tests of the page-side JS under node (make test-site-unit): toonid.js against a fake
// Worker, the extension's offscreen document against fake chrome APIs, and the extension's
// permissions against the code that needs them. No browser, no wasm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, copyFileSync, writeFileSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

const SITE = join(dirname(fileURLToPath(import.meta.url)), '..');

// within fails a promise that has not settled after ms: the bugs here were calls that never did.
function within(p, ms = 2000) {
  let timer;
  return Promise.race([p, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`still pending after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
}

// FakeWorker answers 'load' like worker.js and nothing else, as a worker that died would.
class FakeWorker {
  constructor() { this.terminated = false; FakeWorker.last = this; }
  postMessage(m) {
    if (m.type === 'load') setTimeout(() => this.onmessage({ data: { id: m.id, ok: true, result: { info: { search: { extent: 0.5 } } } } }));
  }
  terminate() { this.terminated = true; }
}
globalThis.Worker = FakeWorker;
globalThis.location ??= { href: 'http://localhost/' };
const toonid = await import(pathToFileURL(join(SITE, 'toonid.js')).href);

test('toonid.js: after a worker error, pending and later calls fail instead of waiting forever', async () => {
  const id = await toonid.load();
  const w = FakeWorker.last;
  const pending = id.packs();
  w.onerror({ message: 'boom' });
  await assert.rejects(within(pending), /toonid worker: boom/);
  await assert.rejects(within(id.packs()), /toonid worker: boom/);
  await assert.rejects(within(id.forget('user:x')), /toonid worker: boom/);
  await assert.rejects(within(id.cached), /boom/, 'cached must settle when the worker is gone');
  assert.ok(w.terminated, 'the dead worker is terminated');
  id.close(); // closing a stopped instance is harmless
});

test('toonid.js: cached settles both ways', async () => {
  for (const [event, want] of [[{ event: 'cached' }, null], [{ event: 'cached', error: 'toonid: could not store downloads: quota' }, /quota/]]) {
    const id = await toonid.load();
    FakeWorker.last.onmessage({ data: event });
    if (want) await assert.rejects(within(id.cached), want);
    else await within(id.cached);
    id.close();
  }
});

test('toonid.js: close rejects what is pending and every later call', async () => {
  const id = await toonid.load();
  const pending = id.packs();
  id.close();
  await assert.rejects(within(pending), /toonid: closed/);
  await assert.rejects(within(id.packs()), /toonid: closed/);
});

// PoolWorker plays worker.js for toonid.js's pool: both roles' load, identifyAll (with split: the
// last half handed over as a progress message), identifyFaces, reloadUser and an enroll held
// until release(). Each face is named after the taught count the worker has read, so a stale
// second worker shows in its answers.
class PoolWorker {
  constructor() { this.terminated = false; this.seen = []; this.user = PoolWorker.taught; PoolWorker.all.push(this); }
  send(data) { setTimeout(() => { if (!this.terminated) this.onmessage({ data }); }); }
  named(faces) { return faces.map((f) => ({ ...f, crop: f.box, answers: [{ id: 'a', name: `taught ${this.user}`, score: 0.9 }], unknown: false, best: 0.9 })); }
  postMessage({ id, type, data }) {
    this.seen.push({ type, data });
    const faces = [0, 1, 2, 3, 4, 5].map((i) => ({ box: [10 * i, 0, 8, 8], score: 1 - i / 10 }));
    switch (type) {
      case 'load':
        this.role = data.role || 'primary';
        this.user = PoolWorker.taught;
        if (this.role === 'secondary' && PoolWorker.opts.failLoad) return this.send({ id, ok: false, error: 'out of memory' });
        this.send({ id, ok: true, result: { info: { search: { extent: 0.5 }, model: { sha256: 'm' } }, simd: true, bytes: {}, phases: {} } });
        if (this.role === 'primary') this.send({ event: 'cached' });
        return;
      case 'identifyAll':
        if (!data.split) return this.send({ id, ok: true, result: { faces: this.named(faces) } });
        this.send({ id, progress: { faces: faces.slice(3) } });
        return this.send({ id, ok: true, result: { faces: this.named(faces.slice(0, 3)) } });
      case 'identifyFaces':
        if (this.role === 'secondary' && PoolWorker.opts.die) return setTimeout(() => this.onerror({ message: 'crashed' }));
        return this.send({ id, ok: true, result: { faces: this.named(data.faces) } });
      case 'identify': {
        if (this.role === 'secondary' && PoolWorker.opts.die) return setTimeout(() => this.onerror({ message: 'crashed' }));
        if (this.role === 'secondary' && PoolWorker.opts.refuse) return this.send({ id, ok: false, error: 'bridge: something' });
        // A click search's part: the second worker's coarse crop scores higher, the first's
        // refine crop higher still; without a part, the whole search.
        const stage = data.refine ? 1 : 0, part = data.part ? data.part.index : -1;
        const score = data.part ? 0.6 + 0.1 * (stage ? 1 - part : part) + 0.05 * stage : 0.5;
        return this.send({ id, ok: true, result: { answers: [{ id: 'a', name: `part ${part} stage ${stage}`, score }], unknown: false, score, threshold: 0.75,
          box: [stage, Math.max(part, 0), 4, 4], candidates: 2 + stage, ms: 1, index: part, confident: false } });
      }
      case 'reloadUser':
        this.user = PoolWorker.taught;
        return this.send({ id, ok: true, result: { user: this.user } });
      case 'enroll':
        PoolWorker.release = () => { PoolWorker.taught++; this.user = PoolWorker.taught; this.send({ id, ok: true, result: { id: 'user:x', record: 'user:x' } }); };
        return;
    }
  }
  terminate() { this.terminated = true; }
}

// withPool runs fn with PoolWorker as the Worker, a canvas that draws nothing (the pixels do not
// matter here) and console.warn recorded.
async function withPool(opts, fn) {
  const saved = { Worker: globalThis.Worker, OffscreenCanvas: globalThis.OffscreenCanvas, warn: console.warn };
  PoolWorker.all = []; PoolWorker.opts = opts; PoolWorker.taught = 0;
  const warned = [];
  globalThis.Worker = PoolWorker;
  globalThis.OffscreenCanvas = class { constructor(w, h) { this.w = w; this.h = h; }
    getContext() { return { drawImage() {}, getImageData: (x, y, w, h) => ({ width: w, height: h, data: new Uint8ClampedArray(4 * w * h) }) }; } };
  console.warn = (m) => warned.push(String(m));
  try { await fn(warned); } finally { Object.assign(globalThis, { Worker: saved.Worker, OffscreenCanvas: saved.OffscreenCanvas }); console.warn = saved.warn; }
}
const FRAME = { width: 64, height: 48 };
const names = (faces) => faces.map((f) => f.answers[0].name);
const shares = (pool) => ({ primary: pool.last.primary, secondary: pool.last.secondary });

test('toonid.js pool: the second worker names the last half; a change of taught characters keeps it out until it has reloaded them', async () => {
  await withPool({}, async (warned) => {
    const id = await toonid.load({ workers: 2 });
    await within(id.secondary);
    const [first, second] = PoolWorker.all;
    assert.equal(second.seen[0].data.role, 'secondary');
    assert.equal(second.seen[0].data.wasm, 'simd', 'the same wasm build as the first');
    let faces = await within(id.identifyAll(FRAME));
    assert.deepEqual(faces.map((f) => f.box.x), [0, 10, 20, 30, 40, 50], 'faces in the detector\'s order');
    assert.equal(id.pool.workers, 2);
    assert.deepEqual(shares(id.pool), { primary: 3, secondary: 3 });
    assert.deepEqual(second.seen.at(-1).data.faces.map((f) => f.box[0]), [30, 40, 50]);

    const taught = id.enroll('X', [FRAME]);
    while (!first.seen.some((m) => m.type === 'enroll')) await new Promise((r) => setTimeout(r, 1));
    faces = await within(id.identifyAll(FRAME));
    assert.equal(first.seen.at(-1).data.split, undefined, 'a change in flight: the first worker names every face');
    assert.deepEqual(id.pool.last, { primary: 6, secondary: 0 });
    PoolWorker.release();
    await within(taught);
    faces = await within(id.identifyAll(FRAME));
    const types = second.seen.map((m) => m.type);
    assert.ok(types.lastIndexOf('reloadUser') >= 0 && types.lastIndexOf('reloadUser') < types.lastIndexOf('identifyFaces'), `second worker saw ${types}`);
    assert.deepEqual(names(faces), Array(6).fill('taught 1'), 'both workers name with the new character');
    assert.deepEqual(shares(id.pool), { primary: 3, secondary: 3 });
    assert.deepEqual(warned, []);
    id.close();
    assert.ok(first.terminated && second.terminated, 'close stops both workers');
  });
});

test('toonid.js pool: a second worker that fails to load is logged, not thrown; one worker does everything', async () => {
  await withPool({ failLoad: true }, async (warned) => {
    const id = await toonid.load({ workers: 2 });
    await assert.rejects(within(id.secondary), /out of memory/);
    assert.equal(warned.length, 1);
    assert.match(warned[0], /second worker: out of memory; one worker names every face/);
    assert.ok(PoolWorker.all[1].terminated);
    const faces = await within(id.identifyAll(FRAME));
    assert.equal(faces.length, 6);
    assert.deepEqual(id.pool, { workers: 1, last: { primary: 6, secondary: 0 } });
    id.close();
  });
  await withPool({}, async (warned) => {
    const id = await toonid.load({ workers: 1 });
    await assert.rejects(within(id.secondary), /one worker/);
    assert.equal(PoolWorker.all.length, 1, 'workers: 1 starts no second worker');
    assert.deepEqual(warned, []);
    id.close();
  });
  await assert.rejects(toonid.load({ workers: 3 }), /workers 3: want 1\.\.2/);
});

test('toonid.js pool: when the second worker dies mid-call, the first names its faces', async () => {
  await withPool({ die: true }, async (warned) => {
    const id = await toonid.load({ workers: 2 });
    await within(id.secondary);
    const [first, second] = PoolWorker.all;
    const faces = await within(id.identifyAll(FRAME));
    assert.deepEqual(faces.map((f) => f.box.x), [0, 10, 20, 30, 40, 50]);
    assert.equal(first.seen.at(-1).type, 'identifyFaces');
    assert.ok(second.terminated);
    assert.match(warned.join('\n'), /second worker: toonid worker: crashed/);
    assert.deepEqual(id.pool.last, { primary: 6, secondary: 0 });
    await within(id.identifyAll(FRAME));
    assert.equal(first.seen.at(-1).data.split, undefined, 'no second worker any more');
    id.close();
  });
});

test('toonid.js pool: a click search is shared, stage by stage, and the best part wins; if the second dies, the first searches alone', async () => {
  await withPool({}, async (warned) => {
    const id = await toonid.load({ workers: 2 });
    await within(id.secondary);
    const [first, second] = PoolWorker.all;
    const r = await within(id.identify(FRAME, { x: 10, y: 10 }));
    const asked = (w) => w.seen.filter((m) => m.type === 'identify').map((m) => ({ part: m.data.part, click: !!m.data.click, refine: m.data.refine }));
    assert.deepEqual(asked(first), [{ part: { index: 0, of: 2 }, click: true, refine: undefined }, { part: { index: 0, of: 2 }, click: false, refine: [0, 1, 4, 4] }]);
    assert.deepEqual(asked(second), [{ part: { index: 1, of: 2 }, click: true, refine: undefined }, { part: { index: 1, of: 2 }, click: false, refine: [0, 1, 4, 4] }],
      'both refine around the second worker\'s coarse crop, the better one');
    assert.equal(r.answers[0].name, 'part 0 stage 1', 'the refine stage\'s best, better than the coarse one');
    assert.equal(r.candidates, 10);
    assert.equal(r.workers, 2);
    assert.deepEqual(warned, []);
    id.close();
  });
  await withPool({ die: true }, async (warned) => {
    const id = await toonid.load({ workers: 2 });
    await within(id.secondary);
    const [first, second] = PoolWorker.all;
    const r = await within(id.identify(FRAME, { x: 10, y: 10 }));
    assert.ok(second.terminated);
    assert.match(warned.join('\n'), /second worker: toonid worker: crashed/);
    assert.equal(first.seen.at(-1).data.part, undefined, 'the first worker searched alone');
    assert.equal(r.answers[0].name, 'part -1 stage 0');
    assert.equal(r.workers, 1);
    id.close();
  });
  // An error reply from a second worker that still runs: this click falls back, the worker stays.
  await withPool({ refuse: true }, async (warned) => {
    const id = await toonid.load({ workers: 2 });
    await within(id.secondary);
    const [first, second] = PoolWorker.all;
    const r = await within(id.identify(FRAME, { x: 10, y: 10 }));
    assert.equal(r.workers, 1);
    assert.equal(first.seen.at(-1).data.part, undefined, 'the first worker searched alone');
    assert.ok(!second.terminated, 'the second worker was dropped for an error reply');
    assert.equal(id.pool.workers, 2);
    assert.deepEqual(warned, []);
    id.close();
  });
});

// offscreen.js runs in a temp folder next to a fake toonid.js whose first load fails.
test('extension offscreen.js: a failed load is retried by the next request', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'toonid-offscreen-'));
  try {
    // The extension is assembled from site/extension and site/ (make extension): copy
    // offscreen.js and what it imports the same way, every module but toonid.js, which is faked.
    const copy = (name) => {
      if (name === 'toonid.js' || existsSync(join(dir, name))) return;
      const from = existsSync(join(SITE, 'extension', name)) ? join(SITE, 'extension', name) : join(SITE, name);
      copyFileSync(from, join(dir, name));
      for (const [, dep] of readFileSync(from, 'utf8').matchAll(/from '\.\/([\w.-]+\.js)'/g)) copy(dep);
    };
    copy('offscreen.js');
    writeFileSync(join(dir, 'toonid.js'), `export async function load() {
  globalThis.loads = (globalThis.loads || 0) + 1;
  if (globalThis.loads === 1) throw new Error('disk full');
  return { identify: async () => ({ answers: [{ name: 'Sintel' }], box: [0, 0, 1, 1] }) };
}\n`);
    let listener;
    globalThis.chrome = { runtime: { onMessage: { addListener: (f) => { listener = f; } } } };
    globalThis.createImageBitmap = async () => ({ close() {} });
    const { T } = await import(pathToFileURL(join(dir, 'messages.js')).href);
    await import(pathToFileURL(join(dir, 'offscreen.js')).href);
    const ask = () => new Promise((reply) => {
      assert.equal(listener({ type: T.IDENTIFY, target: 'offscreen', data: { image: 'data:image/png;base64,AA==', x: 1, y: 1 } }, {}, reply), true);
    });
    assert.deepEqual(await within(ask()), { error: 'disk full' });
    assert.equal((await within(ask())).answers[0].name, 'Sintel', 'the second request loads again');
    assert.equal(globalThis.loads, 2);
    assert.equal((await within(ask())).answers[0].name, 'Sintel');
    assert.equal(globalThis.loads, 2, 'a good load is kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    delete globalThis.chrome;
  }
});

// Every permission the extension asks for must be used by its code (the store shows each to the user).
test('extension manifest: every permission is used', () => {
  const manifest = JSON.parse(readFileSync(join(SITE, 'extension', 'manifest.json'), 'utf8'));
  const code = readdirSync(join(SITE, 'extension')).filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(SITE, 'extension', f), 'utf8')).join('\n');
  const uses = {
    contextMenus: /chrome\.contextMenus\./,
    offscreen: /chrome\.offscreen\./,
    scripting: /chrome\.scripting\./,
    activeTab: /chrome\.tabs\.captureVisibleTab/, // activeTab is what lets the screenshot happen
    storage: /chrome\.storage\./,
  };
  for (const p of manifest.permissions) {
    assert.ok(uses[p], `no rule for permission ${p}: add what code needs it`);
    assert.match(code, uses[p], `permission ${p} is asked for but no extension script uses it`);
  }
});

// assets.js is a classic script (importScripts): run it in a context with fake fetch and caches.
function loadAssets(fetchImpl) {
  const store = new Map();
  const cache = {
    match: async (k) => (store.has(k) ? new Response(store.get(k)) : undefined),
    put: async (k, res) => { store.set(k, await res.text()); },
    delete: async (k) => store.delete(k),
  };
  const ctx = vm.createContext({ console, URL, Response, crypto, fetch: fetchImpl, caches: { open: async () => cache } });
  vm.runInContext(readFileSync(join(SITE, 'assets.js'), 'utf8'), ctx);
  return { ctx, store };
}

test('assets.js fetchJSON: an invalid manifest is refused before it can replace the last good offline copy', async () => {
  const good = { format: 'toonid-pack', version: 1, model_sha256: 'a'.repeat(64), shards: [{ file: 's0.tps', sha256: 'b'.repeat(64) }] };
  let answer = JSON.stringify(good);
  const { ctx, store } = loadAssets(async () => {
    if (answer === null) throw new TypeError('offline');
    return new Response(answer, { headers: { 'content-type': 'application/json' } });
  });
  const url = 'https://example.test/v1/packs/default/manifest.json';
  const get = () => vm.runInContext(`fetchJSON(${JSON.stringify(url)}, { check: parseManifest })`, ctx);
  assert.equal((await get()).doc.shards.length, 1);
  assert.equal(store.size, 1);
  answer = JSON.stringify({ ...good, shards: [] }); // parses, but parseManifest refuses it
  await assert.rejects(get(), /missing shards/);
  answer = '{"format": "toonid-pack", "version": 2}';
  await assert.rejects(get(), /version 2/);
  answer = null; // offline: the last good copy is still the one served
  const off = await get();
  assert.equal(off.offline, true);
  assert.deepEqual(JSON.parse(JSON.stringify(off.doc)), good);
  // build.json is checked the same way.
  answer = '{"bridge": 2}';
  await assert.rejects(vm.runInContext(`fetchJSON('https://example.test/build.json', { check: checkBuild })`, ctx), /wasm\.simd/);
  assert.equal(store.size, 1, 'nothing stored for a refused document');
});

// content.js against a minimal fake DOM: only a trusted (user) click on its layer asks for a screenshot.
test('extension content.js: synthetic (untrusted) clicks on the crosshair layer are ignored', async () => {
  class El {
    constructor(tag) { this.tag = tag; this.style = {}; this.attrs = {}; this.listeners = []; this.children = []; this.removed = false; }
    setAttribute(k, v) { this.attrs[k] = v; }
    addEventListener(type, fn, o = {}) { this.listeners.push({ type, fn, once: o.once }); }
    removeEventListener(type, fn) { this.listeners = this.listeners.filter((l) => l.type !== type || l.fn !== fn); }
    dispatch(type, props) {
      const e = { type, currentTarget: this, preventDefault() {}, stopPropagation() {}, ...props };
      for (const l of [...this.listeners]) {
        if (l.type !== type) continue;
        if (l.once) this.removeEventListener(type, l.fn);
        l.fn.call(this, e);
      }
    }
    append(...c) { this.children.push(...c); }
    remove() { this.removed = true; }
    focus() {}
  }
  const root = new El('html');
  const sent = [];
  let onMessage;
  const ctx = vm.createContext({
    window: {},
    devicePixelRatio: 1,
    HTMLVideoElement: class {},
    requestAnimationFrame: (f) => setImmediate(f),
    addEventListener: () => {}, // the faces' scroll/resize listeners
    document: { documentElement: root, createElement: (t) => new El(t), elementsFromPoint: () => [], querySelectorAll: () => [], addEventListener: () => {} },
    chrome: { runtime: { onMessage: { addListener: (f) => { onMessage = f; } }, sendMessage: (m) => sent.push(m) } },
  });
  vm.runInContext(readFileSync(join(SITE, 'extension', 'content.js'), 'utf8'), ctx);
  onMessage({ target: 'content', type: 'toonid:pick' });
  const layer = root.children.at(-1);
  const frames = () => new Promise((r) => setTimeout(r, 20));
  layer.dispatch('click', { isTrusted: false, clientX: 5, clientY: 6 });
  layer.dispatch('click', { isTrusted: false, clientX: 5, clientY: 6 });
  await frames();
  assert.equal(sent.length, 0, 'a synthetic click must not ask the background for a screenshot');
  assert.equal(layer.removed, false, 'the layer stays armed for the real click');
  layer.dispatch('click', { isTrusted: true, clientX: 7, clientY: 8 });
  await frames();
  assert.equal(sent.length, 1);
  assert.deepEqual({ ...sent[0].data }, { x: 7, y: 8, dpr: 1 });
  assert.equal(layer.removed, true);
  layer.dispatch('click', { isTrusted: true, clientX: 7, clientY: 8 });
  await frames();
  assert.equal(sent.length, 1, 'one pick, one request');
});

// worker.js is a classic script too: run it with a fake IndexedDB (puts apply when the
// transaction completes) and a fake bridge whose checkName trims the way Go's strings.TrimSpace
// does (U+0085 too, which String.trim() keeps) and counts code points.
function loadWorker({ limits = { name: 80, examples: 3, characters: 10000 }, records = [] } = {}) {
  const db = new Map(records.map((r) => [r.id, structuredClone(r)]));
  const later = (f) => setTimeout(f);
  const indexedDB = {
    open() {
      const req = {};
      later(() => {
        req.result = {
          close() {},
          transaction(_, mode) {
            const t = {}, puts = [];
            const store = {
              getAll() { const r = { result: [...db.values()].map((x) => structuredClone(x)) }; return r; },
              put(rec) { if (mode !== 'readwrite') throw new Error('readonly'); puts.push(['put', structuredClone(rec)]); return {}; },
              delete(id) { puts.push(['delete', id]); return {}; },
            };
            t.objectStore = () => store;
            later(() => { for (const [op, x] of puts) op === 'put' ? db.set(x.id, x) : db.delete(x); t.oncomplete(); });
            return t;
          },
        };
        req.onsuccess();
      });
      return req;
    },
  };
  const goTrim = (s) => s.replace(/^[\s\u0085]+|[\s\u0085]+$/gu, '');
  const calls = [];
  const checkName = (n) => {
    const t = goTrim(n), c = [...t].length;
    return c < 1 || c > limits.name ? { error: `bridge: name of ${c} characters, want 1..${limits.name}` } : { name: t };
  };
  const checkSet = (js) => {
    const all = JSON.parse(js);
    if (all.length > limits.characters) return { error: `bridge: ${all.length} taught characters, limit ${limits.characters}` };
    for (const c of all) {
      const e = checkName(c.name).error || (c.embeddings.length > limits.examples && 'too many examples');
      if (e) return { error: e };
    }
    return { user: all.length };
  };
  const bridge = {
    embed: () => JSON.stringify({ embedding: [1, 0] }),
    checkName: (n) => { calls.push('checkName'); return JSON.stringify(checkName(n)); },
    checkUser: (js) => { calls.push('checkUser'); return JSON.stringify(checkSet(js)); },
    setUser: (js) => { calls.push('setUser'); return JSON.stringify(checkSet(js)); },
  };
  const posted = new Map();
  const ctx = vm.createContext({ console, URL, crypto, structuredClone, setTimeout, indexedDB, importScripts() {},
    postMessage: (m) => posted.set(m.id, m) });
  ctx.self = ctx;
  vm.runInContext(readFileSync(join(SITE, 'worker.js'), 'utf8'), ctx);
  ctx.fake = { bridge, limits };
  vm.runInContext(`state = { bridge: fake.bridge, info: { limits: fake.limits }, manifest: { labels: [{ id: 'sintel', name: 'Sintel' }] }, modelSha: 'm' }`, ctx);
  let next = 0;
  const send = async (type, data) => {
    const id = ++next;
    await ctx.onmessage({ data: { id, type, data } });
    const m = posted.get(id);
    if (!m.ok) throw new Error(m.error);
    return m.result;
  };
  return { db, send, calls };
}

const crop = () => ({ pix: new ArrayBuffer(4), w: 1, h: 1 });

test('worker.js enroll: the bridge judges the name before anything is stored (U+0085 survives String.trim)', async () => {
  const w = loadWorker();
  await assert.rejects(w.send('enroll', { name: '\u0085', crops: [crop()] }), /name of 0 characters/);
  await assert.rejects(w.send('enroll', { name: '😀'.repeat(81), crops: [crop()] }), /name of 81 characters/);
  assert.equal(w.db.size, 0, 'a name the bridge refuses is never stored');
  const r = await w.send('enroll', { name: ' \u0085Ann ', crops: [crop(), crop(), crop(), crop()] });
  assert.equal(r.name, 'Ann', 'stored under the name as the bridge trims it');
  assert.equal(r.examples, 3, 'the latest limits.examples crops are kept');
  const emoji = await w.send('enroll', { name: '😀'.repeat(41), crops: [crop()] }); // 82 UTF-16 units, 41 code points
  assert.equal(emoji.name, '😀'.repeat(41));
  assert.ok(w.calls.indexOf('checkUser') < w.calls.indexOf('setUser'), 'the dry run comes before the store');
  assert.equal(w.db.size, 2);
});

test('worker.js enroll items: all or nothing', async () => {
  const w = loadWorker({ limits: { name: 80, examples: 3, characters: 2 }, records: [
    { id: 'user:old', name: 'Old', series: '', created: 1, crops: [crop()], modelSha: 'm', embeddings: [[1, 0]] }] });
  await assert.rejects(w.send('enroll', { items: [{ name: 'Ann', crops: [crop()] }, { name: '\u0085', crops: [crop()] }] }), /name of 0/);
  await assert.rejects(w.send('enroll', { items: [{ name: 'Ann', crops: [crop()] }, { name: 'Bob', crops: [crop()] }] }), /3 taught characters, limit 2/);
  assert.deepEqual([...w.db.keys()], ['user:old'], 'a refused batch stores none of its characters');
  const got = await w.send('enroll', { items: [{ name: 'ann', crops: [crop()] }, { name: 'Ann', crops: [crop(), crop()] }, { name: 'old', crops: [crop()] }, { name: 'sintel', crops: [crop()] }] })
    .catch((e) => e);
  assert.match(String(got), /3 taught characters, limit 2/, 'a pack character taught anew counts too');
  const ok = await w.send('enroll', { items: [{ name: 'ann', crops: [crop()] }, { name: 'Ann', crops: [crop(), crop()] }, { name: 'old', crops: [crop()] }] });
  assert.deepEqual(ok.map((r) => [r.name, r.examples]), [['ann', 3], ['ann', 3], ['Old', 2]], 'one name in a batch is one character');
  assert.equal(w.db.size, 2);
});

test('taught.js import: every crop is read before one enrollAll (no half import), names are left to the bridge', async () => {
  const { importTaught, FORMAT } = await import(pathToFileURL(join(SITE, 'taught.js')).href);
  const png = 'data:image/png;base64,iVBORw0KGgo=';
  const closed = [];
  globalThis.createImageBitmap = async (blob) => {
    const side = (await blob.arrayBuffer()).byteLength > 8 ? 600 : 8; // a longer "PNG" decodes as too large
    const b = { width: side, height: side, close() { closed.push(b); } };
    return b;
  };
  const calls = [];
  const api = { enroll() { throw new Error('import must not enroll one by one'); }, async enrollAll(items) { calls.push(items); return items.map((it) => ({ name: it.name, examples: it.sources.length })); } };
  const file = (characters) => JSON.stringify({ format: FORMAT, version: 1, characters });
  const long = '😀'.repeat(41); // 82 UTF-16 units: refused by the old length check, not by enroll's limit
  const got = await importTaught(api, file([{ name: long, crops: [png] }, { name: 'B', crops: [png, png] }]));
  assert.deepEqual(got, [{ name: long, examples: 1 }, { name: 'B', examples: 2 }]);
  assert.equal(calls.length, 1);
  assert.equal(closed.length, 3, 'every bitmap closed');
  await assert.rejects(importTaught(api, file([{ name: 'A', crops: [png] }, { name: 'B', crops: ['data:image/png;base64,' + 'A'.repeat(40)] }])), /larger than 512/);
  await assert.rejects(importTaught(api, file([{ name: 'A', crops: [png] }, { name: 'B', crops: ['http://x/y.png'] }])), /not a PNG data URL/);
  await assert.rejects(importTaught(api, file([{ name: 'A', crops: [png] }, { name: 'B', crops: [] }])), /without crops/);
  assert.equal(calls.length, 1, 'a bad character later in the file stores nothing');
  assert.equal(closed.length, 3 + 2 + 1 + 1, 'bitmaps decoded before a refusal are closed too');
  delete globalThis.createImageBitmap;
});

// app.js openURL, run alone: a dropped URL whose last segment is a malformed %-escape threw from
// decodeURIComponent before the try, an unhandled rejection with no message on the page.
test('app.js openURL: a malformed %-escape in the dropped URL still fetches, under the raw name', async () => {
  const src = readFileSync(join(SITE, 'app.js'), 'utf8');
  const m = /\nasync function openURL\(url\) \{\n[\s\S]*?\n\}\n/.exec(src);
  assert.ok(m, 'openURL in app.js');
  const seen = { shown: [], failed: [] };
  const ctx = vm.createContext({
    URL, Error, TypeError, Blob, File, seen, readyText: '',
    document: { baseURI: 'http://localhost/' }, location: { origin: 'http://localhost' },
    fetch: async () => new Response(new Blob([new Uint8Array([1])])),
    setStatus() {}, show: (f) => seen.shown.push(f.name), failOpen: (msg) => seen.failed.push(msg),
  });
  vm.runInContext(m[0], ctx);
  await vm.runInContext(`openURL('http://localhost/img/%E0%A4%A.png')`, ctx);
  await vm.runInContext(`openURL('http://localhost/img/caf%C3%A9.png')`, ctx);
  assert.deepEqual(seen, { shown: ['%E0%A4%A.png', 'café.png'], failed: [] });
});

test('toonid.js beats and verdict.js: a flat reply (identify.Reply.flat) loses to any matched one and reads "No face here"', async () => {
  const { beats } = toonid;
  const { verdict } = await import(pathToFileURL(join(SITE, 'verdict.js')).href);
  const flat = { flat: true, score: 0, index: 0, answers: [], threshold: 0.75 };
  const low = { flat: false, score: -0.2, index: 1, answers: [{ name: 'A', score: -0.2 }], threshold: 0.75 };
  assert.equal(beats(low, flat), true, 'a matched crop, even one scoring below 0, beats a flat one');
  assert.equal(beats(flat, low), false);
  assert.equal(beats(flat, null), true);
  assert.equal(beats({ ...low, index: 0 }, low), true, 'a tie goes to the earlier crop within a stage');
  assert.equal(beats({ ...low, index: 0 }, low, true), false, 'the refine stage must score higher');
  const v = verdict(flat);
  assert.deepEqual([v.kind, v.text], ['unknown', 'No face here']);
  assert.equal(verdict({ ...flat, flat: false }).text, 'Unknown');
});
