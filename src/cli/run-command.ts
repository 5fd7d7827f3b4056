/**
 * `pitlane run`: streams items through a manifest's pipeline: JSONL by default, or audio frames from a WAV file,
 * another audio file (ffmpeg) or raw PCM (cli/run-input.ts); outputs to JSONL, or audio to a WAV file
 * (cli/run-output.ts).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { AudioInputError, FileError, NodeFailedError } from '../core/errors.js';
import { printable } from '../core/terminal-text.js';
import { describeOpenError } from '../core/user-file.js';
import { runPipeline, type NodeStats } from '../pipeline/executor.js';
import { JSONL_READ_CHUNK_BYTES, readJsonl } from '../pipeline/jsonl.js';
import type { FrameLatencySummary } from '../media/frame-latency.js';
import { loadManifestFile, type ErrorPolicy, type Manifest } from '../pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { EXIT } from './exit-codes.js';
import { OutputClosed } from './output-file.js';
import { reportError } from './report-error.js';
import { asLiveInput, resolveRunInput, runAudioFrames, type AudioInputOptions } from './run-input.js';
import { RunOutputs, type RunOutputOptions } from './run-output.js';
import { printManifestWarnings } from './validate-command.js';

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
}

export async function runCommand(file: string, opts: RunCommandOptions): Promise<number> {
  const loaded = await loadManifestFile(file, BUILTIN_NODE_TYPES, {
    strict: opts.strict === true,
    onWarnings: (w) => printManifestWarnings(file, w),
  });
  const source = resolveRunInput(opts.input ?? '-', opts);
  const live = source.kind === 'audio' && opts.realtime === true;
  const manifest = live ? asLiveInput(loaded, opts) : loaded;
  const input = source.kind === 'jsonl' ? await openInput(source.path) : null;
  // A failed write ends the run: sources stop, what is in flight drains, and the failure decides the exit code.
  const controller = new AbortController();
  const output = new RunOutputs(opts.output ?? '-', opts, () => controller.abort());
  let behind = 0;
  const onBehind = (dropped: number, lateMs: number, slots: number): void => {
    behind = dropped;
    if (slots !== 1 && slots % 50 !== 0) return;
    process.stderr.write(
      `pitlane: warning: the pipeline is behind real time: ${dropped} frame(s) dropped so far ` +
        `(the last one was taken ${lateMs.toFixed(1)} ms late)\n`,
    );
  };

  // First Ctrl-C: stop cleanly (sources stop, in-flight items drain, nodes flush). Second: leave now.
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(EXIT.INTERRUPTED);
    interrupted = true;
    process.stderr.write('pitlane: interrupted, finishing what is in flight (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await runPipeline(manifest, {
      input:
        source.kind === 'audio'
          ? runAudioFrames(source.spec, opts, controller.signal, onBehind)
          : readJsonl(input as Readable, {
              signal: controller.signal,
              ...(opts.maxLineMb !== undefined
                ? { maxLineBytes: Math.floor(opts.maxLineMb * 1024 * 1024) }
                : {}),
              maxLineFlag: '--max-line-mb',
            }),
      onOutput: output.write,
      signal: controller.signal,
      timing: opts.stats === true || opts.jsonStats === true,
      ...(opts.pythonRuntime !== undefined ? { nodeOptions: { pythonRuntime: opts.pythonRuntime } } : {}),
      ...(opts.onError !== undefined ? { onError: opts.onError } : {}),
    });
    let outputFailure: unknown = null;
    try {
      output.end();
    } catch (e) {
      outputFailure = e;
      output.abandon();
    }
    const queued = live ? droppedAtEntry(manifest, result.stats) : 0;
    if (queued > 0) {
      process.stderr.write(
        `pitlane: warning: the pipeline fell behind real time: ${queued} frame(s) were dropped from full input queues (drop_oldest)\n`,
      );
    }
    const latency = await output.latency.summary();
    if (opts.jsonStats === true) {
      process.stderr.write(
        JSON.stringify({
          state: result.state,
          duration_ms: result.durationMs,
          nodes: result.stats,
          ...(latency !== null ? { frame_latency: latency } : {}),
          ...(live ? { frames_dropped_behind: behind + queued } : {}),
        }) + '\n',
      );
    } else if (opts.stats === true) {
      process.stderr.write(formatStats(result.stats, result.durationMs, output.count, latency));
    }
    if (outputFailure instanceof OutputClosed) return EXIT.OUTPUT_CLOSED;
    if (outputFailure !== null) {
      if (result.state === 'failed') reportError(inputFailure(result.error));
      return reportError(outputFailure);
    }
    if (result.state === 'failed') return reportError(inputFailure(result.error));
    return result.state === 'cancelled' ? EXIT.INTERRUPTED : EXIT.OK;
  } finally {
    process.off('SIGINT', onSigint);
    output.abandon();
    if (input !== null && input !== process.stdin) input.destroy();
  }
}

/** Items dropped by the queues of the nodes the input feeds. */
function droppedAtEntry(manifest: Manifest, stats: readonly NodeStats[]): number {
  return manifest.nodes
    .filter((n) => (manifest.plan.predecessors[n.index]?.length ?? 0) === 0)
    .reduce((sum, n) => sum + (stats.find((s) => s.id === n.id)?.dropped ?? 0), 0);
}

/**
 * A bad or missing audio input is the user's input error (exit 2), not a failure of the pipeline's implicit input
 * node.
 */
function inputFailure(error: unknown): unknown {
  return error instanceof NodeFailedError &&
    (error.cause instanceof AudioInputError || error.cause instanceof FileError)
    ? error.cause
    : error;
}

async function openInput(path: string): Promise<Readable> {
  if (path === '-') return process.stdin;
  const stream = createReadStream(path, { highWaterMark: JSONL_READ_CHUNK_BYTES });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e: NodeJS.ErrnoException) =>
      reject(new FileError(path, describeOpenError(e, 'input'), { cause: e })),
    );
  });
  return stream;
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
    `${outputs} outputs in ${durationMs.toFixed(1)} ms (time_ms: synchronous time in process/flush)`,
    ...(latency !== null
      ? [
          `frame latency (audio frame in → each output made from it), ${latency.count} outputs: p50 ${latency.p50_us} µs, ` +
            `p90 ${latency.p90_us} µs, p99 ${latency.p99_us} µs, max ${latency.max_us} µs`,
        ]
      : []),
    '',
  ].join('\n');
}
