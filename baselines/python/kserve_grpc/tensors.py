"""NumPy arrays to and from the tensors of KServe v2 gRPC (ModelInferRequest / ModelInferResponse).

Two encodings carry a tensor's elements, as the protocol defines them:

- raw contents (`raw_input_contents[i]` / `raw_output_contents[i]`, one entry per tensor, in the order of
  `inputs` / `outputs`): the elements' little-endian bytes, row-major; a BYTES tensor is each element as a 4-byte
  little-endian length followed by its bytes;
- typed contents (`InferTensorContents`): a repeated field chosen by the datatype (`fp32_contents`,
  `int64_contents`, ...); the 8- and 16-bit integers travel widened in `int_contents` / `uint_contents`, and FP16
  has no typed field (raw only).

Errors: ValueError naming the tensor and what is wrong (size against shape, unknown datatype, a truncated BYTES
element). No protobuf import here: the functions work on the generated messages they are given.
"""
from __future__ import annotations

import struct
from typing import Any, Sequence

import numpy as np

#: KServe v2 datatypes → little-endian NumPy dtypes (BYTES is an object array of `bytes`).
DTYPES: dict[str, str] = {
    "BOOL": "|b1", "UINT8": "|u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "INT8": "|i1",
    "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8",
}

#: Datatype → the InferTensorContents field that carries it (FP16 has none).
CONTENTS_FIELD: dict[str, str] = {
    "BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents",
    "INT64": "int64_contents", "UINT8": "uint_contents", "UINT16": "uint_contents", "UINT32": "uint_contents",
    "UINT64": "uint64_contents", "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}


def _count(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def to_raw(datatype: str, array: Any) -> bytes:
    """The raw contents of a tensor: little-endian elements, or length-prefixed elements for BYTES."""
    if datatype == "BYTES":
        parts = []
        for item in np.asarray(array, dtype=object).reshape(-1):
            value = item.encode() if isinstance(item, str) else bytes(item)
            parts += [struct.pack("<I", len(value)), value]
        return b"".join(parts)
    if datatype not in DTYPES:
        raise ValueError(f"unknown datatype '{datatype}' (known: {', '.join([*DTYPES, 'BYTES'])})")
    return np.ascontiguousarray(array, dtype=DTYPES[datatype]).tobytes()


def from_raw(name: str, datatype: str, shape: Sequence[int], raw: bytes) -> np.ndarray:
    """The array of raw contents; ValueError when their size does not fit the shape."""
    count = _count(shape)
    if datatype == "BYTES":
        items: list[bytes] = []
        offset = 0
        view = memoryview(raw)
        while offset < len(raw):
            if offset + 4 > len(raw):
                raise ValueError(f"tensor '{name}': BYTES element {len(items)} has a truncated length prefix")
            (size,) = struct.unpack_from("<I", raw, offset)
            offset += 4
            if offset + size > len(raw):
                raise ValueError(f"tensor '{name}': BYTES element {len(items)} claims {size} bytes, "
                                 f"{len(raw) - offset} are left")
            items.append(bytes(view[offset:offset + size]))
            offset += size
        if len(items) != count:
            raise ValueError(f"tensor '{name}': {len(items)} BYTES elements for shape {list(shape)} ({count})")
        out = np.empty(count, dtype=object)
        out[:] = items
        return out.reshape([int(d) for d in shape])
    if datatype not in DTYPES:
        raise ValueError(f"tensor '{name}': unknown datatype '{datatype}'")
    dtype = np.dtype(DTYPES[datatype])
    if len(raw) != count * dtype.itemsize:
        raise ValueError(f"tensor '{name}': {len(raw)} bytes of raw contents; shape {list(shape)} of {datatype} "
                         f"needs {count * dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype).reshape([int(d) for d in shape])


def set_contents(tensor: Any, datatype: str, array: Any) -> None:
    """Fills `tensor.contents` (an InferTensorContents) with the elements of `array`, in the typed field."""
    field = CONTENTS_FIELD.get(datatype)
    if field is None:
        raise ValueError(f"{datatype} has no typed contents field; send it as raw contents")
    values = np.asarray(array, dtype=object if datatype == "BYTES" else DTYPES[datatype]).reshape(-1)
    getattr(tensor.contents, field).extend(
        [v.encode() if isinstance(v, str) else bytes(v) for v in values] if datatype == "BYTES" else values.tolist())


def from_contents(tensor: Any) -> np.ndarray:
    """The array of a tensor's typed contents (`name`, `datatype`, `shape`, `contents`)."""
    field = CONTENTS_FIELD.get(tensor.datatype)
    if field is None:
        raise ValueError(f"tensor '{tensor.name}': {tensor.datatype} has no typed contents field")
    values = list(getattr(tensor.contents, field))
    count = _count(tensor.shape)
    if len(values) != count:
        raise ValueError(f"tensor '{tensor.name}': {len(values)} values in {field} for shape {list(tensor.shape)} "
                         f"({count})")
    if tensor.datatype == "BYTES":
        out = np.empty(count, dtype=object)
        out[:] = values
        return out.reshape(list(tensor.shape))
    return np.asarray(values, dtype=DTYPES[tensor.datatype]).reshape(list(tensor.shape))


def decode_outputs(response: Any) -> dict[str, np.ndarray]:
    """Output arrays by name from a ModelInferResponse: from `raw_output_contents` when the server sent them (one
    per output, in order), else from each output's typed contents."""
    raws = list(response.raw_output_contents)
    if raws and len(raws) != len(response.outputs):
        raise ValueError(f"{len(raws)} raw_output_contents for {len(response.outputs)} outputs")
    out: dict[str, np.ndarray] = {}
    for i, t in enumerate(response.outputs):
        out[t.name] = from_raw(t.name, t.datatype, t.shape, raws[i]) if raws else from_contents(t)
    return out
