/**
 * The layout of a SQLite search index file (see sqlite-index.ts for why it is so): the schema (its statements are
 * schemas/ingest-index.sql, shared with the Python ingest baseline) and its version marks, the row types, the
 * statements the adapter runs (prepared once per connection), the conversions of vectors and boxes between
 * documents and rows, and the check of an existing file's schema on open.
 */
import type Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IndexSchemaError } from '../core/errors.js';
import type { BoxKind, PixelBox } from './index-port.js';
import { packageRoot } from '../process/package-root.js';

/** The schema this code writes and reads, stored in `PRAGMA user_version`. */
export const SQLITE_SCHEMA_VERSION = 1;
/** `PRAGMA application_id` of a pitlane search index: 'plsx' in ASCII. */
export const SQLITE_APPLICATION_ID = 0x706c7378;
/** The largest dimension sqlite-vec accepts for a float vector column. */
export const SQLITE_MAX_DIMENSION = 8192;

let schemaText: string | null = null;

/** The statements that create an index file's tables for vectors of `dimension` floats. Their text is
 * schemas/ingest-index.sql (read once), which the Python ingest baseline reads too: one schema for both. */
export function schemaSql(dimension: number): string {
  schemaText ??= readFileSync(join(packageRoot(), 'schemas', 'ingest-index.sql'), 'utf8');
  return schemaText.replaceAll('VECTOR_COLUMN', `embedding float[${dimension}] distance_metric=cosine`);
}

export interface ImageRow {
  pk: number;
  id: string;
  imohash: string;
  width: number;
  height: number;
  bytes: number;
  ingested_at: string;
  format: string;
  near_duplicate_of: string | null;
  name: string;
  faces: string;
  ocr: string;
}

export interface DetectionRow {
  label: string;
  class_id: number;
  score: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface BoxRow extends DetectionRow {
  pk: number;
  id: string;
  image_pk: number;
  kind: BoxKind;
}

export interface KnnRow {
  pk: number;
  distance: number;
}

export const IMAGE_COLUMNS =
  'pk, id, imohash, width, height, bytes, ingested_at, format, near_duplicate_of, name, faces, ocr';

/** The bytes of a Float32Array, as SQLite gets them (a view: no copy, and right even for a subarray). */
export function vectorBytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A Float32Array copy of a vector blob (copied: SQLite's buffer may be unaligned for floats). */
export function vectorFrom(blob: Buffer): Float32Array {
  const out = new Float32Array(blob.byteLength / 4);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

export const pixelBox = (b: PixelBox): [number, number, number, number] => [b[0], b[1], b[2], b[3]];
export const rowBox = (r: DetectionRow): [number, number, number, number] => [r.x1, r.y1, r.x2, r.y2];
export const SCHEMA_TABLES = [
  'meta',
  'images',
  'detections',
  'boxes',
  'vec_global',
  'vec_vehicles',
  'vec_people',
];

/** Creates the schema in an empty file, or checks an existing one; returns the file's dimension. */
export function ensureSchema(db: Database.Database, path: string, dimension: number): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (version === 0 && appId === 0) {
    const tables = db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number;
    if (tables > 0) {
      throw new IndexSchemaError(path, 'holds other tables: it is not a pitlane search index');
    }
    db.exec(schemaSql(dimension));
    db.prepare("INSERT INTO meta (key, value) VALUES ('dimension', ?)").run(String(dimension));
    db.pragma(`application_id = ${SQLITE_APPLICATION_ID}`);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
    return dimension;
  }
  if (appId !== SQLITE_APPLICATION_ID) {
    throw new IndexSchemaError(path, `application_id is ${appId}: it is not a pitlane search index`);
  }
  if (version !== SQLITE_SCHEMA_VERSION) {
    throw new IndexSchemaError(
      path,
      `has search-index schema version ${version}, this program reads version ${SQLITE_SCHEMA_VERSION}`,
    );
  }
  const present = new Set(
    db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
      .pluck()
      .all()
      .map((n) => String(n)),
  );
  const missing = SCHEMA_TABLES.filter((t) => !present.has(t));
  if (missing.length > 0) throw new IndexSchemaError(path, `is missing tables: ${missing.join(', ')}`);
  const stored = db.prepare("SELECT value FROM meta WHERE key = 'dimension'").pluck().get();
  const storedDimension = Number(stored);
  if (!Number.isSafeInteger(storedDimension) || storedDimension < 1) {
    throw new IndexSchemaError(path, `has no valid dimension in its meta table (found ${String(stored)})`);
  }
  return storedDimension;
}
