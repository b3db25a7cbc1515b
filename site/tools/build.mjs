// Finishes build/site after make has copied the files: writes build.json (the wasm builds with
// their sha256, which worker.js verifies) and stamps sw.js with a hash of the shell.
// usage: node site/tools/build.mjs build/site
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) { console.error('usage: build.mjs SITE_DIR'); process.exit(2); }
const sha = (b) => createHash('sha256').update(b).digest('hex');
const entry = (file) => ({ file, sha256: sha(readFileSync(join(dir, file))), bytes: statSync(join(dir, file)).size });

// BRIDGE must match worker.js and wasm/bridge.Version.
const build = { bridge: 2, wasm: { simd: entry('toonid-simd.wasm'), scalar: entry('toonid.wasm') } };
writeFileSync(join(dir, 'build.json'), JSON.stringify(build, null, 1) + '\n');

const shell = ['index.html', 'app.js', 'verdict.js', 'md.js', 'sniff.js', 'taught.js', 'favicon.svg', 'toonid.js', 'worker.js', 'assets.js', 'wasm_exec.js', 'style.css', 'build.json', 'CREDITS.md']
  .map((f) => sha(readFileSync(join(dir, f)))).join('');
const sw = readFileSync(join(dir, 'sw.js'), 'utf8').replace('@BUILD@', sha(shell).slice(0, 16));
writeFileSync(join(dir, 'sw.js'), sw);
console.log(`site: ${dir}/build.json: simd ${build.wasm.simd.bytes} B, scalar ${build.wasm.scalar.bytes} B`);
