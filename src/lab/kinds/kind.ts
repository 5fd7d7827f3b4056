/**
 * What a suite kind is: the one interface every kind (http, ingest, pipelines, ...) implements, and what the
 * shared path (run/suite-run.ts, results/compare.ts) calls. A kind owns its suite (load: a suite file, or its
 * built-in suite when it has one), its runner, its report builder and its results files; everything around them
 * (options, progress, writing files, the comparison JSON, the terminal table, the verdict, compare) is shared.
 *
 * `defineKind` closes a kind over its own suite and result types, so the registry can hold kinds of different
 * types side by side and the shared path never sees them.
 */
import type { TSchema } from '@sinclair/typebox';
import { BenchError, UsageError } from '../../core/errors.js';
import type { LabReport } from '../report/model.js';
import type { SuiteProgress } from '../run/progress.js';
import { comparisonJson } from '../results/comparison.js';
import type { ContestantResults } from '../results/compare.js';
import type { PlainFile, ResultsFileData, ResultsFileEntry } from '../results/results-file.js';
import type { VerdictFacts } from '../results/verdict.js';

/** How a suite is run, for every kind (a kind ignores what does not apply to it). */
export interface KindRunOptions {
  /** Scenario names to run (default: all); unknown names are an error listing the suite's scenarios. */
  readonly only?: readonly string[];
  /** Repeats instead of the suite's. */
  readonly repeats?: number;
  /** Cold-start runs instead of the suite's. */
  readonly coldStarts?: number;
  /** A benchmark.yaml whose scenarios replace the suite file's (`--scenarios`; kinds with takesScenariosFile). */
  readonly scenariosFile?: string;
  /** Closed-loop scenarios run for their num_requests even where the suite has stability windows. */
  readonly seedSizes?: boolean;
  /** Scaled down for a look (`--quick`): fewer repeats and samples, figures not for quoting. */
  readonly quick: boolean;
  /** False: leave out the suite's ceilings. */
  readonly ceilings: boolean;
  /** The Python interpreter, for kinds that run Python themselves. */
  readonly python: string;
  readonly signal: AbortSignal;
  readonly onProgress: (p: SuiteProgress) => void;
  readonly onLog?: (name: string, line: string) => void;
}

/** A suite kind, over its suite type S and result type R. */
export interface SuiteKind<S, R> {
  /** The `kind` field of its suite files. */
  readonly name: string;
  /** One line for listings. */
  readonly description: string;
  /** The schema of its suite files, with its `kind` field (null: a kind whose suite is built in). */
  readonly schema: TSchema | null;
  /** Reads and validates a suite file of this kind; null: the kind's built-in suite (a kind without one throws). */
  load(
    file: string | null,
    options: { readonly quick: boolean; readonly scenariosFile?: string; readonly seedSizes?: boolean },
  ): Promise<S>;
  /** Whether its suites take their scenarios from a benchmark.yaml given on the command line (`--scenarios`). */
  readonly takesScenariosFile?: boolean;
  /** The suite's name: its output folder and its title. */
  suiteName(suite: S): string;
  scenarioNames(suite: S): readonly string[];
  /** Runs the suite. Throws only for problems that make the whole run impossible. */
  run(suite: S, options: KindRunOptions): Promise<R>;
  toReport(result: R): LabReport;
  /** Its results files (one per contestant and group), as payloads; the shared writer adds the header. */
  resultsFiles(result: R): readonly ResultsFileEntry[];
  /** Files written as they are beside the results (the seed's results/<model>/<runtime>.json), when it has some. */
  plainFiles?(result: R, report: LabReport): readonly PlainFile[];
  /** Its comparison JSON, when it has a format of its own (default: the shared one, from the report). */
  comparison?(result: R, report: LabReport): object;
  verdictFacts(result: R): VerdictFacts;
  /** Its terminal summary, when it prints one of its own (default: the shared terminal table). */
  terminal?(result: R, report: LabReport): string;
  /** Whether a results file without a `kind` field (format 1) is one of this kind's. */
  recognises(data: Readonly<Record<string, unknown>>): boolean;
  /** One contestant's rows from one of its results files (any version). */
  readResults(file: ResultsFileData): ContestantResults;
}

/** What running a suite of some kind produced, with the kind's types closed over. */
export interface KindOutcome {
  readonly suiteName: string;
  readonly report: LabReport;
  readonly resultsFiles: readonly ResultsFileEntry[];
  /** Files written as they are (no results header). */
  readonly plainFiles: readonly PlainFile[];
  readonly comparison: object;
  readonly facts: VerdictFacts;
  /** The kind's own terminal summary (null: the shared terminal table). */
  readonly terminal: string | null;
}

/** A kind as the registry holds it. */
export interface RegisteredKind {
  readonly name: string;
  readonly description: string;
  readonly schema: TSchema | null;
  /** Loads (file null: the built-in suite), checks `only`, runs, and builds the report and the files' payloads. */
  runSuite(file: string | null, options: KindRunOptions): Promise<KindOutcome>;
  recognises(data: Readonly<Record<string, unknown>>): boolean;
  readResults(file: ResultsFileData): ContestantResults;
}

/** A kind closed over its own types, for the registry. */
export function defineKind<S, R>(kind: SuiteKind<S, R>): RegisteredKind {
  return Object.freeze({
    name: kind.name,
    description: kind.description,
    schema: kind.schema,
    async runSuite(file: string | null, options: KindRunOptions): Promise<KindOutcome> {
      if (options.scenariosFile !== undefined && kind.takesScenariosFile !== true) {
        throw new UsageError(`--scenarios applies to http suites, not to a ${kind.name} suite`);
      }
      const suite = await kind.load(file, {
        quick: options.quick,
        ...(options.scenariosFile !== undefined ? { scenariosFile: options.scenariosFile } : {}),
        ...(options.seedSizes === true ? { seedSizes: true } : {}),
      });
      const names = kind.scenarioNames(suite);
      const unknown = (options.only ?? []).filter((n) => !names.includes(n));
      if (unknown.length > 0) {
        throw new BenchError(`unknown scenario ${unknown.join(', ')}; scenarios: ${names.join(', ')}`);
      }
      const result = await kind.run(suite, options);
      const report = kind.toReport(result);
      return {
        suiteName: kind.suiteName(suite),
        report,
        resultsFiles: kind.resultsFiles(result),
        plainFiles: kind.plainFiles?.(result, report) ?? [],
        comparison: kind.comparison?.(result, report) ?? comparisonJson(report),
        facts: kind.verdictFacts(result),
        terminal: kind.terminal?.(result, report) ?? null,
      };
    },
    recognises: (data: Readonly<Record<string, unknown>>) => kind.recognises(data),
    readResults: (file: ResultsFileData) => kind.readResults(file),
  });
}
