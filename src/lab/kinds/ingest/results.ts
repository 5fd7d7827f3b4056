/**
 * The ingest kind's results files: one per scenario and contestant (results/<scenario>/<contestant>.json) with
 * every run (the load tool's full results, per-image outcomes included), the preprocessing probes and the corpus;
 * and the reader that rebuilds a contestant's rows from one (`pitlane compare`).
 */
import type { Environment } from '../../environment.js';
import type { ContestantResults, ScenarioFigures } from '../../results/compare.js';
import {
  readResources,
  storeResources,
  type ResultsFileData,
  type ResultsFileEntry,
  type StoredResources,
} from '../../results/results-file.js';
import { INGEST_RATIO_METRICS } from './report.js';
import { loadRow, overheadRow, preprocessRow } from './rows.js';
import type { IngestRun, IngestSuiteResult, PreprocessRun } from './runner.js';
import type { IngestScenario } from './suite.js';

/** The results files of a run: results/<scenario>/<contestant>.json. */
export function ingestResultsFiles(result: IngestSuiteResult): ResultsFileEntry[] {
  const { suite } = result;
  return suite.scenarios.flatMap((sc) =>
    suite.contestants.map((c) => ({
      path: `results/${sc.name}/${c.name}.json`,
      payload: {
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
            resources: r.resources === null ? null : storeResources(r.resources, false),
            services: Object.fromEntries(
              Object.entries(r.services).map(([k, v]) => [k, storeResources(v, false)]),
            ),
          })),
      },
    })),
  );
}

/** An ingest results file, as far as the reader reads it. */
interface IngestResultsFile {
  readonly suite: string;
  readonly scenario: IngestScenario;
  readonly contestant: string;
  readonly how: string;
  readonly settings: Record<string, unknown>;
  readonly skipped: string | null;
  readonly environment: Environment;
  readonly corpus: { readonly count: number };
  readonly preprocess: readonly PreprocessRun[];
  readonly runs: readonly (Omit<IngestRun, 'resources' | 'services'> & {
    readonly resources: StoredResources | null;
    readonly services: Readonly<Record<string, StoredResources>>;
  })[];
}

/** Whether a format-1 file (no `kind` field) is an ingest results file. */
export function isIngestResults(data: Readonly<Record<string, unknown>>): boolean {
  return (
    typeof data.contestant === 'string' &&
    typeof data.scenario === 'object' &&
    data.scenario !== null &&
    typeof data.corpus === 'object' &&
    Array.isArray(data.runs)
  );
}

/**
 * One contestant's rows, rebuilt from its results file: the scenario, the preprocessing probe and the process
 * overhead. Correct means every run found the corpus's known copies; agreement with another contestant's
 * detections is a suite run's check (it needs both runs of each repeat), not made here.
 */
export function readIngestResults(file: ResultsFileData): ContestantResults {
  const f = file.data as unknown as IngestResultsFile;
  const runs: IngestRun[] = f.runs.map((r) => ({
    ...r,
    resources: r.resources === null ? null : readResources(r.resources),
    services: Object.fromEntries(Object.entries(r.services).map(([k, v]) => [k, readResources(v)])),
  }));
  const checked = runs.filter((r) => r.bench !== null);
  const correct = checked.length === 0 ? null : !checked.some((r) => r.bench?.check?.correct === false);
  const sc = f.scenario;
  const repeats = Math.max(0, ...runs.map((r) => r.repeat + 1));
  const scenarios: ScenarioFigures[] = [];
  if (runs.length > 0) {
    const load = loadRow(f.contestant, runs, correct);
    scenarios.push({
      name: sc.name,
      description: sc.description,
      model: 'closed',
      setting: `-workers ${sc.workers} -batch ${sc.batch} -queue ${sc.queue} -faces=${sc.faces} -ocr=${sc.ocr}, ${sc.limit > 0 ? `${Math.min(sc.limit, f.corpus.count)}` : f.corpus.count} images per run; latency is per batch (sent → answer)`,
      repeats,
      row: load.row,
      perRepeat: load.perRepeat,
      metrics: INGEST_RATIO_METRICS,
    });
  }
  if (f.preprocess.length > 0) {
    const pre = preprocessRow(f.contestant, f.preprocess);
    scenarios.push({
      name: 'preprocess',
      description: 'Preprocessing alone, as each service does it, one core, no inference, no HTTP.',
      model: 'samples',
      setting: 'time is the median per image, CPU is process CPU per image',
      repeats: f.preprocess.length,
      row: pre.row,
      perRepeat: pre.perRepeat,
      metrics: [
        { metric: 'cpu_per_request', higherIsBetter: false },
        { metric: 'time', higherIsBetter: false },
      ],
    });
  }
  const started = runs.filter((r) => r.toHealthyMs !== null);
  if (started.length > 0) {
    const overhead = overheadRow(f.contestant, started);
    scenarios.push({
      name: 'process_overhead',
      description: 'What a service costs before it does any work: spawn → healthy, and its idle RSS.',
      model: 'cold_start',
      setting: `the runs of ${sc.name}; time is spawn → healthy, memory is the idle RSS after warm-up`,
      repeats: started.length,
      row: overhead.row,
      perRepeat: overhead.perRepeat,
      metrics: [
        { metric: 'time', higherIsBetter: false },
        { metric: 'peak_rss', higherIsBetter: false },
      ],
    });
  }
  return {
    kind: 'ingest',
    suite: f.suite,
    contestant: f.contestant,
    how: f.how,
    settings: f.settings,
    environment: f.environment,
    scenarios,
    notes: [
      'Detections and duplicates were checked against the corpus manifest in each file, not compared between the files (a suite run compares them).',
      ...(f.skipped !== null ? [`${f.contestant} was skipped in its run: ${f.skipped}`] : []),
    ],
  };
}
