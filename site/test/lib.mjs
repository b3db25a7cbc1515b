// Shared by the browser tests and the figures script: start `toonid serve` on a free port,
// launch headless Chromium with a fresh profile, find the test image and where its faces are.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');
export const BUILD = process.env.BUILD || join(ROOT, 'build');

export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'];

// serve starts the local server and resolves with {url, stop}.
// args are extra flags (e.g. ['-origins', 'http://localhost:8081']).
export function serve({ store = process.env.TOONID_STORE || join(BUILD, 'store'), site = join(BUILD, 'site'), args = [] } = {}) {
  const bin = process.env.TOONID_BIN || join(BUILD, 'bin', 'toonid');
  const p = spawn(bin, ['serve', '-addr', '127.0.0.1:0', '-store', store, '-site', site, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stderr.on('data', (d) => { log += d; });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => { p.kill(); rej(new Error(`toonid serve did not start in 15 s:\n${log}`)); }, 15000);
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/(http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) {
        clearTimeout(timer);
        res({ url: m[1] + '/', stop: () => p.kill('SIGTERM'), log: () => log });
      }
    });
    p.on('exit', (code) => { clearTimeout(timer); rej(new Error(`toonid serve exited ${code}:\n${log}`)); });
  });
}

// browser launches Chromium with a fresh user-data-dir; close() removes it. Routes go first, errors
// ignored: a handler still awaiting route.fetch() when the context closes (a service worker's late
// update check) would otherwise throw "Response has been disposed" as an unhandled rejection.
export async function browser() {
  const dir = mkdtempSync(join(tmpdir(), 'toonid-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true,
    viewport: { width: 1200, height: 800 },
  });
  const close = async () => {
    for (const p of ctx.pages()) await p.unrouteAll({ behavior: 'ignoreErrors' });
    await ctx.unrouteAll({ behavior: 'ignoreErrors' });
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { ctx, close };
}

// scene returns the test image and its faces: [{id?, name?, x, y}] (face centres, image pixels).
// TOONID_SCENE=<file.json> selects the dev store's scene; otherwise the Sintel frame listed in
// tools/gallery/testimages/faces.tsv (path, identity, face box x y w h).
export function scene() {
  if (process.env.TOONID_SCENE) {
    const spec = JSON.parse(readFileSync(process.env.TOONID_SCENE, 'utf8'));
    const dir = dirname(process.env.TOONID_SCENE);
    return { image: join(dir, 'scene.png'), faces: spec.filter((f) => f.inPack).map((f) => ({ id: f.id, name: f.name, x: f.x, y: f.y, box: f.box })) };
  }
  const dir = join(ROOT, 'tools', 'gallery', 'testimages');
  const tsv = join(dir, 'faces.tsv');
  if (!existsSync(tsv)) throw new Error(`no ${tsv}: set TOONID_SCENE (e.g. build/devstore/scene.json from go run ./site/test/devstore)`);
  const rows = readFileSync(tsv, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  const faces = rows.map(([path, id, x, y, w, h]) => ({ path, id, x: Number(x) + Number(w) / 2, y: Number(y) + Number(h) / 2, box: [x, y, w, h].map(Number) }));
  const sintel = faces.find((f) => f.id === 'sintel');
  if (!sintel) throw new Error(`${tsv} lists no sintel face`);
  return { image: join(dir, sintel.path), faces: [sintel], others: faces.filter((f) => f !== sintel).map((f) => ({ ...f, image: join(dir, f.path) })) };
}

// clickImage clicks image pixel (x, y) of the page's current picture and waits for the answer.
export async function clickImage(page, x, y) {
  const n = await page.evaluate(() => window.toonidDemo.answers.length);
  const pos = await page.evaluate(([x, y]) => {
    const el = document.querySelector('#media img, #media video');
    const r = el.getBoundingClientRect();
    const W = el.naturalWidth || el.videoWidth, H = el.naturalHeight || el.videoHeight;
    return { x: r.left + x * r.width / W, y: r.top + y * r.height / H };
  }, [x, y]);
  await page.mouse.click(pos.x, pos.y);
  await page.waitForFunction((n) => window.toonidDemo.answers.length > n, n, { timeout: 20000 });
  return page.evaluate(() => window.toonidDemo.answers.at(-1));
}

export async function openImage(page, file) {
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => window.toonidDemo.mediaReady === true, null, { timeout: 10000 });
}

export async function ready(page) {
  return page.evaluate(() => window.toonidDemo.ready.then(() => window.toonidDemo.loadInfo, (e) => ({ error: String(e) })));
}

// steps makes a step runner: each named step prints "ok name (ms)" or "FAIL name: stack" and is
// recorded in results or failures. Later steps still run after a failure (each reports) unless the
// failing step is fatal, which rethrows.
export function steps() {
  const results = [], failures = [];
  async function step(name, fn, { fatal = false } = {}) {
    const t0 = Date.now();
    try {
      await fn();
      results.push(`ok   ${name} (${Date.now() - t0} ms)`);
      console.log(results.at(-1));
    } catch (err) {
      console.log(`FAIL ${name}: ${err.stack || err}`);
      failures.push(name);
      if (fatal) throw err;
    }
  }
  return { step, results, failures };
}

// recordCanvas records a WebM in the page (a canvas + MediaRecorder, in real time) and returns its
// bytes. draw(g, t, img, arg) paints frame t (seconds, 0..seconds; the last frame is drawn at
// t = seconds) of the w x h canvas; it runs in the page, from its source, so it sees only its
// arguments: img is image (a URL the page can load) decoded, arg any JSON value. w and h default
// to the image's size.
export async function recordCanvas(page, { draw, image, arg = null, w, h, seconds, fps = 15, mimeType = 'video/webm', bitsPerSecond }) {
  const inPage = async (draw, { image, arg, w, h, seconds, fps, mimeType, bitsPerSecond }) => {
    let img = null;
    if (image) { img = new Image(); img.src = image; await img.decode(); }
    const c = Object.assign(document.createElement('canvas'), { width: w || img.naturalWidth, height: h || img.naturalHeight });
    const g = c.getContext('2d');
    const rec = new MediaRecorder(c.captureStream(fps), { mimeType, ...(bitsPerSecond && { videoBitsPerSecond: bitsPerSecond }) });
    const parts = [];
    rec.ondataavailable = (e) => { if (e.data.size) parts.push(e.data); };
    const done = new Promise((r) => { rec.onstop = r; });
    rec.start(250);
    const t0 = performance.now();
    await new Promise((res) => {
      (function frame() {
        const t = (performance.now() - t0) / 1000;
        draw(g, Math.min(t, seconds), img, arg);
        if (t >= seconds) res(); else requestAnimationFrame(frame);
      })();
    });
    rec.stop();
    await done;
    const b = new Uint8Array(await new Blob(parts).arrayBuffer());
    let s = '';
    for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
    return btoa(s);
  };
  // An expression, not a function with arguments: draw must reach the page as code.
  const opts = { image, arg, w, h, seconds, fps, mimeType, bitsPerSecond };
  return Buffer.from(await page.evaluate(`(${inPage})(${draw}, ${JSON.stringify(opts)})`), 'base64');
}

// recordStill records a clip of one picture (image: a URL the page can load) for seconds. One
// corner pixel changes every frame, so the encoder always has a new frame to take.
export function recordStill(page, image, { seconds = 2 } = {}) {
  return recordCanvas(page, { image, seconds, draw: (g, t, img) => {
    g.drawImage(img, 0, 0);
    g.fillStyle = `rgb(${Math.floor(performance.now()) % 256},0,0)`;
    g.fillRect(0, 0, 1, 1);
  } });
}
