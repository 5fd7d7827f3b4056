/**
 * What the batch-ingest load tool (bench.ts) takes and gives: its options and their defaults, its progress ticks,
 * each image's outcome as the service reported it, the duplicate check against the corpus manifest, and the
 * results JSON (`-out`) that the ingest suite reads and writes into its results files.
 */

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
