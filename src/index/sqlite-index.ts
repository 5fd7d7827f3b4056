/**
 * The search index in one SQLite file: better-sqlite3 plus the sqlite-vec extension. For one machine, tests and
 * small deployments; search is exact (sqlite-vec scans every vector, no approximate index).
 *
 * Durability: the file is in WAL mode with `synchronous=FULL`, and each batch is one transaction, so
 * `indexBatch` resolves after the WAL has been fsynced with the whole batch in it. In WAL mode `NORMAL` would
 * fsync only at checkpoints: still consistent after any crash, and still durable when only the process dies
 * (the kernel has the pages), but a power loss or kernel crash could roll back batches that were already
 * acknowledged. The ingest service acknowledges uploads on the strength of `indexBatch`, so it pays one fsync
 * per batch. A crash mid-batch leaves no part of that batch (atomic commit).
 *
 * Layout (sqlite-schema.ts; schema version 1 in `PRAGMA user_version`, this program's mark in `PRAGMA application_id`):
 * - `meta`: the embedding dimension the file was created with. Opening with another dimension is refused.
 * - `images`: one row per image; faces and OCR lines as JSON (read back whole, never filtered on), with their
 *   counts in columns so `counts()` does not parse JSON.
 * - `detections`: one row per detection, indexed by (label, image) so a label filter is an index range.
 * - `boxes`: vehicle and people crops.
 * - `vec_global`, `vec_vehicles`, `vec_people`: sqlite-vec `vec0` tables with `distance_metric=cosine`, keyed by
 *   the integer key of the image or box. The box tables carry the box label as a vec0 metadata column.
 *
 * Filtered search is exact: the filter is applied inside sqlite-vec's scan, never after it. For boxes the label
 * is a vec0 metadata column, and `label IN (...)` is evaluated during the KNN scan. An image has many labels,
 * which a scalar metadata column cannot hold, so for `global` the KNN query carries `pk IN (SELECT image_pk
 * FROM detections WHERE label IN (...))`; sqlite-vec takes such a rowid-IN constraint into its scan and skips
 * every other vector (checked against a brute-force scan in the tests; at 100k images it costs less than the
 * unfiltered scan). Over-fetching k' > k and filtering afterwards would not be exact, so it is not done, except
 * for `excludeIds`, where fetching k + excludeIds.length is exact.
 *
 * Duplicates: an image id already indexed is replaced (row updated in place, its detections, vector and boxes
 * deleted and rewritten from the batch); a box id already indexed is replaced likewise. Imohashes may repeat.
 *
 * Every method runs synchronously on the calling thread (better-sqlite3); the async signatures are the port's.
 * Several connections (processes, workers) may use one file: readers never block and see whole batches only
 * (each read runs in one transaction, i.e. one snapshot); writers queue on the write lock for `busyTimeoutMs`.
 * Reads go through a memory map of the file (`mmapSizeBytes`, 1 GiB by default), which halves a full scan.
 *
 * Measured on the 2-core development machine, 512-d (`bench-index.ts`): a batch of 64 images with their boxes
 * indexed and committed in ~20 ms (median; p90 ~60-85 ms, the fsync); k=10 over 10k images ~17 ms unfiltered,
 * 8-15 ms filtered; over 100k images ~135 ms unfiltered, ~60-70 ms filtered (8-40 % of images matching).
 */
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import {
  IndexClosedError,
  IndexDimensionError,
  IndexSchemaError,
  InvalidBatchError,
  InvalidQueryError,
  SearchIndexError,
} from '../core/errors.js';
import type {
  BoxDocument,
  BoxKind,
  BoxSummary,
  Detection,
  Face,
  ImageDocument,
  ImageSummary,
  IndexCounts,
  NearestOptions,
  SearchHit,
  SearchIndex,
  TextLine,
} from './index-port.js';
import {
  SQLITE_MAX_DIMENSION,
  ensureSchema,
  pixelBox,
  IMAGE_COLUMNS,
  rowBox,
  vectorBytes,
  vectorFrom,
  type BoxRow,
  type DetectionRow,
  type ImageRow,
  type KnnRow,
} from './sqlite-schema.js';
import { compareHits, validateBatch, validateHashes, validateNearest } from './validation.js';

/** Options of `openSqliteIndex`. */
export interface SqliteIndexOptions {
  /** Length of every embedding: a new file is created with it; an existing file must have been created with it. */
  readonly dimension: number;
  /** How long a write waits for another connection's write lock before failing (SQLITE_BUSY). Default 5000. */
  readonly busyTimeoutMs?: number;
  /**
   * Bytes of the file SQLite reads through a memory map (`PRAGMA mmap_size`); default 1 GiB, 0 turns it off.
   * A search scans every vector, and reading them through the map instead of copying pages halves its time
   * (measured: 100k x 512-d, 220 -> 100 ms). Writes still go through write(2). The price: an I/O error while
   * reading the map (a failing disk) kills the process with SIGBUS instead of failing the query.
   */
  readonly mmapSizeBytes?: number;
}

/** Every statement the index runs, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  return {
    imagePk: db.prepare<[string], { pk: number }>('SELECT pk FROM images WHERE id = ?'),
    insertImage: db.prepare(
      `INSERT INTO images (id, imohash, width, height, bytes, face_count, ocr_count, ingested_at, format,
         near_duplicate_of, name, faces, ocr)
       VALUES (@id, @imohash, @width, @height, @bytes, @face_count, @ocr_count, @ingested_at, @format,
         @near_duplicate_of, @name, @faces, @ocr)`,
    ),
    updateImage: db.prepare(
      `UPDATE images SET imohash = @imohash, width = @width, height = @height, bytes = @bytes,
         face_count = @face_count, ocr_count = @ocr_count, ingested_at = @ingested_at, format = @format,
         near_duplicate_of = @near_duplicate_of, name = @name, faces = @faces, ocr = @ocr
       WHERE pk = @pk`,
    ),
    deleteDetections: db.prepare('DELETE FROM detections WHERE image_pk = ?'),
    insertDetection: db.prepare(
      `INSERT INTO detections (image_pk, ord, label, class_id, score, x1, y1, x2, y2)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteGlobalVector: db.prepare('DELETE FROM vec_global WHERE pk = ?'),
    insertGlobalVector: db.prepare('INSERT INTO vec_global (pk, embedding) VALUES (?, ?)'),
    boxesOfImage: db.prepare<[number], { pk: number; kind: BoxKind }>(
      'SELECT pk, kind FROM boxes WHERE image_pk = ?',
    ),
    boxById: db.prepare<[string], { pk: number; kind: BoxKind }>('SELECT pk, kind FROM boxes WHERE id = ?'),
    deleteBox: db.prepare('DELETE FROM boxes WHERE pk = ?'),
    insertBox: db.prepare(
      `INSERT INTO boxes (id, image_pk, kind, label, score, x1, y1, x2, y2) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteBoxVector: {
      vehicles: db.prepare('DELETE FROM vec_vehicles WHERE pk = ?'),
      people: db.prepare('DELETE FROM vec_people WHERE pk = ?'),
    },
    insertBoxVector: {
      vehicles: db.prepare('INSERT INTO vec_vehicles (pk, embedding, label) VALUES (?, ?, ?)'),
      people: db.prepare('INSERT INTO vec_people (pk, embedding, label) VALUES (?, ?, ?)'),
    },
    imageById: db.prepare<[string], ImageRow>(`SELECT ${IMAGE_COLUMNS} FROM images WHERE id = ?`),
    imageByPk: db.prepare<[number], ImageRow>(`SELECT ${IMAGE_COLUMNS} FROM images WHERE pk = ?`),
    detectionsOf: db.prepare<[number], DetectionRow>(
      'SELECT label, class_id, score, x1, y1, x2, y2 FROM detections WHERE image_pk = ? ORDER BY ord',
    ),
    globalVector: db.prepare<[bigint], { embedding: Buffer }>(
      'SELECT embedding FROM vec_global WHERE pk = ?',
    ),
    boxByPk: db.prepare<[number], BoxRow>(
      'SELECT pk, id, image_pk, kind, label, score, x1, y1, x2, y2 FROM boxes WHERE pk = ?',
    ),
    knn: {
      global: db.prepare<[Buffer, number], KnnRow>(
        'SELECT pk, distance FROM vec_global WHERE embedding MATCH ? AND k = ?',
      ),
      vehicles: db.prepare<[Buffer, number], KnnRow>(
        'SELECT pk, distance FROM vec_vehicles WHERE embedding MATCH ? AND k = ?',
      ),
      people: db.prepare<[Buffer, number], KnnRow>(
        'SELECT pk, distance FROM vec_people WHERE embedding MATCH ? AND k = ?',
      ),
    },
    knnLabels: {
      global: db.prepare<[Buffer, number, string], KnnRow>(
        `SELECT pk, distance FROM vec_global WHERE embedding MATCH ? AND k = ?
           AND pk IN (SELECT image_pk FROM detections WHERE label IN (SELECT value FROM json_each(?)))`,
      ),
      vehicles: db.prepare<[Buffer, number, string], KnnRow>(
        `SELECT pk, distance FROM vec_vehicles WHERE embedding MATCH ? AND k = ?
           AND label IN (SELECT value FROM json_each(?))`,
      ),
      people: db.prepare<[Buffer, number, string], KnnRow>(
        `SELECT pk, distance FROM vec_people WHERE embedding MATCH ? AND k = ?
           AND label IN (SELECT value FROM json_each(?))`,
      ),
    },
    imohashes: db.prepare<[string], { imohash: string; id: string }>(
      `SELECT imohash, id FROM images WHERE imohash IN (SELECT value FROM json_each(?))
       ORDER BY imohash, ingested_at, id`,
    ),
    imageTotals: db.prepare<[], { global: number; faces: number; ocr: number }>(
      'SELECT count(*) AS global, coalesce(sum(face_count), 0) AS faces, coalesce(sum(ocr_count), 0) AS ocr FROM images',
    ),
    boxTotals: db.prepare<[], { kind: BoxKind; n: number }>(
      'SELECT kind, count(*) AS n FROM boxes GROUP BY kind',
    ),
  };
}

/** A search index in one SQLite file. Create with `openSqliteIndex`. */
export class SqliteIndex implements SearchIndex {
  readonly kind = 'sqlite';
  /** The file. */
  readonly path: string;
  readonly dimension: number;
  readonly #db: Database.Database;
  #closed = false;
  readonly #sql: ReturnType<typeof prepareStatements>;

  /** @internal use `openSqliteIndex`, which checks or creates the schema first. */
  constructor(path: string, db: Database.Database, dimension: number) {
    this.path = path;
    this.#db = db;
    this.dimension = dimension;
    this.#sql = prepareStatements(db);
  }

  #open(): Database.Database {
    if (this.#closed) throw new IndexClosedError(this.path);
    return this.#db;
  }

  /** Runs `fn` in one read transaction, so that its several statements see one snapshot. */
  #read<T>(fn: () => T): T {
    return this.#open().transaction(fn).deferred();
  }

  findImohashes(hashes: readonly string[]): Promise<Map<string, string>> {
    return run(() => {
      validateHashes(hashes);
      const found = new Map<string, string>();
      if (hashes.length === 0) return found;
      const rows = this.#read(() => this.#sql.imohashes.all(JSON.stringify([...new Set(hashes)])));
      for (const row of rows) if (!found.has(row.imohash)) found.set(row.imohash, row.id);
      return found;
    });
  }

  nearest(vector: Float32Array, options: NearestOptions): Promise<SearchHit[]> {
    return run(() => {
      const query = validateNearest(vector, options, this.dimension);
      if (query.labels?.length === 0) return [];
      const exclude = new Set(query.excludeIds);
      const k = query.k + exclude.size;
      const bytes = vectorBytes(vector);
      return this.#read(() => {
        const rows =
          query.labels === null
            ? this.#sql.knn[query.index].all(bytes, k)
            : this.#sql.knnLabels[query.index].all(bytes, k, JSON.stringify(query.labels));
        const hits: SearchHit[] = [];
        for (const { pk, distance } of rows) {
          const score = 1 - distance;
          if (query.index === 'global') {
            const image = this.#imageAt(pk);
            if (!exclude.has(image.id)) hits.push({ id: image.id, score, image });
          } else {
            const box = this.#sql.boxByPk.get(pk);
            if (box === undefined)
              throw new IndexSchemaError(this.path, `vector of box ${pk} has no box row`);
            if (exclude.has(box.id)) continue;
            const image = this.#imageAt(box.image_pk);
            const summary: BoxSummary = {
              id: box.id,
              imageId: image.id,
              kind: box.kind,
              label: box.label,
              score: box.score,
              box: rowBox(box),
            };
            hits.push({ id: box.id, score, image, box: summary });
          }
        }
        return hits.sort(compareHits).slice(0, query.k);
      });
    });
  }

  #imageAt(pk: number): ImageSummary {
    const row = this.#sql.imageByPk.get(pk);
    if (row === undefined) throw new IndexSchemaError(this.path, `vector of image ${pk} has no image row`);
    return this.#summary(row);
  }

  #summary(row: ImageRow): ImageSummary {
    const detections: Detection[] = this.#sql.detectionsOf.all(row.pk).map((d) => ({
      label: d.label,
      classId: d.class_id,
      score: d.score,
      box: rowBox(d),
    }));
    return {
      id: row.id,
      imohash: row.imohash,
      name: row.name,
      width: row.width,
      height: row.height,
      format: row.format,
      bytes: row.bytes,
      ingestedAt: row.ingested_at,
      detections,
      faces: JSON.parse(row.faces) as Face[],
      ocr: JSON.parse(row.ocr) as TextLine[],
      nearDuplicateOf: row.near_duplicate_of,
    };
  }

  indexBatch(images: readonly ImageDocument[], boxes: readonly BoxDocument[]): Promise<IndexCounts> {
    return run(() => {
      const counts = validateBatch(images, boxes, this.dimension);
      // IMMEDIATE: take the write lock first (waiting up to busyTimeoutMs), so that a concurrent writer cannot
      // invalidate this transaction's snapshot halfway.
      this.#open()
        .transaction(() => {
          this.#write(images, boxes);
        })
        .immediate();
      return counts;
    });
  }

  #write(images: readonly ImageDocument[], boxes: readonly BoxDocument[]): void {
    const sql = this.#sql;
    const imagePks = new Map<string, number>();
    for (const image of images) {
      const row = {
        id: image.id,
        imohash: image.imohash,
        width: image.width,
        height: image.height,
        bytes: image.bytes,
        face_count: image.faces.length,
        ocr_count: image.ocr.length,
        ingested_at: image.ingestedAt,
        format: image.format,
        near_duplicate_of: image.nearDuplicateOf,
        name: image.name,
        faces: JSON.stringify(image.faces.map((f) => ({ score: f.score, box: pixelBox(f.box) }))),
        ocr: JSON.stringify(image.ocr.map((t) => ({ text: t.text, score: t.score, box: pixelBox(t.box) }))),
      };
      const existing = sql.imagePk.get(image.id);
      let pk: number;
      if (existing === undefined) {
        pk = Number(sql.insertImage.run(row).lastInsertRowid);
      } else {
        // Replace the image and everything hanging off it; the batch carries its new detections and boxes.
        pk = existing.pk;
        sql.updateImage.run({ ...row, pk });
        sql.deleteDetections.run(pk);
        sql.deleteGlobalVector.run(BigInt(pk));
        for (const box of sql.boxesOfImage.all(pk)) this.#deleteBox(box.pk, box.kind);
      }
      imagePks.set(image.id, pk);
      image.detections.forEach((d, ord) => {
        sql.insertDetection.run(pk, ord, d.label, d.classId, d.score, d.box[0], d.box[1], d.box[2], d.box[3]);
      });
      sql.insertGlobalVector.run(BigInt(pk), vectorBytes(image.embedding));
    }
    for (const box of boxes) {
      const existing = sql.boxById.get(box.id);
      if (existing !== undefined) this.#deleteBox(existing.pk, existing.kind);
      const imagePk = imagePks.get(box.imageId);
      if (imagePk === undefined)
        throw new InvalidBatchError([`box ${box.id}: image ${box.imageId} not in batch`]);
      const b = box.box;
      const pk = sql.insertBox.run(
        box.id,
        imagePk,
        box.kind,
        box.label,
        box.score,
        b[0],
        b[1],
        b[2],
        b[3],
      ).lastInsertRowid;
      sql.insertBoxVector[box.kind].run(BigInt(pk), vectorBytes(box.embedding), box.label);
    }
  }

  #deleteBox(pk: number, kind: BoxKind): void {
    this.#sql.deleteBoxVector[kind].run(BigInt(pk));
    this.#sql.deleteBox.run(pk);
  }

  getImage(id: string): Promise<ImageDocument | null> {
    return run(() => {
      if (typeof id !== 'string') throw new InvalidQueryError('getImage: id must be a string');
      return this.#read(() => {
        const row = this.#sql.imageById.get(id);
        if (row === undefined) return null;
        const vector = this.#sql.globalVector.get(BigInt(row.pk));
        if (vector === undefined) throw new IndexSchemaError(this.path, `image ${id} has no vector`);
        return { ...this.#summary(row), embedding: vectorFrom(vector.embedding) };
      });
    });
  }

  counts(): Promise<IndexCounts> {
    return run(() =>
      this.#read(() => {
        const images = this.#sql.imageTotals.get();
        if (images === undefined) throw new IndexSchemaError(this.path, `no totals`);
        const boxes = new Map(this.#sql.boxTotals.all().map((r) => [r.kind, r.n]));
        return {
          global: images.global,
          vehicles: boxes.get('vehicles') ?? 0,
          people: boxes.get('people') ?? 0,
          faces: images.faces,
          ocr: images.ocr,
        };
      }),
    );
  }

  close(): Promise<void> {
    return run(() => {
      if (this.#closed) return;
      this.#closed = true;
      this.#db.close();
    });
  }
}

/** Runs a synchronous body as a promise, so that a throw becomes a rejection. */
function run<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * Opens the index in the SQLite file at `path`, creating the file and its schema when the file is missing or
 * empty.
 *
 * @throws IndexDimensionError when the file was created for another dimension (the message names the file and
 *   both dimensions).
 * @throws IndexSchemaError when the file is not a SQLite database, belongs to another program, or has a schema
 *   version this code does not know.
 */
export function openSqliteIndex(path: string, options: SqliteIndexOptions): Promise<SqliteIndex> {
  return run(() => openSync(path, options));
}

function openSync(path: string, options: SqliteIndexOptions): SqliteIndex {
  const { dimension, busyTimeoutMs = 5000, mmapSizeBytes = 2 ** 30 } = options;
  if (!Number.isSafeInteger(dimension) || dimension < 1 || dimension > SQLITE_MAX_DIMENSION) {
    throw new InvalidQueryError(
      `openSqliteIndex: dimension must be an integer in 1..${SQLITE_MAX_DIMENSION}`,
    );
  }
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
  } catch (err) {
    throw new IndexSchemaError(path, `cannot open: ${String(err)}`, { cause: err });
  }
  try {
    sqliteVec.load(db);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`mmap_size = ${Math.max(0, Math.floor(mmapSizeBytes))}`);
    // IMMEDIATE: two processes creating the same new file take turns; the second finds the schema made.
    const stored = db.transaction(() => ensureSchema(db, path, dimension)).immediate();
    if (stored !== dimension) throw new IndexDimensionError(path, stored, dimension);
    return new SqliteIndex(path, db, dimension);
  } catch (err) {
    db.close();
    if (err instanceof SearchIndexError) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB') {
      throw new IndexSchemaError(path, 'is not a SQLite database', { cause: err });
    }
    throw new IndexSchemaError(path, `cannot open the search index: ${String(err)}`, { cause: err });
  }
}
