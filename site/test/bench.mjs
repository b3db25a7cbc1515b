// Browser figures (make bench-site): bytes on first load (on the wire, as toonid serve sends
// them with brotli/gzip from the site build's precompressed copies; and gzip -9 of each body), time to first identification, and
// click -> answer latency (median of >= 20 clicks); then a cold first visit on an emulated slow-4G
// link (SLOW4G below). "First load" is what the page fetches before it is ready to answer;
// what it fetches after (the face detector, the service worker's precache) is counted apart.
// Prints a Markdown table for BENCHMARKS.md, then one JSON line with every figure.
import { gzipSync } from 'node:zlib';
import { cpus } from 'node:os';
import { serve, browser, scene, clickImage, openImage, ready } from './lib.mjs';
import { benchFaces } from './bench-faces.mjs';

const CLICKS = Number(process.env.CLICKS || 25);
// Lighthouse's "slow 4G" (its mobile throttling): 150 ms RTT, 1.6 Mbps down, 750 Kbps up, applied
// with the DevTools protocol (Network.emulateNetworkConditions; latency is the added round trip,
// throughputs in bytes per second).
const SLOW4G = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };
const median = (v) => { if (!v.length) return NaN; return median1(v); };
const median1 = (v) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const pct = (v, p) => { if (!v.length) return NaN; return pct1(v, p); };
const pct1 = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

const sc = scene();
const face = sc.faces[0];
const srv = await serve();
const b = await browser();
try {
  const fetched = [];
  let counting = true;
  b.ctx.on('requestfinished', async (req) => {
    if (!counting || !req.url().startsWith('http')) return;
    try {
      const res = await req.response();
      if (!res) return;
      const body = await res.body();
      // What crossed the wire: the encoded body (toonid serve sends .br/.gz by Accept-Encoding)
      // plus the response headers, as Chromium counted them.
      const sz = await req.sizes();
      fetched.push({ url: req.url().replace(srv.url, '/'), start: req.timing().startTime, raw: body.length, gz: gzipSync(body, { level: 9 }).length,
        wire: sz.responseBodySize + sz.responseHeadersSize, encoding: (await res.allHeaders())['content-encoding'] || '' });
    } catch { /* bodies of redirects/aborted requests are not available */ }
  });
  const page = await b.ctx.newPage();

  // Cold first visit: navigation start -> answer of a click issued as soon as the image is shown.
  // The image is opened and clicked as soon as the page has parsed, while the model still
  // downloads; the click handler waits for the model, as a real early click would.
  await page.goto(srv.url, { waitUntil: 'domcontentloaded' });
  await openImage(page, sc.image);
  const first = await clickImage(page, face.x, face.y);
  const info = await ready(page);
  await page.evaluate(() => navigator.serviceWorker.ready); // its precache is part of the first visit
  await page.waitForTimeout(500);
  counting = false;
  // Service-worker precache requests show no body here; they re-download the shell (cache: 'reload'),
  // so count them at the size of the same URL's page request.
  const bySize = new Map(fetched.filter((f) => f.raw).map((f) => [f.url, f]));
  for (const f of fetched) if (!f.raw && bySize.has(f.url)) { f.raw = bySize.get(f.url).raw; f.gz = bySize.get(f.url).gz; f.url += ' (service worker precache)'; }
  const sum = (list) => list.reduce((a, f) => ({ raw: a.raw + f.raw, gz: a.gz + f.gz, wire: a.wire + (f.wire || 0) }), { raw: 0, gz: 0, wire: 0 });
  const total = sum(fetched);
  // Requests started before the page was ready to answer (epoch ms on both sides).
  const readyEpoch = (await page.evaluate(() => performance.timeOrigin)) + info.readyAt;
  for (const f of fetched) f.beforeReady = f.start < readyEpoch;
  const firstLoad = sum(fetched.filter((f) => f.beforeReady)), later = sum(fetched.filter((f) => !f.beforeReady));

  // The picture opened before ready gets its faces boxed once the detector is in (its download,
  // then one identifyAll; identifyAll alone is bench-faces.mjs): timed apart, and awaited so that
  // it does not share the worker with the clicks below.
  const scan = await page.evaluate(async () => {
    const d = window.toonidDemo;
    try { await d.api.detector; } catch (err) { return { error: String(err.message || err) }; }
    for (let t = 0; !d.faces && !d.facesError && t < 30000; t += 20) await new Promise((r) => setTimeout(r, 20));
    return d.faces ? { ms: d.faces.ms, n: d.faces.list.length } : { error: d.facesError || 'no faces boxed in 30 s' };
  });
  // Warm clicks at points around the face (different pixels each time, so nothing is memoised).
  // A click in a detector box would show the answer named on open, so box clicks are off here:
  // every click is a click search.
  await page.evaluate(() => { window.toonidDemo.boxClicks = false; });
  const ms = [], worker = [];
  let fromBoxes = 0;
  for (let i = 0; i < CLICKS; i++) {
    const a = (i / CLICKS) * 2 * Math.PI, r = 6 + (i % 5) * 3;
    const res = await clickImage(page, face.x + r * Math.cos(a), face.y + r * Math.sin(a));
    if (res.face) { fromBoxes++; continue; } // stays 0 unless boxClicks stopped working
    ms.push(res.ms); worker.push(res.workerMs);
  }

  // Clicks away from any face: no clear answer, so the refine pass runs (all 10 crops).
  const size = await page.evaluate(() => { const i = document.querySelector('#media img'); return [i.naturalWidth, i.naturalHeight]; });
  const msFull = [], crops = [];
  for (let i = 0; i < 10; i++) {
    const res = await clickImage(page, size[0] * (0.05 + 0.01 * i), size[1] * 0.88);
    msFull.push(res.ms); crops.push(res.candidates);
  }

  // identifyAll on the six-face composite (bench-faces.mjs), in the same page after the clicks.
  const faces = await benchFaces(page);

  // Second visit: everything from Cache Storage.
  const p2 = await b.ctx.newPage();
  await p2.goto(srv.url);
  const warm = await ready(p2);

  // Cold first visit on slow 4G, in a fresh profile: navigation start -> ready to answer.
  const slow = await slow4G(srv.url);

  const date = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  console.log(`\n### Browser figures (${info.wasm}, Chromium headless, ${cpus().length} x ${cpus()[0].model}, ${date})\n`);
  console.log('| figure | value | target |\n|---|---|---|');
  console.log(`| bytes on the wire, first load: requests before the page is ready to answer (bodies as sent + headers) | ${(firstLoad.wire / 1e6).toFixed(3)} MB (${fetched.filter((f) => f.beforeReady).length} requests) | <= 2.5 MB |`);
  console.log(`| bytes on the wire, whole first visit (+ after ready: ${fetched.filter((f) => !f.beforeReady).map((f) => f.url.replace(/^.*\/([^/]{12})[^/]*$/, '$1…')).slice(0, 4).join(', ')}${later.wire ? ', …' : ''}) | ${(total.wire / 1e6).toFixed(3)} MB (+${(later.wire / 1e6).toFixed(3)}) | |`);
  console.log(`| slow 4G (${SLOW4G.latency} ms RTT, ${SLOW4G.downloadThroughput * 8 / 1e6} Mbps down, ${SLOW4G.uploadThroughput * 8 / 1e3} Kbps up): navigation start -> ready to answer, cold | ${slow.readyAt.toFixed(0)} ms (${(slow.wireBeforeReady / 1e6).toFixed(3)} MB before ready; floor at this bandwidth ${(slow.wireBeforeReady / SLOW4G.downloadThroughput * 1000).toFixed(0)} ms) | <= 6 s |`);
  console.log(`| bytes on first load, gzip -9 of each body | ${(total.gz / 1e6).toFixed(2)} MB (${(total.raw / 1e6).toFixed(2)} MB raw, ${fetched.length} requests) | <= 2.5 MB |`);
  console.log(`| load (download + verify + start wasm), first visit | ${info.ms.toFixed(0)} ms | |`);
  console.log(`| navigation start -> model ready, first visit | ${info.readyAt.toFixed(0)} ms (of which warm-up identification ${info.warmMs.toFixed(0)} ms) | |`);
  console.log(`| navigation start -> first answer, first visit (image opened and clicked at DOMContentLoaded) | ${first.at.toFixed(0)} ms | <= 1 s |`);
  console.log(`| first click -> answer (includes waiting for the model) | ${first.ms.toFixed(0)} ms | |`);
  console.log(`| model ready -> faces boxed on the picture opened at load (detector download, then identifyAll) | ${scan.error ? scan.error : `${scan.ms.toFixed(0)} ms, ${scan.n} face${scan.n === 1 ? '' : 's'}`} | |`);
  console.log(`| clicks on the face answered from the detector's boxes (box clicks off; not timed) | ${fromBoxes} of ${CLICKS} | 0 |`);
  console.log(`| click -> answer, median of ${ms.length} click searches (p90, min) | ${median(ms).toFixed(1)} ms (${pct(ms, 0.9).toFixed(1)}, ${ms.length ? Math.min(...ms).toFixed(1) : NaN}) | <= 100 ms |`);
  console.log(`| of which in the worker (embed + match), median | ${median(worker).toFixed(1)} ms, ${first.candidates} crops | |`);
  console.log(`| click -> answer away from faces (refine runs: ${Math.min(...crops)}-${Math.max(...crops)} crops), median of 10 (min) | ${median(msFull).toFixed(1)} ms (${Math.min(...msFull).toFixed(1)}) | <= 100 ms |`);
  console.log(`| identifyAll on an 848x480 frame of ${faces.identify_all_848x480_faces} faces (found, named), median of ${faces.identify_all_runs} (min) | ${faces.identify_all_ms_median} ms (${faces.identify_all_ms_min}); ${faces.identify_all_found} found, ${faces.identify_all_named} named | <= 100 ms |`);
  console.log(`| load on second visit (all from cache) | ${warm.ms.toFixed(0)} ms | |`);
  console.log(`\nLoad phases, first visit (ms): ${JSON.stringify(info.phases)}; second visit: ${JSON.stringify(warm.phases)}`);
  console.log('\nFetched on first load (on the wire as toonid serve sent it; gzip -9 computed by the script):\n');
  for (const f of fetched.sort((a, b) => b.raw - a.raw)) console.log(`- ${f.url}: ${f.raw} B raw, ${f.wire} B on the wire${f.encoding ? ` (${f.encoding})` : ''}, ${f.gz} B gzip -9${f.beforeReady ? '' : ', after ready'}`);
  console.log(JSON.stringify({
    date, wasm: info.wasm, wire_bytes: total.wire, gzip_bytes: total.gz, raw_bytes: total.raw, requests: fetched.length,
    first_load_wire_bytes: firstLoad.wire, first_load_requests: fetched.filter((f) => f.beforeReady).length, after_ready_wire_bytes: later.wire,
    load_ms: info.ms, ready_ms: info.readyAt, warmup_ms: info.warmMs, first_answer_ms: first.at, first_click_ms: first.ms,
    ready_to_faces_ms: scan.ms ?? null, faces_boxed: scan.n ?? null, clicks_from_boxes: fromBoxes, click_median_ms: median(ms), click_p90_ms: pct(ms, 0.9), worker_median_ms: median(worker), away_median_ms: median(msFull), second_visit_ms: warm.ms,
    slow4g: { rtt_ms: SLOW4G.latency, down_bps: SLOW4G.downloadThroughput * 8, up_bps: SLOW4G.uploadThroughput * 8 },
    slow4g_ready_ms: slow.readyAt, slow4g_first_load_wire_bytes: slow.wireBeforeReady,
    ...faces,
  }));
} finally {
  await b.close();
  srv.stop();
}

// slow4G loads the page cold in a fresh profile with SLOW4G applied to its page target (and so to
// the dedicated worker's fetches, which the page's network stack carries) and returns when it is
// ready to answer: {readyAt, wireBeforeReady}.
async function slow4G(url) {
  const b2 = await browser();
  try {
    const page = await b2.ctx.newPage();
    const cdp = await b2.ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', SLOW4G);
    const reqs = [];
    b2.ctx.on('requestfinished', async (req) => {
      try { reqs.push({ start: req.timing().startTime, wire: (await req.sizes()).responseBodySize + (await req.sizes()).responseHeadersSize }); } catch { /* aborted */ }
    });
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 120000 });
    const info = await ready(page);
    if (info.error) throw new Error(`slow 4G load: ${info.error}`);
    const readyEpoch = (await page.evaluate(() => performance.timeOrigin)) + info.readyAt;
    return { readyAt: info.readyAt, wireBeforeReady: reqs.filter((r) => r.start < readyEpoch).reduce((a, r) => a + r.wire, 0) };
  } finally {
    await b2.close();
  }
}
