// detect_sprites.mjs renders the DiceBear part of the detector's sprite bank: characters of the
// training styles (dicebear_gen.mjs, which refuses the reserved ones) on a transparent background,
// canonical framing (no rotation, zoom or shift: detect_data.py poses them itself), expression
// varied by variant. The face box of each style is a fixed layout (FACE_LAYOUT in detect_data.py).
//
// usage: node detect_sprites.mjs --out DIR --first N --count K [--size 192] [--shard i/n]
// writes DIR/<style>/c<id>.png and DIR/sprites-<shard>.tsv rows "path\tstyle\tid".
import { avatarSVG, character, TRAIN_STYLES } from './dicebear_gen.mjs';
import { Resvg } from '@resvg/resvg-js';
import fs from 'node:fs';
import path from 'node:path';

const a = { out: null, first: 0, count: 10, size: 192, shard: '0/1', styles: TRAIN_STYLES.join(',') };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, '');
  if (!(k in a)) throw new Error(`detect_sprites: unknown flag ${argv[i]}`);
  a[k] = argv[i + 1];
}
if (!a.out) throw new Error('detect_sprites: --out is required');
const [si, sn] = a.shard.split('/').map(Number);
const styles = a.styles.split(',');
const rows = [];
for (const s of styles) fs.mkdirSync(path.join(a.out, s), { recursive: true });
for (let id = Number(a.first); id < Number(a.first) + Number(a.count); id++) {
  if (id % sn !== si) continue;
  const c = character(id);
  for (const s of styles) {
    const svg = avatarSVG(s, c, 1 + (id % 3), { backgroundColor: ['transparent'], rotate: 0, scale: 100,
      translateX: 0, translateY: 0, flip: false });
    const png = new Resvg(svg, { fitTo: { mode: 'width', value: Number(a.size) } }).render().asPng();
    const rel = `${s}/c${id}.png`;
    fs.writeFileSync(path.join(a.out, rel), png);
    rows.push(`${rel}\t${s}\t${id}`);
  }
}
fs.writeFileSync(path.join(a.out, `sprites-${si}.tsv`), rows.join('\n') + (rows.length ? '\n' : ''));
