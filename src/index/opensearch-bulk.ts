/**
 * The bulk writes of the OpenSearch adapter, as pure functions tests can check without a cluster: the `index`
 * operations (upserts by `_id`) of a batch, their split into requests bounded in documents and bytes, the NDJSON
 * bodies, the classification of a bulk response (done, to retry, failed for good), and the back-off schedule of
 * retries.
 */
import type { API } from '@opensearch-project/opensearch';
import type { BoxDocument, ImageDocument } from './index-port.js';
import { boxSource, imageSource, type IndexNames } from './opensearch-requests.js';

/** One document of a bulk request: its action and source lines, and their size. */
export interface BulkOperation {
  /** Target index. */
  readonly index: string;
  /** Document id. */
  readonly id: string;
  /** The two NDJSON lines (action, source), each ending in a newline. */
  readonly lines: string;
  /** UTF-8 size of `lines`. */
  readonly bytes: number;
}

/** Bounds of one bulk request. */
export interface BulkLimits {
  /** Most documents per request. */
  readonly maxDocs: number;
  /** Most bytes per request; a document larger than this on its own is sent alone. */
  readonly maxBytes: number;
}

/** Defaults of `BulkLimits`: OpenSearch's advice is 5–15 MiB per bulk; 512-d vectors make ~10 KiB documents. */
export const DEFAULT_BULK_LIMITS: BulkLimits = { maxDocs: 500, maxBytes: 5 * 1024 * 1024 };

function operation(index: string, id: string, source: object): BulkOperation {
  const lines = `${JSON.stringify({ index: { _index: index, _id: id } })}\n${JSON.stringify(source)}\n`;
  return { index, id, lines, bytes: Buffer.byteLength(lines) };
}

/** The `index` operations (upserts by `_id`) of a batch: images first, then boxes. */
export function buildBulkOperations(
  images: readonly ImageDocument[],
  boxes: readonly BoxDocument[],
  names: IndexNames,
): BulkOperation[] {
  return [
    ...images.map((image) => operation(names.global, image.id, imageSource(image))),
    ...boxes.map((box) => operation(names[box.kind], box.id, boxSource(box))),
  ];
}

/** Splits operations, in order, into requests of at most `maxDocs` documents and `maxBytes` bytes. */
export function splitBulk(operations: readonly BulkOperation[], limits: BulkLimits): BulkOperation[][] {
  if (!(limits.maxDocs >= 1) || !(limits.maxBytes >= 1)) {
    throw new RangeError('bulk limits must be at least 1 document and 1 byte');
  }
  const chunks: BulkOperation[][] = [];
  let chunk: BulkOperation[] = [];
  let bytes = 0;
  for (const op of operations) {
    if (chunk.length > 0 && (chunk.length >= limits.maxDocs || bytes + op.bytes > limits.maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(op);
    bytes += op.bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** The NDJSON body of one bulk request. */
export function bulkBody(operations: readonly BulkOperation[]): string {
  return operations.map((op) => op.lines).join('');
}

/** The NDJSON bodies of a whole batch, split at the limits. */
export function buildBulkBodies(
  images: readonly ImageDocument[],
  boxes: readonly BoxDocument[],
  names: IndexNames,
  limits: BulkLimits = DEFAULT_BULK_LIMITS,
): string[] {
  return splitBulk(buildBulkOperations(images, boxes, names), limits).map(bulkBody);
}

/** HTTP statuses after which a request or a bulk item is retried with back-off: too many requests. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429]);

/** What to do after a bulk response. */
export interface BulkOutcome {
  /** Operations refused with a retryable status (429), to send again after a back-off. */
  readonly retry: BulkOperation[];
  /** Operations that failed for good, one line each: `index/id: status type: reason`. */
  readonly failed: string[];
  /** HTTP status of the first failure, if any. */
  readonly firstFailedStatus: number | null;
}

type BulkResponseBody = API.Bulk_ResponseBody;

/** Sorts the items of a bulk response (in the order of `operations`) into done, to retry, and failed. */
export function classifyBulkResponse(
  operations: readonly BulkOperation[],
  body: BulkResponseBody,
): BulkOutcome {
  const retry: BulkOperation[] = [];
  const failed: string[] = [];
  let firstFailedStatus: number | null = null;
  if (body.items.length !== operations.length) {
    return {
      retry,
      failed: [`the bulk answer has ${body.items.length} items for ${operations.length} operations`],
      firstFailedStatus,
    };
  }
  if (!body.errors) return { retry, failed, firstFailedStatus };
  body.items.forEach((item, i) => {
    const op = operations[i];
    const result = item.index ?? item.create ?? item.update ?? item.delete;
    if (op === undefined || result === undefined) return;
    if (result.status >= 200 && result.status < 300) return;
    if (RETRY_STATUSES.has(result.status)) {
      retry.push(op);
      return;
    }
    firstFailedStatus ??= result.status;
    const error = result.error;
    failed.push(
      `${op.index}/${op.id}: ${result.status} ${error?.type ?? 'error'}: ${error?.reason ?? 'no reason'}`,
    );
  });
  return { retry, failed, firstFailedStatus };
}

/** Retries with exponential back-off. */
export interface RetryPolicy {
  /** Retries after the first attempt (0: no retry). */
  readonly retries: number;
  /** Delay before the first retry. */
  readonly initialDelayMs: number;
  /** Cap on any one delay. */
  readonly maxDelayMs: number;
  /** Each delay is spread uniformly by ± this fraction (0..1), so that clients do not retry in step. */
  readonly jitter: number;
}

/** 8 retries from 100 ms doubling to at most 10 s (~23 s of waiting in all), ±20 %. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 8,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  jitter: 0.2,
};

/**
 * The delay before retry number `attempt` (0 = the first retry): `min(maxDelayMs, initialDelayMs * 2^attempt)`,
 * spread by ±jitter and never above `maxDelayMs`. `random` (uniform in [0, 1)) is injectable for tests; 0.5
 * gives the un-jittered schedule.
 */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
  const spread = 1 + policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(policy.maxDelayMs, Math.round(base * spread)));
}

/** The whole un-jittered schedule of a policy, one delay per retry. */
export function backoffSchedule(policy: RetryPolicy): number[] {
  return Array.from({ length: policy.retries }, (_, attempt) => backoffDelay(attempt, policy, () => 0.5));
}
