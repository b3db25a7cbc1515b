// The face detector's browser figure: id.identifyAll on the composited 848x480 frame of six faces
// (composite.mjs), median of RUNS calls after one warm-up, against the 100 ms target, with the
// second worker (toonid.js's pool) once it is ready, or one worker where there is none; each run
// is paired with one on a second instance loaded with workers: 1 in the same page (calls taking
// turns, so both see the same machine load); and what the detector adds to the first visit's
// downloads. benchFaces(page) is for bench.mjs; run alone
// (make bench-site-faces) it prints one JSON line.
import { composite, CAST, truthBox, lenient } from './composite.mjs';

const RUNS = Number(process.env.FACE_RUNS || 15);
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

export async function benchFaces(page) {
  const png = await composite(page);
  const r = await page.evaluate(async ({ b64, runs }) => {
    const id = window.toonidDemo.api;
    const det = await id.detector;
    const second = await id.secondary.then((s) => s, (err) => ({ error: err.message }));
    const bmp = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
    const toonid = await import(new URL('toonid.js', document.baseURI).href);
    const one = await toonid.load({ base: new URL('v1/', document.baseURI).pathname, pack: 'default', wasm: id.loadInfo.simd ? 'simd' : 'scalar', workers: 1 });
    await one.detector;
    await id.identifyAll(bmp); // warm-up
    await one.identifyAll(bmp);
    const ms = [], oneMs = [], split = [];
    let faces;
    for (let i = 0; i < runs; i++) {
      let t0 = performance.now();
      faces = await id.identifyAll(bmp);
      ms.push(performance.now() - t0);
      if (id.pool.last.ms) split.push(id.pool.last.ms);
      t0 = performance.now();
      await one.identifyAll(bmp);
      oneMs.push(performance.now() - t0);
    }
    const pool = id.pool;
    one.close();
    return { ms, oneMs, split, faces, second, pool, firstMemory: id.loadInfo.memoryBytes, detectorBytes: det.bytes.network + det.bytes.fromCache, loadBytes: id.loadInfo.bytes.total };
  }, { b64: png.toString('base64'), runs: RUNS });
  const found = CAST.filter((c, i) => r.faces.some((f) => lenient(f.box, truthBox(i)))).length;
  const named = CAST.filter((c, i) => r.faces.some((f) => lenient(f.box, truthBox(i)) && !f.unknown && f.answers[0].name === c.name)).length;
  const m = median(r.ms);
  return {
    identify_all_848x480_faces: CAST.length, identify_all_found: found, identify_all_named: named,
    identify_all_ms_median: Math.round(m * 10) / 10, identify_all_ms_min: Math.round(Math.min(...r.ms) * 10) / 10,
    identify_all_within_100ms: m <= 100, identify_all_runs: RUNS,
    identify_all_ms_median_one_worker: Math.round(median(r.oneMs) * 10) / 10,
    workers: r.pool.workers, faces_per_worker: { primary: r.pool.last.primary, secondary: r.pool.last.secondary },
    // In the workers, medians: the detector pass, the first worker's detect + its share, the second's share.
    split_worker_ms_median: r.split.length ? Object.fromEntries(['detect', 'primary', 'secondary'].map((k) => [k, Math.round(median(r.split.map((x) => x[k])) * 10) / 10])) : null, second_worker_load_ms: r.second.ms === undefined ? r.second.error : Math.round(r.second.ms),
    wasm_memory_bytes: { first: r.firstMemory, second: r.second.memoryBytes },
    detector_bytes: r.detectorBytes, load_bytes_without_detector: r.loadBytes, load_bytes_with_detector: r.loadBytes + r.detectorBytes,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { serve, browser, ready } = await import('./lib.mjs');
  const srv = await serve();
  const b = await browser();
  try {
    const page = await b.ctx.newPage();
    await page.goto(srv.url);
    const info = await ready(page);
    if (info.error) throw new Error(info.error);
    console.log(JSON.stringify({ wasm: info.wasm, ...(await benchFaces(page)) }));
  } finally {
    await b.close();
    srv.stop();
  }
}
