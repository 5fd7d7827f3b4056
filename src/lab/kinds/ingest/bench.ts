/**
 * The batch-ingest load tool (`pitlane ingest-bench`), the engine behind the command and the ingest suite. It
 * does what the Go tool of the original benchmark guide did, flag for flag: a producer walks a folder into a
 * bounded queue (`queue` paths), `workers` workers each take up to `batch` paths, upload them as one multipart
 * request to `POST /ingest/batch`, and wait for the answer; every `reportSeconds` a progress line; at the end a
 * summary. Added: batch latency percentiles, per-image errors by reason, failed batches by status, and a check of
 * the service's duplicate findings against the corpus manifest (lab/photo-corpus/) when the folder has one.
 *
 * Uploads stream from disk (file-backed Blobs), so 16 workers × 64 camera photos are not held in memory. Each
 * request asks for `?details=true` (per-image outcomes: ids, duplicates, detections), which pitlane's service and
 * the Python baseline answer; a service that ignores it is checked on its counts alone.
 *
 * Failure handling: an unreachable service ends the run (after `connectRetries` consecutive connection failures)
 * with what was measured, marked incomplete; a batch answered with a non-2xx status counts as failed (its images
 * too) and the run goes on; an abort signal (Ctrl-C, a contestant that died) ends it the same way.
 */
import { openAsBlob } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, FormData, fetch } from 'undici';
import { FileError, toError } from '../../../core/errors.js';
import { checkDuplicates, loadManifest } from './duplicate-check.js';
import {
  type IngestBenchOptions,
  type IngestBenchProgress,
  type IngestBenchResult,
  type IngestImageOutcome,
} from './bench-result.js';

export * from './bench-result.js';
export { checkDuplicates } from './duplicate-check.js';
export { formatIngestProgress, formatIngestSummary } from './bench-format.js';

/** Consecutive connection failures after which the service is taken to be gone. */
const CONNECT_RETRIES = 3;

const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp)$/i;

/** Every photo under a folder, sorted by path. Throws FileError for a missing folder or one with no photos. */
export async function listPhotos(dir: string): Promise<string[]> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new FileError(dir, 'no such folder (-dir)');
  }
  if (!info.isDirectory()) throw new FileError(dir, 'not a folder (-dir)');
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && IMAGE_EXTENSIONS.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  if (out.length === 0) throw new FileError(dir, 'holds no JPEG, PNG or WebP images (-dir)');
  return out.sort();
}

/** A bounded FIFO of paths with blocking put and batch take; closed when the producer is done. */
class PathQueue {
  private readonly items: string[] = [];
  private closed = false;
  private readonly putWaiters: (() => void)[] = [];
  private readonly takeWaiters: (() => void)[] = [];
  constructor(private readonly capacity: number) {}

  async put(path: string): Promise<void> {
    while (this.items.length >= this.capacity) await new Promise<void>((r) => this.putWaiters.push(r));
    this.items.push(path);
    this.takeWaiters.shift()?.();
  }

  close(): void {
    this.closed = true;
    for (const w of this.takeWaiters.splice(0)) w();
  }

  /** Up to `n` paths; waits for a full batch unless the producer is done; [] when drained. */
  async take(n: number): Promise<string[]> {
    while (this.items.length < n && !this.closed) await new Promise<void>((r) => this.takeWaiters.push(r));
    const got = this.items.splice(0, n);
    for (const w of this.putWaiters.splice(0)) w();
    if (this.items.length > 0) this.takeWaiters.shift()?.();
    return got;
  }
}

/** The service's answer to one batch, as far as the tool reads it. */
interface BatchAnswer {
  readonly processed?: number;
  readonly duplicates?: number;
  readonly near_duplicates?: number;
  readonly errors_count?: number;
  readonly indexed?: Record<string, number>;
  readonly errors?: readonly {
    readonly name?: string;
    readonly reason?: string;
    readonly message?: string;
  }[];
  readonly images?: readonly (Omit<IngestImageOutcome, 'batch_ms' | 'detections'> & {
    readonly detections?: IngestImageOutcome['detections'];
  })[];
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? null;
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs the tool. Rejects only for a bad folder or manifest; service failures end the run with partial results. */
export async function runIngestBench(options: IngestBenchOptions): Promise<IngestBenchResult> {
  const all = await listPhotos(options.dir);
  const paths = options.limit > 0 ? all.slice(0, options.limit) : all;
  const manifest = await loadManifest(options);
  const base = options.url.replace(/\/+$/, '');
  const query = new URLSearchParams({
    enable_faces: String(options.faces),
    enable_ocr: String(options.ocr),
    ...(options.details ? { details: 'true' } : {}),
  });
  const endpoint = `${base}/ingest/batch?${query.toString()}`;
  const agent = new Agent({
    connections: options.workers,
    keepAliveTimeout: 60_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: 10_000,
  });

  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const stop = new AbortController();
  let stoppedBecause: string | null = null;
  const end = (why: string): void => {
    stoppedBecause ??= why;
    stop.abort();
  };
  const onAbort = (): void => end(String(options.signal?.reason ?? 'interrupted'));
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const latencies: number[] = [];
  const outcomes: IngestImageOutcome[] = [];
  const errorsByReason: Record<string, number> = {};
  const failedByCause: Record<string, number> = {};
  const indexed: Record<string, number> = {};
  const firstErrors: string[] = [];
  const tally = {
    answered: 0,
    processed: 0,
    errors: 0,
    inFailed: 0,
    sent: 0,
    ok: 0,
    failed: 0,
    duplicates: 0,
    near: 0,
    connectFailures: 0,
    /** Images in batches that got no answer at all (connection, timeout). */
    unanswered: 0,
    lastConnectError: '',
  };
  const note = (message: string): void => {
    if (firstErrors.length < 10) firstErrors.push(message);
  };

  const queue = new PathQueue(options.queue);
  const producer = (async () => {
    for (const p of paths) {
      if (stop.signal.aborted) break;
      await queue.put(p);
    }
    queue.close();
  })();

  const sendBatch = async (batch: readonly string[]): Promise<void> => {
    const form = new FormData();
    for (const [i, p] of batch.entries()) {
      form.append(`file${i}`, await openAsBlob(p), relative(options.dir, p));
    }
    tally.sent++;
    const started = performance.now();
    let status: number;
    let text: string;
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        body: form,
        dispatcher: agent,
        signal: stop.signal,
      });
      status = res.status;
      text = await res.text();
    } catch (e) {
      const err = toError(e);
      const cause = toError((err as { cause?: unknown }).cause ?? err);
      if (stop.signal.aborted) {
        // Ended by the run's own stop: neither answered nor failed.
        tally.sent--;
        return;
      }
      const code = (cause as { code?: string }).code ?? '';
      const connect = /ECONNREFUSED|ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CONNECT|ENOTFOUND/.test(
        `${code} ${cause.message}`,
      );
      const timeout = /TIMEOUT/i.test(code);
      const kind = connect ? 'connect' : timeout ? 'timeout' : 'network';
      tally.unanswered += batch.length;
      tally.lastConnectError = cause.message;
      tally.failed++;
      tally.inFailed += batch.length;
      failedByCause[kind] = (failedByCause[kind] ?? 0) + 1;
      note(
        `batch of ${batch.length} (${relative(options.dir, batch[0] ?? '')} …): ${kind}: ${cause.message}`,
      );
      if (connect) {
        tally.connectFailures++;
        if (tally.connectFailures >= CONNECT_RETRIES) {
          end(
            `the service at ${base} refused or dropped ${CONNECT_RETRIES} connections in a row (${cause.message})`,
          );
        }
      }
      return;
    }
    tally.connectFailures = 0;
    const ms = performance.now() - started;
    if (status < 200 || status > 299) {
      tally.failed++;
      tally.inFailed += batch.length;
      failedByCause[String(status)] = (failedByCause[String(status)] ?? 0) + 1;
      note(`batch of ${batch.length}: HTTP ${status}: ${text.slice(0, 300)}`);
      return;
    }
    let answer: BatchAnswer;
    try {
      answer = JSON.parse(text) as BatchAnswer;
    } catch {
      tally.failed++;
      tally.inFailed += batch.length;
      failedByCause.body = (failedByCause.body ?? 0) + 1;
      note(`batch of ${batch.length}: HTTP ${status} but the body is not JSON: ${text.slice(0, 200)}`);
      return;
    }
    latencies.push(ms);
    tally.ok++;
    tally.answered += batch.length;
    const errors = answer.errors_count ?? answer.errors?.length ?? 0;
    tally.errors += errors;
    tally.processed += answer.processed ?? batch.length - errors;
    tally.duplicates += answer.duplicates ?? 0;
    tally.near += answer.near_duplicates ?? 0;
    for (const [k, v] of Object.entries(answer.indexed ?? {})) indexed[k] = (indexed[k] ?? 0) + v;
    for (const e of answer.errors ?? []) {
      const reason = e.reason ?? 'unknown';
      errorsByReason[reason] = (errorsByReason[reason] ?? 0) + 1;
      note(`${e.name ?? '?'}: ${reason}: ${e.message ?? ''}`);
    }
    for (const o of answer.images ?? []) {
      outcomes.push({
        name: o.name,
        status: o.status,
        id: o.id,
        duplicate_of: o.duplicate_of,
        near_duplicate_of: o.near_duplicate_of,
        detections: (o.detections ?? []).map((d) => ({ label: d.label, score: d.score, box: d.box })),
        batch_ms: round(ms, 2),
      });
    }
  };

  const elapsed = (): number => (performance.now() - t0) / 1000;
  const progress = (): IngestBenchProgress => {
    const s = elapsed();
    return {
      elapsedS: s,
      total: paths.length,
      images: tally.answered,
      batches: tally.ok + tally.failed,
      imagesPerS: s > 0 ? tally.answered / s : 0,
      batchesPerS: s > 0 ? (tally.ok + tally.failed) / s : 0,
      errors: tally.errors + tally.inFailed,
      failedBatches: tally.failed,
      duplicates: tally.duplicates,
      nearDuplicates: tally.near,
    };
  };
  const timers = [
    options.reportSeconds > 0 && options.onReport !== undefined
      ? setInterval(() => options.onReport?.(progress()), options.reportSeconds * 1000)
      : null,
    options.onTick !== undefined ? setInterval(() => options.onTick?.(progress()), 1000) : null,
  ];

  const stopped = (): boolean => stop.signal.aborted;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (stop.signal.aborted) return;
      const batch = await queue.take(options.batch);
      if (batch.length === 0 || stopped()) return;
      await sendBatch(batch);
    }
  };
  try {
    await Promise.all([producer, ...Array.from({ length: options.workers }, worker)]);
  } finally {
    for (const t of timers) if (t !== null) clearInterval(t);
    options.signal?.removeEventListener('abort', onAbort);
    queue.close();
    await agent.close().catch(() => undefined);
  }
  const elapsedS = elapsed();
  const sorted = [...latencies].sort((a, b) => a - b);
  const sentImages = tally.answered + tally.inFailed;
  if (tally.ok === 0 && (failedByCause.connect ?? 0) > 0) {
    stoppedBecause ??= `could not connect to ${base} (${tally.lastConnectError})`;
  }
  // Complete: every image was sent and the service answered for it (a 5xx is an answer; no answer is not).
  const complete = stoppedBecause === null && sentImages === paths.length && tally.unanswered === 0;
  return {
    tool: 'pitlane ingest-bench',
    url: base,
    dir: options.dir,
    flags: {
      workers: options.workers,
      batch: options.batch,
      queue: options.queue,
      report: options.reportSeconds,
      faces: options.faces,
      ocr: options.ocr,
      details: options.details,
      limit: options.limit,
    },
    started_at: startedAt,
    complete,
    stopped_because: stoppedBecause,
    elapsed_s: round(elapsedS, 3),
    images: {
      found: paths.length,
      answered: tally.answered,
      processed: tally.processed,
      errors: tally.errors,
      in_failed_batches: tally.inFailed,
    },
    batches: { sent: tally.sent, ok: tally.ok, failed: tally.failed },
    images_per_s: elapsedS > 0 ? round(tally.processed / elapsedS, 2) : 0,
    batches_per_s: elapsedS > 0 ? round(tally.ok / elapsedS, 3) : 0,
    batch_latency_ms: {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? null,
      mean: sorted.length > 0 ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null,
    },
    batch_latencies_ms: latencies.map((x) => round(x, 2)),
    success_rate: sentImages > 0 ? tally.processed / sentImages : 0,
    duplicates: tally.duplicates,
    near_duplicates: tally.near,
    indexed,
    errors_by_reason: errorsByReason,
    failed_batches_by_cause: failedByCause,
    first_errors: firstErrors,
    check:
      manifest === null
        ? null
        : checkDuplicates(manifest, outcomes, { duplicates: tally.duplicates, near: tally.near }),
    outcomes,
  };
}
