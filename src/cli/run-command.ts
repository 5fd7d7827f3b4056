/** `pitlane run`: streams JSONL through a manifest's pipeline. */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { FileError } from '../core/errors.js';
import { printable } from '../core/terminal-text.js';
import { describeOpenError } from '../core/user-file.js';
import { runPipeline, type NodeStats } from '../pipeline/executor.js';
import { JSONL_READ_CHUNK_BYTES, JsonlWriter, readJsonl } from '../pipeline/jsonl.js';
import { loadManifestFile, type ErrorPolicy } from '../pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { EXIT } from './exit-codes.js';
import { OutputClosed, OutputFile } from './output-file.js';
import { reportError } from './report-error.js';
import { printManifestWarnings } from './validate-command.js';

export interface RunCommandOptions {
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
  const manifest = await loadManifestFile(file, BUILTIN_NODE_TYPES, {
    strict: opts.strict === true,
    onWarnings: (w) => printManifestWarnings(file, w),
  });
  const input = await openInput(opts.input ?? '-');
  const output = OutputFile.open(opts.output ?? '-');
  // A failed write ends the run: sources stop, what is in flight drains, and the failure decides the exit code.
  const controller = new AbortController();
  const writer = new JsonlWriter(output, () => controller.abort());

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
      input: readJsonl(input, {
        signal: controller.signal,
        ...(opts.maxLineMb !== undefined ? { maxLineBytes: Math.floor(opts.maxLineMb * 1024 * 1024) } : {}),
        maxLineFlag: '--max-line-mb',
      }),
      onOutput: (v) => writer.write(v),
      signal: controller.signal,
      timing: opts.stats === true || opts.jsonStats === true,
      ...(opts.pythonRuntime !== undefined ? { nodeOptions: { pythonRuntime: opts.pythonRuntime } } : {}),
      ...(opts.onError !== undefined ? { onError: opts.onError } : {}),
    });
    let outputFailure: unknown = null;
    try {
      writer.end();
      output.close();
    } catch (e) {
      outputFailure = e;
      output.abandon();
    }
    if (opts.jsonStats === true) {
      process.stderr.write(
        JSON.stringify({ state: result.state, duration_ms: result.durationMs, nodes: result.stats }) + '\n',
      );
    } else if (opts.stats === true) {
      process.stderr.write(formatStats(result.stats, result.durationMs, writer.count));
    }
    if (outputFailure instanceof OutputClosed) return EXIT.OUTPUT_CLOSED;
    if (outputFailure !== null) {
      if (result.state === 'failed') reportError(result.error);
      return reportError(outputFailure);
    }
    if (result.state === 'failed') return reportError(result.error);
    return result.state === 'cancelled' ? EXIT.INTERRUPTED : EXIT.OK;
  } finally {
    process.off('SIGINT', onSigint);
    output.abandon();
    if (input !== process.stdin) input.destroy();
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

/** The `--stats` table: per-node counters and time. */
export function formatStats(stats: readonly NodeStats[], durationMs: number, outputs: number): string {
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
    '',
  ].join('\n');
}
