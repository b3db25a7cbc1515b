// Browser test of the review page on a video (make test-collect-page): ffmpeg composites two
// characters of the repo's art (a SuperTux owl, a Tuxemon bigfin) crossing a gradient into an
// MPEG-4 clip, `toonid collect propose -in clip.mp4` decodes, detects and tracks, and headless
// Chromium opens review.html from file://: one card per track with its crops as a strip in time
// order, one name per track; the export labels every crop of a track with its track's name, and
// `toonid collect apply` writes them to gallery.tsv. Screenshot: test-artifacts/review/tracks.png.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { ROOT, BUILD, browser, steps } from './lib.mjs';

const bin = process.env.TOONID_BIN || join(BUILD, 'bin', 'toonid');
const work = mkdtempSync(join(tmpdir(), 'toonid-review-video-'));
const review = join(work, 'review');
const clip = join(work, 'clip.mp4');
const shots = join(ROOT, 'test-artifacts', 'review');
mkdirSync(shots, { recursive: true });

function run(cmd, ...args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: exit ${r.status}\n${r.error || ''}${r.stderr}`);
  return r;
}

const { step: runStep, results, failures } = steps();
const step = (name, fn) => runStep(name, fn, { fatal: true });

// 16 frames at 8 fps: the owl along the top left to right, the bigfin along the bottom right to left.
const FRAMES = 16, FPS = 8, SPLIT = 160;
const art = join(ROOT, 'tools', 'gallery', 'img');
let b;
try {
  run('ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-f', 'lavfi', '-i', `gradients=s=480x320:c0=0x87b5e8:c1=0x9ccf7a:x0=0:y0=0:x1=0:y1=320:d=2:r=${FPS}:speed=0.00001`,
    '-i', join(art, 'supertux', 'owl_left-0.png'), '-i', join(art, 'tuxemon', 'bigfin_front.png'),
    '-filter_complex', "[1]scale=120:120[a];[2]scale=120:120[b];[0][a]overlay=x='8+t*170':y=20[t];[t][b]overlay=x='352-t*170':y=180,format=yuv420p",
    '-frames:v', String(FRAMES), '-c:v', 'mpeg4', '-q:v', '3', clip);
  run(bin, 'collect', 'propose', '-in', clip, '-o', review, '-fps', String(FPS));
  const P = JSON.parse(readFileSync(join(review, 'proposals.json'), 'utf8'));
  assert.equal(P.params.video.frames, FRAMES);
  assert.equal(P.clusters.length, 2, `want two tracks (owl, bigfin), got ${P.clusters.length}`);
  assert.ok(P.clusters.every((c) => c.track), 'every cluster is a track');
  const who = (m) => (m.box[1] + m.box[3] / 2 < SPLIT ? 'Owl' : 'Bigfin');
  for (const c of P.clusters) assert.equal(new Set(c.members.map(who)).size, 1, `${c.id} mixes the two paths`);

  b = await browser();
  const page = await b.ctx.newPage();
  await page.setViewportSize({ width: 1100, height: 700 });
  const logs = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));

  await step('review.html shows one card per track, crops as a strip in time order with their times', async () => {
    await page.goto(pathToFileURL(join(review, 'review.html')).href);
    await page.waitForSelector('.cluster');
    assert.equal(await page.locator('.cluster').count(), 2, logs.join('\n'));
    assert.equal(await page.locator('.members.strip').count(), 2);
    assert.match(await page.textContent('#progress'), /2 tracks, \d+ crops from 16 frames of clip\.mp4/);
    for (const [i, c] of P.clusters.entries()) {
      const card = page.locator('.cluster').nth(i);
      assert.match(await card.locator('h2').textContent(), /track 0:\d\d\.\d–0:\d\d\.\d, face in \d+ frames: \d+ crops shown/);
      const times = await card.locator('.m .at').allTextContents();
      assert.equal(times.length, c.members.length);
      assert.deepEqual([...times].sort(), times, 'crops in time order');
    }
    // Thumbnails load lazily; those scrolled out of a strip never would in a headless window, so
    // make them eager here: the check is that every crop file the page names decodes.
    await page.evaluate(() => document.querySelectorAll('.m img').forEach((i) => { i.loading = 'eager'; }));
    await page.waitForFunction(() => [...document.querySelectorAll('.m img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
    await page.screenshot({ path: join(shots, 'tracks.png') });
    assert.ok(!logs.some((l) => l.startsWith('[pageerror]')), logs.join('\n'));
  });

  let tsv;
  await step('one name per track labels all its crops in the export', async () => {
    for (const c of P.clusters) {
      await page.keyboard.press('n');
      await page.keyboard.type(who(c.members[0]));
      await page.keyboard.press('Enter');
    }
    await page.locator('.cluster').first().focus();
    const [dl] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('e')]);
    tsv = readFileSync(await dl.path(), 'utf8');
    const rows = tsv.trim().split('\n').slice(2).map((l) => l.split('\t'));
    const members = P.clusters.flatMap((c) => c.members);
    assert.equal(rows.length, members.length, 'every crop of both tracks exported');
    for (const [id, , name] of rows) assert.equal(name, who(members.find((m) => m.id === id)));
  });

  await step('toonid collect apply writes both characters to gallery.tsv', async () => {
    const labels = join(work, 'labels.tsv');
    writeFileSync(labels, tsv);
    const gallery = join(work, 'gallery');
    const r = run(bin, 'collect', 'apply', '-review', review, '-labels', labels, '-o', gallery);
    assert.match(r.stderr, /of 2 characters/);
    const g = readFileSync(join(gallery, 'gallery.tsv'), 'utf8').trim().split('\n').filter((l) => !l.startsWith('#')).slice(1);
    assert.equal(g.length, P.clusters.reduce((n, c) => n + c.members.length, 0));
  });
} finally {
  await b?.close();
  rmSync(work, { recursive: true, force: true });
}
console.log(`review page on a video: ${results.length} steps passed${failures.length ? `, ${failures.length} failed` : ''}`);
process.exit(failures.length ? 1 : 0);
