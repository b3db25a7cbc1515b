// make bench-browser driver: serves the bench page, the wasm builds, the model and
// onnxruntime-web from a tiny local server with COOP/COEP headers (onnxruntime-web needs
// crossOriginIsolated for 2 threads), runs it in headless Chromium and prints one JSON line.
//
//   node model/bench/driver.mjs --dir build/bench --onnx model.onnx [--rounds 6 --per 10] [--dbg 1]
// (--dbg 1 adds every timing to the JSON, to see other jobs preempting runs)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const dir = path.resolve(args.dir || 'build/bench');
const onnx = path.resolve(args.onnx || path.join(dir, 'bench.onnx'));

// URL prefix -> folder; nothing else is served, and no path may leave its folder.
const mounts = {
  '/page/': path.join(here, 'page'),
  '/bench/': dir,
  '/ort/': path.join(root, 'node_modules/onnxruntime-web/dist'),
};
const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };

function resolve(urlPath) {
  if (urlPath === '/bench/bench.onnx') return onnx;
  for (const [prefix, base] of Object.entries(mounts)) {
    if (!urlPath.startsWith(prefix)) continue;
    const p = path.resolve(base, '.' + path.posix.normalize('/' + urlPath.slice(prefix.length)));
    return p.startsWith(base + path.sep) ? p : null;
  }
  return null;
}

const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://localhost');
  const p = resolve(decodeURIComponent(u.pathname));
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  if (!p || !fs.existsSync(p) || !fs.statSync(p).isFile()) { res.writeHead(404); res.end('not found'); return; }
  res.writeHead(200, { 'Content-Type': types[path.extname(p)] || 'application/octet-stream' });
  fs.createReadStream(p).pipe(res);
});

async function main() {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-quic', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    const q = new URLSearchParams({ rounds: args.rounds || '6', per: args.per || '10', warmup: args.warmup || '10', ...(args.dbg ? { dbg: '1' } : {}) });
    await page.goto(`http://127.0.0.1:${port}/page/index.html?${q}`);
    await page.waitForFunction(() => globalThis.benchResult, null, { timeout: 600000, polling: 500 });
    const res = await page.evaluate(() => globalThis.benchResult);
    if (res.error) throw new Error(res.error);
    res.chromium = browser.version();
    console.log(JSON.stringify(res));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => { console.error('bench-browser:', e.message || e); process.exit(1); });
