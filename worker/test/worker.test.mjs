// End-to-end tests of the toonid Worker under real workerd (wrangler dev) with a local R2
// bucket, seeded by `toonid publish -local` from a fixture store this test writes itself.
// The same requests go to the local Go server (toonid serve) over the same store, and the
// answers must agree: one handler, two hosts.
//
// Run: make test-worker   (env TOONID_BIN = the toonid binary; the worker must be built)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, writeFile, rm, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import net from 'node:net';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const workerDir = join(here, '..');
const repo = join(workerDir, '..');
const wrangler = join(repo, 'node_modules', '.bin', 'wrangler');
const toonid = process.env.TOONID_BIN;
const fixtureBin = process.env.FIXTURE_BIN;
const BUCKET = 'toonid-store';
const ORIGIN = 'http://allowed.test';
const EXT_ORIGIN = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

const sha = (b) => createHash('sha256').update(b).digest('hex');
let tmp, workerURL, localURL;
const procs = [];
const files = new Map(); // store key -> Buffer

async function put(key, buf) {
  files.set(key, buf);
  const p = join(tmp, 'store', key);
  await mkdir(dirname(p), { recursive: true });
  await writeFile(p, buf);
}

async function listFiles(dir, prefix = '') {
  const out = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const key = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...await listFiles(dir, key));
    else out.push(key);
  }
  return out.sort();
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// request sends path exactly as given (no URL normalisation on the client side).
function request(base, method, path, headers = {}) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(20000, () => req.destroy(new Error(`timeout ${method} ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

function startProc(cmd, args, opts) {
  const p = spawn(cmd, args, { ...opts, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  p.log = '';
  p.stdout.on('data', (d) => { p.log += d; });
  p.stderr.on('data', (d) => { p.log += d; });
  procs.push(p);
  return p;
}

async function stopAll() {
  for (const p of procs) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const gone = new Promise((r) => p.once('exit', r));
    try { process.kill(-p.pid, 'SIGTERM'); } catch { /* already gone */ }
    const t = setTimeout(() => { try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
    await gone;
    clearTimeout(t);
  }
}

async function waitReady(base, p, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (p.exitCode !== null) throw new Error(`process exited early:\n${p.log}`);
    try {
      const r = await request(base, 'GET', '/v1/packs/index.json');
      if (r.status === 200) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not ready after ${ms} ms:\n${p.log}`);
}

before(async () => {
  assert.ok(toonid, 'TOONID_BIN must name the toonid binary');
  assert.ok(fixtureBin, 'FIXTURE_BIN must name the worker/test/fixture binary');
  tmp = await mkdtemp(join(tmpdir(), 'toonid-worker-test-'));
  // Fixture store: sizes chosen to cross stream chunk boundaries and include a 1-byte file.
  // A model is named by its content address (model/FORMAT.md): the sha256 of the bytes after
  // offset 40, which the header carries at 8..40; the rest may be random for the handler.
  const model = randomBytes(300_000);
  model.write('TMDL', 0, 'latin1');
  model.writeUInt32LE(2, 4);
  Buffer.from(sha(model.subarray(40)), 'hex').copy(model, 8);
  await put(`models/${sha(model.subarray(40))}.tmdl`, model);
  const shards = [randomBytes(70_001), randomBytes(1), randomBytes(4096)];
  for (const s of shards) await put(`packs/fixture/${sha(s)}.tps`, s);
  const wasm = Buffer.concat([Buffer.from('\0asm\x01\0\0\0', 'binary'), randomBytes(100)]);
  await put(`packs/fixture/${sha(wasm)}.wasm`, wasm);
  await put('packs/fixture/thumb.png', randomBytes(500));
  // The packs themselves are real (a tiny model and two packs from worker/test/fixture):
  // toonid publish opens each pack as a client would and refuses one that does not open.
  await promisify(execFile)(fixtureBin, ['-out', join(tmp, 'store'), 'fixture', 'second'], { timeout: 60_000 });
  for (const key of await listFiles(join(tmp, 'store'))) {
    if (!files.has(key)) files.set(key, await readFile(join(tmp, 'store', key)));
  }

  const state = join(tmp, 'state');
  await promisify(execFile)(toonid, ['publish', '-store', join(tmp, 'store'), '-local', '-persist-to', state,
    '-bucket', BUCKET, '-wrangler', wrangler], { env, cwd: repo, timeout: 120_000 });

  // The local server goes first: its origin is the page origin the browser test uses, and
  // the Worker must allow it.
  await mkdir(join(tmp, 'site'), { recursive: true });
  await writeFile(join(tmp, 'site', 'index.html'), '<!doctype html><title>cors</title>');
  const l = startProc(toonid, ['serve', '-addr', '127.0.0.1:0', '-store', join(tmp, 'store'),
    '-site', join(tmp, 'site'), '-origins', `${ORIGIN},${EXT_ORIGIN}`], { cwd: repo });
  const deadline = Date.now() + 10_000;
  while (!/http:\/\/\S+/.test(l.log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  localURL = l.log.match(/http:\/\/[^\s/]+/)?.[0];
  assert.ok(localURL, `toonid serve printed no URL:\n${l.log}`);

  const port = await freePort();
  workerURL = `http://127.0.0.1:${port}`;
  const w = startProc(wrangler, ['dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', state,
    '--var', `ALLOWED_ORIGINS:${ORIGIN},${EXT_ORIGIN},${localURL}`, '--show-interactive-dev-session=false',
    '--log-level', 'warn'], { cwd: workerDir });
  await Promise.all([waitReady(workerURL, w, 60_000), waitReady(localURL, l, 10_000)]);
});

after(async () => {
  await stopAll();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const isAddressed = (key) => /\/[0-9a-f]{64}\.[a-z0-9]+$/.test(key);
// The ETag of a content-addressed file is the sha256 in its name (a model is named by its own
// embedded checksum, which is not the file's sha256).
const nameTag = (key) => `"${key.match(/\/([0-9a-f]{64})\.[a-z0-9]+$/)[1]}"`;

function assertJSONError(r, msg) {
  assert.equal(r.headers['content-type'], 'application/json');
  const e = JSON.parse(r.body.toString());
  assert.deepEqual(Object.keys(e), ['error']);
  if (msg) assert.equal(e.error, msg);
}

test('every stored file downloads byte-identical with the right headers', async () => {
  for (const [key, buf] of files) {
    const r = await request(workerURL, 'GET', `/v1/${key}`);
    assert.equal(r.status, 200, key);
    assert.ok(r.body.equals(buf), `${key}: body differs (${r.body.length} vs ${buf.length} bytes)`);
    assert.equal(r.headers['content-length'], String(buf.length), key);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    const want = key.endsWith('.json') ? 'application/json' : key.endsWith('.wasm') ? 'application/wasm'
      : key.endsWith('.png') ? 'image/png' : 'application/octet-stream';
    assert.equal(r.headers['content-type'], want, key);
    if (isAddressed(key)) {
      assert.equal(r.headers.etag, nameTag(key), key);
      assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable', key);
    } else {
      assert.equal(r.headers['cache-control'], 'no-cache', key);
      if (key.endsWith('manifest.json')) assert.equal(r.headers.etag, `"${sha(buf)}"`, key);
    }
  }
});

test('pack index lists the published packs', async () => {
  const r = await request(workerURL, 'GET', '/v1/packs/index.json');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), { packs: ['fixture', 'second'] });
});

test('HEAD sends headers and no body', async () => {
  const [key, buf] = [...files].find(([k]) => k.startsWith('models/'));
  const r = await request(workerURL, 'HEAD', `/v1/${key}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], String(buf.length));
  assert.equal(r.headers.etag, nameTag(key));
  assert.equal(r.body.length, 0);
});

test('304 on If-None-Match', async () => {
  for (const key of [...files.keys()].filter((k) => isAddressed(k) || k.endsWith('manifest.json'))) {
    const etag = isAddressed(key) ? nameTag(key) : `"${sha(files.get(key))}"`;
    const r = await request(workerURL, 'GET', `/v1/${key}`, { 'If-None-Match': etag });
    assert.equal(r.status, 304, key);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers.etag, etag);
    const stale = await request(workerURL, 'GET', `/v1/${key}`, { 'If-None-Match': '"stale"' });
    assert.equal(stale.status, 200, key);
  }
});

test('206 byte ranges match the source slices', async () => {
  const [key, buf] = [...files].find(([k]) => k.startsWith('models/'));
  const n = buf.length;
  for (const [range, s, e] of [['bytes=0-0', 0, 0], ['bytes=0-65535', 0, 65535], ['bytes=1000-', 1000, n - 1],
    ['bytes=-17', n - 17, n - 1], ['bytes=123456-999999999', 123456, n - 1], [`bytes=${n - 1}-`, n - 1, n - 1]]) {
    const r = await request(workerURL, 'GET', `/v1/${key}`, { Range: range });
    assert.equal(r.status, 206, range);
    assert.equal(r.headers['content-range'], `bytes ${s}-${e}/${n}`, range);
    assert.equal(r.headers['content-length'], String(e - s + 1), range);
    assert.ok(r.body.equals(buf.subarray(s, e + 1)), `${range}: body differs`);
  }
  const m = await request(workerURL, 'GET', '/v1/packs/fixture/manifest.json', { Range: 'bytes=2-9' });
  assert.equal(m.status, 206);
  assert.ok(m.body.equals(files.get('packs/fixture/manifest.json').subarray(2, 10)));
});

test('416 when the range cannot be satisfied', async () => {
  const [key, buf] = [...files].find(([k]) => k.startsWith('models/'));
  for (const range of [`bytes=${buf.length}-`, 'bytes=9-3', 'bytes=-0']) {
    const r = await request(workerURL, 'GET', `/v1/${key}`, { Range: range });
    assert.equal(r.status, 416, range);
    assert.equal(r.headers['content-range'], `bytes */${buf.length}`, range);
    assertJSONError(r, 'range not satisfiable');
  }
});

test('404 for missing files and unknown routes', async () => {
  for (const p of [`/v1/models/${'0'.repeat(64)}.tmdl`, '/v1/packs/nope/manifest.json', '/v1/packs/fixture/nope.json',
    '/', '/v2/packs/index.json', '/v1/models/short.tmdl']) {
    const r = await request(workerURL, 'GET', p);
    assert.equal(r.status, 404, p);
    assertJSONError(r, 'not found');
  }
});

test('405 for other methods', async () => {
  for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const r = await request(workerURL, m, '/v1/packs/fixture/manifest.json');
    assert.equal(r.status, 405, m);
    assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS');
    assertJSONError(r, 'method not allowed');
  }
});

test('traversal and smuggled separators are refused', async () => {
  // workerd resolves plain and %2e dot segments before the Worker sees them (-> 404);
  // what reaches the handler with an escape or backslash is refused (400).
  for (const p of ['/v1/packs/../../etc/passwd', '/v1/packs/fixture/../../../wrangler.toml',
    '/v1/packs/%2e%2e/%2e%2e/wrangler.toml', '/v1/packs/fixture%2F..%2F..%2Fmodels/x.tmdl',
    '/v1/packs/fixture%5C..%5Cmanifest.json', '/v1/packs//etc/passwd', '/v1/packs/fixture/manifest.json%00',
    `/v1/packs/${'a'.repeat(600)}/manifest.json`, '/v1/packs\\..\\..\\etc\\passwd']) {
    const r = await request(workerURL, 'GET', p);
    assert.ok(r.status === 400 || r.status === 404, `${p}: status ${r.status}`);
    assertJSONError(r);
    assert.ok(!r.body.includes('toonid-store') && !r.body.includes('root:'), `${p}: leaked ${r.body}`);
  }
  const r = await request(workerURL, 'GET', '/v1/packs/fixture%2Fmanifest.json');
  assert.equal(r.status, 400);
  assertJSONError(r, 'invalid path');
});

test('CORS for configured origins, preflight answered', async () => {
  const key = [...files.keys()].find(isAddressed);
  for (const origin of [ORIGIN, EXT_ORIGIN]) {
    const r = await request(workerURL, 'GET', `/v1/${key}`, { Origin: origin });
    assert.equal(r.headers['access-control-allow-origin'], origin);
    assert.match(r.headers['access-control-expose-headers'], /ETag/);
  }
  const other = await request(workerURL, 'GET', `/v1/${key}`, { Origin: 'https://evil.test' });
  assert.equal(other.status, 200);
  assert.equal(other.headers['access-control-allow-origin'], undefined);

  const pre = await request(workerURL, 'OPTIONS', `/v1/${key}`, { Origin: ORIGIN,
    'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range, if-none-match' });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], ORIGIN);
  assert.equal(pre.headers['access-control-allow-methods'], 'GET, HEAD');
  assert.match(pre.headers['access-control-allow-headers'], /Range/);
  const bad = await request(workerURL, 'OPTIONS', `/v1/${key}`, { Origin: 'https://evil.test',
    'Access-Control-Request-Method': 'GET' });
  assert.equal(bad.status, 403);
  assert.equal(bad.headers['access-control-allow-origin'], undefined);
});

test('the Worker and the local Go server answer alike', async () => {
  const model = [...files.keys()].find((k) => k.startsWith('models/'));
  const modelTag = nameTag(model); // a model's ETag is its name, the checksum (not the file's sha256)
  const manifestTag = `"${sha(files.get('packs/fixture/manifest.json'))}"`;
  const pre = (reqHeaders) => ({ Origin: ORIGIN, 'Access-Control-Request-Method': 'GET',
    'Access-Control-Request-Headers': reqHeaders });
  // [method, path, headers, status both must give]: the differences the audit found
  // first, each with the answer serve/API.md documents.
  const table = [
    ['GET', `/v1/${model}`, { Range: 'bytes=0-1,2-3' }, 200],
    ['GET', `/v1/${model}`, { Range: 'bytes=0-1, 2-3' }, 200],
    ['GET', `/v1/${model}`, { Range: ['bytes=0-1', 'bytes=2-3'] }, 200],
    ['GET', `/v1/${model}`, { Range: 'bytes=0-1' }, 206],
    ['GET', `/v1/${model}`, { 'If-None-Match': `"x", ${modelTag}` }, 304],
    ['GET', `/v1/${model}`, { 'If-None-Match': ['"x"', modelTag] }, 304],
    ['GET', '/v1/packs/fixture/manifest.json', { 'If-None-Match': `"x",${manifestTag}` }, 304],
    ['GET', '/v1/packs/fixture/manifest.json', { 'If-None-Match': '"x", "y"' }, 200],
    ['OPTIONS', `/v1/${model}`, pre('range, x-evil'), 403],
    ['OPTIONS', `/v1/${model}`, pre('x-evil,range'), 403],
    ['OPTIONS', `/v1/${model}`, pre('range,if-none-match'), 204],
    ['GET', `/v1/${model}`, { Range: 'bytes=0-1', 'If-Range': 'Mon, 02 Jan 2006 15:04:05 GMT' }, 200],
    ['GET', `/v1/${model}`, { Range: 'bytes=0-1', 'If-Range': modelTag }, 206],
    ['GET', '/v1/packs\\fixture\\manifest.json', {}, 200],
    ['GET', '/v1\\packs\\fixture\\manifest.json', {}, 200],
    ['GET', '/v1/packs/fixture%5Cmanifest.json', {}, 400],
    ['GET', `/v1/${model}`, { Origin: `${ORIGIN}, https://evil.test` }, 200],
  ];
  const rows = [];
  for (const [m, p, h, want] of table) {
    const [a, b] = await Promise.all([request(workerURL, m, p, h), request(localURL, m, p, h)]);
    rows.push(`| ${m} | \`${p.replace(/[0-9a-f]{64}/, '<sha>')}\` | ${JSON.stringify(h).replace(/[0-9a-f]{64}/g, '<sha>')} | ${a.status} | ${b.status} |`);
    assert.equal(a.status, want, `${m} ${p} ${JSON.stringify(h)}: worker ${a.status}, want ${want}`);
    assert.equal(b.status, want, `${m} ${p} ${JSON.stringify(h)}: local ${b.status}, want ${want}`);
    assert.ok(a.body.equals(b.body), `${m} ${p}: bodies differ`);
    assert.equal(a.headers['content-range'], b.headers['content-range'], `${m} ${p}: content-range`);
  }
  console.log(['| method | path | headers | Worker | local |', '|---|---|---|---|---|', ...rows].join('\n'));

  const cases = [
    ['GET', '/v1/packs/index.json', {}], ['GET', '/v1/packs/fixture/manifest.json', {}],
    ['HEAD', `/v1/${model}`, {}], ['GET', `/v1/${model}`, { Range: 'bytes=5-1000' }],
    ['GET', `/v1/${model}`, { Range: 'bytes=999999999-' }], ['GET', `/v1/${model}`, { 'If-None-Match': `"${sha(files.get(model))}"` }],
    ['GET', '/v1/packs/nope/manifest.json', {}], ['POST', `/v1/${model}`, {}],
    ['GET', '/v1/packs/fixture%2Fmanifest.json', {}], ['GET', `/v1/${model}`, { Origin: EXT_ORIGIN }],
    ['OPTIONS', `/v1/${model}`, { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET' }],
    ...[...files.keys()].map((k) => ['GET', `/v1/${k}`, {}]),
  ];
  const compared = ['content-type', 'content-length', 'content-range', 'etag', 'cache-control', 'allow',
    'access-control-allow-origin', 'access-control-allow-methods', 'accept-ranges'];
  for (const [m, p, h] of cases) {
    const [a, b] = await Promise.all([request(workerURL, m, p, h), request(localURL, m, p, h)]);
    assert.equal(a.status, b.status, `${m} ${p}: worker ${a.status}, local ${b.status}`);
    for (const k of compared) assert.equal(a.headers[k], b.headers[k], `${m} ${p}: ${k}`);
    assert.ok(a.body.equals(b.body), `${m} ${p}: bodies differ`);
  }
});

test('a page on another origin reads the Worker through real browser CORS', async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const shardKey = [...files.keys()].find((k) => k.endsWith('.tps') && files.get(k).length > 1000);
    const manifest = files.get('packs/fixture/manifest.json');
    const check = async (pageURL) => {
      await page.goto(pageURL);
      return page.evaluate(async ({ base, shardKey }) => {
        const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
        try {
          const m = await fetch(`${base}/v1/packs/fixture/manifest.json`);
          const full = await fetch(`${base}/v1/${shardKey}`);
          const fullSum = hex(await crypto.subtle.digest('SHA-256', await full.arrayBuffer()));
          const part = await fetch(`${base}/v1/${shardKey}`, { headers: { Range: 'bytes=10-19' }, cache: 'no-store' });
          const partBytes = hex(await part.arrayBuffer());
          return { ok: true, manifest: await m.text(), etag: full.headers.get('ETag'), fullSum,
            partStatus: part.status, contentRange: part.headers.get('Content-Range'), partBytes };
        } catch (e) {
          return { ok: false, error: String(e) };
        }
      }, { base: workerURL, shardKey });
    };
    const r = await check(`${localURL}/`);
    assert.ok(r.ok, `cross-origin fetch failed: ${r.error}`);
    assert.equal(r.manifest, manifest.toString());
    assert.equal(r.fullSum, sha(files.get(shardKey)));
    assert.equal(r.etag, `"${sha(files.get(shardKey))}"`, 'ETag must be exposed to the page');
    assert.equal(r.partStatus, 206);
    assert.equal(r.contentRange, `bytes 10-19/${files.get(shardKey).length}`);
    assert.equal(r.partBytes, files.get(shardKey).subarray(10, 20).toString('hex'));

    // Same server, other origin (localhost instead of 127.0.0.1): the Worker does not allow it.
    const denied = await check(localURL.replace('127.0.0.1', 'localhost') + '/');
    assert.equal(denied.ok, false, 'a page on an unlisted origin could read the Worker');
  } finally {
    await browser.close();
  }
});
