// The demo's JS API pointed at the Worker: the site is served by `toonid serve` from a store
// with nothing in it, so the model and pack can only come from the Worker (wrangler dev, local
// R2 seeded by `toonid publish -local` from the dev store). The answers must equal those of the
// same page loading from its own origin's /v1/.
//
// Run: make test-worker-site (env TOONID_BIN, SITE_DIR = build/site, STORE_DIR = a store with
// packs/default and scene.json + scene.png beside it, e.g. build/devstore).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const workerDir = join(here, '..');
const repo = join(workerDir, '..');
const wrangler = join(repo, 'node_modules', '.bin', 'wrangler');
const { TOONID_BIN: toonid, SITE_DIR: siteDir, STORE_DIR: storeDir } = process.env;
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
const procs = [];
let tmp, workerURL, bareURL, fullURL, browser;

function start(cmd, args, cwd) {
  const p = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  p.log = '';
  p.stdout.on('data', (d) => { p.log += d; });
  p.stderr.on('data', (d) => { p.log += d; });
  procs.push(p);
  return p;
}

async function serveURL(p) {
  for (let i = 0; i < 200 && !/http:\/\/\S+/.test(p.log); i++) await new Promise((r) => setTimeout(r, 50));
  const u = p.log.match(/http:\/\/[^\s/]+/)?.[0];
  assert.ok(u, `toonid serve printed no URL:\n${p.log}`);
  return u;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

before(async () => {
  for (const [k, v] of Object.entries({ TOONID_BIN: toonid, SITE_DIR: siteDir, STORE_DIR: storeDir })) assert.ok(v, `${k} must be set`);
  tmp = await mkdtemp(join(tmpdir(), 'toonid-site-worker-'));
  await mkdir(join(tmp, 'empty-store'));
  const state = join(tmp, 'state');
  await promisify(execFile)(toonid, ['publish', '-store', storeDir, '-local', '-persist-to', state, '-wrangler', wrangler],
    { env, cwd: repo, timeout: 120_000 });
  bareURL = await serveURL(start(toonid, ['serve', '-addr', '127.0.0.1:0', '-store', join(tmp, 'empty-store'), '-site', siteDir], repo));
  fullURL = await serveURL(start(toonid, ['serve', '-addr', '127.0.0.1:0', '-store', storeDir, '-site', siteDir], repo));
  const port = await freePort();
  workerURL = `http://127.0.0.1:${port}`;
  const w = start(wrangler, ['dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', state,
    '--var', `ALLOWED_ORIGINS:${bareURL}`, '--show-interactive-dev-session=false', '--log-level', 'warn'], workerDir);
  for (let i = 0; ; i++) {
    if (w.exitCode !== null) throw new Error(`wrangler dev exited:\n${w.log}`);
    const ok = await fetch(`${workerURL}/v1/packs/index.json`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 240) throw new Error(`wrangler dev not ready:\n${w.log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of procs) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const gone = new Promise((r) => p.once('exit', r));
    try { process.kill(-p.pid, 'SIGTERM'); } catch { /* gone */ }
    const t = setTimeout(() => { try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
    await gone;
    clearTimeout(t);
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// identifyAll loads the API on pageURL's origin with the given asset base (fresh context, so no
// Cache Storage is shared) and identifies every scene face.
async function identifyAll(pageURL, base, png, faces) {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    const logs = [];
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    await page.goto(`${pageURL}/build.json`); // any same-origin document; the demo page would load itself
    const r = await page.evaluate(async ({ base, png, faces }) => {
      try {
        const t = await import('/toonid.js');
        const img = new Image();
        img.src = `data:image/png;base64,${png}`;
        await img.decode();
        const id = await t.load({ base, pack: 'default', wasm: 'scalar' });
        const out = [];
        for (const f of faces) {
          const a = await id.identify(img, { x: f.x, y: f.y });
          out.push({ top: a.answers[0]?.id ?? null, score: a.answers[0]?.score ?? null, unknown: a.unknown });
        }
        const model = id.loadInfo.info.model.sha256;
        id.close();
        return { ok: true, out, model };
      } catch (e) {
        return { ok: false, error: String(e.stack || e) };
      }
    }, { base, png, faces });
    assert.ok(r.ok, `${pageURL} with base ${base}: ${r.error}\n${logs.join('\n')}`);
    return r;
  } finally {
    await ctx.close();
  }
}

test('the demo API loads model and pack from the Worker and answers as from its own origin', async () => {
  const faces = JSON.parse(await readFile(join(storeDir, 'scene.json'), 'utf8'));
  const png = (await readFile(join(storeDir, 'scene.png'))).toString('base64');
  assert.ok(faces.length > 0);
  const viaWorker = await identifyAll(bareURL, `${workerURL}/v1/`, png, faces);
  const local = await identifyAll(fullURL, '/v1/', png, faces);
  assert.equal(viaWorker.model, local.model);
  assert.equal(viaWorker.out.length, faces.length);
  for (let i = 0; i < faces.length; i++) {
    const [a, b] = [viaWorker.out[i], local.out[i]];
    assert.equal(a.top, b.top, `face ${faces[i].id}: worker ${a.top}, local ${b.top}`);
    assert.equal(a.unknown, b.unknown, `face ${faces[i].id}`);
    assert.ok(Math.abs(a.score - b.score) < 1e-6, `face ${faces[i].id}: scores ${a.score} vs ${b.score}`);
  }
  // The dev store's scene names its in-pack faces; the Worker-loaded pack must find at least one.
  const named = faces.filter((f, i) => f.inPack && viaWorker.out[i].top === f.id);
  assert.ok(named.length > 0, `no in-pack face named: ${JSON.stringify(viaWorker.out)}`);
});
