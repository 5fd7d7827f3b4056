/**
 * The ports of photo ingest: what the pipeline needs from the vision models and from the search index, and
 * nothing about how they are reached. The pipeline (pipeline/) depends only on these interfaces; the adapters
 * implement them (vision/: models behind any InferenceEngine; src/index/: SQLite or OpenSearch), so the
 * pipeline can be tested with fakes and neither side imports the other.
 */
import type { Face, SearchIndex, TextLine } from '../../index/index-port.js';
import type { PreparedImage, RawRgb } from '../../inference/vision/image-prep.js';
import type { Box } from '../../inference/vision/nms.js';

/** A detection in source pixels, with its COCO label. */
export interface ObjectDetection {
  readonly label: string;
  /** Index in the 80 COCO classes (COCO_CLASSES). */
  readonly classId: number;
  readonly score: number;
  /** [x1, y1, x2, y2] in source pixels (upright). */
  readonly box: Box;
}

/** Finds objects in a prepared (letterboxed) image. */
export interface Detector {
  readonly model: string;
  readonly kind: 'ssd' | 'yolo';
  /** What prepareImage must produce for it. */
  readonly layout: 'hwc-uint8' | 'chw-float';
  readonly inputSize: number | null;
  detect(image: PreparedImage, signal?: AbortSignal): Promise<ObjectDetection[]>;
}

/** Embeds the centre crop of a prepared image. */
export interface ImageEmbedder {
  readonly model: string;
  readonly layout: 'hwc-uint8' | 'chw-float';
  readonly inputSize: number | null;
  readonly dimension: number;
  /** The L2-normalised embedding of the image's centre crop. */
  embed(image: PreparedImage, signal?: AbortSignal): Promise<Float32Array>;
}

/** Finds faces in a decoded image; boxes in that image's pixels. */
export interface FaceFinder {
  find(image: RawRgb, signal?: AbortSignal): Promise<Face[]>;
}

/** Reads text lines in a decoded image; boxes in that image's pixels. */
export interface TextReader {
  read(image: RawRgb, signal?: AbortSignal): Promise<TextLine[]>;
}

/** The models of one ingest service; faces and OCR are optional (null: the feature is off). */
export interface VisionModels {
  readonly detector: Detector;
  readonly embedder: ImageEmbedder;
  readonly faces: FaceFinder | null;
  readonly ocr: TextReader | null;
}

/** What the pipeline needs of the search index: duplicate lookups, nearest neighbours, one durable write. */
export type IngestIndex = Pick<SearchIndex, 'findImohashes' | 'nearest' | 'indexBatch'>;
