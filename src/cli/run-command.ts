/** `pitlane run`: streams JSONL through a manifest's pipeline. */
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { FileError } from '../core/errors.js';
import { runPipeline, type NodeStats } from '../pipeline/executor.js';
import { JsonlWriter, readJsonl } from '../pipeline/jsonl.js';
import { loadManifestFile, type ErrorPolicy } from '../pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { EXIT } from './exit-codes.js';
import { reportError } from './report-error.js';

export interface RunCommandOptions {
  input?: string;
  output?: string;
  onError?: ErrorPolicy;
  stats?: boolean;
  jsonStats?: boolean;
  pythonRuntime?: 'cpython' | 'pyodide';
}

export async function runCommand(file: string, opts: RunCommandOptions): Promise<number> {
  const manifest = await loadManifestFile(file, BUILTIN_NODE_TYPES);
  const input = await openInput(opts.input ?? '-');
  const output = await openOutput(opts.output ?? '-');
  const writer = new JsonlWriter(output);

  // First Ctrl-C: stop cleanly (sources stop, in-flight items drain, nodes flush). Second: leave now.
  const controller = new AbortController();
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
      input: readJsonl(input, controller.signal),
      onOutput: (v) => writer.write(v),
      signal: controller.signal,
      timing: opts.stats === true || opts.jsonStats === true,
      ...(opts.pythonRuntime !== undefined ? { nodeOptions: { pythonRuntime: opts.pythonRuntime } } : {}),
      ...(opts.onError !== undefined ? { onError: opts.onError } : {}),
    });
    await writer.end();
    if (output !== process.stdout) await new Promise<void>((resolve) => output.end(resolve));
    if (opts.jsonStats === true) {
      process.stderr.write(
        JSON.stringify({ state: result.state, duration_ms: result.durationMs, nodes: result.stats }) + '\n',
      );
    } else if (opts.stats === true) {
      process.stderr.write(formatStats(result.stats, result.durationMs, writer.count));
    }
    if (result.state === 'failed') return reportError(result.error);
    return result.state === 'cancelled' ? EXIT.INTERRUPTED : EXIT.OK;
  } finally {
    process.off('SIGINT', onSigint);
    if (input !== process.stdin) input.destroy();
  }
}

async function openInput(path: string): Promise<Readable> {
  if (path === '-') return process.stdin;
  const stream = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e: NodeJS.ErrnoException) =>
      reject(new FileError(path, e.code === 'ENOENT' ? 'no such file' : e.message, { cause: e })),
    );
  });
  return stream;
}

async function openOutput(path: string): Promise<Writable> {
  if (path === '-') return process.stdout;
  const stream = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e) => reject(new FileError(path, e.message, { cause: e })));
  });
  return stream;
}

/** The `--stats` table: per-node counters and time. */
export function formatStats(stats: readonly NodeStats[], durationMs: number, outputs: number): string {
  const rows = stats.map((s) => [
    s.id,
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
  const details = stats.flatMap((s) => (s.detail !== null ? [`  ${s.id}: ${s.detail}`] : []));
  return [
    line(head),
    ...rows.map(line),
    ...details,
    `${outputs} outputs in ${durationMs.toFixed(1)} ms (time_ms: synchronous time in process/flush)`,
    '',
  ].join('\n');
}
