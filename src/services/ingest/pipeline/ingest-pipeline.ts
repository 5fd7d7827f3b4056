/**
 * Photo ingest, one request batch at a time:
 *
 *   bytes → imohash → exact duplicate? (within the batch, then the index) → decode once (shrink-on-load) →
 *   letterbox → detection ∥ centre crop → image embedding [∥ faces ∥ OCR ∥ vehicle/people crops → embeddings]
 *   → near duplicate? (cosine against the index, then earlier images of the batch) → one durable bulk write → answer
 *
 * This module owns the order of the steps and the outcome of every image; the steps are modules of their own
 * (image-source.ts: step 1; analyse.ts: step 3; commit.ts: steps 4 and 5), and the models and the index are
 * ports (../ports.ts), so nothing here knows how they are reached.
 *
 * Inference calls go out per image and concurrently, so the engine's dynamic batcher batches across the images of
 * a request and across concurrent requests. Every image that fails (unreadable, not an image, corrupt, too many
 * pixels, a path outside the roots, a model error) gets an entry in `errors` naming it and why; the rest of the
 * batch goes on and is indexed. The batch is acknowledged only after the index says it is durable.
 *
 * Memory: an image in a file (a server-side path, or an upload the service spooled to a temp file) is never read
 * into memory whole: its imohash reads three samples of the file, and the decoder (libvips) reads the file itself
 * when the image's turn comes, so memory does not grow with the size of the batch or of its files.
 *
 * A copy within the batch (the same imohash as an earlier image of the batch) takes the outcome of its first
 * copy once that is known: a duplicate of it when it was indexed (or of what it turned out to duplicate), and
 * the same failure (same reason) when it failed. An image that failed is never a duplicate's or a near
 * duplicate's original: only indexed images are.
 *
 * Concurrent batches: the last three steps (a final exact-duplicate check, the near-duplicate check, the write)
 * run under one lock, so a batch sees every batch committed before it: the same photo sent in two concurrent
 * batches is indexed once and reported once as a duplicate, and near copies in concurrent batches are found.
 */
import { performance } from 'node:perf_hooks';
import { FeatureUnavailableError } from '../../../core/errors.js';
import { ImageError, prepareImage } from '../../../inference/vision/image-prep.js';
import type { IngestIndex, VisionModels } from '../ports.js';
import { analyseImage } from './analyse.js';
import { commitBatch } from './commit.js';
import { Gate } from './gate.js';
import { ImageSource, ItemRefused } from './image-source.js';
import {
  DEFAULT_INGEST_CONFIG,
  duplicateOutcome,
  type ImageFailure,
  type ImageOutcome,
  type IngestConfig,
  type IngestItem,
  type IngestOptions,
  type IngestResponse,
  type LoadedImage,
} from './ingest-types.js';

export class IngestPipeline {
  private readonly gate: Gate;
  private readonly inFlight: Gate;
  /** Serialises the duplicate checks and the write of each batch (step 4 and 5). */
  private readonly commitLock = new Gate(1);
  private readonly source: ImageSource;

  constructor(
    private readonly models: VisionModels,
    private readonly index: IngestIndex,
    readonly config: IngestConfig = DEFAULT_INGEST_CONFIG,
  ) {
    this.gate = new Gate(config.decodeConcurrency);
    this.inFlight = new Gate(config.maxInFlight);
    this.source = new ImageSource(config);
  }

  /** Ingests one request batch. Never rejects for a bad image; rejects when the index cannot write. */
  async ingest(
    items: readonly IngestItem[],
    options: IngestOptions,
    signal?: AbortSignal,
  ): Promise<{ response: IngestResponse; outcomes: ImageOutcome[] }> {
    const t0 = performance.now();
    const failures: ImageFailure[] = [];
    const outcomes: (ImageOutcome | undefined)[] = items.map(() => undefined);
    const fail = (index: number, name: string, reason: string, message: string): void => {
      failures.push({ index, name, reason, message });
      outcomes[index] = {
        index,
        name,
        id: null,
        status: 'error',
        duplicate_of: null,
        near_duplicate_of: null,
        detections: [],
        faces: 0,
        ocr: 0,
      };
    };
    if (options.enableFaces && this.models.faces === null) throw new FeatureUnavailableError('faces');
    if (options.enableOcr && this.models.ocr === null) throw new FeatureUnavailableError('ocr');

    // 1. Size and imohash of every image (files: three samples, not the whole file).
    const loaded = await Promise.all(
      items.map(async (item, index): Promise<LoadedImage | null> => {
        try {
          return { index, name: item.name, ...(await this.source.load(item)) };
        } catch (err) {
          const reason = err instanceof ItemRefused ? err.reason : 'unreadable';
          fail(index, item.name, reason, err instanceof Error ? err.message : String(err));
          return null;
        }
      }),
    );

    // 2. Exact duplicates: in the index, then earlier in this batch. A copy of an earlier image of the batch waits
    // for that image's outcome (step 6): the first copy may still fail.
    const present = loaded.filter((x) => x !== null);
    const known = await this.index.findImohashes([...new Set(present.map((x) => x.hash))]);
    const firstInBatch = new Map<string, LoadedImage>();
    const copies: { x: LoadedImage; first: LoadedImage }[] = [];
    const fresh: LoadedImage[] = [];
    for (const x of present) {
      const dupOf = known.get(x.hash);
      if (dupOf !== undefined) {
        outcomes[x.index] = duplicateOutcome(x, dupOf);
        continue;
      }
      const first = firstInBatch.get(x.hash);
      if (first !== undefined) {
        copies.push({ x, first });
        continue;
      }
      firstInBatch.set(x.hash, x);
      fresh.push(x);
    }

    // 3. Decode, detect, embed (and faces, OCR, box crops), image by image, concurrently.
    const ingestedAt = new Date().toISOString();
    const analysed = await Promise.all(
      fresh.map(async (x) => {
        try {
          const result = await this.inFlight.run(() =>
            analyseImage(
              this.models,
              x,
              options,
              { maxPixels: this.config.maxPixels, decodeGate: this.gate },
              signal,
            ),
          );
          return { x, result };
        } catch (err) {
          if (err instanceof ImageError) fail(x.index, x.name, err.reason, err.message);
          else fail(x.index, x.name, 'inference', err instanceof Error ? err.message : String(err));
          return null;
        }
      }),
    );

    // 4 and 5 under the commit lock, so that concurrent batches see each other's committed images: the final
    // exact-duplicate check (another batch may have committed the same bytes since step 2), the near-duplicate
    // check (the index first, then earlier images of this batch), and one durable write for the whole batch.
    const { indexed, nearDuplicates } = await this.commitLock.run(() =>
      commitBatch(this.index, this.config.nearDuplicateThreshold, analysed, outcomes, ingestedAt),
    );

    // 6. Copies within the batch take their first copy's outcome: a duplicate of what it was indexed as (or
    // turned out to duplicate), or the same failure. Never a duplicate of an image that is not in the index.
    const failureAt = new Map(failures.map((f) => [f.index, f]));
    for (const { x, first } of copies) {
      const firstOutcome = outcomes[first.index];
      const original =
        firstOutcome?.status === 'indexed'
          ? firstOutcome.id
          : firstOutcome?.status === 'duplicate'
            ? firstOutcome.duplicate_of
            : null;
      if (original !== null) {
        outcomes[x.index] = duplicateOutcome(x, original);
        continue;
      }
      const failed = failureAt.get(first.index);
      fail(
        x.index,
        x.name,
        failed?.reason ?? 'inference',
        `${x.name}: the same image (imohash) as ${first.name} (image ${first.index} of this batch), which failed: ` +
          (failed?.message ?? 'no outcome'),
      );
    }
    const duplicates = outcomes.filter((o) => o?.status === 'duplicate').length;
    failures.sort((a, b) => a.index - b.index);
    const response: IngestResponse = {
      status: 'success',
      total: items.length,
      processed: items.length - failures.length,
      duplicates,
      errors_count: failures.length,
      indexed,
      near_duplicates: nearDuplicates,
      total_time_ms: Math.round((performance.now() - t0) * 10) / 10,
      errors: failures,
    };
    return { response, outcomes: outcomes.filter((o) => o !== undefined) };
  }

  /** Embeds an uploaded image (bytes, or a file) for search (no indexing). Rejects with ImageError for a bad image. */
  async embedQuery(bytes: Buffer | string, name: string): Promise<Float32Array> {
    const prepared = await this.gate.run(() =>
      prepareImage(bytes, {
        name,
        layout: this.models.embedder.layout,
        maxPixels: this.config.maxPixels,
        ...(this.models.embedder.inputSize !== null ? { cropSize: this.models.embedder.inputSize } : {}),
      }),
    );
    return this.models.embedder.embed(prepared);
  }
}
