/**
 * `pitlane compare A.json B.json`: two results files (results/<workload>/<contestant>.json, possibly from
 * different runs) compared scenario by scenario with the same statistics as a suite run: histograms decoded and
 * merged, ratios with bootstrap intervals over repeats, memory. Runs from different moments are flagged: the
 * lab's own comparisons are interleaved in one run, these are not.
 */
import { writeFile } from 'node:fs/promises';
import { BenchError, FileError, toError } from '../core/errors.js';
import { MAX_RESULTS_FILE_BYTES, readUserTextFile } from '../core/user-file.js';
import type { Environment } from '../lab/environment.js';
import { httpComparisonJson, httpLabReport } from '../lab/kinds/http/report.js';
import type { HttpSuiteResult, ScenarioRun } from '../lab/kinds/http/runner.js';
import { LatencyHistogram } from '../lab/load/latency-histogram.js';
import type { LoadPlan, LoadResult } from '../lab/load/load-engine.js';
import type { ResourceSample } from '../lab/proc-sampler.js';
import { renderHtmlReport } from '../lab/report-html.js';
import { renderMarkdownReport, renderTerminalTable } from '../lab/report-markdown.js';
import type { Suite, SuiteScenario } from '../lab/kinds/http/suite.js';
import { EXIT } from './exit-codes.js';

interface ResultsFile {
  suite: string;
  workload: string;
  contestant: string;
  how: string;
  settings: Record<string, unknown>;
  environment: Environment;
  scenarios?: { name: string; description: string; plan: LoadPlan }[];
  runs: {
    scenario: string;
    repeat: number;
    failure: string | null;
    load: {
      model: 'closed' | 'open';
      duration_ms: number;
      scheduled: number;
      sent: number;
      ok: number;
      failed: number;
      dropped: number;
      errors_by_class: LoadResult['errorsByClass'];
      errors_by_status: Record<string, number>;
      error_examples: LoadResult['errorExamples'];
      throughput_per_s: number;
      client: LoadResult['client'];
      histograms: { service: string; response: string | null; schedule_slip: string | null };
    } | null;
    resources: {
      peak_rss_kb: number;
      mean_rss_kb: number;
      cpu_seconds: number;
      samples: number;
      series: readonly ResourceSample[];
    } | null;
  }[];
}

function readResults(path: string): ResultsFile {
  let data: unknown;
  try {
    data = JSON.parse(readUserTextFile(path, 'results file', MAX_RESULTS_FILE_BYTES));
  } catch (e) {
    throw new FileError(path, `cannot read a results file: ${toError(e).message}`);
  }
  const r = data as Partial<ResultsFile>;
  if (typeof r.contestant !== 'string' || !Array.isArray(r.runs)) {
    throw new FileError(
      path,
      'not a pitlane results file (expected results/<workload>/<contestant>.json from pitlane bench)',
    );
  }
  return r as ResultsFile;
}

function toRun(file: ResultsFile, name: string, r: ResultsFile['runs'][number]): ScenarioRun {
  const l = r.load;
  return {
    scenario: r.scenario,
    repeat: r.repeat,
    contestant: name,
    failure: r.failure,
    resources:
      r.resources === null
        ? null
        : {
            peakRssKb: r.resources.peak_rss_kb,
            meanRssKb: r.resources.mean_rss_kb,
            cpuSeconds: r.resources.cpu_seconds,
            samples: r.resources.samples,
            series: r.resources.series,
          },
    load:
      l === null
        ? null
        : {
            model: l.model,
            durationMs: l.duration_ms,
            scheduled: l.scheduled,
            sent: l.sent,
            ok: l.ok,
            failed: l.failed,
            dropped: l.dropped,
            errorsByClass: l.errors_by_class,
            errorsByStatus: l.errors_by_status,
            errorExamples: l.error_examples,
            throughputPerS: l.throughput_per_s,
            service: LatencyHistogram.decode(l.histograms.service),
            response: l.histograms.response !== null ? LatencyHistogram.decode(l.histograms.response) : null,
            slip:
              l.histograms.schedule_slip !== null
                ? LatencyHistogram.decode(l.histograms.schedule_slip)
                : null,
            client: l.client,
          },
  };
}

export async function compareCommand(
  aPath: string,
  bPath: string,
  opts: { json?: boolean; output?: string },
): Promise<number> {
  const a = readResults(aPath);
  const b = readResults(bPath);
  // Two files of the same contestant name still need distinct names in the report.
  const nameA = a.contestant === b.contestant ? `${a.contestant} (A)` : a.contestant;
  const nameB = a.contestant === b.contestant ? `${b.contestant} (B)` : b.contestant;
  const scenarioNames = [...new Set(a.runs.map((r) => r.scenario))].filter((s) =>
    b.runs.some((r) => r.scenario === s),
  );
  if (scenarioNames.length === 0) throw new BenchError(`${aPath} and ${bPath} have no scenario in common`);
  const scenarios: SuiteScenario[] = scenarioNames.map((name) => {
    // The plan as recorded in the results file (files from before it was recorded: only the model is known).
    const recorded = a.scenarios?.find((s) => s.name === name);
    const model = a.runs.find((r) => r.scenario === name)?.load?.model ?? 'closed';
    const unknown: LoadPlan =
      model === 'open'
        ? { model, rate: 0, arrival: 'constant', durationMs: 0, seed: 0, maxInFlight: 0 }
        : { model, concurrency: 0 };
    return {
      name,
      description: recorded?.description ?? name,
      workload: a.workload,
      plan: recorded?.plan ?? unknown,
      thresholds: [],
    };
  });
  const suite: Suite = {
    name: `compare-${a.contestant}-${b.contestant}`,
    description: `${aPath} (baseline) against ${bPath}.`,
    file: aPath,
    ceilings: [],
    contestants: [
      {
        spec: { name: nameA, command: ['(from file)'] },
        settings: a.settings,
        baseline: true,
        how: `${a.how} — ${aPath}`,
      },
      {
        spec: { name: nameB, command: ['(from file)'] },
        settings: b.settings,
        baseline: false,
        how: `${b.how} — ${bPath}`,
      },
    ],
    baseline: nameA,
    workloads: new Map(),
    scenarios,
    warmup: { requests: 0, durationMs: 0 },
    repeats: Math.max(...a.runs.map((r) => r.repeat + 1)),
    coldStartRuns: 0,
    correctness: { mode: 'none' },
    correctnessSample: 0,
  };
  const runs = [
    ...a.runs.filter((r) => scenarioNames.includes(r.scenario)).map((r) => toRun(a, nameA, r)),
    ...b.runs.filter((r) => scenarioNames.includes(r.scenario)).map((r) => toRun(b, nameB, r)),
  ];
  const result: HttpSuiteResult = {
    suite,
    environment: a.environment,
    coldStarts: [],
    correctness: [],
    runs,
    startFailures: {},
    interrupted: false,
    ceilings: [],
  };
  const base = httpLabReport(result);
  const report = {
    ...base,
    title: `pitlane compare: ${nameB} against ${nameA}`,
    method: [
      ...base.method.filter((m) => !m.startsWith('Warm-up') && !m.startsWith('Answers')),
      'These results come from files; unless both were written by one suite run, they were not measured interleaved, and the comparison is only as fair as the two runs were alike.',
    ],
    warnings: [
      ...(a.environment.cpu_model !== b.environment.cpu_model || a.environment.cores !== b.environment.cores
        ? [
            `Measured on different machines: ${a.environment.cpu_model} (${a.environment.cores} cores) vs ${b.environment.cpu_model} (${b.environment.cores} cores).`,
          ]
        : []),
      'Answers were not compared (results files do not hold responses).',
      ...base.warnings,
    ],
  };
  if (opts.output !== undefined) {
    await writeFile(
      opts.output,
      opts.output.endsWith('.md') ? renderMarkdownReport(report) : renderHtmlReport(report),
    );
  }
  if (opts.json === true) process.stdout.write(JSON.stringify(httpComparisonJson(report), null, 2) + '\n');
  else
    process.stdout.write(
      `${renderTerminalTable(report)}\n${opts.output !== undefined ? `Wrote ${opts.output}\n` : ''}`,
    );
  return EXIT.OK;
}
