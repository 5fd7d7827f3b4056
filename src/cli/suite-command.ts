/**
 * `pitlane bench SUITE.yaml`, `pitlane compare A.json B.json` and `pitlane report DIR`: run an HTTP suite with a
 * progress display, write results, comparison, Markdown and HTML; compare two results files; re-render a
 * report. Ctrl-C stops the measurement, stops every contestant and writes what was measured, marked partial.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BenchError, FileError, toError } from '../core/errors.js';
import { printable } from '../core/terminal-text.js';
import { MAX_RESULTS_FILE_BYTES, readUserTextFile } from '../core/user-file.js';
import { killAllContestants } from '../lab/run/contestant.js';
import { httpComparisonJson, httpLabReport, writeHttpResults } from '../lab/kinds/http/report.js';
import { runHttpSuite, type SuiteProgress } from '../lab/kinds/http/runner.js';
import { ingestLabReport, writeIngestResults } from '../lab/kinds/ingest/report.js';
import { loadIngestSuite, runIngestSuite, suiteKind } from '../lab/kinds/ingest/runner.js';
import { renderHtmlReport } from '../lab/report-html.js';
import { renderMarkdownReport, renderTerminalTable } from '../lab/report-markdown.js';
import type { LabReport } from '../lab/report-model.js';
import { loadSuite, quickSuite, type Suite } from '../lab/kinds/http/suite.js';
import { EXIT } from './exit-codes.js';

export interface BenchSuiteOptions {
  out: string;
  only?: string;
  repeats?: number;
  coldStarts?: number;
  json?: boolean;
  verbose?: boolean;
  quick?: boolean;
  /** False: leave out the suite's ceilings (commander's --no-ceilings). */
  ceilings?: boolean;
}

/** Progress on stderr: one rewritten line on a terminal, plain lines otherwise. */
export function progressPrinter(): (p: SuiteProgress) => void {
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let step = '';
  let lastPlain = 0;
  return (p) => {
    const elapsed = `${((Date.now() - started) / 1000).toFixed(0)}s`;
    if (p.kind === 'warning') {
      // Its own line, never overwritten by the next progress line on a terminal.
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}warning: ${printable(p.text)}\n`);
      return;
    }
    if (p.kind === 'phase') {
      if (tty) process.stderr.write(`\r\x1b[K${elapsed} ${p.text}`);
      else process.stderr.write(`${elapsed} ${p.text}\n`);
      return;
    }
    if (p.kind === 'step') {
      const width = 20;
      const filled = p.total > 0 ? Math.round((p.done / p.total) * width) : 0;
      step = `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${p.done}/${p.total}`;
      if (tty) {
        process.stderr.write(`\r\x1b[K${step} ${elapsed} ${p.label}`);
        if (p.label === 'done' || p.label === 'interrupted') process.stderr.write('\n');
      } else {
        process.stderr.write(`[${p.done}/${p.total}] ${elapsed} ${p.label}\n`);
      }
      return;
    }
    const { done, total, ratePerS, errors } = p.progress;
    const amount = total !== null ? `${done}/${total}` : `${done}`;
    const line = `${p.label}: ${amount} requests, ${ratePerS.toFixed(0)}/s, ${errors} errors`;
    if (tty) process.stderr.write(`\r\x1b[K${step} ${elapsed} ${line}`);
    else if (Date.now() - lastPlain > 5000) {
      lastPlain = Date.now();
      process.stderr.write(`  ${elapsed} ${line}\n`);
    }
  };
}

/** Applies command-line overrides to a loaded suite. */
function withOverrides(suite: Suite, opts: BenchSuiteOptions): Suite {
  const only = opts.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (only !== undefined) {
    const unknown = only.filter((n) => !suite.scenarios.some((s) => s.name === n));
    if (unknown.length > 0) {
      throw new BenchError(
        `unknown scenario ${unknown.join(', ')}; scenarios: ${suite.scenarios.map((s) => s.name).join(', ')}`,
      );
    }
  }
  const scaled = opts.quick === true ? quickSuite(suite) : suite;
  return {
    ...scaled,
    scenarios: only === undefined ? scaled.scenarios : scaled.scenarios.filter((s) => only.includes(s.name)),
    repeats: opts.repeats ?? scaled.repeats,
    coldStartRuns: opts.coldStarts ?? scaled.coldStartRuns,
    ceilings: opts.ceilings === false ? [] : scaled.ceilings,
  };
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

/** What running one suite file produced. */
export interface SuiteFileOutcome {
  readonly report: LabReport;
  readonly paths: readonly string[];
  /** The exit code the run deserves on its own (failures, incorrect answers, thresholds). */
  readonly exit: number;
  /** Lines for stderr explaining a non-zero exit. */
  readonly problems: readonly string[];
}

/**
 * Runs a suite file of either kind (HTTP, or `kind: ingest`) with a progress display, and writes its results
 * and reports into OUT/<suite name>/. Used by `pitlane bench FILE` and by the default suite.
 */
export async function runSuiteFile(
  file: string,
  opts: BenchSuiteOptions,
  signal: AbortSignal,
): Promise<SuiteFileOutcome> {
  const onLog =
    opts.verbose === true
      ? { onLog: (name: string, line: string) => void process.stderr.write(`[${name}] ${line}\n`) }
      : {};
  if ((await suiteKind(file)) === 'ingest') {
    const suite = await loadIngestSuite(file, { quick: opts.quick === true });
    const only = opts.only
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = (only ?? []).filter((n) => !suite.scenarios.some((s) => s.name === n));
    if (unknown.length > 0) {
      throw new BenchError(
        `unknown scenario ${unknown.join(', ')}; scenarios: ${suite.scenarios.map((s) => s.name).join(', ')}`,
      );
    }
    const printer = progressPrinter();
    const result = await runIngestSuite(
      { ...suite, repeats: opts.repeats ?? suite.repeats },
      {
        signal,
        ...(only !== undefined ? { only } : {}),
        onProgress: (p) =>
          p.kind === 'load'
            ? printer({
                kind: 'load',
                label: p.label,
                progress: {
                  done: p.progress.images,
                  total: p.progress.total,
                  ratePerS: p.progress.imagesPerS,
                  errors: p.progress.errors,
                },
              })
            : printer(p),
        ...onLog,
      },
    );
    const report = ingestLabReport(result);
    const dir = join(opts.out, suite.name);
    const paths = [...(await writeIngestResults(result, dir)), ...(await writeReports(report, dir))];
    const problems: string[] = [];
    const failed = result.runs.some((r) => r.failure !== null);
    const incorrect = report.scenarios.some((s) => s.rows.some((r) => r.correct === false));
    if (failed || incorrect) {
      problems.push(
        `error PL_ERR_BENCH: ${failed ? 'a contestant failed' : 'a contestant gave different answers'} (see the warnings in the report)`,
      );
    }
    return {
      report,
      paths,
      exit: result.interrupted ? EXIT.INTERRUPTED : problems.length > 0 ? EXIT.BENCH_FAILED : EXIT.OK,
      problems,
    };
  }
  const suite = withOverrides(await loadSuite(file), opts);
  const result = await runHttpSuite(suite, { signal, onProgress: progressPrinter(), ...onLog });
  const report = httpLabReport(result);
  const dir = join(opts.out, suite.name);
  const paths = [...(await writeHttpResults(result, report, dir)), ...(await writeReports(report, dir))];
  if (result.interrupted) return { report, paths, exit: EXIT.INTERRUPTED, problems: [] };
  const failed = Object.keys(result.startFailures).length > 0 || result.runs.some((r) => r.failure !== null);
  const incorrect = report.scenarios.some((s) => s.rows.some((r) => r.correct === false));
  if (failed || incorrect) {
    return {
      report,
      paths,
      exit: EXIT.BENCH_FAILED,
      problems: [
        `error PL_ERR_BENCH: ${failed ? 'a contestant failed' : 'a contestant gave different answers'} (see the warnings above)`,
      ],
    };
  }
  const thresholds = report.scenarios.flatMap((s) =>
    s.rows.flatMap((r) =>
      r.thresholds
        .filter((t) => !t.ok)
        .map((t) => `${s.name} · ${r.contestant}: ${t.expression} (was ${t.actual})`),
    ),
  );
  if (thresholds.length > 0) {
    return {
      report,
      paths,
      exit: EXIT.THRESHOLDS_FAILED,
      problems: [
        `error PL_ERR_THRESHOLDS: ${thresholds.length} threshold(s) failed:\n  ${thresholds.join('\n  ')}`,
      ],
    };
  }
  return { report, paths, exit: EXIT.OK, problems: [] };
}

/** Ctrl-C once: stop measuring and write what was measured; twice: kill every contestant and quit. */
export function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) {
      killAllContestants();
      process.exit(EXIT.INTERRUPTED);
    }
    process.stderr.write(
      '\npitlane: interrupted: stopping contestants and writing what was measured (Ctrl-C again to quit now)\n',
    );
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export async function benchSuiteCommand(file: string, opts: BenchSuiteOptions): Promise<number> {
  const { signal, dispose } = interruptible();
  try {
    const outcome = await runSuiteFile(file, opts, signal);
    if (opts.json === true) {
      process.stdout.write(JSON.stringify(httpComparisonJson(outcome.report), null, 2) + '\n');
    } else {
      process.stdout.write(`\n${renderTerminalTable(outcome.report)}\n\nWrote ${outcome.paths.join(', ')}\n`);
    }
    for (const p of outcome.problems) process.stderr.write(`${p}\n`);
    return outcome.exit;
  } finally {
    dispose();
  }
}

/** `pitlane report DIR -o FILE`: re-renders the HTML (or Markdown, by extension) from DIR/report.json. */
export async function reportCommand(dir: string, opts: { output?: string }): Promise<number> {
  const path = join(dir, 'report.json');
  let report: LabReport;
  try {
    report = JSON.parse(readUserTextFile(path, 'report data', MAX_RESULTS_FILE_BYTES)) as LabReport;
  } catch (e) {
    throw new FileError(
      path,
      `cannot read the report data (${toError(e).message}); run pitlane bench with --out ${dir} first`,
    );
  }
  const out = opts.output ?? join(dir, 'report.html');
  await writeFile(out, out.endsWith('.md') ? renderMarkdownReport(report) : renderHtmlReport(report));
  process.stdout.write(`Wrote ${out}\n`);
  return EXIT.OK;
}
