"""Unit tests of the KServe v2 gRPC helpers that need no server (stdlib unittest; /usr/bin/python3):

    /usr/bin/python3 -m unittest discover -s baselines/python/kserve_grpc -p 'test_*.py'

Stub generation from proto/*.proto into a cache, and tensors through raw and typed contents and back, across a
protobuf serialisation as on the wire.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kserve_grpc.stubs import PROTO_DIR, PROTOS, StubsError, load, stubs_dir  # noqa: E402
from kserve_grpc.tensors import (CONTENTS_FIELD, DTYPES, decode_outputs, from_contents, from_raw,  # noqa: E402
                                 set_contents, to_raw)

pb, rpc = load()


def sample(datatype: str, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(len(datatype))
    n = int(np.prod(shape))
    if datatype == "BYTES":
        out = np.empty(n, dtype=object)
        out[:] = [bytes(rng.integers(0, 256, i % 5, dtype=np.uint8)) for i in range(n)]
        return out.reshape(shape)
    dtype = np.dtype(DTYPES[datatype])
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return (rng.standard_normal(shape) * 1e3).astype(dtype)


def wire(message: object) -> object:
    """The message after a trip through its serialised bytes."""
    return type(message).FromString(message.SerializeToString())  # type: ignore[attr-defined]


class StubsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.cache = Path(tempfile.mkdtemp(prefix="kserve-stubs-"))
        self.addCleanup(shutil.rmtree, self.cache, True)

    def test_generated_once_per_proto_content(self) -> None:
        first = stubs_dir(cache=self.cache)
        self.assertEqual(sorted(p.name for p in first.glob("*.py")),
                         ["grpc_service_pb2.py", "grpc_service_pb2_grpc.py", "model_config_pb2.py",
                          "model_config_pb2_grpc.py"])
        stamp = (first / "grpc_service_pb2.py").stat().st_mtime_ns
        self.assertEqual(stubs_dir(cache=self.cache), first)
        self.assertEqual((first / "grpc_service_pb2.py").stat().st_mtime_ns, stamp, "not generated again")
        # A changed .proto gets its own directory; no temporary directory is left behind.
        protos = self.cache / "protos"
        protos.mkdir()
        for name in PROTOS:
            shutil.copy(PROTO_DIR / name, protos / name)
        with open(protos / "model_config.proto", "a") as f:
            f.write("\n// changed\n")
        second = stubs_dir(protos, cache=self.cache)
        self.assertNotEqual(second, first)
        self.assertEqual(sorted(p.name for p in self.cache.iterdir()), sorted(["protos", first.name, second.name]))

    def test_processes_generating_at_once_agree(self) -> None:
        # As the ingest baseline's uvicorn workers do on a fresh machine: the first rename wins, the others use it.
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
                "from kserve_grpc.stubs import load, stubs_dir; load(cache=Path(sys.argv[2])); "
                "print(stubs_dir(cache=Path(sys.argv[2])))")
        procs = [subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).resolve().parents[1]),
                                   str(self.cache)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        results = [p.communicate(timeout=60) + (p.returncode,) for p in procs]
        self.assertEqual([r[2] for r in results], [0] * 4, [r[1] for r in results])
        self.assertEqual(len({r[0] for r in results}), 1, results)
        self.assertEqual([p.name for p in self.cache.iterdir()], [Path(results[0][0].strip()).name])

    def test_missing_and_broken_protos(self) -> None:
        with self.assertRaisesRegex(StubsError, r"grpc_service\.proto, model_config\.proto not found"):
            stubs_dir(self.cache, cache=self.cache)
        for name in PROTOS:
            shutil.copy(PROTO_DIR / name, self.cache / name)
        with open(self.cache / "grpc_service.proto", "a") as f:
            f.write("\nmessage Broken { string x = ; }\n")
        with self.assertRaisesRegex(StubsError, r"protoc failed .*grpc_service\.proto:\d+:\d+"):
            stubs_dir(self.cache, cache=self.cache / "cache")

    def test_the_service_has_the_protocol_rpcs(self) -> None:
        service = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
        self.assertEqual(service.full_name, "inference.GRPCInferenceService")
        for method in ("ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer",
                       "ModelStreamInfer", "ModelConfig", "ModelStatistics", "RepositoryIndex",
                       "RepositoryModelLoad", "RepositoryModelUnload"):
            self.assertIn(method, service.methods_by_name)
        self.assertTrue(hasattr(rpc, "GRPCInferenceServiceStub"))


class RawContentsTest(unittest.TestCase):
    def test_every_datatype_round_trips(self) -> None:
        for datatype in [*DTYPES, "BYTES"]:
            with self.subTest(datatype=datatype):
                value = sample(datatype, (2, 3))
                res = pb.ModelInferResponse()
                res.outputs.add(name="t", datatype=datatype, shape=[2, 3])
                res.raw_output_contents.append(to_raw(datatype, value))
                got = decode_outputs(wire(res))["t"]
                self.assertEqual(got.shape, (2, 3))
                np.testing.assert_array_equal(got, value)
                if datatype != "BYTES":
                    self.assertEqual(got.dtype, np.dtype(DTYPES[datatype]))

    def test_little_endian_layout(self) -> None:
        self.assertEqual(to_raw("FP32", np.array([1.0, -2.0])), bytes.fromhex("0000803f000000c0"))
        self.assertEqual(to_raw("INT64", [1, -1]), bytes.fromhex("0100000000000000ffffffffffffffff"))
        self.assertEqual(to_raw("UINT16", [[1, 258]]), bytes.fromhex("01000201"))
        self.assertEqual(to_raw("BOOL", [True, False]), b"\x01\x00")
        # BYTES: a 4-byte little-endian length before each element; str is sent as UTF-8.
        self.assertEqual(to_raw("BYTES", np.array([b"ab", "é", b""], dtype=object)),
                         b"\x02\0\0\0ab\x02\0\0\0\xc3\xa9\0\0\0\0")
        # A big-endian or non-contiguous array is converted, not sent as it is.
        big = np.arange(6, dtype=">i4").reshape(2, 3).T
        self.assertEqual(to_raw("INT32", big), np.ascontiguousarray(big, dtype="<i4").tobytes())

    def test_size_mismatches_name_the_tensor(self) -> None:
        with self.assertRaisesRegex(ValueError, r"'X': 12 bytes of raw contents; shape \[2, 2\] of FP32 needs 16"):
            from_raw("X", "FP32", [2, 2], b"\0" * 12)
        with self.assertRaisesRegex(ValueError, r"'S': BYTES element 1 claims 9 bytes, 1 are left"):
            from_raw("S", "BYTES", [2], b"\x01\0\0\0a\x09\0\0\0b")
        with self.assertRaisesRegex(ValueError, r"'S': BYTES element 1 has a truncated length prefix"):
            from_raw("S", "BYTES", [2], b"\x01\0\0\0a\x09\0")
        with self.assertRaisesRegex(ValueError, r"'S': 1 BYTES elements for shape \[3\] \(3\)"):
            from_raw("S", "BYTES", [3], b"\x01\0\0\0a")
        with self.assertRaisesRegex(ValueError, r"'Q': unknown datatype 'FP33'"):
            from_raw("Q", "FP33", [1], b"\0\0\0\0")
        with self.assertRaisesRegex(ValueError, r"unknown datatype 'FP33'"):
            to_raw("FP33", [1.0])
        res = pb.ModelInferResponse()
        res.outputs.add(name="a", datatype="FP32", shape=[1])
        res.outputs.add(name="b", datatype="FP32", shape=[1])
        res.raw_output_contents.append(b"\0\0\0\0")
        with self.assertRaisesRegex(ValueError, r"1 raw_output_contents for 2 outputs"):
            decode_outputs(res)


class TypedContentsTest(unittest.TestCase):
    def test_every_typed_datatype_round_trips(self) -> None:
        for datatype, field in CONTENTS_FIELD.items():
            with self.subTest(datatype=datatype):
                value = sample(datatype, (3, 2))
                req = pb.ModelInferRequest()
                t = req.inputs.add(name="t", datatype=datatype, shape=[3, 2])
                set_contents(t, datatype, value)
                self.assertEqual(len(getattr(t.contents, field)), 6)
                got = from_contents(wire(req).inputs[0])
                np.testing.assert_array_equal(got, value)

    def test_small_integers_travel_widened(self) -> None:
        req = pb.ModelInferRequest()
        t = req.inputs.add(name="t", datatype="INT8", shape=[3])
        set_contents(t, "INT8", [-128, 0, 127])
        self.assertEqual(list(wire(req).inputs[0].contents.int_contents), [-128, 0, 127])
        res = pb.ModelInferResponse()
        o = res.outputs.add(name="u", datatype="UINT16", shape=[2])
        o.contents.uint_contents.extend([0, 65535])
        self.assertEqual(decode_outputs(wire(res))["u"].tolist(), [0, 65535])

    def test_fp16_has_no_typed_field_and_counts_are_checked(self) -> None:
        t = pb.ModelInferRequest().inputs.add(name="h", datatype="FP16", shape=[1])
        with self.assertRaisesRegex(ValueError, r"FP16 has no typed contents field; send it as raw contents"):
            set_contents(t, "FP16", [1.0])
        with self.assertRaisesRegex(ValueError, r"'h': FP16 has no typed contents field"):
            from_contents(t)
        t = pb.ModelInferRequest().inputs.add(name="x", datatype="FP32", shape=[2, 2])
        t.contents.fp32_contents.extend([1, 2, 3])
        with self.assertRaisesRegex(ValueError, r"'x': 3 values in fp32_contents for shape \[2, 2\] \(4\)"):
            from_contents(t)


if __name__ == "__main__":
    unittest.main()
