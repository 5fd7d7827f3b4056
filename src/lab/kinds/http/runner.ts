/**
 * Runs an HTTP benchmark suite (BENCHMARKING.md): cold starts over fresh processes, then every contestant kept
 * running while scenarios are measured in interleaved repeats (A B, B A, ...), each with warm-up, the load
 * engine, and /proc sampling of the contestant's process tree. Correctness is checked on a sample of requests
 * against the baseline before any speed is measured. A contestant that fails to start or dies mid-run is
 * recorded with its exit and last log lines, and the run goes on with the others.
 *
 * This module measures; report.ts turns its result into numbers, ratios and the report model.
 */
import { runCeiling, type CeilingResult } from './ceiling.js';
import { ContestantError, toError } from '../../../core/errors.js';
import { agree } from '../../correctness.js';
import {
  ContestantProcess,
  escapeWarning,
  type ContestantExit,
  type ContestantStopResult,
} from '../../run/contestant.js';
import { captureEnvironment, type Environment } from '../../environment.js';
import { HttpTarget, type HttpRequestSpec } from '../../load/http-target.js';
import { runLoad, type ClientWatch, type LoadResult, type RequestSource } from '../../load/load-engine.js';
import { sampleResources, type ResourceSummary } from '../../proc/resource-sampler.js';
import type { SuiteProgress } from '../../run/progress.js';
import { seededRandom } from '../../stats.js';
import type { Suite, SuiteContestant, SuiteScenario, SuiteWorkload } from './suite.js';

/** One contestant's measurement of one scenario in one repeat. */
export interface ScenarioRun {
  readonly scenario: string;
  readonly repeat: number;
  readonly contestant: string;
  /** Null when the contestant was not running (failed to start, or died earlier). */
  readonly load: LoadResult | null;
  /** Null for URL contestants (not sampled) or when it did not run. */
  readonly resources: ResourceSummary | null;
  /** Why this run is incomplete or missing: death mid-run, not running. */
  readonly failure: string | null;
}

/** Cold starts of one contestant. */
export interface ColdStartResult {
  readonly contestant: string;
  readonly toHealthyMs: number[];
  readonly toFirstCorrectMs: number[];
  readonly failure: string | null;
}

/** Agreement of one contestant with the baseline on one workload's sample. */
export interface CorrectnessResult {
  readonly contestant: string;
  readonly workload: string;
  readonly checked: number;
  readonly disagreed: number;
  /** The first disagreement or failure, for the report. */
  readonly firstProblem: string | null;
}

/** Everything measured in a suite run. */
export interface HttpSuiteResult {
  readonly suite: Suite;
  readonly environment: Environment;
  readonly coldStarts: ColdStartResult[];
  readonly correctness: CorrectnessResult[];
  readonly runs: ScenarioRun[];
  /** Contestants that could not be started, with the reason. */
  readonly startFailures: Readonly<Record<string, string>>;
  /** The run was interrupted (Ctrl-C); results are partial. */
  readonly interrupted: boolean;
  /** The suite's ceilings, measured after the contestants stopped. */
  readonly ceilings: readonly CeilingResult[];
  /** Warnings from stopping contestants, by contestant: processes left outside the group, which were killed. */
  readonly stopWarnings?: Readonly<Record<string, readonly string[]>>;
}

export interface HttpSuiteOptions {
  /** Scenario names to run (default: all). */
  readonly only?: readonly string[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SuiteProgress) => void;
  readonly onLog?: (contestant: string, line: string) => void;
}

/** Requests of a workload, round-robin or seeded-random over its bodies. */
export function requestSource(w: SuiteWorkload): RequestSource & { at(i: number): HttpRequestSpec } {
  const make = (body: string | null): HttpRequestSpec => ({
    method: w.method,
    path: w.path,
    headers: w.headers,
    body,
  });
  const requests = w.bodies.map(make);
  const rand = seededRandom(w.seed);
  let i = 0;
  return {
    next: () =>
      w.order === 'random'
        ? (requests[Math.floor(rand() * requests.length)] as HttpRequestSpec)
        : (requests[i++ % requests.length] as HttpRequestSpec),
    at: (k: number) => requests[k % requests.length] as HttpRequestSpec,
  };
}

function describeExit(exit: ContestantExit | null): string {
  if (exit === null) return 'stopped answering';
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
}

/** Runs the suite. Throws only for problems that make the whole run impossible. */
export async function runHttpSuite(suite: Suite, options: HttpSuiteOptions = {}): Promise<HttpSuiteResult> {
  const environment = captureEnvironment({ python: 'python3', repoDir: process.cwd() });
  const scenarios = suite.scenarios.filter(
    (s) => options.only === undefined || options.only.includes(s.name),
  );
  const progress = options.onProgress ?? (() => undefined);
  const aborted = (): boolean => options.signal?.aborted === true;
  const stopWarnings: Record<string, string[]> = {};
  const stopped = (name: string, result: ContestantStopResult): void => {
    const warning = escapeWarning(name, result);
    if (warning === null) return;
    (stopWarnings[name] ??= []).push(warning);
    progress({ kind: 'warning', text: warning });
  };
  const firstWorkload = suite.workloads.get(scenarios[0]?.workload ?? suite.scenarios[0]?.workload ?? '');
  const onLog = (name: string) => (line: string) => options.onLog?.(name, line);

  // 1. Cold starts: fresh processes, spawn → healthy → first correct response (hyperfine-style).
  const coldStarts: ColdStartResult[] = [];
  for (const c of suite.contestants) {
    if (c.spec.command === undefined || suite.coldStartRuns === 0 || firstWorkload === undefined || aborted())
      continue;
    progress({ kind: 'phase', text: `cold start: ${c.spec.name} × ${suite.coldStartRuns}` });
    coldStarts.push(
      await measureColdStarts(c, suite.coldStartRuns, firstWorkload, onLog(c.spec.name), (r) => {
        stopped(c.spec.name, r);
      }),
    );
  }

  // 2. Start every contestant and keep it running.
  const running = new Map<string, ContestantProcess>();
  const startFailures: Record<string, string> = {};
  const runs: ScenarioRun[] = [];
  const correctness: CorrectnessResult[] = [];
  try {
    for (const c of suite.contestants) {
      if (aborted()) break;
      progress({ kind: 'phase', text: `starting ${c.spec.name}` });
      try {
        running.set(c.spec.name, await ContestantProcess.start(c.spec, { onLog: onLog(c.spec.name) }));
      } catch (e) {
        startFailures[c.spec.name] = toError(e).message;
      }
    }

    // 3. Correctness on a sample of each workload's requests, against the baseline.
    const baseline = running.get(suite.baseline);
    const workloadsUsed = [...new Set(scenarios.map((s) => s.workload))];
    if (baseline !== undefined && suite.correctness.mode !== 'none') {
      for (const name of workloadsUsed) {
        if (aborted()) break;
        progress({ kind: 'phase', text: `checking answers: ${name}` });
        correctness.push(
          ...(await checkCorrectness(suite, suite.workloads.get(name) as SuiteWorkload, baseline, running)),
        );
      }
    }

    // 4. Scenarios: interleaved repeats.
    const order = suite.contestants.map((c) => c.spec.name);
    const total = scenarios.length * suite.repeats * order.length;
    let done = 0;
    for (const sc of scenarios) {
      const workload = suite.workloads.get(sc.workload) as SuiteWorkload;
      for (let r = 0; r < suite.repeats; r++) {
        const turn = r % 2 === 0 ? order : [...order].reverse();
        for (const name of turn) {
          if (aborted()) break;
          const label = `${sc.name} · ${name} · repeat ${r + 1}/${suite.repeats}`;
          progress({ kind: 'step', done, total, label });
          runs.push(
            await measureScenario(
              suite,
              sc,
              workload,
              name,
              r,
              running.get(name),
              startFailures[name],
              options,
              label,
            ),
          );
          done++;
        }
      }
    }
    progress({ kind: 'step', done, total, label: aborted() ? 'interrupted' : 'done' });
  } finally {
    progress({ kind: 'phase', text: 'stopping contestants' });
    await Promise.all([...running].map(async ([name, p]) => stopped(name, await p.stop())));
  }
  // 5. The ceilings, alone on a quiet machine, for the scenarios that ran.
  const ceilings: CeilingResult[] = [];
  for (const c of suite.ceilings) {
    if (aborted() || !scenarios.some((s) => c.scenarios.has(s.name))) continue;
    progress({ kind: 'phase', text: `ceiling: ${c.name}` });
    ceilings.push(await runCeiling(c, options.signal));
  }
  return {
    suite,
    environment,
    coldStarts,
    correctness,
    runs,
    startFailures,
    interrupted: aborted(),
    ceilings,
    stopWarnings,
  };
}

async function measureColdStarts(
  c: SuiteContestant,
  runs: number,
  workload: SuiteWorkload,
  onLog: (line: string) => void,
  onStopped: (result: ContestantStopResult) => void,
): Promise<ColdStartResult> {
  const toHealthyMs: number[] = [];
  const toFirstCorrectMs: number[] = [];
  const request = requestSource(workload).at(0);
  for (let i = 0; i < runs; i++) {
    let proc: ContestantProcess | null = null;
    try {
      proc = await ContestantProcess.start(c.spec, { onLog: (line) => onLog(line) });
      toHealthyMs.push(proc.spawnToHealthyMs);
      const target = new HttpTarget(proc.baseUrl, { connections: 1, timeoutMs: workload.timeoutMs });
      try {
        const deadline = Date.now() + workload.timeoutMs;
        for (;;) {
          const out = await target.send(request, workload.expectStatus, false);
          if (out.ok) {
            toFirstCorrectMs.push(Number(process.hrtime.bigint() - proc.spawnedAtNs) / 1e6);
            break;
          }
          if (Date.now() > deadline)
            throw new ContestantError(
              c.spec.name,
              `no correct answer within ${workload.timeoutMs} ms: ${out.message}`,
              { logTail: proc.logTail(10) },
            );
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        await target.close();
      }
    } catch (e) {
      return { contestant: c.spec.name, toHealthyMs, toFirstCorrectMs, failure: toError(e).message };
    } finally {
      if (proc !== null) onStopped(await proc.stop());
    }
  }
  return { contestant: c.spec.name, toHealthyMs, toFirstCorrectMs, failure: null };
}

async function checkCorrectness(
  suite: Suite,
  workload: SuiteWorkload,
  baseline: ContestantProcess,
  running: ReadonlyMap<string, ContestantProcess>,
): Promise<CorrectnessResult[]> {
  const source = requestSource(workload);
  const n = Math.min(suite.correctnessSample, Math.max(1, workload.bodies.length));
  const targets = new Map(
    [...running].map(([name, p]) => [
      name,
      new HttpTarget(p.baseUrl, { connections: 1, timeoutMs: workload.timeoutMs }),
    ]),
  );
  const tallies = new Map(
    [...running.keys()]
      .filter((k) => k !== suite.baseline)
      .map((k) => [k, { checked: 0, disagreed: 0, firstProblem: null as string | null }]),
  );
  try {
    for (let i = 0; i < n; i++) {
      const req = source.at(i);
      const base = await (targets.get(suite.baseline) as HttpTarget).send(req, workload.expectStatus, true);
      for (const [name, tally] of tallies) {
        const out = await (targets.get(name) as HttpTarget).send(req, workload.expectStatus, true);
        tally.checked++;
        let problem: string | null = null;
        if (!base.ok) problem = `the baseline failed request ${i}: ${base.message}`;
        else if (!out.ok) problem = `request ${i} failed: ${out.message}`;
        else {
          const a = await agree(suite.correctness, base.body, out.body);
          if (!a.ok) problem = `request ${i}: ${a.reason}`;
        }
        if (problem !== null) {
          tally.disagreed++;
          tally.firstProblem ??= problem;
        }
      }
    }
  } finally {
    await Promise.all([...targets.values()].map((t) => t.close()));
  }
  return [...tallies].map(([contestant, t]) => ({ contestant, workload: workload.name, ...t }));
}

async function measureScenario(
  suite: Suite,
  sc: SuiteScenario,
  workload: SuiteWorkload,
  name: string,
  repeat: number,
  proc: ContestantProcess | undefined,
  startFailure: string | undefined,
  options: HttpSuiteOptions,
  label: string,
): Promise<ScenarioRun> {
  const base = { scenario: sc.name, repeat, contestant: name };
  if (proc === undefined)
    return { ...base, load: null, resources: null, failure: `did not start: ${startFailure ?? 'unknown'}` };
  if (!proc.alive) {
    return {
      ...base,
      load: null,
      resources: null,
      failure: `${describeExit(proc.exit)} earlier; last log lines:\n${proc.logTail(10).join('\n')}`,
    };
  }
  const connections = sc.plan.model === 'closed' ? sc.plan.concurrency : Math.min(sc.plan.maxInFlight, 256);
  const target = new HttpTarget(proc.baseUrl, { connections, timeoutMs: workload.timeoutMs });
  // Stop the load when the contestant dies (or the user interrupts).
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const watch = { died: false };
  void proc.exited.then(() => {
    watch.died = true;
    stop.abort();
  });
  try {
    // Warm-up: the scenario's concurrency (closed) or a matching pool (open), not measured.
    if (suite.warmup.requests > 0 || suite.warmup.durationMs > 0) {
      await runLoad(
        target,
        requestSource(workload),
        {
          model: 'closed',
          concurrency:
            sc.plan.model === 'closed'
              ? sc.plan.concurrency
              : Math.max(1, Math.min(16, Math.ceil(sc.plan.rate / 200))),
          ...(suite.warmup.requests > 0 ? { numRequests: suite.warmup.requests } : {}),
          ...(suite.warmup.durationMs > 0 ? { durationMs: suite.warmup.durationMs } : {}),
        },
        { expectStatus: workload.expectStatus, signal: stop.signal },
      );
    }
    const sampler = proc.pid !== null ? sampleResources(proc.pid, 50) : null;
    const load = await runLoad(target, requestSource(workload), sc.plan, {
      expectStatus: workload.expectStatus,
      signal: stop.signal,
      onProgress: (p) => options.onProgress?.({ kind: 'load', label, progress: p }),
    });
    const resources = sampler !== null ? await sampler.stop() : null;
    const failure = watch.died
      ? `${describeExit(proc.exit)} during the run; last log lines:\n${proc.logTail(10).join('\n')}`
      : options.signal?.aborted === true
        ? 'interrupted'
        : null;
    return { ...base, load, resources, failure };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await target.close();
  }
}

/** Client watch of the runs of one row (saturated if any repeat was). */
export function clientOf(runs: readonly ScenarioRun[]): ClientWatch | null {
  const loads = runs.flatMap((r) => (r.load !== null ? [r.load.client] : []));
  if (loads.length === 0) return null;
  const reasons = [...new Set(loads.flatMap((c) => c.reasons))];
  return {
    cpuPercent: Math.max(...loads.map((c) => c.cpuPercent)),
    slipP99Ms: loads.some((c) => c.slipP99Ms !== null)
      ? Math.max(...loads.map((c) => c.slipP99Ms ?? 0))
      : null,
    saturated: loads.some((c) => c.saturated),
    reasons,
  };
}
