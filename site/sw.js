// toonid service worker: precaches the page shell, and makes sure the content a visit needs
// offline (this browser's wasm build, the model and the pack the page loaded) is in the hash-keyed content
// cache that worker.js reads, verified by sha256 (assets.js). It is registered after the page's
// first good load, when worker.js has already stored that content, so installing downloads nothing
// twice: it only re-checks the hashes.
'use strict';

importScripts('assets.js');

// @BUILD@ is replaced at build time by a hash of the shell, so a new build gets a new cache.
const SHELL_CACHE = 'toonid-shell-@BUILD@';

// precacheContent makes sure the content of the page's last good load is in the content cache:
// the same pack from the same store (worker.js records them), this browser's wasm build, listed
// by the one contentURLs of assets.js, and the face detector (detectorURL). Before any load there is nothing to precache.
async function precacheContent(build) {
  const last = await lastLoad();
  if (!last) return;
  const { doc: manifest } = await fetchJSON(new URL(`packs/${encodeURIComponent(last.pack)}/manifest.json`, new URL(last.base, last.siteURL)).href,
    { check: parseManifest });
  const files = contentURLs({ build, m: parseManifest(manifest), siteURL: last.siteURL, base: last.base, pack: last.pack,
    simd: WebAssembly.validate(SIMD_PROBE) });
  const det = detectorURL({ build, siteURL: last.siteURL, base: last.base });
  if (det) files.push(det);
  await Promise.all(files.map((f) => fetchVerified(f.url, f.sha256, { digest: f.digest })));
}

// The shell is build.json's list (site/tools/build.mjs) plus the scope URL itself.
self.addEventListener('install', (e) => {
  e.waitUntil((async () => {
    const site = new URL('./', self.registration.scope);
    const { doc: build } = await fetchJSON(new URL('build.json', site).href, { check: checkBuild });
    const c = await caches.open(SHELL_CACHE);
    await c.addAll(['./', ...build.shell].map((p) => new Request(p, { cache: 'reload' })));
    await precacheContent(build);
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
// Only shell files are kept. The store's files (same-origin /v1/, serve/API.md) and the wasm are
// not even intercepted: worker.js's hash-keyed cache holds them.
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope);
  const rel = url.pathname.slice(scope.pathname.length);
  if (!url.pathname.startsWith(scope.pathname) || rel.startsWith('v1/') || rel.endsWith('.wasm')) return;
  e.respondWith((async () => {
    try {
      const res = await fetch(e.request);
      // Only the shell is kept: the files install cached (build.json's list).
      const c = await caches.open(SHELL_CACHE);
      if (res.ok && await c.match(e.request, { ignoreSearch: true })) await c.put(e.request, res.clone());
      return res;
    } catch (err) {
      const hit = await caches.match(e.request, { cacheName: SHELL_CACHE, ignoreSearch: true });
      if (hit) return hit;
      throw err;
    }
  })());
});
