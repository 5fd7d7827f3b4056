/**
 * A run of several streams (`--streams N`) split over threads: each thread runs the whole pipeline on its share of
 * the streams (contiguous stream ids, so per-stream state stays in one thread), as a multi-threaded media runtime
 * serves sessions on every core. The main thread writes the threads' JSONL, sums their node counters, merges their
 * latency histograms and prints one set of statistics, in the same shape as a run on one thread. Per-stream
 * outputs keep their order; outputs of different streams interleave as the threads produce them.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { UsageError } from '../core/errors.js';
import { FrameLatency } from '../media/frame-latency.js';
import type { NodeStats, PipelineResult } from '../pipeline/executor.js';
import { loadManifestFile } from '../pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { EXIT } from './exit-codes.js';
import { OutputClosed, OutputFile } from './output-file.js';
import { reportError } from './report-error.js';
import {
  behindWarning,
  droppedAtEntry,
  inputFailure,
  printTally,
  runThrough,
  type RunCommandOptions,
} from './run-core.js';
import { asLiveInput, resolveRunInput, type RunInput } from './run-input.js';
import { RunOutputs } from './run-output.js';

/** What a shard thread is started with. */
export interface ShardData {
  readonly file: string;
  readonly opts: RunCommandOptions;
  readonly ids: readonly string[];
}

/** What a shard thread sends to the main thread. */
export type ShardMessage =
  | { readonly kind: 'lines'; readonly text: string }
  | { readonly kind: 'behind'; readonly dropped: number; readonly lateMs: number }
  | {
      readonly kind: 'done';
      readonly state: PipelineResult['state'];
      /** The exit code of a failed shard, already reported on stderr; null when it did not fail. */
      readonly failedExit: number | null;
      readonly durationMs: number;
      readonly stats: readonly NodeStats[];
      readonly outputs: number;
      readonly latency: string | null;
      readonly behind: number;
      readonly queued: number;
    };

/** What the main thread sends to a shard thread. */
export interface ShardControl {
  readonly kind: 'stop';
}

const SHARD_URL = new URL('./run-shard-thread.js', import.meta.url);

/**
 * Threads a run uses: 1 unless the input is audio replayed as several streams; then `--threads`, or one per core
 * (at most one per stream). A WAV or SRT output takes one ordered stream of outputs, so it runs on one thread.
 */
export function streamThreads(opts: RunCommandOptions, source: RunInput): number {
  const streams = opts.streams ?? 1;
  const name = (opts.output ?? '-').toLowerCase();
  const jsonl = !name.endsWith('.wav') && !name.endsWith('.srt');
  if (opts.threads !== undefined && opts.threads > 1) {
    if (source.kind !== 'audio' || streams < 2) {
      throw new UsageError(
        '--threads splits the streams of an audio input: give it with --streams N (N ≥ 2)',
      );
    }
    if (!jsonl)
      throw new UsageError('--threads needs a JSONL output: a .wav or .srt output runs on one thread');
    return Math.min(opts.threads, streams);
  }
  if (opts.threads !== undefined || source.kind !== 'audio' || streams < 2 || !jsonl) return 1;
  return Math.min(availableParallelism(), streams);
}

/** Runs `file` over the audio input's streams on `threads` threads; the exit code of the run. */
export async function runOnThreads(file: string, opts: RunCommandOptions, threads: number): Promise<number> {
  const streams = opts.streams ?? 1;
  const output = OutputFile.open(opts.output ?? '-');
  let outputFailure: unknown = null;
  const workers: Worker[] = [];
  const stopAll = (): void => {
    for (const w of workers) w.postMessage({ kind: 'stop' } satisfies ShardControl);
  };
  const behind = new Array<number>(threads).fill(0);
  let slots = 0;
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(EXIT.INTERRUPTED);
    interrupted = true;
    process.stderr.write('pitlane: interrupted, finishing what is in flight (Ctrl-C again to quit now)\n');
    stopAll();
  };
  process.on('SIGINT', onSigint);
  try {
    const shards = Array.from({ length: threads }, (_, t) => {
      const from = Math.floor((t * streams) / threads);
      const to = Math.floor(((t + 1) * streams) / threads);
      return Array.from({ length: to - from }, (_, i) => `s${from + i}`);
    });
    const done = await Promise.all(
      shards.map(
        (ids, t) =>
          new Promise<Extract<ShardMessage, { kind: 'done' }>>((resolve, reject) => {
            const data: ShardData = { file, opts: { ...opts }, ids };
            const worker = new Worker(SHARD_URL, { workerData: data });
            workers.push(worker);
            worker.on('message', (m: ShardMessage) => {
              if (m.kind === 'lines') {
                if (outputFailure !== null) return;
                try {
                  output.write(m.text);
                } catch (e) {
                  outputFailure = e;
                  stopAll();
                }
              } else if (m.kind === 'behind') {
                behind[t] = m.dropped;
                slots++;
                if (slots === 1 || slots % 50 === 0) {
                  process.stderr.write(
                    behindWarning(
                      behind.reduce((a, b) => a + b, 0),
                      m.lateMs,
                    ),
                  );
                }
              } else {
                resolve(m);
              }
            });
            worker.once('error', reject);
            worker.once('exit', (code) => {
              reject(new Error(`run thread ${t + 1} of ${threads} ended (exit ${code}) before its run did`));
            });
          }),
      ),
    );
    if (outputFailure === null) {
      try {
        output.close();
      } catch (e) {
        outputFailure = e;
      }
    }
    const latency = new FrameLatency();
    for (const d of done) if (d.latency !== null) await latency.add(d.latency);
    const queued = done.reduce((a, d) => a + d.queued, 0);
    const live = opts.realtime === true;
    printTally(
      opts,
      {
        state:
          done.find((d) => d.state === 'failed')?.state ??
          done.find((d) => d.state === 'cancelled')?.state ??
          'completed',
        durationMs: Math.max(...done.map((d) => d.durationMs)),
        stats: mergeStats(done.map((d) => d.stats)),
        outputs: done.reduce((a, d) => a + d.outputs, 0),
        latency: await latency.summary(),
        droppedBehind: live ? done.reduce((a, d) => a + d.behind + d.queued, 0) : null,
        threads,
      },
      queued,
    );
    if (outputFailure instanceof OutputClosed) return EXIT.OUTPUT_CLOSED;
    if (outputFailure !== null) return reportError(outputFailure);
    const failed = done.find((d) => d.failedExit !== null);
    if (failed !== undefined) return failed.failedExit as number;
    return done.some((d) => d.state === 'cancelled') ? EXIT.INTERRUPTED : EXIT.OK;
  } finally {
    process.off('SIGINT', onSigint);
    output.abandon();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The node counters of the shards, summed per node (every shard runs the same manifest). */
function mergeStats(shards: readonly (readonly NodeStats[])[]): NodeStats[] {
  const [first, ...rest] = shards;
  if (first === undefined) return [];
  return first.map((s, i) => {
    const others = rest.map((r) => r[i] as NodeStats);
    const sum = (key: 'received' | 'emitted' | 'dropped' | 'errors'): number =>
      others.reduce((a, o) => a + o[key], s[key]);
    return {
      ...s,
      received: sum('received'),
      emitted: sum('emitted'),
      dropped: sum('dropped'),
      errors: sum('errors'),
      timeMs: s.timeMs === null ? null : others.reduce((a, o) => a + (o.timeMs ?? 0), s.timeMs),
    };
  });
}

/**
 * One shard, in its thread: the run of `data.ids`' streams, its JSONL sent to the main thread in batches, its
 * errors reported on stderr, its counters in the final message.
 */
export async function runShard(
  data: ShardData,
  post: (m: ShardMessage) => void,
  stop: AbortController,
): Promise<void> {
  const opts: RunCommandOptions = { ...data.opts, streams: data.ids.length };
  // The main thread has printed the manifest's warnings already.
  const loaded = await loadManifestFile(data.file, BUILTIN_NODE_TYPES, { strict: opts.strict === true });
  const source = resolveRunInput(opts.input ?? '-', opts);
  const live = source.kind === 'audio' && opts.realtime === true;
  const manifest = live ? asLiveInput(loaded, opts) : loaded;
  const output = new RunOutputs(
    {
      write: (text) => {
        post({ kind: 'lines', text });
      },
    },
    opts,
    () => stop.abort(),
  );
  let behind = 0;
  const result = await runThrough(
    manifest,
    source,
    null,
    opts,
    output,
    stop.signal,
    (dropped, lateMs) => {
      behind = dropped;
      post({ kind: 'behind', dropped, lateMs });
    },
    data.ids,
  );
  output.end();
  const failedExit = result.state === 'failed' ? reportError(inputFailure(result.error)) : null;
  post({
    kind: 'done',
    state: result.state,
    failedExit,
    durationMs: result.durationMs,
    stats: result.stats,
    outputs: output.count,
    latency: await output.latency.encoded(),
    behind,
    queued: live ? droppedAtEntry(manifest, result.stats) : 0,
  });
}
