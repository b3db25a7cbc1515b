// Times toonid's Go wasm embedder (SIMD and scalar builds) and onnxruntime-web (wasm
// backend, 1 and 2 threads) on the same model and input, in one page load. Runners are
// interleaved in rounds so that background load on the machine hits all of them alike.
// The comparison is per network pass: the Go runners time Forward (one pass), like one
// onnxruntime-web session.run. A mirror-averaged model (model/FORMAT.md flag) embeds with two
// passes; its whole Embed is timed as an extra runner, go_wasm_embed_mirror (JSON
// go_wasm_embed_mirror_ms), never in the ratios.
const params = new URLSearchParams(location.search);
const ROUNDS = Number(params.get('rounds') || 6);
const PER_ROUND = Number(params.get('per') || 10);
const WARMUP = Number(params.get('warmup') || 10);

async function bytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function loadGo(url, name, modelBytes) {
  const go = new globalThis.Go();
  go.argv = ['bench', name];
  const { instance } = await WebAssembly.instantiate(await bytes(url), go.importObject);
  go.run(instance);
  const api = globalThis[name];
  const info = api.load(modelBytes);
  if (info.error) throw new Error(`${name}: ${info.error}`);
  return {
    info,
    api,
    setInput(input) { const e = api.setInput(new Uint8Array(input.buffer)); if (e && e.error) throw new Error(`${name}: ${e.error}`); },
    run() { const e = api.pass(); if (e && e.error) throw new Error(`${name}: ${e.error}`); },
  };
}

async function loadOrt(tag, threads, onnx, input, side) {
  const ort = await import(`/ort/ort.wasm.min.mjs?instance=${tag}`);
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = '/ort/';
  const sess = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, side, side]) };
  const out = sess.outputNames[0];
  return { run: () => sess.run(feeds), output: async () => Array.from((await sess.run(feeds))[out].data) };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

async function main() {
  const [modelBytes, onnx] = await Promise.all([bytes('/bench/bench.tmdl'), bytes('/bench/bench.onnx')]);
  const goSimd = await loadGo('/bench/simd.wasm', 'goSimd', modelBytes);
  const goScalar = await loadGo('/bench/scalar.wasm', 'goScalar', modelBytes);
  const side = goSimd.info.inputW;
  const input = new Float32Array(3 * side * side);
  for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.37) * 0.8;
  goSimd.setInput(input);
  goScalar.setInput(input);
  const runners = {
    go_wasm: goSimd,
    go_wasm_scalar: goScalar,
    ort_web_1t: await loadOrt('1', 1, onnx, input, side),
    ort_web_2t: await loadOrt('2', 2, onnx, input, side),
  };
  if (goSimd.info.mirror) {
    // Embed of a mirror-averaged model: two passes + the mirror and average (not per pass).
    runners.go_wasm_embed_mirror = { run() { const e = goSimd.api.embed(); if (e && e.error) throw new Error(`goSimd: ${e.error}`); } };
  }
  const times = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
  for (const r of Object.values(runners)) for (let i = 0; i < WARMUP; i++) await r.run();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, r] of Object.entries(runners)) {
      for (let i = 0; i < PER_ROUND; i++) {
        const t0 = performance.now();
        await r.run();
        times[k].push(performance.now() - t0);
      }
    }
  }
  // Same input, same network: the outputs must agree (int8 weights vs float ONNX).
  const goOut = runners.go_wasm.api.forward();
  const ortOut = await runners.ort_web_1t.output();
  // Preprocess: 1000 px crop of a 1080p frame -> input tensor, Go SIMD build.
  const pre = [];
  for (let i = 0; i < 5; i++) runners.go_wasm.api.preprocess(1000);
  for (let i = 0; i < 20; i++) { const t0 = performance.now(); runners.go_wasm.api.preprocess(1000); pre.push(performance.now() - t0); }
  const info = runners.go_wasm.info;
  const res = {
    go_wasm_ms: +median(times.go_wasm).toFixed(3),
    go_wasm_scalar_ms: +median(times.go_wasm_scalar).toFixed(3),
    ort_web_1t_ms: +median(times.ort_web_1t).toFixed(3),
    ort_web_2t_ms: +median(times.ort_web_2t).toFixed(3),
    // Whole Embed of a mirror-averaged model (two passes); absent for a single-pass model.
    go_wasm_embed_mirror_ms: times.go_wasm_embed_mirror ? +median(times.go_wasm_embed_mirror).toFixed(3) : undefined,
    mirror: !!info.mirror,
    macs: info.macs,
    ratio: +(median(times.go_wasm) / median(times.ort_web_1t)).toFixed(3),
    // Minimums too: on a shared machine the median includes other jobs' bursts.
    go_wasm_min_ms: +Math.min(...times.go_wasm).toFixed(3),
    ort_web_1t_min_ms: +Math.min(...times.ort_web_1t).toFixed(3),
    ratio_min: +(Math.min(...times.go_wasm) / Math.min(...times.ort_web_1t)).toFixed(3),
    runs: ROUNDS * PER_ROUND,
    dbg: params.get("dbg") ? Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map((x) => +x.toFixed(2))])) : undefined,
    input: side,
    int8_weights: info.int8,
    simd_build: info.simd && !runners.go_wasm_scalar.info.simd,
    // A file with the colour cue (model/FORMAT.md, ColourHist) appends cells the ONNX does not
    // have: the CNN part, its first outputs, is what both engines compute.
    cos_go_vs_ort: +cosine(goOut.slice(0, ortOut.length), ortOut).toFixed(6),
    extra_go_outputs: goOut.length - ortOut.length,
    preprocess_1000px_ms: +median(pre).toFixed(3),
    cross_origin_isolated: globalThis.crossOriginIsolated,
    user_agent: navigator.userAgent,
  };
  document.getElementById('out').textContent = JSON.stringify(res);
  globalThis.benchResult = res;
}

main().catch((e) => { globalThis.benchResult = { error: String(e && e.stack || e) }; });
