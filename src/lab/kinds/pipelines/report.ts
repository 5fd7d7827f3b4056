/**
 * Reports of the pipeline suite: the comparison JSON in the plans' format (DESIGN.md) extended with intervals
 * and correctness, the table the terminal shows, and the LabReport every renderer draws from.
 */
import { contestantsOf, RUNTIMES, type PipelineSuiteResult, type RuntimeName } from './runner.js';
import { geometricMean } from '../../stats.js';
import type { WordErrorRate } from './word-error-rate.js';
import type { LabReport, ReportRatio, ReportRow, ReportScenario } from '../../report/model.js';

const ms = (ns: number): number => ns / 1e6;
const round = (x: number, digits = 4): number => Number(x.toPrecision(digits));

/** Key prefix of a pitlane contestant in the plans' format: ts (native), ts_cpython, ts_pyodide. */
const SEED_KEY: Record<Exclude<RuntimeName, 'cpython'>, string> = {
  pitlane: 'ts',
  'pitlane-cpython': 'ts_cpython',
  'pitlane-pyodide': 'ts_pyodide',
};

/** Display names of the contestants. */
export const CONTESTANT_LABEL: Record<RuntimeName, string> = {
  pitlane: 'pitlane',
  'pitlane-cpython': 'pitlane (CPython workers)',
  'pitlane-pyodide': 'pitlane (Pyodide)',
  cpython: 'cpython-ref',
};

/**
 * The comparison JSON in the plans' format: {comparison: {scenario: {python_ms, ts_ms, speedup, memory_python_mb,
 * memory_ts_mb}}, summary: {average_speedup, memory_reduction}}, extended with intervals and correctness; Python
 * scenarios add the same keys for pitlane on each Python runtime (ts_cpython_ms, speedup_ts_cpython, ...).
 */
export function comparisonJson(result: PipelineSuiteResult): object {
  const comparison: Record<string, object> = {};
  for (const r of result.scenarios) {
    const ref = r.summary.cpython;
    const entry: Record<string, unknown> = {
      kind: r.scenario.kind,
      correct: r.correct,
      repeats: r.speedup.repeats,
      python_ms: ref ? round(ms(ref.median)) : null,
      memory_python_mb: ref ? round(ref.peak_rss_mb, 3) : null,
      python_ns_per_item: ref?.ns_per_item != null ? round(ref.ns_per_item) : null,
      ...(r.quality?.cpython !== undefined ? { python_wer: round(r.quality.cpython.wer) } : {}),
      ...(r.capacity?.cpython !== undefined ? { python_live_streams: r.capacity.cpython.streams } : {}),
    };
    for (const rt of contestantsOf(r.scenario)) {
      if (rt === 'cpython') continue;
      const k = SEED_KEY[rt];
      const sum = r.summary[rt];
      const sp = r.speedups[rt];
      const suffix = k === 'ts' ? '' : `_${k}`;
      entry[`${k}_ms`] = sum ? round(ms(sum.median)) : null;
      entry[`speedup${suffix}`] = r.correct && sp ? round(sp.ratio) : null;
      entry[`speedup${suffix}_ci95`] = r.correct && sp ? sp.ci95.map((x) => round(x)) : null;
      entry[`memory_${k}_mb`] = sum ? round(sum.peak_rss_mb, 3) : null;
      entry[`${k}_ns_per_item`] = sum?.ns_per_item != null ? round(sum.ns_per_item) : null;
      if (r.details[rt] !== undefined) entry[`${k}_runtime`] = r.details[rt];
      const wer = r.quality?.[rt];
      if (wer !== undefined) entry[`${k}_wer`] = round(wer.wer);
      const cap = r.capacity?.[rt];
      if (cap !== undefined) entry[`${k}_live_streams`] = cap.streams;
    }
    comparison[r.scenario.name] = entry;
  }
  const headline = result.scenarios.filter((r) => result.headline.scenarios.includes(r.scenario.name));
  const memRatio = geometricMean(
    headline.map((r) => (r.summary.pitlane?.peak_rss_mb ?? NaN) / (r.summary.cpython?.peak_rss_mb ?? NaN)),
  );
  return {
    comparison,
    summary: {
      average_speedup: round(result.headline.speedup),
      average_speedup_ci95: result.headline.ci95.map((x) => round(x)),
      average_of: result.headline.scenarios,
      average_kind: 'geometric mean of the speed-ups of the scenarios in average_of',
      memory_reduction: round(1 - memRatio, 3),
      memory_reduction_kind: '1 - geometric mean of (pitlane peak RSS / CPython peak RSS) over average_of',
      incorrect: result.scenarios.filter((r) => !r.correct).map((r) => r.scenario.name),
    },
  };
}

function fmtTime(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns.toFixed(0)} ns`;
}

function fmtRatio(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** ", WER 12.3% (5/41 words)" for a scored contestant, else nothing. */
function werText(wer: WordErrorRate | undefined): string {
  return wer === undefined
    ? ''
    : `, WER ${(wer.wer * 100).toFixed(1)}% (${wer.errors}/${wer.referenceWords} words)`;
}

/** The results table (Markdown, also printed on the terminal): one row per scenario and contestant. */
export function resultsTable(result: PipelineSuiteResult): string {
  const lines = [
    '| scenario | contestant | median ±MAD (live: frame latency p50 at 1 stream) | per item (media: real-time factor; live: capacity) | speed-up vs CPython ref [95% CI] (live: capacity ratio) | peak RSS | outputs |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of result.scenarios) {
    for (const rt of contestantsOf(r.scenario)) {
      const s = r.summary[rt];
      if (s === undefined) continue;
      const sp = r.speedups[rt];
      const speed =
        rt === 'cpython'
          ? 'baseline'
          : sp === undefined
            ? '— (no baseline)'
            : r.correct
              ? `**${fmtRatio(sp.ratio)}x** [${fmtRatio(sp.ci95[0])}, ${fmtRatio(sp.ci95[1])}]`
              : '— (incorrect)';
      const cap = r.capacity?.[rt];
      const perItem =
        cap !== undefined
          ? `${cap.streams} live streams sustained`
          : r.input_seconds !== undefined
            ? `${fmtRatio(r.input_seconds / (s.median / 1e9))}x real time`
            : s.ns_per_item === null || r.scenario.kind === 'cold_start'
              ? '—'
              : fmtTime(s.ns_per_item);
      const mem = r.scenario.kind === 'cold_start' ? 'not measured' : `${s.peak_rss_mb.toFixed(1)} MB`;
      lines.push(
        `| ${r.scenario.name} | ${CONTESTANT_LABEL[rt]} | ${fmtTime(s.median)} ±${fmtTime(s.mad)} | ${perItem} | ${speed} | ${mem} | ${r.correct ? 'identical' : '**DIFFER**'}${werText(r.quality?.[rt])} |`,
      );
    }
  }
  return lines.join('\n');
}

/** The pipelines suite as a LabReport, for the shared renderers (Markdown, HTML). */
export function pipelineLabReport(result: PipelineSuiteResult): LabReport {
  const names = CONTESTANT_LABEL;
  const scenarios: ReportScenario[] = result.scenarios.map((r) => {
    const rows: ReportRow[] = contestantsOf(r.scenario).flatMap((rt) => {
      const s = r.summary[rt];
      if (s === undefined) return [];
      const count = (r.repeats[rt] ?? []).reduce((n, x) => n + x.samples_ns.length, 0);
      return {
        contestant: names[rt],
        correct: r.correct,
        client_saturated: false,
        failure: null,
        throughput_per_s: null,
        median_ms: s.median / 1e6,
        mad_ms: s.mad / 1e6,
        percentiles: [],
        response_percentiles: null,
        count,
        error_rate: null,
        errors: {},
        dropped: null,
        peak_rss_mb: r.scenario.kind === 'cold_start' ? null : s.peak_rss_mb,
        mean_rss_mb: null,
        cpu_s_per_request: null,
        ns_per_item: r.scenario.kind === 'cold_start' ? null : s.ns_per_item,
        series: null,
        thresholds: [],
      };
    });
    const ratios: ReportRatio[] = !r.correct
      ? []
      : contestantsOf(r.scenario).flatMap((rt) => {
          const sp = r.speedups[rt];
          if (rt === 'cpython' || sp === undefined) return [];
          return [
            {
              contestant: names[rt],
              baseline: names.cpython,
              metric: 'time' as const,
              factor: sp.ratio,
              ci95: sp.ci95,
              repeats: sp.repeats,
            },
          ];
        });
    const runtimes = [
      ...(r.input !== undefined ? [`input: ${r.input} (${(r.input_seconds ?? 0).toFixed(1)} s)`] : []),
      ...Object.entries(r.details).map(([rt, d]) => `${names[rt as RuntimeName]}: ${d}`),
      ...Object.entries(r.quality ?? {}).map(([rt, w]) => `${names[rt as RuntimeName]}${werText(w)}`),
      ...Object.entries(r.capacity ?? {}).map(
        ([rt, c]) =>
          `${names[rt as RuntimeName]}: ${c.streams} streams sustained, p99 ${c.p99_us_at_1 ?? '—'} µs at 1 stream (trials: ${c.trials.map((t) => `${t.streams}${t.passed ? '✓' : '✗'}`).join(' ')})`,
      ),
    ];
    return {
      name: r.scenario.name,
      description: r.scenario.description,
      model: r.scenario.kind,
      setting: `${r.speedup.repeats} repeats × ${r.scenario.pitlane.samples} / ${r.scenario.cpython.samples} samples${r.scenario.items > 0 ? `, ${r.scenario.items} items` : ''}${runtimes.length > 0 ? `; ${runtimes.join('; ')}` : ''}`,
      repeats: r.speedup.repeats,
      rows,
      ratios,
      ceiling: null,
    };
  });
  const incorrect = result.scenarios.filter((r) => !r.correct).map((r) => r.scenario.name);
  return {
    title: 'pitlane bench pipelines',
    suite: 'pipelines',
    summary:
      "pitlane's pipeline runtime against the CPython reference executor (asyncio, one task and one bounded queue per node) on the same manifests, in one run, with outputs checked byte for byte.",
    method: [
      'Each repeat starts fresh processes for both runtimes and alternates which goes first.',
      `In-process scenarios time whole runs (build, initialise, run, flush, cleanup) after a warm-up of at least ${result.settings.warmup_ms} ms in both runtimes.`,
      'cold_start: spawn of `run` → first output line; stream: a whole `run` over a JSONL file, peak RSS from /proc; media: a whole `run -i` over prepared speech, transcripts scored by word error rate.',
      'The reference runs gc.collect() between samples outside the timing; V8 collects inside pitlane’s samples.',
      'Speed-ups are CPython median / pitlane median with a 95% bootstrap interval over paired repeats; the headline is a geometric mean.',
    ],
    not_measured: ['CPU time per item (wall time only).'],
    environment: result.environment,
    generated_at: result.environment.date,
    contestants: RUNTIMES.filter((rt) => result.scenarios.some((r) => r.summary[rt] !== undefined)).map(
      (rt) => ({
        name: names[rt],
        baseline: rt === 'cpython',
        how:
          rt === 'cpython'
            ? `${result.settings.python} baselines/python/pitlane_ref.py`
            : `pitlane bench-worker / pitlane run${rt === 'pitlane' ? '' : ` --python-runtime ${rt.slice('pitlane-'.length)}`}`,
        settings: {},
        resources_sampled: true,
      }),
    ),
    settings_differ: [],
    scenarios,
    cold_starts: [],
    headline:
      result.headline.scenarios.length === 0
        ? null
        : {
            label: `geometric-mean speed-up over ${result.headline.scenarios.join(', ')}`,
            factor: result.headline.speedup,
            ci95: result.headline.ci95,
          },
    warnings: [
      ...(incorrect.length > 0 ? [`Outputs differ between runtimes in: ${incorrect.join(', ')}`] : []),
      ...(result.settings.quick
        ? ['Quick mode: fewer samples and repeats; do not quote these figures.']
        : []),
    ],
    hypotheses: [],
  };
}
