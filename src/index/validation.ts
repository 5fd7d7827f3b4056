/**
 * Checks shared by both adapters, so that they refuse exactly the same batches and queries: a batch is checked
 * whole before anything is written (every problem is reported, not just the first), and a query's options are
 * normalised once.
 */
import { InvalidBatchError, InvalidQueryError } from '../core/errors.js';
import {
  INDEX_NAMES,
  MAX_EXCLUDE_IDS,
  MAX_K,
  type BoxDocument,
  type ImageDocument,
  type IndexCounts,
  type IndexName,
  type NearestOptions,
} from './index-port.js';

/** The shape `Date.prototype.toISOString()` writes for years 0000..9999. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Why an embedding is unusable, or null when it is fine: a Float32Array of `dimension` finite floats, not all 0. */
export function embeddingProblem(value: unknown, dimension: number): string | null {
  if (!(value instanceof Float32Array)) return 'embedding is not a Float32Array';
  if (value.length !== dimension) return `embedding has ${value.length} floats, the index needs ${dimension}`;
  let norm = 0;
  for (let i = 0; i < value.length; i++) {
    const x = value[i] ?? Number.NaN;
    if (!Number.isFinite(x)) return `embedding[${i}] is ${x}`;
    norm += x * x;
  }
  if (norm === 0) return 'embedding is all zeros (cosine similarity is undefined)';
  return null;
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

function isBox(v: unknown): boolean {
  return Array.isArray(v) && v.length === 4 && v.every(isNumber);
}

/** What is wrong with the score and box every detection, face and text line has, or null. */
function scoredBoxProblem(item: Record<string, unknown>): string | null {
  if (!isNumber(item.score)) return 'score must be a finite number';
  if (!isBox(item.box)) return 'box must be 4 finite numbers';
  return null;
}

/** Problems of one image's fields (`where` prefixes each). */
function imageProblems(image: ImageDocument, where: string, dimension: number, out: string[]): void {
  const bad = (field: string, rule: string): void => {
    out.push(`${where}: ${field} ${rule}`);
  };
  // Values may come from JSON at run time; the checks do not trust the static types.
  const doc = image as unknown as Record<string, unknown>;
  if (!isText(doc.imohash) || doc.imohash.length === 0) bad('imohash', 'must be a non-empty string');
  if (!isText(doc.name)) bad('name', 'must be a string');
  if (!isText(doc.format)) bad('format', 'must be a string');
  for (const field of ['width', 'height', 'bytes'] as const) {
    if (!isCount(doc[field])) bad(field, 'must be a non-negative integer');
  }
  if (
    !isText(doc.ingestedAt) ||
    !ISO_INSTANT.test(doc.ingestedAt) ||
    Number.isNaN(Date.parse(doc.ingestedAt))
  ) {
    bad('ingestedAt', 'must be an instant as Date.toISOString() writes it, e.g. 2025-01-31T12:00:00.000Z');
  }
  if (doc.nearDuplicateOf !== null && !isId(doc.nearDuplicateOf)) {
    bad('nearDuplicateOf', 'must be null or a non-empty id');
  }
  const list = (
    field: 'detections' | 'faces' | 'ocr',
    check: (item: Record<string, unknown>) => string | null,
  ) => {
    const items = doc[field];
    if (!Array.isArray(items)) {
      bad(field, 'must be an array');
      return;
    }
    items.forEach((item: unknown, i) => {
      const problem =
        typeof item === 'object' && item !== null
          ? check(item as Record<string, unknown>)
          : 'is not an object';
      if (problem !== null) bad(`${field}[${i}]`, problem);
    });
  };
  list('detections', (d) =>
    !isText(d.label)
      ? 'label must be a string'
      : !isCount(d.classId)
        ? 'classId must be a non-negative integer'
        : scoredBoxProblem(d),
  );
  list('faces', scoredBoxProblem);
  list('ocr', (t) => (!isText(t.text) ? 'text must be a string' : scoredBoxProblem(t)));
  const embedding = embeddingProblem(doc.embedding, dimension);
  if (embedding !== null) out.push(`${where}: ${embedding}`);
}

/**
 * Checks a batch against the port's rules and returns what it holds (the counts `indexBatch` answers with).
 * Rules: ids non-empty and unique within the batch (images among images, boxes among boxes); every box's
 * `imageId` names an image of the same batch (so that an image and its boxes are written, and replaced, as a
 * unit); fields have their documented types; embeddings have the index's dimension, are finite and not zero.
 *
 * @throws InvalidBatchError listing every problem.
 */
export function validateBatch(
  images: readonly ImageDocument[],
  boxes: readonly BoxDocument[],
  dimension: number,
): IndexCounts {
  const problems: string[] = [];
  const imageIds = new Set<string>();
  let faces = 0;
  let ocr = 0;
  images.forEach((image, i) => {
    const id: unknown = (image as { id?: unknown }).id;
    const where = isId(id) ? `images[${i}] (id '${id}')` : `images[${i}]`;
    if (!isId(id)) problems.push(`${where}: id must be a non-empty string`);
    else if (imageIds.has(id)) problems.push(`${where}: id appears twice in the batch`);
    else imageIds.add(id);
    imageProblems(image, where, dimension, problems);
    if (Array.isArray(image.faces)) faces += image.faces.length;
    if (Array.isArray(image.ocr)) ocr += image.ocr.length;
  });
  const boxIds = new Set<string>();
  let vehicles = 0;
  let people = 0;
  boxes.forEach((box, i) => {
    const doc = box as unknown as Record<string, unknown>;
    const where = isId(doc.id) ? `boxes[${i}] (id '${doc.id}')` : `boxes[${i}]`;
    if (!isId(doc.id)) problems.push(`${where}: id must be a non-empty string`);
    else if (boxIds.has(doc.id)) problems.push(`${where}: id appears twice in the batch`);
    else boxIds.add(doc.id);
    if (!isId(doc.imageId) || !imageIds.has(doc.imageId)) {
      problems.push(`${where}: imageId must be the id of an image in the same batch`);
    }
    if (doc.kind === 'vehicles') vehicles++;
    else if (doc.kind === 'people') people++;
    else problems.push(`${where}: kind must be 'vehicles' or 'people'`);
    if (!isText(doc.label)) problems.push(`${where}: label must be a string`);
    if (!isNumber(doc.score)) problems.push(`${where}: score must be a finite number`);
    if (!isBox(doc.box)) problems.push(`${where}: box must be 4 finite numbers`);
    const embedding = embeddingProblem(doc.embedding, dimension);
    if (embedding !== null) problems.push(`${where}: ${embedding}`);
  });
  if (problems.length > 0) throw new InvalidBatchError(problems);
  return { global: images.length, vehicles, people, faces, ocr };
}

/** `NearestOptions` checked and with defaults filled in. */
export interface NearestQuery {
  readonly k: number;
  readonly index: IndexName;
  /** null: no label filter. */
  readonly labels: readonly string[] | null;
  readonly excludeIds: readonly string[];
}

/**
 * Checks a `nearest` call and fills in defaults.
 *
 * @throws InvalidQueryError naming the bad argument.
 */
export function validateNearest(vector: unknown, options: NearestOptions, dimension: number): NearestQuery {
  const embedding = embeddingProblem(vector, dimension);
  if (embedding !== null) throw new InvalidQueryError(`nearest: the query vector is unusable: ${embedding}`);
  const { k, index = 'global', labels, excludeIds = [] } = options;
  if (!Number.isSafeInteger(k) || k < 1 || k > MAX_K) {
    throw new InvalidQueryError(`nearest: k must be an integer in 1..${MAX_K}, got ${String(k)}`);
  }
  if (!INDEX_NAMES.includes(index)) {
    throw new InvalidQueryError(`nearest: index must be one of ${INDEX_NAMES.join(', ')}, got ${index}`);
  }
  if (labels !== undefined && (!Array.isArray(labels) || !labels.every(isText))) {
    throw new InvalidQueryError('nearest: labels must be an array of strings');
  }
  if (!Array.isArray(excludeIds) || !excludeIds.every(isText) || excludeIds.length > MAX_EXCLUDE_IDS) {
    throw new InvalidQueryError(`nearest: excludeIds must be an array of at most ${MAX_EXCLUDE_IDS} strings`);
  }
  return { k, index, labels: labels === undefined ? null : [...new Set(labels)], excludeIds };
}

/** Checks the argument of `findImohashes`. */
export function validateHashes(hashes: readonly string[]): void {
  if (!Array.isArray(hashes) || !hashes.every(isText)) {
    throw new InvalidQueryError('findImohashes: hashes must be an array of strings');
  }
}

/** Orders hits best first, equal scores by id, so both adapters answer in the same, deterministic order. */
export function compareHits(a: { id: string; score: number }, b: { id: string; score: number }): number {
  return b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
