"""The search index of the Python ingest baseline: one SQLite file with the sqlite-vec extension, in the very
schema pitlane's src/index/sqlite-index.ts writes (both create the tables from schemas/ingest-index.sql; same
`user_version` and `application_id`, the dimension in `meta`), so both contestants do the same indexing work
and either can open the other's file.

Durability as pitlane: WAL with synchronous=FULL, one transaction per batch, so `commit_batch` returns after
the WAL has been fsynced with the whole batch in it.

`commit_batch` is the ingest service's critical section. In one `BEGIN IMMEDIATE` transaction (the write lock
is taken first, so concurrent requests and the other uvicorn worker processes queue on it) it re-checks exact
duplicates against the index (another request may have committed the same bytes meanwhile), decides near
duplicates (k=1 nearest by cosine in the index, then earlier images of the batch, as pitlane does: all
lookups before any write, so the batch never finds itself in the index), writes the batch and commits.

Threads: a sqlite3 connection is not to be shared between threads, so each worker process owns one connection
and calls it from one dedicated thread only (`DbThread` in server.py); this class itself is synchronous.
"""
from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

SCHEMA_VERSION = 1
APPLICATION_ID = 0x706C7378  # 'plsx'
MAX_DIMENSION = 8192
MAX_K = 1000
INDEX_NAMES = ("global", "vehicles", "people")
_TABLES = ("meta", "images", "detections", "boxes", "vec_global", "vec_vehicles", "vec_people")
_IMAGE_COLUMNS = "pk, id, imohash, width, height, bytes, ingested_at, format, near_duplicate_of, name, faces, ocr"


# The schema is pitlane's own file (schemas/ingest-index.sql, shipped in the package), not a copy of it.
_SCHEMA_FILE = Path(__file__).resolve().parents[3] / "schemas" / "ingest-index.sql"


def _schema_sql(dimension: int) -> str:
    vector = f"embedding float[{dimension}] distance_metric=cosine"
    return _SCHEMA_FILE.read_text(encoding="utf-8").replace("VECTOR_COLUMN", vector)


class IndexFileError(Exception):
    """The index file cannot be used (not SQLite, another program's, another dimension...); names the file."""


@dataclass
class BoxDoc:
    kind: str  # 'vehicles' | 'people'
    label: str
    score: float
    box: tuple[float, float, float, float]
    embedding: np.ndarray


@dataclass
class Candidate:
    """A freshly analysed image, waiting for the commit's duplicate decisions."""

    hash: str
    name: str
    width: int
    height: int
    format: str
    bytes: int
    detections: list[Any]  # vision.Detection
    embedding: np.ndarray  # float32, L2-normalised
    boxes: list[BoxDoc] = field(default_factory=list)


@dataclass
class Decision:
    """What the commit decided for one candidate."""

    duplicate_of: str | None = None
    near_duplicate_of: str | None = None


@dataclass
class CommitResult:
    decisions: list[Decision]
    indexed: dict[str, int]
    near_duplicates: int
    late_duplicates: int


class SqliteIndex:
    def __init__(self, path: str, dimension: int, vec_extension: str, busy_timeout_s: float = 60.0,
                 mmap_size: int = 1 << 30) -> None:
        if not (1 <= dimension <= MAX_DIMENSION):
            raise IndexFileError(f"dimension must be in 1..{MAX_DIMENSION}, got {dimension}")
        self.path = path
        self.dimension = dimension
        try:
            # isolation_level=None: no implicit transactions; every transaction here is explicit.
            self.db = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None,
                                      check_same_thread=False)
        except sqlite3.Error as err:
            raise IndexFileError(f"{path}: cannot open: {err}") from err
        if not hasattr(self.db, "enable_load_extension"):
            self.db.close()
            raise IndexFileError(f"{sys.executable}'s sqlite3 cannot load extensions (sqlite-vec); run with Debian's "
                                 "/usr/bin/python3")
        try:
            self.db.enable_load_extension(True)
            self.db.load_extension(vec_extension)
            self.db.enable_load_extension(False)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute(f"PRAGMA mmap_size = {int(mmap_size)}")
            self.db.execute("BEGIN IMMEDIATE")
            try:
                stored = self._ensure_schema()
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            if stored != dimension:
                raise IndexFileError(
                    f"{path} was created for {stored}-d embeddings; the embedder gives {dimension}-d "
                    "(use another --db)")
        except sqlite3.DatabaseError as err:
            self.db.close()
            if "not a database" in str(err):
                raise IndexFileError(f"{path}: is not a SQLite database") from err
            raise IndexFileError(f"{path}: cannot open the search index: {err}") from err
        except BaseException:
            self.db.close()
            raise

    def _ensure_schema(self) -> int:
        db = self.db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        if version == 0 and app_id == 0:
            if db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] > 0:
                raise IndexFileError(f"{self.path}: holds other tables: it is not a pitlane search index")
            for statement in _schema_sql(self.dimension).split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO meta (key, value) VALUES ('dimension', ?)", (str(self.dimension),))
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return self.dimension
        if app_id != APPLICATION_ID:
            raise IndexFileError(f"{self.path}: application_id is {app_id}: it is not a pitlane search index")
        if version != SCHEMA_VERSION:
            raise IndexFileError(f"{self.path}: has search-index schema version {version}, this program reads "
                              f"version {SCHEMA_VERSION}")
        present = {r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        missing = [t for t in _TABLES if t not in present]
        if missing:
            raise IndexFileError(f"{self.path}: is missing tables: {', '.join(missing)}")
        stored = db.execute("SELECT value FROM meta WHERE key = 'dimension'").fetchone()
        try:
            return int(stored[0])
        except (TypeError, ValueError):
            raise IndexFileError(f"{self.path}: has no valid dimension in its meta table") from None

    def close(self) -> None:
        self.db.close()

    # -- reads: each in one read transaction (one snapshot) --------------------------------------------------

    def _read(self, fn):  # type: ignore[no-untyped-def]
        self.db.execute("BEGIN")
        try:
            return fn()
        finally:
            self.db.execute("COMMIT")

    def _imohashes(self, hashes: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        rows = self.db.execute(
            "SELECT imohash, id FROM images WHERE imohash IN (SELECT value FROM json_each(?)) "
            "ORDER BY imohash, ingested_at, id", (json.dumps(sorted(set(hashes))),))
        for imohash, image_id in rows:
            found.setdefault(imohash, image_id)
        return found

    def find_imohashes(self, hashes: list[str]) -> dict[str, str]:
        """imohash → id of the earliest indexed image with it, for the hashes that are indexed."""
        if not hashes:
            return {}
        return self._read(lambda: self._imohashes(hashes))

    def _summary(self, row: tuple) -> dict[str, Any]:
        pk, image_id, imohash, width, height, size, ingested_at, fmt, near_of, name, faces, ocr = row
        detections = [
            {"label": label, "classId": class_id, "score": score, "box": [x1, y1, x2, y2]}
            for label, class_id, score, x1, y1, x2, y2 in self.db.execute(
                "SELECT label, class_id, score, x1, y1, x2, y2 FROM detections WHERE image_pk = ? ORDER BY ord",
                (pk,))
        ]
        return {"id": image_id, "imohash": imohash, "name": name, "width": width, "height": height,
                "format": fmt, "bytes": size, "ingestedAt": ingested_at, "detections": detections,
                "faces": json.loads(faces), "ocr": json.loads(ocr), "nearDuplicateOf": near_of}

    def get_image(self, image_id: str, with_embedding: bool = False) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            row = self.db.execute(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE id = ?", (image_id,)).fetchone()
            if row is None:
                return None
            image = self._summary(row)
            if with_embedding:
                blob = self.db.execute("SELECT embedding FROM vec_global WHERE pk = ?", (row[0],)).fetchone()
                image["embedding"] = np.frombuffer(blob[0], dtype="<f4").tolist()
            return image
        return self._read(read)

    def embedding_of(self, image_id: str) -> np.ndarray | None:
        def read() -> np.ndarray | None:
            row = self.db.execute(
                "SELECT v.embedding FROM images i JOIN vec_global v ON v.pk = i.pk WHERE i.id = ?",
                (image_id,)).fetchone()
            return None if row is None else np.frombuffer(row[0], dtype="<f4").copy()
        return self._read(read)

    def _knn(self, index: str, vector: np.ndarray, k: int, labels: list[str] | None) -> list[tuple[int, float]]:
        table = f"vec_{index}"
        blob = np.ascontiguousarray(vector, dtype="<f4").tobytes()
        if labels is None:
            sql, params = f"SELECT pk, distance FROM {table} WHERE embedding MATCH ? AND k = ?", (blob, k)
        elif index == "global":
            sql = ("SELECT pk, distance FROM vec_global WHERE embedding MATCH ? AND k = ? AND pk IN "
                   "(SELECT image_pk FROM detections WHERE label IN (SELECT value FROM json_each(?)))")
            params = (blob, k, json.dumps(labels))
        else:
            sql = (f"SELECT pk, distance FROM {table} WHERE embedding MATCH ? AND k = ? "
                   "AND label IN (SELECT value FROM json_each(?))")
            params = (blob, k, json.dumps(labels))
        return self.db.execute(sql, params).fetchall()

    def nearest(self, vector: np.ndarray, k: int, index: str = "global", labels: list[str] | None = None,
                exclude_ids: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The k nearest images (or boxes) by cosine: [{id, score, image[, box]}], best first."""
        if labels is not None and len(labels) == 0:
            return []
        exclude = set(exclude_ids)

        def read() -> list[dict[str, Any]]:
            hits = []
            for pk, distance in self._knn(index, vector, k + len(exclude), labels):
                score = 1 - distance
                if index == "global":
                    image = self._image_at(pk)
                    if image["id"] not in exclude:
                        hits.append({"id": image["id"], "score": score, "image": image})
                    continue
                box = self.db.execute(
                    "SELECT pk, id, image_pk, kind, label, score, x1, y1, x2, y2 FROM boxes WHERE pk = ?",
                    (pk,)).fetchone()
                if box is None or box[1] in exclude:
                    continue
                image = self._image_at(box[2])
                hits.append({"id": box[1], "score": score, "image": image, "box": {
                    "id": box[1], "imageId": image["id"], "kind": box[3], "label": box[4], "score": box[5],
                    "box": list(box[6:10])}})
            hits.sort(key=lambda h: (-h["score"], h["id"]))
            return hits[:k]
        return self._read(read)

    def _image_at(self, pk: int) -> dict[str, Any]:
        row = self.db.execute(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE pk = ?", (pk,)).fetchone()
        if row is None:
            raise IndexFileError(f"{self.path}: vector of image {pk} has no image row")
        return self._summary(row)

    # -- the commit ------------------------------------------------------------------------------------------

    def commit_batch(self, candidates: list[Candidate], threshold: float, ingested_at: str) -> CommitResult:
        """Duplicate decisions and the durable write of a batch, in one write transaction (module header)."""
        decisions = [Decision() for _ in candidates]
        counts = {"global": 0, "vehicles": 0, "people": 0, "faces": 0, "ocr": 0}
        if not candidates:
            return CommitResult(decisions, counts, 0, 0)
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            committed = self._imohashes(c.hash for c in candidates)
            written: list[Candidate] = []
            near_duplicates = late_duplicates = 0
            for cand, decision in zip(candidates, decisions):
                if cand.hash in committed:
                    decision.duplicate_of = committed[cand.hash]
                    late_duplicates += 1
                    continue
                hit = self._knn("global", cand.embedding, 1, None)
                if hit and 1 - hit[0][1] >= threshold:
                    decision.near_duplicate_of = db.execute(
                        "SELECT id FROM images WHERE pk = ?", (hit[0][0],)).fetchone()[0]
                else:
                    e = cand.embedding.astype(np.float64)
                    for earlier in written:
                        if float(np.dot(earlier.embedding.astype(np.float64), e)) >= threshold:
                            decision.near_duplicate_of = earlier.hash
                            break
                if decision.near_duplicate_of is not None:
                    near_duplicates += 1
                written.append(cand)
            for cand, decision in zip(candidates, decisions):
                if decision.duplicate_of is None:
                    self._write(cand, decision.near_duplicate_of, ingested_at, counts)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return CommitResult(decisions, counts, near_duplicates, late_duplicates)

    def _write(self, cand: Candidate, near_of: str | None, ingested_at: str, counts: dict[str, int]) -> None:
        # The id is the imohash, re-checked absent under this write lock: a plain insert (no upsert path).
        db = self.db
        pk = db.execute(
            "INSERT INTO images (id, imohash, width, height, bytes, face_count, ocr_count, ingested_at, format, "
            "near_duplicate_of, name, faces, ocr) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, '[]', '[]')",
            (cand.hash, cand.hash, cand.width, cand.height, cand.bytes, ingested_at, cand.format, near_of,
             cand.name)).lastrowid
        db.executemany(
            "INSERT INTO detections (image_pk, ord, label, class_id, score, x1, y1, x2, y2) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(pk, ord_, d.label, d.class_id, d.score, *d.box) for ord_, d in enumerate(cand.detections)])
        db.execute("INSERT INTO vec_global (pk, embedding) VALUES (?, ?)",
                   (pk, np.ascontiguousarray(cand.embedding, dtype="<f4").tobytes()))
        counts["global"] += 1
        for i, b in enumerate(cand.boxes):
            box_id = f"{cand.hash}:{'v' if b.kind == 'vehicles' else 'p'}{i}"
            box_pk = db.execute(
                "INSERT INTO boxes (id, image_pk, kind, label, score, x1, y1, x2, y2) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (box_id, pk, b.kind, b.label, b.score, *b.box)).lastrowid
            db.execute(f"INSERT INTO vec_{b.kind} (pk, embedding, label) VALUES (?, ?, ?)",
                       (box_pk, np.ascontiguousarray(b.embedding, dtype="<f4").tobytes(), b.label))
            counts[b.kind] += 1
