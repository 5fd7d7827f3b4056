/**
 * The load engine: closed loop (N clients, each sending when its last answer came: service time) and open loop
 * (arrivals at a constant or Poisson rate that never wait for the server: both service time, sent → done, and
 * response time, scheduled → done, so coordinated omission cannot hide a stall). BENCHMARKING.md rules 1–5.
 *
 * Open-loop arrivals are paced by a worker thread that sleeps on Atomics.wait (futex, sub-millisecond) and posts
 * the indices that are due; the main thread sends them and measures how late each went out (schedule slip). A
 * busy-spinning timer on the main thread would be as precise but would burn the client's CPU and starve the
 * responses. The client watches itself: CPU above 80% of a core, or slip p99 above 5 ms, marks the run
 * client-saturated, and its numbers are not compared.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { seededRandom } from '../stats.js';
import { epochNow, type ErrorClass, type HttpRequestSpec, type HttpTarget } from './http-target.js';
import { LatencyHistogram } from './latency-histogram.js';

/**
 * A closed loop measured in windows until it is stable, as perf_analyzer does (its measurement interval,
 * stability percentage and maximum trials): the clients run without pause; each window's throughput and median
 * are taken; once the last `windows` windows each lie within `tolerance` of their mean, in both, the load stops and
 * those windows are the result. After `maxWindows` windows it stops anyway, unstable, with its last `windows`.
 */
export interface StabilityPlan {
  readonly windowMs: number;
  readonly windows: number;
  /** A fraction: 0.1 is ±10%. */
  readonly tolerance: number;
  readonly maxWindows: number;
}

/** What the stability windows gave. */
export interface StabilityOutcome {
  readonly stable: boolean;
  /** Windows run, the measured ones included. */
  readonly windowsRun: number;
  readonly windowMs: number;
  readonly tolerance: number;
  /** The measured windows: successful responses per second and median service time. */
  readonly measured: readonly { readonly throughputPerS: number; readonly p50Ms: number }[];
}

/** How load is applied. */
export type LoadPlan =
  | {
      readonly model: 'closed';
      readonly concurrency: number;
      /** Stop after this many requests (the seed's `num_requests`)... */
      readonly numRequests?: number;
      /** ...or after this long... */
      readonly durationMs?: number;
      /** ...or once stable (then the result is the stable windows only). */
      readonly stability?: StabilityPlan;
    }
  | {
      readonly model: 'open';
      /** Arrivals per second. */
      readonly rate: number;
      readonly arrival: 'constant' | 'poisson';
      readonly durationMs: number;
      /** Seed of the Poisson arrivals (same seed, same schedule). */
      readonly seed: number;
      /** Requests in flight beyond this are not sent and counted as dropped (k6's dropped iterations). */
      readonly maxInFlight: number;
    };

/** Where request bodies come from: the engine asks for the next one. */
export interface RequestSource {
  next(): HttpRequestSpec;
}

/** What a load run measured. */
export interface LoadResult {
  readonly model: 'closed' | 'open';
  /** Wall time of the measured period, first send → last completion, ms. */
  readonly durationMs: number;
  /** Requests scheduled (open loop) or issued (closed loop). */
  readonly scheduled: number;
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Open loop: arrivals not sent because maxInFlight requests were outstanding. */
  readonly dropped: number;
  readonly errorsByClass: Readonly<Record<ErrorClass, number>>;
  readonly errorsByStatus: Readonly<Record<string, number>>;
  /** First error message of each class, for the report. */
  readonly errorExamples: Readonly<Partial<Record<ErrorClass, string>>>;
  /** Successful responses per second over the measured period. */
  readonly throughputPerS: number;
  /** Written to a connection → done, successful requests (service time). */
  readonly service: LatencyHistogram;
  /** Open loop: scheduled → done, successful requests. */
  readonly response: LatencyHistogram | null;
  /** Open loop: scheduled → sent. */
  readonly slip: LatencyHistogram | null;
  readonly client: ClientWatch;
  /** Closed loop with stability windows: how they went (the counts above are of the measured windows). */
  readonly stability?: StabilityOutcome;
}

/** The client's own health during the run (BENCHMARKING.md rule 5). */
export interface ClientWatch {
  /** CPU used by the load generator, percent of one core. */
  readonly cpuPercent: number;
  /** Open loop: p99 of schedule slip, ms. */
  readonly slipP99Ms: number | null;
  readonly saturated: boolean;
  /** Why it was marked saturated. */
  readonly reasons: readonly string[];
}

/** Progress of a running load, for progress bars. */
export interface LoadProgress {
  readonly done: number;
  /** Total when known (closed loop with numRequests, open loop), else null. */
  readonly total: number | null;
  readonly ratePerS: number;
  readonly errors: number;
}

export interface LoadOptions {
  readonly expectStatus: number;
  /** Stops the run early (e.g. the contestant died); what was measured so far is returned. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: LoadProgress) => void;
  /** Called with each successful response body for the first `keepBodies` requests (correctness sampling). */
  readonly keepBodies?: number;
  readonly onBody?: (index: number, body: string) => void;
}

const CPU_SATURATED_PERCENT = 80;
const SLIP_SATURATED_MS = 5;

/** Mutable tallies shared by both loops. */
class Tally {
  sent = 0;
  ok = 0;
  failed = 0;
  dropped = 0;
  readonly byClass: Record<ErrorClass, number> = { connect: 0, timeout: 0, status: 0, body: 0 };
  readonly byStatus: Record<string, number> = {};
  readonly examples: Partial<Record<ErrorClass, string>> = {};
  readonly service = new LatencyHistogram();

  fail(errorClass: ErrorClass, status: number | null, message: string): void {
    this.failed++;
    this.byClass[errorClass]++;
    if (status !== null) this.byStatus[String(status)] = (this.byStatus[String(status)] ?? 0) + 1;
    this.examples[errorClass] ??= message;
  }

  /** Adds another tally's counts and latencies to this one. */
  add(other: Tally): void {
    this.sent += other.sent;
    this.ok += other.ok;
    this.failed += other.failed;
    this.dropped += other.dropped;
    for (const k of Object.keys(this.byClass) as ErrorClass[]) this.byClass[k] += other.byClass[k];
    for (const [status, n] of Object.entries(other.byStatus))
      this.byStatus[status] = (this.byStatus[status] ?? 0) + n;
    for (const [k, message] of Object.entries(other.examples) as [ErrorClass, string][])
      this.examples[k] ??= message;
    this.service.add(other.service);
  }
}

/** Runs a load plan against a target. Never throws for request failures: they are counted. */
export async function runLoad(
  target: HttpTarget,
  source: RequestSource,
  plan: LoadPlan,
  options: LoadOptions,
): Promise<LoadResult> {
  const tally = new Tally();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const total =
    plan.model === 'closed'
      ? plan.stability !== undefined
        ? null
        : (plan.numRequests ?? null)
      : Math.round((plan.rate * plan.durationMs) / 1000);
  const progress =
    options.onProgress === undefined
      ? null
      : setInterval(() => {
          const elapsed = (performance.now() - wall0) / 1000;
          options.onProgress?.({
            done: tally.ok + tally.failed,
            total,
            ratePerS: elapsed > 0 ? (tally.ok + tally.failed) / elapsed : 0,
            errors: tally.failed,
          });
        }, 250);
  try {
    const timing =
      plan.model === 'closed'
        ? plan.stability !== undefined
          ? await stableClosedLoop(target, source, { ...plan, stability: plan.stability }, options, tally)
          : await closedLoop(target, source, plan, options, tally)
        : await openLoop(target, source, plan, options, tally);
    const measured = timing.measured ?? tally;
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - wall0;
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / wallMs) * 100;
    const slipP99Ms = timing.slip === null ? null : timing.slip.percentileMs(99);
    const reasons: string[] = [];
    if (cpuPercent > CPU_SATURATED_PERCENT) reasons.push(`client CPU ${cpuPercent.toFixed(0)}% of a core`);
    if (slipP99Ms !== null && slipP99Ms > SLIP_SATURATED_MS)
      reasons.push(`schedule slip p99 ${slipP99Ms.toFixed(1)} ms`);
    return {
      model: plan.model,
      durationMs: timing.durationMs,
      scheduled: timing.scheduled,
      sent: measured.sent,
      ok: measured.ok,
      failed: measured.failed,
      dropped: measured.dropped,
      errorsByClass: measured.byClass,
      errorsByStatus: measured.byStatus,
      errorExamples: measured.examples,
      throughputPerS: timing.durationMs > 0 ? (measured.ok * 1000) / timing.durationMs : 0,
      service: measured.service,
      response: timing.response,
      slip: timing.slip,
      client: { cpuPercent, slipP99Ms, saturated: reasons.length > 0, reasons },
      ...(timing.stability !== undefined && { stability: timing.stability }),
    };
  } finally {
    if (progress !== null) clearInterval(progress);
  }
}

interface Timing {
  readonly durationMs: number;
  readonly scheduled: number;
  readonly response: LatencyHistogram | null;
  readonly slip: LatencyHistogram | null;
  /** The part of the run the result is about, when not all of it (stability windows). */
  readonly measured?: Tally;
  readonly stability?: StabilityOutcome;
}

async function closedLoop(
  target: HttpTarget,
  source: RequestSource,
  plan: Extract<LoadPlan, { model: 'closed' }>,
  options: LoadOptions,
  tally: Tally,
): Promise<Timing> {
  const limit = plan.numRequests ?? Infinity;
  const started = performance.now();
  const deadline = plan.durationMs === undefined ? Infinity : started + plan.durationMs;
  const keep = options.keepBodies ?? 0;
  let issued = 0;
  const client = async (): Promise<void> => {
    while (issued < limit && options.signal?.aborted !== true && performance.now() < deadline) {
      const index = issued++;
      const req = source.next();
      tally.sent++;
      const out = await target.send(req, options.expectStatus, index < keep);
      const done = epochNow();
      if (out.ok) {
        tally.ok++;
        tally.service.recordMs(done - out.writtenAtMs);
        if (index < keep) options.onBody?.(index, out.body);
      } else {
        tally.fail(out.errorClass, out.status, out.message);
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, client));
  return { durationMs: performance.now() - started, scheduled: issued, response: null, slip: null };
}

/** Whether every value lies within `tolerance` (a fraction) of their mean. */
export function withinTolerance(values: readonly number[], tolerance: number): boolean {
  if (values.length === 0) return false;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (mean <= 0) return false;
  return values.every((v) => Math.abs(v - mean) <= tolerance * mean);
}

/**
 * The closed loop in stability windows (StabilityPlan). A request belongs to the window in which it completes;
 * the clients never pause between windows, so every measured window had all of them busy throughout. The
 * requests still in flight when the load stops complete in no measured window and are left out.
 */
async function stableClosedLoop(
  target: HttpTarget,
  source: RequestSource,
  plan: Extract<LoadPlan, { model: 'closed' }> & { readonly stability: StabilityPlan },
  options: LoadOptions,
  tally: Tally,
): Promise<Timing> {
  const { windowMs, windows: k, tolerance, maxWindows } = plan.stability;
  const started = performance.now();
  const deadline = started + maxWindows * windowMs;
  const keep = options.keepBodies ?? 0;
  const closed: Tally[] = [];
  let current = new Tally();
  // Set by roll() from the clients' callbacks: the windows run when the last `k` were found stable.
  const state: { stableAt: number | null } = { stableAt: null };
  let issued = 0;
  const summary = (t: Tally) => ({
    throughputPerS: (t.ok * 1000) / windowMs,
    p50Ms: t.service.count > 0 ? t.service.percentileMs(50) : 0,
  });
  /** Closes the windows that have ended by `now`; notes when the last k are stable. */
  const roll = (now: number): void => {
    while (state.stableAt === null && now >= started + (closed.length + 1) * windowMs) {
      closed.push(current);
      current = new Tally();
      if (closed.length < k) continue;
      const last = closed.slice(-k).map(summary);
      if (
        last.every((w) => w.throughputPerS > 0) &&
        withinTolerance(
          last.map((w) => w.throughputPerS),
          tolerance,
        ) &&
        withinTolerance(
          last.map((w) => w.p50Ms),
          tolerance,
        )
      )
        state.stableAt = closed.length;
    }
  };
  const running = (): boolean =>
    state.stableAt === null && options.signal?.aborted !== true && performance.now() < deadline;
  const client = async (): Promise<void> => {
    while (running()) {
      const index = issued++;
      const req = source.next();
      tally.sent++;
      const out = await target.send(req, options.expectStatus, index < keep);
      const done = epochNow();
      roll(performance.now());
      if (state.stableAt !== null) break;
      current.sent++;
      if (out.ok) {
        tally.ok++;
        current.ok++;
        tally.service.recordMs(done - out.writtenAtMs);
        current.service.recordMs(done - out.writtenAtMs);
        if (index < keep) options.onBody?.(index, out.body);
      } else {
        tally.fail(out.errorClass, out.status, out.message);
        current.fail(out.errorClass, out.status, out.message);
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, client));
  roll(Math.min(performance.now(), deadline));
  const windowsRun = state.stableAt ?? closed.length;
  const last = closed.slice(Math.max(0, windowsRun - k), windowsRun);
  const measured = new Tally();
  for (const w of last) measured.add(w);
  return {
    durationMs: last.length * windowMs,
    scheduled: measured.sent,
    response: null,
    slip: null,
    measured,
    stability: {
      stable: state.stableAt !== null,
      windowsRun,
      windowMs,
      tolerance,
      measured: last.map(summary),
    },
  };
}

/** Arrival offsets (ms from the start) for an open-loop plan. */
export function arrivalSchedule(plan: Extract<LoadPlan, { model: 'open' }>): Float64Array {
  const interval = 1000 / plan.rate;
  if (plan.arrival === 'constant') {
    const n = Math.floor(plan.durationMs / interval);
    return Float64Array.from({ length: n }, (_, i) => i * interval);
  }
  const rand = seededRandom(plan.seed);
  const out: number[] = [];
  for (let t = -Math.log(1 - rand()) * interval; t < plan.durationMs; t += -Math.log(1 - rand()) * interval)
    out.push(t);
  return Float64Array.from(out);
}

/** The pacing thread: sleeps until arrivals are due and posts the index after the last due one. */
const CLOCK_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const { times, start, control } = workerData;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const now = () => performance.timeOrigin + performance.now();
let i = 0;
while (i < times.length && Atomics.load(control, 0) === 0) {
  const t = now();
  const wait = start + times[i] - t;
  if (wait > 0.02) { Atomics.wait(sleeper, 0, 0, Math.min(wait, 20)); continue; }
  let j = i + 1;
  while (j < times.length && start + times[j] <= t + 0.02) j++;
  parentPort.postMessage(j);
  i = j;
}
parentPort.postMessage(-1);
`;

async function openLoop(
  target: HttpTarget,
  source: RequestSource,
  plan: Extract<LoadPlan, { model: 'open' }>,
  options: LoadOptions,
  tally: Tally,
): Promise<Timing> {
  const times = arrivalSchedule(plan);
  const response = new LatencyHistogram();
  const slip = new LatencyHistogram();
  const control = new Int32Array(new SharedArrayBuffer(4));
  const start = epochNow() + 20; // let the clock thread start before the first arrival
  const keep = options.keepBodies ?? 0;
  let next = 0;
  let inFlight = 0;
  let lastDone = start;
  let drained: (() => void) | null = null;

  const dispatch = (k: number): void => {
    const scheduled = start + (times[k] as number);
    if (inFlight >= plan.maxInFlight) {
      tally.dropped++;
      return;
    }
    const sentAt = epochNow();
    slip.recordMs(sentAt - scheduled);
    inFlight++;
    tally.sent++;
    void target.send(source.next(), options.expectStatus, k < keep).then((out) => {
      const done = epochNow();
      lastDone = done;
      inFlight--;
      if (out.ok) {
        tally.ok++;
        tally.service.recordMs(done - out.writtenAtMs);
        response.recordMs(done - scheduled);
        if (k < keep) options.onBody?.(k, out.body);
      } else {
        tally.fail(out.errorClass, out.status, out.message);
      }
      if (inFlight === 0 && drained !== null) drained();
    });
  };

  const clock = new Worker(CLOCK_SOURCE, { eval: true, workerData: { times, start, control } });
  const stop = (): void => {
    Atomics.store(control, 0, 1);
  };
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      clock.on('message', (upTo: number) => {
        if (upTo < 0) {
          resolve();
          return;
        }
        for (; next < upTo; next++) dispatch(next);
      });
      clock.on('error', reject);
      clock.on('exit', () => resolve());
    });
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await clock.terminate();
  }
  if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  return { durationMs: Math.max(lastDone, start + plan.durationMs) - start, scheduled: next, response, slip };
}
