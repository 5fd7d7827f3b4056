"""The Python ingest baseline's model server client over KServe v2 gRPC (`--inference grpc://host:port`), as the
original services talked to Triton on port 8001: stubs generated from the repository's proto/ (through
baselines/python/kserve_grpc), Debian's grpcio with its asyncio API, tensors as raw contents
(`raw_input_contents` / `raw_output_contents`), so no number is written one by one into protobuf fields.

Same interface and error mapping as kserve.ModelServer (HTTP): `metadata(model)` returns the HTTP JSON shape,
`infer(...)` the output arrays by name, and every failure is a KServeError whose `status` is the HTTP status the
same refusal gets over HTTP (NOT_FOUND → 404, INVALID_ARGUMENT → 400, RESOURCE_EXHAUSTED → 429, UNAVAILABLE →
503, ...; 0 when the server was not reached or did not answer in time) and whose message carries the server's
text. One channel per process: HTTP/2 carries every concurrent call on one connection, so there is no pool.
Building a request (a multi-megabyte copy for a detector input) runs on the caller's executor, off the event loop.
"""
from __future__ import annotations

import asyncio
import sys
from concurrent.futures import Executor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import grpc
import grpc.aio
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kserve import InferInput, KServeError  # noqa: E402
from kserve_grpc.stubs import load  # noqa: E402
from kserve_grpc.tensors import decode_outputs, to_raw  # noqa: E402

pb, rpc = load()

#: Triton's port for gRPC, taken when the URL names none.
DEFAULT_PORT = 8001
#: gRPC status → the HTTP status the same refusal gets over HTTP (pitlane's serve models answers 404 where gRPC
#: says NOT_FOUND, 400 for INVALID_ARGUMENT, 429 for RESOURCE_EXHAUSTED, 503 for UNAVAILABLE; the rest as usual).
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 400, grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.UNIMPLEMENTED: 501, grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.UNAUTHENTICATED: 401, grpc.StatusCode.CANCELLED: 499,
}
#: Unlimited answers (a detector's outputs are a few MB); grpcio's default would refuse over 4 MiB.
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def grpc_target(url: str) -> str:
    """`host:port` of a `grpc://host[:port]` URL; ValueError naming the URL otherwise."""
    parsed = urlparse(url)
    if parsed.scheme != "grpc" or not parsed.hostname or parsed.path not in ("", "/"):
        raise ValueError(f"a gRPC model server is given as grpc://host:port, got '{url}'")
    host = f"[{parsed.hostname}]" if ":" in parsed.hostname else parsed.hostname
    return f"{host}:{parsed.port or DEFAULT_PORT}"


def metadata_dict(meta: Any) -> dict[str, Any]:
    """A ModelMetadataResponse in the shape of the HTTP answer (`GET /v2/models/{model}`)."""
    return {
        "name": meta.name, "versions": list(meta.versions), "platform": meta.platform,
        **{kind: [{"name": t.name, "datatype": t.datatype, "shape": [int(d) for d in t.shape]} for t in tensors]
           for kind, tensors in (("inputs", meta.inputs), ("outputs", meta.outputs))},
    }


def encode_request(model: str, inputs: list[InferInput], outputs: list[str]) -> Any:
    """A ModelInferRequest with every input as raw contents, asking for `outputs`."""
    req = pb.ModelInferRequest(model_name=model)
    for t in inputs:
        req.inputs.add(name=t.name, datatype=t.datatype, shape=list(t.data.shape))
        req.raw_input_contents.append(to_raw(t.datatype, t.data))
    for name in outputs:
        req.outputs.add(name=name)
    return req


def rpc_error(url: str, what: str, err: grpc.RpcError) -> KServeError:
    """The KServeError of a failed call: `what` says which call (e.g. "ModelInfer for 'coco-ssd'")."""
    code, details = err.code(), err.details() or ""
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return KServeError(f"{url}: no answer to {what} in time ({details})")
    if code == grpc.StatusCode.UNAVAILABLE and ("connect" in details.lower() or "refused" in details.lower()):
        return KServeError(f"cannot reach the model server at {url} ({what}): {details}")
    status = HTTP_STATUS.get(code, 500)
    return KServeError(f"model server {code.name} ({status}) for {what}: {details}", status, code.name)


class GrpcModelServer:
    """A KServe v2 server at `grpc://host:port`, through one asyncio gRPC channel."""

    def __init__(self, url: str, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.channel = grpc.aio.insecure_channel(grpc_target(self.url), options=CHANNEL_OPTIONS)
        self.stub = rpc.GRPCInferenceServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def metadata(self, model: str) -> dict[str, Any]:
        """ModelMetadata, in the HTTP JSON shape."""
        try:
            meta = await self.stub.ModelMetadata(pb.ModelMetadataRequest(name=model), timeout=self.timeout_s)
        except grpc.RpcError as err:
            raise rpc_error(self.url, f"ModelMetadata of '{model}'", err) from err
        return metadata_dict(meta)

    async def infer(self, model: str, inputs: list[InferInput], outputs: list[str],
                    executor: Executor | None = None) -> dict[str, np.ndarray]:
        """ModelInfer with raw inputs and outputs; the outputs by name."""
        loop = asyncio.get_running_loop()
        request = await loop.run_in_executor(executor, encode_request, model, inputs, outputs)
        try:
            response = await self.stub.ModelInfer(request, timeout=self.timeout_s)
        except grpc.RpcError as err:
            raise rpc_error(self.url, f"ModelInfer of '{model}'", err) from err
        try:
            return decode_outputs(response)
        except ValueError as err:
            raise KServeError(f"{self.url} sent a malformed inference response for '{model}': {err}") from err


def model_metadata_sync(url: str, model: str, timeout_s: float = 10.0) -> tuple[dict[str, Any], bool]:
    """(metadata in the HTTP shape, ready) of one model, on a short-lived blocking channel (the service's checks
    before it starts its workers); KServeError as GrpcModelServer raises them."""
    with grpc.insecure_channel(grpc_target(url), options=CHANNEL_OPTIONS) as channel:
        stub = rpc.GRPCInferenceServiceStub(channel)
        try:
            meta = stub.ModelMetadata(pb.ModelMetadataRequest(name=model), timeout=timeout_s)
            ready = stub.ModelReady(pb.ModelReadyRequest(name=model), timeout=timeout_s).ready
        except grpc.RpcError as err:
            raise rpc_error(url, f"ModelMetadata of '{model}'", err) from err
    return metadata_dict(meta), ready
