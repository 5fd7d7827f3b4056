/**
 * The search index of the photo-ingest service, as a port: what the service needs from an index, with no
 * storage in sight. Two adapters implement it: `sqlite-index.ts` (one file, better-sqlite3 + sqlite-vec, exact
 * search) and `opensearch-index.ts` (a cluster, approximate HNSW search).
 *
 * Per request batch the ingest service looks up imohashes (exact duplicates), looks up the nearest neighbours
 * of each new image embedding (near duplicates, cosine), then indexes the batch and answers only after
 * `indexBatch` has resolved, which means the batch is durable. Searches ask for the k nearest images or boxes
 * to a vector, optionally only those with some class labels, and fetch images by id.
 *
 * Rules common to both adapters (each adapter documents how it keeps them):
 * - Ids are upserted: indexing an image id that is already indexed replaces that image, and with it the set of
 *   its boxes (the batch must carry every box of each of its images). Retrying a batch is therefore harmless.
 * - Imohashes need not be unique (two requests may race past the duplicate check, and imohash samples files);
 *   `findImohashes` answers with the earliest ingested image of a hash.
 * - A batch is checked before anything is written (`validateBatch` in `batch-validation.ts`); an invalid batch
 *   is refused whole with an `InvalidBatchError`.
 */

/** An axis-aligned box `[x1, y1, x2, y2]` in source-image pixels (top-left, bottom-right; as vision/nms Box). */
export type PixelBox = readonly [x1: number, y1: number, x2: number, y2: number];

/** One object found by the detector in an image. */
export interface Detection {
  /** Class name, e.g. `car` or `person` (COCO names for the stock detector). Search filters match it exactly. */
  readonly label: string;
  /** The detector's class index of `label`. */
  readonly classId: number;
  /** Detector confidence in [0, 1]. */
  readonly score: number;
  /** Where the object is. */
  readonly box: PixelBox;
}

/** One face found in an image. */
export interface Face {
  /** Face-detector confidence in [0, 1]. */
  readonly score: number;
  /** Where the face is. */
  readonly box: PixelBox;
}

/** One line of text read by OCR. */
export interface TextLine {
  /** The recognised text. */
  readonly text: string;
  /** Recognition confidence in [0, 1]. */
  readonly score: number;
  /** Where the line is. */
  readonly box: PixelBox;
}

/** An ingested image: what was found in it and its embedding. */
export interface ImageDocument {
  /** Unique id chosen by the ingest service; indexing the same id again replaces the image. Non-empty. */
  readonly id: string;
  /** imohash of the file (src/services/ingest/hashing/imohash.ts), as the service spells it (hex); exact-duplicate key. */
  readonly imohash: string;
  /** File name or path the image was uploaded as. */
  readonly name: string;
  /** Width in pixels, after EXIF orientation. */
  readonly width: number;
  /** Height in pixels, after EXIF orientation. */
  readonly height: number;
  /** Decoded format, e.g. `jpeg`, `png`, `webp`. */
  readonly format: string;
  /** File size in bytes. */
  readonly bytes: number;
  /**
   * When the image was ingested, exactly as `Date.prototype.toISOString()` writes it (UTC, milliseconds,
   * `Z`), so that text order is time order.
   */
  readonly ingestedAt: string;
  /** Objects found, in detector order (order is kept). */
  readonly detections: readonly Detection[];
  /** Faces found, in detector order. */
  readonly faces: readonly Face[];
  /** Text lines read, in reading order. */
  readonly ocr: readonly TextLine[];
  /** Image embedding, `dimension` floats, L2-normalised by the embedder (not re-normalised here). */
  readonly embedding: Float32Array;
  /** Id of the already indexed image this one nearly duplicates (found by `nearest`), or null. */
  readonly nearDuplicateOf: string | null;
}

/** The searchable box indexes: crops of vehicles and of people, each with its own embedding. */
export type BoxKind = 'vehicles' | 'people';

/** A crop of an image (a vehicle or a person) indexed on its own embedding. */
export interface BoxDocument {
  /** Unique id among boxes chosen by the ingest service, e.g. `${imageId}:v0`. Non-empty. */
  readonly id: string;
  /** Id of the image the box was cut from; that image must be in the same batch. */
  readonly imageId: string;
  /** Which box index the box belongs to. */
  readonly kind: BoxKind;
  /** Detector class name of the box (`car`, `truck`, `person`...); search filters match it exactly. */
  readonly label: string;
  /** Detector confidence in [0, 1]. */
  readonly score: number;
  /** Where the crop is in the image. */
  readonly box: PixelBox;
  /** Embedding of the crop, `dimension` floats, L2-normalised. */
  readonly embedding: Float32Array;
}

/** An image as search hits carry it: everything but the embedding (which a caller rarely wants per hit). */
export type ImageSummary = Omit<ImageDocument, 'embedding'>;

/** A box as search hits carry it: everything but the embedding. */
export type BoxSummary = Omit<BoxDocument, 'embedding'>;

/** The three vector indexes: whole images, vehicle crops, people crops. */
export type IndexName = 'global' | BoxKind;

/** Every index name, in a stable order. */
export const INDEX_NAMES: readonly IndexName[] = ['global', 'vehicles', 'people'];

/** Numbers of documents; what `indexBatch` wrote or what `counts` finds in the whole index. */
export interface IndexCounts {
  /** Images. */
  readonly global: number;
  /** Vehicle boxes. */
  readonly vehicles: number;
  /** People boxes. */
  readonly people: number;
  /** Faces, summed over the images. */
  readonly faces: number;
  /** OCR text lines, summed over the images. */
  readonly ocr: number;
}

/** The largest `k` a search may ask for. */
export const MAX_K = 1000;
/** The most ids `excludeIds` may hold. */
export const MAX_EXCLUDE_IDS = 1000;

/** What `nearest` searches for. */
export interface NearestOptions {
  /** How many hits at most, 1..MAX_K. Fewer come back only when fewer documents match. */
  readonly k: number;
  /** Which index to search; default `global`. */
  readonly index?: IndexName;
  /**
   * Only documents with one of these class labels: for `global`, images with at least one detection whose
   * label is in the list; for `vehicles` and `people`, boxes whose label is in the list. Omitted: no filter.
   * An empty list matches nothing. The k hits are the k best among the matching documents, never fewer
   * because of the filter (the SQLite adapter is exact; OpenSearch filters during its HNSW search).
   */
  readonly labels?: readonly string[];
  /** Hit ids (image ids for `global`, box ids otherwise) to leave out; at most MAX_EXCLUDE_IDS. */
  readonly excludeIds?: readonly string[];
}

/** One search result. */
export interface SearchHit {
  /** The image id for `global`, the box id for `vehicles` and `people`. */
  readonly id: string;
  /**
   * Cosine similarity between the query and the hit's embedding, in [-1, 1]; 1 is the same direction.
   * Computed in float32 by the index, so expect ~1e-6 of rounding.
   */
  readonly score: number;
  /** The image hit, or for a box hit the image the box was cut from; without embedding. */
  readonly image: ImageSummary;
  /** The box hit (without embedding); only for `vehicles` and `people`. */
  readonly box?: BoxSummary;
}

/** The search index the ingest service writes to and searches. Every method may be called concurrently. */
export interface SearchIndex {
  /** Which adapter this is. */
  readonly kind: 'sqlite' | 'opensearch';
  /** Length of every embedding in the index, fixed when the index is created. */
  readonly dimension: number;
  /**
   * Exact-duplicate lookup: for each hash that is indexed, the id of the image with that imohash (the earliest
   * `ingestedAt` when several share it, then the smallest id). Hashes not indexed are absent from the map.
   */
  findImohashes(hashes: readonly string[]): Promise<Map<string, string>>;
  /** The k nearest documents of one index to `vector` by cosine similarity, best first (ties by id). */
  nearest(vector: Float32Array, options: NearestOptions): Promise<SearchHit[]>;
  /**
   * Indexes a batch of images and their boxes (upserting by id, see the module comment) and resolves with what
   * the batch wrote, only once it is durable: an acknowledged batch survives a crash of the process or, with
   * the documented settings, of the machine. Rejects with `InvalidBatchError` without writing anything when
   * the batch breaks a rule.
   */
  indexBatch(images: readonly ImageDocument[], boxes: readonly BoxDocument[]): Promise<IndexCounts>;
  /** An image by id, with its embedding; null when not indexed. */
  getImage(id: string): Promise<ImageDocument | null>;
  /** How many documents the whole index holds. */
  counts(): Promise<IndexCounts>;
  /** Releases the file or connections. Further calls reject; closing twice is harmless. */
  close(): Promise<void>;
}
