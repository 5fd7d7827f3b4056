/**
 * The plan of a whole corpus, drawn up front from one seeded PRNG in a fixed order: how many originals, exact and
 * near copies; which originals are PNG and WebP; each original (originals.ts); which originals the copies are of
 * (spread over distinct originals while they last); and each near copy's edit, distinct per original.
 */
import { Dice } from './dice.js';
import { FileNames } from './file-names.js';
import type { PhotoFormat } from './manifest.js';
import { planEdit } from './near-copies.js';
import { SourceOrder, planOriginal } from './originals.js';
import type { Box, CopyPlan, CorpusPlan } from './plan-types.js';
import type { SourcePhoto } from './sources.js';

/** Share of the originals encoded as PNG and as WebP; a corpus of at least 30 originals gets at least 3 of each. */
const PNG_SHARE = 0.02;
const WEBP_SHARE = 0.02;

/** Counts of each kind for a corpus of `count` images. */
export function photoCorpusCounts(
  count: number,
  exactShare: number,
  nearShare: number,
): { originals: number; exact: number; near: number } {
  const exact = Math.round(count * exactShare);
  const near = Math.round(count * nearShare);
  return { originals: count - exact - near, exact, near };
}

/** The plan of the whole corpus, every choice drawn from `seed` in a fixed order, before any pixel work. */
export function planCorpus(
  count: number,
  exactShare: number,
  nearShare: number,
  seed: number,
  sources: readonly SourcePhoto[],
): CorpusPlan {
  const dice = new Dice(seed);
  const counts = photoCorpusCounts(count, exactShare, nearShare);
  const names = new FileNames(dice);

  const nPng = Math.max(
    Math.round(counts.originals * PNG_SHARE),
    Math.min(3, Math.floor(counts.originals / 10)),
  );
  const nWebp = Math.max(
    Math.round(counts.originals * WEBP_SHARE),
    Math.min(3, Math.floor(counts.originals / 10)),
  );
  const formats = dice.shuffle(
    Array.from({ length: counts.originals }, (_, i): PhotoFormat =>
      i < nPng ? 'png' : i < nPng + nWebp ? 'webp' : 'jpeg',
    ),
  );

  const sourceOrder = new SourceOrder(dice, sources.length);
  const taken = sources.map((): Box[] => []);
  const originals = formats.map((format) => planOriginal(dice, format, sources, sourceOrder, taken, names));

  const copies: CopyPlan[] = [];
  const exactOf = cycleOfShuffles(dice, counts.originals, counts.exact);
  for (const of of exactOf)
    copies.push({ kind: 'exact', file: names.next(originals[of]?.format ?? 'jpeg').file, of, edit: null });
  const nearOf = cycleOfShuffles(dice, counts.originals, counts.near);
  const editsOf = new Map<number, Set<string>>();
  for (const of of nearOf) {
    const original = originals[of];
    if (original === undefined) throw new Error('internal: near copy of a missing original');
    const seen = editsOf.get(of) ?? new Set<string>();
    editsOf.set(of, seen);
    let edit = planEdit(dice, original);
    for (let tries = 0; seen.has(edit.description) && tries < 50; tries++) edit = planEdit(dice, original);
    seen.add(edit.description);
    copies.push({ kind: 'near', file: names.next(edit.format).file, of, edit });
  }
  return { originals, copies };
}

/** `n` indices in [0, size), each cycle a fresh shuffle, so copies go to distinct originals while they last. */
function cycleOfShuffles(dice: Dice, size: number, n: number): number[] {
  const out: number[] = [];
  const all = Array.from({ length: size }, (_, i) => i);
  while (out.length < n && size > 0) out.push(...dice.shuffle(all).slice(0, n - out.length));
  return out;
}
