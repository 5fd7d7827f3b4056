/**
 * Photo ingest, one request batch at a time:
 *
 *   bytes → imohash → exact duplicate? (within the batch, then the index) → decode once (shrink-on-load) →
 *   letterbox → detection ∥ centre crop → image embedding [∥ faces ∥ OCR ∥ vehicle/people crops → embeddings]
 *   → near duplicate? (cosine against the index, then earlier images of the batch) → one durable bulk write → answer
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
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import type {
  BoxDocument,
  Face,
  ImageDocument,
  IndexCounts,
  SearchIndex,
  TextLine,
} from '../index/index-port.js';
import { ImageError, prepareImage, type PreparedImage, type RawRgb } from '../inference/vision/image-prep.js';
import { imohashFile, imohashHex } from './imohash.js';
import { dot, type Detector, type ImageEmbedder, type ObjectDetection } from './vision.js';

/**
 * One image of a request: bytes in memory, a server-side path (checked against the roots and the per-file size),
 * an upload the service spooled to a temp file it owns (`spooled`: read as is, deleted by the service), or an
 * upload the service refused while reading the request (`refused`, e.g. over the per-file limit: it fails with
 * that reason and message, in its place in the batch).
 */
export type IngestItem =
  | { readonly name: string; readonly bytes: Buffer }
  | { readonly name: string; readonly path: string }
  | { readonly name: string; readonly spooled: string }
  | { readonly name: string; readonly refused: { readonly reason: string; readonly message: string } };

/** Per-request switches (the API's `enable_faces`, `enable_ocr`, `box_embeddings`). */
export interface IngestOptions {
  readonly enableFaces: boolean;
  readonly enableOcr: boolean;
  /** Embed crops of vehicles and people into `visual_search_vehicles` / `visual_search_people`. */
  readonly boxEmbeddings: boolean;
}

/** Finds faces in a decoded image; boxes in that image's pixels. */
export interface FaceFinder {
  find(image: RawRgb, signal?: AbortSignal): Promise<Face[]>;
}

/** Reads text lines in a decoded image; boxes in that image's pixels. */
export interface TextReader {
  read(image: RawRgb, signal?: AbortSignal): Promise<TextLine[]>;
}

export interface IngestConfig {
  /** Cosine similarity at or above which an image is a near duplicate of an indexed one. */
  readonly nearDuplicateThreshold: number;
  /** Server-side paths are accepted only under these folders (resolved, symlinks followed). */
  readonly roots: readonly string[];
  /** Decompression-bomb guard: largest source image decoded, in pixels. */
  readonly maxPixels: number;
  /** Images prepared (decoded) at the same time, across requests: bounds memory. */
  readonly decodeConcurrency: number;
  /**
   * Images between decode and the model's answers at the same time, across requests. Each holds its prepared
   * tensors (a 640-px letterbox as INT32 is 3.7 MB) until inference answers; without a bound, every image of
   * every concurrent batch is decoded at once and waits for the model server, all in memory.
   */
  readonly maxInFlight: number;
  /** Largest image file read, in bytes: a larger server-side file fails with reason `too-large` (--max-file-mb). */
  readonly maxFileBytes: number;
}

export const DEFAULT_INGEST_CONFIG: IngestConfig = Object.freeze({
  nearDuplicateThreshold: 0.98,
  roots: [],
  maxPixels: 50_000_000,
  decodeConcurrency: 4,
  maxInFlight: 8,
  maxFileBytes: 50 * 1024 * 1024,
});

/** Why one image was not ingested. */
export interface ImageFailure {
  /** Position in the request. */
  readonly index: number;
  readonly name: string;
  /** Short machine-readable reason: empty, unreadable, not-an-image, unsupported-format, corrupt, too-many-pixels, too-large, outside-roots, inference. */
  readonly reason: string;
  readonly message: string;
}

/** What happened to one image (returned with `details`). */
export interface ImageOutcome {
  readonly index: number;
  readonly name: string;
  readonly id: string | null;
  readonly status: 'indexed' | 'duplicate' | 'error';
  /** For a duplicate: the id of the indexed image with the same imohash. */
  readonly duplicate_of: string | null;
  /** For a near duplicate: the id of the most similar indexed image (or earlier image of the batch). */
  readonly near_duplicate_of: string | null;
  readonly detections: readonly ObjectDetection[];
  readonly faces: number;
  readonly ocr: number;
}

/** The documented response, plus the per-image errors. */
export interface IngestResponse {
  readonly status: 'success';
  readonly total: number;
  readonly processed: number;
  readonly duplicates: number;
  readonly errors_count: number;
  readonly indexed: IndexCounts;
  readonly near_duplicates: number;
  readonly total_time_ms: number;
  readonly errors: readonly ImageFailure[];
}

/** The labels whose boxes go to the vehicles and people indexes. */
export const VEHICLE_LABELS: ReadonlySet<string> = new Set(['bicycle', 'car', 'motorcycle', 'bus', 'truck']);
export const PEOPLE_LABELS: ReadonlySet<string> = new Set(['person']);

/** A limit on concurrent work (a counting semaphore). */
class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

class PathRefused extends Error {
  constructor(
    readonly reason: 'outside-roots' | 'unreadable' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/** An item the service refused before the pipeline (see IngestItem). */
class Refused extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

interface Models {
  readonly detector: Detector;
  readonly embedder: ImageEmbedder;
  readonly faces: FaceFinder | null;
  readonly ocr: TextReader | null;
}

/** An image's size and imohash, before analysis. */
interface LoadedImage {
  readonly index: number;
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  readonly hash: string;
  /** What the decoder reads: the bytes, or the file (read by libvips when its turn comes, never whole by us). */
  readonly source: Buffer | string;
}

/** What analysing one image found. */
interface Analysis {
  readonly prepared: PreparedImage;
  readonly detections: ObjectDetection[];
  readonly embedding: Float32Array;
  readonly faces: ImageDocument['faces'];
  readonly ocr: ImageDocument['ocr'];
  readonly boxes: Omit<BoxDocument, 'id' | 'imageId'>[];
}

export class IngestPipeline {
  private readonly gate: Gate;
  private readonly inFlight: Gate;
  /** Serialises the duplicate checks and the write of each batch (step 4 and 5). */
  private readonly commitLock = new Gate(1);
  private rootsReal: Promise<string[]> | null = null;

  constructor(
    private readonly models: Models,
    private readonly index: SearchIndex,
    readonly config: IngestConfig = DEFAULT_INGEST_CONFIG,
  ) {
    this.gate = new Gate(config.decodeConcurrency);
    this.inFlight = new Gate(config.maxInFlight);
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
          return { index, name: item.name, ...(await this.load(item)) };
        } catch (err) {
          const reason = err instanceof PathRefused || err instanceof Refused ? err.reason : 'unreadable';
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
          const result = await this.inFlight.run(() => this.analyse(x, options, signal));
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
      this.commit(analysed, outcomes, ingestedAt),
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

  private async analyse(
    image: LoadedImage,
    options: IngestOptions,
    signal: AbortSignal | undefined,
  ): Promise<Analysis> {
    const { detector, embedder } = this.models;
    const needDecoded = options.enableFaces || options.enableOcr || options.boxEmbeddings;
    const prepared = await this.gate.run(() =>
      prepareImage(image.source, {
        name: image.name,
        layout: detector.layout,
        maxPixels: this.config.maxPixels,
        keepDecoded: needDecoded,
        ...(detector.inputSize !== null ? { letterboxSize: detector.inputSize } : {}),
        ...(embedder.inputSize !== null ? { cropSize: embedder.inputSize } : {}),
      }),
    );
    const forEmbedder =
      embedder.layout === prepared.layout ? prepared : withCropLayout(prepared, embedder.layout);
    const decoded = prepared.decoded;
    const toSource = (b: readonly [number, number, number, number]): [number, number, number, number] => {
      const sx = prepared.width / prepared.decodedWidth;
      const sy = prepared.height / prepared.decodedHeight;
      return [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy];
    };
    const [detections, embedding, faces, ocr] = await Promise.all([
      detector.detect(prepared, signal),
      embedder.embed(forEmbedder, signal),
      options.enableFaces && decoded !== null && this.models.faces !== null
        ? this.models.faces.find(decoded, signal)
        : Promise.resolve([]),
      options.enableOcr && decoded !== null && this.models.ocr !== null
        ? this.models.ocr.read(decoded, signal)
        : Promise.resolve([]),
    ]);
    const boxes: Omit<BoxDocument, 'id' | 'imageId'>[] = [];
    if (options.boxEmbeddings && decoded !== null) {
      const wanted = detections.filter((d) => VEHICLE_LABELS.has(d.label) || PEOPLE_LABELS.has(d.label));
      const vectors = await Promise.all(
        wanted.map(async (d) =>
          embedder.embed(await cropForEmbedder(decoded, prepared, d.box, embedder), signal),
        ),
      );
      wanted.forEach((d, i) => {
        const embedding = vectors[i];
        if (embedding === undefined) return;
        boxes.push({
          kind: VEHICLE_LABELS.has(d.label) ? 'vehicles' : 'people',
          label: d.label,
          score: d.score,
          box: d.box,
          embedding,
        });
      });
    }
    return {
      prepared,
      detections,
      embedding,
      faces: faces.map((f) => ({ ...f, box: toSource(f.box) })),
      ocr: ocr.map((l) => ({ ...l, box: toSource(l.box) })),
      boxes,
    };
  }

  /**
   * Steps 4 and 5 of a batch; runs under the commit lock. Images another batch committed since the pre-check are
   * duplicates after all (their analysis is wasted, which only happens when the same bytes arrive in concurrent
   * batches).
   */
  private async commit(
    analysed: readonly ({ x: LoadedImage; result: Analysis } | null)[],
    outcomes: (ImageOutcome | undefined)[],
    ingestedAt: string,
  ): Promise<{ indexed: IndexCounts; nearDuplicates: number }> {
    const present = analysed.filter((a) => a !== null);
    const committed = await this.index.findImohashes([...new Set(present.map((a) => a.x.hash))]);
    const images: ImageDocument[] = [];
    const boxes: BoxDocument[] = [];
    let nearDuplicates = 0;
    const threshold = this.config.nearDuplicateThreshold;
    for (const { x, result } of present) {
      const dupOf = committed.get(x.hash);
      if (dupOf !== undefined) {
        outcomes[x.index] = duplicateOutcome(x, dupOf);
        continue;
      }
      let nearOf: string | null = null;
      const [hit] = await this.index.nearest(result.embedding, { k: 1 });
      if (hit !== undefined && hit.score >= threshold) nearOf = hit.id;
      if (nearOf === null) {
        for (const earlier of images) {
          if (dot(earlier.embedding, result.embedding) >= threshold) {
            nearOf = earlier.id;
            break;
          }
        }
      }
      if (nearOf !== null) nearDuplicates++;
      const id = x.hash;
      images.push({
        id,
        imohash: x.hash,
        name: x.name,
        width: result.prepared.width,
        height: result.prepared.height,
        format: result.prepared.format,
        bytes: x.size,
        ingestedAt,
        detections: result.detections,
        faces: result.faces,
        ocr: result.ocr,
        embedding: result.embedding,
        nearDuplicateOf: nearOf,
      });
      result.boxes.forEach((b, i) => {
        boxes.push({ ...b, id: `${id}:${b.kind === 'vehicles' ? 'v' : 'p'}${i}`, imageId: id });
      });
      outcomes[x.index] = {
        index: x.index,
        name: x.name,
        id,
        status: 'indexed',
        duplicate_of: null,
        near_duplicate_of: nearOf,
        detections: result.detections,
        faces: result.faces.length,
        ocr: result.ocr.length,
      };
    }
    const indexed =
      images.length > 0
        ? await this.index.indexBatch(images, boxes)
        : { global: 0, vehicles: 0, people: 0, faces: 0, ocr: 0 };
    return { indexed, nearDuplicates };
  }

  /** Size, imohash and a reader of one item, without reading a file whole. */
  private async load(item: IngestItem): Promise<Omit<LoadedImage, 'index' | 'name'>> {
    if ('refused' in item) throw new Refused(item.refused.reason, item.refused.message);
    if ('bytes' in item) {
      const { bytes } = item;
      return { size: bytes.byteLength, hash: imohashHex(bytes), source: bytes };
    }
    const file = 'path' in item ? await this.resolvePath(item.path) : item.spooled;
    const s = await stat(file);
    if (!s.isFile()) throw new PathRefused('unreadable', 'is not a file');
    if (s.size > this.config.maxFileBytes) throw new PathRefused('too-large', this.tooLarge(s.size));
    const hash = await imohashFile(file);
    return { size: s.size, hash, source: file };
  }

  private tooLarge(size: number): string {
    const mib = (n: number): string => `${Math.round((n / 1048576) * 10) / 10} MiB`;
    return `is ${mib(size)}, over the per-file limit of ${mib(this.config.maxFileBytes)} (--max-file-mb)`;
  }

  /** Resolves a server-side path, refusing anything that does not resolve inside a configured root. */
  private async resolvePath(path: string): Promise<string> {
    this.rootsReal ??= Promise.all(
      this.config.roots.map(async (r) => realpath(resolve(r)).catch(() => resolve(r))),
    );
    const roots = await this.rootsReal;
    if (roots.length === 0) {
      throw new PathRefused(
        'outside-roots',
        'server-side paths are not enabled (start the service with --root DIR)',
      );
    }
    if (!isAbsolute(path)) {
      throw new PathRefused(
        'outside-roots',
        `is not an absolute path; give a path under ${roots.join(', ')}`,
      );
    }
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      // Say "outside" for paths outside the roots even when they do not exist: no probing of the file system.
      const inside = roots.some((r) => isInside(r, resolve(path)));
      throw new PathRefused(
        inside ? 'unreadable' : 'outside-roots',
        inside ? 'no such file' : outsideMessage(roots),
      );
    }
    if (!roots.some((r) => isInside(r, real))) throw new PathRefused('outside-roots', outsideMessage(roots));
    return real;
  }
}

function duplicateOutcome(x: Pick<LoadedImage, 'index' | 'name'>, of: string): ImageOutcome {
  return {
    index: x.index,
    name: x.name,
    id: null,
    status: 'duplicate',
    duplicate_of: of,
    near_duplicate_of: null,
    detections: [],
    faces: 0,
    ocr: 0,
  };
}

function outsideMessage(roots: readonly string[]): string {
  return `is outside the allowed roots (${roots.join(', ')}); refused`;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.startsWith(`..${sep}`));
}

/** The prepared image with its crop in the other layout (a detector and an embedder that disagree). */
function withCropLayout(p: PreparedImage, layout: 'hwc-uint8' | 'chw-float'): PreparedImage {
  const { data, size } = p.crop;
  const plane = size * size;
  if (layout === 'hwc-uint8' && data instanceof Float32Array) {
    const out = new Uint8Array(plane * 3);
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((data[c * plane + i] ?? 0) * 255);
    }
    return { ...p, crop: { data: out, size } };
  }
  if (layout === 'chw-float' && data instanceof Uint8Array) {
    const out = new Float32Array(plane * 3);
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) out[c * plane + i] = (data[i * 3 + c] ?? 0) / 255;
    }
    return { ...p, crop: { data: out, size } };
  }
  return p;
}

/** A detection's region of the decoded image, squashed to the embedder's square input, as a prepared crop. */
async function cropForEmbedder(
  decoded: RawRgb,
  prepared: PreparedImage,
  box: readonly [number, number, number, number],
  embedder: ImageEmbedder,
): Promise<PreparedImage> {
  const sx = prepared.decodedWidth / prepared.width;
  const sy = prepared.decodedHeight / prepared.height;
  const left = Math.max(0, Math.min(decoded.width - 1, Math.floor(box[0] * sx)));
  const top = Math.max(0, Math.min(decoded.height - 1, Math.floor(box[1] * sy)));
  const width = Math.max(1, Math.min(decoded.width - left, Math.ceil((box[2] - box[0]) * sx)));
  const height = Math.max(1, Math.min(decoded.height - top, Math.ceil((box[3] - box[1]) * sy)));
  const size = embedder.inputSize ?? prepared.crop.size;
  const { data } = await sharp(decoded.data, {
    raw: { width: decoded.width, height: decoded.height, channels: 3 },
  })
    .extract({ left, top, width, height })
    .resize(size, size, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const bytes = {
    ...prepared,
    crop: { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), size },
  };
  return embedder.layout === 'hwc-uint8' ? bytes : withCropLayout(bytes, 'chw-float');
}

/** Faces or OCR asked of a service started without that model. */
export class FeatureUnavailableError extends Error {
  constructor(readonly feature: 'faces' | 'ocr') {
    super(
      feature === 'faces'
        ? 'enable_faces: this service has no face model (start it with --faces-model)'
        : 'enable_ocr: this service has no OCR models (start it with --ocr-det-model and --ocr-rec-model)',
    );
    this.name = 'FeatureUnavailableError';
  }
}
