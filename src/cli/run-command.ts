/**
 * `pitlane run`: streams items through a manifest's pipeline: JSONL by default, or audio frames from a WAV file,
 * another audio file (ffmpeg) or raw PCM (cli/run-input.ts); outputs to JSONL, or audio to a WAV file
 * (cli/run-output.ts). Several live streams (`--streams`) are split over threads (cli/run-threads.ts).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { FileError, UsageError } from '../core/errors.js';
import { describeOpenError } from '../core/user-file.js';
import { JSONL_READ_CHUNK_BYTES } from '../pipeline/jsonl.js';
import { loadManifestFile } from '../pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { EXIT } from './exit-codes.js';
import { OutputClosed } from './output-file.js';
import { reportError } from './report-error.js';
import {
  behindWarning,
  droppedAtEntry,
  inputFailure,
  printTally,
  runThrough,
  type RunCommandOptions,
} from './run-core.js';
import { asLiveInput, resolveRunInput } from './run-input.js';
import { RunOutputs } from './run-output.js';
import { runOnThreads, streamThreads } from './run-threads.js';
import { printManifestWarnings } from './validate-command.js';

export type { RunCommandOptions } from './run-core.js';

export async function runCommand(file: string, opts: RunCommandOptions): Promise<number> {
  const loaded = await loadManifestFile(file, BUILTIN_NODE_TYPES, {
    strict: opts.strict === true,
    onWarnings: (w) => printManifestWarnings(file, w),
  });
  const source = resolveRunInput(opts.input ?? '-', opts);
  const live = source.kind === 'audio' && opts.realtime === true;
  if (opts.warmup !== undefined && !live) {
    throw new UsageError('--warmup applies to a live run: give it with --realtime and an audio input');
  }
  const threads = streamThreads(opts, source);
  if (threads > 1) return runOnThreads(file, opts, threads);
  const manifest = live ? asLiveInput(loaded, opts) : loaded;
  const input = source.kind === 'jsonl' ? await openInput(source.path) : null;
  // A failed write ends the run: sources stop, what is in flight drains, and the failure decides the exit code.
  const controller = new AbortController();
  const output = new RunOutputs(opts.output ?? '-', opts, () => controller.abort());
  let behind = 0;
  const onBehind = (dropped: number, lateMs: number, slots: number): void => {
    behind = dropped;
    if (slots === 1 || slots % 50 === 0) process.stderr.write(behindWarning(dropped, lateMs));
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
    const result = await runThrough(manifest, source, input, opts, output, controller.signal, onBehind);
    let outputFailure: unknown = null;
    try {
      output.end();
    } catch (e) {
      outputFailure = e;
      output.abandon();
    }
    const queued = live ? droppedAtEntry(manifest, result.stats) : 0;
    printTally(
      opts,
      {
        state: result.state,
        durationMs: result.durationMs,
        stats: result.stats,
        outputs: output.count,
        latency: await output.latency.summary(),
        droppedBehind: live ? behind + queued : null,
      },
      queued,
    );
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
