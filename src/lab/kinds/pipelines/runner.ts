/**
 * `pitlane bench pipelines`: pitlane against the CPython reference executor on the same manifests, in one run,
 * interleaved (each repeat runs both runtimes, alternating which goes first), each repeat in fresh processes.
 * Every row checks that both runtimes produced identical outputs (SHA-256 of the JSONL); a mismatch marks the
 * row incorrect and keeps it out of the speed-up figures. Ratios carry bootstrap intervals over the repeats.
 * Each command runs in a process group of its own under the lifeline (src/process/lifeline.ts): what it leaves
 * running is SIGKILLed when it exits, and nothing of it outlives the lab, even a lab killed with SIGKILL.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError } from '../../../core/errors.js';
import { packageRoot } from '../../../process/package-root.js';
import { captureEnvironment, type Environment } from '../../environment.js';
import { searchLiveCapacity, type LiveCapacity } from './live-capacity.js';

import { prepareLibrivoxInput, type MediaInput } from './media-inputs.js';
import { pipelineScenarios, type PipelineScenario } from './scenarios.js';
import { wordErrorRate, type WordErrorRate } from './word-error-rate.js';

/** Frame length of the live trials (the CLIs' default, 20 ms). */
const LIVE_FRAME_MS = 20;
import { runTimedProcess, type ProcessOutcome } from '../../run/command.js';
import { pairedRatio, type RepeatFigures } from '../../results/ratios.js';
import { geometricMeanOfRatios, median, summarize, type RatioEstimate, type Summary } from '../../stats.js';

const ROOT = packageRoot();
const PITLANE_BIN = join(ROOT, 'bin', 'pitlane.js');
const REFERENCE = join(ROOT, 'baselines', 'python', 'pitlane_ref.py');

/**
 * The contestants: pitlane (native nodes; Python nodes on their hinted runtime), pitlane with every Python node
 * forced onto CPython workers or onto Pyodide, and the CPython reference executor (the baseline).
 */
export type RuntimeName = 'pitlane' | 'pitlane-cpython' | 'pitlane-pyodide' | 'cpython';
export const RUNTIMES: readonly RuntimeName[] = ['pitlane', 'pitlane-cpython', 'pitlane-pyodide', 'cpython'];

/** The contestants of a scenario (default: pitlane against the reference). */
export function contestantsOf(s: Pick<PipelineScenario, 'contestants'>): readonly RuntimeName[] {
  return s.contestants ?? ['pitlane', 'cpython'];
}

/** One repeat of one runtime on one scenario. */
export interface RepeatResult {
  /** Timed samples in nanoseconds (cold start: spawn → first line; stream: spawn → exit). */
  readonly samples_ns: number[];
  /** Peak RSS in KiB: the worker's own maximum (samples), or the process tree's VmHWM sampled from /proc. */
  readonly peak_rss_kb: number;
  readonly output_count: number;
  readonly outputs_sha256: string;
  /** How the contestant ran the pipeline's Python nodes, as its worker reported (absent without any). */
  readonly details?: string;
  /** media: the word error rate of the transcripts in the output. */
  readonly wer?: WordErrorRate;
  /** live: the capacity search. */
  readonly live?: LiveCapacity;
}

/** Everything measured for one scenario. */
export interface ScenarioResult {
  readonly scenario: Omit<PipelineScenario, 'manifest'>;
  /** Per contestant of the scenario. */
  readonly repeats: Partial<Record<RuntimeName, RepeatResult[]>>;
  readonly summary: Partial<
    Record<RuntimeName, Summary & { readonly peak_rss_mb: number; readonly ns_per_item: number | null }>
  >;
  /** The first pitlane contestant's speed-up (reference time / its time). */
  readonly speedup: RatioEstimate;
  /** Every pitlane contestant's speed-up against the reference. */
  readonly speedups: Partial<Record<RuntimeName, RatioEstimate>>;
  /** How each contestant ran its Python nodes (from --stats details), when it has any. */
  readonly details: Partial<Record<RuntimeName, string>>;
  /** media: each contestant's word error rate against the transcription (from its first repeat). */
  readonly quality?: Partial<Record<RuntimeName, WordErrorRate>>;
  /** live: each contestant's capacity search (the repeat with the fewest streams sustained). */
  readonly capacity?: Partial<Record<RuntimeName, LiveCapacity>>;
  /** media: what the input was. */
  readonly input?: string;
  /** media: seconds of audio in the input (real-time factor = this / the run's median time). */
  readonly input_seconds?: number;
  /** All contestants gave byte-identical outputs in every repeat. */
  readonly correct: boolean;
  readonly note?: string;
}

export interface PipelineSuiteResult {
  readonly suite: 'pipelines';
  readonly environment: Environment;
  readonly settings: {
    readonly quick: boolean;
    readonly repeats: number;
    /** Minimum warm-up time of every `samples` scenario, both runtimes. */
    readonly warmup_ms: number;
    readonly python: string;
  };
  readonly scenarios: ScenarioResult[];
  /** Geometric mean of the speed-ups of the four headline scenarios (correct rows only). */
  readonly headline: {
    readonly speedup: number;
    readonly ci95: readonly [number, number];
    readonly scenarios: string[];
  };
}

export interface PipelineSuiteOptions {
  readonly quick: boolean;
  readonly repeats?: number;
  readonly only?: readonly string[];
  readonly python: string;
  /** Called before each step, for progress display. */
  readonly onProgress?: (step: { done: number; total: number; label: string }) => void;
}

function command(runtime: RuntimeName, python: string, args: readonly string[]): [string, string[]] {
  if (runtime === 'cpython') return [python, [REFERENCE, ...args]];
  const forced =
    runtime === 'pitlane-cpython'
      ? ['--python-runtime', 'cpython']
      : runtime === 'pitlane-pyodide'
        ? ['--python-runtime', 'pyodide']
        : [];
  return [process.execPath, [PITLANE_BIN, ...args, ...forced]];
}

function fail(runtime: RuntimeName, scenario: string, what: string, outcome: ProcessOutcome): never {
  const tail = outcome.stderr.trim().split('\n').slice(-5).join('\n    ');
  throw new BenchError(
    `${runtime} failed in scenario '${scenario}' (${what}, exit ${outcome.code}):\n    ${tail}`,
  );
}

async function runRepeat(
  runtime: RuntimeName,
  s: PipelineScenario,
  files: { manifest: string; input: string | null; media: MediaInput | null },
  python: string,
  warmupMs: number,
  earlier: readonly RepeatResult[],
): Promise<RepeatResult> {
  const plan = runtime === 'cpython' ? s.cpython : s.pitlane;
  if (runtime === 'cpython' && s.referencePython !== undefined) python = s.referencePython;
  if (s.kind === 'live') return runLiveRepeat(runtime, s, files, python, earlier.at(-1)?.live?.streams);
  if (s.kind === 'samples') {
    const args = [
      'bench',
      files.manifest,
      '--samples',
      String(plan.samples),
      '--warmup',
      String(plan.warmup),
      '--warmup-ms',
      String(warmupMs),
      '--mode',
      s.mode ?? 'run',
    ];
    if ((s.concurrent ?? 1) > 1) args.push('--concurrent', String(s.concurrent));
    if (runtime !== 'cpython') args[0] = 'bench-worker';
    const [cmd, argv] = command(runtime, python, args);
    const outcome = await runTimedProcess(cmd, argv, { cwd: ROOT });
    if (outcome.code !== 0) fail(runtime, s.name, 'bench worker', outcome);
    const line = outcome.stdout.trim().split('\n').pop() ?? '';
    const report = JSON.parse(line) as {
      samples_ns: number[];
      peak_rss_kb: number;
      output_count: number;
      outputs_sha256: string;
      details?: string;
    };
    return {
      samples_ns: report.samples_ns,
      peak_rss_kb: report.peak_rss_kb,
      output_count: report.output_count,
      outputs_sha256: report.outputs_sha256,
      ...(report.details !== undefined && report.details !== '' ? { details: report.details } : {}),
    };
  }
  // cold_start, stream and media: whole CLI processes.
  const samples: number[] = [];
  let peak = 0;
  let hash = '';
  let count = 0;
  let wer: WordErrorRate | undefined;
  for (let i = 0; i < plan.samples; i++) {
    const audio = files.media !== null ? ['-i', files.media.audio] : [];
    const [cmd, argv] = command(runtime, python, ['run', files.manifest, ...audio]);
    const outcome = await runTimedProcess(cmd, argv, {
      cwd: ROOT,
      ...(files.input !== null ? { stdinFile: files.input } : {}),
      sampleMemory: s.kind === 'stream' || s.kind === 'media',
    });
    if (outcome.code !== 0) fail(runtime, s.name, 'run', outcome);
    if (s.kind === 'cold_start') {
      if (outcome.firstLineNs === null) fail(runtime, s.name, 'no output line', outcome);
      samples.push(outcome.firstLineNs);
    } else {
      samples.push(outcome.totalNs);
    }
    peak = Math.max(peak, outcome.peakRssKb);
    hash = createHash('sha256').update(outcome.stdout).digest('hex');
    count = outcome.stdout.split('\n').length - 1;
    if (files.media !== null) wer = wordErrorRate(files.media.reference, transcriptOf(outcome.stdout));
  }
  return {
    samples_ns: samples,
    peak_rss_kb: peak,
    output_count: count,
    outputs_sha256: hash,
    ...(wer !== undefined ? { wer } : {}),
  };
}

/**
 * One repeat of a live scenario: a plain run of the input through the scenario's check manifest (its outputs are
 * what contestants must agree on), then the capacity search on the live manifest. The row's time is the per-frame latency p50 at one stream.
 */
async function runLiveRepeat(
  runtime: RuntimeName,
  s: PipelineScenario,
  files: { manifest: string; media: MediaInput | null },
  python: string,
  hint: number | undefined,
): Promise<RepeatResult> {
  const media = files.media;
  if (media === null || s.live === undefined) throw new BenchError(`scenario '${s.name}' has no live input`);
  const check = files.manifest.replace(/\.json$/, '.check.json');
  await writeFile(check, JSON.stringify(s.live.checkManifest));
  const [cmd, argv] = command(runtime, python, ['run', check, '-i', media.audio]);
  const plain = await runTimedProcess(cmd, argv, { cwd: ROOT });
  if (plain.code !== 0) fail(runtime, s.name, 'run', plain);
  const { warmupS } = s.live;
  const live = await searchLiveCapacity(
    (streams) => {
      const args = ['run', files.manifest, '-i', media.audio, '--realtime', '--warmup', String(warmupS)];
      const [c, a] = command(runtime, python, [
        ...args,
        '--streams',
        String(streams),
        '--json-stats',
        '-o',
        '/dev/null',
      ]);
      return runTimedProcess(c, a, { cwd: ROOT, sampleMemory: true });
    },
    {
      maxStreams: s.live.maxStreams,
      framePeriodUs: LIVE_FRAME_MS * 1000,
      framesPerStream: Math.floor(((media.seconds - warmupS) * 1000) / LIVE_FRAME_MS),
      ...(hint !== undefined ? { hint } : {}),
    },
  );
  return {
    samples_ns: [(live.p50_us_at_1 ?? Number.NaN) * 1000],
    peak_rss_kb: Math.max(0, ...live.trials.map((t) => t.peak_rss_kb)),
    output_count: plain.stdout.split('\n').length - 1,
    // The analysers run side by side (a fan-out), and each executor interleaves their outputs its own way: the
    // events are compared as a multiset (sorted lines).
    outputs_sha256: createHash('sha256').update(plain.stdout.split('\n').sort().join('\n')).digest('hex'),
    live,
  };
}

/** The text of a run's transcript lines (`{"text": ...}`), joined in order. */
function transcriptOf(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { text?: unknown }).text)
    .filter((t): t is string => typeof t === 'string')
    .join(' ');
}

/** The prepared speech of media scenarios, made once per rate and channel count in a run. */
const mediaInputs = new Map<string, MediaInput>();
function mediaInput(
  dir: string,
  spec: { sampleRate: number; channels: number; seconds?: number },
): MediaInput {
  const key = `${dir}:${spec.sampleRate}:${spec.channels}:${spec.seconds ?? ''}`;
  let input = mediaInputs.get(key);
  if (input === undefined) {
    input = prepareLibrivoxInput(dir, spec.sampleRate, spec.channels, spec.seconds);
    mediaInputs.set(key, input);
  }
  return input;
}

/** Runs the suite; writes nothing (run/suite-run.ts writes what every kind writes). */
export async function runPipelineSuite(options: PipelineSuiteOptions): Promise<PipelineSuiteResult> {
  const all = pipelineScenarios(options.quick);
  const unknown = (options.only ?? []).filter((n) => !all.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new BenchError(
      `unknown scenario ${unknown.join(', ')}; scenarios: ${all.map((s) => s.name).join(', ')}`,
    );
  }
  // The media and live rows take minutes and need Debian's speech packages: a quick run (npm start) leaves them out
  // unless they are named with --only.
  const scenarios =
    options.only && options.only.length > 0
      ? all.filter((s) => options.only?.includes(s.name))
      : all.filter((s) => !options.quick || (s.kind !== 'media' && s.kind !== 'live'));
  const repeats = options.repeats ?? (options.quick ? 2 : 5);
  const warmupMs = options.quick ? 200 : 500;
  const environment = captureEnvironment({ python: options.python, repoDir: ROOT });
  if (environment.python_version === null) {
    throw new BenchError(`cannot run the Python interpreter '${options.python}' (set --python)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'pitlane-bench-'));
  const repeatsOf = (s: PipelineScenario): number => Math.min(repeats, s.live?.repeats ?? repeats);
  const total = scenarios.reduce((n, s) => n + contestantsOf(s).length * repeatsOf(s), 0);
  let done = 0;
  try {
    const results: ScenarioResult[] = [];
    for (const s of scenarios) {
      const manifest = join(dir, `${s.name}.json`);
      await writeFile(manifest, JSON.stringify(s.manifest));
      const manifestOf = async (rt: RuntimeName): Promise<string> => {
        const own = s.manifestFor?.[rt];
        if (own === undefined) return manifest;
        const path = join(dir, `${s.name}.${rt}.json`);
        await writeFile(path, JSON.stringify(own));
        return path;
      };
      const media = s.media !== undefined ? mediaInput(dir, s.media) : null;
      let input: string | null = null;
      if (s.kind === 'stream') {
        input = join(dir, `${s.name}.jsonl`);
        await writeFile(input, Array.from({ length: s.items }, (_, i) => `${i}\n`).join(''));
      }
      const who = contestantsOf(s);
      const repeatsBy: Partial<Record<RuntimeName, RepeatResult[]>> = Object.fromEntries(
        who.map((c) => [c, []]),
      );
      for (let r = 0; r < repeatsOf(s); r++) {
        // Rotate who goes first, so drift over time does not favour one contestant.
        const order = who.map((_, i) => who[(i + r) % who.length] as RuntimeName);
        for (const runtime of order) {
          options.onProgress?.({
            done,
            total,
            label: `${s.name} · ${runtime} · repeat ${r + 1}/${repeatsOf(s)}`,
          });
          const files = { manifest: await manifestOf(runtime), input, media };
          const earlier = repeatsBy[runtime] ?? [];
          earlier.push(await runRepeat(runtime, s, files, options.python, warmupMs, earlier));
          done++;
        }
      }
      results.push(summarizeScenario(s, repeatsBy, media));
    }
    options.onProgress?.({ done, total, label: 'done' });
    const headlineRows = results.filter((r) => r.scenario.headline && r.correct);
    const headline = geometricMeanOfRatios(
      headlineRows.map((r) => ({
        numerator: (r.repeats.cpython ?? []).map((x) => x.samples_ns),
        denominator: (r.repeats.pitlane ?? []).map((x) => x.samples_ns),
      })),
    );
    return {
      suite: 'pipelines',
      environment,
      settings: { quick: options.quick, repeats, warmup_ms: warmupMs, python: options.python },
      scenarios: results,
      headline: {
        speedup: headline.ratio,
        ci95: headline.ci95,
        scenarios: headlineRows.map((r) => r.scenario.name),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function summarizeScenario(
  s: PipelineScenario,
  repeats: Partial<Record<RuntimeName, RepeatResult[]>>,
  media: MediaInput | null,
): ScenarioResult {
  const scenario: Omit<PipelineScenario, 'manifest'> & { manifest?: object } = { ...s };
  delete scenario.manifest;
  const who = contestantsOf(s);
  const summary: ScenarioResult['summary'] = {};
  const details: ScenarioResult['details'] = {};
  for (const rt of who) {
    const runs = repeats[rt] ?? [];
    const perRepeat = runs.map((x) => median(x.samples_ns));
    summary[rt] = {
      ...summarize(runs.flatMap((x) => x.samples_ns)),
      median: median(perRepeat),
      peak_rss_mb: Math.max(...runs.map((x) => x.peak_rss_kb)) / 1024,
      ns_per_item: s.items > 0 ? median(perRepeat) / s.items : null,
    };
    const detail = runs.find((x) => x.details !== undefined)?.details;
    if (detail !== undefined) details[rt] = detail;
  }
  const hashes = new Set(who.flatMap((rt) => (repeats[rt] ?? []).map((x) => x.outputs_sha256)));
  const correct = hashes.size === 1;
  // Speed-ups: the shared paired-repeat ratio of each repeat's median time (repeat i against repeat i); for live
  // scenarios, of each repeat's capacity (higher is better).
  const live = s.kind === 'live';
  const times = (rt: RuntimeName): RepeatFigures[] =>
    (repeats[rt] ?? []).map((x, i) => ({
      repeat: i,
      values: live ? { time: x.live?.streams ?? null } : { time: median(x.samples_ns) },
    }));
  const speedups: ScenarioResult['speedups'] = {};
  for (const rt of who) {
    if (rt !== 'cpython' && who.includes('cpython')) {
      speedups[rt] = pairedRatio(times('cpython'), times(rt), { metric: 'time', higherIsBetter: live }) ?? {
        ratio: NaN,
        ci95: [NaN, NaN],
        repeats: 0,
      };
    }
  }
  const primary = who.find((rt) => rt !== 'cpython') ?? 'pitlane';
  const capacity: Partial<Record<RuntimeName, LiveCapacity>> = {};
  for (const rt of who) {
    const runs = (repeats[rt] ?? []).map((x) => x.live).filter((x): x is LiveCapacity => x !== undefined);
    if (runs.length > 0) capacity[rt] = runs.reduce((a, b) => (b.streams < a.streams ? b : a));
  }
  const quality: Partial<Record<RuntimeName, WordErrorRate>> = {};
  for (const rt of who) {
    const wer = repeats[rt]?.[0]?.wer;
    if (wer !== undefined) quality[rt] = wer;
  }
  return {
    scenario,
    ...(media !== null && !live ? { quality, input: media.description, input_seconds: media.seconds } : {}),
    ...(live ? { capacity, input: media?.description ?? '' } : {}),
    repeats,
    summary,
    speedup: speedups[primary] ?? { ratio: NaN, ci95: [NaN, NaN], repeats: 0 },
    speedups,
    details,
    correct,
    ...(correct ? {} : { note: `outputs differ between runtimes (${hashes.size} distinct output hashes)` }),
  };
}
