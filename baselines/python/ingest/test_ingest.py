"""Unit tests of the Python ingest baseline (stdlib unittest; run with /usr/bin/python3):

    /usr/bin/python3 -m unittest discover -s baselines/python/ingest -p 'test_*.py'

imohash against the published vectors, letterbox/crop geometry against the numbers pitlane's image-prep.ts
gives (its tests in src/inference/vision/), SSD decoding and NMS on small synthetic outputs, how bad images are
classified, the index's commit decisions on a temporary SQLite file, and the gRPC model server client's requests,
addresses and errors (its answers from a real server are in test/python-ingest.test.mjs).
"""
from __future__ import annotations

import asyncio
import io
import os
import socket
import struct
import sys
import tempfile
import unittest
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from image_prep import (ImageError, crop_geometry, jpeg_shrink_on_load, letterbox_geometry,  # noqa: E402
                        prepare_image)
from imohash import imohash_hex, murmur3_blocks, murmur3_finish, murmur3_x64_128  # noqa: E402
from kserve import InferInput, KServeError  # noqa: E402
from kserve_grpc_client import (GrpcModelServer, encode_request, grpc_target, metadata_dict,  # noqa: E402
                                model_metadata_sync, pb)
from kserve_grpc.tensors import from_raw  # noqa: E402
from index import APPLICATION_ID, SCHEMA_VERSION, Candidate, IndexFileError, SqliteIndex  # noqa: E402
from vision import COCO_CLASSES, decode_ssd, iou, non_max_suppression, to_detections  # noqa: E402

DOG = Path("/usr/share/darknet/data/dog.jpg")
VEC = HERE.parents[2] / "node_modules" / "sqlite-vec-linux-x64" / "vec0.so"


def jpeg(width: int, height: int, **save: object) -> bytes:
    rng = np.random.default_rng(width * 7 + height)
    img = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, **save)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height in its IHDR, with no pixel data (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


class ImohashTest(unittest.TestCase):
    VECTORS = [
        (16384, 131072, 0, "00000000000000000000000000000000"),
        (16384, 131072, 1, "016ac6dd306a3e594e711127c5b5a8e4"),
        (16384, 131072, 127, "7f0e0eaa0a415e2878303214a087fbab"),
        (16384, 131072, 128, "80017902d85ab752459758292a217ed8"),
        (16384, 131072, 4095, "ff1fc7e3b9890469ee676df99f6ac7b7"),
        (16384, 131072, 4096, "80203d4ea589349dcdf63511a8d49d4a"),
        (16384, 131072, 131072, "808008ed886018d5cd37a9b35bbae286"),
        (16384, 131073, 131072, "808008ac6ab33ddcaadea68ba5ad4f05"),
        (16384, 131072, 500000, "a0c21ea46738cf366d496962000a45f7"),
    ]

    @staticmethod
    def message(n: int) -> bytes:
        """M(n) of IMOHASH.md: the k-th 16-byte block is Murmur3_128('A' * k), hashed as a running stream
        (the state after each whole block of 'A's is kept, as a streaming hasher does)."""
        out = bytearray()
        h1 = h2 = 0
        k = 0
        while len(out) < n:
            k += 1
            if k % 16 == 0:
                h1, h2 = murmur3_blocks(h1, h2, b"A" * 16)
            out += murmur3_finish(h1, h2, b"A" * (k % 16), k)
        return bytes(out[:n])

    def test_murmur3_block(self) -> None:
        self.assertEqual(self.message(16).hex(), "035fc2b79a29b17a387df29c46dd9937")
        self.assertEqual(self.message(16 * 40)[-16:], murmur3_x64_128(b"A" * 40))

    def test_vectors(self) -> None:
        m = self.message(500000)
        for s, t, n, expected in self.VECTORS:
            with self.subTest(s=s, t=t, n=n):
                self.assertEqual(imohash_hex(m[:n], s, t), expected)

    def test_murmur3_tails(self) -> None:
        # Every tail length 0..15 goes through a different branch; published MurmurHash3_x64_128 values.
        self.assertEqual(murmur3_x64_128(b"").hex(), "00000000000000000000000000000000")
        self.assertEqual(murmur3_x64_128(b"hello").hex(), "cbd8a7b341bd9b025b1e906a48ae1d19")
        self.assertEqual(murmur3_x64_128(b"The quick brown fox jumps over the lazy dog").hex(),
                         "e34bbc7bbc071b6c7a433ca9c49a9347")

    @unittest.skipUnless(DOG.exists(), "darknet photos not installed")
    def test_same_id_as_pitlane(self) -> None:
        # pitlane's src/ingest/imohash.ts gives this id to dog.jpg (checked against `serve ingest`).
        self.assertEqual(imohash_hex(DOG.read_bytes()), "afff0916188bc90ffd64afa40d4293ff")


class GeometryTest(unittest.TestCase):
    def test_letterbox_like_image_prep(self) -> None:
        cases = {
            # (w, h): (content w, content h, pad x, pad y), as image-prep.ts and its tests give them.
            (768, 576): (640, 480, 0, 80),
            (576, 768): (480, 640, 80, 0),
            (4000, 3000): (640, 480, 0, 80),
            (2000, 250): (640, 80, 0, 280),
            (100, 50): (640, 320, 0, 160),
            (1280, 720): (640, 360, 0, 140),
            (1000, 1000): (640, 640, 0, 0),
            (1, 1): (640, 640, 0, 0),
            (640, 517): (640, 517, 0, 61),  # the odd padding pixel goes to the bottom
            (517, 640): (517, 640, 61, 0),
            (1352, 900): (640, 426, 0, 107),
            # image-prep.ts rounds half up (Math.round): 5 * 0.5 = 2.5 → 3.
            (1280, 5): (640, 3, 0, 318),
        }
        for (w, h), expected in cases.items():
            with self.subTest(w=w, h=h):
                g = letterbox_geometry(w, h)
                self.assertEqual((g.content_width, g.content_height, g.pad_x, g.pad_y), expected)
                self.assertEqual(g.scale, min(640 / w, 640 / h))

    def test_crop_like_image_prep(self) -> None:
        cases = {
            (768, 576): (341, 256, 42, 0),  # centre crop from x = round(42.5) = 42 (half to even)
            (576, 768): (256, 341, 0, 42),
            (2000, 250): (2048, 256, 896, 0),
            (256, 256): (256, 256, 0, 0),
            (100, 50): (512, 256, 128, 0),
            (500, 501): (256, 256, 0, 0),
        }
        for (w, h), expected in cases.items():
            with self.subTest(w=w, h=h):
                g = crop_geometry(w, h)
                self.assertEqual((g.resized_width, g.resized_height, g.left, g.top), expected)

    def test_shrink_on_load_is_sharps(self) -> None:
        self.assertEqual(jpeg_shrink_on_load(4000, 3000, 640, 480), 4)  # 6.25
        self.assertEqual(jpeg_shrink_on_load(2560, 1920, 640, 480), 2)  # exactly 4: lowered, as sharp does
        self.assertEqual(jpeg_shrink_on_load(1352, 900, 640, 426), 1)  # 2.11: int 2 == 2, lowered to 1
        self.assertEqual(jpeg_shrink_on_load(768, 576, 640, 480), 1)
        self.assertEqual(jpeg_shrink_on_load(8000, 6000, 640, 480), 8)

    def test_prepared_shapes(self) -> None:
        p = prepare_image(jpeg(768, 576), "a.jpg")
        self.assertEqual((p.width, p.height, p.format), (768, 576, "jpeg"))
        self.assertEqual(p.content.shape, (480, 640, 3))
        self.assertEqual(p.crop.shape, (256, 256, 3))
        self.assertEqual((p.pad_x, p.pad_y), (0, 80))
        big = prepare_image(jpeg(4000, 3000), "big.jpg")
        self.assertEqual((big.width, big.height), (4000, 3000))
        self.assertEqual((big.decoded_width, big.decoded_height), (640, 480))
        wide = prepare_image(jpeg(2000, 250), "wide.jpg")
        self.assertEqual((wide.decoded_width, wide.decoded_height), (2048, 256))
        self.assertEqual(wide.content.shape, (80, 640, 3))
        self.assertEqual(wide.crop.shape, (256, 256, 3))

    def test_exif_orientation_is_applied(self) -> None:
        exif = Image.Exif()
        exif[0x0112] = 6
        p = prepare_image(jpeg(768, 576, exif=exif.tobytes()), "rotated.jpg")
        self.assertEqual(p.orientation, 6)
        self.assertEqual((p.width, p.height), (576, 768))
        self.assertEqual(p.content.shape, (640, 480, 3))
        self.assertEqual((p.pad_x, p.pad_y), (80, 0))

    def test_alpha_is_flattened_onto_white_and_small_images_scale_up(self) -> None:
        out = io.BytesIO()
        Image.new("RGBA", (100, 50), (0, 0, 0, 0)).save(out, "PNG")
        p = prepare_image(out.getvalue(), "clear.png")
        self.assertEqual(p.format, "png")
        self.assertAlmostEqual(p.scale, 6.4)
        self.assertEqual(p.content.shape, (320, 640, 3))
        self.assertTrue((p.content == 255).all())
        self.assertTrue((p.crop == 255).all())

    def test_webp_and_greyscale(self) -> None:
        out = io.BytesIO()
        Image.new("L", (300, 200), 77).save(out, "WEBP")
        p = prepare_image(out.getvalue(), "grey.webp")
        self.assertEqual(p.format, "webp")
        self.assertEqual(p.content.shape, (427, 640, 3))
        self.assertTrue((p.crop[..., 0] == p.crop[..., 2]).all())


class BadImagesTest(unittest.TestCase):
    def reason(self, data: bytes, **kw: object) -> str:
        with self.assertRaises(ImageError) as ctx:
            prepare_image(data, "x", **kw)
        self.assertTrue(str(ctx.exception).startswith("x: "), str(ctx.exception))
        return ctx.exception.reason

    def test_reasons(self) -> None:
        good = jpeg(640, 480)
        self.assertEqual(self.reason(b""), "empty")
        self.assertEqual(self.reason(b"not an image at all"), "not-an-image")
        self.assertEqual(self.reason(b"GIF89a" + bytes(20)), "unsupported-format")
        self.assertEqual(self.reason(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "unsupported-format")
        self.assertEqual(self.reason(good[:300]), "corrupt")  # header cut
        self.assertEqual(self.reason(good[: len(good) // 2]), "corrupt")  # scan data cut
        self.assertEqual(self.reason(b"\x89PNG\r\n\x1a\n" + bytes(40)), "corrupt")
        self.assertEqual(self.reason(png_header_only(20000, 20000)), "too-many-pixels")
        self.assertEqual(self.reason(good, max_pixels=640 * 480 - 1), "too-many-pixels")
        # At the limit it is decoded.
        self.assertEqual(prepare_image(good, "ok", max_pixels=640 * 480).width, 640)


class SsdDecodeTest(unittest.TestCase):
    def test_decode_and_nms(self) -> None:
        anchors, columns = 7, 90
        scores = np.zeros((1, anchors, columns), dtype=np.float32)
        boxes = np.zeros((1, anchors, 1, 4), dtype=np.float32)

        def put(a: int, box: tuple[float, float, float, float], **by_category: float) -> None:
            boxes[0, a, 0] = box  # y1, x1, y2, x2
            for category, s in by_category.items():
                scores[0, a, int(category[1:]) - 1] = s
        put(0, (0.1, 0.1, 0.5, 0.5), c18=0.9)             # dog
        put(1, (0.12, 0.1, 0.52, 0.5), c1=0.8)            # person, overlaps the dog: suppressed (class-agnostic)
        put(2, (0.6, 0.6, 0.9, 0.9), c12=0.99, c3=0.6)   # 12 is an unused id: the car wins
        put(3, (0.0, 0.0, 0.2, 0.2), c1=0.4)              # below 0.5
        put(4, (0.0, 0.7, 0.1, 0.8), c1=0.7)              # person
        scores[0, 4, 5] = np.nan                          # a NaN never wins
        put(5, (0.3, 0.8, 0.4, 0.9), c44=0.7)             # bottle, same score as anchor 4: index order
        put(6, (0.0, 0.0, 1.0, 1.0), c1=0.5)              # exactly 0.5 is not above the threshold
        out = decode_ssd(boxes, scores)
        got = [(COCO_CLASSES[c], round(s, 4), tuple(round(v, 4) for v in b)) for b, s, c in out]
        self.assertEqual(got, [
            ("dog", 0.9, (0.1, 0.1, 0.5, 0.5)),
            ("person", 0.7, (0.7, 0.0, 0.8, 0.1)),
            ("bottle", 0.7, (0.8, 0.3, 0.9, 0.4)),
            ("car", 0.6, (0.6, 0.6, 0.9, 0.9)),
        ])
        dets = to_detections(out, 200, 100)
        self.assertEqual(dets[0].label, "dog")
        self.assertEqual(dets[0].class_id, 16)
        self.assertEqual([round(v, 3) for v in dets[0].box], [20.0, 10.0, 100.0, 50.0])

    def test_nms_rules(self) -> None:
        a = (0.0, 0.0, 10.0, 10.0)
        b = (0.0, 0.0, 10.0, 20.0)  # IoU with a = 0.5 exactly: kept (suppression needs > 0.5)
        c = (0.0, 0.0, 10.0, 11.0)  # IoU with a > 0.5: suppressed
        self.assertAlmostEqual(iou(a, b), 0.5)
        self.assertEqual(non_max_suppression([a, b, c], [0.9, 0.8, 0.85], 0.5, 20), [0, 1])
        self.assertEqual(non_max_suppression([a, (20.0, 20.0, 30.0, 30.0)], [0.7, 0.7], 0.5, 20), [0, 1])
        self.assertEqual(non_max_suppression([a, (20.0, 20.0, 30.0, 30.0)], [0.7, 0.8], 0.5, 1), [1])
        self.assertEqual(iou(a, (20.0, 20.0, 30.0, 30.0)), 0.0)


@unittest.skipUnless(VEC.exists(), "sqlite-vec (node_modules) not installed")
class IndexTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "i.db")

    def tearDown(self) -> None:
        self.dir.cleanup()

    @staticmethod
    def cand(h: str, v: list[float]) -> Candidate:
        e = np.asarray(v, dtype=np.float32)
        return Candidate(hash=h, name=f"{h}.jpg", width=10, height=10, format="jpeg", bytes=100,
                         detections=[], embedding=e / np.linalg.norm(e))

    def test_schema_and_commit_decisions(self) -> None:
        index = SqliteIndex(self.path, 4, str(VEC))
        try:
            self.assertEqual(index.db.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
            self.assertEqual(index.db.execute("PRAGMA application_id").fetchone()[0], APPLICATION_ID)
            first = index.commit_batch([self.cand("a" * 32, [1, 0, 0, 0]), self.cand("b" * 32, [0, 1, 0, 0])],
                                       0.98, "2026-01-01T00:00:00.000Z")
            self.assertEqual(first.indexed["global"], 2)
            self.assertEqual(first.near_duplicates, 0)
            second = index.commit_batch([
                self.cand("a" * 32, [0, 0, 1, 0]),         # same bytes committed meanwhile: a late duplicate
                self.cand("c" * 32, [1, 0.05, 0, 0]),      # near the indexed 'a'
                self.cand("d" * 32, [0, 0, 0, 1]),         # new
                self.cand("e" * 32, [0, 0, 0.05, 1]),      # near 'd', earlier in this batch
            ], 0.98, "2026-01-01T00:00:01.000Z")
            self.assertEqual([(d.duplicate_of, d.near_duplicate_of) for d in second.decisions], [
                ("a" * 32, None), (None, "a" * 32), (None, None), (None, "d" * 32)])
            self.assertEqual((second.late_duplicates, second.near_duplicates, second.indexed["global"]), (1, 2, 3))
            self.assertEqual(index.find_imohashes(["a" * 32, "z" * 32]), {"a" * 32: "a" * 32})
            hits = index.nearest(np.asarray([1, 0, 0, 0], dtype=np.float32), 2)
            self.assertEqual([h["id"] for h in hits], ["a" * 32, "c" * 32])
            self.assertAlmostEqual(hits[0]["score"], 1.0, places=5)
            image = index.get_image("c" * 32, with_embedding=True)
            self.assertEqual(image["nearDuplicateOf"], "a" * 32)
            self.assertEqual(len(image["embedding"]), 4)
        finally:
            index.close()
        with self.assertRaises(IndexFileError) as ctx:
            SqliteIndex(self.path, 8, str(VEC))
        self.assertIn("4-d", str(ctx.exception))

    def test_refuses_other_files(self) -> None:
        Path(self.path).write_bytes(b"this is not a database" * 100)
        with self.assertRaises(IndexFileError):
            SqliteIndex(self.path, 4, str(VEC))


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GrpcClientTest(unittest.TestCase):
    def test_addresses(self) -> None:
        self.assertEqual(grpc_target("grpc://127.0.0.1:8001"), "127.0.0.1:8001")
        self.assertEqual(grpc_target("grpc://models/"), "models:8001")
        self.assertEqual(grpc_target("grpc://[::1]:9000"), "[::1]:9000")
        for bad in ("http://127.0.0.1:8001", "grpc://", "grpc://host:1/v2", "127.0.0.1:8001"):
            with self.subTest(url=bad), self.assertRaisesRegex(ValueError, "grpc://host:port"):
                grpc_target(bad)

    def test_request_carries_raw_contents(self) -> None:
        pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(1, 2, 3, 3)
        req = encode_request("coco-ssd", [InferInput("image_tensor", "INT32", pixels)],
                             ["detection_boxes", "detection_scores"])
        req = pb.ModelInferRequest.FromString(req.SerializeToString())
        self.assertEqual(req.model_name, "coco-ssd")
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in req.inputs],
                         [("image_tensor", "INT32", [1, 2, 3, 3])])
        self.assertFalse(req.inputs[0].HasField("contents"), "no typed contents")
        self.assertEqual([o.name for o in req.outputs], ["detection_boxes", "detection_scores"])
        self.assertEqual(len(req.raw_input_contents[0]), pixels.size * 4)
        got = from_raw("image_tensor", "INT32", req.inputs[0].shape, req.raw_input_contents[0])
        np.testing.assert_array_equal(got, pixels.astype(np.int32))

    def test_metadata_in_the_http_shape(self) -> None:
        meta = pb.ModelMetadataResponse(name="m", versions=["1"], platform="tfjs")
        meta.inputs.add(name="image_tensor", datatype="INT32", shape=[-1, -1, -1, 3])
        meta.outputs.add(name="embedding", datatype="FP32", shape=[-1, 1280])
        self.assertEqual(metadata_dict(meta), {
            "name": "m", "versions": ["1"], "platform": "tfjs",
            "inputs": [{"name": "image_tensor", "datatype": "INT32", "shape": [-1, -1, -1, 3]}],
            "outputs": [{"name": "embedding", "datatype": "FP32", "shape": [-1, 1280]}],
        })

    def test_unreachable_server(self) -> None:
        url = f"grpc://127.0.0.1:{closed_port()}"

        async def call() -> None:
            server = GrpcModelServer(url, timeout_s=5.0)
            try:
                await server.infer("m", [InferInput("x", "FP32", np.zeros((1, 2), np.float32))], ["y"])
            finally:
                await server.close()
        with self.assertRaises(KServeError) as caught:
            asyncio.run(call())
        self.assertRegex(str(caught.exception), rf"^cannot reach the model server at {url} \(ModelInfer of 'm'\)")
        self.assertEqual((caught.exception.status, caught.exception.code), (0, None))
        with self.assertRaisesRegex(KServeError, rf"^cannot reach the model server at {url} \(ModelMetadata of 'm'\)"):
            model_metadata_sync(url, "m", timeout_s=5.0)


if __name__ == "__main__":
    unittest.main()
