/**
 * The ingest suite's result as the report model: the guide's five metrics (throughput, memory, CPU efficiency,
 * latency, process overhead) as scenarios, ratios against the baseline with bootstrap intervals over the paired
 * repeats, correctness (known copies of the corpus manifest; the same duplicates and the same detections per
 * image as the baseline), and the verdict on each of the suite's hypotheses.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IngestImageOutcome } from './bench.js';
import type { IngestRun, IngestSuiteResult } from './runner.js';
import type {
  LabReport,
  ReportHypothesis,
  ReportPercentile,
  ReportRatio,
  ReportRow,
  ReportScenario,
  ReportSeries,
} from '../../report-model.js';
import { median, ratioOfMedians } from '../../stats.js';

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

function percentilesOf(values: readonly number[]): ReportPercentile[] {
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  return [50, 90, 95, 99, 100].map((p) => {
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    const beyond = sorted.length - rank;
    return { p, ms: sorted[rank] ?? 0, samples_beyond: beyond, thin: beyond < 10 };
  });
}

function seriesOf(run: IngestRun | undefined): ReportSeries | null {
  const s = run?.resources?.series;
  if (s === undefined || s.length < 2) return null;
  const t: number[] = [];
  const rss: number[] = [];
  const cpu: number[] = [];
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1];
    const b = s[i];
    if (a === undefined || b === undefined) continue;
    const dt = (b.tMs - a.tMs) / 1000;
    t.push(Math.round(b.tMs) / 1000);
    rss.push(Math.round((b.rssKb / 1024) * 10) / 10);
    cpu.push(dt > 0 ? Math.round(((b.cpuSeconds - a.cpuSeconds) / dt) * 1000) / 10 : 0);
  }
  return { t_s: t, rss_mb: rss, cpu_percent: cpu };
}

const medianOrNull = (xs: readonly (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length > 0 ? median(v) : null;
};

/** Per-repeat figures of a row, for ratios. */
interface PerRepeat {
  readonly throughput: number | null;
  readonly p50: number | null;
  readonly rss: number | null;
  readonly cpu: number | null;
  readonly time: number | null;
}

interface RowBuild {
  readonly row: ReportRow;
  readonly perRepeat: readonly PerRepeat[];
}

function ratiosOf(
  base: RowBuild,
  other: RowBuild,
  contestant: string,
  baseline: string,
  metrics: readonly [ReportRatio['metric'], keyof PerRepeat, boolean][],
): ReportRatio[] {
  const comparable = (r: RowBuild): boolean => r.row.failure === null && r.row.correct !== false;
  if (!comparable(base) || !comparable(other)) return [];
  const out: ReportRatio[] = [];
  for (const [metric, key, higherIsBetter] of metrics) {
    const pairs = Math.min(base.perRepeat.length, other.perRepeat.length);
    const a = base.perRepeat.slice(0, pairs).map((x) => x[key]);
    const b = other.perRepeat.slice(0, pairs).map((x) => x[key]);
    if (pairs === 0 || a.some((x) => x === null) || b.some((x) => x === null)) continue;
    const av = (a as number[]).map((x) => [x]);
    const bv = (b as number[]).map((x) => [x]);
    const r = higherIsBetter ? ratioOfMedians(bv, av) : ratioOfMedians(av, bv);
    if (Number.isFinite(r.ratio))
      out.push({ contestant, baseline, metric, factor: r.ratio, ci95: r.ci95, repeats: r.repeats });
  }
  return out;
}

/** Ratios of every other contestant's row against the baseline's. */
function againstBaseline(
  rows: ReadonlyMap<string, RowBuild>,
  baseline: string,
  metrics: readonly [ReportRatio['metric'], keyof PerRepeat, boolean][],
): ReportRatio[] {
  const base = rows.get(baseline);
  if (base === undefined) return [];
  return [...rows].flatMap(([name, r]) =>
    name === baseline ? [] : ratiosOf(base, r, name, baseline, metrics),
  );
}

const emptyRow = (contestant: string, failure: string | null): ReportRow => ({
  contestant,
  correct: null,
  client_saturated: false,
  failure,
  throughput_per_s: null,
  median_ms: null,
  mad_ms: null,
  percentiles: [],
  response_percentiles: null,
  count: 0,
  error_rate: null,
  errors: {},
  dropped: null,
  peak_rss_mb: null,
  mean_rss_mb: null,
  cpu_s_per_request: null,
  ns_per_item: null,
  series: null,
  thresholds: [],
});

/** The report model of an ingest suite run. */
export function ingestLabReport(result: IngestSuiteResult): LabReport {
  const { suite } = result;
  const names = suite.contestants.map((c) => c.name);
  const warnings: string[] = [];
  if (suite.quick) {
    warnings.push(
      `Quick run (--quick): a ${result.corpus.count}-image corpus, one repeat, no confidence intervals. A look at the shape, not figures to quote.`,
    );
  }
  if (result.interrupted) warnings.push('The run was interrupted: results are partial.');
  for (const [name, why] of Object.entries(result.skipped)) warnings.push(`${name} was skipped: ${why}`);
  warnings.push(...(result.stopWarnings ?? []));

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

  const scenarios: ReportScenario[] = [];
  const rowsByScenario = new Map<string, Map<string, RowBuild>>();
  const ratioMetrics: [ReportRatio['metric'], keyof PerRepeat, boolean][] = [
    ['throughput', 'throughput', true],
    ['p50', 'p50', false],
    ['peak_rss', 'rss', false],
    ['cpu_per_request', 'cpu', false],
  ];

  for (const sc of suite.scenarios) {
    const rows = new Map<string, RowBuild>();
    for (const name of names) {
      const runs = result.runs
        .filter((r) => r.scenario === sc.name && r.contestant === name)
        .sort((a, b) => a.repeat - b.repeat);
      const skipped = result.skipped[name];
      if (runs.length === 0) {
        rows.set(name, {
          row: emptyRow(name, skipped !== undefined ? `skipped: ${skipped}` : 'not run'),
          perRepeat: [],
        });
        continue;
      }
      const benches = runs.flatMap((r) => (r.bench !== null ? [r.bench] : []));
      const latencies = benches.flatMap((b) => [...b.batch_latencies_ms]);
      const processed = benches.reduce((n, b) => n + b.images.processed, 0);
      const sent = benches.reduce((n, b) => n + b.images.answered + b.images.in_failed_batches, 0);
      const errors: Record<string, number> = {};
      for (const b of benches) {
        for (const [k, v] of Object.entries(b.errors_by_reason)) errors[k] = (errors[k] ?? 0) + v;
        for (const [k, v] of Object.entries(b.failed_batches_by_cause))
          errors[`batch ${k}`] = (errors[`batch ${k}`] ?? 0) + v;
      }
      const perRepeat: PerRepeat[] = runs.map((r) => {
        const b = r.bench;
        const sorted = b !== null ? [...b.batch_latencies_ms].sort((x, y) => x - y) : [];
        return {
          throughput: b !== null && r.failure === null ? b.images_per_s : null,
          p50: sorted.length > 0 ? median(sorted) : null,
          rss: r.resources !== null && r.resources.samples > 0 ? r.resources.peakRssKb / 1024 : null,
          cpu:
            r.resources !== null && b !== null && b.images.processed > 0
              ? r.resources.cpuSeconds / b.images.processed
              : null,
          time: null,
        };
      });
      const failure = runs.find((r) => r.failure !== null)?.failure ?? null;
      const row: ReportRow = {
        ...emptyRow(name, failure),
        correct: correctOf.get(name) ?? null,
        throughput_per_s: medianOrNull(perRepeat.map((p) => p.throughput)),
        median_ms: latencies.length > 0 ? median(latencies) : null,
        mad_ms: null,
        percentiles: percentilesOf(latencies),
        count: processed,
        error_rate: sent > 0 ? 1 - processed / sent : null,
        errors,
        peak_rss_mb: medianOrNull(perRepeat.map((p) => p.rss)),
        mean_rss_mb: medianOrNull(
          runs.map((r) =>
            r.resources !== null && r.resources.samples > 0 ? r.resources.meanRssKb / 1024 : null,
          ),
        ),
        cpu_s_per_request: medianOrNull(perRepeat.map((p) => p.cpu)),
        series: seriesOf(runs[0]),
      };
      rows.set(name, { row, perRepeat });
    }
    rowsByScenario.set(sc.name, rows);
    scenarios.push({
      name: sc.name,
      description: sc.description,
      model: 'closed',
      setting: `-workers ${sc.workers} -batch ${sc.batch} -queue ${sc.queue} -faces=${sc.faces} -ocr=${sc.ocr}, ${sc.limit > 0 ? `${Math.min(sc.limit, result.corpus.count)}` : result.corpus.count} images per run; latency is per batch (sent → answer)`,
      repeats: suite.repeats,
      rows: [...rows.values()].map((r) => r.row),
      ratios: againstBaseline(rows, suite.baseline, ratioMetrics),
      ceiling: null,
    });
  }

  // Preprocessing probe: CPU per image of decode, letterbox and crop, one core, no inference.
  if (result.preprocess.length > 0) {
    const rows = new Map<string, RowBuild>();
    for (const name of names) {
      const runs = result.preprocess.filter((p) => p.contestant === name).sort((a, b) => a.repeat - b.repeat);
      if (runs.length === 0) {
        rows.set(name, {
          row: emptyRow(
            name,
            result.skipped[name] !== undefined ? `skipped: ${result.skipped[name]}` : 'no probe',
          ),
          perRepeat: [],
        });
        continue;
      }
      const perRepeat: PerRepeat[] = runs.map((p) => ({
        throughput: null,
        p50: null,
        rss: null,
        cpu: p.cpuMsPerImage !== null ? p.cpuMsPerImage / 1000 : null,
        time: p.wallMsMedian,
      }));
      rows.set(name, {
        row: {
          ...emptyRow(name, runs.find((p) => p.failure !== null)?.failure ?? null),
          median_ms: medianOrNull(runs.map((p) => p.wallMsMedian)),
          count: runs.reduce((n, p) => n + (p.images ?? 0), 0),
          cpu_s_per_request: medianOrNull(perRepeat.map((p) => p.cpu)),
        },
        perRepeat,
      });
    }
    rowsByScenario.set('preprocess', rows);
    scenarios.push({
      name: 'preprocess',
      description:
        'Preprocessing alone, as each service does it: decode once with shrink-on-load, letterbox to 640 (pad 114), centre crop; one core, sequential, no inference, no HTTP.',
      model: 'samples',
      setting: `${suite.preprocess.limit} corpus images per probe; time is the median per image, CPU is process CPU per image`,
      repeats: suite.repeats,
      rows: [...rows.values()].map((r) => r.row),
      ratios: againstBaseline(rows, suite.baseline, [
        ['cpu_per_request', 'cpu', false],
        ['time', 'time', false],
      ]),
      ceiling: null,
    });
  }

  // Process overhead: spawn → healthy, and the idle RSS of the tree after the warm-up.
  {
    const rows = new Map<string, RowBuild>();
    for (const name of names) {
      const runs = result.runs.filter((r) => r.contestant === name && r.toHealthyMs !== null);
      if (runs.length === 0) {
        rows.set(name, {
          row: emptyRow(
            name,
            result.skipped[name] !== undefined ? `skipped: ${result.skipped[name]}` : 'did not start',
          ),
          perRepeat: [],
        });
        continue;
      }
      const perRepeat: PerRepeat[] = runs.map((r) => ({
        throughput: null,
        p50: null,
        rss: r.idleRssMb,
        cpu: null,
        time: r.toHealthyMs,
      }));
      rows.set(name, {
        row: {
          ...emptyRow(name, null),
          median_ms: medianOrNull(runs.map((r) => r.toHealthyMs)),
          percentiles: percentilesOf(runs.flatMap((r) => (r.toHealthyMs !== null ? [r.toHealthyMs] : []))),
          count: runs.length,
          peak_rss_mb: medianOrNull(runs.map((r) => r.idleRssMb)),
          mean_rss_mb: medianOrNull(runs.map((r) => r.idleRssMb)),
        },
        perRepeat,
      });
    }
    rowsByScenario.set('process_overhead', rows);
    scenarios.push({
      name: 'process_overhead',
      description:
        'What a service costs before it does any work: spawn → healthy (every run starts a fresh process), and the RSS of its whole process tree idle after the warm-up (server workers included).',
      model: 'cold_start',
      setting: 'every run of every scenario; time is spawn → healthy, memory is the idle RSS after warm-up',
      repeats: suite.repeats,
      rows: [...rows.values()].map((r) => r.row),
      ratios: againstBaseline(rows, suite.baseline, [
        ['time', 'time', false],
        ['peak_rss', 'rss', false],
      ]),
      ceiling: null,
    });
  }

  // The shared services during each contestant's runs of the first scenario: where the inference time goes.
  const first = suite.scenarios[0];
  for (const sv of suite.services) {
    if (first === undefined) break;
    const rows = names.map((name) => {
      const runs = result.runs.filter(
        (r) => r.scenario === first.name && r.contestant === name && r.bench !== null,
      );
      const perImage = runs.flatMap((r) => {
        const s = r.services[sv.name];
        const n = r.bench?.images.processed ?? 0;
        return s !== undefined && n > 0 ? [s.cpuSeconds / n] : [];
      });
      return {
        ...emptyRow(name, runs.length === 0 ? 'not run' : null),
        cpu_s_per_request: perImage.length > 0 ? median(perImage) : null,
        peak_rss_mb: medianOrNull(
          runs.map((r) =>
            r.services[sv.name] !== undefined ? (r.services[sv.name]?.peakRssKb ?? 0) / 1024 : null,
          ),
        ),
        count: runs.reduce((n, r) => n + (r.bench?.images.processed ?? 0), 0),
      };
    });
    scenarios.push({
      name: `shared ${sv.name} server`,
      description: `The shared ${sv.name} service (${sv.description || sv.spec.command?.join(' ')}) during each contestant's ${first.name} runs: its CPU per image is the inference both contestants pay alike; not a contestant.`,
      model: 'samples',
      setting: `CPU-seconds of its process tree per image ingested, and its peak RSS, during ${first.name}`,
      repeats: suite.repeats,
      rows,
      ratios: [],
      ceiling: null,
    });
  }

  for (const s of scenarios) {
    for (const r of s.rows) {
      if (r.failure !== null && !r.failure.startsWith('skipped')) {
        warnings.push(`${s.name} · ${r.contestant}: ${r.failure.split('\n')[0] ?? ''}`);
      }
    }
  }

  // Hypotheses.
  const hypotheses: ReportHypothesis[] = suite.hypotheses.flatMap((h) => {
    const contestants =
      h.contestant !== undefined ? [h.contestant] : names.filter((n) => n !== suite.baseline);
    return contestants.map((contestant): ReportHypothesis => {
      const scenario = scenarios.find((s) => s.name === h.scenario);
      const ratio = scenario?.ratios.find((r) => r.contestant === contestant && r.metric === h.metric);
      const base = {
        statement: h.statement,
        scenario: h.scenario,
        metric: h.metric,
        contestant,
        baseline: suite.baseline,
        target: h.at_least,
      };
      if (ratio === undefined) {
        const row = scenario?.rows.find((r) => r.contestant === contestant);
        const baseRow = scenario?.rows.find((r) => r.contestant === suite.baseline);
        const why =
          row === undefined || baseRow === undefined
            ? 'the scenario did not run'
            : (baseRow.failure ??
              row.failure ??
              (row.correct === false ? `${contestant}'s answers are incorrect` : 'no comparable figures'));
        return { ...base, measured: null, verdict: 'not_measured', note: why };
      }
      const measured = { factor: ratio.factor, ci95: ratio.ci95, repeats: ratio.repeats };
      if (ratio.repeats < 2) {
        return {
          ...base,
          measured,
          verdict: ratio.factor >= h.at_least ? 'supported' : 'rejected',
          note: 'one repeat: no interval, the point estimate decides; run the full suite to quote it',
        };
      }
      const verdict =
        ratio.ci95[0] >= h.at_least ? 'supported' : ratio.ci95[1] < h.at_least ? 'rejected' : 'inconclusive';
      return { ...base, measured, verdict, note: `${ratio.repeats} paired repeats` };
    });
  });

  const headlineRatio = scenarios[0]?.ratios.find((r) => r.metric === 'throughput');
  const contestantsText = suite.contestants
    .filter((c) => !c.baseline)
    .map((c) => c.name)
    .join(', ');
  const serviceText = suite.services
    .map((s) => `${s.name} (${s.description || s.spec.command?.join(' ')})`)
    .join(', ');
  return {
    title: `pitlane bench ${suite.name}`,
    suite: suite.name,
    summary:
      (suite.description !== '' ? `${suite.description} ` : '') +
      `${contestantsText} against ${suite.baseline} (the baseline), in one run, interleaved, with one shared ${serviceText || 'set-up'}, on a ${result.corpus.count}-image photo corpus (${(result.corpus.totalBytes / 2 ** 20).toFixed(0)} MiB).`,
    method: [
      `Every run starts the contestant afresh with an empty index (a new SQLite file), waits for /health, uploads ${suite.warmupImages} synthetic warm-up photos, measures the idle RSS, then runs pitlane ingest-bench over the corpus. ${suite.repeats} repeat(s) per scenario; the contestants alternate who goes first.`,
      'The shared services (the model server) are started once, before every contestant, and serve both alike; their CPU per image is shown as a scenario of its own.',
      'Throughput is images processed per second of the whole run; latency is per batch (sent → answer read); with batch 1 it is single-image latency.',
      'Memory and CPU are sampled from /proc every 100 ms over each contestant’s whole process tree (uvicorn workers and Node worker threads included) during the load; CPU-seconds per image divide the tree’s CPU by the images processed.',
      'The preprocessing probe runs each contestant’s own preprocessing function (decode with shrink-on-load, letterbox 640 pad 114, centre crop) over corpus images on one core with no inference, and reports process CPU per image.',
      `Correctness: each run is checked against the corpus manifest (every known exact and near copy must be reported); each contestant’s run is compared with the baseline’s run of the same repeat: the same numbers of duplicates and near duplicates, and per image the same detections (class, box IoU ≥ ${suite.correctness.iou}, for detections scoring ≥ ${suite.correctness.minScore}). Incorrect rows never count as wins.`,
      'Near duplicates between pictures the manifest says are different (the corpus is cut from a few photos, and the embedder sees some crops as alike) depend on arrival order, so near-duplicate totals may differ between runs by up to that many; known copies must always be found.',
      'Ratios are oriented so that > 1 favours the contestant, with 95% bootstrap intervals over the paired repeats.',
    ],
    not_measured: [
      'Inference speed itself: both contestants call the same model server; its figures are shown, not compared.',
      'Faces and OCR (the guide’s flags: -faces=false -ocr=false).',
      'Network effects: the load tool, the services and the model server share this machine and talk over loopback; the load tool’s own CPU is in the results files.',
      'Index sizes beyond the corpus, and OpenSearch (the SQLite index is used by both).',
    ],
    environment: result.environment,
    generated_at: new Date().toISOString(),
    contestants: suite.contestants.map((c) => ({
      name: c.name,
      baseline: c.baseline,
      how: c.how,
      settings: c.settings,
      resources_sampled: true,
    })),
    settings_differ: [],
    scenarios,
    cold_starts: names.map((name) => {
      const runs = result.runs.filter((r) => r.contestant === name);
      return {
        contestant: name,
        to_healthy_ms: runs.flatMap((r) => (r.toHealthyMs !== null ? [r.toHealthyMs] : [])),
        to_first_correct_ms: runs.flatMap((r) => (r.toFirstAnswerMs !== null ? [r.toFirstAnswerMs] : [])),
      };
    }),
    headline:
      headlineRatio === undefined
        ? null
        : {
            label: `${headlineRatio.contestant} vs ${headlineRatio.baseline}: images per second, ${scenarios[0]?.name ?? ''}`,
            factor: headlineRatio.factor,
            ci95: headlineRatio.ci95,
          },
    warnings,
    hypotheses,
  };
}

/** Writes results/<scenario>/<contestant>.json (every run, with the load tool's full results) and the probes. */
export async function writeIngestResults(result: IngestSuiteResult, dir: string): Promise<string[]> {
  const paths: string[] = [];
  const { suite } = result;
  for (const sc of suite.scenarios) {
    await mkdir(join(dir, 'results', sc.name), { recursive: true });
    for (const c of suite.contestants) {
      const p = join(dir, 'results', sc.name, `${c.name}.json`);
      await writeFile(
        p,
        JSON.stringify(
          {
            suite: suite.name,
            scenario: sc,
            contestant: c.name,
            baseline: c.baseline,
            how: c.how,
            settings: c.settings,
            skipped: result.skipped[c.name] ?? null,
            environment: result.environment,
            corpus: result.corpus,
            preprocess: result.preprocess.filter((x) => x.contestant === c.name),
            runs: result.runs
              .filter((r) => r.scenario === sc.name && r.contestant === c.name)
              .map((r) => ({
                ...r,
                resources:
                  r.resources === null
                    ? null
                    : {
                        peak_rss_kb: r.resources.peakRssKb,
                        mean_rss_kb: r.resources.meanRssKb,
                        cpu_seconds: r.resources.cpuSeconds,
                        samples: r.resources.samples,
                      },
                services: Object.fromEntries(
                  Object.entries(r.services).map(([k, v]) => [
                    k,
                    { peak_rss_kb: v.peakRssKb, mean_rss_kb: v.meanRssKb, cpu_seconds: v.cpuSeconds },
                  ]),
                ),
              })),
          },
          null,
          1,
        ),
      );
      paths.push(p);
    }
  }
  return paths;
}
