// Unit tests of the seams the two workers share (make test-site-unit): assets.js's model
// checksum against the Go fixtures, contentURLs, checkBuild, and site/tools/build.mjs writing
// the bridge version and shell once. No browser, no wasm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const SITE = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = join(SITE, '..');

// assets.js is a classic script (importScripts): run it in a context of its own.
function assets() {
  const ctx = vm.createContext({ console, URL, Response, crypto, caches: { open: async () => ({ match: async () => undefined, put: async () => {} }) } });
  vm.runInContext(readFileSync(join(SITE, 'assets.js'), 'utf8'), ctx);
  return (expr, vars = {}) => { Object.assign(ctx, vars); return vm.runInContext(expr, ctx); };
}

// model/testdata/checksums.txt is the list model.Checksum is tested on (model/checksum_test.go):
// the JS implementation of the same FORMAT.md rule must give every one of its answers.
test('assets.js modelChecksum agrees with model.Checksum on the fixture files', async () => {
  const run = assets();
  const dir = join(REPO, 'model', 'testdata');
  const lines = readFileSync(join(dir, 'checksums.txt'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  assert.ok(lines.length > 0);
  for (const line of lines) {
    const [want, name] = line.split('  ');
    const buf = new Uint8Array(readFileSync(join(dir, name))).buffer;
    assert.equal(await run('modelChecksum(buf)', { buf }), want, name);
    assert.equal(await run('modelDigest(buf)', { buf }), want, name);
    assert.notEqual(await run('sha256Hex(buf)', { buf }), want, `${name}: the address is not the whole file's sha256`);
  }
});

// The same refusals as TestChecksumRefuses.
test('assets.js modelChecksum refuses what model.Checksum refuses', async () => {
  const run = assets();
  const good = new Uint8Array(readFileSync(join(REPO, 'model', 'testdata', 'tiny_v2_f32.tmdl')));
  const mut = (f) => { const b = good.slice(); f(b); return b.buffer; };
  const reseal = async (b) => { new Uint8Array(b).set(new Uint8Array(await crypto.subtle.digest('SHA-256', b.slice(40))), 8); return b; };
  const cases = [
    ['empty', new ArrayBuffer(0), /shorter than/],
    ['header only', good.slice(0, 60).buffer, /shorter than/],
    ['flipped byte after 40', mut((b) => { b[b.length - 1] ^= 1; }), /sha256 mismatch/],
    ['flipped stored sum', mut((b) => { b[8] ^= 1; }), /sha256 mismatch/],
    ['bad magic', mut((b) => { b[0] = 0x58; }), /bad magic/],
    ['version 3 resealed', await reseal(mut((b) => { b[4] = 3; })), /version 3/],
  ];
  for (const [name, buf, want] of cases) {
    await assert.rejects(run('modelChecksum(buf)', { buf }), want, name);
    assert.match(await run('modelDigest(buf)', { buf }), /^none \(/, `${name}: the digest names no file`);
  }
});

test('assets.js contentURLs: one list for worker.js and sw.js', () => {
  const run = assets();
  const build = { wasm: { simd: { file: 'toonid-simd.wasm', sha256: '1'.repeat(64), bytes: 10 }, scalar: { file: 'toonid.wasm', sha256: '2'.repeat(64), bytes: 9 } } };
  const m = run('parseManifest(doc)', { doc: { format: 'toonid-pack', version: 1, model_sha256: 'a'.repeat(64),
    shards: [{ file: `${'b'.repeat(64)}.tps`, sha256: 'b'.repeat(64), bytes: 5 }], ivf: { file: `${'c'.repeat(64)}.ivf`, sha256: 'c'.repeat(64) } } });
  const files = run('contentURLs(a)', { a: { build, m, siteURL: 'https://site.test/demo/', base: 'https://store.test/v1/', pack: 'my pack', simd: false } });
  assert.deepEqual(JSON.parse(JSON.stringify(files.map((f) => [f.what, f.url, f.sha256]))), [
    ['wasm', 'https://site.test/demo/toonid.wasm', '2'.repeat(64)],
    ['model', `https://store.test/v1/models/${'a'.repeat(64)}.tmdl`, 'a'.repeat(64)],
    [`shard ${'b'.repeat(64)}.tps`, `https://store.test/v1/packs/my%20pack/${'b'.repeat(64)}.tps`, 'b'.repeat(64)],
    [`shard ${'c'.repeat(64)}.ivf`, `https://store.test/v1/packs/my%20pack/${'c'.repeat(64)}.ivf`, 'c'.repeat(64)],
  ]);
  assert.equal(files[1].digest, run('modelDigest'), 'the model is verified by its checksum');
  assert.ok(files.filter((f) => f.what !== 'model').every((f) => f.digest === run('sha256Hex')));
  // A relative base is resolved against the page, as the page's load({base}) is.
  const rel = run('contentURLs(a)', { a: { build, m, siteURL: 'https://site.test/demo/', base: '/v1/', pack: 'default', simd: true } });
  assert.equal(rel[0].url, 'https://site.test/demo/toonid-simd.wasm');
  assert.equal(rel[1].url, `https://site.test/v1/models/${'a'.repeat(64)}.tmdl`);
});

test('assets.js checkBuild: the bridge version and the shell list are required', () => {
  const run = assets();
  const w = { file: 'x.wasm', sha256: '1'.repeat(64) };
  const ok = { bridge: 3, shell: ['index.html', 'app.js', 'examples/a.thumb.jpg'], wasm: { simd: w, scalar: w } };
  run('checkBuild(doc)', { doc: ok });
  for (const [doc, want] of [
    [{ ...ok, bridge: undefined }, /bridge version/],
    [{ ...ok, shell: undefined }, /shell/],
    [{ ...ok, shell: ['../x'] }, /shell/],
    [{ ...ok, shell: ['.hidden'] }, /shell/],
    [{ ...ok, shell: ['examples/../x'] }, /shell/],
    [{ ...ok, shell: ['examples/.x'] }, /shell/],
    [{ ...ok, shell: ['a/b/c.jpg'] }, /shell/],
    [{ ...ok, shell: ['/abs.jpg'] }, /shell/],
  ]) assert.throws(() => run('checkBuild(doc)', { doc }), want);
});

// build.mjs writes the Go bridge version into build.json and worker.js, and the shell it lists
// is what sw.js precaches: every entry is a site file or one make adds (wasm_exec.js, CREDITS.md,
// build.json itself, the example pictures in examples/).
test('site/tools/build.mjs: bridge version from wasm/bridge.Version, worker.js stamped, shell listed once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toonid-build-'));
  try {
    const made = new Set(['wasm_exec.js', 'CREDITS.md', 'build.json']);
    const listed = readFileSync(join(SITE, 'tools', 'build.mjs'), 'utf8').match(/const shell = (\[[^\]]*\])/)[1];
    for (const f of JSON.parse(listed.replaceAll("'", '"'))) {
      if (made.has(f)) writeFileSync(join(dir, f), `made ${f}`);
      else copyFileSync(join(SITE, f), join(dir, f));
    }
    copyFileSync(join(SITE, 'sw.js'), join(dir, 'sw.js'));
    writeFileSync(join(dir, 'toonid-simd.wasm'), 'simd');
    writeFileSync(join(dir, 'toonid.wasm'), 'scalar');
    mkdirSync(join(dir, 'examples'));
    for (const f of ['b.jpg', 'b.thumb.jpg', 'a.jpg']) writeFileSync(join(dir, 'examples', f), f);
    execFileSync(process.execPath, [join(SITE, 'tools', 'build.mjs'), dir]);
    const build = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8'));
    const goVersion = Number(/^const Version = (\d+)$/m.exec(readFileSync(join(REPO, 'wasm', 'bridge', 'bridge.go'), 'utf8'))[1]);
    assert.equal(build.bridge, goVersion);
    assert.ok(readFileSync(join(dir, 'worker.js'), 'utf8').includes(`const BRIDGE_VERSION = Number('${goVersion}');`));
    assert.doesNotMatch(readFileSync(join(dir, 'sw.js'), 'utf8'), /@BUILD@/);
    assert.doesNotMatch(readFileSync(join(SITE, 'sw.js'), 'utf8'), /const SHELL\b/, 'sw.js reads the shell from build.json');
    assert.equal(build.wasm.scalar.bytes, 6);
    assert.ok(build.shell.includes('index.html') && build.shell.includes('worker.js'));
    assert.deepEqual(build.shell.filter((f) => f.startsWith('examples/')), ['examples/a.jpg', 'examples/b.jpg', 'examples/b.thumb.jpg'], 'the examples make copied are precached');
    assets()('checkBuild(doc)', { doc: build });
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

// pack/FORMAT.md "Thumbnails": a label's thumbnail is <sha256>.jpg; the sha256 is what the worker
// verifies the bytes against, and a manifest naming anything else is refused (as Go's Validate does).
test('assets.js thumbnails: <sha256>.jpg only, the sha256 taken from the name', () => {
  const run = assets();
  const sha = 'd'.repeat(64);
  assert.equal(run('thumbnailSHA256(n)', { n: `${sha}.jpg` }), sha);
  const doc = (thumbnail) => ({ format: 'toonid-pack', version: 1, model_sha256: 'a'.repeat(64),
    labels: [{ id: 'x', name: 'X', thumbnail }], shards: [{ file: `${'b'.repeat(64)}.tps`, sha256: 'b'.repeat(64), bytes: 5 }] });
  run('parseManifest(doc)', { doc: doc(`${sha}.jpg`) });
  run('parseManifest(doc)', { doc: doc('') }); // none is fine
  for (const bad of ['red.jpg', `${'D'.repeat(64)}.jpg`, `${sha}.png`, `../${sha}.jpg`, `${sha}.jpg?x`]) {
    assert.throws(() => run('parseManifest(doc)', { doc: doc(bad) }), /thumbnail .* is not <sha256>\.jpg/, bad);
  }
});
