/**
 * `pitlane bench default` (what `npm start` runs): the default comparison suite on embedded defaults, one
 * command on a fresh machine. Three suites in turn, each in its own folder under OUT/<date>/, and one page that
 * holds them all, OUT/<date>/report.html:
 *
 * 1. pipelines: pitlane's pipeline runtime against the CPython reference executor (built in);
 * 2. embeddings (examples/suites/embeddings.yaml): pitlane's embed server (FP32 and int8) against
 *    transformers.js and a Python FastAPI server on Debian's PyTorch;
 * 3. ingest (examples/suites/ingest.yaml): pitlane's ingest service against the Python FastAPI baseline, with
 *    one shared model server.
 *
 * Every suite runs at its `--quick` size so the whole job stays within ten minutes on two cores (`--full` runs
 * them at full size). A suite that fails is reported on the page and the others still run; a
 * contestant whose set-up is missing is skipped by its suite with the command that enables it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toError } from '../core/errors.js';
import { kindNamed } from '../lab/kinds/registry.js';
import { renderHtmlReportSet, type ReportSetEntry } from '../lab/report/html-page.js';
import { renderTerminalTable } from '../lab/report/terminal.js';
import { EXIT } from './exit-codes.js';
import { interruptible, runSuiteFile, runSuiteWith } from './suite-command.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BenchDefaultOptions {
  out: string;
  /** Every suite at full size (not quick). */
  full?: boolean;
  only?: string;
  python: string;
  verbose?: boolean;
}

export const DEFAULT_SUITES = ['pipelines', 'embeddings', 'ingest'] as const;

export async function benchDefaultCommand(opts: BenchDefaultOptions): Promise<number> {
  const date = new Date().toISOString().slice(0, 10);
  const dir = join(opts.out, date);
  await mkdir(dir, { recursive: true });
  const wanted = (opts.only ?? DEFAULT_SUITES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const { signal, dispose } = interruptible();
  const entries: ReportSetEntry[] = [];
  let exit: number = EXIT.OK;
  const worse = (code: number): void => {
    if (code !== EXIT.OK && (exit === EXIT.OK || code === EXIT.INTERRUPTED)) exit = code;
  };
  try {
    for (const name of DEFAULT_SUITES) {
      if (!wanted.includes(name) || signal.aborted) continue;
      process.stderr.write(`\n== ${name} ==\n`);
      const started = Date.now();
      const minutes = (): number => (Date.now() - started) / 60_000;
      try {
        const outcome =
          name === 'pipelines'
            ? await runSuiteWith(
                kindNamed('pipelines'),
                null,
                { out: dir, quick: opts.full !== true, python: opts.python },
                signal,
              )
            : await runSuiteFile(
                join(ROOT, 'examples', 'suites', `${name}.yaml`),
                {
                  out: dir,
                  quick: opts.full !== true,
                  // The ceilings (raw-engine loops) would take a third of the ten minutes; the suite files have them.
                  ceilings: opts.full === true,
                  ...(opts.verbose === true ? { verbose: true } : {}),
                },
                signal,
              );
        process.stdout.write(`\n${renderTerminalTable(outcome.report)}\n`);
        for (const p of outcome.problems) process.stderr.write(`${p}\n`);
        worse(outcome.exit);
        const href = relative(dir, join(dir, outcome.report.suite, 'report.html'));
        entries.push({ name, report: outcome.report, href, failure: null, minutes: minutes() });
      } catch (e) {
        const message = toError(e).message;
        process.stderr.write(`error: the ${name} suite failed: ${message}\n`);
        entries.push({ name, report: null, href: null, failure: message, minutes: minutes() });
        worse(EXIT.BENCH_FAILED);
      }
    }
  } finally {
    dispose();
  }
  const page = join(dir, 'report.html');
  await writeFile(
    page,
    renderHtmlReportSet(
      'pitlane: the default comparison suite',
      `Three comparisons on this machine, in one run: the pipeline runtime against the CPython reference executor, ` +
        `the embedding server against transformers.js, and photo ingest against a Python FastAPI service sharing one model server. ` +
        (opts.full === true
          ? 'Full sizes.'
          : 'Every suite ran at its quick size (fewer repeats and samples) and without the embedding suite’s ceilings: a look at the shape; run a suite on its own without --quick, or bench default --full, for figures to quote.'),
      entries,
    ),
  );
  await writeFile(
    join(dir, 'summary.json'),
    JSON.stringify(
      entries.map((e) => ({
        suite: e.name,
        failure: e.failure,
        minutes: Math.round(e.minutes * 10) / 10,
        headline: e.report?.headline ?? null,
        hypotheses: e.report?.hypotheses ?? [],
        warnings: e.report?.warnings ?? [],
      })),
      null,
      1,
    ),
  );
  process.stdout.write(`\nReport: ${page}\n`);
  return exit;
}
