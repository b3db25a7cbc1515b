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
// Default pack (T = 0.816): M = 0.046, F = 0.724. Answers with the same name (a pack character
// and examples taught for it before the worker merged them) count once, at the better score.
// The match percentage is the cosine score × 100 (not a probability); the card shows it next to
// the threshold's, so "77% match, 82% needed" reads as what it is.

export function rule(threshold) {
  const room = Math.max(0, 1 - threshold);
  return { threshold, margin: room / 4, floor: threshold - room / 2 };
}

export const percent = (score) => Math.round(Math.max(0, Math.min(1, score)) * 100);

// distinct drops later answers whose name (case-insensitive) an earlier one already has.
export function distinct(answers) {
  const seen = new Set();
  return (answers || []).filter((a) => {
    const k = String(a.name).toLowerCase();
    return !seen.has(k) && seen.add(k);
  });
}

// verdict(r) → {kind: 'known'|'probable'|'unsure'|'unknown', text, best, second, percent, need, rule}
// for an identify() result r ({answers, threshold}).
export function verdict(r) {
  const R = rule(r.threshold);
  const [best, second] = distinct(r.answers);
  const s1 = best ? best.score : -1, s2 = second ? second.score : -1;
  const out = { best, second, rule: R, percent: best ? percent(s1) : 0, need: percent(R.threshold) };
  if (!best || s1 < R.floor) return { ...out, kind: 'unknown', text: 'Unknown' };
  if (s1 - s2 < R.margin) return { ...out, kind: 'unsure', text: `Not sure: ${best.name} or ${second.name}` };
  if (s1 >= R.threshold) return { ...out, kind: 'known', text: best.name };
  return { ...out, kind: 'probable', text: `Probably ${best.name}?` };
}
