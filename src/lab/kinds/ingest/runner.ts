/**
 * The ingest suite (`kind: ingest`): photo-ingest services compared under the batch-ingest load tool
 * (bench.ts), as the original benchmark guide set it up: one shared model server started once, every
 * contestant started fresh with a fresh index for every run, identical flags, interleaved repeats (A B, B A ...).
 *
 * Per run: spawn → healthy (cold start) → a warm-up batch of synthetic images (spawn → first answer) → the idle
 * RSS of the whole process tree (process overhead) → the load tool over the photo corpus while /proc sampling
 * measures the tree's RSS and CPU (and the model server's, to show where inference time goes) → stop. Besides
 * the runs: each contestant's own preprocessing probe (decode, letterbox, crop, one core, no inference), and the
 * correctness of what the services found: known copies in the corpus manifest, and the same duplicates and the
 * same detections per image as the baseline.
 *
 * This module runs; suite.ts loads the suite, set-up.ts prepares each run, report.ts turns the result into the
 * report model.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError, toError } from '../../../core/errors.js';
import { runJsonCommand } from '../../run/command.js';
import {
  ContestantProcess,
  escapeWarning,
  type ContestantSpec,
  type ContestantStopResult,
} from '../../run/contestant.js';
import { captureEnvironment, type Environment } from '../../environment.js';
import { freePort } from '../../run/health.js';
import { runIngestBench, type IngestBenchResult } from './bench.js';
import type { SuiteProgress } from '../../run/progress.js';
import { makePhotoCorpus } from '../../photo-corpus/make-corpus.js';
import { sampleResources, type ResourceSummary } from '../../proc/resource-sampler.js';
import { fill, missingSetup, rssNowMb, warmUp, warmupImages } from './set-up.js';
import type { IngestContestant, IngestScenario, IngestSuite } from './suite.js';

/** One contestant's run of one scenario in one repeat. */
export interface IngestRun {
  readonly scenario: string;
  readonly repeat: number;
  readonly contestant: string;
  /** Spawn → healthy, ms (null: did not start). */
  readonly toHealthyMs: number | null;
  /** Spawn → the warm-up batch answered, ms. */
  readonly toFirstAnswerMs: number | null;
  /** RSS of the tree after the warm-up, before the load, MiB. */
  readonly idleRssMb: number | null;
  readonly bench: IngestBenchResult | null;
  readonly resources: ResourceSummary | null;
  /** The shared services' trees during the load (CPU and RSS). */
  readonly services: Readonly<Record<string, ResourceSummary>>;
  /** CPU-seconds the lab process (the load tool) used during the load. */
  readonly clientCpuSeconds: number | null;
  readonly failure: string | null;
}

/** One contestant's preprocessing probe. */
export interface PreprocessRun {
  readonly contestant: string;
  readonly repeat: number;
  readonly images: number | null;
  readonly cpuMsPerImage: number | null;
  readonly wallMsMedian: number | null;
  readonly output: unknown;
  readonly failure: string | null;
}

export interface IngestSuiteResult {
  readonly suite: IngestSuite;
  readonly environment: Environment;
  readonly corpus: {
    readonly dir: string;
    readonly count: number;
    readonly totalBytes: number;
    readonly cached: boolean;
  };
  /** Contestants left out because their set-up is missing, with the command that sets it up. */
  readonly skipped: Readonly<Record<string, string>>;
  readonly runs: readonly IngestRun[];
  readonly preprocess: readonly PreprocessRun[];
  readonly interrupted: boolean;
  /** Warnings from stopping contestants and services: processes left outside their group, which were killed. */
  readonly stopWarnings?: readonly string[];
}

export interface IngestSuiteOptions {
  readonly only?: readonly string[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SuiteProgress) => void;
  readonly onLog?: (name: string, line: string) => void;
}

/** Runs the suite. Throws only when nothing can run (the corpus cannot be made, a shared service fails). */
export async function runIngestSuite(
  suite: IngestSuite,
  options: IngestSuiteOptions = {},
): Promise<IngestSuiteResult> {
  const environment = captureEnvironment({ python: '/usr/bin/python3', repoDir: suite.baseDir });
  const progress = options.onProgress ?? (() => undefined);
  const aborted = (): boolean => options.signal?.aborted === true;
  const stopWarnings: string[] = [];
  const stopped = (name: string, result: ContestantStopResult): void => {
    const warning = escapeWarning(name, result);
    if (warning === null) return;
    stopWarnings.push(warning);
    progress({ kind: 'warning', text: warning });
  };
  const scenarios = suite.scenarios.filter(
    (s) => options.only === undefined || options.only.includes(s.name),
  );

  // 1. Set-up checks: a contestant whose set-up is missing is skipped, with the command that enables it.
  const skipped: Record<string, string> = {};
  for (const c of suite.contestants) {
    const missing = missingSetup(c);
    if (missing !== null) skipped[c.name] = missing;
  }
  const active = suite.contestants.filter((c) => skipped[c.name] === undefined);

  // 2. The corpus (cached) and the warm-up photos.
  progress({ kind: 'phase', text: `photo corpus: ${suite.corpus.count} images` });
  const corpusDir = join(suite.corpus.dir, `photos-${suite.corpus.count}-seed${suite.corpus.seed}`);
  const made = await makePhotoCorpus(
    {
      out: corpusDir,
      count: suite.corpus.count,
      sources: [...suite.corpus.sources],
      seed: suite.corpus.seed,
      exactShare: suite.corpus.exactShare,
      nearShare: suite.corpus.nearShare,
    },
    ({ done, total }) => progress({ kind: 'step', done, total, label: 'making the photo corpus' }),
  ).catch((e: unknown) => {
    const hint = suite.corpus.sources.includes('/usr/share/darknet/data')
      ? " (the default photos come from Debian's darknet package: sudo apt-get install -y darknet)"
      : '';
    throw new BenchError(`cannot make the photo corpus: ${toError(e).message}${hint}`);
  });
  const warmups = await warmupImages(suite.corpus.dir, suite.warmupImages);
  const corpus = {
    dir: made.dir,
    count: made.manifest.count,
    totalBytes: made.manifest.total_bytes,
    cached: made.cached,
  };

  const runs: IngestRun[] = [];
  const preprocess: PreprocessRun[] = [];
  const services = new Map<string, ContestantProcess>();
  try {
    // 3. Shared services, started once.
    const values: Record<string, string> = {};
    for (const sv of suite.services) {
      if (aborted()) break;
      progress({ kind: 'phase', text: `starting the shared service ${sv.name}` });
      try {
        // A gRPC port: picked (or given), put into the command, and offered to the contestants.
        const grpcPort = sv.grpcPort === 'auto' ? await freePort() : sv.grpcPort;
        const spec: ContestantSpec =
          grpcPort === null || sv.spec.command === undefined
            ? sv.spec
            : {
                ...sv.spec,
                command: sv.spec.command.map((a) => a.replaceAll('{grpc_port}', String(grpcPort))),
              };
        if (grpcPort !== null) values[`services.${sv.name}.grpc_url`] = `grpc://127.0.0.1:${grpcPort}`;
        services.set(
          sv.name,
          await ContestantProcess.start(spec, { onLog: (line) => options.onLog?.(sv.name, line) }),
        );
      } catch (e) {
        throw new BenchError(`the shared service '${sv.name}' did not start: ${toError(e).message}`);
      }
    }
    for (const [name, p] of services) values[`services.${name}.url`] = p.baseUrl;

    // 4. Preprocessing probes, on a quiet machine (the services idle), interleaved.
    const order = active.map((c) => c.name);
    const total = scenarios.length * suite.repeats * order.length;
    for (let r = 0; r < suite.repeats && !aborted(); r++) {
      for (const name of r % 2 === 0 ? order : [...order].reverse()) {
        const c = active.find((x) => x.name === name) as IngestContestant;
        if (c.preprocess === null || aborted()) continue;
        progress({
          kind: 'phase',
          text: `preprocessing probe: ${c.name} (${suite.preprocess.limit} images)`,
        });
        preprocess.push(await runPreprocess(c, r, corpus.dir, suite.preprocess, options.signal));
      }
    }

    // 5. The scenarios: interleaved repeats, a fresh process and index for every run.
    let done = 0;
    for (const sc of scenarios) {
      for (let r = 0; r < suite.repeats; r++) {
        for (const name of r % 2 === 0 ? order : [...order].reverse()) {
          if (aborted()) break;
          const label = `${sc.name} · ${name} · repeat ${r + 1}/${suite.repeats}`;
          progress({ kind: 'step', done, total, label });
          const c = active.find((x) => x.name === name) as IngestContestant;
          runs.push(
            await measureRun(
              suite,
              sc,
              c,
              r,
              corpus.dir,
              warmups,
              values,
              services,
              options,
              label,
              (result) => {
                stopped(c.name, result);
              },
            ),
          );
          done++;
        }
      }
    }
    progress({ kind: 'step', done, total, label: aborted() ? 'interrupted' : 'done' });
  } finally {
    progress({ kind: 'phase', text: 'stopping the shared services' });
    await Promise.all([...services].map(async ([name, p]) => stopped(name, await p.stop())));
  }
  return { suite, environment, corpus, skipped, runs, preprocess, interrupted: aborted(), stopWarnings };
}

async function runPreprocess(
  c: IngestContestant,
  repeat: number,
  corpus: string,
  config: IngestSuite['preprocess'],
  signal: AbortSignal | undefined,
): Promise<PreprocessRun> {
  const base = { contestant: c.name, repeat };
  const run = await runJsonCommand(fill(c.preprocess ?? [], { corpus, limit: String(config.limit) }), {
    cwd: c.spec.cwd ?? process.cwd(),
    timeoutMs: config.timeoutMs,
    ...(signal !== undefined ? { signal } : {}),
  });
  if (!run.ok) {
    return {
      ...base,
      images: null,
      cpuMsPerImage: null,
      wallMsMedian: null,
      output: null,
      failure: run.failure,
    };
  }
  const o = run.output as { images?: unknown; cpu_ms_per_image?: unknown; wall_ms_median?: unknown };
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const cpu = num(o.cpu_ms_per_image);
  return {
    ...base,
    images: num(o.images),
    cpuMsPerImage: cpu,
    wallMsMedian: num(o.wall_ms_median),
    output: run.output,
    failure: cpu === null ? 'printed no cpu_ms_per_image' : null,
  };
}

async function measureRun(
  suite: IngestSuite,
  sc: IngestScenario,
  c: IngestContestant,
  repeat: number,
  corpus: string,
  warmups: readonly string[],
  values: Readonly<Record<string, string>>,
  services: ReadonlyMap<string, ContestantProcess>,
  options: IngestSuiteOptions,
  label: string,
  onStopped: (result: ContestantStopResult) => void,
): Promise<IngestRun> {
  const base = { scenario: sc.name, repeat, contestant: c.name };
  const empty = {
    toHealthyMs: null,
    toFirstAnswerMs: null,
    idleRssMb: null,
    bench: null,
    resources: null,
    services: {},
    clientCpuSeconds: null,
  };
  const runDir = await mkdtemp(join(tmpdir(), `pitlane-ingest-${c.name}-`));
  const spec: ContestantSpec = {
    ...c.spec,
    command: fill(c.spec.command ?? [], { ...values, run_dir: runDir }),
    ...(c.spec.env !== undefined
      ? {
          env: Object.fromEntries(
            Object.entries(c.spec.env).map(([k, v]) => [
              k,
              fill([v], { ...values, run_dir: runDir })[0] ?? v,
            ]),
          ),
        }
      : {}),
  };
  let proc: ContestantProcess | null = null;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort('interrupted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      proc = await ContestantProcess.start(spec, { onLog: (line) => options.onLog?.(c.name, line) });
    } catch (e) {
      return { ...base, ...empty, failure: `did not start: ${toError(e).message}` };
    }
    const died = proc.exited.then((exit) => {
      stop.abort(
        `${c.name} ${exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${String(exit.code)}`} during the run`,
      );
    });
    void died;
    const toHealthyMs = proc.spawnToHealthyMs;
    try {
      await warmUp(proc.baseUrl, warmups, stop.signal);
    } catch (e) {
      return {
        ...base,
        ...empty,
        toHealthyMs,
        failure: `warm-up failed: ${toError(e).message}; last log lines:\n${proc.logTail(10).join('\n')}`,
      };
    }
    const toFirstAnswerMs = Number(process.hrtime.bigint() - proc.spawnedAtNs) / 1e6;
    const idleRssMb = proc.pid !== null ? await rssNowMb(proc.pid) : null;
    const sampler = proc.pid !== null ? sampleResources(proc.pid, 100) : null;
    const serviceSamplers = [...services].flatMap(([name, p]) =>
      p.pid !== null ? [[name, sampleResources(p.pid, 100)] as const] : [],
    );
    const cpu0 = process.cpuUsage();
    const bench = await runIngestBench({
      dir: corpus,
      url: proc.baseUrl,
      workers: sc.workers,
      batch: sc.batch,
      queue: sc.queue,
      reportSeconds: 0,
      faces: sc.faces,
      ocr: sc.ocr,
      details: true,
      limit: sc.limit,
      timeoutMs: sc.timeoutMs,
      signal: stop.signal,
      onTick: (p) =>
        options.onProgress?.({
          kind: 'load',
          label,
          progress: { done: p.images, total: p.total, ratePerS: p.imagesPerS, errors: p.errors },
        }),
    });
    const cpu = process.cpuUsage(cpu0);
    const resources = sampler !== null ? await sampler.stop() : null;
    const serviceResources: Record<string, ResourceSummary> = {};
    for (const [name, s] of serviceSamplers) serviceResources[name] = await s.stop();
    const failure = stop.signal.aborted
      ? `${String(stop.signal.reason)}${proc.alive ? '' : `; last log lines:\n${proc.logTail(10).join('\n')}`}`
      : !bench.complete
        ? `the run ended early: ${bench.stopped_because ?? 'not every image was sent'}`
        : null;
    return {
      ...base,
      toHealthyMs,
      toFirstAnswerMs,
      idleRssMb,
      bench,
      resources,
      services: serviceResources,
      clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
      failure,
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (proc !== null) onStopped(await proc.stop());
    await rm(runDir, { recursive: true, force: true });
  }
}
