"""Photo ingest, one request batch at a time, with pitlane's semantics (src/ingest/ingest-pipeline.ts):

    bytes → imohash → exact duplicate? (earlier in this batch, then the index) → decode once → letterbox content
    ∥ centre crop → detection ∥ embedding [∥ vehicle/people crop embeddings] → commit: exact duplicates again,
    near duplicates (the index, then earlier images of the batch) and one durable write, in one SQLite write
    transaction → answer

Images are analysed concurrently (asyncio.gather): decoding and tensor work run on a small thread pool (Pillow
and NumPy release the GIL), inference calls go out per image, so the model server's dynamic batcher batches
across the images of a request and across requests. Every image that fails gets an entry in `errors` naming it
and why; the rest of the batch goes on. The batch is acknowledged only after the index has committed it.

A copy within the batch (the same imohash as an earlier image of the batch) takes its first copy's outcome once
that is known: a duplicate of it when it was indexed (or of what it turned out to duplicate), the same failure
(same reason) when it failed. A failed image is never a duplicate's original (pitlane does the same).
"""
from __future__ import annotations

import asyncio
import math
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any, Awaitable, Callable, TypeVar

import numpy as np

from image_prep import REDUCING_GAP, RESAMPLE, ImageError, PreparedImage, prepare_image
from imohash import imohash_hex
from index import BoxDoc, Candidate, SqliteIndex
from vision import PEOPLE_LABELS, VEHICLE_LABELS, Detection, ImageEmbedder, SsdDetector

T = TypeVar("T")


class DbThread:
    """The worker process's one SQLite connection, used from one dedicated thread only.

    sqlite3 connections must not be used from two threads at once; a single-thread executor gives every call
    the same thread, keeps the blocking SQLite calls (and the commit's fsync) off the event loop, and
    serialises this process's reads and writes in arrival order. Across processes, SQLite's write lock
    (BEGIN IMMEDIATE) does the serialising.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self.index: SqliteIndex | None = None

    async def open(self, path: str, dimension: int, vec_extension: str) -> None:
        self.index = await self.run(SqliteIndex, path, dimension, vec_extension)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    def close(self) -> None:
        if self.index is not None:
            self._executor.submit(self.index.close).result()
        self._executor.shutdown(wait=True)


@dataclass
class Upload:
    """One image of a request: its bytes, or why it was refused while reading the upload (too large)."""

    index: int
    name: str
    data: bytes | None
    reason: str = ""
    message: str = ""


def _ms_since(t0: float) -> float:
    """Milliseconds with one decimal, rounded as pitlane does (Math.round(x * 10) / 10)."""
    return math.floor((time.perf_counter() - t0) * 10000 + 0.5) / 10


def _iso_now() -> str:
    """Date.prototype.toISOString(): UTC, milliseconds, 'Z' (so text order is time order)."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _outcome(index: int, name: str, status: str, image_id: str | None = None, duplicate_of: str | None = None,
             near_of: str | None = None, detections: list[Detection] | None = None) -> dict[str, Any]:
    return {"index": index, "name": name, "id": image_id, "status": status, "duplicate_of": duplicate_of,
            "near_duplicate_of": near_of, "detections": [d.to_json() for d in detections or []],
            "faces": 0, "ocr": 0}


def crop_for_embedder(image: PreparedImage, box: tuple[float, float, float, float], size: int) -> np.ndarray:
    """A detection's region of the decoded picture, squashed to size x size (pitlane's cropForEmbedder)."""
    decoded = image.decoded
    assert decoded is not None
    sx = image.decoded_width / image.width
    sy = image.decoded_height / image.height
    left = max(0, min(decoded.width - 1, math.floor(box[0] * sx)))
    top = max(0, min(decoded.height - 1, math.floor(box[1] * sy)))
    width = max(1, min(decoded.width - left, math.ceil((box[2] - box[0]) * sx)))
    height = max(1, min(decoded.height - top, math.ceil((box[3] - box[1]) * sy)))
    region = decoded.crop((left, top, left + width, top + height))
    return np.asarray(region.resize((size, size), RESAMPLE, reducing_gap=REDUCING_GAP))


class IngestPipeline:
    def __init__(self, detector: SsdDetector, embedder: ImageEmbedder, db: DbThread, executor: Executor, *,
                 near_duplicate_threshold: float, max_pixels: float) -> None:
        self.detector = detector
        self.embedder = embedder
        self.db = db
        self.executor = executor
        self.threshold = near_duplicate_threshold
        self.max_pixels = max_pixels

    def _cpu(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Awaitable[T]:
        return asyncio.get_running_loop().run_in_executor(self.executor, partial(fn, *args, **kwargs))

    async def ingest(self, uploads: list[Upload], box_embeddings: bool) -> tuple[dict[str, Any], list[dict]]:
        """Ingests one batch; never raises for a bad image (raises when the index cannot commit)."""
        t0 = time.perf_counter()
        failures: list[dict[str, Any]] = []
        outcomes: list[dict[str, Any] | None] = [None] * len(uploads)

        def fail(u: Upload, reason: str, message: str) -> None:
            failures.append({"index": u.index, "name": u.name, "reason": reason, "message": message})
            outcomes[u.index] = _outcome(u.index, u.name, "error")

        for u in uploads:
            if u.data is None:
                fail(u, u.reason, u.message)
        present = [u for u in uploads if u.data is not None]

        # 1. imohash of every image (CPU: off the event loop).
        hashes = await self._cpu(lambda: [imohash_hex(u.data) for u in present])  # type: ignore[arg-type]

        # 2. Exact duplicates: in the index, then earlier in this batch. A copy of an earlier image of the batch
        # waits for that image's outcome (step 5): the first copy may still fail.
        index = self.db.index
        assert index is not None
        known = await self.db.run(index.find_imohashes, sorted(set(hashes)))
        first_in_batch: dict[str, Upload] = {}
        copies: list[tuple[Upload, Upload]] = []
        fresh: list[tuple[Upload, str]] = []
        for u, h in zip(present, hashes):
            dup_of = known.get(h)
            if dup_of is not None:
                outcomes[u.index] = _outcome(u.index, u.name, "duplicate", duplicate_of=dup_of)
                continue
            first = first_in_batch.get(h)
            if first is not None:
                copies.append((u, first))
                continue
            first_in_batch[h] = u
            fresh.append((u, h))

        # 3. Decode, detect, embed, image by image, concurrently.
        ingested_at = _iso_now()
        analysed = await asyncio.gather(*(self._analyse(u, h, box_embeddings, fail) for u, h in fresh))
        ready = [(u, c) for (u, _), c in zip(fresh, analysed) if c is not None]

        # 4. Final duplicate decisions and one durable write, under the index's write lock.
        result = await self.db.run(index.commit_batch, [c for _, c in ready], self.threshold, ingested_at)
        for (u, c), d in zip(ready, result.decisions):
            if d.duplicate_of is not None:
                outcomes[u.index] = _outcome(u.index, u.name, "duplicate", duplicate_of=d.duplicate_of)
            else:
                outcomes[u.index] = _outcome(u.index, u.name, "indexed", image_id=c.hash,
                                             near_of=d.near_duplicate_of, detections=c.detections)

        # 5. Copies within the batch take their first copy's outcome; never a duplicate of a missing image.
        failure_at = {f["index"]: f for f in failures}
        for u, first in copies:
            o = outcomes[first.index]
            original = (o["id"] if o is not None and o["status"] == "indexed"
                        else o["duplicate_of"] if o is not None and o["status"] == "duplicate" else None)
            if original is not None:
                outcomes[u.index] = _outcome(u.index, u.name, "duplicate", duplicate_of=original)
                continue
            failed = failure_at.get(first.index)
            fail(u, failed["reason"] if failed else "inference",
                 f"{u.name}: the same image (imohash) as {first.name} (image {first.index} of this batch), which "
                 f"failed: {failed['message'] if failed else 'no outcome'}")
        duplicates = sum(1 for o in outcomes if o is not None and o["status"] == "duplicate")
        failures.sort(key=lambda f: f["index"])
        response = {
            "status": "success",
            "total": len(uploads),
            "processed": len(uploads) - len(failures),
            "duplicates": duplicates,
            "errors_count": len(failures),
            "indexed": result.indexed,
            "near_duplicates": result.near_duplicates,
            "total_time_ms": _ms_since(t0),
            "errors": failures,
        }
        return response, [o for o in outcomes if o is not None]

    async def _analyse(self, u: Upload, image_hash: str, box_embeddings: bool,
                       fail: Callable[[Upload, str, str], None]) -> Candidate | None:
        assert u.data is not None
        try:
            prepared = await self._cpu(prepare_image, u.data, u.name, max_pixels=self.max_pixels,
                                       keep_decoded=box_embeddings)
        except ImageError as err:
            fail(u, err.reason, str(err))
            return None
        try:
            detections, embedding = await asyncio.gather(self.detector.detect(prepared),
                                                         self.embedder.embed(prepared.crop))
            boxes = await self._box_embeddings(prepared, detections) if box_embeddings else []
        except Exception as err:  # the model server failed this image (pitlane: reason 'inference')
            fail(u, "inference", str(err))
            return None
        return Candidate(hash=image_hash, name=u.name, width=prepared.width, height=prepared.height,
                         format=prepared.format, bytes=len(u.data), detections=detections,
                         embedding=embedding, boxes=boxes)

    async def _box_embeddings(self, prepared: PreparedImage, detections: list[Detection]) -> list[BoxDoc]:
        wanted = [d for d in detections if d.label in VEHICLE_LABELS or d.label in PEOPLE_LABELS]
        size = prepared.crop.shape[0]

        async def embed(d: Detection) -> np.ndarray:
            return await self.embedder.embed(await self._cpu(crop_for_embedder, prepared, d.box, size))

        vectors = await asyncio.gather(*(embed(d) for d in wanted))
        return [BoxDoc("vehicles" if d.label in VEHICLE_LABELS else "people", d.label, d.score, d.box, v)
                for d, v in zip(wanted, vectors)]

    async def embed_query(self, data: bytes, name: str) -> np.ndarray:
        """The embedding of an uploaded search image (not indexed); ImageError for a bad image."""
        prepared = await self._cpu(prepare_image, data, name, max_pixels=self.max_pixels)
        return await self.embedder.embed(prepared.crop)

