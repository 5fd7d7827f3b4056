/**
 * Running a suite of any kind, the one path: the kind loads, runs and builds its report; this writes what every
 * run writes into OUT/<suite name>/ (the results files, comparison.json, report.json, report.md, report.html),
 * and gives the terminal summary and the verdict. `pitlane bench FILE`, `pitlane bench pipelines` and the default
 * suite all come through here.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KindRunOptions, RegisteredKind } from '../kinds/kind.js';
import { renderHtmlReport } from '../report/html-page.js';
import { renderMarkdownReport } from '../report/markdown.js';
import type { LabReport } from '../report/model.js';
import { renderTerminalTable } from '../report/terminal.js';
import { writePlainFiles, writeResultsFiles } from '../results/results-file.js';
import { suiteVerdict, type SuiteVerdict } from '../results/verdict.js';

/** What running one suite produced. */
export interface SuiteRun {
  readonly report: LabReport;
  /** Every file written. */
  readonly paths: readonly string[];
  /** The comparison JSON (also in comparison.json). */
  readonly comparison: object;
  /** What to print on the terminal. */
  readonly terminal: string;
  readonly verdict: SuiteVerdict;
}

/** Writes report.json, report.md and report.html; returns their paths. */
export async function writeReports(report: LabReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const md = join(dir, 'report.md');
  const html = join(dir, 'report.html');
  await writeFile(json, JSON.stringify(report, null, 1));
  await writeFile(md, renderMarkdownReport(report));
  await writeFile(html, renderHtmlReport(report));
  return [json, md, html];
}

/** Runs a suite of `kind` (file null: its built-in suite) and writes everything into `out`/<suite name>/. */
export async function runSuite(
  kind: RegisteredKind,
  file: string | null,
  options: KindRunOptions,
  out: string,
): Promise<SuiteRun> {
  const outcome = await kind.runSuite(file, options);
  const dir = join(out, outcome.suiteName);
  const paths = await writeResultsFiles(dir, kind.name, outcome.resultsFiles);
  paths.push(...(await writePlainFiles(dir, outcome.plainFiles)));
  await mkdir(dir, { recursive: true });
  const comparison = join(dir, 'comparison.json');
  await writeFile(comparison, JSON.stringify(outcome.comparison, null, 2) + '\n');
  paths.push(comparison, ...(await writeReports(outcome.report, dir)));
  return {
    report: outcome.report,
    paths,
    comparison: outcome.comparison,
    terminal: outcome.terminal ?? renderTerminalTable(outcome.report),
    verdict: suiteVerdict(outcome.report, outcome.facts),
  };
}
