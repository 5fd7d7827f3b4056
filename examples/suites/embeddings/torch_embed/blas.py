"""Which BLAS torch actually calls, found at start, so that a run records it and can refuse the wrong one.

Debian's torch is built against the generic libblas.so.3 interface (BLAS_INFO=generic in torch.__config__.show()),
so the library behind it is whatever the dynamic linker finds: the alternatives system's choice
(update-alternatives --display libblas.so.3-x86_64-linux-gnu), or something earlier on LD_LIBRARY_PATH. The
reference BLAS (Debian's default when OpenBLAS is absent) runs MiniLM ~15x slower than OpenBLAS. After a warm-up
matmul, this resolves `sgemm_` the way libtorch_cpu does (dlsym on its handle) and names the file in
/proc/self/maps that holds that address.
"""

from __future__ import annotations

import ctypes
import os
import re
from dataclasses import dataclass

import torch

KINDS = ("openblas", "mkl", "blis", "atlas", "reference")


@dataclass(frozen=True)
class BlasInfo:
    """The BLAS torch calls: its kind (one of KINDS, or 'unknown') and the library file."""

    kind: str
    path: str
    #: Every BLAS-like library mapped into the process (evidence when something looks wrong).
    mapped: tuple[str, ...]
    #: What torch was built against, from torch.__config__.show() (BLAS_INFO=generic for Debian's: libblas.so.3).
    built_with: str


def _mappings() -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) < 6:
                continue
            low, high = (int(x, 16) for x in parts[0].split("-"))
            out.append((low, high, parts[5]))
    return out


def classify(path: str) -> str:
    """The kind of BLAS a library file is, from its (resolved) path."""
    name = os.path.realpath(path).lower()
    for kind in ("openblas", "mkl", "blis", "atlas"):
        if kind in name:
            return kind
    if "/blas/libblas" in name:  # Debian's libblas3 (netlib)
        return "reference"
    return "unknown"


def find_blas() -> BlasInfo:
    """Runs a matmul, then finds the library whose sgemm_ libtorch_cpu resolves to."""
    a = torch.randn(64, 64)
    torch.matmul(a, a).sum().item()
    maps = _mappings()
    mapped = tuple(
        sorted({p for _, _, p in maps if any(k in p.lower() for k in ("blas", "mkl", "blis", "atlas"))})
    )
    torch_cpu = next((p for _, _, p in maps if "libtorch_cpu" in p), None)
    path = ""
    if torch_cpu is not None:
        try:
            address = ctypes.cast(ctypes.CDLL(torch_cpu).sgemm_, ctypes.c_void_p).value or 0
            path = next((p for low, high, p in maps if low <= address < high), "")
        except AttributeError:  # no sgemm_ reachable from libtorch_cpu: torch was built with its own BLAS
            path = ""
    config = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    built_with = f"BLAS_INFO={config.group(1)}" if config else "BLAS_INFO not stated"
    if not path:
        return BlasInfo("unknown", "", mapped, built_with)
    return BlasInfo(classify(path), os.path.realpath(path), mapped, built_with)
