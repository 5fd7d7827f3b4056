#!/usr/bin/python3
"""The Python baseline photo-ingest service: the contestant pitlane's `pitlane serve ingest` is benchmarked
against. Same HTTP API and response schema (src/services/ingest/app.ts), same preprocessing, same model server
(KServe v2, binary tensors), same SQLite + sqlite-vec index; written the way a Python team would write it:
FastAPI on uvicorn (uvloop, httptools), Pillow and NumPy on a thread pool, httpx for the model server (or
grpcio, with `--inference grpc://host:port`, as the original services talked to Triton on 8001), one uvicorn
worker process per core.

    /usr/bin/python3 baselines/python/ingest/server.py --port 8080 --inference http://127.0.0.1:8000 \\
        --db /tmp/ingest.db [--workers 2]

The parent process checks everything it can before listening (flags, the sqlite-vec extension, the model
server and both models' metadata, the index file), binds the socket, prints one line to stderr and starts the
workers (uvicorn's multiprocess supervisor; with --workers 1 it serves in-process). Workers get their
configuration from the PYTHON_INGEST_CONFIG environment variable. Each worker answers /health with 503
"loading" until it has read the models' metadata. SIGTERM or SIGINT: the workers drain and stop, then the
parent.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

try:
    import httpx
    import numpy as np
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse
    from PIL import Image  # noqa: F401 - checked here so that a missing Pillow is reported like the rest
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.formparsers import MultiPartException
except ImportError as missing:
    sys.exit(f"python-ingest: error: {missing} (in {sys.executable}); run with Debian's /usr/bin/python3 after "
             "`sudo apt-get install -y python3-fastapi python3-uvicorn python3-multipart python3-httpx python3-pil "
             "python3-numpy python3-uvloop python3-httptools`")

from image_prep import ImageError  # noqa: E402
from index import INDEX_NAMES, MAX_K, IndexFileError, SqliteIndex  # noqa: E402
from kserve import InferenceServer, KServeError, ModelServer  # noqa: E402
from pipeline import DbThread, IngestPipeline, Upload  # noqa: E402
from vision import ImageEmbedder, SsdDetector, VisionModelError  # noqa: E402

SERVICE = "python-ingest"
VERSION = "0.1.0"
API_VERSION = "v1"
CONFIG_ENV = "PYTHON_INGEST_CONFIG"
DEFAULT_VEC_EXTENSION = HERE.parents[2] / "node_modules" / "sqlite-vec-linux-x64" / "vec0.so"
#: Images decoded at the same time per worker process (pitlane's decodeConcurrency is 4 too).
DECODE_THREADS = 4
#: Keep-alive connections per worker process to the model server (pitlane's KServe client keeps 16).
MODEL_SERVER_CONNECTIONS = 16


@dataclass
class Config:
    """The service's configuration, all fields present (parsed from the command line)."""

    host: str
    port: int
    inference: str
    db: str
    workers: int
    detector: str
    embedder: str
    near_duplicate_threshold: float
    max_batch: int
    max_file_mb: float
    max_megapixels: float
    vec_extension: str
    #: The embedder's dimension, read by the parent from the model server.
    dimension: int = 0


class UsageProblem(Exception):
    """A problem with the command line or the environment, reported before listening (exit 1)."""


# ---------------------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str]) -> Config:
    p = argparse.ArgumentParser(
        prog="server.py",
        description="Python baseline photo-ingest service (FastAPI + uvicorn + Pillow + NumPy + httpx + SQLite/"
                    "sqlite-vec), API-compatible with `pitlane serve ingest`.")
    p.add_argument("--port", type=int, required=True, help="TCP port to listen on (0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--inference", required=True,
                   help="the KServe v2 model server: its HTTP base URL, e.g. http://127.0.0.1:8000, or its gRPC "
                        "address, e.g. grpc://127.0.0.1:8001 (pitlane's `serve models --model coco-ssd --model "
                        "mobilenetv2-coco-embed`, whose --grpc-port is 8001 by default)")
    p.add_argument("--db", required=True, help="SQLite index file (created with pitlane's schema if missing)")
    p.add_argument("--workers", type=int, default=2,
                   help="uvicorn worker processes (default 2, one per core here); 1 serves in-process")
    p.add_argument("--detector", default="coco-ssd", help="detector model name on the server (an SSD graph)")
    p.add_argument("--embedder", default="mobilenetv2-coco-embed",
                   help="image-embedding model name on the server (RGB bytes in, [batch, d] out)")
    p.add_argument("--near-duplicate-threshold", type=float, default=0.98,
                   help="cosine similarity at or above which a new image is a near duplicate (default 0.98)")
    p.add_argument("--max-batch", type=int, default=256, help="most images per request; more: 413 (default 256)")
    p.add_argument("--max-file-mb", type=float, default=50,
                   help="largest uploaded file in MiB; larger: that image fails with reason too-large (default 50)")
    p.add_argument("--max-megapixels", type=float, default=50,
                   help="largest picture decoded, in megapixels, read from the header; larger: too-many-pixels "
                        "(decompression-bomb guard, default 50)")
    p.add_argument("--vec-extension", default=str(DEFAULT_VEC_EXTENSION),
                   help="sqlite-vec loadable extension (default: the repo's "
                        "node_modules/sqlite-vec-linux-x64/vec0.so)")
    a = p.parse_args(argv)
    problems = []
    if not 0 <= a.port <= 65535:
        problems.append(f"--port must be in 0..65535, got {a.port}")
    if a.workers < 1:
        problems.append(f"--workers must be at least 1, got {a.workers}")
    if not 0 < a.near_duplicate_threshold <= 1:
        problems.append(f"--near-duplicate-threshold must be in (0, 1], got {a.near_duplicate_threshold}")
    if a.max_batch < 1:
        problems.append(f"--max-batch must be at least 1, got {a.max_batch}")
    if not (a.max_file_mb > 0 and math.isfinite(a.max_file_mb)):
        problems.append(f"--max-file-mb must be a positive number, got {a.max_file_mb}")
    if not (a.max_megapixels > 0 and math.isfinite(a.max_megapixels)):
        problems.append(f"--max-megapixels must be a positive number, got {a.max_megapixels}")
    url = urlparse(a.inference)
    grpc_path = url.scheme == "grpc" and url.path not in ("", "/")
    if url.scheme not in ("http", "https", "grpc") or not url.netloc or grpc_path:
        problems.append(f"--inference must be an http(s) URL such as http://127.0.0.1:8000 or a gRPC address "
                        f"such as grpc://127.0.0.1:8001, got '{a.inference}'")
    if problems:
        p.error("; ".join(problems))
    return Config(host=a.host, port=a.port, inference=a.inference.rstrip("/"), db=str(Path(a.db).resolve()),
                  workers=a.workers, detector=a.detector, embedder=a.embedder,
                  near_duplicate_threshold=a.near_duplicate_threshold, max_batch=a.max_batch,
                  max_file_mb=a.max_file_mb, max_megapixels=a.max_megapixels,
                  vec_extension=str(Path(a.vec_extension).resolve()))


START_MODELS_HINT = ("start it first, e.g. `node bin/pitlane.js serve models --model coco-ssd --model "
                     "mobilenetv2-coco-embed --port 8000`")


def _http_metadata(cfg: Config) -> dict[str, dict[str, Any]]:
    """Both models' metadata by flag, over HTTP; UsageProblem when a model is not served or not ready."""
    metas = {}
    with httpx.Client(base_url=cfg.inference, timeout=10.0) as client:
        for flag, model in (("--detector", cfg.detector), ("--embedder", cfg.embedder)):
            try:
                r = client.get(f"/v2/models/{model}")
                ready = client.get(f"/v2/models/{model}/ready") if r.status_code == 200 else None
            except httpx.HTTPError as err:
                raise UsageProblem(f"cannot reach the model server at {cfg.inference} ({err}); {START_MODELS_HINT}"
                                   ) from err
            if r.status_code != 200:
                raise UsageProblem(f"{flag} {model}: the model server at {cfg.inference} does not serve it "
                                   f"({r.status_code} {r.text.strip()[:200]})")
            if ready is None or ready.status_code != 200:
                raise UsageProblem(f"{flag} {model}: not ready on the model server at {cfg.inference}")
            metas[flag] = r.json()
    return metas


def _grpc_metadata(cfg: Config) -> dict[str, dict[str, Any]]:
    """Both models' metadata by flag, over gRPC (the same checks and messages as over HTTP)."""
    from kserve_grpc_client import model_metadata_sync

    metas = {}
    for flag, model in (("--detector", cfg.detector), ("--embedder", cfg.embedder)):
        try:
            meta, ready = model_metadata_sync(cfg.inference, model)
        except KServeError as err:
            if err.status == 0:
                raise UsageProblem(f"{err}; {START_MODELS_HINT} (its --grpc-port is 8001 by default)") from err
            raise UsageProblem(f"{flag} {model}: the model server at {cfg.inference} does not serve it "
                               f"({err})") from err
        if not ready:
            raise UsageProblem(f"{flag} {model}: not ready on the model server at {cfg.inference}")
        metas[flag] = meta
    return metas


def open_model_server(url: str) -> InferenceServer:
    """The client of the model server at `url`: gRPC for grpc://, else HTTP."""
    if url.startswith("grpc:"):
        from kserve_grpc_client import GrpcModelServer

        return GrpcModelServer(url)
    return ModelServer(url, connections=MODEL_SERVER_CONNECTIONS)


def preflight(cfg: Config) -> None:
    """Checks the extension, the model server, both models and the index file; sets cfg.dimension."""
    if not Path(cfg.vec_extension).is_file():
        raise UsageProblem(
            f"the sqlite-vec extension is not at {cfg.vec_extension}: run `npm ci` in the repository (it installs "
            "sqlite-vec-linux-x64) or pass --vec-extension PATH")
    metas = _grpc_metadata(cfg) if cfg.inference.startswith("grpc:") else _http_metadata(cfg)
    try:
        SsdDetector.check(metas["--detector"])
        cfg.dimension = ImageEmbedder.check(metas["--embedder"])
    except VisionModelError as err:
        raise UsageProblem(str(err)) from err
    Path(cfg.db).parent.mkdir(parents=True, exist_ok=True)
    try:
        SqliteIndex(cfg.db, cfg.dimension, cfg.vec_extension).close()
    except IndexFileError as err:
        raise UsageProblem(f"--db: {err}") from err


# ---------------------------------------------------------------------------------------------------------
# The app (one per worker process)


class HttpProblem(Exception):
    """An error answer: `{"status":"error","error":message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "error": message}, status_code=status)


class Metrics:
    """A few Prometheus counters of this worker process (each worker counts its own requests)."""

    def __init__(self) -> None:
        self.images = {"indexed": 0, "duplicate": 0, "error": 0}
        self.near_duplicates = 0
        self.requests: dict[tuple[str, int], int] = {}
        self.seconds: dict[str, list[float]] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests[(route, status)] = self.requests.get((route, status), 0) + 1
        total = self.seconds.setdefault(route, [0.0, 0])
        total[0] += seconds
        total[1] += 1

    def text(self) -> str:
        pid = os.getpid()
        lines = [
            "# HELP python_ingest_images_total Images received, by outcome (indexed, duplicate, error).",
            "# TYPE python_ingest_images_total counter",
            *(f'python_ingest_images_total{{outcome="{k}",pid="{pid}"}} {v}' for k, v in self.images.items()),
            "# HELP python_ingest_near_duplicates_total Images indexed as near duplicates of an indexed image.",
            "# TYPE python_ingest_near_duplicates_total counter",
            f'python_ingest_near_duplicates_total{{pid="{pid}"}} {self.near_duplicates}',
            "# HELP python_ingest_requests_total Requests answered, by route and status.",
            "# TYPE python_ingest_requests_total counter",
            *(f'python_ingest_requests_total{{route="{r}",status="{s}",pid="{pid}"}} {n}'
              for (r, s), n in sorted(self.requests.items())),
            "# HELP python_ingest_request_duration_seconds Time to answer, by route.",
            "# TYPE python_ingest_request_duration_seconds summary",
        ]
        for route, (total, count) in sorted(self.seconds.items()):
            lines.append(f'python_ingest_request_duration_seconds_sum{{route="{route}",pid="{pid}"}} {total:.6f}')
            lines.append(f'python_ingest_request_duration_seconds_count{{route="{route}",pid="{pid}"}} {count}')
        return "\n".join(lines) + "\n"


def _route_of(path: str) -> str:
    return "/images/{id}" if path.startswith("/images/") else path


class MetricsMiddleware:
    """Counts every answer by route and status, and its duration (a plain ASGI middleware)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [500]

        async def send_status(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe(_route_of(scope["path"]), status[0], time.perf_counter() - t0)


class Service:
    """What one worker process holds: the model server client, the index thread, the pipeline."""

    def __init__(self) -> None:
        self.config: Config | None = None
        self.models: InferenceServer | None = None
        self.db = DbThread()
        self.executor = ThreadPoolExecutor(max_workers=DECODE_THREADS, thread_name_prefix="prep")
        self.pipeline: IngestPipeline | None = None
        self.loading: asyncio.Task | None = None

    async def start(self, cfg: Config) -> None:
        self.config = cfg
        self.models = open_model_server(cfg.inference)
        await self.db.open(cfg.db, cfg.dimension, cfg.vec_extension)
        self.loading = asyncio.create_task(self._load_models(cfg))

    async def _load_models(self, cfg: Config) -> None:
        """Reads both models' metadata (retrying while the model server is away); then the service is ready."""
        assert self.models is not None
        while True:
            try:
                detector_meta, embedder_meta = await asyncio.gather(
                    self.models.metadata(cfg.detector), self.models.metadata(cfg.embedder))
                SsdDetector.check(detector_meta)
                dimension = ImageEmbedder.check(embedder_meta)
                if dimension != cfg.dimension:
                    raise VisionModelError(cfg.embedder, f"now gives {dimension}-d embeddings, the index holds "
                                                         f"{cfg.dimension}-d")
                break
            except Exception as err:  # noqa: BLE001 - any failure: stay "loading", say why, retry
                print(f"{SERVICE} [{os.getpid()}]: models not loaded yet: {err}", file=sys.stderr, flush=True)
                await asyncio.sleep(1.0)
        self.pipeline = IngestPipeline(
            SsdDetector(self.models, detector_meta, self.executor),
            ImageEmbedder(self.models, embedder_meta, self.executor),
            self.db, self.executor, near_duplicate_threshold=cfg.near_duplicate_threshold,
            max_pixels=cfg.max_megapixels * 1e6)

    async def stop(self) -> None:
        if self.loading is not None and not self.loading.done():
            self.loading.cancel()
        if self.models is not None:
            await self.models.close()
        await asyncio.get_running_loop().run_in_executor(None, self.db.close)
        self.executor.shutdown(wait=True)

    def ready(self) -> IngestPipeline:
        if self.pipeline is None:
            raise HttpProblem(503, "the service is loading its models; retry shortly (GET /health)")
        return self.pipeline


def _parse_bool(name: str, value: Any) -> bool:
    if value is None or value == "" or value is False:
        return False
    if value is True or value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise HttpProblem(400, f"{name} must be true or false, got {json.dumps(value)}")


def _is_true(request: Request, key: str) -> bool:
    return request.query_params.get(key) in ("true", "1")


def _mib(n: int) -> str:
    """Bytes as pitlane's request-limits formats them: "50 MiB", "1.5 MiB"."""
    v = n / 1048576
    return f"{int(v)} MiB" if v == int(v) else f"{v:.1f} MiB"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


async def _read_form(request: Request, max_files: int) -> Any:
    try:
        return await request.form(max_files=max_files, max_fields=32, max_part_size=64 * 1024)
    except (StarletteHTTPException, MultiPartException) as err:
        message = str(getattr(err, "detail", None) or getattr(err, "message", None) or err)
        if "Too many files" in message:
            raise HttpProblem(413, f"a batch holds at most {max_files} images (--max-batch)") from err
        raise HttpProblem(400, f"unreadable multipart body: {message}") from err


def create_app(config: Config | None = None) -> FastAPI:
    """The ingest app; configured at startup from `config`, or from PYTHON_INGEST_CONFIG (uvicorn workers)."""
    app = FastAPI(title=SERVICE, version=VERSION, docs_url=None, redoc_url=None, openapi_url=None)
    service = Service()
    metrics = Metrics()
    app.state.service = service
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.on_event("startup")
    async def startup() -> None:
        cfg = config if config is not None else Config(**json.loads(os.environ[CONFIG_ENV]))
        await service.start(cfg)

    @app.on_event("shutdown")
    async def shutdown() -> None:
        await service.stop()

    @app.exception_handler(HttpProblem)
    async def on_problem(_request: Request, err: HttpProblem) -> JSONResponse:
        return problem(err.status, str(err))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        if err.status_code == 404:
            return problem(404, f"no route {request.method} {request.url.path}")
        return problem(err.status_code, str(err.detail))

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, err: RequestValidationError) -> JSONResponse:
        return problem(400, str(err))

    @app.exception_handler(Exception)
    async def on_error(_request: Request, err: Exception) -> JSONResponse:
        return problem(500, f"internal error: {err}")

    @app.get("/health")
    async def health() -> JSONResponse:
        body = {"service": SERVICE, "version": VERSION, "api_version": API_VERSION}
        if service.pipeline is None:
            return JSONResponse({"status": "loading", **body}, status_code=503)
        return JSONResponse({"status": "ok", **body})

    @app.get("/metrics")
    async def get_metrics() -> PlainTextResponse:
        return PlainTextResponse(metrics.text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.post("/ingest/batch")
    async def ingest_batch(request: Request) -> JSONResponse:
        pipeline = service.ready()
        cfg = service.config
        assert cfg is not None
        fields: dict[str, Any] = dict(request.query_params)
        uploads: list[Upload] = []
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            form = await _read_form(request, cfg.max_batch)
            max_bytes = round(cfg.max_file_mb * 1024 * 1024)
            try:
                for key, value in form.multi_items():
                    if not isinstance(value, UploadFile):
                        fields[key] = value
                        continue
                    index = len(uploads)
                    name = value.filename or f"{key}[{index}]"
                    # Starlette has spooled the file (to disk past 1 MiB): its size is known before reading it.
                    if value.size is not None and value.size > max_bytes:
                        uploads.append(Upload(index, name, None, "too-large",
                                              f"{name}: the file of form field '{key}' is over the limit of "
                                              f"{_mib(max_bytes)} (--max-file-mb); this image was not read"))
                    else:
                        uploads.append(Upload(index, name, await value.read()))
            finally:
                await form.close()
        elif content_type.startswith("application/json"):
            raise HttpProblem(400, "server-side paths are not supported by the Python baseline; upload the "
                                   "images as multipart files")
        else:
            raise HttpProblem(400, "no images: send multipart files")
        enable_faces = _parse_bool("enable_faces", fields.get("enable_faces"))
        enable_ocr = _parse_bool("enable_ocr", fields.get("enable_ocr"))
        box_embeddings = _parse_bool("box_embeddings", fields.get("box_embeddings"))
        if not uploads:
            raise HttpProblem(400, "no images: send multipart files")
        if len(uploads) > cfg.max_batch:
            raise HttpProblem(413, f"{len(uploads)} images in one batch; the limit is {cfg.max_batch} "
                                   "(--max-batch)")
        if enable_faces:
            raise HttpProblem(400, "enable_faces: the Python baseline has no face model (faces are not "
                                   "implemented)")
        if enable_ocr:
            raise HttpProblem(400, "enable_ocr: the Python baseline has no OCR models (OCR is not implemented)")
        response, outcomes = await pipeline.ingest(uploads, box_embeddings)
        for o in outcomes:
            metrics.images[o["status"]] += 1
        metrics.near_duplicates += response["near_duplicates"]
        if _is_true(request, "details"):
            response["images"] = outcomes
        return JSONResponse(response)

    @app.post("/search")
    async def search(request: Request) -> JSONResponse:
        pipeline = service.ready()
        index = service.db.index
        assert index is not None
        t0 = time.perf_counter()
        fields: dict[str, Any] = dict(request.query_params)
        image: tuple[str, bytes] | None = None
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            form = await _read_form(request, service.config.max_batch if service.config else 1)
            try:
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        if image is None:  # the first image is the query; others are ignored
                            image = (value.filename or key, await value.read())
                    else:
                        fields[key] = value
            finally:
                await form.close()
        else:
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise HttpProblem(400, 'send a JSON object ({"vector": [...]} or {"id": "..."}) or a multipart '
                                       "image")
            fields.update(body)
        k_raw = fields.get("k", 10)
        try:
            k = float(k_raw) if isinstance(k_raw, str) and k_raw.strip() else k_raw
        except ValueError:
            k = None
        if not _is_number(k) or k != int(k) or not 1 <= k <= MAX_K:
            raise HttpProblem(400, f"k must be an integer in 1..{MAX_K}")
        k = int(k)
        which = fields.get("index", "global")
        if which not in INDEX_NAMES:
            raise HttpProblem(400, f"index must be one of {', '.join(INDEX_NAMES)}")
        labels = fields.get("labels")
        if labels is not None:
            if isinstance(labels, str):
                labels = [s.strip() for s in labels.split(",")]
            if not isinstance(labels, list) or not all(isinstance(s, str) for s in labels):
                raise HttpProblem(400, "labels must be a list of class names (or a comma-separated string)")
        vector = fields.get("vector")
        if vector is not None:
            if not isinstance(vector, list) or not vector or not all(_is_number(x) for x in vector):
                raise HttpProblem(400, "vector must be a non-empty list of finite numbers")
        image_id = fields.get("id")
        if image_id is not None and not isinstance(image_id, str):
            raise HttpProblem(400, "id must be a string")
        if vector is not None:
            if len(vector) != index.dimension:
                raise HttpProblem(400, f"vector has {len(vector)} numbers; this index holds "
                                       f"{index.dimension}-d embeddings")
            query = np.asarray(vector, dtype=np.float32)
        elif image_id is not None:
            query = await service.db.run(index.embedding_of, image_id)
            if query is None:
                raise HttpProblem(404, f"no indexed image has id '{image_id}'")
        elif image is not None:
            try:
                query = await pipeline.embed_query(image[1], image[0])
            except ImageError as err:
                raise HttpProblem(400, str(err)) from err
        else:
            raise HttpProblem(400, 'search by "vector", by indexed "id", or by uploading an image (multipart)')
        exclude = (image_id,) if vector is None and image_id is not None and which == "global" else ()
        hits = await service.db.run(index.nearest, query, k, which, labels, exclude)
        took = math.floor((time.perf_counter() - t0) * 10000 + 0.5) / 10
        return JSONResponse({"hits": hits, "took_ms": took})

    @app.get("/images/{image_id}")
    async def get_image(image_id: str, request: Request) -> JSONResponse:
        service.ready()
        index = service.db.index
        assert index is not None
        image = await service.db.run(index.get_image, image_id, _is_true(request, "embedding"))
        if image is None:
            raise HttpProblem(404, f"no indexed image has id '{image_id}'")
        return JSONResponse(image)

    return app


#: The app uvicorn's worker processes import ("server:app"); configured from PYTHON_INGEST_CONFIG at startup.
app = create_app()


# ---------------------------------------------------------------------------------------------------------
# Entry point


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    try:
        preflight(cfg)
    except UsageProblem as err:
        print(f"{SERVICE}: error: {err}", file=sys.stderr)
        return 1
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[CONFIG_ENV] = json.dumps(asdict(cfg))
    uv = uvicorn.Config(app if cfg.workers == 1 else "server:app", host=cfg.host, port=cfg.port,
                        workers=cfg.workers, loop="uvloop", http="httptools", lifespan="on",
                        access_log=False, log_level="warning", timeout_keep_alive=5)
    try:
        sock = uv.bind_socket()
    except (OSError, SystemExit) as err:
        print(f"{SERVICE}: error: cannot listen on {cfg.host}:{cfg.port} ({err})", file=sys.stderr)
        return 1
    # uvicorn binds here but listens only once a worker has started; listen now, so that connections made
    # from this line on wait in the backlog instead of being refused.
    sock.listen(uv.backlog)
    port = sock.getsockname()[1]
    print(f"{SERVICE}: listening on http://{cfg.host}:{port} (workers {cfg.workers}, inference {cfg.inference}, "
          f"db {cfg.db})", file=sys.stderr, flush=True)
    server = uvicorn.Server(uv)
    if cfg.workers == 1:
        server.run(sockets=[sock])
    else:
        Multiprocess(uv, target=server.run, sockets=[sock]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
