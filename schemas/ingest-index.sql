-- The schema of a pitlane search index file (SQLite with the sqlite-vec extension), the one source of it:
-- src/index/sqlite-schema.ts (pitlane) and baselines/python/ingest/index.py (the Python ingest baseline) both
-- read this file and create the tables from it, so that either program can open the other's index.
-- Before running it they replace every VECTOR_COLUMN with the vector column of the file's dimension,
-- `embedding float[<dimension>] distance_metric=cosine`. The schema version (PRAGMA user_version), the
-- application id and the dimension row of `meta` are written by the programs after these statements.
-- No semicolon may appear in a comment: the Python side splits the text into statements at each one.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE images (
  pk INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  imohash TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  face_count INTEGER NOT NULL,
  ocr_count INTEGER NOT NULL,
  ingested_at TEXT NOT NULL,
  format TEXT NOT NULL,
  near_duplicate_of TEXT,
  name TEXT NOT NULL,
  faces TEXT NOT NULL,
  ocr TEXT NOT NULL
) STRICT;
CREATE INDEX images_imohash ON images (imohash, ingested_at, id);
CREATE TABLE detections (
  image_pk INTEGER NOT NULL REFERENCES images (pk),
  ord INTEGER NOT NULL,
  label TEXT NOT NULL,
  class_id INTEGER NOT NULL,
  score REAL NOT NULL,
  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
  PRIMARY KEY (image_pk, ord)
) STRICT, WITHOUT ROWID;
CREATE INDEX detections_label ON detections (label, image_pk);
CREATE TABLE boxes (
  pk INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  image_pk INTEGER NOT NULL REFERENCES images (pk),
  kind TEXT NOT NULL CHECK (kind IN ('vehicles', 'people')),
  label TEXT NOT NULL,
  score REAL NOT NULL,
  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL
) STRICT;
CREATE INDEX boxes_image ON boxes (image_pk);
CREATE VIRTUAL TABLE vec_global USING vec0(pk INTEGER PRIMARY KEY, VECTOR_COLUMN);
CREATE VIRTUAL TABLE vec_vehicles USING vec0(pk INTEGER PRIMARY KEY, VECTOR_COLUMN, label TEXT);
CREATE VIRTUAL TABLE vec_people USING vec0(pk INTEGER PRIMARY KEY, VECTOR_COLUMN, label TEXT);
