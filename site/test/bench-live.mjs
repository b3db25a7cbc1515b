// make bench-live: live mode on a real video in headless Chromium (the Sintel trailer, 848x480,
// 26 s, unless LIVE_VIDEO names another). The page plays the clip once per setting of the
// detector's interval (LIVE_EVERY, default "1,2": detect every frame, every 2nd with the tracker
// predicting between) through site/live.js exactly as the demo does, and records every processed
// frame. The last line is one JSON object, for the first setting unless another scores a higher
// fps with no more switches:
//   fps                      processed frames per second of playback
//   latency_ms               median capture -> labels drawn over the frames the detector ran on
//                            (how far a fresh label trails the video; frames between are the
//                            tracker's extrapolation, latency_all_ms includes them)
//   label_coverage           of the faces the detector found in processed frames, the share a
//                            shown track covered (carrying a name or "?")
//   named_share              of the shown face-frames, the share with a name (not "?")
//   label_switches_per_min   how often a track's shown label changed (any change, "?" included),
//                            per minute of video
//   name_switches_per_min    the same, counting only a name changing to another name
// and per setting the same under "runs". A benchmark: it may read ../shared.
// If this Chromium cannot decode the clip (Debian builds may lack H.264), it is transcoded with
// ffmpeg to VP9/WebM into $BUILD/bench-live first, and the JSON says so ("transcoded").
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve, browser, BUILD, ROOT } from './lib.mjs';

const VIDEO = process.env.LIVE_VIDEO || join(ROOT, '..', 'shared', 'data', 'video', 'sintel_trailer_848x480.mp4');
const EVERY = (process.env.LIVE_EVERY || '1,2').split(',').map(Number);
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : null; };
const r3 = (v) => (v == null ? null : Math.round(v * 1000) / 1000);

if (!existsSync(VIDEO)) throw new Error(`bench-live: no video at ${VIDEO} (set LIVE_VIDEO)`);

// The page side: play the clip once with live mode on, return what each processed frame showed.
async function playOnce(page, every) {
  return page.evaluate(async (every) => {
    const toonid = await import('./toonid.js');
    const { startLive } = await import('./live.js');
    if (!window.benchId) {
      window.benchId = await toonid.load({ base: '/v1/', pack: 'default' });
      await window.benchId.detector;
    }
    const id = window.benchId;
    document.body.replaceChildren();
    const wrap = document.createElement('div');
    Object.assign(wrap.style, { position: 'relative', width: '848px', height: '480px' });
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    Object.assign(video.style, { width: '100%', height: '100%', display: 'block' });
    const over = document.createElement('div');
    Object.assign(over.style, { position: 'absolute', inset: '0' });
    wrap.append(video, over);
    document.body.append(wrap);
    video.src = window.benchVideoURL;
    await new Promise((res, rej) => {
      video.addEventListener('loadeddata', res, { once: true });
      video.addEventListener('error', () => rej(new Error(`video error ${video.error && video.error.code}: ${video.error && video.error.message}`)), { once: true });
      setTimeout(() => rej(new Error('video: no loadeddata in 20 s')), 20000);
    });
    const frames = [];
    video.addEventListener('toonid:live', (e) => {
      const d = e.detail;
      frames.push({ t: d.t, latencyMs: d.latencyMs, workerMs: d.workerMs, detected: d.detected, detections: d.detections,
        faces: d.faces.map((f) => ({ id: f.id, label: f.label, predicted: f.predicted })) });
    });
    const errors = [];
    video.addEventListener('toonid:error', (e) => errors.push(e.detail.message));
    const lv = await startLive(video, id, { container: over, every });
    const t0 = performance.now();
    await video.play();
    // Screenshots are taken by the driver while this runs (window.benchShots marks the times).
    await new Promise((res) => video.addEventListener('ended', res, { once: true }));
    const wall = (performance.now() - t0) / 1000;
    const stats = { processed: lv.stats.processed, dropped: lv.stats.dropped, errors: lv.stats.errors };
    await lv.stop();
    return { frames, wall, duration: video.duration, stats, errors: errors.slice(0, 5), every: lv.options.every };
  }, every);
}

function metrics(run) {
  const { frames, wall, duration } = run;
  let found = 0, covered = 0, shownFrames = 0, named = 0, switches = 0, nameSwitches = 0;
  const lastLabel = new Map();
  for (const f of frames) {
    if (f.detected) {
      found += f.detections;
      covered += Math.min(f.detections, f.faces.filter((x) => !x.predicted).length);
    }
    for (const x of f.faces) {
      shownFrames++;
      if (x.label !== '?') named++;
      const prev = lastLabel.get(x.id);
      if (prev !== undefined && prev !== x.label) {
        switches++;
        if (prev !== '?' && x.label !== '?') nameSwitches++;
      }
      lastLabel.set(x.id, x.label);
    }
  }
  const minutes = duration / 60;
  return {
    every: run.every, fps: r3(frames.length / wall), latency_ms: r3(median(frames.filter((f) => f.detected).map((f) => f.latencyMs))),
    latency_all_ms: r3(median(frames.map((f) => f.latencyMs))), detect_fps: r3(frames.filter((f) => f.detected).length / wall),
    worker_ms: r3(median(frames.map((f) => f.workerMs))),
    label_coverage: r3(found ? covered / found : null), named_share: r3(shownFrames ? named / shownFrames : null),
    label_switches_per_min: r3(switches / minutes), name_switches_per_min: r3(nameSwitches / minutes),
    processed: frames.length, dropped: run.stats.dropped, errors: run.stats.errors, tracks: lastLabel.size,
    faces_found: found, video_s: r3(duration), wall_s: r3(wall),
  };
}

const srv = await serve();
const b = await browser();
const shotsDir = join(ROOT, 'test-artifacts', 'live');
mkdirSync(shotsDir, { recursive: true });
let video = VIDEO, transcoded = false;
try {
  const page = await b.ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error('page:', m.text()); });
  await page.route(`${srv.url}bench-video`, (route) => route.fulfill({ body: readFileSync(video), contentType: video.endsWith('.webm') ? 'video/webm' : 'video/mp4' }));
  await page.route(`${srv.url}bench-live.html`, (route) => route.fulfill({ body: '<!doctype html><meta charset="utf-8"><title>bench-live</title><body></body>', contentType: 'text/html' }));
  await page.goto(`${srv.url}bench-live.html`);
  const decodes = async () => page.evaluate(async () => {
    const blob = await (await fetch('./bench-video', { cache: 'no-store' })).blob();
    window.benchVideoURL = URL.createObjectURL(blob);
    const v = document.createElement('video');
    v.muted = true;
    v.src = window.benchVideoURL;
    try {
      await new Promise((res, rej) => { v.onloadeddata = res; v.onerror = () => rej(new Error('error')); setTimeout(() => rej(new Error('timeout')), 15000); });
      await v.play();
      await new Promise((r) => setTimeout(r, 500));
      const ok = v.currentTime > 0.2 && v.videoWidth > 0;
      v.pause();
      return ok;
    } catch { return false; }
  });
  if (!(await decodes())) {
    const dir = join(BUILD, 'bench-live');
    mkdirSync(dir, { recursive: true });
    video = join(dir, 'video.webm');
    if (!existsSync(video)) {
      console.error(`bench-live: this Chromium cannot play ${VIDEO}; transcoding to VP9/WebM with ffmpeg into ${video}`);
      execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', VIDEO, '-an', '-c:v', 'libvpx-vp9', '-b:v', '1M', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', video], { stdio: 'inherit' });
    }
    transcoded = true;
    if (!(await decodes())) throw new Error('bench-live: Chromium cannot play the clip, even as VP9/WebM');
  }
  const runs = [];
  for (const every of EVERY) {
    // Screenshots while the video plays: 3 moments per run (test-artifacts/live/).
    const shots = [6, 12, 20].map((s) => setTimeout(() => page.screenshot({ path: join(shotsDir, `bench-every${every}-${s}s.png`) }).catch(() => {}), s * 1000 + 3000));
    const run = await playOnce(page, every);
    shots.forEach(clearTimeout);
    const m = metrics(run);
    if (run.errors.length) m.first_errors = run.errors;
    runs.push(m);
    console.log(`every ${every}: ${JSON.stringify(m)}`);
  }
  const best = runs.reduce((a, r) => (r.fps > a.fps && r.label_switches_per_min <= a.label_switches_per_min ? r : a), runs[0]);
  const { fps, latency_ms, label_coverage, named_share, label_switches_per_min, name_switches_per_min } = best;
  console.log(JSON.stringify({ fps, latency_ms, label_coverage, named_share, label_switches_per_min, name_switches_per_min, every: best.every,
    video: video.replace(ROOT + '/', ''), transcoded, runs }));
} finally {
  await b.close();
  srv.stop();
}
