// Browser test of taught characters as a pack (make test-browser-pack): in headless Chromium,
// teach a character in one browser, export it as a pack archive (built by the wasm's Go pack
// writer), import it in a fresh browser profile and identify it there; truncated and corrupted
// files are refused with a clear message and lose nothing already taught; `toonid pack import`
// puts the same file in a store and `toonid serve` serves it. Runs on the dev store (TOONID_STORE).
// Screenshot: test-artifacts/pack/about.png.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ROOT, BUILD, serve, browser, steps, ready, openImage, clickImage } from './lib.mjs';

const bin = process.env.TOONID_BIN || join(BUILD, 'bin', 'toonid');
const work = mkdtempSync(join(tmpdir(), 'toonid-packio-'));
const shots = join(ROOT, 'test-artifacts', 'pack');
mkdirSync(shots, { recursive: true });
// A character the dev pack does not hold: Carrot (Pepper&Carrot, 160x160) from the repo's art.
const picture = join(ROOT, 'tools', 'gallery', 'img', 'peppercarrot', 'carrot_cover0.jpg');
const NAME = 'Pack Carrot';

const { step, results, failures } = steps();
const toonid = (...args) => {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `toonid ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r;
};

async function openPage(b, url) {
  const page = await b.ctx.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  await page.goto(url);
  const info = await ready(page);
  assert.ok(!info.error, `load failed: ${info.error}\n${logs.join('\n')}`);
  return { page, logs };
}

// importFile picks a file in About's import input and returns the status line it leads to.
async function importFile(page, file) {
  await page.evaluate(() => { document.getElementById('taught-io').textContent = ''; });
  await page.setInputFiles('#taught-import', file);
  await page.waitForFunction(() => document.getElementById('taught-io').textContent !== '', null, { timeout: 20000 });
  return page.textContent('#taught-io');
}

// taughtCount is the number of characters About lists (each with a Forget button).
async function taughtCount(page) {
  await page.evaluate(() => { const d = document.getElementById('about'); if (d.open) d.close(); });
  await page.click('#about-open');
  await page.waitForFunction(() => document.querySelector('#taught li'), null, { timeout: 10000 });
  await page.waitForTimeout(300); // listTaught replaces the list once the worker answers
  const n = await page.locator('#taught li button').count();
  await page.evaluate(() => document.getElementById('about').close());
  return n;
}

const srv = await serve();
let a, b, srv2;
try {
  let archive;
  await step('browser A: teach a character, export it as a pack (one file)', async () => {
    a = await browser();
    const { page } = await openPage(a, srv.url);
    await openImage(page, picture);
    const before = await clickImage(page, 80, 80);
    assert.notEqual(before.answers[0]?.name, NAME);
    await page.fill('#teach-name', NAME);
    await page.click('#teach button[type=submit]');
    await page.waitForFunction(() => window.toonidDemo.taught, null, { timeout: 20000 });
    await page.click('#about-open');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#taught-export-pack')]);
    assert.equal(dl.suggestedFilename(), 'taught.toonid-pack.tar');
    archive = join(work, dl.suggestedFilename());
    writeFileSync(archive, readFileSync(await dl.path()));
    await page.waitForFunction(() => /as a pack/.test(document.getElementById('taught-io').textContent));
    await page.locator('#about').screenshot({ path: join(shots, 'about.png') });
    const tar = readFileSync(archive);
    assert.equal(tar.subarray(257, 262).toString(), 'ustar');
    assert.ok(tar.includes('manifest.json') && tar.includes('SHA256SUMS'), 'a tar of the pack files, manifest and sums');
  }, { fatal: true });

  await step('toonid pack import puts the file in a store; toonid serve serves it', async () => {
    const store = join(work, 'store');
    cpSync(process.env.TOONID_STORE || join(BUILD, 'store'), store, { recursive: true });
    toonid('pack', 'import', archive, '-store', store);
    const inspect = toonid('pack', 'inspect', join(store, 'packs', 'taught')).stdout;
    assert.match(inspect, new RegExp(NAME));
    srv2 = await serve({ store });
    const res = await fetch(`${srv2.url}v1/packs/taught/manifest.json`);
    assert.equal(res.status, 200);
    const m = await res.json();
    assert.equal(m.format, 'toonid-pack');
    assert.deepEqual(m.labels.map((l) => l.name), [NAME]);
    for (const s of m.shards) assert.equal((await fetch(`${srv2.url}v1/packs/taught/${s.file}`)).status, 200);
  });

  let pageB;
  await step('browser B (fresh profile): import the pack, then the character is named', async () => {
    b = await browser();
    ({ page: pageB } = await openPage(b, srv.url));
    await openImage(pageB, picture);
    const before = await clickImage(pageB, 80, 80);
    assert.notEqual(before.answers[0]?.name, NAME, 'B knows the character before the import');
    const status = await importFile(pageB, archive);
    assert.match(status, new RegExp(`Imported ${NAME} \\(\\d+\\)`));
    const after = await clickImage(pageB, 80, 80);
    assert.equal(after.answers[0].name, NAME, JSON.stringify(after.answers.slice(0, 3)));
    assert.equal(after.unknown, false);
    const after2 = await clickImage(pageB, 70, 90); // another point: the click search finds it again
    assert.equal(after2.answers[0].name, NAME);
  }, { fatal: true });

  await step('truncated and corrupted files are refused with a clear error; nothing taught is lost', async () => {
    const tar = readFileSync(archive);
    const cut = join(work, 'cut.tar');
    writeFileSync(cut, tar.subarray(0, Math.floor(tar.length / 2)));
    assert.match(await importFile(pageB, cut), /Could not import: .*not a complete pack archive.*truncated/);
    const flipped = Buffer.from(tar);
    const at = tar.indexOf('"name"'); // a byte of the manifest: only SHA256SUMS can tell
    flipped[at + 9] ^= 0x20;
    const bad = join(work, 'flipped.tar');
    writeFileSync(bad, flipped);
    assert.match(await importFile(pageB, bad), /Could not import: .*SHA256SUMS does not match/);
    const r = await clickImage(pageB, 80, 80);
    assert.equal(r.answers[0].name, NAME, 'the character taught before is still named');
    assert.equal(await taughtCount(pageB), 1);
  });

  await step('importing the same file again adds no twin', async () => {
    assert.match(await importFile(pageB, archive), /Imported/);
    assert.equal(await taughtCount(pageB), 1);
  });
} finally {
  await a?.close();
  await b?.close();
  srv.stop();
  srv2?.stop();
  rmSync(work, { recursive: true, force: true });
}
console.log(`taught characters as a pack: ${results.length} steps passed${failures.length ? `, ${failures.length} failed` : ''}`);
process.exit(failures.length ? 1 : 0);
