// make test-live-embed: "Live names" outside the demo, in headless Chromium, on a clip made at
// test time (clip.mjs: a gallery sprite walking and bobbing over a gradient).
//   1. overlay.js on a plain page (toonid.js + overlay.js, as a host page embeds them): the
//      toggle in the overlay's bar (one, with two copies of the script); on, the clip plays and
//      each face carries a label that follows the sprite; pause: the paused frame's faces are
//      boxed; a click in the sprite's box gives that face's answer.
//   2. the extension on a page, for real: the content script injected by the background
//      (toonidStartLive, the popup's "Live names" path), frames through the offscreen document,
//      pause, a click in a box, the answer card. Twice: a video the page may read (drawn in the
//      content script, JPEG to the offscreen document) and a cross-origin one without CORS (tab
//      screenshots, Chrome's ~2 a second). The extension under test is a copy whose manifest adds
//      host_permissions <all_urls>: it stands in for activeTab, which only a real click on the
//      toolbar grants; nothing else differs.
// Prints the processed frame rates (not asserted: speed is for benchmarks). Screenshots in
// test-artifacts/live-embed/. Needs the built site and extension, the default pack and the
// detector; not ../shared.
// usage: node site/test/live-embed.mjs build/extension
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { BUILD, CHROMIUM_ARGS, ROOT, browser, serve, steps } from './lib.mjs';
import { recordWalk, onFace, CLIP } from './clip.mjs';

const extSrc = resolve(process.argv[2] || join(BUILD, 'extension'));
const ART = join(ROOT, 'test-artifacts', 'live-embed');
mkdirSync(ART, { recursive: true });
const shot = (n) => join(ART, `${n}.png`);
const { step, results, failures } = steps();

const videoTag = (extra = '') => `<video id="v" muted playsinline ${extra} style="width:${CLIP.w}px;height:${CLIP.h}px;display:block;margin:40px 30px"></video>`;
const page = (title, body) => `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="margin:0;font:15px system-ui;background:#f4f1ea"><p style="margin:12px 30px">${title}</p>${body}</body>`;
// A page's own script putting the clip (served by the test, same origin) in #v as a blob URL.
const blobClip = `<script type="module">
const v = document.getElementById('v');
v.src = URL.createObjectURL(await (await fetch('./clip.webm')).blob());
</script>`;

// sample records, every 100 ms until the video pauses or ends, where the boxes under sel are
// (video px, from their rects over the picture) and what their labels say.
const sample = (p, sel) => p.evaluate(async (sel) => {
  const v = document.getElementById('v'), out = [];
  while (!v.paused && !v.ended) {
    const r = v.getBoundingClientRect(), s = r.width / v.videoWidth;
    out.push({ t: v.currentTime, faces: [...document.querySelectorAll(sel)].map((el) => {
      const b = el.getBoundingClientRect();
      return { x: (b.left - r.left) / s, y: (b.top - r.top) / s, w: b.width / s, h: b.height / s, label: el.textContent };
    }) });
    await new Promise((res) => setTimeout(res, 100));
  }
  return out;
}, sel);

// judge checks that labelled boxes follow the sprite: in >= 70% of the samples after 0.5 s a
// box with a label sits on its face (within 20 px) as it was at most lagS before (the labels
// trail by the work on a frame, and on the screenshot path by the time between screenshots
// too), and the box moved with it (its centre 150+ px further right between 1-2 s and 4-5 s).
function judge(name, samples, lagS) {
  const late = samples.filter((s) => s.t > 0.5);
  const near = (f, t) => { for (let d = 0; d <= lagS + 1e-9; d += 0.05) if (onFace(f, t - d, 20)) return true; return false; };
  const on = late.filter((s) => s.faces.some((f) => f.label && near(f, s.t)));
  const labels = {};
  for (const s of late) for (const f of s.faces) if (near(f, s.t)) labels[f.label] = (labels[f.label] || 0) + 1;
  const cx = (a, b) => { const xs = late.filter((s) => s.t >= a && s.t < b).flatMap((s) => s.faces.filter((f) => near(f, s.t)).map((f) => f.x + f.w / 2)).sort((p, q) => p - q); return xs[xs.length >> 1]; };
  const moved = cx(4, 5) - cx(1, 2);
  console.log(`     ${name}: a labelled box on the sprite in ${on.length}/${late.length} samples; labels on it ${JSON.stringify(labels)}; moved ${moved.toFixed(0)} px (truth 210)`);
  assert.ok(late.length >= 20, `only ${late.length} samples`);
  assert.ok(on.length >= 0.7 * late.length, `${name}: the label followed the sprite in only ${on.length} of ${late.length} samples`);
  assert.ok(moved >= 150 && moved <= 270, `${name}: the box moved ${moved} px from 1-2 s to 4-5 s`);
  return { labels, share: on.length / late.length };
}

const srv = await serve();
let clip = null;
const routeClip = (p) => p.route(`${srv.url}clip.webm`, (r) => r.fulfill({ body: clip, contentType: 'video/webm' }));
// The extension's second page: a real server (a page fulfilled by the test counts as public
// address space, and Chrome then refuses its loopback video), the page on http://127.0.0.1:P and
// its video from http://localhost:P, another origin, without CORS headers.
const pages = new Map();
const other = await new Promise((res) => {
  const h = createServer((q, r) => {
    const path = new URL(q.url, 'http://x').pathname;
    if (path === '/clip.webm') { r.writeHead(200, { 'Content-Type': 'video/webm', 'Content-Length': clip.length }); r.end(clip); return; }
    if (!pages.has(path)) { r.writeHead(404); r.end(); return; }
    r.writeHead(200, { 'Content-Type': 'text/html' });
    r.end(pages.get(path));
  }).listen(0, '127.0.0.1', () => res({ origin: `http://127.0.0.1:${h.address().port}`, clip: `http://localhost:${h.address().port}/clip.webm`, close: () => h.close() }));
});
const b = await browser();
const rates = {};
try {
  // --- 1. overlay.js ---
  await step('overlay: "Live names" on a plain page: labels follow the face while it plays; pause boxes it; a click names it', async () => {
    const p = await b.ctx.newPage();
    p.on('console', (m) => { if (m.type() === 'error') console.error('page:', m.text()); });
    p.on('pageerror', (e) => console.error('page error:', e.message));
    await p.setViewportSize({ width: 760, height: 520 });
    await p.route(`${srv.url}live-overlay.html`, (r) => r.fulfill({ contentType: 'text/html', body: page('A plain page with a video and overlay.js', `${videoTag('controls')}<script type="module">
import * as toonid from './toonid.js';
import { attach } from './overlay.js';
window.ready = toonid.load({ base: '/v1/', pack: 'default' }).then(async (id) => { await id.detector; window.api = id; window.attach = attach; });
</script>`) }));
    await p.goto(`${srv.url}live-overlay.html`);
    clip = await recordWalk(p);
    writeFileSync(join(ART, 'clip.webm'), clip);
    await routeClip(p);
    await p.evaluate(async () => {
      await window.ready;
      const v = document.getElementById('v');
      v.src = URL.createObjectURL(await (await fetch('./clip.webm')).blob());
      await new Promise((r) => { v.onloadeddata = r; });
      const copy = await import('./overlay.js?copy=2');
      window.h = window.attach(v, { toonid: window.api });
      window.same = copy.attach(v, { toonid: window.api }) === window.h;
      window.frames = [];
      v.addEventListener('toonid:live', (e) => window.frames.push({ t: e.detail.t, n: e.detail.faces.length, latencyMs: e.detail.latencyMs }));
      // The longest gap between two animation frames while live runs: a blocked main thread shows here.
      window.gap = 0;
      let last = performance.now();
      (function tick(now) { window.gap = Math.max(window.gap, now - last); last = now; if (!v.ended) requestAnimationFrame(tick); })(last);
    });
    assert.equal(await p.evaluate(() => window.same), true, 'the second copy made a second handle');
    assert.equal(await p.locator('.toonid-overlay').count(), 1, 'two layers');
    assert.equal(await p.locator('.toonid-overlay .live-toggle').count(), 1, 'two toggles');
    const toggle = p.locator('.toonid-overlay .live-toggle').first();
    assert.equal(await toggle.textContent(), 'Live names: off');
    await p.screenshot({ path: shot('1-overlay-toggle') });
    await toggle.click(); // starts live mode and plays the clip
    await p.waitForFunction(() => !document.getElementById('v').paused, null, { timeout: 30000 });
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    const shots = (async () => {
      for (const t of [1.5, 3.5]) {
        await p.waitForFunction((t) => document.getElementById('v').currentTime >= t, t, { timeout: 20000 });
        await p.screenshot({ path: shot(`1-overlay-playing-${t}s`) });
      }
      await p.waitForFunction(() => document.getElementById('v').currentTime >= 5.2, null, { timeout: 20000 });
      await p.evaluate(() => document.getElementById('v').pause()); // as the player's pause button would
    })();
    const samples = await sample(p, '.toonid-overlay .toonid-live-face');
    await shots;
    const st = await p.evaluate(() => ({ ...window.h.live.live.stats, latencies: undefined, workerMs: undefined, frames: window.frames, gap: window.gap, paused: document.getElementById('v').currentTime }));
    const played = st.frames.length ? st.frames.at(-1).t - st.frames[0].t : 0;
    rates.overlay = { fps: (st.frames.length - 1) / played, processed: st.processed, dropped: st.dropped, latencyMedianMs: st.frames.map((f) => f.latencyMs).sort((a, c) => a - c)[st.frames.length >> 1], longestAnimationFrameGapMs: st.gap };
    console.log(`     overlay live: ${st.processed} frames processed over ${played.toFixed(1)} s of video (${rates.overlay.fps.toFixed(1)} fps), ${st.dropped} dropped while the worker was busy, median latency ${rates.overlay.latencyMedianMs.toFixed(0)} ms; longest gap between animation frames ${st.gap.toFixed(0)} ms`);
    judge('overlay', samples, 0.25);
    // Paused: live boxes go, the frame's faces are boxed (identifyAll) and take a click.
    await p.waitForFunction(() => window.h.faces && window.h.faces.length, null, { timeout: 20000 });
    assert.equal(await p.locator('.toonid-overlay .toonid-live-face').count(), 0, 'live boxes stayed on pause');
    const t = await p.evaluate(() => document.getElementById('v').currentTime);
    const mine = await p.evaluate(() => window.h.faces.map((f) => ({ ...f.box, name: f.answers[0] && f.answers[0].name })));
    const f = mine.find((x) => onFace(x, t, 10));
    assert.ok(f, `no paused-frame box on the sprite at ${t.toFixed(2)} s: ${JSON.stringify(mine)}`);
    await p.screenshot({ path: shot('1-overlay-paused') });
    const r = await p.evaluate(() => { const v = document.getElementById('v'), b = v.getBoundingClientRect(); return { x: b.left, y: b.top, s: b.width / v.videoWidth }; });
    await p.evaluate(() => { window.answers = []; document.getElementById('v').addEventListener('toonid:answer', (e) => window.answers.push(e.detail)); });
    await p.mouse.click(r.x + (f.x + f.w / 2) * r.s, r.y + (f.y + f.h / 2) * r.s);
    await p.waitForFunction(() => window.answers.length, null, { timeout: 10000 });
    const a = await p.evaluate(() => ({ face: !!window.answers[0].face, top: window.answers[0].answers[0].name }));
    const label = await p.textContent('.toonid-overlay [aria-live]');
    console.log(`     paused at ${t.toFixed(2)} s: ${mine.length} box(es); the sprite's says ${f.name}; a click in it: "${label}"`);
    assert.ok(a.face, 'the click in the box ran the click search, not that face\'s answer');
    assert.equal(a.top, f.name);
    assert.ok(label.length > 0);
    await p.screenshot({ path: shot('1-overlay-answer') });
    // A second video on the page: its own toggle; turning it on turns the first one's off (the
    // worker runs one live session per API).
    await p.evaluate(async () => {
      const v2 = Object.assign(document.createElement('video'), { id: 'v2', muted: true, src: document.getElementById('v').src });
      v2.style.cssText = 'width:320px;height:180px;display:block;margin:10px 30px';
      document.body.append(v2);
      await new Promise((r) => { v2.onloadeddata = r; });
      window.h2 = window.attach(v2, { toonid: window.api });
    });
    const toggle2 = p.locator('.live-toggle').nth(1);
    assert.equal(await p.locator('.live-toggle').count(), 2);
    await toggle2.scrollIntoViewIfNeeded();
    await toggle2.click();
    await p.waitForFunction(() => window.h2.live.on && !window.h.live.on, null, { timeout: 20000 });
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false', 'the first video\'s toggle still says on');
    assert.equal(await toggle2.getAttribute('aria-pressed'), 'true');
    await toggle2.click();
    await p.waitForFunction(() => !window.h2.live.on, null, { timeout: 5000 });
    await p.evaluate(() => { window.h.detach(); window.h2.detach(); });
    assert.equal(await p.locator('.toonid-overlay, .toonid-live').count(), 0, 'detach left something');
    await p.close();
  });
} finally {
  await b.close();
}

// --- 2. the extension ---
const ext = mkdtempSync(join(tmpdir(), 'toonid-ext-live-'));
cpSync(extSrc, ext, { recursive: true });
const manifest = JSON.parse(readFileSync(join(ext, 'manifest.json'), 'utf8'));
manifest.host_permissions = ['<all_urls>']; // stands in for activeTab's user gesture (see the top)
writeFileSync(join(ext, 'manifest.json'), JSON.stringify(manifest));
const prof = mkdtempSync(join(tmpdir(), 'toonid-ext-live-prof-'));
const ctx = await chromium.launchPersistentContext(prof, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, viewport: { width: 760, height: 520 },
  args: [...CHROMIUM_ARGS, `--disable-extensions-except=${ext}`, `--load-extension=${ext}`],
});
try {
  const sw = ctx.serviceWorkers()[0] || await ctx.waitForEvent('serviceworker', { timeout: 15000 });
  for (const [tag, title, body, path, lagS] of [
    ['frames', 'A page with its own video (the extension reads its frames)', videoTag() + blobClip, 'video', 0.25],
    ['screenshots', 'A page with a video from another origin, no CORS (the extension sees it through tab screenshots)', videoTag(`src="${other.clip}"`), 'screenshots', 1.0],
  ]) {
    await step(`extension: live names on a ${tag === 'frames' ? 'readable' : 'cross-origin (no CORS)'} video follow the face; pause boxes it; a click in a box gives its card`, async () => {
      const p = await ctx.newPage();
      p.on('console', (m) => { if (m.type() === 'error') console.error('page:', m.text()); });
      const url = `${tag === 'frames' ? srv.url : `${other.origin}/`}ext-live-${tag}.html`;
      if (tag === 'frames') await p.route(url, (r) => r.fulfill({ contentType: 'text/html', body: page(title, body) }));
      else pages.set(`/ext-live-${tag}.html`, page(title, body));
      await routeClip(p);
      await p.goto(url);
      await p.waitForFunction(() => document.getElementById('v').readyState >= 2, null, { timeout: 15000 });
      await p.bringToFront(); // captureVisibleTab shoots the active tab
      await p.evaluate(() => { window.frames = 0; document.getElementById('v').addEventListener('toonid:live', () => window.frames++); });
      const tabId = await sw.evaluate(async (u) => (await chrome.tabs.query({})).find((t) => t.url === u).id, url);
      const r0 = await sw.evaluate((id) => self.toonidStartLive(id), tabId);
      assert.deepEqual(r0, { on: true }, JSON.stringify(r0));
      const toggle = p.locator('.toonid-live-box .live-toggle');
      assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
      const t0 = await p.evaluate(() => document.getElementById('v').currentTime);
      const shots = (async () => {
        await p.waitForFunction(() => document.getElementById('v').currentTime >= 3, null, { timeout: 20000 });
        await p.screenshot({ path: shot(`2-ext-${tag}-playing`) });
        await p.waitForFunction(() => document.getElementById('v').currentTime >= 5.2, null, { timeout: 20000 });
        return p.evaluate(() => { const v = document.getElementById('v'); v.pause(); return { frames: window.frames, t: v.currentTime }; });
      })();
      const samples = await sample(p, '.toonid-live-box .toonid-live-face');
      const end = await shots;
      assert.equal(await p.getAttribute('.toonid-live-box', 'data-frames'), path, 'the frames came another way');
      rates[`extension-${tag}`] = { fps: end.frames / (end.t - t0), frames: end.frames, seconds: end.t - t0 };
      console.log(`     extension (${path}): ${end.frames} frames named over ${(end.t - t0).toFixed(1)} s of play: ${rates[`extension-${tag}`].fps.toFixed(1)} fps`);
      judge(`extension (${path})`, samples, lagS);
      // Paused: the live boxes go; content.js boxes the frame's faces (a real tab screenshot).
      await p.waitForFunction(() => document.querySelectorAll('.toonid-faces .toonid-face').length, null, { timeout: 20000 });
      assert.equal(await p.locator('.toonid-live-face').count(), 0, 'live boxes stayed on pause');
      const t = await p.evaluate(() => document.getElementById('v').currentTime);
      const boxes = await p.evaluate(() => { const v = document.getElementById('v'), r = v.getBoundingClientRect(), s = r.width / v.videoWidth;
        return [...document.querySelectorAll('.toonid-faces .toonid-face')].map((d) => { const b = d.getBoundingClientRect(); return { x: (b.left - r.left) / s, y: (b.top - r.top) / s, w: b.width / s, h: b.height / s, cx: b.left + b.width / 2, cy: b.top + b.height / 2, label: d.textContent }; }); });
      const f = boxes.find((x) => onFace(x, t, 10));
      assert.ok(f, `no paused-frame box on the sprite at ${t.toFixed(2)} s: ${JSON.stringify(boxes)}`);
      await p.screenshot({ path: shot(`2-ext-${tag}-paused`) });
      await p.mouse.click(f.cx, f.cy);
      await p.waitForSelector('.toonid-card [role=status] span', { timeout: 20000 });
      const card = await p.textContent('.toonid-card [role=status] span');
      const last = await sw.evaluate(async () => (await chrome.storage.session.get('last')).last.answer);
      console.log(`     paused at ${t.toFixed(2)} s: ${boxes.length} box(es), the sprite's says ${f.label}; its card: "${card}" (popup: ${last.answers[0].name})`);
      assert.ok(last.face, 'the click in the box was not answered for that face');
      assert.ok(f.label === '?' || last.answers[0].name === f.label, `the box says ${f.label}, the answer ${last.answers[0].name}`);
      assert.ok(card && !/toonid:/.test(card), `card: ${card}`);
      await p.screenshot({ path: shot(`2-ext-${tag}-card`) });
      await toggle.click();
      await p.waitForFunction(() => document.querySelector('.toonid-live-box .live-toggle').getAttribute('aria-pressed') === 'false', null, { timeout: 5000 });
      await p.close();
    });
  }
} finally {
  await ctx.close();
  srv.stop();
  other.close();
  rmSync(ext, { recursive: true, force: true });
  rmSync(prof, { recursive: true, force: true });
}
console.log(`live rates: ${JSON.stringify(rates)}`);
if (failures.length) {
  console.log(`test-live-embed: ${failures.length} of ${results.length + failures.length} steps FAILED: ${failures.join('; ')}`);
  process.exitCode = 1;
} else {
  console.log(`test-live-embed: all ${results.length} passed; screenshots in test-artifacts/live-embed/`);
}
