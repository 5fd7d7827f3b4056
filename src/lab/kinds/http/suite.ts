/**
 * Loading a benchmark suite: parse, validate every rule with its JSON path (and line and column), read body
 * files and custom modules, and normalise into the Suite the runner uses (all defaults filled in, here and
 * nowhere else). A suite with problems lists them all and starts nothing.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SuiteInvalidError, toError, type ManifestProblem } from '../../../core/errors.js';
import {
  locateAndSortProblems,
  parseDocumentText,
  readConfigFile,
  schemaProblems,
} from '../../../core/config-document.js';
import type { CorrectnessRule } from '../../correctness.js';
import type { ContestantSpec } from '../../run/contestant.js';
import type { LoadPlan, StabilityPlan } from '../../load/load-engine.js';
import { durationMs } from '../../suite-schema.js';
import { ScenariosFileRefSchema, SuiteSchema, type SuiteDocument } from './schema.js';
import { readScenariosFile, scenarioEntries, type ScenarioEntry } from './scenarios-file.js';
import type { Threshold } from '../../thresholds.js';
import { checkContestants, contestantSpec } from '../../suite-contestants.js';
import { SUITE_DEFAULTS } from './defaults.js';
import { ceilingOf, correctnessRule, thresholdsOf, workloadBodies } from './suite-sections.js';

export { SUITE_DEFAULTS } from './defaults.js';

/** A contestant as the runner uses it. */
export interface SuiteContestant {
  readonly spec: ContestantSpec;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly baseline: boolean;
  /** The command line or URL, for reports. */
  readonly how: string;
}

/** A workload: requests made from its bodies. */
export interface SuiteWorkload {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Serialised bodies (null: no body), in file order. */
  readonly bodies: readonly (string | null)[];
  readonly order: 'round_robin' | 'random';
  readonly seed: number;
  readonly expectStatus: number;
  readonly timeoutMs: number;
}

/** A scenario: a load plan on a workload, with its thresholds. */
export interface SuiteScenario {
  readonly name: string;
  readonly description: string;
  readonly workload: string;
  readonly plan: LoadPlan;
  readonly thresholds: readonly Threshold[];
}

/** A validated, normalised suite. */
export interface Suite {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly contestants: readonly SuiteContestant[];
  readonly baseline: string;
  readonly workloads: ReadonlyMap<string, SuiteWorkload>;
  readonly scenarios: readonly SuiteScenario[];
  readonly warmup: { readonly requests: number; readonly durationMs: number };
  /** Open-loop scenarios: whether a rate above a contestant's closed-loop capacity in this run is skipped. */
  readonly openLoop: { readonly skipAboveCapacity: boolean };
  readonly repeats: number;
  readonly coldStartRuns: number;
  readonly correctness: CorrectnessRule;
  readonly correctnessSample: number;
  /** Scaled down by --quick: figures are for a look, not for quoting. */
  readonly quick?: boolean;
  /** Limits measured once (a raw engine loop), shown beside the contestants, never among them. */
  readonly ceilings: readonly SuiteCeiling[];
}

import type { SuiteCeiling } from './suite-sections.js';
export type { SuiteCeiling };

/**
 * The suite scaled down for a quick look (`--quick`, CI): a tenth of the requests and of the durations (at least
 * 10 requests per client and 2 s; stability windows a fifth as long, at least 1 s, and no retries), one repeat, one cold start, a tenth of the warm-up. Same scenarios, same
 * concurrency and rates: the shape of the comparison is kept, its precision is not. Not for quoting.
 */
export function quickSuite(suite: Suite): Suite {
  const tenth = (ms: number): number => Math.max(2000, Math.round(ms / 10));
  return {
    ...suite,
    quick: true,
    scenarios: suite.scenarios.map((s) => {
      const p = s.plan;
      if (p.model === 'open') return { ...s, plan: { ...p, durationMs: tenth(p.durationMs) } };
      return {
        ...s,
        plan: {
          ...p,
          // Stability windows: a fifth of the window (at least 1 s), and no more windows than are measured.
          ...(p.stability !== undefined
            ? {
                stability: {
                  ...p.stability,
                  windowMs: Math.max(1000, Math.round(p.stability.windowMs / 5)),
                  maxWindows: p.stability.windows,
                },
              }
            : {}),
          ...(p.numRequests !== undefined
            ? { numRequests: Math.max(p.concurrency * 10, Math.ceil(p.numRequests / 10)) }
            : {}),
          ...(p.durationMs !== undefined ? { durationMs: tenth(p.durationMs) } : {}),
        },
      };
    }),
    warmup: {
      requests: Math.ceil(suite.warmup.requests / 10),
      durationMs: Math.round(suite.warmup.durationMs / 10),
    },
    repeats: 1,
    coldStartRuns: Math.min(1, suite.coldStartRuns),
    ceilings: suite.ceilings.map((c) => ({ ...c, command: [...c.command, ...c.quickArgs] })),
  };
}

/** How a suite file is loaded. */
export interface LoadSuiteOptions {
  /** A benchmark.yaml whose scenarios replace the suite's (`pitlane bench SUITE --scenarios FILE`). */
  readonly scenariosFile?: string;
  /** Run closed-loop scenarios for their num_requests even when the suite has stability windows (`--seed-sizes`). */
  readonly seedSizes?: boolean;
}

/**
 * Reads, validates and normalises a suite file. Throws FileError or SuiteInvalidError (naming the scenarios file
 * when the problems are in it).
 */
export async function loadSuite(file: string, options: LoadSuiteOptions = {}): Promise<Suite> {
  const text = readConfigFile(file, 'suite file');
  const parsed = await parseDocumentText(text, file);
  if (!parsed.ok) throw new SuiteInvalidError(file, [{ path: '$', message: parsed.message }]);
  const problems: ManifestProblem[] = [];
  const suite = await validateSuite(parsed.doc, file, problems, options);
  if (problems.length > 0 || suite === null) {
    await locateAndSortProblems(text, problems);
    throw new SuiteInvalidError(file, problems);
  }
  return suite;
}

/** Where a suite's scenarios were read: the suite itself (file null) or a benchmark.yaml. */
interface ScenarioSource {
  readonly entries: readonly ScenarioEntry[];
  /** The benchmark.yaml, its text and its own problems; null: the entries are the suite's own. */
  readonly file: {
    readonly path: string;
    readonly text: string;
    readonly problems: ManifestProblem[];
  } | null;
  /** The workload of entries that name none, when the suite sets one for a file. */
  readonly workload: string | undefined;
}

/**
 * The suite's scenarios: from --scenarios, from the file `scenarios: {file}` names, or its own (map or list).
 * Pushes the suite's problems; null when there are some.
 */
async function scenarioSource(
  given: unknown,
  baseDir: string,
  options: LoadSuiteOptions,
  problems: ManifestProblem[],
): Promise<ScenarioSource | null> {
  const isRef =
    typeof given === 'object' && given !== null && typeof (given as { file?: unknown }).file === 'string';
  let path: string | undefined;
  let workload: string | undefined;
  if (options.scenariosFile !== undefined) {
    path = resolve(options.scenariosFile);
  } else if (isRef) {
    const found = schemaProblems(ScenariosFileRefSchema, given, '$.scenarios');
    problems.push(...found);
    if (found.length > 0) return null;
    const ref = given as { file: string; workload?: string };
    path = resolve(baseDir, ref.file);
    workload = ref.workload;
  }
  if (path === undefined) {
    const entries = scenarioEntries(given, '$.scenarios', problems);
    return entries === null ? null : { entries, file: null, workload: undefined };
  }
  try {
    const read = await readScenariosFile(path);
    return {
      entries: read.entries,
      file: { path, text: read.text, problems: read.problems },
      workload,
    };
  } catch (e) {
    problems.push({
      path: options.scenariosFile !== undefined ? '$' : '$.scenarios.file',
      message: `${options.scenariosFile !== undefined ? '--scenarios: ' : ''}${toError(e).message}`,
    });
    return null;
  }
}

/** Validates a parsed suite; pushes every problem; returns the suite when there are none. */
export async function validateSuite(
  doc: unknown,
  file: string,
  problems: ManifestProblem[],
  options: LoadSuiteOptions = {},
): Promise<Suite | null> {
  const baseDir = dirname(resolve(file));
  // The scenarios section is checked on its own (scenarios-file.ts), so its problems keep their own paths
  // (a union's would all be "expected union value" at $.scenarios).
  // With --scenarios, the suite may have none of its own.
  const isObject = typeof doc === 'object' && doc !== null && !Array.isArray(doc);
  const checked = isObject && ('scenarios' in doc || options.scenariosFile !== undefined);
  problems.push(...schemaProblems(SuiteSchema, checked ? { ...doc, scenarios: {} } : doc, '$'));
  const own = isObject && 'scenarios' in doc ? doc.scenarios : undefined;
  const source = checked ? await scenarioSource(own, baseDir, options, problems) : null;
  if (problems.length > 0 || source === null) return null;
  const s = doc as SuiteDocument;

  // Contestants: unique names, a command or a URL, one baseline.
  const baseline = checkContestants(s.contestants, problems);
  s.contestants.forEach((c, i) => {
    const at = `$.contestants[${i}]`;
    if ((c.command === undefined) === (c.url === undefined)) {
      problems.push({
        path: at,
        message: 'give either command (a process to start) or url (a running service)',
      });
    }
    if (c.url !== undefined && c.port !== undefined) {
      problems.push({ path: `${at}.port`, message: 'port applies to started contestants; put it in url' });
    }
    if (c.command !== undefined && c.port === undefined) {
      const mentions = [...c.command, ...Object.values(c.env ?? {}), c.health?.url ?? ''].some((x) =>
        x.includes('{port}'),
      );
      if (mentions)
        problems.push({ path: `${at}.port`, message: '{port} is used but no port is set (use port: auto)' });
    }
    if (c.cwd !== undefined && !existsSync(resolve(baseDir, c.cwd))) {
      problems.push({ path: `${at}.cwd`, message: `no such folder: ${resolve(baseDir, c.cwd)}` });
    }
  });

  // Workloads: bodies from one source, files readable and JSONL.
  const workloads = new Map<string, SuiteWorkload>();
  for (const [name, w] of Object.entries(s.workloads)) {
    const at = `$.workloads.${name}`;
    const bodies = await workloadBodies(w, at, baseDir, problems);
    workloads.set(name, {
      name,
      method: w.method ?? (bodies.some((b) => b !== null) ? 'POST' : 'GET'),
      path: w.path,
      headers: {
        ...(bodies.some((b) => b !== null) ? { 'content-type': 'application/json' } : {}),
        ...(w.headers ?? {}),
      },
      bodies,
      order: w.bodies?.order ?? 'round_robin',
      seed: w.bodies?.seed ?? SUITE_DEFAULTS.seed,
      expectStatus: w.expect_status ?? SUITE_DEFAULTS.expectStatus,
      timeoutMs: w.timeout !== undefined ? durationMs(w.timeout) : SUITE_DEFAULTS.requestTimeoutMs,
    });
  }
  if (workloads.size === 0) problems.push({ path: '$.workloads', message: 'define at least one workload' });

  // Scenarios: closed or open, a known workload, readable thresholds.
  const globalThresholds = thresholdsOf(s.thresholds ?? [], '$.thresholds', problems);
  const stability = options.seedSizes === true ? null : stabilityOf(s.stability, problems);
  const scenarios: SuiteScenario[] = [];
  if (source.workload !== undefined && !workloads.has(source.workload)) {
    problems.push({
      path: '$.scenarios.workload',
      message: `no workload '${source.workload}' (workloads: ${[...workloads.keys()].join(', ')})`,
    });
  }
  // Problems of a scenario go to the file it was written in.
  const sink = source.file?.problems ?? problems;
  for (const { name, doc: sc, at } of source.entries) {
    const workload =
      sc.workload ?? source.workload ?? (workloads.size === 1 ? [...workloads.keys()][0] : undefined);
    if (workload === undefined) {
      sink.push({
        path: `${at}.workload`,
        message: `required when there are several workloads (${[...workloads.keys()].join(', ')})`,
      });
      continue;
    }
    if (!workloads.has(workload)) {
      sink.push({
        path: `${at}.workload`,
        message: `no workload '${workload}' (workloads: ${[...workloads.keys()].join(', ')})`,
      });
      continue;
    }
    const open = sc.rate !== undefined;
    let plan: LoadPlan;
    if (open) {
      if (sc.concurrency !== undefined || sc.num_requests !== undefined) {
        sink.push({
          path: at,
          message: 'an open-loop scenario (rate) takes duration, not concurrency or num_requests',
        });
      }
      if (sc.duration === undefined) {
        sink.push({ path: `${at}.duration`, message: 'required for an open-loop scenario (rate)' });
        continue;
      }
      plan = {
        model: 'open',
        rate: sc.rate as number,
        arrival: sc.arrival ?? 'constant',
        durationMs: durationMs(sc.duration),
        seed: sc.seed ?? SUITE_DEFAULTS.seed,
        maxInFlight: sc.max_in_flight ?? SUITE_DEFAULTS.maxInFlight,
      };
    } else {
      if (sc.concurrency === undefined) {
        sink.push({ path: at, message: 'give concurrency (closed loop) or rate (open loop)' });
        continue;
      }
      if ((sc.num_requests === undefined) === (sc.duration === undefined)) {
        sink.push({
          path: at,
          message: 'a closed-loop scenario takes num_requests or duration (one of them)',
        });
        continue;
      }
      if (sc.arrival !== undefined || sc.max_in_flight !== undefined) {
        sink.push({ path: at, message: 'arrival and max_in_flight apply to open-loop scenarios (rate)' });
      }
      plan = {
        model: 'closed',
        concurrency: sc.concurrency,
        ...(sc.num_requests !== undefined
          ? stability !== null
            ? { stability }
            : { numRequests: sc.num_requests }
          : {}),
        ...(sc.duration !== undefined ? { durationMs: durationMs(sc.duration) } : {}),
      };
    }
    const seedSize =
      stability !== null && sc.num_requests !== undefined
        ? `; the suite's ${sc.num_requests} requests with --seed-sizes`
        : '';
    scenarios.push({
      name,
      description: sc.description ?? `${describePlan(plan)}${seedSize}`,
      workload,
      plan,
      thresholds: [...globalThresholds, ...thresholdsOf(sc.thresholds ?? [], `${at}.thresholds`, sink)],
    });
  }
  if (source.file === null && source.entries.length === 0)
    problems.push({ path: '$.scenarios', message: 'define at least one scenario' });
  if (source.file !== null && source.file.problems.length > 0 && problems.length === 0) {
    // The suite is right and its scenarios file is not: report the file's problems, at its lines.
    await locateAndSortProblems(source.file.text, source.file.problems);
    throw new SuiteInvalidError(source.file.path, source.file.problems);
  }

  const correctness = await correctnessRule(s, baseDir, problems);
  const names = source.entries.map((e) => e.name);
  const fromCli = options.scenariosFile !== undefined;
  const ceilings = (s.ceilings ?? []).map((c, i) =>
    ceilingOf(c, `$.ceilings[${i}]`, names, baseDir, problems, fromCli),
  );
  const mapped = new Map<string, string>();
  for (const c of ceilings) {
    for (const name of c.scenarios.keys()) {
      const other = mapped.get(name);
      if (other !== undefined) {
        problems.push({
          path: '$.ceilings',
          message: `scenario '${name}' has two ceilings (${other}, ${c.name}); give it one`,
        });
      }
      mapped.set(name, c.name);
    }
  }
  if (problems.length > 0) return null;
  const name = s.name ?? file.replace(/^.*\//, '').replace(/\.(ya?ml|json)$/i, '');
  return {
    name,
    description: s.description ?? '',
    file,
    contestants: s.contestants.map((c) => ({
      spec: contestantSpec(c, resolve(baseDir, c.cwd ?? '.')),
      settings: c.settings ?? {},
      baseline: c.name === baseline,
      how: c.command !== undefined ? c.command.join(' ') : (c.url as string),
    })),
    baseline,
    workloads,
    scenarios,
    warmup: {
      requests: s.warmup?.requests ?? SUITE_DEFAULTS.warmupRequests,
      durationMs: s.warmup?.duration !== undefined ? durationMs(s.warmup.duration) : 0,
    },
    openLoop: {
      skipAboveCapacity: s.open_loop?.skip_above_capacity ?? SUITE_DEFAULTS.skipOpenLoopAboveCapacity,
    },
    repeats: s.repeats ?? SUITE_DEFAULTS.repeats,
    coldStartRuns: s.cold_start?.runs ?? SUITE_DEFAULTS.coldStartRuns,
    correctness,
    correctnessSample: s.correctness?.sample ?? SUITE_DEFAULTS.correctnessSample,
    ceilings,
  };
}

/** "concurrency 16, 12000 requests" / "2000 req/s poisson for 30 s" / "... until stable (...)" */
export function describePlan(plan: LoadPlan): string {
  if (plan.model === 'open')
    return `open loop, ${plan.rate} req/s ${plan.arrival} for ${plan.durationMs / 1000} s`;
  const st = plan.stability;
  const amount =
    st !== undefined
      ? `until stable (${st.windows} windows of ${st.windowMs / 1000} s within ±${Math.round(st.tolerance * 100)}% in throughput and median, at most ${st.maxWindows})`
      : plan.numRequests !== undefined
        ? `${plan.numRequests} requests`
        : `${(plan.durationMs ?? 0) / 1000} s`;
  return `closed loop, concurrency ${plan.concurrency}, ${amount}`;
}

/** The suite's stability windows, defaults filled in (null: none). */
function stabilityOf(doc: SuiteDocument['stability'], problems: ManifestProblem[]): StabilityPlan | null {
  if (doc === undefined) return null;
  const plan: StabilityPlan = {
    windowMs: doc.window !== undefined ? durationMs(doc.window) : SUITE_DEFAULTS.stabilityWindowMs,
    windows: doc.windows ?? SUITE_DEFAULTS.stabilityWindows,
    tolerance: doc.tolerance ?? SUITE_DEFAULTS.stabilityTolerance,
    maxWindows: doc.max_windows ?? SUITE_DEFAULTS.stabilityMaxWindows,
  };
  if (plan.maxWindows < plan.windows) {
    problems.push({
      path: '$.stability.max_windows',
      message: `must be at least windows (${plan.windows}): that many stable windows are measured`,
    });
  }
  if (plan.windowMs <= 0) problems.push({ path: '$.stability.window', message: 'must be more than 0' });
  return plan;
}
