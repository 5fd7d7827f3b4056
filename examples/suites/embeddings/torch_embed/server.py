"""The HTTP side: FastAPI + uvicorn (one worker process), OpenAI's POST /v1/embeddings and GET /health.

Start-up order: the socket is bound and served first, so that /health answers 503 while torch is imported and
the model loaded on the inference thread; then the thread settings are applied, the BLAS torch calls is found
(and checked against --expect-blas: exit 1 naming what was found), the model runs once, and /health turns 200.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

MODEL_ID = "minilm-l6-arch"
MAX_INPUTS = 2048  # OpenAI's limit on the number of inputs of one request


class BadRequest(ValueError):
    """A request the server refuses (400), with the body field at fault."""

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


def openai_error(status: int, message: str, param: str | None, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": None}}, status_code=status)


def parse_request(body: Any) -> tuple[list[str], str, str]:
    """The texts, model name and encoding format of an OpenAI embeddings request, or BadRequest naming the field."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", None)
    if "input" not in body:
        raise BadRequest("'input' is required: a string or an array of strings", "input")
    raw = body["input"]
    if isinstance(raw, str):
        texts = [raw]
    elif isinstance(raw, list):
        if not raw:
            raise BadRequest("'input' is an empty array; give at least one string", "input")
        if len(raw) > MAX_INPUTS:
            raise BadRequest(f"'input' has {len(raw)} items; at most {MAX_INPUTS} are allowed", "input")
        for i, item in enumerate(raw):
            if not isinstance(item, str):
                kind = type(item).__name__
                raise BadRequest(f"input[{i}] is {kind}, not a string (token ids are not accepted)", f"input[{i}]")
        texts = raw
    else:
        raise BadRequest(f"'input' is {type(raw).__name__}; it must be a string or an array of strings", "input")
    model = body.get("model", MODEL_ID)
    if not isinstance(model, str):
        raise BadRequest("'model' must be a string", "model")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise BadRequest(f"'encoding_format' is {encoding!r}; it must be 'float' or 'base64'", "encoding_format")
    return texts, model, encoding


def parse_args(argv: list[str]) -> argparse.Namespace:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(
        prog="torch-server.py",
        description="OpenAI-shaped /v1/embeddings served by Debian's PyTorch (FastAPI + uvicorn, dynamic batching). "
        "Prints 'listening on http://127.0.0.1:PORT' once the port is bound; GET /health is 503 until the model is "
        "loaded, then 200 with torch's version, the BLAS library and the threads.",
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="TCP port on 127.0.0.1; 0 picks a free one (default 8080)"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=here.parents[3] / "models" / MODEL_ID,
        help="folder with model.onnx (BERT encoder; weights are read from its initializers) and tokenizer.json "
        "(default: the repository's models/minilm-l6-arch)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch intra-op threads (torch.set_num_threads, and OpenBLAS's); default 2. OpenMP threads wait "
        "passively (OMP_WAIT_POLICY=PASSIVE unless set): spinning, they starve OpenBLAS's threads",
    )
    parser.add_argument(
        "--max-batch",
        type=int,
        default=32,
        help="most texts the dynamic batcher runs through the model at once (default 32)",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        default=512,
        help="tokens per text, [CLS] and [SEP] included; longer texts are cut (default 512, as models.yaml)",
    )
    parser.add_argument(
        "--expect-blas",
        choices=["openblas", "mkl", "blis", "atlas", "reference", "any"],
        default="any",
        help="the BLAS torch must call (found at start from the library behind sgemm_); another one makes the server "
        "exit 1 naming it (default any)",
    )
    args = parser.parse_args(argv)
    for name in ("threads", "max_batch", "max_length"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def debian_package_version(package: str) -> str | None:
    """The installed version of a Debian package (torch.__version__ says 1.13.0a0 for Debian's 1.13.1), or None."""
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


class StartError(RuntimeError):
    """The server cannot serve as asked (wrong BLAS)."""


class Service:
    """The loaded state behind the routes: None until the model is ready."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="torch-inference")
        self.engine: Any = None
        self.batcher: Any = None
        self.health: dict[str, Any] | None = None
        self.exit_code = 0
        self.server: uvicorn.Server | None = None

    def load(self) -> dict[str, Any]:
        """Runs on the inference thread: import torch, apply the threads, check the BLAS, load and warm the model."""
        import torch

        from .blas import find_blas
        from .engine import Engine

        torch.set_num_threads(self.args.threads)
        torch.set_num_interop_threads(1)
        blas = find_blas()
        if self.args.expect_blas not in ("any", blas.kind):
            raise StartError(
                f"torch calls the {blas.kind} BLAS ({blas.path or 'no sgemm_ found'}), not {self.args.expect_blas} "
                f"as --expect-blas asks; BLAS-like libraries mapped: {', '.join(blas.mapped) or 'none'}. "
                "On Debian: apt-get install libopenblas0-pthread, then check "
                "update-alternatives --display libblas.so.3-x86_64-linux-gnu"
            )
        engine = Engine(self.args.model_dir, self.args.max_length)
        engine.embed(["warm up the model once"])
        self.engine = engine
        shape = engine.model.shape
        return {
            "status": "ok",
            "model": MODEL_ID,
            "torch": torch.__version__,
            "debian_package": {"python3-torch": debian_package_version("python3-torch")},
            "blas": {"kind": blas.kind, "library": blas.path, "torch_built_with": blas.built_with},
            "threads": {
                "intra_op": torch.get_num_threads(),
                "inter_op": torch.get_num_interop_threads(),
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            },
            "max_batch": self.args.max_batch,
            "max_length": engine.max_length,
            "layers": shape.layers,
            "hidden": shape.hidden,
            "heads": shape.heads,
        }

    async def start(self) -> None:
        from .engine import DynamicBatcher

        loop = asyncio.get_running_loop()
        try:
            health = await loop.run_in_executor(self.executor, self.load)
        except Exception as err:  # a model or BLAS that cannot be used: say why and stop with exit 1
            message = str(err) if isinstance(err, (StartError, ValueError)) else f"{type(err).__name__}: {err}"
            print(f"torch-server: cannot start: {message}", file=sys.stderr, flush=True)
            self.exit_code = 1
            if self.server is not None:
                self.server.should_exit = True
            return
        batcher = DynamicBatcher(self.engine, self.executor, self.args.max_batch)
        batcher.start()
        self.batcher = batcher
        self.health = health
        blas = health["blas"]
        print(
            f"torch-server: ready: torch {health['torch']}, {blas['kind']} BLAS ({blas['library']}), "
            f"{health['threads']['intra_op']} threads",
            flush=True,
        )


def build_app(service: Service) -> FastAPI:
    app = FastAPI(title="torch embeddings server", docs_url=None, redoc_url=None, openapi_url=None)
    background: list[asyncio.Task[None]] = []

    @app.on_event("startup")
    async def begin_loading() -> None:
        background.append(asyncio.get_running_loop().create_task(service.start()))

    @app.get("/health")
    async def health() -> JSONResponse:
        if service.health is None:
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse(service.health)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> JSONResponse:
        if service.batcher is None:
            return openai_error(503, "the model is loading; retry when GET /health answers 200", None, "server_error")
        try:
            body = await request.json()
        except ValueError as err:
            return openai_error(400, f"the body is not JSON: {err}", None)
        try:
            texts, model, encoding = parse_request(body)
        except BadRequest as err:
            return openai_error(400, str(err), err.param)
        results = await service.batcher.embed(texts)
        tokens = sum(r.tokens for r in results)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": base64.b64encode(r.vector.astype("<f4").tobytes()).decode("ascii")
                if encoding == "base64"
                else r.vector.tolist(),
            }
            for i, r in enumerate(results)
        ]
        return JSONResponse(
            {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        )

    return app


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not (args.model_dir / "model.onnx").is_file() or not (args.model_dir / "tokenizer.json").is_file():
        print(f"torch-server: {args.model_dir} has no model.onnx and tokenizer.json (--model-dir)", file=sys.stderr)
        return 1
    # Read when the libraries load (with torch, on the inference thread): OpenBLAS's thread count, and how torch's
    # OpenMP threads wait between parallel regions. Debian's torch runs two thread pools, OpenMP's for its own
    # kernels and OpenBLAS's for sgemm; with libgomp's default (spin before sleeping) the idle pool's spinning
    # threads take the cores the other needs: on this 2-core machine a 35-token text cost ~10x the CPU time and
    # wall time it costs with PASSIVE. An OMP_WAIT_POLICY already set is kept.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", args.port))
    except OSError as err:
        print(f"torch-server: cannot listen on 127.0.0.1:{args.port}: {err}", file=sys.stderr)
        return 1
    sock.listen(1024)
    print(f"torch-server: listening on http://127.0.0.1:{sock.getsockname()[1]} (loading the model)", flush=True)
    service = Service(args)
    config = uvicorn.Config(build_app(service), log_level="warning", access_log=False, workers=1, timeout_keep_alive=65)
    server = uvicorn.Server(config)
    service.server = server
    server.run(sockets=[sock])
    return service.exit_code
