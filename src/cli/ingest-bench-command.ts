/**
 * `pitlane ingest-bench`: the batch-ingest load tool, flag-compatible with the Go tool of the original benchmark
 * guide (`-dir D -workers 16 -batch 64 -queue 1024 -report 10 -faces=false -ocr=false -port P`), so scripts
 * written for it run unchanged. Go flag syntax (go-flags.ts). Progress lines every `-report` seconds (and a live
 * bar on a terminal), a summary at the end, `-json` for the results JSON on stdout, `-out` to write it to a file.
 *
 * Exit codes: 0 done and correct; 3 (BENCH_FAILED) when the run ended early, batches failed, or the service
 * missed known duplicates of the corpus manifest; 2 for bad flags or folder; 130 when interrupted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UsageError } from '../core/errors.js';
import {
  INGEST_BENCH_DEFAULTS,
  formatIngestProgress,
  formatIngestSummary,
  runIngestBench,
  type IngestBenchProgress,
} from '../lab/kinds/ingest/bench.js';
import { EXIT } from './exit-codes.js';
import { goFlagsHelp, parseGoFlags, type GoFlagSpec } from './go-flags.js';

const D = INGEST_BENCH_DEFAULTS;

export const INGEST_BENCH_FLAGS: Readonly<Record<string, GoFlagSpec>> = {
  dir: { type: 'string', help: 'folder of photos to ingest (JPEG, PNG, WebP; walked recursively); required' },
  workers: { type: 'int', help: 'concurrent workers, each with one batch in flight', default: D.workers },
  batch: { type: 'int', help: 'images per request (multipart POST /ingest/batch)', default: D.batch },
  queue: {
    type: 'int',
    help: 'capacity of the queue of paths between the folder walker and the workers',
    default: D.queue,
  },
  report: { type: 'int', help: 'seconds between progress lines (0: none)', default: D.reportSeconds },
  faces: { type: 'bool', help: 'ask the service for face detection (enable_faces)', default: D.faces },
  ocr: { type: 'bool', help: 'ask the service for OCR (enable_ocr)', default: D.ocr },
  host: { type: 'string', help: 'host of the service', default: '127.0.0.1' },
  port: { type: 'int', help: 'port of the service', default: 8090 },
  url: {
    type: 'string',
    help: 'base URL of the service (overrides -host and -port), e.g. http://10.0.0.5:8090',
  },
  limit: { type: 'int', help: 'send at most this many images (0: all)', default: D.limit },
  timeout: { type: 'duration', help: 'per-batch timeout (0: none)', default: '10m' },
  details: {
    type: 'bool',
    help: 'ask for per-image outcomes (?details=true) to check duplicates image by image',
    default: D.details,
  },
  manifest: {
    type: 'string',
    help: 'corpus manifest to check duplicate findings against (default: DIR/manifest.json when present; "none" to skip)',
  },
  json: { type: 'bool', help: 'print the results JSON on stdout instead of the summary', default: false },
  out: { type: 'string', help: 'also write the results JSON to this file' },
};

const USAGE =
  'Usage: pitlane ingest-bench -dir DIR [flags]\n\n' +
  'Uploads every photo under DIR to an ingest service (pitlane serve ingest, the Python baseline, or any service\n' +
  'with the same API) in multipart batches from concurrent workers, and reports throughput, batch latency,\n' +
  'errors and duplicates. Flags as in Go: -name value, -name=value, booleans -name or -name=false.\n\nFlags:';

export async function ingestBenchCommand(argv: readonly string[]): Promise<number> {
  const { values, rest, help } = parseGoFlags(argv, INGEST_BENCH_FLAGS);
  if (help) {
    process.stdout.write(goFlagsHelp(USAGE, INGEST_BENCH_FLAGS));
    return EXIT.OK;
  }
  if (rest.length > 0)
    throw new UsageError(`unexpected arguments: ${rest.join(' ')} (flags come as -name value)`);
  const dir = values.dir as string | undefined;
  if (dir === undefined || dir === '')
    throw new UsageError('-dir is required: the folder of photos to ingest');
  for (const name of ['workers', 'batch', 'queue'] as const) {
    if ((values[name] as number) < 1) throw new UsageError(`-${name} must be at least 1`);
  }
  for (const name of ['report', 'limit'] as const) {
    if ((values[name] as number) < 0) throw new UsageError(`-${name} must not be negative`);
  }
  const port = values.port as number;
  if (values.url === undefined && (port < 1 || port > 65535))
    throw new UsageError(`-port ${port}: not a port`);
  const url = (values.url as string | undefined) ?? `http://${values.host as string}:${port}`;
  if (!/^https?:\/\//.test(url)) throw new UsageError(`-url ${url}: give an http:// or https:// URL`);
  const manifest = values.manifest as string | undefined;
  const json = values.json === true;

  const controller = new AbortController();
  const onSignal = (): void => controller.abort('interrupted');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = process.stderr.isTTY && !json;
  const bar = (p: IngestBenchProgress): void => {
    const width = 24;
    const filled = p.total > 0 ? Math.round((p.images / p.total) * width) : 0;
    process.stderr.write(
      `\r\x1b[K${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${p.images}/${p.total} ${formatIngestProgress(p)}`,
    );
  };
  process.stderr.write(
    `ingest-bench: ${url}, -dir ${dir}, -workers ${String(values.workers)} -batch ${String(values.batch)} -queue ${String(values.queue)} -faces=${String(values.faces)} -ocr=${String(values.ocr)}\n`,
  );
  try {
    const result = await runIngestBench({
      dir,
      url,
      workers: values.workers as number,
      batch: values.batch as number,
      queue: values.queue as number,
      reportSeconds: values.report as number,
      faces: values.faces as boolean,
      ocr: values.ocr as boolean,
      details: values.details as boolean,
      limit: values.limit as number,
      timeoutMs: values.timeout as number,
      ...(manifest !== undefined ? { manifest: manifest === 'none' ? null : manifest } : {}),
      signal: controller.signal,
      onReport: (p) => {
        if (tty) process.stderr.write('\r\x1b[K');
        process.stderr.write(`${formatIngestProgress(p)}\n`);
      },
      ...(tty ? { onTick: bar } : {}),
    });
    if (tty) process.stderr.write('\r\x1b[K');
    const out = values.out as string | undefined;
    if (out !== undefined) {
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, JSON.stringify(result, null, 1));
    }
    if (json) process.stdout.write(JSON.stringify(result, null, 1) + '\n');
    else process.stdout.write(`${formatIngestSummary(result)}\n${out !== undefined ? `Wrote ${out}\n` : ''}`);
    if (controller.signal.aborted) return EXIT.INTERRUPTED;
    const failed = !result.complete || result.batches.failed > 0 || result.check?.correct === false;
    return failed ? EXIT.BENCH_FAILED : EXIT.OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
