/**
 * Correctness of an ingest run against the baseline's run of the same scenario and repeat: the same detections
 * per image (class, and box IoU at or above a bound, for detections scoring at or above a bound), and the same
 * numbers of duplicates and near duplicates (near-duplicate totals within the order-dependent slack).
 */
import type { IngestImageOutcome } from './bench-result.js';
import type { IngestRun, IngestSuiteResult } from './runner.js';

/** Does contestant B find what A found in one image? Detections at or above minScore need a same-class box at IoU ≥ iou. */
export function detectionsAgree(
  a: IngestImageOutcome['detections'],
  b: IngestImageOutcome['detections'],
  iou: number,
  minScore: number,
): string | null {
  const iouOf = (x: readonly number[], y: readonly number[]): number => {
    const [ax1 = 0, ay1 = 0, ax2 = 0, ay2 = 0] = x;
    const [bx1 = 0, by1 = 0, bx2 = 0, by2 = 0] = y;
    const w = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1));
    const h = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
    const inter = w * h;
    const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
    return union > 0 ? inter / union : 0;
  };
  for (const [from, to, side] of [
    [a, b, 'the baseline'],
    [b, a, 'the contestant'],
  ] as const) {
    for (const d of from) {
      if (d.score < minScore) continue;
      const best = Math.max(0, ...to.filter((e) => e.label === d.label).map((e) => iouOf(d.box, e.box)));
      if (best < iou) {
        return `${side}'s ${d.label} (score ${d.score.toFixed(2)}) has no match (best IoU ${best.toFixed(2)})`;
      }
    }
  }
  return null;
}

/** Agreement of one contestant's run with the baseline's run of the same scenario and repeat. */
export interface IngestAgreement {
  readonly contestant: string;
  readonly scenario: string;
  readonly repeat: number;
  readonly images: number;
  readonly disagreed: number;
  readonly duplicates: readonly [number, number];
  readonly nearDuplicates: readonly [number, number];
  readonly firstProblem: string | null;
  /** The totals of duplicates or near duplicates differ (beyond the order-dependent ones). */
  readonly countsProblem: string | null;
}

export function compareRuns(
  base: IngestRun,
  other: IngestRun,
  iou: number,
  minScore: number,
): IngestAgreement | null {
  if (base.bench === null || other.bench === null) return null;
  const byName = new Map(base.bench.outcomes.map((o) => [o.name, o]));
  let images = 0;
  let disagreed = 0;
  let firstProblem: string | null = null;
  for (const o of other.bench.outcomes) {
    const b = byName.get(o.name);
    if (b === undefined || b.status !== 'indexed' || o.status !== 'indexed') continue;
    images++;
    const problem = detectionsAgree(b.detections, o.detections, iou, minScore);
    if (problem !== null) {
      disagreed++;
      firstProblem ??= `${o.name}: ${problem}`;
    }
  }
  const dups: [number, number] = [base.bench.duplicates, other.bench.duplicates];
  const near: [number, number] = [base.bench.near_duplicates, other.bench.near_duplicates];
  let countsProblem: string | null = null;
  if (dups[0] !== dups[1]) countsProblem = `${dups[1]} duplicates against the baseline's ${dups[0]}`;
  // Near duplicates between different pictures chain (A ≈ B and B ≈ C, not A ≈ C), so their total depends on the
  // order images arrive in: totals may differ by up to the unexpected near duplicates either run reported (known
  // near copies are checked against the manifest, in every run).
  const slack = Math.max(
    base.bench.check?.unexpected_near_count ?? 0,
    other.bench.check?.unexpected_near_count ?? 0,
  );
  if (Math.abs(near[0] - near[1]) > slack) {
    countsProblem ??= `${near[1]} near duplicates against the baseline's ${near[0]} (more apart than the ${slack} order-dependent ones)`;
  }
  return {
    contestant: other.contestant,
    scenario: other.scenario,
    repeat: other.repeat,
    images,
    disagreed,
    duplicates: dups,
    nearDuplicates: near,
    firstProblem: countsProblem ?? firstProblem,
    countsProblem,
  };
}

/**
 * Whether each contestant's answers are correct (null: it has no finished run): every run found the known copies
 * of the corpus manifest, and every run agrees with the baseline's run of the same scenario and repeat. With the
 * warnings that say why a contestant is marked incorrect (its first problem of each sort).
 */
export function ingestCorrectness(result: IngestSuiteResult): {
  readonly correct: ReadonlyMap<string, boolean | null>;
  readonly warnings: readonly string[];
} {
  const { suite } = result;
  const names = suite.contestants.map((c) => c.name);
  const warnings: string[] = [];
  // Correctness: the manifest check of every run, and agreement with the baseline run of the same repeat.
  const agreements: IngestAgreement[] = [];
  for (const run of result.runs) {
    if (run.contestant === suite.baseline) continue;
    const base = result.runs.find(
      (r) => r.contestant === suite.baseline && r.scenario === run.scenario && r.repeat === run.repeat,
    );
    if (base === undefined) continue;
    const a = compareRuns(base, run, suite.correctness.iou, suite.correctness.minScore);
    if (a !== null) agreements.push(a);
  }
  const correctOf = new Map<string, boolean | null>();
  for (const name of names) {
    const runs = result.runs.filter((r) => r.contestant === name && r.bench !== null);
    if (runs.length === 0) {
      correctOf.set(name, null);
      continue;
    }
    const missed = runs.filter((r) => r.bench?.check?.correct === false);
    for (const r of missed.slice(0, 1)) {
      const c = r.bench?.check;
      warnings.push(
        `${name} missed known copies of the corpus in ${r.scenario} (repeat ${r.repeat + 1}): exact ${c?.found.exact}/${c?.expected.exact}, near ${c?.found.near}/${c?.expected.near}${c !== undefined && c !== null && c.missed_exact.length + c.missed_near.length > 0 ? ` (e.g. ${[...c.missed_exact, ...c.missed_near].slice(0, 3).join(', ')})` : ''}; its rows are marked incorrect.`,
      );
    }
    const disagreements = agreements.filter(
      (a) =>
        a.contestant === name &&
        (a.disagreed > suite.correctness.maxDisagreement * a.images || a.countsProblem !== null),
    );
    for (const a of disagreements.slice(0, 1)) {
      warnings.push(
        `${name} disagrees with ${suite.baseline} in ${a.scenario} (repeat ${a.repeat + 1}): detections differ on ${a.disagreed} of ${a.images} images (class and IoU ≥ ${suite.correctness.iou} for detections scoring ≥ ${suite.correctness.minScore}); duplicates ${a.duplicates[1]} vs ${a.duplicates[0]}, near duplicates ${a.nearDuplicates[1]} vs ${a.nearDuplicates[0]}; first: ${a.firstProblem ?? '?'}. Its rows are marked incorrect.`,
      );
    }
    correctOf.set(name, missed.length === 0 && disagreements.length === 0);
  }

  return { correct: correctOf, warnings };
}
