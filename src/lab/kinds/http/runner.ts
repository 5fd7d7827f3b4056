/**
 * Runs an HTTP benchmark suite (BENCHMARKING.md): cold starts over fresh processes, then every contestant kept
 * running while scenarios are measured in interleaved repeats (A B, B A, ...), each with warm-up, the load
 * engine, and /proc sampling of the contestant's process tree. Correctness is checked on a sample of requests
 * against the baseline before any speed is measured. A contestant that fails to start or dies mid-run is
 * recorded with its exit and last log lines, and the run goes on with the others. With
 * `open_loop.skip_above_capacity`, an open-loop rate above what a contestant served in the closed-loop runs of the
 * same workload is skipped and recorded as such (aboveCapacity). The run's wall time and each phase's are recorded
 * (RunTiming), so a report can say where the time went.
 *
 * This module measures; report.ts turns its result into numbers, ratios and the report model.
 */
import { performance } from 'node:perf_hooks';
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
import { formatSignificant } from '../../report/format.js';
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
  /**
   * Why this run was not made, on purpose: an open-loop rate above the contestant's closed-loop capacity
   * (`open_loop.skip_above_capacity`), e.g. "offered 60/s, closed-loop capacity 10.7/s on concurrency_16". Not a
   * failure, not counted. Null: it was made (or failed).
   */
  readonly skipped: string | null;
  /** Wall time of the run, warm-up included, ms (null: not recorded, or not run). */
  readonly wallMs: number | null;
}

/** How long one phase of a suite run took. */
export interface PhaseTiming {
  /** What ran: "cold starts", "start-up", "correctness", "stopping", or a scenario's or ceiling's name. */
  readonly name: string;
  readonly kind: 'cold_starts' | 'start_up' | 'correctness' | 'scenario' | 'stopping' | 'ceiling';
  /** Wall time, ms. */
  readonly ms: number;
  /** Wall time by contestant, ms, where the phase is made of each one's turns (cold starts, start-up, scenarios). */
  readonly byContestant: Readonly<Record<string, number>>;
}

/** Where the time of a suite run went: the whole run's wall time and its phases, in the order they ran. */
export interface RunTiming {
  /** Wall time from the first cold start to the last ceiling, ms. */
  readonly totalMs: number;
  readonly phases: readonly PhaseTiming[];
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
  /** How long the run and each of its phases took (null: not recorded, e.g. rebuilt from a results file). */
  readonly timing: RunTiming | null;
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
  const clock = new PhaseClock();

  // 1. Cold starts: fresh processes, spawn → healthy → first correct response (hyperfine-style).
  const coldStarts: ColdStartResult[] = [];
  for (const c of suite.contestants) {
    if (c.spec.command === undefined || suite.coldStartRuns === 0 || firstWorkload === undefined || aborted())
      continue;
    progress({ kind: 'phase', text: `cold start: ${c.spec.name} × ${suite.coldStartRuns}` });
    coldStarts.push(
      await clock.time('cold_starts', 'cold starts', c.spec.name, () =>
        measureColdStarts(c, suite.coldStartRuns, firstWorkload, onLog(c.spec.name), (r) => {
          stopped(c.spec.name, r);
        }),
      ),
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
      await clock.time('start_up', 'start-up', c.spec.name, async () => {
        try {
          running.set(c.spec.name, await ContestantProcess.start(c.spec, { onLog: onLog(c.spec.name) }));
        } catch (e) {
          startFailures[c.spec.name] = toError(e).message;
        }
      });
    }

    // 3. Correctness on a sample of each workload's requests, against the baseline.
    const baseline = running.get(suite.baseline);
    const workloadsUsed = [...new Set(scenarios.map((s) => s.workload))];
    if (baseline !== undefined && suite.correctness.mode !== 'none') {
      for (const name of workloadsUsed) {
        if (aborted()) break;
        progress({ kind: 'phase', text: `checking answers: ${name}` });
        correctness.push(
          ...(await clock.time('correctness', 'correctness', null, () =>
            checkCorrectness(suite, suite.workloads.get(name) as SuiteWorkload, baseline, running),
          )),
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
          const skip = suite.openLoop.skipAboveCapacity ? aboveCapacity(suite, sc, name, runs) : null;
          if (skip !== null) progress({ kind: 'phase', text: `${label}: skipped (${skip})` });
          runs.push(
            await clock.time('scenario', sc.name, name, () =>
              measureScenario(suite, sc, workload, name, r, {
                proc: running.get(name),
                startFailure: startFailures[name],
                skip,
                options,
                label,
              }),
            ),
          );
          done++;
        }
      }
    }
    progress({ kind: 'step', done, total, label: aborted() ? 'interrupted' : 'done' });
  } finally {
    progress({ kind: 'phase', text: 'stopping contestants' });
    await clock.time('stopping', 'stopping', null, () =>
      Promise.all([...running].map(async ([name, p]) => stopped(name, await p.stop()))),
    );
  }
  // 5. The ceilings, alone on a quiet machine, for the scenarios that ran.
  const ceilings: CeilingResult[] = [];
  for (const c of suite.ceilings) {
    if (aborted() || !scenarios.some((s) => c.scenarios.has(s.name))) continue;
    progress({ kind: 'phase', text: `ceiling: ${c.name}` });
    ceilings.push(await clock.time('ceiling', c.name, null, () => runCeiling(c, options.signal)));
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
    timing: clock.done(),
  };
}

/** Times the phases of a run (wall clock); phases of the same kind and name add up, in the order first seen. */
class PhaseClock {
  private readonly started = performance.now();
  private readonly phases: {
    name: string;
    kind: PhaseTiming['kind'];
    ms: number;
    byContestant: Record<string, number>;
  }[] = [];

  /** Runs `work` and adds its wall time to the phase (and to `contestant`'s share of it, when given). */
  async time<T>(
    kind: PhaseTiming['kind'],
    name: string,
    contestant: string | null,
    work: () => Promise<T>,
  ): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      const ms = performance.now() - t0;
      let phase = this.phases.find((p) => p.kind === kind && p.name === name);
      if (phase === undefined) {
        phase = { name, kind, ms: 0, byContestant: {} };
        this.phases.push(phase);
      }
      phase.ms += ms;
      if (contestant !== null) phase.byContestant[contestant] = (phase.byContestant[contestant] ?? 0) + ms;
    }
  }

  done(): RunTiming {
    return { totalMs: performance.now() - this.started, phases: this.phases.map((p) => ({ ...p })) };
  }
}

/**
 * Why `contestant` skips the open-loop scenario `sc` (`open_loop.skip_above_capacity`): its rate is above the
 * throughput the contestant reached in the most concurrent closed-loop scenario on the same workload made so far
 * in this run (its best repeat). An open-loop load that falls behind holds many requests in the server at once,
 * so that is the capacity it meets; one request at a time can be faster (no batching, no padding: the Python
 * embedding server serves 43/s to one client and 14/s to 16). Runs that failed or whose client was saturated are
 * no measure of capacity and are left out. Null: run it (not open loop, no such closed-loop run, or the rate is
 * within that capacity).
 */
export function aboveCapacity(
  suite: Suite,
  sc: SuiteScenario,
  contestant: string,
  runs: readonly ScenarioRun[],
): string | null {
  if (sc.plan.model !== 'open') return null;
  let best: { concurrency: number; perS: number; scenario: string } | null = null;
  for (const r of runs) {
    if (r.contestant !== contestant || r.load === null || r.failure !== null || r.load.client.saturated)
      continue;
    const other = suite.scenarios.find((s) => s.name === r.scenario);
    if (other === undefined || other.plan.model !== 'closed' || other.workload !== sc.workload) continue;
    const { concurrency } = other.plan;
    const perS = r.load.throughputPerS;
    if (
      best === null ||
      concurrency > best.concurrency ||
      (concurrency === best.concurrency && perS > best.perS)
    )
      best = { concurrency, perS, scenario: r.scenario };
  }
  if (best === null || best.perS >= sc.plan.rate) return null;
  return `offered ${String(sc.plan.rate)}/s, closed-loop capacity ${formatSignificant(best.perS)}/s on ${best.scenario}`;
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

/** The contestant of one measurement, and how it goes. */
interface Turn {
  /** Undefined: it is not running (see startFailure). */
  readonly proc: ContestantProcess | undefined;
  readonly startFailure: string | undefined;
  /** Why it is skipped (aboveCapacity), or null. */
  readonly skip: string | null;
  readonly options: HttpSuiteOptions;
  readonly label: string;
}

async function measureScenario(
  suite: Suite,
  sc: SuiteScenario,
  workload: SuiteWorkload,
  name: string,
  repeat: number,
  { proc, startFailure, skip, options, label }: Turn,
): Promise<ScenarioRun> {
  const base = { scenario: sc.name, repeat, contestant: name, skipped: null, wallMs: null };
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
  if (skip !== null) return { ...base, load: null, resources: null, failure: null, skipped: skip };
  const started = performance.now();
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
    return { ...base, load, resources, failure, wallMs: performance.now() - started };
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
