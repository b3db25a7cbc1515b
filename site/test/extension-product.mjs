// Browser test of the extension as a product (make test-extension-product): icon,
// popup with the last answer (candidates, score, teach, "Wrong?"), options (taught characters,
// export), taught characters carried to the demo page by export/import, and the content script
// pausing the video it names in and dropping its box when the video plays. Headless Chromium with
// the unpacked extension and `toonid serve` for the demo. Screenshots: test-artifacts/extension/.
// The click on a real page needs a user gesture (activeTab) and is driven through the service
// worker's toonidPickAt (the same path after the screenshot) and a stubbed chrome.* for content.js.
// usage: node site/test/extension-product.mjs build/extension
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { createAvatar } from '@dicebear/core';
import { bottts } from '@dicebear/collection';
import { Resvg } from '@resvg/resvg-js';
import { ROOT, CHROMIUM_ARGS, scene, serve, steps, ready, openImage, clickImage } from './lib.mjs';
import { verdict } from '../verdict.js';
import { CAST, FRAME, composite, compositeVideo, truthBox, lenient } from './composite.mjs';

const ext = resolve(process.argv[2] || join(process.env.BUILD || 'build', 'extension'));
const ART = join(ROOT, 'test-artifacts', 'extension');
mkdirSync(ART, { recursive: true });
const shot = (n) => join(ART, `${n}.png`);
const sc = scene();
const face = sc.faces[0];
const dataURL = (file) => `data:image/${file.endsWith('.png') ? 'png' : 'jpeg'};base64,${readFileSync(file).toString('base64')}`;
const robotFile = join(tmpdir(), 'toonid-ext-robot.png');
writeFileSync(robotFile, new Resvg(createAvatar(bottts, { seed: 'toonid-ext-robot', size: 320, backgroundColor: ['d2e6f0'] }).toString()).render().asPng());

const { step, results, failures } = steps();
const dir = mkdtempSync(join(tmpdir(), 'toonid-extp-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, acceptDownloads: true,
  args: [...CHROMIUM_ARGS, `--disable-extensions-except=${ext}`, `--load-extension=${ext}`], viewport: { width: 900, height: 700 },
});
const srv = await serve();
try {
  const sw = ctx.serviceWorkers()[0] || await ctx.waitForEvent('serviceworker', { timeout: 15000 });
  const base = sw.url().split('/').slice(0, 3).join('/'); // chrome-extension://<id> (Node's URL gives origin 'null')
  const pickAt = (file, x, y) => sw.evaluate(([image, x, y]) => self.toonidPickAt(image, x, y, 'test'), [dataURL(file), x, y]);
  const popup = async () => {
    const p = await ctx.newPage();
    await p.setViewportSize({ width: 360, height: 640 });
    await p.goto(`${base}/popup.html`);
    await p.waitForFunction(() => document.body.dataset.ready === '1');
    return p;
  };

  await step('9: the extension has an icon, a popup and an options page', async () => {
    const m = JSON.parse(readFileSync(join(ext, 'manifest.json'), 'utf8'));
    assert.equal(m.action.default_popup, 'popup.html');
    assert.equal(m.options_ui.page, 'options.html');
    for (const [n, f] of Object.entries(m.icons)) {
      const b = readFileSync(join(ext, f));
      assert.equal(b.subarray(1, 4).toString(), 'PNG', `${f} is not a PNG`);
      assert.equal(b.readUInt32BE(16), Number(n), `${f} is not ${n} px wide`);
    }
  }, { fatal: true });

  let first;
  await step(`9: the popup shows the last answer: crop, verdict, candidates, "Wrong? It's …"`, async () => {
    first = await pickAt(sc.image, face.x, face.y);
    const p = await popup();
    const v = await p.evaluate(() => ({ verdict: document.getElementById('verdict').textContent, rows: [...document.querySelectorAll('#answers li')].map((l) => l.textContent),
      alts: [...document.querySelectorAll('#alts button')].map((b) => b.textContent), crop: document.getElementById('crop').naturalWidth }));
    const last = await p.evaluate(async () => (await chrome.storage.session.get('last')).last.answer);
    console.log(`     label on the page: ${first.label}; popup: ${v.verdict} | ${v.rows.slice(0, 3).join(' | ')} | alts ${v.alts.join(', ')}`);
    await p.screenshot({ path: shot('9-popup-answer') });
    assert.equal(v.verdict, verdict(last).text);
    assert.ok(v.rows.length >= 2 && /^\S.* (similar enough|close|not similar) — /.test(v.rows[0]) && !/%/.test(v.rows.join(' ')), v.rows.join(' | ')); // words, no percentage (site/verdict.js)
    assert.ok(v.alts.length >= 1 && v.crop > 0);
    if (face.id) assert.equal(last.answers[0].id, face.id);
    await p.close();
  });

  await step('9: teaching from the popup: a typed name, then the next pick names it', async () => {
    const before = await pickAt(robotFile, 160, 160);
    const p = await popup();
    await p.fill('#teach-name', 'Ext Robot');
    await p.click('#teach button[type=submit]');
    await p.waitForFunction(() => document.body.dataset.taught, null, { timeout: 20000 });
    assert.equal(await p.textContent('#verdict'), 'Ext Robot', `the popup after teaching (before: ${before.label})`);
    await p.screenshot({ path: shot('9-popup-taught') });
    await p.close();
    const after = await pickAt(robotFile, 150, 170);
    console.log(`     before: ${before.label}; after teaching, a pick 14 px away: ${after.label}`);
    assert.equal(after.answers[0].name, 'Ext Robot');
  });

  let exported;
  await step('9: options list the taught character and export them in the demo format', async () => {
    const p = await ctx.newPage();
    await p.goto(`${base}/options.html`);
    await p.waitForFunction(() => document.body.dataset.listed);
    const items = await p.$$eval('#taught li', (l) => l.map((x) => x.textContent));
    assert.ok(items.some((t) => t.startsWith('Ext Robot (')), items.join(' | '));
    const [dl] = await Promise.all([p.waitForEvent('download'), p.click('#export')]);
    exported = join(dir, 'taught.json');
    await dl.saveAs(exported);
    const doc = JSON.parse(readFileSync(exported, 'utf8'));
    assert.equal(doc.format, 'toonid-taught');
    assert.ok(doc.characters.some((c) => c.name === 'Ext Robot' && c.crops.length > 1));
    await p.screenshot({ path: shot('9-options') });
    await p.close();
  });

  await step('9: options export a pack; the demo imports it and names the character; a truncated pack is refused', async () => {
    const p = await ctx.newPage();
    await p.goto(`${base}/options.html`);
    await p.waitForFunction(() => document.body.dataset.listed);
    const [dl] = await Promise.all([p.waitForEvent('download'), p.click('#export-pack')]);
    const packFile = join(dir, dl.suggestedFilename());
    await dl.saveAs(packFile);
    const tar = readFileSync(packFile);
    assert.equal(tar.subarray(257, 262).toString(), 'ustar', 'a pack archive (tar)');
    const cut = join(dir, 'cut.tar');
    writeFileSync(cut, tar.subarray(0, tar.length >> 1));
    const listed = await p.evaluate(() => document.body.dataset.listed);
    await p.setInputFiles('#import', cut);
    await p.waitForFunction(() => /Could not import/.test(document.getElementById('io').textContent), null, { timeout: 20000 });
    assert.match(await p.textContent('#io'), /not a complete pack archive/);
    await p.setInputFiles('#import', packFile); // the same characters: no twin
    await p.waitForFunction((l) => document.body.dataset.listed !== l, listed, { timeout: 20000 });
    const items = await p.$$eval('#taught li', (l) => l.map((x) => x.textContent));
    assert.equal(items.filter((t) => t.startsWith('Ext Robot (')).length, 1, items.join(' | '));
    await p.close();

    const d = await ctx.newPage(); // the demo: another origin, another IndexedDB
    await d.goto(srv.url);
    const info = await ready(d);
    assert.ok(!info.error, info.error);
    await d.setInputFiles('#taught-import', packFile);
    await d.waitForFunction(() => window.toonidDemo.imported, null, { timeout: 20000 });
    await openImage(d, robotFile);
    const r = await clickImage(d, 160, 160);
    assert.equal(r.answers[0].name, 'Ext Robot', JSON.stringify(r.answers.slice(0, 3)));
    await d.close();
  });

  await step('9: the demo imports the extension\'s export and names the character', async () => {
    const p = await ctx.newPage();
    await p.goto(srv.url);
    const info = await ready(p);
    assert.ok(!info.error, info.error);
    await p.click('#about-open');
    await p.setInputFiles('#taught-import', exported);
    await p.waitForFunction(() => window.toonidDemo.imported, null, { timeout: 20000 });
    await p.waitForSelector('#taught button[aria-label="Forget Ext Robot"]');
    await p.screenshot({ path: shot('9-demo-imported') });
    await p.keyboard.press('Escape');
    await openImage(p, robotFile);
    const r = await clickImage(p, 160, 160);
    assert.equal(r.answers[0].name, 'Ext Robot', JSON.stringify(r.answers.slice(0, 3)));
    await p.screenshot({ path: shot('9-demo-names-it') });
    await p.close();
  });

  await step('9: content.js pauses the video it names in, and drops the box when it plays again', async () => {
    const p = await ctx.newPage();
    await p.goto(srv.url + 'examples/sintel_trailer_048.jpg'); // any page of another origin than the extension
    await p.evaluate(async () => {
      document.body.replaceChildren();
      const img = document.createElement('img');
      img.src = location.href;
      await img.decode();
      const c = Object.assign(document.createElement('canvas'), { width: img.naturalWidth, height: img.naturalHeight });
      const g = c.getContext('2d');
      const v = Object.assign(document.createElement('video'), { id: 'v', muted: true });
      v.style.cssText = 'width:640px;display:block;margin:20px';
      v.srcObject = c.captureStream(10);
      (function draw() { g.drawImage(img, 0, 0); requestAnimationFrame(draw); })();
      document.body.append(v);
      await v.play();
      // chrome.* as the extension gives it to a content script: capture what it sends.
      window.sent = [];
      window.chrome = { runtime: { onMessage: { addListener: (f) => { window.deliver = f; } }, sendMessage: (m) => { window.sent.push(m); } } };
    });
    await p.addScriptTag({ content: readFileSync(join(ext, 'content.js'), 'utf8') });
    await p.evaluate(() => window.deliver({ target: 'content', type: 'toonid:pick' }));
    const r = await p.evaluate(() => document.getElementById('v').getBoundingClientRect().toJSON());
    await p.mouse.click(r.left + r.width * 0.45, r.top + r.height * 0.35);
    await p.waitForFunction(() => window.sent.length > 0, null, { timeout: 5000 });
    assert.equal(await p.evaluate(() => document.getElementById('v').paused), true, 'the video under the pick was not paused');
    assert.equal(await p.evaluate(() => window.sent[0].type), 'toonid:picked');
    await p.evaluate(([label, box]) => window.deliver({ target: 'content', type: 'toonid:show', data: { label, box, kind: 'probable' } }), [first.label, [r.left + 250, r.top + 60, 130, 130]]);
    assert.equal(await p.textContent('.toonid-card [role=status] span'), first.label);
    await p.screenshot({ path: shot('9-content-card') });
    await p.waitForTimeout(300);
    assert.equal(await p.locator('.toonid-card').count(), 1, 'the card must stay while the video is paused (no timer)');
    await p.evaluate(() => document.getElementById('v').play());
    await p.waitForFunction(() => !document.querySelector('.toonid-card'), null, { timeout: 3000 });
    await p.close();
  });

  // The detector's faces on a paused video: content.js asks for a scan, the background's path
  // after its screenshot (toonidFacesAt, toonidFaceAt) runs on a real screenshot of the tab.
  await step('9: content.js boxes and names a paused video\'s faces; a click in a box answers for that face', async () => {
    const p = await ctx.newPage();
    await p.goto(srv.url + 'examples/sintel_trailer_048.jpg');
    await p.evaluate(() => document.body.replaceChildren());
    await compositeVideo(p, await composite(p), { id: 'v', width: FRAME.w });
    await p.evaluate(() => {
      document.getElementById('v').pause();
      window.sent = [];
      window.chrome = { runtime: { onMessage: { addListener: (f) => { window.deliver = f; } }, sendMessage: (m) => { window.sent.push(m); } } };
    });
    await p.addScriptTag({ content: readFileSync(join(ext, 'content.js'), 'utf8') });
    await p.evaluate(() => window.deliver({ target: 'content', type: 'toonid:pick' }));
    await p.waitForFunction(() => window.sent.some((m) => m.type === 'toonid:scan'), null, { timeout: 5000 });
    const scanMsg = await p.evaluate(() => window.sent.find((m) => m.type === 'toonid:scan').data);
    const tabShot = async () => `data:image/png;base64,${(await p.screenshot()).toString('base64')}`;
    const faces = await sw.evaluate(([img, rect, dpr]) => self.toonidFacesAt(img, rect, dpr), [await tabShot(), scanMsg.video, scanMsg.dpr]);
    const vr = scanMsg.video, truth = (i) => { const t = truthBox(i); return { ...t, x: vr.left + t.x, y: vr.top + t.y }; };
    // A screenshot of the whole tab, not the frame (the composite went through a canvas stream
    // and the tab's compositor): at most two faces may be missed (seen with the detector
    // retrained on 2026-12-02: the two palest, Saffron's pencil sketch and Carrot's; the demo's
    // own frame finds all six, faces.mjs; detect/README.md has the detector's real-art recall),
    // each box found says its name or "?", and at most two found faces drop to "?" (seen:
    // Mr. Iceblock, as on faces.mjs's WebM frame; Jumpy below threshold; Dollfin above it but
    // "not sure" beside its look-alike relatives in the 429-character pack). This step tests the
    // extension's face path (screenshot -> boxes -> click -> popup), not recognition quality.
    // A click goes to the first face found named.
    const rows = CAST.map((c, i) => {
      const f = faces.find((x) => lenient(x.box, truth(i)));
      if (!f) return `${c.name}: MISSED`;
      assert.ok(f.label === c.name || f.label === '?', `${c.name}'s box says ${f.label}`);
      return `${c.name}: ${f.label} ${f.best.toFixed(3)}`;
    });
    console.log(`     tab screenshot faces (threshold ${faces[0].threshold.toFixed(3)}): ${rows.join('; ')}`);
    const missed = rows.filter((r) => r.endsWith('MISSED')).length;
    assert.ok(missed <= 2, `${missed} faces not found: ${JSON.stringify(faces.map((x) => x.box))}`);
    assert.ok(rows.filter((r, i) => r.startsWith(`${CAST[i].name}: ${CAST[i].name} `)).length >= CAST.length - missed - 2, 'more than two found faces unnamed');
    await p.evaluate((faces) => window.deliver({ target: 'content', type: 'toonid:faces', data: { faces } }), faces);
    const labels = await p.$$eval('.toonid-faces .toonid-face', (ds) => ds.map((d) => d.textContent));
    assert.deepEqual(labels, faces.map((f) => f.label));
    console.log(`     content faces: ${labels.join(', ')}`);
    await p.screenshot({ path: shot('9-content-faces') });
    // The pick's click inside a named face's box: that face's answer, and the popup's crop from it.
    const i = rows.findIndex((r, k) => r.startsWith(`${CAST[k].name}: ${CAST[k].name} `)), t = truth(i), want = CAST[i].name;
    await p.mouse.click(t.x + t.w / 2, t.y + t.h / 2);
    await p.waitForFunction(() => window.sent.some((m) => m.type === 'toonid:face'), null, { timeout: 5000 });
    assert.ok(!(await p.evaluate(() => window.sent.some((m) => m.type === 'toonid:picked'))), 'a click in a box ran the click search');
    const faceMsg = await p.evaluate(() => window.sent.find((m) => m.type === 'toonid:face').data);
    assert.equal(faceMsg.face.label, want);
    const r = await sw.evaluate(([img, face, dpr]) => self.toonidFaceAt(img, face, dpr), [await tabShot(), faceMsg.face, faceMsg.dpr]);
    assert.ok(r.face && r.answers[0].name === want, `face answer ${JSON.stringify(r.answers?.slice(0, 2))}`);
    await p.evaluate((r) => window.deliver({ target: 'content', type: 'toonid:show', data: r }), r);
    assert.equal(await p.textContent('.toonid-card [role=status] span'), r.label);
    assert.equal(await p.locator('.toonid-faces .toonid-face').count(), faces.length, 'the boxes went with the answer');
    await p.screenshot({ path: shot('9-content-face-card') });
    const pp = await popup();
    assert.equal(await pp.textContent('#answers li strong'), want, 'the popup does not show the face\'s answer');
    await pp.screenshot({ path: shot('9-popup-face') });
    await pp.close();
    // A pick's click away from the boxes searches, with the paused video's rect for its faces.
    await p.evaluate(() => window.deliver({ target: 'content', type: 'toonid:pick' }));
    await p.mouse.click(vr.left + 820, vr.top + 460);
    await p.waitForFunction(() => window.sent.some((m) => m.type === 'toonid:picked'), null, { timeout: 5000 });
    const picked = await p.evaluate(() => window.sent.find((m) => m.type === 'toonid:picked').data);
    assert.ok(picked.video, 'the pick did not pass the video for its faces');
    const rp = await sw.evaluate(([img, x, y]) => self.toonidPickAt(img, x, y, 'test'), [await tabShot(), picked.x, picked.y]);
    assert.ok(!rp.face, 'away from the boxes the pick searched');
    await p.evaluate((r) => window.deliver({ target: 'content', type: 'toonid:show', data: r }), { ...rp, faces });
    assert.equal(await p.locator('.toonid-faces .toonid-face').count(), faces.length, 'the pick\'s answer brought the faces back');
    await p.evaluate(() => document.getElementById('v').play());
    await p.waitForFunction(() => !document.querySelector('.toonid-faces'), null, { timeout: 3000 });
    await p.close();
  });

  if (failures.length) {
    console.log(`test-extension-product: ${failures.length} of ${results.length + failures.length} steps FAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log(`test-extension-product: all ${results.length} passed; screenshots in test-artifacts/extension/`);
  }
} finally {
  await ctx.close();
  srv.stop();
  rmSync(dir, { recursive: true, force: true });
}
