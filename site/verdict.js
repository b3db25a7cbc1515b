// verdict.js — how an answer is worded, in one place (the demo card, the overlay label, the tests).
//
// The pack gives one calibrated number: `threshold` T, the cosine score a stranger's crop
// (an identity outside the pack) exceeds only `threshold_far` of the time (pack/FORMAT.md,
// `pack build -calib`). It carries no margin between the first and second answer and no
// lower bound for a hedged guess, so both are derived here from the threshold's headroom
// h = 1 − T (the room above the threshold a real match scores in):
//
//   margin M = h / 4    top-1 is "clearly ahead" when top-1 − top-2 ≥ M
//   floor  F = T − h/2  below F the best answer is not worth naming at all
//
// and the wording is, with s1, s2 the two best scores (s2 = −1 when there is one answer):
//
//   s1 < F                 → "Unknown"
//   s1 − s2 < M            → "Not sure: A or B"
//   s1 ≥ T                 → "A"
//   F ≤ s1 < T             → "Probably A?"
//
// Default pack (T = 0.785): M = 0.054, F = 0.678. Answers with the same name (a pack character
// and examples taught for it before the worker merged them) count once, at the better score.
//
// No percentage is shown. The score is a cosine similarity, not a probability: "55% match" for
// an empty landscape read as "55% likely", and a "confidence" rescaled from it would read the
// same way while claiming a calibration the pack does not have (it has one point: T at
// threshold_far). So a person reads words, and the numbers stay where they are explained:
//
//   sentence (the line under the verdict), by kind:
//     known    "Similar enough to name."
//     probable "Close to A, but not similar enough to be sure."
//     unsure   "A and B are about equally similar."
//     unknown  "Not similar enough to anyone this pack knows." ("No face here" and its own
//              sentence when the reply is flat: nothing was compared)
//   bars: each candidate's position on a scale with the threshold at its middle,
//     position = 50 + 50 · (s − T) / h, clamped to 0..100 (s = 1 fills the bar, s = T − h is empty),
//     drawn with a tick at the middle ("needed to name"); its word: "similar enough" (s ≥ T),
//     "close" (F ≤ s < T), "not similar" (s < F)
//   details line: the raw numbers in words, "similarity 0.78; names need 0.75".
// label(v) is the short form for the overlay and the extension's page label: the verdict text.

export function rule(threshold) {
  const room = Math.max(0, 1 - threshold);
  return { threshold, margin: room / 4, floor: threshold - room / 2 };
}

// position is where a score sits on the card's bars (0..100), the threshold at 50.
export function position(score, R) {
  const h = Math.max(1e-6, 1 - R.threshold);
  return Math.round(Math.max(0, Math.min(100, 50 + 50 * (score - R.threshold) / h)));
}

// level words how a score compares with the threshold and the floor.
export function level(score, R) {
  return score >= R.threshold ? 'similar enough' : score >= R.floor ? 'close' : 'not similar';
}

// details is the raw score and the threshold in words, for the card's small print.
export function details(r) {
  return `similarity ${r.score.toFixed(2)}; names need ${r.threshold.toFixed(2)}`;
}

// distinct drops later answers whose name (case-insensitive) an earlier one already has.
export function distinct(answers) {
  const seen = new Set();
  return (answers || []).filter((a) => {
    const k = String(a.name).toLowerCase();
    return !seen.has(k) && seen.add(k);
  });
}

// verdict(r) → {kind: 'known'|'probable'|'unsure'|'unknown', text, sentence, best, second, rule}
// for an identify() result r ({answers, threshold}).
export function verdict(r) {
  const R = rule(r.threshold);
  const [best, second] = distinct(r.answers);
  const s1 = best ? best.score : -1, s2 = second ? second.score : -1;
  const out = { best, second, rule: R };
  // identify.Reply.flat: every crop the click search tried was too flat to be a face (no edge
  // or stroke: sky, a wall, an out-of-focus background), so none was compared.
  if (r.flat) return { ...out, kind: 'unknown', text: 'No face here', sentence: 'Nothing here has the edges or lines of a face, so it was not compared with anyone.' };
  if (!best || s1 < R.floor) return { ...out, kind: 'unknown', text: 'Unknown', sentence: 'Not similar enough to anyone this pack knows.' };
  if (s1 - s2 < R.margin) return { ...out, kind: 'unsure', text: `Not sure: ${best.name} or ${second.name}`, sentence: `${best.name} and ${second.name} are about equally similar.` };
  if (s1 >= R.threshold) return { ...out, kind: 'known', text: best.name, sentence: 'Similar enough to name.' };
  return { ...out, kind: 'probable', text: `Probably ${best.name}?`, sentence: `Close to ${best.name}, but not similar enough to be sure.` };
}

// label is the one-line form (overlay, the extension's label on the page).
export const label = (v) => v.text;
