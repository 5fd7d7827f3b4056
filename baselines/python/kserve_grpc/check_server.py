"""A KServe v2 gRPC test client, written as a Python team would write one against Triton: stubs generated from the
published .proto (kserve_grpc/stubs.py), Debian's grpcio, NumPy for the numbers. It checks a running
`pitlane serve models --grpc-port` that serves the `affine` test model (Y = 2X + B, POSITIVE = X > 0,
Y_HALF = FP16(Y), IDS_NEXT = IDS + 1; written by pitlane's writeAffineModel) and answers HTTP too:

    PITLANE_GRPC_TARGET=127.0.0.1:8001 PITLANE_HTTP_URL=http://127.0.0.1:8000 PITLANE_MAX_BODY_MB=64 \\
        /usr/bin/python3 baselines/python/kserve_grpc/check_server.py -v

test/kserve-grpc-python.test.mjs starts the server and runs this. Health, metadata (equal to the HTTP answers),
inference with raw and typed contents (against NumPy, and against the HTTP answer for the same inputs), the
stream, statistics, configuration, the repository index, load/unload, and the errors with their status codes.
An RPC of Triton's extensions that the server answers UNIMPLEMENTED is skipped with a message saying so.
"""
from __future__ import annotations

import json
import os
import sys
import unittest
import urllib.error
import urllib.request
from functools import reduce
from pathlib import Path
from typing import Any

import grpc
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kserve_grpc.stubs import load  # noqa: E402
from kserve_grpc.tensors import decode_outputs, set_contents, to_raw  # noqa: E402

pb, rpc = load()

TARGET = os.environ.get("PITLANE_GRPC_TARGET", "127.0.0.1:8001")
HTTP_URL = os.environ.get("PITLANE_HTTP_URL", "").rstrip("/")
#: The server's --max-body-mb: the largest request it takes.
MAX_BODY_MB = int(os.environ.get("PITLANE_MAX_BODY_MB", "64"))
MODEL = "affine"
OUTPUTS = ("Y", "POSITIVE", "Y_HALF", "IDS_NEXT")
TIMEOUT_S = 30.0

X = np.array([[1, -2, 3, 0.5], [-1, 0, 2, 4], [0.1, -0.3, 7.25, -1e-3]], dtype=np.float32)
B = np.array([0.25, 0, 0, 1], dtype=np.float32)
IDS = np.array([0, 41, 9007199254740990], dtype=np.int64)


def expected(x: np.ndarray, b: np.ndarray, ids: np.ndarray) -> dict[str, np.ndarray]:
    """What the affine model computes, in NumPy (float32 arithmetic, as ONNX Runtime does it)."""
    y = (x * np.float32(2) + b).astype(np.float32)
    return {"Y": y, "POSITIVE": x > 0, "Y_HALF": y.astype(np.float16), "IDS_NEXT": ids + 1}


def infer_request(x: np.ndarray = X, b: np.ndarray = B, ids: np.ndarray = IDS, *, typed: bool = False,
                  outputs: tuple[str, ...] = (), request_id: str = "") -> Any:
    """A ModelInferRequest for the affine model, inputs as raw contents (or typed contents with `typed`)."""
    req = pb.ModelInferRequest(model_name=MODEL, id=request_id)
    for name, datatype, value in (("X", "FP32", x), ("B", "FP32", b), ("IDS", "INT64", ids)):
        t = req.inputs.add(name=name, datatype=datatype, shape=list(value.shape))
        if typed:
            set_contents(t, datatype, value)
        else:
            req.raw_input_contents.append(to_raw(datatype, value))
    for name in outputs:
        req.outputs.add(name=name)
    return req


def http_json(path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(HTTP_URL + path, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class KServeGrpcTest(unittest.TestCase):
    """The checks, in the order a user meets them (unittest sorts by name: the numbers keep that order)."""

    channel: grpc.Channel
    stub: Any

    @classmethod
    def setUpClass(cls) -> None:
        cls.channel = grpc.insecure_channel(TARGET, options=[("grpc.max_receive_message_length", -1)])
        cls.stub = rpc.GRPCInferenceServiceStub(cls.channel)
        grpc.channel_ready_future(cls.channel).result(timeout=TIMEOUT_S)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.channel.close()

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, timeout=TIMEOUT_S)

    def refused(self, method: str, request: Any, code: grpc.StatusCode, details: str = "") -> str:
        """Calls, asserts the RPC fails with `code` (and details matching the regex `details`); the details."""
        with self.assertRaises(grpc.RpcError) as caught:
            self.call(method, request)
        err = caught.exception
        self.assertEqual(err.code(), code, f"{method}: {err.details()}")
        if details:
            self.assertRegex(err.details(), details)
        return err.details()

    def extension(self, method: str, request: Any) -> Any:
        """Calls an RPC of Triton's extensions; skips the test when the server does not serve it."""
        try:
            return self.call(method, request)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.UNIMPLEMENTED:
                self.skipTest(f"{method}: the server answers UNIMPLEMENTED ({err.details()})")
            raise

    def assertOutputs(self, got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
        self.assertEqual(sorted(got), sorted(want))
        for name, value in want.items():
            self.assertEqual(got[name].dtype, value.dtype, name)
            np.testing.assert_array_equal(got[name], value, err_msg=name)

    # -------------------------------------------------------------------------------------------------------
    # Health and metadata

    def test_01_health(self) -> None:
        self.assertTrue(self.call("ServerLive", pb.ServerLiveRequest()).live)
        self.assertTrue(self.call("ServerReady", pb.ServerReadyRequest()).ready)
        self.assertTrue(self.call("ModelReady", pb.ModelReadyRequest(name=MODEL)).ready)
        self.assertTrue(self.call("ModelReady", pb.ModelReadyRequest(name=MODEL, version="1")).ready)
        # As Triton answers it: a model it does not know is not ready (no error status).
        self.assertFalse(self.call("ModelReady", pb.ModelReadyRequest(name="no-such-model")).ready)

    def test_02_server_metadata_as_http(self) -> None:
        meta = self.call("ServerMetadata", pb.ServerMetadataRequest())
        self.assertEqual(meta.name, "pitlane")
        self.assertRegex(meta.version, r"^\d+\.\d+\.\d+")
        if HTTP_URL:
            status, http = http_json("/v2")
            self.assertEqual(status, 200)
            self.assertEqual((meta.name, meta.version), (http["name"], http["version"]))
            # The same extensions, less HTTP's binary tensor data (gRPC carries raw contents natively).
            self.assertEqual(list(meta.extensions),
                             [e for e in http["extensions"] if e != "binary_tensor_data"])
        self.assertEqual(sorted(meta.extensions), ["model_configuration", "model_repository", "statistics"])

    def test_03_model_metadata_as_http(self) -> None:
        meta = self.call("ModelMetadata", pb.ModelMetadataRequest(name=MODEL))
        got = {
            "name": meta.name, "versions": list(meta.versions), "platform": meta.platform,
            **{kind: [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in tensors]
               for kind, tensors in (("inputs", meta.inputs), ("outputs", meta.outputs))},
        }
        self.assertEqual(got["inputs"], [
            {"name": "X", "datatype": "FP32", "shape": [-1, 4]},
            {"name": "B", "datatype": "FP32", "shape": [4]},
            {"name": "IDS", "datatype": "INT64", "shape": [-1]},
        ])
        self.assertEqual([t["name"] for t in got["outputs"]], list(OUTPUTS))
        if HTTP_URL:
            self.assertEqual(http_json(f"/v2/models/{MODEL}"), (200, got))
        self.refused("ModelMetadata", pb.ModelMetadataRequest(name="no-such-model"), grpc.StatusCode.NOT_FOUND,
                     "no-such-model")

    # -------------------------------------------------------------------------------------------------------
    # Inference

    def test_10_infer_raw_contents(self) -> None:
        res = self.call("ModelInfer", infer_request(request_id="raw-1"))
        self.assertEqual((res.model_name, res.model_version, res.id), (MODEL, "1", "raw-1"))
        self.assertEqual([t.name for t in res.outputs], list(OUTPUTS))
        self.assertEqual([t.datatype for t in res.outputs], ["FP32", "BOOL", "FP16", "INT64"])
        self.assertEqual([list(t.shape) for t in res.outputs], [[3, 4], [3, 4], [3, 4], [3]])
        self.assertOutputs(decode_outputs(res), expected(X, B, IDS))

    def test_11_infer_typed_contents(self) -> None:
        x = np.arange(-8, 8, dtype=np.float32).reshape(4, 4) / 3
        ids = np.array([-5, 2**62], dtype=np.int64)
        res = self.call("ModelInfer", infer_request(x, B, ids, typed=True))
        self.assertOutputs(decode_outputs(res), expected(x, B, ids))

    def test_12_requested_outputs_only(self) -> None:
        res = self.call("ModelInfer", infer_request(outputs=("IDS_NEXT", "Y")))
        want = expected(X, B, IDS)
        self.assertEqual(sorted(t.name for t in res.outputs), ["IDS_NEXT", "Y"])
        self.assertOutputs(decode_outputs(res), {"Y": want["Y"], "IDS_NEXT": want["IDS_NEXT"]})

    @unittest.skipUnless(HTTP_URL, "PITLANE_HTTP_URL is not set")
    def test_13_same_answer_as_http(self) -> None:
        rng = np.random.default_rng(16)
        x = rng.standard_normal((5, 4)).astype(np.float32)
        b = rng.standard_normal(4).astype(np.float32)
        ids = rng.integers(-2**40, 2**40, 5)
        status, http = http_json(f"/v2/models/{MODEL}/infer", {
            "inputs": [
                {"name": "X", "datatype": "FP32", "shape": [5, 4], "data": x.reshape(-1).tolist()},
                {"name": "B", "datatype": "FP32", "shape": [4], "data": b.tolist()},
                {"name": "IDS", "datatype": "INT64", "shape": [5], "data": ids.tolist()},
            ],
            "outputs": [{"name": "Y"}, {"name": "POSITIVE"}, {"name": "IDS_NEXT"}],
        })
        self.assertEqual(status, 200, http)
        grpc_out = decode_outputs(self.call("ModelInfer", infer_request(x, b, ids, outputs=("Y", "POSITIVE",
                                                                                              "IDS_NEXT"))))
        for t in http["outputs"]:
            with self.subTest(output=t["name"]):
                ours = grpc_out[t["name"]]
                self.assertEqual(list(ours.shape), t["shape"])
                np.testing.assert_array_equal(ours.reshape(-1), np.asarray(t["data"], dtype=ours.dtype))

    def test_14_stream_infer(self) -> None:
        bad = infer_request(request_id="bad")
        bad.raw_input_contents[0] = bad.raw_input_contents[0][:-4]
        xs = [X, X * 3, -X]
        requests = [infer_request(x, request_id=f"s{i}") for i, x in enumerate(xs)]
        requests.insert(2, bad)
        answers = list(self.stub.ModelStreamInfer(iter(requests), timeout=TIMEOUT_S))
        self.assertEqual(len(answers), 4)
        self.assertEqual([a.infer_response.id for a in answers if not a.error_message], ["s0", "s1", "s2"])
        # A request that fails is answered in its place with error_message set; the stream goes on.
        self.assertRegex(answers[2].error_message, r"X")
        for a, x in zip([a for a in answers if not a.error_message], xs):
            self.assertOutputs(decode_outputs(a.infer_response), expected(x, B, IDS))

    # -------------------------------------------------------------------------------------------------------
    # Errors: the status codes Triton answers with, and the server stays up

    def test_20_unknown_model(self) -> None:
        req = infer_request()
        req.model_name = "no-such-model"
        self.refused("ModelInfer", req, grpc.StatusCode.NOT_FOUND, "no-such-model")
        req = infer_request()
        req.model_version = "7"
        self.refused("ModelInfer", req, grpc.StatusCode.NOT_FOUND, "7")
        self.assertOutputs(decode_outputs(self.call("ModelInfer", infer_request())), expected(X, B, IDS))

    def test_21_bad_shape(self) -> None:
        x = np.ones((2, 5), dtype=np.float32)
        self.refused("ModelInfer", infer_request(x), grpc.StatusCode.INVALID_ARGUMENT, r"X")

    def test_22_raw_size_does_not_match_shape(self) -> None:
        req = infer_request()
        req.raw_input_contents[2] += b"\0" * 8
        self.refused("ModelInfer", req, grpc.StatusCode.INVALID_ARGUMENT, r"IDS")

    def test_23_raw_contents_count_does_not_match_inputs(self) -> None:
        req = infer_request()
        del req.raw_input_contents[2]
        self.refused("ModelInfer", req, grpc.StatusCode.INVALID_ARGUMENT, r"raw_input_contents")

    def test_24_unknown_and_wrong_datatypes(self) -> None:
        req = infer_request()
        req.inputs[0].datatype = "FP33"
        self.refused("ModelInfer", req, grpc.StatusCode.INVALID_ARGUMENT, r"FP33")
        req = infer_request()
        req.inputs[0].datatype = "INT32"
        self.refused("ModelInfer", req, grpc.StatusCode.INVALID_ARGUMENT, r"X")
        req = infer_request()
        req.inputs[0].datatype = "BYTES"
        req.raw_input_contents[0] = to_raw("BYTES", np.array([b"ab"] * 12, dtype=object))
        self.refused("ModelInfer", req, grpc.StatusCode.INVALID_ARGUMENT, r"X")

    def test_25_missing_input_and_unknown_output(self) -> None:
        req = infer_request()
        del req.inputs[1]
        del req.raw_input_contents[1]
        self.refused("ModelInfer", req, grpc.StatusCode.INVALID_ARGUMENT, r"B")
        self.refused("ModelInfer", infer_request(outputs=("Z",)), grpc.StatusCode.INVALID_ARGUMENT, r"Z")

    def test_26_typed_contents_count_does_not_match_shape(self) -> None:
        req = infer_request(typed=True)
        req.inputs[0].contents.fp32_contents.append(1.0)
        self.refused("ModelInfer", req, grpc.StatusCode.INVALID_ARGUMENT, r"X")
        req = infer_request(typed=True)
        req.inputs[0].contents.ClearField("fp32_contents")
        req.inputs[0].contents.int_contents.extend([1] * 12)
        self.refused("ModelInfer", req, grpc.StatusCode.INVALID_ARGUMENT, r"X")

    def test_27_malformed_protobuf(self) -> None:
        garbage = self.channel.unary_unary("/inference.GRPCInferenceService/ModelInfer",
                                           request_serializer=None, response_deserializer=None)
        with self.assertRaises(grpc.RpcError) as caught:
            garbage(b"\x0a\xff\xff\xff\xff\x0f", timeout=TIMEOUT_S)  # field 1 claims 4 GiB of string
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT, caught.exception.details())
        self.assertRegex(caught.exception.details(), r"model_name")
        self.assertTrue(self.call("ServerLive", pb.ServerLiveRequest()).live, "the server stays up")
        self.assertOutputs(decode_outputs(self.call("ModelInfer", infer_request())), expected(X, B, IDS))

    def test_28_message_over_the_size_limit(self) -> None:
        rows = (MAX_BODY_MB << 20) // 16 + 64  # X alone is over the limit
        x = np.ones((rows, 4), dtype=np.float32)
        self.refused("ModelInfer", infer_request(x, B, np.arange(rows)), grpc.StatusCode.RESOURCE_EXHAUSTED,
                     str(MAX_BODY_MB << 20))
        self.assertOutputs(decode_outputs(self.call("ModelInfer", infer_request())), expected(X, B, IDS))

    # -------------------------------------------------------------------------------------------------------
    # Triton's extensions

    def test_30_statistics_count_what_was_sent(self) -> None:
        def stats() -> Any:
            res = self.extension("ModelStatistics", pb.ModelStatisticsRequest(name=MODEL))
            self.assertEqual([(s.name, s.version) for s in res.model_stats], [(MODEL, "1")])
            return res.model_stats[0]
        before = stats()
        sent = 3
        for _ in range(sent):
            self.call("ModelInfer", infer_request())
        self.refused("ModelInfer", infer_request(np.ones((1, 3), dtype=np.float32)),
                     grpc.StatusCode.INVALID_ARGUMENT)
        after = stats()

        def rise(field: str) -> int:
            """How much a (dotted) field of the statistics rose."""
            return int(reduce(getattr, field.split("."), after)) - int(reduce(getattr, field.split("."), before))
        # The model does not batch (max_batch_size 0): each request is one inference and one model run, as Triton
        # counts them; the refused request counts as a failure, not a success.
        self.assertEqual([rise("inference_stats.success.count"), rise("inference_count"), rise("execution_count")],
                         [sent, sent, sent])
        self.assertEqual(rise("inference_stats.fail.count"), 1)
        for part in ("success", "queue", "compute_input", "compute_infer", "compute_output"):
            self.assertGreater(rise(f"inference_stats.{part}.ns"), 0, part)
        self.assertEqual([rise(f"inference_stats.{part}.count") for part in ("compute_infer", "cache_hit")],
                         [sent, 0])
        ones = [b for b in after.batch_stats if b.batch_size == 1]
        self.assertEqual(len(ones), 1, after.batch_stats)
        self.assertGreaterEqual(ones[0].compute_infer.count, sent)
        self.assertGreater(after.last_inference, 0)
        self.refused("ModelStatistics", pb.ModelStatisticsRequest(name="no-such-model"), grpc.StatusCode.NOT_FOUND)
        every = self.call("ModelStatistics", pb.ModelStatisticsRequest())
        self.assertIn(MODEL, [s.name for s in every.model_stats])

    def test_31_model_config(self) -> None:
        config = self.extension("ModelConfig", pb.ModelConfigRequest(name=MODEL)).config
        self.assertEqual((config.name, config.platform), (MODEL, "onnxruntime_onnx"))
        data_type = pb.model__config__pb2.DataType.Name
        self.assertEqual([(t.name, data_type(t.data_type)) for t in config.input],
                         [("X", "TYPE_FP32"), ("B", "TYPE_FP32"), ("IDS", "TYPE_INT64")])
        self.assertEqual([(t.name, data_type(t.data_type)) for t in config.output],
                         [("Y", "TYPE_FP32"), ("POSITIVE", "TYPE_BOOL"), ("Y_HALF", "TYPE_FP16"),
                          ("IDS_NEXT", "TYPE_INT64")])
        if config.max_batch_size == 0:  # no batching: dims are the whole shape
            self.assertEqual([list(t.dims) for t in config.input], [[-1, 4], [4], [-1]])
        self.refused("ModelConfig", pb.ModelConfigRequest(name="no-such-model"), grpc.StatusCode.NOT_FOUND)

    def test_32_repository_index(self) -> None:
        index = self.extension("RepositoryIndex", pb.RepositoryIndexRequest())
        models = {m.name: m for m in index.models}
        self.assertIn(MODEL, models)
        self.assertEqual((models[MODEL].state, models[MODEL].version), ("READY", "1"))
        ready = self.call("RepositoryIndex", pb.RepositoryIndexRequest(ready=True))
        self.assertTrue(all(m.state == "READY" for m in ready.models))
        self.assertIn(MODEL, [m.name for m in ready.models])

    def test_90_unload_and_load(self) -> None:
        """Last: unloading makes the model not ready and its requests fail; loading brings it back."""
        self.extension("RepositoryModelUnload", pb.RepositoryModelUnloadRequest(model_name=MODEL))
        try:
            self.assertFalse(self.call("ModelReady", pb.ModelReadyRequest(name=MODEL)).ready)
            self.refused("ModelInfer", infer_request(), grpc.StatusCode.UNAVAILABLE, "not ready")
            index = {m.name: m for m in self.call("RepositoryIndex", pb.RepositoryIndexRequest()).models}
            self.assertEqual((index[MODEL].state, index[MODEL].reason), ("UNAVAILABLE", "unloaded"))
            self.assertNotIn(MODEL, [m.name for m in self.call("RepositoryIndex",
                                                                 pb.RepositoryIndexRequest(ready=True)).models])
        finally:
            self.call("RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name=MODEL))
        self.assertTrue(self.call("ModelReady", pb.ModelReadyRequest(name=MODEL)).ready)
        self.assertOutputs(decode_outputs(self.call("ModelInfer", infer_request())), expected(X, B, IDS))
        self.refused("RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name="no-such-model"),
                     grpc.StatusCode.NOT_FOUND)


if __name__ == "__main__":
    unittest.main()
