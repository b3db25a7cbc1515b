// End-to-end browser test of the demo page (make test-browser): headless Chromium against
// `toonid serve`. Checks: the test image's face is named; a taught character is found on the next
// click; offline reload still identifies and shows the examples; a corrupted shard is rejected,
// refetched and never cached.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createAvatar } from '@dicebear/core';
import { bottts } from '@dicebear/collection';
import { Resvg } from '@resvg/resvg-js';
import { ROOT, serve, browser, scene, clickImage, openImage, ready, steps, recordStill } from './lib.mjs';
import { verdict, label as verdictLabel } from '../verdict.js';
import { CAST, composite, compositeVideo, toClient, truthBox, lenient } from './composite.mjs';

const ARTIFACTS = join(ROOT, 'test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

// A character no pack contains, drawn now (DiceBear "bottts", MIT-licensed code; nothing committed).
function strangerPNG() {
  const svg = createAvatar(bottts, { seed: 'toonid-e2e-stranger', size: 320, backgroundColor: ['f0e6d2'] }).toString();
  const file = join(tmpdir(), 'toonid-e2e-stranger.png');
  writeFileSync(file, new Resvg(svg).render().asPng());
  return file;
}

// Steps run on after a failure (each reports), except fatal ones; the exit code is 1 if any failed.
const { step, results, failures } = steps();

const sc = scene();
const face = sc.faces[0];
const who = face.name || face.id;
// The answer must be the expected character: by id when the spec gives one.
const isFace = (a) => a && (face.id ? a.id === face.id : a.name === face.name);
// ref is the first click's top answer. The later steps check the machinery (offline, corrupt
// downloads, scalar build, overlay, video) by agreeing with it: exactly where the pixels and the
// arithmetic are the same, within the top 3 where they differ slightly (scalar vs SIMD sums,
// video frames). Whether ref is the right character is the naming step's assertion alone.
let ref = null;
const agrees = (r, within = 1) => {
  assert.ok(ref, 'no reference answer (the first click failed)');
  assert.ok(r.answers.slice(0, within).some((a) => a.id === ref.id), `want ${ref.name} in the top ${within}, got ${JSON.stringify(r.answers.slice(0, 3))}`);
};
const srv = await serve();
let b;
try {
  b = await browser();
  const page = await b.ctx.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));

  await step('page loads the model and pack (sha256-verified)', async () => {
    await page.goto(srv.url);
    const info = await ready(page);
    assert.ok(!info.error, `load failed: ${info.error}\n${logs.join('\n')}`);
    assert.ok(info.info.pack.characters > 0, 'pack has no characters');
    assert.equal(typeof info.info.model.mirror, 'boolean', 'session info reports whether embeddings are mirror-averaged');
    assert.equal(info.offline, false);
    console.log(`     ${info.wasm}, model ${info.info.model.sha256.slice(0, 12)}, ${info.info.pack.characters} characters, ${info.bytes.network} bytes over the network, ${info.ms.toFixed(0)} ms`);
  }, { fatal: true });

  await step(`clicking the face in ${sc.image.split('/').pop()} names ${who}`, async () => {
    await openImage(page, sc.image);
    const r = await clickImage(page, face.x, face.y);
    ref = r.answers[0];
    await page.locator('#card').screenshot({ path: join(ARTIFACTS, 'answer-card.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'page.png') });
    console.log(`     ${r.answers[0].name} ${r.answers[0].score.toFixed(3)} (threshold ${r.threshold.toFixed(3)}), box ${r.box}, ${r.candidates} crops, ${r.ms.toFixed(0)} ms`);
    assert.equal(await page.textContent('#verdict'), verdict(r).text); // the wording rule: site/verdict.js
    assert.equal(await page.locator('#answers li').count(), Math.min(5, r.answers.length));
    // The returned crop must contain the click.
    const [x, y, w, h] = r.box;
    assert.ok(face.x >= x && face.x <= x + w && face.y >= y && face.y <= y + h, `box ${r.box} misses the click`);
    // The API's box mode on the documented crop must agree.
    const byBox = await page.evaluate((box) => window.toonidDemo.api.identify(document.querySelector('#media img'), { box }), face.box);
    console.log(`     box mode: ${byBox.answers[0].name} ${byBox.answers[0].score.toFixed(3)}, ${byBox.ms.toFixed(0)} ms`);
    // The product requirement, last so the checks above always run.
    assert.ok(isFace(r.answers[0]), `want ${who}, top answers ${JSON.stringify(r.answers.slice(0, 3))}`);
    // The open-set verdict follows the pack's calibrated threshold, and the held-out frame is named.
    assert.equal(r.unknown, r.answers[0].score < r.threshold, `verdict ${r.unknown} vs score ${r.answers[0].score} and threshold ${r.threshold}`);
    assert.equal(r.unknown, false, `${who} scored ${r.answers[0].score} under the threshold ${r.threshold}`);
    assert.ok(isFace(byBox.answers[0]), `identify with box ${face.box}: ${JSON.stringify(byBox.answers.slice(0, 3))}`);
  });

  await step('a click on the Sintel frame\'s blurred background names no one', async () => {
    if (!sc.image.endsWith('sintel_trailer_048.jpg')) return console.log('     (another scene: skipped)');
    // Before identify's flat gate these points named a blurred SuperTux sprite (Willowisp, 0.79-0.81
    // against 0.75): the search's smaller crops there have no edge and are no longer matched.
    for (const [x, y] of [[90, 210], [150, 210], [90, 150]]) {
      const r = await clickImage(page, x, y);
      const v = verdict(r);
      console.log(`     (${x}, ${y}): ${v.text}, best ${r.answers[0]?.name ?? '-'} ${r.score.toFixed(3)}, ${r.candidates} crops`);
      assert.notEqual(v.kind, 'known', `a click on the background at (${x}, ${y}) named ${v.text}`);
      assert.equal(await page.textContent('#verdict'), v.text);
    }
    await page.locator('#card').screenshot({ path: join(ARTIFACTS, 'background-card.png') });
  });

  // Every other bundled test image (tools/gallery/testimages/faces.tsv; none is in the gallery or
  // the calibration set): the expected character is named first, above the threshold, and the
  // card's verdict follows the threshold.
  for (const o of sc.others || []) {
    await step(`clicking the face in ${o.path} names ${o.id}`, async () => {
      await openImage(page, o.image);
      const r = await clickImage(page, o.x, o.y);
      console.log(`     ${r.answers.slice(0, 3).map((a) => `${a.name} ${a.score.toFixed(3)}`).join(', ')} (threshold ${r.threshold.toFixed(3)}), box ${r.box}, ${r.candidates} crops`);
      await page.locator('#card').screenshot({ path: join(ARTIFACTS, `answer-card-${o.id}.png`) });
      assert.equal(r.unknown, r.answers[0].score < r.threshold, `verdict ${r.unknown} vs score ${r.answers[0].score} and threshold ${r.threshold}`);
      assert.equal(await page.textContent('#verdict'), verdict(r).text); // the wording rule: site/verdict.js
      assert.equal(r.answers[0].id, o.id, `want ${o.id} first, got ${JSON.stringify(r.answers.slice(0, 3))}`);
      assert.equal(r.unknown, false, `${o.id} scored ${r.answers[0].score} under the threshold ${r.threshold}`);
    });
  }

  await step('a missing pack fails with an error naming the URL and status', async () => {
    const err = await page.evaluate(async () => {
      const { load } = await import('./toonid.js');
      try { (await load({ base: '/v1/', pack: 'no-such-pack' })).close(); return 'loaded'; } catch (e) { return e.message; }
    });
    assert.match(err, /\/v1\/packs\/no-such-pack\/manifest\.json: HTTP 404/);
  });

  await step('drop and paste open a picture', async () => {
    const dataURL = `data:image/${sc.image.endsWith('.png') ? 'png' : 'jpeg'};base64,${readFileSync(sc.image).toString('base64')}`;
    for (const how of ['drop', 'paste']) {
      await page.evaluate(async ([src, how]) => {
        window.toonidDemo.mediaReady = false;
        const blob = await (await fetch(src)).blob();
        const dt = new DataTransfer();
        dt.items.add(new File([blob], `dropped.${blob.type.split('/')[1]}`, { type: blob.type }));
        if (how === 'drop') document.getElementById('stage').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        else document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
      }, [dataURL, how]);
      await page.waitForFunction(() => window.toonidDemo.mediaReady === true, null, { timeout: 5000 });
      assert.equal(await page.getAttribute('#media img', 'alt'), `Picture: dropped.${sc.image.endsWith('.png') ? 'png' : 'jpeg'}`);
    }
  });

  await step('keyboard: focus the picture, arrows move the crosshair, Enter identifies', async () => {
    const n = await page.evaluate(() => window.toonidDemo.answers.length);
    await page.focus('#stage');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.isVisible('#crosshair'), true);
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => window.toonidDemo.answers.length > n, n);
  });

  await step('About & credits lists the pack credits and CREDITS.md', async () => {
    await page.click('#about-open');
    assert.equal(await page.isVisible('#about'), true);
    assert.ok(await page.locator('#credits li').count() > 0, 'no credits listed');
    await page.waitForFunction(() => !document.getElementById('credits-file').textContent.startsWith('Loading'));
    await page.keyboard.press('Escape');
    assert.equal(await page.isVisible('#about'), false);
  });

  await step('overlay.js on a plain <video>: idempotent attach, click names the face, detach cleans up', async () => {
    const dataURL = `data:image/${sc.image.endsWith('.png') ? 'png' : 'jpeg'};base64,${readFileSync(sc.image).toString('base64')}`;
    await page.evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const c = Object.assign(document.createElement('canvas'), { width: img.naturalWidth, height: img.naturalHeight });
      const g = c.getContext('2d');
      const v = Object.assign(document.createElement('video'), { id: 'ov', muted: true, width: 480 });
      v.srcObject = c.captureStream(10);
      const draw = () => { g.drawImage(img, 0, 0); if (document.getElementById('ov')) requestAnimationFrame(draw); };
      draw();
      // The page scrolled a little, as a reader's often is. (One CI rehearsal hung on this step:
      // the page was scrolled, so scroll anchoring moved it down by the prepended video's height,
      // the video went above the viewport and the click at its face hit nothing at all.)
      scrollTo(0, 40);
      document.body.prepend(v);
      await v.play();
      while (!v.videoWidth) await new Promise((r) => setTimeout(r, 20));
      const { attach } = await import('./overlay.js');
      const h = attach(v, { toonid: window.toonidDemo.api });
      if (attach(v, { toonid: window.toonidDemo.api }) !== h) throw new Error('attach is not idempotent');
      window.ovAnswer = new Promise((res, rej) => {
        document.addEventListener('toonid:answer', (e) => res(e.detail), { once: true });
        document.addEventListener('toonid:error', (e) => rej(new Error(`toonid:error ${e.detail.message}`)), { once: true });
      });
      window.ovAnswer.catch(() => {});
      window.ovHandle = h;
      h.arm();
    }, dataURL);
    const pos = await page.evaluate(([x, y]) => {
      const v = document.getElementById('ov');
      const scrolled = scrollY;
      v.scrollIntoView({ block: 'nearest' }); // a person scrolls to the video before clicking its face
      const r = v.getBoundingClientRect(), s = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
      return { x: r.left + (r.width - v.videoWidth * s) / 2 + x * s, y: r.top + (r.height - v.videoHeight * s) / 2 + y * s, scrolled, vh: innerHeight };
    }, [face.x, face.y]);
    assert.ok(pos.y >= 0 && pos.y < pos.vh, `the face is outside the viewport at y ${pos.y}`);
    await page.mouse.click(pos.x, pos.y);
    const ans = await page.evaluate(() => Promise.race([window.ovAnswer, new Promise((r) => setTimeout(() => r(null), 30000))]));
    assert.ok(ans, `the overlay click got no answer (page scrolled to ${pos.scrolled} before the video came into view)`);
    agrees(ans, 3);
    assert.equal(await page.evaluate(() => document.getElementById('ov').paused), true, 'the click pauses the video');
    const left = await page.evaluate(() => {
      window.ovHandle.detach();
      const n = document.querySelectorAll('.toonid-overlay').length;
      document.getElementById('ov').remove();
      return n;
    });
    assert.equal(left, 0, 'detach left the layer behind');
  });

  // The detector's faces over a paused video (composite.mjs: six gallery faces at known boxes).
  // The dev store's random embedder names nothing: there only the boxes are asserted.
  await step('overlay.js: a paused video\'s faces are boxed and named; a click in a box answers for it, elsewhere the click search; play clears them', async () => {
    const named = !process.env.TOONID_SCENE;
    const png = await composite(page);
    await compositeVideo(page, png, { id: 'fv', width: 636 });
    await page.evaluate(async () => {
      const { attach } = await import('./overlay.js');
      const v = document.getElementById('fv');
      window.fvHandle = attach(v, { toonid: window.toonidDemo.api });
      v.pause();
      // A build whose detector does not load boxes nothing (the overlay only warns): fail, not hang.
      window.fvFaces = Promise.race([new Promise((res) => v.addEventListener('toonid:faces', (e) => res(e.detail.faces), { once: true })),
        window.toonidDemo.api.detector.then(() => new Promise(() => {})), new Promise((_, rej) => setTimeout(() => rej(new Error('no toonid:faces in 60 s')), 60000))]);
      window.fvHandle.arm();
    });
    const list = await page.evaluate(() => window.fvFaces);
    // The detector finds every face; the overlay boxes those a character matches at any score
    // and the others from identify.DoubtfulScore up (the dev store's random embedder matches
    // none, so there the low-scored faces go unboxed).
    const found = await page.evaluate(() => window.toonidDemo.api.detect(document.getElementById('fv')));
    const doubtful = (await page.evaluate(() => window.toonidDemo.api.detector)).doubtfulScore;
    assert.ok(doubtful > 0 && doubtful < 1, `detector info doubtfulScore ${doubtful}`);
    CAST.forEach((c, i) => assert.ok(found.some((f) => lenient(f.box, truthBox(i))), `${c.name} was not detected: ${JSON.stringify(found.map((f) => f.box))}`));
    assert.ok(list.length > 0 && list.every((f) => !f.unknown || f.score >= doubtful), `an unknown face under ${doubtful} was boxed: ${JSON.stringify(list.map((f) => [f.score, f.unknown]))}`);
    if (named) CAST.forEach((c, i) => assert.ok(list.some((f) => lenient(f.box, truthBox(i))), `${c.name} was not boxed: ${JSON.stringify(list.map((f) => f.box))}`));
    else found.filter((f) => f.score >= doubtful).forEach((f) => assert.ok(list.some((g) => lenient(g.box, f.box)), `a face detected at ${f.score} was not boxed`));
    const shown = await page.$$eval('.toonid-overlay .toonid-face', (ds) => ds.map((d) => ({ label: d.textContent, r: d.getBoundingClientRect().toJSON() })));
    assert.equal(shown.length, list.length, 'a box per face');
    for (const [i, f] of list.entries()) {
      const p = await toClient(page, 'fv', f.box.x, f.box.y);
      assert.ok(Math.abs(shown[i].r.left - p.x) < 1 && Math.abs(shown[i].r.top - p.y) < 1, `box ${i} at ${JSON.stringify(shown[i].r)}, want ${JSON.stringify(p)}`);
    }
    const labels = shown.map((d) => d.label);
    if (named) CAST.forEach((c) => assert.ok(labels.includes(c.name), `no box named ${c.name}: ${labels}`));
    else assert.ok(labels.every((l) => l.length > 0), `empty labels: ${labels}`);
    console.log(`     overlay faces: ${labels.join(', ')}`);
    await page.screenshot({ path: join(ARTIFACTS, `overlay-faces${named ? '' : '-dev'}.png`) });
    // A click in Carrot's box, or the dev store's first box (not armed any more: a box takes its
    // click anyway).
    const answer = () => page.evaluate(() => new Promise((res) => document.getElementById('fv').addEventListener('toonid:answer', (e) => res(e.detail), { once: true })));
    const i = CAST.findIndex((c) => c.name === 'Carrot'), t = named ? truthBox(i) : list[0].box;
    await page.evaluate(() => window.fvHandle.disarm());
    let pending = answer();
    let p = await toClient(page, 'fv', t.x + t.w / 2, t.y + t.h / 2);
    await page.mouse.click(p.x, p.y);
    const a = await pending;
    assert.ok(a.face && lenient(a.face.box, t), 'the click in the box did not answer for that face');
    if (named) {
      assert.equal(a.answers[0].name, 'Carrot');
      assert.equal(await page.textContent('.toonid-overlay [aria-live]'), verdictLabel(verdict(a)));
    }
    await page.screenshot({ path: join(ARTIFACTS, `overlay-face-answer${named ? '' : '-dev'}.png`) });
    // Armed, a click away from every box is the click search.
    await page.evaluate(() => window.fvHandle.arm());
    pending = answer();
    p = await toClient(page, 'fv', 820, 460);
    await page.mouse.click(p.x, p.y);
    const bg = await pending;
    assert.ok(!bg.face && bg.candidates >= 2, `elsewhere: ${JSON.stringify({ face: !!bg.face, candidates: bg.candidates })}`);
    assert.equal(await page.locator('.toonid-overlay .toonid-face').count(), list.length, 'the boxes went with a click');
    await page.evaluate(() => document.getElementById('fv').play());
    await page.waitForFunction(() => !document.querySelector('.toonid-overlay .toonid-face'), null, { timeout: 3000 });
    await page.evaluate(() => { window.fvHandle.detach(); document.getElementById('fv').remove(); });
  });

  await step('a video file: clicking pauses it and names the face in the frame', async () => {
    // Record a 2 s WebM of the test image in the page (MediaRecorder), then open it as a file.
    const dataURL = `data:image/${sc.image.endsWith('.png') ? 'png' : 'jpeg'};base64,${readFileSync(sc.image).toString('base64')}`;
    // Recording under heavy CPU load can yield a clip the decoder rejects; one retry, then fail.
    for (let attempt = 1; ; attempt++) {
      const webm = await recordStill(page, dataURL);
      await page.setInputFiles('#file', { name: 'clip.webm', mimeType: 'video/webm', buffer: webm });
      const ok = await page.waitForFunction(() => window.toonidDemo.mediaReady === true || document.getElementById('status').classList.contains('error'), null, { timeout: 15000 })
        .then(() => page.evaluate(() => window.toonidDemo.mediaReady === true), () => false);
      if (ok) break;
      const status = await page.textContent('#status-text');
      if (attempt === 2) throw new Error(`the recorded clip (${webm.length} B) did not load: ${status}`);
      console.log(`     retrying the clip: ${status}`);
    }
    await page.evaluate(() => document.querySelector('#media video').play());
    await page.waitForTimeout(300);
    const r = await clickImage(page, face.x, face.y);
    assert.equal(await page.evaluate(() => document.querySelector('#media video').paused), true, 'the click pauses the video');
    agrees(r, 3);
  });

  const stranger = strangerPNG();
  const taught = 'E2E Robot';
  // searchAt is a click answered by the click search even inside a face box (boxClicks off), so
  // these steps test the search's crops; the robot's box answers from the detector's square, which
  // teaching also stores (faces.mjs tests that).
  const searchAt = async (x, y) => {
    await page.evaluate(() => { window.toonidDemo.boxClicks = false; });
    try { return await clickImage(page, x, y); } finally { await page.evaluate(() => { window.toonidDemo.boxClicks = true; }); }
  };
  await step('teaching a new character, then finding it on the next click', async () => {
    await openImage(page, stranger);
    const before = await searchAt(160, 160); // the search's crop, whether the boxes are there yet or not
    assert.notEqual(before.answers[0]?.name, taught);
    await page.locator('#card').screenshot({ path: join(ARTIFACTS, 'stranger-card.png') });
    await page.fill('#teach-name', taught);
    await page.click('#teach button[type=submit]');
    await page.waitForFunction(() => window.toonidDemo.taught, null, { timeout: 10000 });
    const first = await page.evaluate(() => window.toonidDemo.taught);
    assert.ok(first.examples > 1, `teaching stores the answered crop and its neighbours: ${JSON.stringify(first)}`);
    const after = await searchAt(150, 170); // a different point: the search must find it again
    assert.equal(after.answers[0].name, taught, `after teaching: ${JSON.stringify(after.answers.slice(0, 3))}`);
    assert.equal(after.unknown, false, `taught character below the threshold: ${after.answers[0].score} < ${after.threshold}`);
    assert.equal(await page.textContent('#verdict'), taught);
    await page.locator('#card').screenshot({ path: join(ARTIFACTS, 'taught-card.png') });
    // Teaching the same name again adds an example to the same character.
    await page.evaluate(() => { window.toonidDemo.taught = null; });
    await page.fill('#teach-name', taught.toLowerCase());
    await page.click('#teach button[type=submit]');
    await page.waitForFunction(() => window.toonidDemo.taught, null, { timeout: 10000 });
    const again = await page.evaluate(() => window.toonidDemo.taught);
    assert.equal(again.examples, 2 * first.examples, `second example: ${JSON.stringify(again)}`);
  });

  await step('offline reload (service worker + content cache) identifies again', async () => {
    // Let the service worker install and take control before cutting the network.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.reload();
    await ready(page);
    assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), 'page not controlled by the service worker');
    await b.ctx.setOffline(true);
    try {
      await page.reload();
      const info = await ready(page);
      assert.ok(!info.error, `offline load failed: ${info.error}\n${logs.slice(-10).join('\n')}`);
      assert.equal(info.offline, true, 'the manifest should have come from the offline copy');
      assert.equal(info.bytes.network, 0, 'nothing may come over the network offline');
      // The first screen's "Try an example" strip: thumbnails and pictures from the shell cache.
      const thumbs = await page.$$eval('#examples img', (imgs) => Promise.all(imgs.map((i) =>
        i.decode().then(() => ({ src: i.getAttribute('src'), w: i.naturalWidth }), () => ({ src: i.getAttribute('src'), w: 0 })))));
      await page.locator('section.examples').screenshot({ path: join(ARTIFACTS, 'offline-examples.png') });
      assert.ok(thumbs.length >= 2 && thumbs.every((t) => t.w > 0), `example thumbnails offline: ${JSON.stringify(thumbs)}`);
      await page.click('#examples .example');
      await page.waitForFunction(() => window.toonidDemo.mediaReady === true || document.getElementById('status').classList.contains('error'), null, { timeout: 10000 });
      assert.equal(await page.evaluate(() => window.toonidDemo.mediaReady), true, `an example offline: ${await page.textContent('#status-text')}`);
      await openImage(page, sc.image);
      const r = await clickImage(page, face.x, face.y);
      agrees(r);
      await openImage(page, stranger);
      const t = await searchAt(160, 160);
      assert.equal(t.answers[0].name, taught, 'the taught character survives the reload (IndexedDB)');
    } finally {
      await b.ctx.setOffline(false); // a failure above leaves the later steps online
    }
  });

  await step('About lists the taught character; Forget removes it from the matcher', async () => {
    // The stranger's picture is on screen with its faces boxed and named while it was taught.
    const boxed = await page.evaluate(() => ({ scans: window.toonidDemo.scans, names: (window.toonidDemo.faces?.list || []).map((f) => f.answers[0]?.name) }));
    await page.click('#about-open');
    await page.waitForSelector(`#taught button[aria-label="Forget ${taught}"]`);
    const relabels = await page.evaluate(() => (window.toonidDemo.relabels || []).length);
    await page.click(`#taught button[aria-label="Forget ${taught}"]`);
    await page.waitForFunction(() => !document.querySelector('#taught button'));
    // The card (the stranger's, named as the taught character) is named again without it.
    await page.waitForFunction((n) => (window.toonidDemo.relabels || []).length > n, relabels, { timeout: 20000 });
    assert.notEqual(await page.textContent('#verdict'), taught, 'the card still names the forgotten character');
    await page.keyboard.press('Escape');
    // At once, whether the boxes are named again yet or not: never the old boxes' answer.
    const r = await clickImage(page, 160, 160);
    assert.notEqual(r.answers[0]?.name, taught, `a forgotten character is still matched${r.face ? ' (from a face box)' : ''}`);
    if (boxed.names.length) {
      // The boxes are named again without it, and a click in one shows that answer.
      await page.waitForFunction((n) => window.toonidDemo.scans > n && window.toonidDemo.faces, boxed.scans, { timeout: 20000 });
      const f = await page.evaluate(() => window.toonidDemo.faces.list.map((f) => ({ name: f.answers[0]?.name, box: f.box })));
      console.log(`     boxes before forget: ${boxed.names.join(', ')}; after: ${f.map((x) => x.name).join(', ')}`);
      assert.ok(f.every((x) => x.name !== taught), `the rescanned boxes still name ${taught}: ${JSON.stringify(f)}`);
      const { box: fb } = f[0];
      const inBox = await clickImage(page, fb.x + fb.w / 2, fb.y + fb.h / 2);
      assert.ok(inBox.face, 'a click in a rescanned box shows its face');
      assert.notEqual(inBox.answers[0]?.name, taught, 'a rescanned box still names the forgotten character');
    }
  });
  // The race the forget step once met (its first click in a rescanned box got the click search),
  // made certain: identifyAll's answers are held until released, so the boxes are still being named
  // again when the click comes, and a second change arrives while the first rescan runs.
  await step('a click in a box being named again waits for that naming; changes meanwhile make one more rescan, the last wins', async () => {
    const fb = await page.evaluate(() => window.toonidDemo.faces && window.toonidDemo.faces.list[0].box);
    assert.ok(fb, 'no boxed face on the stranger picture');
    const mid = [fb.x + fb.w / 2, fb.y + fb.h / 2];
    const card = await clickImage(page, ...mid);
    assert.ok(card.face, 'a click in a named box shows its face');
    await page.evaluate(() => {
      const api = window.toonidDemo.api, real = api.identifyAll.bind(api);
      const gate = window.e2eGate = { calls: 0 };
      gate.open = new Promise((r) => { gate.release = r; });
      // The worker still names the faces at once; only the answer waits.
      api.identifyAll = async (...a) => { gate.calls++; const r = await real(...a); await gate.open; return r; };
      gate.restore = () => { delete api.identifyAll; };
    });
    try {
      await page.evaluate(() => { window.toonidDemo.taught = null; });
      await page.fill('#teach-name', taught);
      await page.click('#teach button[type=submit]');
      await page.waitForFunction(() => window.toonidDemo.taught, null, { timeout: 10000 });
      assert.equal(await page.evaluate(() => window.e2eGate.calls), 1, 'teaching names the boxes again once');
      // A click in the box now: it must wait for the naming, not answer with the click search.
      const n = await page.evaluate(() => window.toonidDemo.answers.length);
      const pos = await page.evaluate(([x, y]) => {
        const r = document.querySelector('#media img').getBoundingClientRect(), el = document.querySelector('#media img');
        return { x: r.left + x * r.width / el.naturalWidth, y: r.top + y * r.height / el.naturalHeight };
      }, mid);
      await page.mouse.click(pos.x, pos.y);
      await page.waitForFunction((n) => !document.getElementById('box').hidden && document.getElementById('box').classList.contains('pending') ||
        window.toonidDemo.answers.length > n, n, { timeout: 20000 });
      const early = await page.evaluate((n) => window.toonidDemo.answers.slice(n).map((a) => ({ face: !!a.face, name: a.answers[0]?.name })), n);
      assert.deepEqual(early, [], 'the click in a box being named again was answered before the naming (the click search, or old names)');
      const labels = await page.$$eval('#faces .face .label', (ls) => ls.map((l) => l.textContent));
      assert.ok(labels.length > 0 && labels.every((l) => l === '…'), `boxes being named again keep their place and say "…": ${labels}`);
      await page.screenshot({ path: join(ARTIFACTS, 'faces-renaming.png') });
      // Forget it while that rescan still runs: no second identifyAll is sent meanwhile.
      await page.click('#about-open');
      await page.click(`#taught button[aria-label="Forget ${taught}"]`);
      await page.waitForFunction(() => !document.querySelector('#taught button'));
      await page.keyboard.press('Escape');
      assert.equal(await page.evaluate(() => window.e2eGate.calls), 1, 'a change during a rescan sent another identifyAll at once');
      const scans = await page.evaluate(() => window.toonidDemo.scans);
      await page.evaluate(() => window.e2eGate.release());
      await page.waitForFunction((n) => window.toonidDemo.answers.length > n, n, { timeout: 20000 });
      const got = await page.evaluate((n) => window.toonidDemo.answers.slice(n), n);
      assert.equal(got.length, 1, `one click, ${got.length} answers`);
      assert.ok(got[0].face, 'the waiting click was answered by the click search, not its box');
      assert.notEqual(got[0].answers[0]?.name, taught, 'the waiting click answered with a forgotten name');
      await page.waitForFunction((s) => window.toonidDemo.scans > s, scans, { timeout: 20000 });
      const after = await page.evaluate(() => ({ calls: window.e2eGate.calls, scans: window.toonidDemo.scans, names: window.toonidDemo.faces.list.map((f) => f.answers[0]?.name) }));
      assert.equal(after.calls, 2, 'the held rescan, then one more for the last taught set');
      assert.equal(after.scans, scans + 1, 'only the last rescan is shown');
      assert.ok(!after.names.includes(taught), `the boxes name the forgotten ${taught}: ${after.names}`);
      const shown = await page.$$eval('#faces .face .label', (ls) => ls.map((l) => l.textContent));
      assert.ok(shown.every((l) => l !== '…' && l !== taught), `labels after the rescan: ${shown}`);
      console.log(`     held rescan: click waited, answered ${got[0].answers[0]?.name} from its box; ${after.calls} identifyAll calls, labels ${shown.join(', ')}`);
    } finally {
      await page.evaluate(() => { if (window.e2eGate) { window.e2eGate.release(); window.e2eGate.restore(); } });
    }
  });
  await step('the scalar wasm build (no SIMD) gives the same answer', async () => {
    const p3 = await b.ctx.newPage();
    await p3.goto(srv.url + '?wasm=scalar');
    const info = await ready(p3);
    assert.ok(!info.error, info.error);
    assert.equal(info.wasm, 'toonid.wasm');
    assert.equal(info.info.build, 'scalar');
    await openImage(p3, sc.image);
    const r = await clickImage(p3, face.x, face.y);
    agrees(r, 3);
    await p3.close();
  });
  await b.close();
  b = null;

  await step('a corrupted shard, model and detector are rejected, refetched, and never cached', async () => {
    b = await browser();
    // The first response of each shard and of the model arrives with flipped bytes.
    const served = new Map(), corrupted = new Set();
    await b.ctx.route(/\/v1\/(packs\/default\/[0-9a-f]{64}\.tps|models\/[0-9a-f]{64}\.tmdl)$/, async (route) => {
      const url = route.request().url();
      served.set(url, (served.get(url) || 0) + 1);
      const res = await route.fetch();
      const body = Buffer.from(await res.body());
      if (!corrupted.has(url)) {
        corrupted.add(url);
        for (let i = 0; i < body.length; i += 97) body[i] ^= 0xff;
      }
      await route.fulfill({ response: res, body });
    });
    const p2 = await b.ctx.newPage();
    const warn = [];
    p2.on('console', (m) => warn.push(m.text()));
    await p2.goto(srv.url);
    const info = await ready(p2);
    assert.ok(!info.error, `load failed after a corrupt shard: ${info.error}`);
    // The face detector (build.json names it) is fetched after the page is ready: its corrupt first
    // copy must be caught and refetched as the embedder's is, so the checks below wait for it.
    const detSha = await p2.evaluate(async () => (await (await fetch('build.json')).json()).detector?.sha256);
    assert.ok(detSha, 'build.json names no face detector');
    const det = await p2.evaluate(() => window.toonidDemo.api.detector.then((d) => ({ bytes: d.bytes }), (e) => ({ error: String(e.message || e) })));
    assert.ok(!det.error, `the detector did not load after its corrupt copy: ${det.error}`);
    await p2.evaluate(() => window.toonidDemo.api.cached); // every good copy is stored before the cache is checked
    const detURL = `${srv.url.replace(/\/$/, '')}/v1/models/${detSha}.tmdl`;
    assert.ok(corrupted.has(detURL), `the detector's download ${detURL} was not corrupted: ${[...corrupted]}`);
    assert.ok(corrupted.size >= 3 && [...corrupted].some((u) => u.endsWith('.tmdl') && u !== detURL), `corrupted ${[...corrupted]}`);
    for (const [url, n] of served) assert.ok(n >= 2, `${url} was not refetched after its corrupt copy (${n} responses)`);
    assert.ok(warn.some((w) => /sha256 mismatch/.test(w)), `no sha256 mismatch reported: ${warn.join('\n')}`);
    // Every cached body must hash to its key.
    const bad = await p2.evaluate(async () => {
      const c = await caches.open('toonid-content-v1');
      const out = [];
      for (const req of await c.keys()) {
        const m = req.url.match(/\.toonid-content\/([0-9a-f]{64})$/);
        if (!m) continue;
        const buf = await (await c.match(req)).arrayBuffer();
        const hex = [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf))].map((x) => x.toString(16).padStart(2, '0')).join('');
        const body = [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf.slice(40)))].map((x) => x.toString(16).padStart(2, '0')).join('');
        if (hex !== m[1] && body !== m[1]) out.push(req.url);
      }
      return out;
    });
    assert.deepEqual(bad, [], 'corrupt bytes were cached');
    await openImage(p2, sc.image);
    const r = await clickImage(p2, face.x, face.y);
    agrees(r);
    // A cached detector that went bad (disk damage, a partial write) is dropped and fetched again.
    // The service worker's install re-checks the same cache, so it must be done first.
    await p2.evaluate(() => navigator.serviceWorker.ready);
    await p2.evaluate(async (sha) => {
      const c = await caches.open('toonid-content-v1'), key = `https://toonid.invalid/.toonid-content/${sha}`;
      const buf = new Uint8Array(await (await c.match(key)).arrayBuffer());
      for (let i = 0; i < buf.length; i += 97) buf[i] ^= 0xff;
      await c.put(key, new Response(buf));
    }, detSha);
    await p2.reload();
    assert.ok(!(await ready(p2)).error, 'reload after a corrupt cached detector failed');
    const again = await p2.evaluate(() => window.toonidDemo.api.detector.then((d) => ({ bytes: d.bytes }), (e) => ({ error: String(e.message || e) })));
    assert.ok(!again.error, `the detector did not load after its cached copy went bad: ${again.error}`);
    assert.ok(again.bytes.fromCache === 0 && again.bytes.network > 0, `the bad cached detector was used, not refetched: ${JSON.stringify(again.bytes)}`);
    await p2.evaluate(() => window.toonidDemo.api.cached);
    const good = await p2.evaluate(async (sha) => {
      const buf = await (await (await caches.open('toonid-content-v1')).match(`https://toonid.invalid/.toonid-content/${sha}`)).arrayBuffer();
      return [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf.slice(40)))].map((x) => x.toString(16).padStart(2, '0')).join('');
    }, detSha);
    assert.equal(good, detSha, 'the refetched detector was not cached as a good copy');
  });
  if (failures.length) {
    console.log(`test-browser: ${failures.length} of ${results.length + failures.length} steps FAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log(`test-browser: all ${results.length} passed; screenshot in test-artifacts/answer-card.png`);
  }
} finally {
  if (b) await b.close();
  srv.stop();
}
