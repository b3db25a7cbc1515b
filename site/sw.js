// toonid service worker: precaches the page shell, and makes sure the content a visit needs
// offline (this browser's wasm build, the model and the default pack) is in the hash-keyed content
// cache that worker.js reads, verified by sha256 (assets.js). It is registered after the page's
// first good load, when worker.js has already stored that content, so installing downloads nothing
// twice: it only re-checks the hashes.
'use strict';

importScripts('assets.js');

// @BUILD@ is replaced at build time by a hash of the shell, so a new build gets a new cache.
const SHELL_CACHE = 'toonid-shell-@BUILD@';
const SHELL = ['./', 'index.html', 'app.js', 'verdict.js', 'md.js', 'sniff.js', 'taught.js', 'favicon.svg', 'toonid.js', 'worker.js', 'assets.js', 'wasm_exec.js', 'style.css', 'build.json', 'CREDITS.md'];
const PACK = 'default';

async function precacheContent() {
  const site = new URL('./', self.registration.scope);
  const [{ doc: build }, { doc: manifest }] = await Promise.all([
    fetchJSON(new URL('build.json', site).href, { check: checkBuild }),
    fetchJSON(new URL(`v1/packs/${PACK}/manifest.json`, site).href, { check: parseManifest }),
  ]);
  const m = parseManifest(manifest);
  const wasm = WebAssembly.validate(SIMD_PROBE) ? build.wasm.simd : build.wasm.scalar;
  await Promise.all([
    fetchVerified(new URL(wasm.file, site).href, wasm.sha256),
    fetchVerified(new URL(`v1/models/${m.model.sha256}.tmdl`, site).href, m.model.sha256, { digest: modelDigest }),
    ...m.shards.map((s) => fetchVerified(new URL(`v1/packs/${PACK}/${s.name}`, site).href, s.sha256)),
  ]);
}

self.addEventListener('install', (e) => {
  e.waitUntil((async () => {
    const c = await caches.open(SHELL_CACHE);
    await c.addAll(SHELL.map((p) => new Request(p, { cache: 'reload' })));
    await precacheContent();
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (e) => {
  e.waitUntil((async () => {
    for (const k of await caches.keys()) {
      if (k.startsWith('toonid-shell-') && k !== SHELL_CACHE) await caches.delete(k);
    }
    await self.clients.claim();
  })());
});

// Network first, so a rebuilt site is seen at once; the cache answers only when the network fails.
// /v1/ (model, pack) and the wasm files are left to worker.js's hash-keyed cache.
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope);
  const rel = url.pathname.slice(scope.pathname.length);
  if (!url.pathname.startsWith(scope.pathname) || rel.startsWith('v1/') || rel.endsWith('.wasm')) return;
  e.respondWith((async () => {
    try {
      const res = await fetch(e.request);
      if (res.ok && SHELL.includes(rel || './')) {
        const c = await caches.open(SHELL_CACHE);
        await c.put(e.request, res.clone());
      }
      return res;
    } catch (err) {
      const hit = await caches.match(e.request, { cacheName: SHELL_CACHE, ignoreSearch: true });
      if (hit) return hit;
      throw err;
    }
  })());
});
