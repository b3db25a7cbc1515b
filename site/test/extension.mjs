// Loads the unpacked MV3 extension in headless Chromium and names the test face through the
// service worker -> offscreen document -> Web Worker -> Go wasm path (CSP 'wasm-unsafe-eval').
// The click-on-page part needs a user gesture (activeTab) and is not driven here.
// usage: node site/test/extension.mjs build/extension   (env TOONID_SCENE as in e2e.mjs)
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, scene } from './lib.mjs';

const ext = resolve(process.argv[2] || 'build/extension');
const sc = scene();
const face = sc.faces[0];
const dir = mkdtempSync(join(tmpdir(), 'toonid-ext-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: [...CHROMIUM_ARGS, `--disable-extensions-except=${ext}`, `--load-extension=${ext}`],
});
try {
  const sw = ctx.serviceWorkers()[0] || await ctx.waitForEvent('serviceworker', { timeout: 15000 });
  const image = `data:image/${sc.image.endsWith('.png') ? 'png' : 'jpeg'};base64,${readFileSync(sc.image).toString('base64')}`;
  const r = await sw.evaluate(([image, x, y]) => self.toonidIdentify(image, x, y), [image, face.x, face.y]);
  const want = face.id || face.name;
  assert.ok(face.id ? r.answers[0].id === face.id : r.answers[0].name === face.name, `want ${want}, got ${JSON.stringify(r.answers.slice(0, 3))}`);
  console.log(`test-extension: ok: ${r.answers[0].name} ${r.answers[0].score.toFixed(3)} via the offscreen document, ${r.ms.toFixed(0)} ms`);
} finally {
  await ctx.close();
  rmSync(dir, { recursive: true, force: true });
}
