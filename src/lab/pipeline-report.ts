/**
 * Reports of the pipeline suite: the comparison JSON in the plans' format (DESIGN.md) extended with intervals
 * and correctness, per-runtime results files, and a Markdown report whose table is also what the terminal shows.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineSuiteResult, RuntimeName, ScenarioResult } from './pipeline-suite.js';
import { geometricMean } from './stats.js';
import { renderHtmlReport } from './report-html.js';
import { renderMarkdownReport } from './report-markdown.js';
import type { LabReport, ReportRatio, ReportRow, ReportScenario } from './report-model.js';

const ms = (ns: number): number => ns / 1e6;
const round = (x: number, digits = 4): number => Number(x.toPrecision(digits));

/** The comparison JSON: {comparison: {scenario: {...}}, summary: {...}}. */
export function comparisonJson(result: PipelineSuiteResult): object {
  const comparison: Record<string, object> = {};
  for (const r of result.scenarios) {
    comparison[r.scenario.name] = {
      python_ms: round(ms(r.summary.cpython.median)),
      ts_ms: round(ms(r.summary.pitlane.median)),
      speedup: r.correct ? round(r.speedup.ratio) : null,
      speedup_ci95: r.correct ? r.speedup.ci95.map((x) => round(x)) : null,
      memory_python_mb: round(r.summary.cpython.peak_rss_mb, 3),
      memory_ts_mb: round(r.summary.pitlane.peak_rss_mb, 3),
      correct: r.correct,
      repeats: r.speedup.repeats,
      samples: { python: r.summary.cpython.n, ts: r.summary.pitlane.n },
      ts_ns_per_item: r.summary.pitlane.ns_per_item === null ? null : round(r.summary.pitlane.ns_per_item),
      python_ns_per_item:
        r.summary.cpython.ns_per_item === null ? null : round(r.summary.cpython.ns_per_item),
      kind: r.scenario.kind,
    };
  }
  const headline = result.scenarios.filter((r) => result.headline.scenarios.includes(r.scenario.name));
  const memRatio = geometricMean(
    headline.map((r) => r.summary.pitlane.peak_rss_mb / r.summary.cpython.peak_rss_mb),
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

function cell(r: ScenarioResult, rt: RuntimeName): string {
  const s = r.summary[rt];
  return `${fmtTime(s.median)} ±${fmtTime(s.mad)}`;
}

/** The results table (Markdown, also printed on the terminal). */
export function resultsTable(result: PipelineSuiteResult): string {
  const lines = [
    '| scenario | pitlane (median ±MAD) | CPython ref (median ±MAD) | speed-up [95% CI] | pitlane per item | peak RSS pitlane / CPython | outputs |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of result.scenarios) {
    const speed = r.correct
      ? `**${fmtRatio(r.speedup.ratio)}x** [${fmtRatio(r.speedup.ci95[0])}, ${fmtRatio(r.speedup.ci95[1])}]`
      : '— (incorrect)';
    const perItem = r.summary.pitlane.ns_per_item === null ? '—' : fmtTime(r.summary.pitlane.ns_per_item);
    const mem =
      r.scenario.kind === 'cold_start'
        ? 'not measured'
        : `${r.summary.pitlane.peak_rss_mb.toFixed(1)} / ${r.summary.cpython.peak_rss_mb.toFixed(1)} MB`;
    lines.push(
      `| ${r.scenario.name} | ${cell(r, 'pitlane')} | ${cell(r, 'cpython')} | ${speed} | ${perItem} | ${mem} | ${r.correct ? 'identical' : '**DIFFER**'} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Writes results/pipelines/<contestant>.json, comparison.json (the plans' format), and the shared report
 * (report.json, report.md, report.html: the same renderers as every suite); returns the paths.
 */
export async function writePipelineReports(result: PipelineSuiteResult, dir: string): Promise<string[]> {
  await mkdir(join(dir, 'results', 'pipelines'), { recursive: true });
  const paths: string[] = [];
  for (const rt of ['pitlane', 'cpython'] as const) {
    const p = join(dir, 'results', 'pipelines', `${rt}.json`);
    await writeFile(
      p,
      JSON.stringify(
        {
          suite: result.suite,
          contestant: rt,
          environment: result.environment,
          settings: result.settings,
          scenarios: result.scenarios.map((r) => ({
            scenario: r.scenario,
            summary: r.summary[rt],
            repeats: r.repeats[rt],
          })),
        },
        null,
        2,
      ),
    );
    paths.push(p);
  }
  const comparison = join(dir, 'comparison.json');
  await writeFile(comparison, JSON.stringify(comparisonJson(result), null, 2) + '\n');
  const report = pipelineLabReport(result);
  const files: [string, string][] = [
    ['report.json', JSON.stringify(report, null, 1)],
    ['report.md', renderMarkdownReport(report)],
    ['report.html', renderHtmlReport(report)],
  ];
  paths.push(comparison);
  for (const [name, text] of files) {
    await writeFile(join(dir, name), text);
    paths.push(join(dir, name));
  }
  return paths;
}

/** The pipelines suite as a LabReport, for the shared renderers (Markdown, HTML). */
export function pipelineLabReport(result: PipelineSuiteResult): LabReport {
  const names: Record<RuntimeName, string> = { pitlane: 'pitlane', cpython: 'cpython-ref' };
  const scenarios: ReportScenario[] = result.scenarios.map((r) => {
    const rows: ReportRow[] = RUNTIME_ORDER.map((rt) => {
      const s = r.summary[rt];
      const count = r.repeats[rt].reduce((n, x) => n + x.samples_ns.length, 0);
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
    const ratios: ReportRatio[] = r.correct
      ? [
          {
            contestant: names.pitlane,
            baseline: names.cpython,
            metric: 'time',
            factor: r.speedup.ratio,
            ci95: r.speedup.ci95,
            repeats: r.speedup.repeats,
          },
        ]
      : [];
    return {
      name: r.scenario.name,
      description: r.scenario.description,
      model: r.scenario.kind,
      setting: `${r.speedup.repeats} repeats × ${r.scenario.pitlane.samples} / ${r.scenario.cpython.samples} samples${r.scenario.items > 0 ? `, ${r.scenario.items} items` : ''}`,
      repeats: r.speedup.repeats,
      rows,
      ratios,
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
      'cold_start: spawn of `run` → first output line; stream: a whole `run` over a JSONL file, peak RSS from /proc.',
      'The reference runs gc.collect() between samples outside the timing; V8 collects inside pitlane’s samples.',
      'Speed-ups are CPython median / pitlane median with a 95% bootstrap interval over paired repeats; the headline is a geometric mean.',
    ],
    not_measured: ['CPU time per item (wall time only).', 'Pipelines with asynchronous or Python nodes.'],
    environment: result.environment,
    generated_at: result.environment.date,
    contestants: [
      {
        name: names.pitlane,
        baseline: false,
        how: 'pitlane bench-worker / pitlane run',
        settings: {},
        resources_sampled: true,
      },
      {
        name: names.cpython,
        baseline: true,
        how: `${result.settings.python} baselines/python/pitlane_ref.py`,
        settings: {},
        resources_sampled: true,
      },
    ],
    settings_differ: [],
    scenarios,
    cold_starts: [],
    headline: {
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
  };
}

const RUNTIME_ORDER: readonly RuntimeName[] = ['pitlane', 'cpython'];
