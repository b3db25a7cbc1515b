// Renders site/favicon.svg to the extension's PNG icons (16, 32, 48, 128 px) with resvg, so the
// icon is drawn once, as the page's favicon, and never kept as binary files in the repo.
// usage: node site/tools/icons.mjs OUT_DIR
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';

const out = process.argv[2];
if (!out) { console.error('usage: icons.mjs OUT_DIR'); process.exit(2); }
mkdirSync(out, { recursive: true });
const svg = readFileSync(join(dirname(new URL(import.meta.url).pathname), '..', 'favicon.svg'));
for (const n of [16, 32, 48, 128]) {
  writeFileSync(join(out, `icon-${n}.png`), new Resvg(svg, { fitTo: { mode: 'width', value: n } }).render().asPng());
}
console.log(`icons: ${out}/icon-{16,32,48,128}.png`);
