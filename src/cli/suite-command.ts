/**
 * `pitlane bench SUITE.yaml` and `pitlane report DIR`: run a suite of any kind with a progress display (the lab
 * writes results, comparison, Markdown and HTML; this prints the summary and turns the verdict into an exit
 * code); re-render a report. Ctrl-C stops the measurement, stops every contestant and writes what was measured,
 * marked partial.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileError, toError } from '../core/errors.js';
import { printable } from '../core/terminal-text.js';
import { MAX_RESULTS_FILE_BYTES, readUserTextFile } from '../core/user-file.js';
import type { RegisteredKind } from '../lab/kinds/kind.js';
import { kindOfSuiteFile } from '../lab/kinds/registry.js';
import { renderHtmlReport } from '../lab/report/html-page.js';
import { renderMarkdownReport } from '../lab/report/markdown.js';
import type { LabReport } from '../lab/report/model.js';
import { killAllContestants } from '../lab/run/contestant.js';
import type { SuiteProgress } from '../lab/run/progress.js';
import { runSuite } from '../lab/run/suite-run.js';
import type { SuiteOutcome } from '../lab/results/verdict.js';
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
  /** The Python interpreter, for kinds that run Python themselves (pipelines). */
  python?: string;
  /** A benchmark.yaml whose scenarios replace the suite's (http suites; commander's --scenarios). */
  scenarios?: string;
  /** http suites with stability windows: closed-loop scenarios run for their num_requests (--seed-sizes). */
  seedSizes?: boolean;
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

/** What running one suite produced. */
export interface SuiteFileOutcome {
  readonly report: LabReport;
  readonly paths: readonly string[];
  /** The comparison JSON (what --json prints). */
  readonly comparison: object;
  /** The terminal summary. */
  readonly terminal: string;
  /** The exit code the run deserves on its own (failures, incorrect answers, thresholds). */
  readonly exit: number;
  /** Lines for stderr explaining a non-zero exit. */
  readonly problems: readonly string[];
}

const EXIT_OF: Readonly<Record<SuiteOutcome, number>> = {
  ok: EXIT.OK,
  interrupted: EXIT.INTERRUPTED,
  failed: EXIT.BENCH_FAILED,
  thresholds_failed: EXIT.THRESHOLDS_FAILED,
};

/**
 * Runs a suite of any kind (a suite file: its `kind` field picks the kind; null file: the kind's built-in suite)
 * with a progress display, and writes its results and reports into OUT/<suite name>/. Used by `pitlane bench
 * FILE`, `pitlane bench pipelines` and the default suite.
 */
export async function runSuiteWith(
  kind: RegisteredKind,
  file: string | null,
  opts: BenchSuiteOptions,
  signal: AbortSignal,
): Promise<SuiteFileOutcome> {
  const only = opts.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const run = await runSuite(
    kind,
    file,
    {
      quick: opts.quick === true,
      ceilings: opts.ceilings !== false,
      python: opts.python ?? 'python3',
      signal,
      onProgress: progressPrinter(),
      ...(only !== undefined ? { only } : {}),
      ...(opts.repeats !== undefined ? { repeats: opts.repeats } : {}),
      ...(opts.coldStarts !== undefined ? { coldStarts: opts.coldStarts } : {}),
      ...(opts.scenarios !== undefined ? { scenariosFile: opts.scenarios } : {}),
      ...(opts.seedSizes === true ? { seedSizes: true } : {}),
      ...(opts.verbose === true
        ? { onLog: (name: string, line: string) => void process.stderr.write(`[${name}] ${line}\n`) }
        : {}),
    },
    opts.out,
  );
  return {
    report: run.report,
    paths: run.paths,
    comparison: run.comparison,
    terminal: run.terminal,
    exit: EXIT_OF[run.verdict.outcome],
    problems: run.verdict.problems,
  };
}

/** Runs a suite file of any kind; see runSuiteWith. */
export async function runSuiteFile(
  file: string,
  opts: BenchSuiteOptions,
  signal: AbortSignal,
): Promise<SuiteFileOutcome> {
  return runSuiteWith(await kindOfSuiteFile(file), file, opts, signal);
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

/** The comparison JSON (--json) or the terminal summary and the files written, on stdout; problems on stderr. */
export function printOutcome(outcome: SuiteFileOutcome, opts: Pick<BenchSuiteOptions, 'json'>): void {
  if (opts.json === true) {
    process.stdout.write(JSON.stringify(outcome.comparison, null, 2) + '\n');
  } else {
    process.stdout.write(`\n${outcome.terminal}\nWrote ${outcome.paths.join(', ')}\n`);
  }
}

export async function benchSuiteCommand(file: string, opts: BenchSuiteOptions): Promise<number> {
  const { signal, dispose } = interruptible();
  try {
    const outcome = await runSuiteFile(file, opts, signal);
    printOutcome(outcome, opts);
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
