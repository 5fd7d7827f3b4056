/**
 * What a whole `pitlane run` and one shard of a threaded run (cli/run-threads.ts) share: its options, running the
 * pipeline over the input into the outputs, and the statistics and warnings printed at the end.
 */
import { AudioInputError, FileError, NodeFailedError } from '../core/errors.js';
import { printable } from '../core/terminal-text.js';
import type { FrameLatencySummary } from '../media/frame-latency.js';
import { runPipeline, type NodeStats, type PipelineResult } from '../pipeline/executor.js';
import { readJsonl } from '../pipeline/jsonl.js';
import type { ErrorPolicy, Manifest } from '../pipeline/manifest.js';
import type { Readable } from 'node:stream';
import { runAudioFrames, type AudioInputOptions, type RunInput } from './run-input.js';
import type { RunOutputOptions, RunOutputs } from './run-output.js';

export interface RunCommandOptions extends AudioInputOptions, RunOutputOptions {
  input?: string;
  output?: string;
  onError?: ErrorPolicy;
  stats?: boolean;
  jsonStats?: boolean;
  pythonRuntime?: 'cpython' | 'pyodide';
  /** Longest input line in MiB (longer: that line is an error record). */
  maxLineMb?: number;
  /** Unknown manifest fields are errors. */
  strict?: boolean;
  /** With `--streams`: threads the streams are split over (default: one per core). */
  threads?: number;
}

/** Runs the pipeline over the run's input (JSONL, or audio frames of `streamIds`) into `output`. */
export function runThrough(
  manifest: Manifest,
  source: RunInput,
  input: Readable | null,
  opts: RunCommandOptions,
  output: RunOutputs,
  signal: AbortSignal,
  onBehind: (dropped: number, lateMs: number, slots: number) => void,
  streamIds?: readonly string[],
): Promise<PipelineResult> {
  return runPipeline(manifest, {
    input:
      source.kind === 'audio'
        ? runAudioFrames(
            source.spec,
            opts,
            signal,
            onBehind,
            (arrivalUs) => {
              output.latency.countFrom(arrivalUs);
            },
            streamIds,
          )
        : readJsonl(input as Readable, {
            signal,
            ...(opts.maxLineMb !== undefined
              ? { maxLineBytes: Math.floor(opts.maxLineMb * 1024 * 1024) }
              : {}),
            maxLineFlag: '--max-line-mb',
          }),
    onOutput: output.write,
    signal,
    timing: opts.stats === true || opts.jsonStats === true,
    ...(opts.pythonRuntime !== undefined ? { nodeOptions: { pythonRuntime: opts.pythonRuntime } } : {}),
    ...(opts.onError !== undefined ? { onError: opts.onError } : {}),
  });
}

/** The warning of a live run that drops frames at the source (printed on the first and every 50th slot). */
export function behindWarning(dropped: number, lateMs: number): string {
  return (
    `pitlane: warning: the pipeline is behind real time: ${dropped} frame(s) dropped so far ` +
    `(the last one was taken ${lateMs.toFixed(1)} ms late)\n`
  );
}

/** What a run prints at the end with --stats or --json-stats. */
export interface RunTally {
  readonly state: PipelineResult['state'];
  readonly durationMs: number;
  readonly stats: readonly NodeStats[];
  readonly outputs: number;
  readonly latency: FrameLatencySummary | null;
  /** Live runs: frames dropped at the source and from full input queues. */
  readonly droppedBehind: number | null;
  /** Threaded runs: the threads. */
  readonly threads?: number;
}

/** Prints the queue-drop warning of a live run, then the statistics the options ask for, on stderr. */
export function printTally(opts: RunCommandOptions, tally: RunTally, queued: number): void {
  if (queued > 0) {
    process.stderr.write(
      `pitlane: warning: the pipeline fell behind real time: ${queued} frame(s) were dropped from full input queues (drop_oldest)\n`,
    );
  }
  if (opts.jsonStats === true) {
    process.stderr.write(
      JSON.stringify({
        state: tally.state,
        duration_ms: tally.durationMs,
        nodes: tally.stats,
        ...(tally.latency !== null ? { frame_latency: tally.latency } : {}),
        ...(tally.droppedBehind !== null ? { frames_dropped_behind: tally.droppedBehind } : {}),
        ...(tally.threads !== undefined ? { threads: tally.threads } : {}),
      }) + '\n',
    );
  } else if (opts.stats === true) {
    process.stderr.write(formatStats(tally.stats, tally.durationMs, tally.outputs, tally.latency));
  }
}

/** Items dropped by the queues of the nodes the input feeds. */
export function droppedAtEntry(manifest: Manifest, stats: readonly NodeStats[]): number {
  return manifest.nodes
    .filter((n) => (manifest.plan.predecessors[n.index]?.length ?? 0) === 0)
    .reduce((sum, n) => sum + (stats.find((s) => s.id === n.id)?.dropped ?? 0), 0);
}

/**
 * A bad or missing audio input is the user's input error (exit 2), not a failure of the pipeline's implicit input
 * node.
 */
export function inputFailure(error: unknown): unknown {
  return error instanceof NodeFailedError &&
    (error.cause instanceof AudioInputError || error.cause instanceof FileError)
    ? error.cause
    : error;
}

/** The `--stats` table: per-node counters and time. */
export function formatStats(
  stats: readonly NodeStats[],
  durationMs: number,
  outputs: number,
  latency: FrameLatencySummary | null = null,
): string {
  const rows = stats.map((s) => [
    printable(s.id),
    s.type,
    String(s.received),
    String(s.emitted),
    String(s.dropped),
    String(s.errors),
    s.timeMs === null ? '-' : s.timeMs.toFixed(3),
    s.timeMs === null || s.received === 0 ? '-' : ((s.timeMs * 1e6) / s.received).toFixed(0),
  ]);
  const head = ['node', 'type', 'in', 'out', 'dropped', 'errors', 'time_ms', 'ns/item'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  const details = stats.flatMap((s) => (s.detail !== null ? [printable(`  ${s.id}: ${s.detail}`)] : []));
  return [
    line(head),
    ...rows.map(line),
    ...details,
    `${outputs} outputs in ${durationMs.toFixed(1)} ms (time_ms: synchronous time in process/flush; past a node's first 1,024 items, one in 8 is timed and scaled)`,
    ...(latency !== null
      ? [
          `frame latency (audio frame in → each output made from it), ${latency.count} outputs: p50 ${latency.p50_us} µs, ` +
            `p90 ${latency.p90_us} µs, p99 ${latency.p99_us} µs, max ${latency.max_us} µs`,
        ]
      : []),
    '',
  ].join('\n');
}
