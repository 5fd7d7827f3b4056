/**
 * `pitlane compare A.json B.json` for every suite kind: each kind reads its results file into one contestant's
 * rows (ContestantResults: the row the report shows and its figures per repeat, per scenario); this module puts
 * two of them side by side, scenario by scenario, with A as the baseline and the same paired-repeat ratios as a
 * suite run (ratios.ts). Runs from different moments are flagged: a suite's own comparisons are interleaved in
 * one run, these are not.
 */
import { BenchError } from '../../core/errors.js';
import type { Environment } from '../environment.js';
import type { LabReport, ReportRow, ReportScenario } from '../report/model.js';
import { rowWarnings } from '../report/rows.js';
import { pairedRatios, type RatioMetricSpec, type RepeatFigures } from './ratios.js';

/** One scenario of one contestant, as its results file holds it. */
export interface ScenarioFigures {
  readonly name: string;
  readonly description: string;
  readonly model: ReportScenario['model'];
  readonly setting: string;
  readonly repeats: number;
  readonly row: ReportRow;
  readonly perRepeat: readonly RepeatFigures[];
  /** The metrics this scenario's rows are compared on. */
  readonly metrics: readonly RatioMetricSpec[];
}

/** One contestant's results, read from its results file by its kind. */
export interface ContestantResults {
  readonly kind: string;
  readonly suite: string;
  readonly contestant: string;
  /** The command line or URL, for reports. */
  readonly how: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly environment: Environment;
  readonly scenarios: readonly ScenarioFigures[];
  /** What the kind wants said about comparing its files (e.g. that answers were not compared). */
  readonly notes: readonly string[];
}

/** The report comparing B against A (the baseline), over the scenarios both files hold. */
export function compareResults(
  a: ContestantResults,
  b: ContestantResults,
  paths: { readonly a: string; readonly b: string },
): LabReport {
  if (a.kind !== b.kind) {
    throw new BenchError(`${paths.a} holds ${a.kind} results and ${paths.b} ${b.kind} results: compare like with like`);
  }
  // Two files of the same contestant name still need distinct names in the report.
  const nameA = a.contestant === b.contestant ? `${a.contestant} (A)` : a.contestant;
  const nameB = a.contestant === b.contestant ? `${b.contestant} (B)` : b.contestant;
  const scenarios: ReportScenario[] = a.scenarios.flatMap((sa) => {
    const sb = b.scenarios.find((s) => s.name === sa.name);
    if (sb === undefined) return [];
    const rowA = { ...sa.row, contestant: nameA };
    const rowB = { ...sb.row, contestant: nameB };
    return [
      {
        name: sa.name,
        description: sa.description,
        model: sa.model,
        setting: sa.setting,
        repeats: Math.max(sa.repeats, sb.repeats),
        rows: [rowA, rowB],
        ratios: pairedRatios(
          { row: rowA, perRepeat: sa.perRepeat },
          { row: rowB, perRepeat: sb.perRepeat },
          nameB,
          nameA,
          sa.metrics,
        ),
        ceiling: null,
      },
    ];
  });
  if (scenarios.length === 0) throw new BenchError(`${paths.a} and ${paths.b} have no scenario in common`);
  const ea = a.environment;
  const eb = b.environment;
  const warnings = [
    ...(ea.cpu_model !== eb.cpu_model || ea.cores !== eb.cores
      ? [
          `Measured on different machines: ${ea.cpu_model} (${ea.cores} cores) vs ${eb.cpu_model} (${eb.cores} cores).`,
        ]
      : []),
    ...new Set([...a.notes, ...b.notes]),
  ];
  for (const s of scenarios) for (const r of s.rows) warnings.push(...rowWarnings(s.name, r));
  return {
    title: `pitlane compare: ${nameB} against ${nameA}`,
    suite: `compare-${a.contestant}-${b.contestant}`,
    summary: `${paths.a} (baseline) against ${paths.b}. Contestants ${nameA}, ${nameB}, compared with ${nameA} as the baseline.`,
    method: [
      'Each row is rebuilt from its results file as the suite run built it.',
      'Ratios are oriented so that > 1 favours the contestant, with 95% bootstrap intervals over the repeats both files measured, paired by repeat number. Failed, incorrect or client-saturated rows are excluded from ratios.',
      'These results come from files; unless both were written by one suite run, they were not measured interleaved, and the comparison is only as fair as the two runs were alike.',
    ],
    not_measured: ['Anything the results files do not hold.'],
    environment: ea,
    generated_at: new Date().toISOString(),
    contestants: [
      { name: nameA, baseline: true, how: `${a.how} — ${paths.a}`, settings: a.settings, resources_sampled: true },
      { name: nameB, baseline: false, how: `${b.how} — ${paths.b}`, settings: b.settings, resources_sampled: true },
    ],
    settings_differ: [],
    scenarios,
    cold_starts: [],
    headline: null,
    warnings,
    hypotheses: [],
  };
}
