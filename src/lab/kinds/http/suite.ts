/**
 * Loading a benchmark suite: parse, validate every rule with its JSON path (and line and column), read body
 * files and custom modules, and normalise into the Suite the runner uses (all defaults filled in, here and
 * nowhere else). A suite with problems lists them all and starts nothing.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SuiteInvalidError, toError, type ManifestProblem } from '../../../core/errors.js';
import { MAX_CONFIG_FILE_BYTES, readUserFile, readUserTextFile } from '../../../core/user-file.js';
import {
  locateAndSortProblems,
  parseDocumentText,
  readConfigFile,
  schemaProblems,
} from '../../../pipeline/config-document.js';
import { parsePaths, type CorrectnessRule, type CustomCompare } from '../../correctness.js';
import { parseJsonPath } from '../../json-path.js';
import type { ContestantSpec } from '../../run/contestant.js';
import type { LoadPlan } from '../../load/load-engine.js';
import {
  SuiteSchema,
  type CeilingDocument,
  type SuiteDocument,
  type WorkloadDocument,
} from '../../suite-schema.js';
import { parseThreshold, type Threshold } from '../../thresholds.js';

/** Defaults of a suite, in one place. */
export const SUITE_DEFAULTS = Object.freeze({
  repeats: 3,
  warmupRequests: 100,
  coldStartRuns: 3,
  correctnessSample: 20,
  ceilingTimeoutMs: 600_000,
  expectStatus: 200,
  requestTimeoutMs: 30_000,
  minCosine: 0.999,
  tolerance: 1e-6,
  maxInFlight: 1000,
  seed: 42,
});

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
  readonly repeats: number;
  readonly coldStartRuns: number;
  readonly correctness: CorrectnessRule;
  readonly correctnessSample: number;
  /** Scaled down by --quick: figures are for a look, not for quoting. */
  readonly quick?: boolean;
  /** Limits measured once (a raw engine loop), shown beside the contestants, never among them. */
  readonly ceilings: readonly SuiteCeiling[];
}

/** The suite's ceiling: a command that prints JSON, and where each scenario's figures are in it. */
export interface SuiteCeiling {
  readonly name: string;
  readonly description: string;
  readonly command: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Appended to the command under --quick. */
  readonly quickArgs: readonly string[];
  readonly timeoutMs: number;
  readonly scenarios: ReadonlyMap<string, { readonly throughput?: string; readonly p50Ms?: string }>;
}

/**
 * The suite scaled down for a quick look (`--quick`, CI): a tenth of the requests and of the durations (at least
 * 10 requests per client and 2 s), one repeat, one cold start, a tenth of the warm-up. Same scenarios, same
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

/** Largest body file (JSONL) a suite may name: far above any real one, and a bound on what loading reads. */
export const MAX_BODY_FILE_BYTES = 256 * 1024 * 1024;

/** Parses `10s`, `500ms`, `2m` or a number of seconds into milliseconds. */
export function durationMs(d: number | string): number {
  if (typeof d === 'number') return d * 1000;
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$/.exec(d);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

/** Reads, validates and normalises a suite file. Throws FileError or SuiteInvalidError. */
export async function loadSuite(file: string): Promise<Suite> {
  const text = readConfigFile(file, 'suite file');
  const parsed = await parseDocumentText(text, file);
  if (!parsed.ok) throw new SuiteInvalidError(file, [{ path: '$', message: parsed.message }]);
  const problems: ManifestProblem[] = [];
  const suite = await validateSuite(parsed.doc, file, problems);
  if (problems.length > 0 || suite === null) {
    await locateAndSortProblems(text, problems);
    throw new SuiteInvalidError(file, problems);
  }
  return suite;
}

/** Validates a parsed suite; pushes every problem; returns the suite when there are none. */
export async function validateSuite(
  doc: unknown,
  file: string,
  problems: ManifestProblem[],
): Promise<Suite | null> {
  const baseDir = dirname(resolve(file));
  problems.push(...schemaProblems(SuiteSchema, doc, '$'));
  if (problems.length > 0) return null;
  const s = doc as SuiteDocument;

  // Contestants: unique names, a command or a URL, one baseline.
  const names = new Set<string>();
  s.contestants.forEach((c, i) => {
    const at = `$.contestants[${i}]`;
    if (names.has(c.name))
      problems.push({ path: `${at}.name`, message: `duplicate contestant name '${c.name}'` });
    names.add(c.name);
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
  const marked = s.contestants.filter((c) => c.baseline === true);
  if (marked.length > 1)
    problems.push({
      path: '$.contestants',
      message: `only one contestant can be the baseline (${marked.map((c) => c.name).join(', ')})`,
    });
  const baseline = marked[0]?.name ?? s.contestants[0]?.name ?? '';

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
  const scenarios: SuiteScenario[] = [];
  for (const [name, sc] of Object.entries(s.scenarios)) {
    const at = `$.scenarios.${name}`;
    const workload = sc.workload ?? (workloads.size === 1 ? [...workloads.keys()][0] : undefined);
    if (workload === undefined) {
      problems.push({
        path: `${at}.workload`,
        message: `required when there are several workloads (${[...workloads.keys()].join(', ')})`,
      });
      continue;
    }
    if (!workloads.has(workload)) {
      problems.push({
        path: `${at}.workload`,
        message: `no workload '${workload}' (workloads: ${[...workloads.keys()].join(', ')})`,
      });
      continue;
    }
    const open = sc.rate !== undefined;
    let plan: LoadPlan;
    if (open) {
      if (sc.concurrency !== undefined || sc.num_requests !== undefined) {
        problems.push({
          path: at,
          message: 'an open-loop scenario (rate) takes duration, not concurrency or num_requests',
        });
      }
      if (sc.duration === undefined) {
        problems.push({ path: `${at}.duration`, message: 'required for an open-loop scenario (rate)' });
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
        problems.push({ path: at, message: 'give concurrency (closed loop) or rate (open loop)' });
        continue;
      }
      if ((sc.num_requests === undefined) === (sc.duration === undefined)) {
        problems.push({
          path: at,
          message: 'a closed-loop scenario takes num_requests or duration (one of them)',
        });
        continue;
      }
      if (sc.arrival !== undefined || sc.max_in_flight !== undefined) {
        problems.push({ path: at, message: 'arrival and max_in_flight apply to open-loop scenarios (rate)' });
      }
      plan = {
        model: 'closed',
        concurrency: sc.concurrency,
        ...(sc.num_requests !== undefined ? { numRequests: sc.num_requests } : {}),
        ...(sc.duration !== undefined ? { durationMs: durationMs(sc.duration) } : {}),
      };
    }
    scenarios.push({
      name,
      description: sc.description ?? describePlan(plan),
      workload,
      plan,
      thresholds: [...globalThresholds, ...thresholdsOf(sc.thresholds ?? [], `${at}.thresholds`, problems)],
    });
  }
  if (Object.keys(s.scenarios).length === 0)
    problems.push({ path: '$.scenarios', message: 'define at least one scenario' });

  const correctness = await correctnessRule(s, baseDir, problems);
  const ceilings = (s.ceilings ?? []).map((c, i) => ceilingOf(c, `$.ceilings[${i}]`, s, baseDir, problems));
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
      spec: {
        name: c.name,
        ...(c.command !== undefined ? { command: c.command } : {}),
        ...(c.url !== undefined ? { url: c.url } : {}),
        ...(c.env !== undefined ? { env: c.env } : {}),
        cwd: resolve(baseDir, c.cwd ?? '.'),
        ...(c.port !== undefined ? { port: c.port } : {}),
        ...(c.health !== undefined
          ? {
              health: {
                ...(c.health.url !== undefined ? { url: c.health.url } : {}),
                ...(c.health.status !== undefined ? { status: c.health.status } : {}),
                ...(c.health.timeout !== undefined ? { timeoutMs: durationMs(c.health.timeout) } : {}),
                ...(c.health.interval !== undefined ? { intervalMs: durationMs(c.health.interval) } : {}),
              },
            }
          : {}),
        ...(c.stop_grace !== undefined ? { stopGraceMs: durationMs(c.stop_grace) } : {}),
      },
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
    repeats: s.repeats ?? SUITE_DEFAULTS.repeats,
    coldStartRuns: s.cold_start?.runs ?? SUITE_DEFAULTS.coldStartRuns,
    correctness,
    correctnessSample: s.correctness?.sample ?? SUITE_DEFAULTS.correctnessSample,
    ceilings,
  };
}

/** "concurrency 16, 12000 requests" / "2000 req/s poisson for 30 s" */
export function describePlan(plan: LoadPlan): string {
  if (plan.model === 'open')
    return `open loop, ${plan.rate} req/s ${plan.arrival} for ${plan.durationMs / 1000} s`;
  const amount =
    plan.numRequests !== undefined ? `${plan.numRequests} requests` : `${(plan.durationMs ?? 0) / 1000} s`;
  return `closed loop, concurrency ${plan.concurrency}, ${amount}`;
}

function thresholdsOf(list: readonly string[], at: string, problems: ManifestProblem[]): Threshold[] {
  const out: Threshold[] = [];
  list.forEach((expr, i) => {
    const t = parseThreshold(expr);
    if (typeof t === 'string') problems.push({ path: `${at}[${i}]`, message: t });
    else out.push(t);
  });
  return out;
}

async function workloadBodies(
  w: WorkloadDocument,
  at: string,
  baseDir: string,
  problems: ManifestProblem[],
): Promise<(string | null)[]> {
  const sources = [
    w.body !== undefined,
    w.bodies?.file !== undefined,
    w.bodies?.items !== undefined,
    w.generator !== undefined,
  ];
  if (sources.filter(Boolean).length > 1) {
    problems.push({ path: at, message: 'give at most one of body, bodies.file, bodies.items, generator' });
    return [null];
  }
  if (w.body !== undefined) return [JSON.stringify(w.body)];
  if (w.bodies?.items !== undefined) return w.bodies.items.map((b) => JSON.stringify(b));
  if (w.bodies?.file !== undefined) {
    const path = resolve(baseDir, w.bodies.file);
    let text: string;
    try {
      // Only a regular file of bounded size: /dev/zero would be read forever, a FIFO would block the load.
      text = readUserTextFile(path, 'body file', MAX_BODY_FILE_BYTES);
    } catch (e) {
      problems.push({ path: `${at}.bodies.file`, message: `cannot read ${toError(e).message}` });
      return [null];
    }
    const out: string[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        out.push(JSON.stringify(JSON.parse(line)));
      } catch {
        problems.push({
          path: `${at}.bodies.file`,
          message: `${path}: line ${i + 1} is not JSON (a body file is JSONL: one JSON body per line)`,
        });
      }
    });
    if (out.length === 0) problems.push({ path: `${at}.bodies.file`, message: `${path} holds no bodies` });
    return out;
  }
  if (w.generator !== undefined) {
    const path = resolve(baseDir, w.generator);
    const unreadable = unreadableModule(path, 'generator module');
    if (unreadable !== null) {
      problems.push({ path: `${at}.generator`, message: unreadable });
      return [null];
    }
    try {
      const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
      if (typeof mod.default !== 'function') {
        problems.push({
          path: `${at}.generator`,
          message: `${path} has no default export function (index) => body`,
        });
        return [null];
      }
      const make = mod.default as (index: number) => unknown;
      return Array.from({ length: 1000 }, (_, i) => JSON.stringify(make(i)));
    } catch (e) {
      problems.push({ path: `${at}.generator`, message: `cannot load ${path}: ${toError(e).message}` });
      return [null];
    }
  }
  return [null];
}

async function correctnessRule(
  s: SuiteDocument,
  baseDir: string,
  problems: ManifestProblem[],
): Promise<CorrectnessRule> {
  const c = s.correctness;
  if (c === undefined) return { mode: 'exact', ignore: [] };
  const ignore = parsePaths(c.ignore ?? []);
  ignore.problems.forEach((m) => problems.push({ path: '$.correctness.ignore', message: m }));
  switch (c.mode) {
    case 'none':
      return { mode: 'none' };
    case 'exact':
      return { mode: 'exact', ignore: ignore.paths };
    case 'json_tolerance':
      return {
        mode: 'json_tolerance',
        tolerance: c.tolerance ?? SUITE_DEFAULTS.tolerance,
        ignore: ignore.paths,
      };
    case 'cosine': {
      if (c.path === undefined) {
        problems.push({
          path: '$.correctness.path',
          message: 'required for mode cosine (e.g. $.data[*].embedding)',
        });
        return { mode: 'none' };
      }
      const p = parsePaths([c.path]);
      p.problems.forEach((m) => problems.push({ path: '$.correctness.path', message: m }));
      return { mode: 'cosine', path: p.paths[0] ?? [], minCosine: c.min_cosine ?? SUITE_DEFAULTS.minCosine };
    }
    case 'custom': {
      if (c.module === undefined) {
        problems.push({ path: '$.correctness.module', message: 'required for mode custom' });
        return { mode: 'none' };
      }
      const path = resolve(baseDir, c.module);
      const unreadable = unreadableModule(path, 'compare module');
      if (unreadable !== null) {
        problems.push({ path: '$.correctness.module', message: unreadable });
        return { mode: 'none' };
      }
      try {
        const mod = (await import(pathToFileURL(path).href)) as { compare?: unknown };
        if (typeof mod.compare !== 'function') {
          problems.push({
            path: '$.correctness.module',
            message: `${path} exports no function compare(baseline, other)`,
          });
          return { mode: 'none' };
        }
        return { mode: 'custom', compare: mod.compare as CustomCompare };
      } catch (e) {
        problems.push({
          path: '$.correctness.module',
          message: `cannot load ${path}: ${toError(e).message}`,
        });
        return { mode: 'none' };
      }
    }
    default:
      return { mode: 'none' };
  }
}

/**
 * Why a module a suite names cannot be imported, or null: import() reads whatever the path is, so a device
 * (`/dev/zero`) would be read until memory runs out and a FIFO would block the load. Only a regular file of at
 * most MAX_CONFIG_FILE_BYTES is imported.
 */
function unreadableModule(path: string, what: string): string | null {
  try {
    readUserFile(path, what, MAX_CONFIG_FILE_BYTES);
    return null;
  } catch (e) {
    return `cannot load ${toError(e).message}`;
  }
}

/** The ceiling block: a known scenario for each mapping, JSON paths that parse, a folder that exists. */
function ceilingOf(
  c: CeilingDocument,
  where: string,
  s: SuiteDocument,
  baseDir: string,
  problems: ManifestProblem[],
): SuiteCeiling {
  const cwd = resolve(baseDir, c.cwd ?? '.');
  if (!existsSync(cwd)) problems.push({ path: `${where}.cwd`, message: `no such folder: ${cwd}` });
  const scenarios = new Map<string, { throughput?: string; p50Ms?: string }>();
  for (const [name, m] of Object.entries(c.scenarios)) {
    const at = `${where}.scenarios.${name}`;
    if (!(name in s.scenarios)) {
      problems.push({
        path: at,
        message: `no scenario '${name}' (scenarios: ${Object.keys(s.scenarios).join(', ')})`,
      });
    }
    for (const [key, path] of [
      ['throughput', m.throughput],
      ['p50_ms', m.p50_ms],
    ] as const) {
      if (path === undefined) continue;
      const parsed = parseJsonPath(path);
      if (typeof parsed === 'string') problems.push({ path: `${at}.${key}`, message: parsed });
    }
    scenarios.set(name, {
      ...(m.throughput !== undefined ? { throughput: m.throughput } : {}),
      ...(m.p50_ms !== undefined ? { p50Ms: m.p50_ms } : {}),
    });
  }
  return {
    name: c.name,
    description: c.description,
    command: c.command,
    cwd,
    env: c.env ?? {},
    quickArgs: c.quick_args ?? [],
    timeoutMs: c.timeout !== undefined ? durationMs(c.timeout) : SUITE_DEFAULTS.ceilingTimeoutMs,
    scenarios,
  };
}
