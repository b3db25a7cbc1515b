// toonid service worker: keeps the page shell for offline use. The large content (wasm, model,
// pack shards) is not handled here: worker.js stores it, sha256-verified, in Cache Storage keyed by
// hash, and the pack manifest's last good copy beside it, so a second visit needs no network.
'use strict';

// @BUILD@ is replaced at build time by a hash of the shell, so a new build gets a new cache.
const SHELL_CACHE = 'toonid-shell-@BUILD@';
const SHELL = ['./', 'index.html', 'app.js', 'toonid.js', 'worker.js', 'wasm_exec.js', 'style.css', 'build.json', 'CREDITS.md'];

self.addEventListener('install', (e) => {
  e.waitUntil((async () => {
    const c = await caches.open(SHELL_CACHE);
    await c.addAll(SHELL.map((p) => new Request(p, { cache: 'reload' })));
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
