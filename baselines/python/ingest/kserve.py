"""A small async client of the KServe v2 (Open Inference Protocol) HTTP API with Triton's binary tensor data
extension: what the Python ingest baseline needs to run models in pitlane's `serve models` (or Triton).

A request is a JSON header followed by the raw little-endian bytes of each input (`binary_data_size` per input,
`Inference-Header-Content-Length` giving the header's length); outputs are asked for as binary
(`binary_data: true`) and come back the same way, so no number is ever written or parsed as JSON text. One
`httpx.AsyncClient` per process keeps a pool of keep-alive connections to the server. Encoding a request (a
multi-megabyte copy for a detector input) runs on the caller's executor, off the event loop.

Errors: a non-2xx answer raises KServeError carrying the server's error text; an unreachable server or a
timeout raises KServeError naming the URL.
"""
from __future__ import annotations

import asyncio
import json
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import numpy as np

INFERENCE_HEADER = "Inference-Header-Content-Length"

#: KServe v2 datatypes → little-endian NumPy dtypes.
DTYPES: dict[str, str] = {
    "BOOL": "|b1", "UINT8": "|u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "INT8": "|i1",
    "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8",
}


class KServeError(Exception):
    """The model server refused or failed a call (`status` is its HTTP status, 0 when it was not reached; over
    gRPC, the HTTP status of the same refusal, and `code` the gRPC status name)."""

    def __init__(self, message: str, status: int = 0, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class InferInput:
    name: str
    datatype: str
    data: np.ndarray


def encode_request(inputs: list[InferInput], outputs: list[str]) -> tuple[bytes, int]:
    """The body of an inference request (JSON header + binary tensors) and the header's length."""
    # Converted to the wire type (e.g. RGB bytes → INT32) and made contiguous in one pass; joined without
    # another copy (arrays are bytes-like).
    raws = [np.ascontiguousarray(t.data, dtype=DTYPES[t.datatype]) for t in inputs]
    header = json.dumps({
        "inputs": [{"name": t.name, "datatype": t.datatype, "shape": list(t.data.shape),
                    "parameters": {"binary_data_size": raw.nbytes}} for t, raw in zip(inputs, raws)],
        "outputs": [{"name": name, "parameters": {"binary_data": True}} for name in outputs],
    }, separators=(",", ":")).encode()
    return b"".join([header, *(memoryview(raw).cast("B") for raw in raws)]), len(header)


def decode_response(body: bytes, header_length: int | None) -> dict[str, np.ndarray]:
    """Output tensors by name from an inference response (binary or JSON)."""
    head = json.loads(body[:header_length] if header_length is not None else body)
    offset = header_length or 0
    view = memoryview(body)
    out: dict[str, np.ndarray] = {}
    for t in head.get("outputs", []):
        dtype = np.dtype(DTYPES[t["datatype"]])
        shape = [int(d) for d in t["shape"]]
        size = (t.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            if offset + size > len(body):
                raise ValueError(f"output '{t['name']}' claims {size} bytes past the end of the body")
            out[t["name"]] = np.frombuffer(view[offset:offset + size], dtype=dtype).reshape(shape)
            offset += size
        else:
            out[t["name"]] = np.asarray(t["data"], dtype=dtype).reshape(shape)
    return out


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return body["error"]
    except ValueError:
        pass
    return response.text[:500] or response.reason_phrase


class InferenceServer(Protocol):
    """What the pipeline needs of a model server: ModelServer (HTTP) and kserve_grpc_client.GrpcModelServer."""

    url: str

    async def close(self) -> None: ...

    async def metadata(self, model: str) -> dict[str, Any]: ...

    async def infer(self, model: str, inputs: list[InferInput], outputs: list[str],
                    executor: Executor | None = None) -> dict[str, np.ndarray]: ...


class ModelServer:
    """A KServe v2 server at `url`, through one pooled async HTTP client."""

    def __init__(self, url: str, connections: int = 16, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.AsyncClient(
            base_url=self.url,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            timeout=httpx.Timeout(timeout_s, connect=5.0),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def metadata(self, model: str) -> dict[str, Any]:
        """`GET /v2/models/{model}`."""
        path = f"/v2/models/{quote(model, safe='')}"
        try:
            response = await self.client.get(path)
        except httpx.HTTPError as err:
            raise KServeError(f"cannot reach the model server at {self.url} (GET {path}): {err!r}") from err
        if response.status_code != 200:
            raise KServeError(f"{self.url}: model '{model}': {response.status_code} {_error_text(response)}",
                              response.status_code)
        return response.json()

    async def infer(self, model: str, inputs: list[InferInput], outputs: list[str],
                    executor: Executor | None = None) -> dict[str, np.ndarray]:
        """`POST /v2/models/{model}/infer` with binary inputs and outputs; the outputs by name."""
        path = f"/v2/models/{quote(model, safe='')}/infer"
        loop = asyncio.get_running_loop()
        body, header_length = await loop.run_in_executor(executor, encode_request, inputs, outputs)
        headers = {"Content-Type": "application/octet-stream", INFERENCE_HEADER: str(header_length)}
        try:
            response = await self.client.post(path, content=body, headers=headers)
        except httpx.TimeoutException as err:
            raise KServeError(f"{self.url}: no answer to POST {path} in time ({err!r})") from err
        except httpx.HTTPError as err:
            raise KServeError(f"cannot reach the model server at {self.url} (POST {path}): {err!r}") from err
        if response.status_code != 200:
            raise KServeError(
                f"model server {response.status_code} for '{model}': {_error_text(response)}",
                response.status_code)
        length = response.headers.get(INFERENCE_HEADER)
        try:
            return decode_response(response.content, int(length) if length is not None else None)
        except (ValueError, KeyError, TypeError) as err:
            raise KServeError(f"{self.url} sent a malformed inference response for '{model}': {err}") from err
