// Finishes build/site after make has copied the files: writes build.json and stamps the two
// workers, so what they must agree on is written once:
//   - bridge: the wasm message protocol version, read from wasm/bridge.Version (Go); worker.js is
//     stamped with it (@BRIDGE@) and refuses a build.json or wasm module of another version;
//   - shell: the files the page needs offline, precached by sw.js (listed here only), and the
//     example pictures make copied into examples/ (site/rules.mk EXAMPLES, listed there only);
//   - embed: the files a page on another origin hosts to use toonid.js and overlay.js;
//   - wasm: both builds with their sha256, which worker.js and sw.js verify;
//   - detector: the face detector's model checksum and size (--detector), fetched from the store.
// sw.js is stamped with a hash of the shell (@BUILD@), so a new build gets a new shell cache.
// usage: node site/tools/build.mjs build/site
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, statSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...opts] = process.argv.slice(2);
if (!dir) { console.error('usage: build.mjs SITE_DIR [--detector <model checksum>:<bytes>]'); process.exit(2); }
// --detector: the face detector's content address (`toonid checksum`, model/FORMAT.md) and size;
// the page fetches it from the store like the embedder (assets.js detectorURL).
let detector;
for (let i = 0; i < opts.length; i++) {
  const m = opts[i] === '--detector' && /^([0-9a-f]{64}):(\d+)$/.exec(opts[i + 1] || '');
  if (!m) { console.error(`build.mjs: bad option ${JSON.stringify(opts.slice(i, i + 2).join(' '))}: want --detector <sha256>:<bytes>`); process.exit(2); }
  detector = { sha256: m[1], bytes: Number(m[2]) };
  i++;
}
const sha = (b) => createHash('sha256').update(b).digest('hex');
const entry = (file) => ({ file, sha256: sha(readFileSync(join(dir, file))), bytes: statSync(join(dir, file)).size });

const bridgeGo = new URL('../../wasm/bridge/bridge.go', import.meta.url);
const v = /^const Version = (\d+)$/m.exec(readFileSync(bridgeGo, 'utf8'));
if (!v) { console.error(`build.mjs: no "const Version = N" line in ${bridgeGo.pathname}`); process.exit(1); }
const bridge = Number(v[1]);

// The page shell: what index.html loads (and sw.js serves offline), besides the scope URL itself.
const shell = ['index.html', 'app.js', 'verdict.js', 'md.js', 'sniff.js', 'taught.js', 'packio.js', 'favicon.svg', 'toonid.js', 'worker.js', 'worker-live.js', 'live.js', 'live-ui.js', 'assets.js', 'wasm_exec.js', 'style.css', 'build.json', 'CREDITS.md'];
// "Try an example" (the pictures and their thumbnails): whatever make put in examples/.
const examples = existsSync(join(dir, 'examples')) ? readdirSync(join(dir, 'examples')).sort().map((f) => `examples/${f}`) : [];
const offline = [...shell, ...examples];

// What a page on another origin hosts beside itself to use toonid.js and overlay.js with the store
// elsewhere (site/README "Overlay from another origin"): the API, its workers and what they load.
const embed = ['toonid.js', 'worker.js', 'worker-live.js', 'wasm_exec.js', 'assets.js', 'build.json', 'toonid-simd.wasm', 'toonid.wasm', 'overlay.js', 'verdict.js', 'live-ui.js', 'live.js'];

const stamp = (file, from, to) => {
  const src = readFileSync(join(dir, file), 'utf8');
  if (!src.includes(from)) { console.error(`build.mjs: ${file} has no ${from} to stamp`); process.exit(1); }
  writeFileSync(join(dir, file), src.replaceAll(from, to));
};
stamp('worker.js', '@BRIDGE@', String(bridge));

const build = { bridge, shell: offline, embed, wasm: { simd: entry('toonid-simd.wasm'), scalar: entry('toonid.wasm') }, ...(detector && { detector }) };
writeFileSync(join(dir, 'build.json'), JSON.stringify(build, null, 1) + '\n');

stamp('sw.js', '@BUILD@', sha(offline.map((f) => sha(readFileSync(join(dir, f)))).join('')).slice(0, 16));
console.log(`site: ${dir}/build.json: bridge ${bridge}, ${shell.length} shell files + ${examples.length} examples, simd ${build.wasm.simd.bytes} B, scalar ${build.wasm.scalar.bytes} B, detector ${detector ? `${detector.sha256.slice(0, 12)}… ${detector.bytes} B` : 'none'}`);
