/**
 * The vocabulary of one ingest request: what comes in (items and per-request switches), how the pipeline is
 * configured (with its defaults in one place), and what goes out (the documented response, the per-image
 * failures and outcomes). Types only, plus the defaults; the work is in ingest-pipeline.ts and its steps.
 */
import type { IndexCounts } from '../../../index/index-port.js';
import type { ObjectDetection } from '../ports.js';

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

/** An image's size and imohash, before analysis. */
export interface LoadedImage {
  readonly index: number;
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  readonly hash: string;
  /** What the decoder reads: the bytes, or the file (read by libvips when its turn comes, never whole by us). */
  readonly source: Buffer | string;
}

/** The outcome of an image that is a duplicate of the indexed image `of`. */
export function duplicateOutcome(x: Pick<LoadedImage, 'index' | 'name'>, of: string): ImageOutcome {
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
