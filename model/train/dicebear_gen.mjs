// dicebear_gen.mjs renders cross-style DiceBear identities: one character is a set of
// style-independent attributes (skin, hair colour and class, eye colour, glasses, facial hair,
// headwear, earrings, clothing colour), drawn in every requested style with the closest options.
// Expression, pose, scale and background vary per image; the identity does not.
//
// usage: node dicebear_gen.mjs --out DIR --first N --count K --variants V
//          [--styles a,b,...] [--size 112] [--shard i/n]
// It writes DIR/<style>/c<id>_v<k>.png and appends rows "path\tidentity\tstyle\tvariant" to
// DIR/manifest-<shard>.tsv (paths relative to DIR). Output is a pure function of the arguments.
import { createAvatar } from '@dicebear/core';
import * as collection from '@dicebear/collection';
import { Resvg } from '@resvg/resvg-js';
import fs from 'node:fs';
import path from 'node:path';

// Styles reserved for outside evaluation. Refusing them here keeps a typo from leaking them
// into training data.
const RESERVED = new Set(['bigEars', 'bigEarsNeutral', 'dylan', 'openPeeps', 'pixelArt', 'pixelArtNeutral']);
export const TRAIN_STYLES = ['adventurer', 'avataaars', 'bigSmile', 'croodles', 'lorelei', 'micah',
  'miniavs', 'notionists', 'personas', 'toonHead'];

// mulberry32: small deterministic PRNG, so a character id always yields the same attributes.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
const pick = (r, a) => a[Math.floor(r() * a.length) % a.length];
const hex = (rgb) => rgb.map((v) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, '0')).join('');
function jitter(r, rgb, d) { return rgb.map((v) => v + (r() * 2 - 1) * d); }
const fromHex = (h) => [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));

const SKIN = ['ffe4c8', 'f5cfa8', 'e9b98f', 'd49a6a', 'b57a4a', '8d5a32', '66401f', '4a2c16'];
const HAIR = ['111111', '3b2414', '6b3e1f', 'a0522d', 'c93305', 'e3c16f', 'f2e6b8', 'b0b0b0',
  'e8e8e8', '2a56c6', '3fa34d', 'e0619a', '7b3fb5', '22a7b0', 'f07c1a', 'd11f2f'];
const EYE = ['3a2414', '1f5fbf', '2e8b3a', '6b6b6b', '9b2fae', 'b3261e', '111111'];
const CLOTH = ['262e33', '65c9ff', '25557c', 'e6e6e6', 'ff488e', 'ff5c5c', 'ffd43b', '2fb36b',
  '7555ca', 'f97316', '8b5a2b', '111111'];
// Hair classes shared by every style.
const HAIR_CLASSES = ['bald', 'short', 'medium', 'long', 'bun', 'curly'];

// character derives the style-independent identity of character id.
export function character(id) {
  const r = rng(hash('toonid-char-' + id));
  const c = {
    id,
    skin: hex(jitter(r, fromHex(pick(r, SKIN)), 8)),
    hair: hex(jitter(r, fromHex(pick(r, HAIR)), 14)),
    eye: hex(jitter(r, fromHex(pick(r, EYE)), 10)),
    cloth: hex(jitter(r, fromHex(pick(r, CLOTH)), 12)),
    hairClass: pick(r, [0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 5, 5]),
    glasses: 0, beard: false, hat: false, earrings: false,
  };
  const g = r();
  c.glasses = g < 0.22 ? 1 : g < 0.3 ? 2 : 0;
  c.beard = r() < 0.2;
  c.hat = r() < 0.12;
  c.earrings = r() < 0.2;
  c.sub = Math.floor(r() * 1e9); // picks within-class variants per style
  return c;
}

// bucket splits variant names into the six hair classes by position, for styles whose variants
// are only numbered; the split is arbitrary but fixed, so a character keeps its look in a style.
function bucket(names, cls) {
  const n = names.length, k = HAIR_CLASSES.length;
  const lo = Math.floor((cls * n) / k), hi = Math.max(lo + 1, Math.floor(((cls + 1) * n) / k));
  return names.slice(lo, hi);
}
const enumOf = (style, prop) => collection[style].schema.properties[prop].items.enum;

// styleOptions maps a character to options of one style. sr picks per-(character, style) shapes,
// vr per-image expression.
function styleOptions(style, c, sr, vr) {
  const cls = c.hairClass;
  const fixed = (prop) => [pick(sr, enumOf(style, prop))];
  const vary = (prop) => [pick(vr, enumOf(style, prop))];
  // Eyes are part of the identity in styles where they are shapes; sometimes they change.
  const eyes = (prop) => (vr() < 0.6 ? fixed(prop) : vary(prop));
  switch (style) {
    case 'adventurer': {
      const hair = [[], enumOf(style, 'hair').filter((h) => h.startsWith('short')).slice(0, 10),
        enumOf(style, 'hair').filter((h) => h.startsWith('short')).slice(10),
        enumOf(style, 'hair').filter((h) => h.startsWith('long')).slice(0, 13),
        enumOf(style, 'hair').filter((h) => h.startsWith('long')).slice(13, 19),
        enumOf(style, 'hair').filter((h) => h.startsWith('long')).slice(19)][cls];
      return {
        skinColor: [c.skin], hairColor: [c.hair], hair: hair.length ? [pick(sr, hair)] : undefined,
        hairProbability: hair.length ? 100 : 0, eyes: eyes('eyes'), mouth: vary('mouth'), eyebrows: vary('eyebrows'),
        glasses: fixed('glasses'), glassesProbability: c.glasses ? 100 : 0,
        features: c.beard ? ['mustache'] : [pick(sr, ['blush', 'freckles', 'birthmark'])],
        featuresProbability: c.beard ? 100 : (sr() < 0.2 ? 100 : 0),
        earrings: fixed('earrings'), earringsProbability: c.earrings ? 100 : 0,
      };
    }
    case 'avataaars': {
      const tops = [['shavedSides', 'theCaesar'], ['shortCurly', 'shortFlat', 'shortRound', 'shortWaved', 'sides', 'theCaesarAndSidePart'],
        ['bob', 'curvy', 'longButNotTooLong', 'miaWallace', 'shaggyMullet'], ['straight01', 'straight02', 'straightAndStrand', 'bigHair', 'frida'],
        ['bun'], ['curly', 'fro', 'froBand', 'frizzle', 'shaggy', 'dreads', 'dreads01', 'dreads02']][cls];
      const hats = ['hat', 'winterHat1', 'winterHat02', 'winterHat03', 'winterHat04', 'turban'];
      return {
        skinColor: [c.skin], hairColor: [c.hair], facialHairColor: [c.hair], hatColor: [c.cloth],
        top: [c.hat ? pick(sr, hats) : pick(sr, tops)], topProbability: 100,
        accessories: c.glasses === 2 ? ['sunglasses'] : [pick(sr, ['prescription01', 'prescription02', 'round', 'kurt', 'wayfarers'])],
        accessoriesProbability: c.glasses ? 100 : 0, accessoriesColor: ['262e33'],
        facialHair: fixed('facialHair'), facialHairProbability: c.beard ? 100 : 0,
        clothing: fixed('clothing'), clothesColor: [c.cloth], eyes: eyes('eyes'), mouth: vary('mouth'), eyebrows: vary('eyebrows'),
      };
    }
    case 'bigSmile': {
      const hair = [['shavedHead'], ['shortHair', 'mohawk', 'halfShavedHead'], ['bowlCutHair', 'bangs', 'wavyBob'],
        ['straightHair', 'braids'], ['bunHair', 'froBun'], ['curlyBob', 'curlyShortHair']][cls];
      const acc = c.glasses === 2 ? 'sunglasses' : c.glasses ? 'glasses' : c.beard ? 'mustache' : c.hat ? 'catEars' : null;
      return {
        skinColor: [c.skin], hairColor: [c.hair], hair: [pick(sr, hair)], accessories: acc ? [acc] : undefined,
        accessoriesProbability: acc ? 100 : 0, eyes: eyes('eyes'), mouth: vary('mouth'),
      };
    }
    case 'croodles':
      return {
        baseColor: [c.skin], topColor: [c.hair], top: [pick(sr, bucket(enumOf(style, 'top'), cls))],
        face: fixed('face'), nose: fixed('nose'), eyes: eyes('eyes'), mouth: vary('mouth'),
        beard: fixed('beard'), beardProbability: c.beard ? 100 : 0, mustache: fixed('mustache'), mustacheProbability: c.beard && sr() < 0.5 ? 100 : 0,
      };
    case 'lorelei':
      return {
        skinColor: [c.skin], hairColor: [c.hair], eyesColor: [c.eye], hair: [pick(sr, bucket(enumOf(style, 'hair'), cls))],
        head: fixed('head'), nose: fixed('nose'), eyes: eyes('eyes'), mouth: vary('mouth'), eyebrows: vary('eyebrows'),
        glasses: fixed('glasses'), glassesProbability: c.glasses ? 100 : 0,
        beard: fixed('beard'), beardProbability: c.beard ? 100 : 0, earrings: fixed('earrings'), earringsProbability: c.earrings ? 100 : 0,
        hairAccessories: ['flowers'], hairAccessoriesColor: [c.cloth], hairAccessoriesProbability: c.hat ? 100 : 0,
      };
    case 'micah': {
      const hair = c.hat ? ['turban'] : [['mrClean'], ['fonze', 'mrT', 'dougFunny', 'dannyPhantom'], ['pixie'], ['full'], ['full', 'pixie'], ['mrT', 'dougFunny']][cls];
      return {
        baseColor: [c.skin], hairColor: [c.hat ? c.cloth : c.hair], hair: [pick(sr, hair)], hairProbability: 100,
        eyes: eyes('eyes'), mouth: vary('mouth'), eyebrows: vary('eyebrows'), nose: fixed('nose'), ears: fixed('ears'),
        glasses: fixed('glasses'), glassesColor: ['000000'], glassesProbability: c.glasses ? 100 : 0,
        facialHair: fixed('facialHair'), facialHairColor: [c.hair], facialHairProbability: c.beard ? 100 : 0,
        earrings: fixed('earrings'), earringsProbability: c.earrings ? 100 : 0, shirt: fixed('shirt'), shirtColor: [c.cloth],
      };
    }
    case 'miniavs': {
      const hair = [['balndess'], ['classic01', 'classic02', 'elvis', 'slaughter'], ['stylish'], ['long'], ['ponyTail'], ['curly']][cls];
      return {
        skinColor: [c.skin], hairColor: [c.hair], hair: [pick(sr, hair)], head: fixed('head'), body: fixed('body'), bodyColor: [c.cloth],
        eyes: vary('eyes'), mouth: vary('mouth'), glassesProbability: c.glasses ? 100 : 0,
        mustache: fixed('mustache'), mustacheProbability: c.beard ? 100 : 0, blushesProbability: sr() < 0.5 ? 100 : 0,
      };
    }
    case 'notionists':
      return {
        hair: [pick(sr, bucket(enumOf(style, 'hair'), cls))], nose: fixed('nose'), eyes: eyes('eyes'), lips: vary('lips'),
        brows: vary('brows'), body: fixed('body'), glasses: fixed('glasses'), glassesProbability: c.glasses ? 100 : 0,
        beard: fixed('beard'), beardProbability: c.beard ? 100 : 0, gestureProbability: 0, bodyIconProbability: sr() < 0.5 ? 100 : 0,
      };
    case 'personas': {
      const hair = c.hat ? ['cap', 'beanie'] : [['bald', 'balding', 'buzzcut'], ['shortCombover', 'shortComboverChops', 'fade', 'sideShave', 'mohawk'],
        ['bobCut', 'bobBangs'], ['long', 'extraLong', 'pigtails'], ['curlyBun', 'bunUndercut', 'straightBun'], ['curly', 'curlyHighTop']][cls];
      const eyesV = c.glasses === 2 ? ['sunglasses'] : c.glasses ? ['glasses'] : [pick(vr, ['open', 'sleep', 'wink', 'happy'])];
      return {
        skinColor: [c.skin], hairColor: [c.hair], hair: [pick(sr, hair)], eyes: eyesV, mouth: vary('mouth'), nose: fixed('nose'),
        body: fixed('body'), clothingColor: [c.cloth], facialHair: fixed('facialHair'), facialHairProbability: c.beard ? 100 : 0,
      };
    }
    case 'toonHead': {
      const [hair, rear] = [[null, null], [['sideComed', 'undercut', 'spiky'], null], [['spiky', 'sideComed'], ['neckHigh']],
        [['sideComed', 'undercut'], ['longStraight', 'longWavy']], [['bun'], null], [['spiky'], ['shoulderHigh']]][cls];
      return {
        skinColor: [c.skin], hairColor: [c.hair], hair: hair ? [pick(sr, hair)] : undefined, hairProbability: hair ? 100 : 0,
        rearHair: rear ? [pick(sr, rear)] : undefined, rearHairProbability: rear ? 100 : 0,
        beard: fixed('beard'), beardProbability: c.beard ? 100 : 0, clothes: fixed('clothes'), clothesColor: [c.cloth],
        eyes: eyes('eyes'), mouth: vary('mouth'), eyebrows: vary('eyebrows'),
      };
    }
    default:
      throw new Error(`dicebear_gen: no mapping for style ${style}`);
  }
}

// avatarSVG returns the SVG of character c in style at variant v.
// extra overrides options after the variant's (the detector's scenes pass a transparent
// background and their own pose).
export function avatarSVG(style, c, v, extra = {}) {
  if (RESERVED.has(style)) throw new Error(`dicebear_gen: style ${style} is reserved for outside evaluation`);
  if (!collection[style]) throw new Error(`dicebear_gen: unknown style ${style}`);
  const sr = rng(hash(`shape-${c.id}-${style}`) ^ c.sub);
  const vr = rng(hash(`var-${c.id}-${style}-${v}`));
  const opts = styleOptions(style, c, sr, vr);
  for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k];
  // Pose and framing: small rotation, flip, zoom and shift; variant 0 is the canonical view.
  const bg = hex(jitter(vr, [200 + vr() * 55, 200 + vr() * 55, 200 + vr() * 55], 0));
  Object.assign(opts, {
    seed: `${c.id}-${style}-${v}`,
    backgroundColor: [vr() < 0.15 ? 'transparent' : bg],
    flip: v > 0 && vr() < 0.5,
    rotate: v > 0 ? Math.round((vr() * 2 - 1) * 12) : 0,
    scale: v > 0 ? Math.round(88 + vr() * 24) : 100,
    translateX: v > 0 ? Math.round((vr() * 2 - 1) * 6) : 0,
    translateY: v > 0 ? Math.round((vr() * 2 - 1) * 6) : 0,
  }, extra);
  return createAvatar(collection[style], opts).toString();
}

function parseArgs(argv) {
  const a = { out: null, first: 0, count: 10, variants: 2, styles: TRAIN_STYLES.join(','), size: 112, shard: '0/1' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in a)) throw new Error(`dicebear_gen: unknown flag ${argv[i]}`);
    a[k] = argv[i + 1];
  }
  if (!a.out) throw new Error('dicebear_gen: --out is required');
  return a;
}

function main() {
  const a = parseArgs(process.argv.slice(2));
  const [si, sn] = a.shard.split('/').map(Number);
  const styles = a.styles.split(',');
  const size = Number(a.size), first = Number(a.first), count = Number(a.count), variants = Number(a.variants);
  const rows = [];
  for (const s of styles) fs.mkdirSync(path.join(a.out, s), { recursive: true });
  for (let id = first; id < first + count; id++) {
    if (id % sn !== si) continue;
    const c = character(id);
    for (const s of styles) {
      for (let v = 0; v < variants; v++) {
        const svg = avatarSVG(s, c, v);
        const png = new Resvg(svg, { fitTo: { mode: 'width', value: size }, background: 'white' }).render().asPng();
        const rel = `${s}/c${id}_v${v}.png`;
        fs.writeFileSync(path.join(a.out, rel), png);
        rows.push(`${rel}\tdb${id}\t${s}\t${v}`);
      }
    }
  }
  fs.writeFileSync(path.join(a.out, `manifest-${si}.tsv`), rows.join('\n') + (rows.length ? '\n' : ''));
}

if (import.meta.url === `file://${process.argv[1]}`) main();
