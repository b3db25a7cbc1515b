// Browser test of the collect review page (make test-collect-page): `toonid collect propose` on
// SuperTux sprites of two characters, then headless Chromium opens REVIEWDIR/review.html from
// file:// (the hard case: no fetch, no module scripts), names the clusters with the keyboard,
// unticks a crop, rejects nothing, exports labels.tsv and checks it; a reload keeps the work;
// `toonid collect apply` accepts the export.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { ROOT, BUILD, browser, steps } from './lib.mjs';

const bin = process.env.TOONID_BIN || join(BUILD, 'bin', 'toonid');
const work = mkdtempSync(join(tmpdir(), 'toonid-review-'));
const frames = join(work, 'frames');
const review = join(work, 'review');
mkdirSync(frames);
const sprites = ['owl_left-0', 'owl_left-1', 'owl_left-2', 'owl_left-3', 'mr_bomb_bomb1', 'mr_bomb_bomb3', 'mr_bomb_bomb5', 'mr_bomb_bomb7'];
for (const s of sprites) copyFileSync(join(ROOT, 'tools', 'gallery', 'img', 'supertux', `${s}.png`), join(frames, `${s}.png`));

function toonid(...args) {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `toonid ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r;
}

// Each step builds on the one before, so the first failure ends the run.
const { step: runStep, results, failures } = steps();
const step = (name, fn) => runStep(name, fn, { fatal: true });

const character = (path) => (path.startsWith('owl') ? 'Owl' : 'Mr. Bomb');
let b;
try {
  toonid('collect', 'propose', '-in', frames, '-o', review, '-grid', '1');
  const P = JSON.parse(readFileSync(join(review, 'proposals.json'), 'utf8'));
  assert.equal(P.clusters.length, 2, 'want two clusters (owl, Mr. Bomb)');
  b = await browser();
  const page = await b.ctx.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  const url = pathToFileURL(join(review, 'review.html')).href;

  await step('review.html opened from file:// shows every cluster and thumbnail', async () => {
    await page.goto(url);
    await page.waitForSelector('.cluster');
    assert.equal(await page.locator('.cluster').count(), P.clusters.length, logs.join('\n'));
    const members = P.clusters.reduce((n, c) => n + c.members.length, 0);
    assert.equal(await page.locator('.m img').count(), members);
    await page.waitForFunction(() => [...document.querySelectorAll('.m img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
    assert.match(await page.textContent('#progress'), /2 clusters.*0 named, 0 rejected, 2 to do/);
    assert.ok(!logs.some((l) => l.startsWith('[pageerror]')), logs.join('\n'));
  });

  let unticked;
  await step('keyboard: name both clusters, untick one crop', async () => {
    // The first cluster is current and focused on load.
    for (const c of P.clusters) {
      await page.keyboard.press('n');
      await page.keyboard.type(character(c.members[0].path));
      await page.keyboard.press('Enter'); // keeps the name, moves on
    }
    const last = P.clusters.at(-1);
    unticked = last.members.at(-1).id;
    await page.locator(`.m[data-id="${unticked}"] input`).focus();
    await page.keyboard.press('Space');
    assert.equal(await page.locator(`.m[data-id="${unticked}"]`).getAttribute('class'), 'm off');
    assert.match(await page.textContent('#progress'), /2 named, 0 rejected, 0 to do/);
  });

  let tsv;
  await step('e exports labels.tsv: run stamp, header, ticked crops of named clusters', async () => {
    await page.locator('.cluster').first().focus();
    const [dl] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('e')]);
    assert.equal(dl.suggestedFilename(), 'labels.tsv');
    tsv = readFileSync(await dl.path(), 'utf8');
    const lines = tsv.trim().split('\n');
    assert.equal(lines[0], `# toonid-collect-labels run=${P.run}`);
    assert.equal(lines[1], 'proposal\tidentity\tname\tseries\tcredit');
    const rows = lines.slice(2).map((l) => l.split('\t'));
    const members = P.clusters.flatMap((c) => c.members);
    assert.equal(rows.length, members.length - 1);
    assert.ok(!rows.some((r) => r[0] === unticked), 'the unticked crop was exported');
    for (const [id, identity, name] of rows) {
      const m = members.find((x) => x.id === id);
      assert.equal(name, character(m.path));
      assert.equal(identity, name === 'Owl' ? 'owl' : 'mr-bomb');
    }
  });

  await step('a reload keeps the work (localStorage, per run)', async () => {
    await page.reload();
    await page.waitForSelector('.cluster.named');
    assert.equal(await page.locator('.cluster.named').count(), 2);
    assert.equal(await page.locator('.m.off').count(), 1);
    assert.equal(await page.evaluate(() => window.toonidReview.labelsTSV()), tsv);
  });

  await step('x rejects a cluster and u brings it back', async () => {
    await page.locator('.cluster').first().focus();
    await page.keyboard.press('x');
    assert.equal(await page.locator('.cluster.rejected').count(), 1);
    await page.locator('.cluster').first().focus();
    await page.keyboard.press('u');
    assert.equal(await page.locator('.cluster.rejected').count(), 0);
  });

  await step('toonid collect apply accepts the export', async () => {
    const labels = join(work, 'labels.tsv');
    writeFileSync(labels, tsv);
    const r = toonid('collect', 'apply', '-review', review, '-labels', labels, '-o', join(work, 'gallery'));
    assert.match(r.stderr, /of 2 characters/);
  });
} finally {
  await b?.close();
  rmSync(work, { recursive: true, force: true });
}
console.log(`review page: ${results.length} steps passed${failures.length ? `, ${failures.length} failed` : ''}`);
process.exit(failures.length ? 1 : 0);
