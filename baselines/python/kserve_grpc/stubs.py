"""The KServe v2 / Triton gRPC stubs, generated from the repository's proto/*.proto the way a Python team does it:
`protoc --python_out --grpc_out` with Debian's `grpc_python_plugin` (packages protobuf-compiler and
protobuf-compiler-grpc; scripts/setup-test-deps.sh installs them). Generated code is never committed.

The stubs go to a cache directory outside the repository, named by a hash of the .proto files and of protoc's
version: they are generated once, and again whenever a .proto changes. Several processes may start at once (the
ingest baseline's uvicorn workers): each generates into its own temporary directory and renames it into place, and
the first rename wins.

    from kserve_grpc.stubs import load
    pb, rpc = load()          # grpc_service_pb2, grpc_service_pb2_grpc
    stub = rpc.GRPCInferenceServiceStub(channel)

Environment: PITLANE_PROTO_DIR (default: the repository's proto/), PITLANE_GRPC_STUBS_CACHE (default:
$XDG_CACHE_HOME/pitlane/kserve-grpc-stubs, else ~/.cache/..., else the temporary directory).
"""
from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[3]
PROTO_DIR = REPO / "proto"
#: The files of the service, the one with the service first (it imports the other).
PROTOS = ("grpc_service.proto", "model_config.proto")
PROTOC = "protoc"
PLUGIN = "/usr/bin/grpc_python_plugin"
INSTALL_HINT = "sudo apt-get install -y protobuf-compiler protobuf-compiler-grpc (scripts/setup-test-deps.sh)"


class StubsError(Exception):
    """The stubs cannot be generated (a tool or a .proto is missing, or protoc refused the files)."""


def _cache_root() -> Path:
    if os.environ.get("PITLANE_GRPC_STUBS_CACHE"):
        return Path(os.environ["PITLANE_GRPC_STUBS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "pitlane" / "kserve-grpc-stubs"


def _protoc_version(protoc: str) -> str:
    try:
        r = subprocess.run([protoc, "--version"], capture_output=True, text=True, check=False)
    except OSError as err:
        raise StubsError(f"cannot run {protoc} ({err}); {INSTALL_HINT}") from err
    return r.stdout.strip()


def stubs_dir(proto_dir: Path | None = None, cache: Path | None = None) -> Path:
    """The directory holding grpc_service_pb2.py, grpc_service_pb2_grpc.py and model_config_pb2.py, generated
    now if the cache has no copy for these .proto files."""
    proto_dir = Path(proto_dir or os.environ.get("PITLANE_PROTO_DIR") or PROTO_DIR)
    missing = [name for name in PROTOS if not (proto_dir / name).is_file()]
    if missing:
        raise StubsError(f"{', '.join(missing)} not found in {proto_dir}")
    if not Path(PLUGIN).is_file():
        raise StubsError(f"{PLUGIN} is missing; {INSTALL_HINT}")
    digest = hashlib.sha256(_protoc_version(PROTOC).encode())
    for name in PROTOS:
        digest.update(name.encode() + b"\0" + (proto_dir / name).read_bytes())
    root = cache or _cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        root = Path(tempfile.gettempdir()) / "pitlane-kserve-grpc-stubs"
        root.mkdir(parents=True, exist_ok=True)
    target = root / digest.hexdigest()[:20]
    if (target / "grpc_service_pb2_grpc.py").is_file():
        return target
    work = Path(tempfile.mkdtemp(prefix=".gen-", dir=root))
    try:
        r = subprocess.run(
            [PROTOC, f"-I{proto_dir}", f"--python_out={work}", f"--grpc_out={work}",
             f"--plugin=protoc-gen-grpc={PLUGIN}", *PROTOS],
            capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise StubsError(f"protoc failed on {proto_dir}/{{{','.join(PROTOS)}}}: {r.stderr.strip()}")
        try:
            work.rename(target)
        except OSError:
            if not (target / "grpc_service_pb2_grpc.py").is_file():  # not a concurrent winner: a real failure
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def load(proto_dir: Path | None = None, cache: Path | None = None) -> tuple[ModuleType, ModuleType]:
    """(grpc_service_pb2, grpc_service_pb2_grpc), imported from the generated stubs."""
    where = str(stubs_dir(proto_dir, cache))
    if where not in sys.path:
        # The generated modules import each other by top-level name (`import model_config_pb2`).
        sys.path.insert(0, where)
    return importlib.import_module("grpc_service_pb2"), importlib.import_module("grpc_service_pb2_grpc")


if __name__ == "__main__":
    print(stubs_dir())
