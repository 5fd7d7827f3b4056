/**
 * The batch-ingest load tool (`pitlane ingest-bench`), the engine behind the command and the ingest suite. It
 * does what the Go tool of the original benchmark guide did, flag for flag: a producer walks a folder into a
 * bounded queue (`queue` paths), `workers` workers each take up to `batch` paths, upload them as one multipart
 * request to `POST /ingest/batch`, and wait for the answer; every `reportSeconds` a progress line; at the end a
 * summary. Added: batch latency percentiles, per-image errors by reason, failed batches by status, and a check of
 * the service's duplicate findings against the corpus manifest (photo-corpus.ts) when the folder has one.
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
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, FormData, fetch } from 'undici';
import { FileError, toError } from '../../../core/errors.js';

export interface IngestBenchOptions {
  /** Folder of photos (walked recursively; JPEG, PNG and WebP by extension). */
  readonly dir: string;
  /** Base URL of the service, e.g. http://127.0.0.1:8090. */
  readonly url: string;
  readonly workers: number;
  readonly batch: number;
  /** Capacity of the producer's queue of paths. */
  readonly queue: number;
  /** Seconds between progress reports; 0: none. */
  readonly reportSeconds: number;
  readonly faces: boolean;
  readonly ocr: boolean;
  /** Ask for per-image outcomes (`?details=true`). */
  readonly details: boolean;
  /** Send at most this many images (0: all). */
  readonly limit: number;
  /** Per-batch timeout in ms (0: none). */
  readonly timeoutMs: number;
  /** Corpus manifest to check duplicates against; undefined: DIR/manifest.json when present; null: none. */
  readonly manifest?: string | null;
  /** Ends the run early; results are marked incomplete. */
  readonly signal?: AbortSignal;
  readonly onReport?: (p: IngestBenchProgress) => void;
  /** Called every second, for a live progress display. */
  readonly onTick?: (p: IngestBenchProgress) => void;
}

export const INGEST_BENCH_DEFAULTS = Object.freeze({
  workers: 16,
  batch: 64,
  queue: 1024,
  reportSeconds: 10,
  faces: false,
  ocr: false,
  details: true,
  limit: 0,
  timeoutMs: 600_000,
});

/** Consecutive connection failures after which the service is taken to be gone. */
const CONNECT_RETRIES = 3;

export interface IngestBenchProgress {
  readonly elapsedS: number;
  /** Images in the folder (after the limit). */
  readonly total: number;
  readonly images: number;
  readonly batches: number;
  readonly imagesPerS: number;
  readonly batchesPerS: number;
  readonly errors: number;
  readonly failedBatches: number;
  readonly duplicates: number;
  readonly nearDuplicates: number;
}

/** One image's outcome as the service reported it (details). */
export interface IngestImageOutcome {
  readonly name: string;
  readonly status: 'indexed' | 'duplicate' | 'error';
  readonly id: string | null;
  readonly duplicate_of: string | null;
  readonly near_duplicate_of: string | null;
  readonly detections: readonly {
    readonly label: string;
    readonly score: number;
    readonly box: readonly number[];
  }[];
  /** Latency of the batch the image was in, ms. */
  readonly batch_ms: number;
}

/** The check of a service's duplicate findings against the corpus manifest. */
export interface DuplicateCheck {
  readonly manifest: string;
  /** Known copies among the images that were processed. */
  readonly expected: { readonly exact: number; readonly near: number };
  /** Known copies the service reported as such. */
  readonly found: { readonly exact: number; readonly near: number };
  /** Files of known copies the service missed (first 20). */
  readonly missed_exact: readonly string[];
  readonly missed_near: readonly string[];
  /** Near duplicates reported between images the manifest says are different pictures (first 20). */
  readonly unexpected_near: readonly string[];
  readonly unexpected_near_count: number;
  /** Checked per image (details) or on the totals only. */
  readonly basis: 'per_image' | 'totals';
  /** No known copy missed. */
  readonly correct: boolean;
}

/** What a run measured: the results JSON (`-out`), also what the ingest suite reads. */
export interface IngestBenchResult {
  readonly tool: 'pitlane ingest-bench';
  readonly url: string;
  readonly dir: string;
  readonly flags: {
    readonly workers: number;
    readonly batch: number;
    readonly queue: number;
    readonly report: number;
    readonly faces: boolean;
    readonly ocr: boolean;
    readonly details: boolean;
    readonly limit: number;
  };
  readonly started_at: string;
  /** False when the run ended early (service gone, interrupted): the figures are partial. */
  readonly complete: boolean;
  readonly stopped_because: string | null;
  readonly elapsed_s: number;
  readonly images: {
    /** Images found in the folder (after the limit). */
    readonly found: number;
    /** Images sent in batches that got an answer. */
    readonly answered: number;
    /** Images the service processed (answered minus per-image errors). */
    readonly processed: number;
    /** Per-image errors the service reported. */
    readonly errors: number;
    /** Images in batches that failed (non-2xx, connection, timeout). */
    readonly in_failed_batches: number;
  };
  readonly batches: { readonly sent: number; readonly ok: number; readonly failed: number };
  readonly images_per_s: number;
  readonly batches_per_s: number;
  /** Batch latency, ms: sent → answer read. */
  readonly batch_latency_ms: {
    readonly p50: number | null;
    readonly p95: number | null;
    readonly p99: number | null;
    readonly max: number | null;
    readonly mean: number | null;
  };
  readonly batch_latencies_ms: readonly number[];
  /** Images processed / images sent. */
  readonly success_rate: number;
  readonly duplicates: number;
  readonly near_duplicates: number;
  readonly indexed: Readonly<Record<string, number>>;
  readonly errors_by_reason: Readonly<Record<string, number>>;
  readonly failed_batches_by_cause: Readonly<Record<string, number>>;
  /** The first few error messages, for a human. */
  readonly first_errors: readonly string[];
  readonly check: DuplicateCheck | null;
  /** Per-image outcomes (with details), in the order answers arrived. */
  readonly outcomes: readonly IngestImageOutcome[];
}

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

/** The parts of a corpus manifest the check reads (photo-corpus.ts writes it). */
interface ManifestView {
  readonly path: string;
  readonly images: readonly { readonly file: string; readonly kind: string; readonly of: string | null }[];
}

async function loadManifest(options: IngestBenchOptions): Promise<ManifestView | null> {
  if (options.manifest === null) return null;
  const path = options.manifest ?? join(options.dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (options.manifest === undefined) return null;
    throw new FileError(path, `cannot read the corpus manifest (${toError(e).message})`);
  }
  try {
    const doc = JSON.parse(text) as { images?: unknown };
    if (!Array.isArray(doc.images)) throw new Error('it has no "images" list');
    return { path, images: doc.images as ManifestView['images'] };
  } catch (e) {
    throw new FileError(path, `not a corpus manifest (${toError(e).message})`);
  }
}

/**
 * Checks a service's duplicate findings against the manifest. A group is an original with its copies. Exact
 * copies are byte-identical: a group of the original and k exact copies must yield k duplicates, whichever
 * arrives first. Near copies must be indexed with a near duplicate in their group (their original, one of its
 * exact copies, or another near copy), or the original must point at them when a copy arrived first. Without
 * per-image outcomes the check compares totals.
 */
export function checkDuplicates(
  manifest: ManifestView,
  outcomes: readonly IngestImageOutcome[],
  totals: { readonly duplicates: number; readonly near: number },
): DuplicateCheck {
  const groupOf = new Map<string, string>();
  const kindOf = new Map<string, string>();
  for (const im of manifest.images) {
    groupOf.set(im.file, im.kind === 'original' || im.of === null ? im.file : im.of);
    kindOf.set(im.file, im.kind);
  }
  if (outcomes.length === 0) {
    const exact = manifest.images.filter((i) => i.kind === 'exact').length;
    const near = manifest.images.filter((i) => i.kind === 'near').length;
    return {
      manifest: manifest.path,
      expected: { exact, near },
      found: { exact: Math.min(exact, totals.duplicates), near: Math.min(near, totals.near) },
      missed_exact: [],
      missed_near: [],
      unexpected_near: [],
      unexpected_near_count: Math.max(0, totals.near - near),
      basis: 'totals',
      correct: totals.duplicates >= exact && totals.near >= near,
    };
  }
  // Per group: the outcomes of its members that were processed.
  const groups = new Map<string, IngestImageOutcome[]>();
  const idGroup = new Map<string, string>();
  for (const o of outcomes) {
    if (o.status === 'error') continue;
    const g = groupOf.get(o.name) ?? `?${o.name}`;
    const list = groups.get(g) ?? [];
    list.push(o);
    groups.set(g, list);
    if (o.id !== null) idGroup.set(o.id, g);
  }
  let expectedExact = 0;
  let foundExact = 0;
  let expectedNear = 0;
  let foundNear = 0;
  const missedExact: string[] = [];
  const missedNear: string[] = [];
  const unexpected: string[] = [];
  let unexpectedCount = 0;
  for (const [g, members] of groups) {
    // Exact: the original and its exact copies share bytes; all but one must be duplicates.
    const same = members.filter((m) => kindOf.get(m.name) === 'original' || kindOf.get(m.name) === 'exact');
    if (same.length > 1) {
      expectedExact += same.length - 1;
      const dups = same.filter((m) => m.status === 'duplicate').length;
      foundExact += Math.min(dups, same.length - 1);
      if (dups < same.length - 1) {
        missedExact.push(
          ...same
            .filter((m) => m.status !== 'duplicate')
            .slice(1)
            .map((m) => m.name),
        );
      }
    }
    // Near: the group's distinct pictures (the original's bytes once, each near copy) are indexed; every one
    // after the first committed must name a near duplicate inside the group.
    const indexed = members.filter((m) => m.status === 'indexed');
    if (members.some((m) => kindOf.get(m.name) === 'near') && indexed.length > 1) {
      expectedNear += indexed.length - 1;
      // A picture reported as a near duplicate counts whichever image it names: with look-alike pictures in the
      // index, the service's nearest may be another group's.
      const lone = indexed.filter((m) => m.near_duplicate_of === null);
      foundNear += Math.min(indexed.length - 1, indexed.length - lone.length);
      if (lone.length > 1) missedNear.push(...lone.slice(1).map((m) => m.name));
    }
    for (const m of indexed) {
      if (m.near_duplicate_of === null || kindOf.get(m.name) === 'near') continue;
      const target = idGroup.get(m.near_duplicate_of);
      if (target !== g) {
        unexpectedCount++;
        if (unexpected.length < 20) unexpected.push(`${m.name} ≈ ${m.near_duplicate_of.slice(0, 12)}`);
      }
    }
  }
  return {
    manifest: manifest.path,
    expected: { exact: expectedExact, near: expectedNear },
    found: { exact: foundExact, near: foundNear },
    missed_exact: missedExact.slice(0, 20),
    missed_near: missedNear.slice(0, 20),
    unexpected_near: unexpected,
    unexpected_near_count: unexpectedCount,
    basis: 'per_image',
    correct: foundExact === expectedExact && foundNear === expectedNear,
  };
}

/** The end-of-run summary, as the Go tool printed it plus latency percentiles and the manifest check. */
export function formatIngestSummary(r: IngestBenchResult): string {
  const ms = (x: number | null): string => (x === null ? '—' : `${x.toFixed(0)} ms`);
  const lines = [
    `${r.complete ? 'Done' : 'Stopped early (partial results)'}: ${r.images.answered} of ${r.images.found} images in ${r.batches.ok} batches, ${r.elapsed_s.toFixed(1)} s${r.stopped_because !== null ? ` — ${r.stopped_because}` : ''}`,
    `  throughput      ${r.images_per_s.toFixed(2)} images/s, ${r.batches_per_s.toFixed(3)} batches/s`,
    `  batch latency   p50 ${ms(r.batch_latency_ms.p50)}, p95 ${ms(r.batch_latency_ms.p95)}, p99 ${ms(r.batch_latency_ms.p99)} (${r.batch_latencies_ms.length} batches)`,
    `  success rate    ${(r.success_rate * 100).toFixed(1)}% (${r.images.processed} processed, ${r.images.errors} image errors, ${r.batches.failed} failed batches with ${r.images.in_failed_batches} images)`,
    `  duplicates      ${r.duplicates} exact, ${r.near_duplicates} near`,
    `  indexed         ${Object.entries(r.indexed)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  ];
  if (Object.keys(r.errors_by_reason).length > 0) {
    lines.push(
      `  image errors    ${Object.entries(r.errors_by_reason)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  }
  if (Object.keys(r.failed_batches_by_cause).length > 0) {
    lines.push(
      `  failed batches  ${Object.entries(r.failed_batches_by_cause)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  }
  const c = r.check;
  if (c !== null) {
    const verdict = c.correct ? 'correct' : 'INCORRECT: known copies missed';
    lines.push(
      `  vs manifest     ${verdict} (${c.basis === 'totals' ? 'totals only' : 'per image'}): exact ${c.found.exact}/${c.expected.exact}, near ${c.found.near}/${c.expected.near}, ${c.unexpected_near_count} unexpected near duplicates`,
    );
    if (c.missed_exact.length > 0) lines.push(`    missed exact copies: ${c.missed_exact.join(', ')}`);
    if (c.missed_near.length > 0) lines.push(`    missed near copies: ${c.missed_near.join(', ')}`);
  }
  for (const e of r.first_errors.slice(0, 5)) lines.push(`  ! ${e}`);
  return lines.join('\n');
}

/** One progress line (the Go tool's every-`-report`-seconds line). */
export function formatIngestProgress(p: IngestBenchProgress): string {
  return (
    `[${p.elapsedS.toFixed(0)}s] ${p.images} images (${p.imagesPerS.toFixed(1)}/s), ${p.batches} batches ` +
    `(${p.batchesPerS.toFixed(2)}/s), ${p.errors} errors, ${p.duplicates} duplicates, ${p.nearDuplicates} near duplicates`
  );
}
