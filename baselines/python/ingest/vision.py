"""The vision models of the Python ingest baseline, understood from their KServe v2 metadata, and the decoding
of their outputs. It mirrors pitlane's src/ingest/vision.ts (ssdDetector, decodeSsd, openImageEmbedder),
src/inference/vision/nms.ts and src/inference/vision/coco.ts:

- detector: a TF object-detection SSD graph (COCO-SSD): one INT32/UINT8 input [batch, H, W, 3] that gets the
  letterbox's content without its padding, outputs detection_boxes [batch, anchors, 1, 4] (y1, x1, y2, x2 as
  fractions) and detection_scores [batch, anchors, 90] (column c is COCO category c + 1). Per anchor the best
  of the 80 real categories above 0.5, class-agnostic greedy NMS (IoU > 0.5 suppresses, ties by index), at
  most 20, boxes scaled to source pixels and clipped. YOLO exports are not supported by this baseline;
- embedder: one image input of bytes [batch, H, W, 3] fed the centre crop, output [batch, dimension],
  L2-normalised here.

Score decoding is vectorised in NumPy; NMS visits at most a few dozen candidates and runs in plain Python
floats, so its arithmetic (and tie-breaking) is pitlane's exactly.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from image_prep import PreparedImage
from kserve import InferenceServer, InferInput

#: The 80 COCO class names by class index (Ultralytics coco.yaml order).
COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

#: The COCO category id (1..90, ten gaps) of each class index.
COCO_CATEGORY_IDS: tuple[int, ...] = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33,
    34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61,
    62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90,
)
_CLASS_OF_CATEGORY = {category: index for index, category in enumerate(COCO_CATEGORY_IDS)}

SCORE_THRESHOLD = 0.5
IOU_THRESHOLD = 0.5
MAX_DETECTIONS = 20

#: Labels whose boxes go to the vehicles and people indexes (box_embeddings).
VEHICLE_LABELS = frozenset({"bicycle", "car", "motorcycle", "bus", "truck"})
PEOPLE_LABELS = frozenset({"person"})

Box = tuple[float, float, float, float]


class VisionModelError(Exception):
    """A model that does not fit what it is asked to do; names the model and what was found."""

    def __init__(self, model: str, message: str) -> None:
        super().__init__(f"model '{model}': {message}")


@dataclass(frozen=True)
class Detection:
    label: str
    class_id: int
    score: float
    box: Box

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "classId": self.class_id, "score": self.score, "box": list(self.box)}


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two xyxy boxes (nms.ts `iou`: empty boxes count as area 0)."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    if inter == 0:
        return 0.0
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    return inter / (area_a + area_b - inter)


def non_max_suppression(boxes: list[Box], scores: list[float], iou_threshold: float,
                        max_detections: int) -> list[int]:
    """Greedy class-agnostic NMS: by descending score (ties in index order), a candidate is kept unless its IoU
    with an already kept box is strictly greater than the threshold. Returns kept indices, best first."""
    order = sorted((i for i, s in enumerate(scores) if s == s), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        if len(kept) >= max_detections:
            break
        if all(iou(boxes[i], boxes[k]) <= iou_threshold for k in kept):
            kept.append(i)
    return kept


_VALID_COLUMNS_CACHE: dict[int, np.ndarray] = {}


def _valid_columns(columns: int) -> np.ndarray:
    mask = _VALID_COLUMNS_CACHE.get(columns)
    if mask is None:
        mask = np.array([(c + 1) in _CLASS_OF_CATEGORY for c in range(columns)])
        _VALID_COLUMNS_CACHE[columns] = mask
    return mask


def decode_ssd(boxes: np.ndarray, scores: np.ndarray, score_threshold: float = SCORE_THRESHOLD,
               iou_threshold: float = IOU_THRESHOLD,
               max_detections: int = MAX_DETECTIONS) -> list[tuple[Box, float, int]]:
    """SSD outputs of one image → [(box as fractions xyxy, score, class index)], best first (vision.ts
    `decodeSsd`). `boxes` holds anchors x 4 (y1, x1, y2, x2), `scores` anchors x columns."""
    columns = scores.shape[-1]
    scores = scores.reshape(-1, columns)
    boxes = boxes.reshape(-1, 4)
    # The ten unused category ids and NaNs can never win (pitlane compares with `>`, which NaN fails).
    masked = np.where(_valid_columns(columns) & ~np.isnan(scores), scores, -np.inf)
    best = masked.argmax(axis=1)  # the first maximum, as pitlane's strict `>` scan keeps the first
    best_scores = masked[np.arange(masked.shape[0]), best]
    anchors = np.nonzero(best_scores > score_threshold)[0]
    cand_boxes: list[Box] = []
    cand_scores: list[float] = []
    cand_classes: list[int] = []
    for a, (y1, x1, y2, x2), s, c in zip(anchors.tolist(), boxes[anchors].tolist(),
                                         best_scores[anchors].tolist(), best[anchors].tolist()):
        cand_boxes.append((x1, y1, x2, y2))
        cand_scores.append(s)
        cand_classes.append(_CLASS_OF_CATEGORY[c + 1])
    kept = non_max_suppression(cand_boxes, cand_scores, iou_threshold, max_detections)
    return [(cand_boxes[i], cand_scores[i], cand_classes[i]) for i in kept]


def to_detections(decoded: list[tuple[Box, float, int]], width: int, height: int) -> list[Detection]:
    """Fractions of the picture → source pixels, clipped to the image."""
    out = []
    for (x1, y1, x2, y2), score, class_id in decoded:
        def cx(v: float) -> float:
            return min(width, max(0, v))

        def cy(v: float) -> float:
            return min(height, max(0, v))
        box = (cx(x1 * width), cy(y1 * height), cx(x2 * width), cy(y2 * height))
        out.append(Detection(COCO_CLASSES[class_id], class_id, score, tuple(float(v) for v in box)))
    return out


def _describe(tensors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{t.get('name')} {t.get('datatype')} {t.get('shape')}" for t in tensors) or "none"


def _is_bytes_image(m: dict[str, Any] | None) -> bool:
    return (m is not None and m.get("datatype") in ("INT32", "UINT8")
            and len(m.get("shape", [])) == 4 and m["shape"][3] == 3)


def _batch_of_one(pixels: np.ndarray) -> np.ndarray:
    """[1, H, W, 3]: a view; the conversion to the input's datatype happens while encoding the request."""
    return pixels[np.newaxis]


class SsdDetector:
    """A COCO SSD graph behind a KServe v2 server."""

    def __init__(self, server: InferenceServer, meta: dict[str, Any], executor: Executor) -> None:
        self.server = server
        self.model = meta["name"]
        self.input = meta["inputs"][0]
        self.executor = executor

    @staticmethod
    def check(meta: dict[str, Any]) -> None:
        name = meta.get("name", "?")
        inputs, outputs = meta.get("inputs", []), meta.get("outputs", [])
        names = [o.get("name") for o in outputs]
        if len(inputs) != 1 or not _is_bytes_image(inputs[0]):
            raise VisionModelError(
                name, f"this baseline runs SSD detectors only (INT32/UINT8 [batch, H, W, 3] → detection_boxes, "
                      f"detection_scores); it has inputs {_describe(inputs)}, outputs {_describe(outputs)}")
        if "detection_boxes" not in names or "detection_scores" not in names:
            raise VisionModelError(
                name, f"an SSD detector needs outputs detection_boxes and detection_scores, it has "
                      f"{', '.join(str(n) for n in names)}")

    async def detect(self, image: PreparedImage) -> list[Detection]:
        loop = asyncio.get_running_loop()
        out = await self.server.infer(
            self.model, [InferInput(self.input["name"], self.input["datatype"], _batch_of_one(image.content))],
            ["detection_boxes", "detection_scores"], executor=self.executor)
        boxes, scores = out.get("detection_boxes"), out.get("detection_scores")
        if boxes is None or scores is None:
            raise VisionModelError(self.model, "returned no boxes or scores")
        decoded = await loop.run_in_executor(self.executor, decode_ssd, boxes, scores)
        return to_detections(decoded, image.width, image.height)


class ImageEmbedder:
    """An image-embedding model taking RGB bytes [batch, H, W, 3], behind a KServe v2 server."""

    def __init__(self, server: InferenceServer, meta: dict[str, Any], executor: Executor) -> None:
        self.server = server
        self.model = meta["name"]
        self.input = meta["inputs"][0]
        self.output = meta["outputs"][0]
        self.dimension = int(self.output["shape"][-1])
        self.executor = executor

    @staticmethod
    def check(meta: dict[str, Any]) -> int:
        """The embedding dimension; VisionModelError when the model is not an embedder of RGB bytes."""
        name = meta.get("name", "?")
        inputs, outputs = meta.get("inputs", []), meta.get("outputs", [])
        if (len(inputs) != 1 or not outputs or len(outputs[0].get("shape", [])) != 2
                or outputs[0]["shape"][-1] < 1):
            raise VisionModelError(
                name, f"an image embedder takes one image and returns [batch, dimension]; it has inputs "
                      f"{_describe(inputs)}, outputs {_describe(outputs)}")
        if not _is_bytes_image(inputs[0]):
            raise VisionModelError(
                name, f"this baseline runs embedders of RGB bytes [batch, H, W, 3] only; its input is "
                      f"{_describe(inputs)}")
        return int(outputs[0]["shape"][-1])

    async def embed(self, pixels: np.ndarray) -> np.ndarray:
        """The L2-normalised float32 embedding of a square RGB picture (H x W x 3 bytes)."""
        out = await self.server.infer(
            self.model, [InferInput(self.input["name"], self.input["datatype"], _batch_of_one(pixels))],
            [self.output["name"]], executor=self.executor)
        v = out.get(self.output["name"])
        if v is None or v.dtype != np.float32 or v.size != self.dimension:
            raise VisionModelError(
                self.model, f"returned {0 if v is None else v.size} values, expected a {self.dimension}-d FP32 "
                            "vector")
        return normalized(v.reshape(-1))


def normalized(v: np.ndarray) -> np.ndarray:
    """L2-normalised float32 copy (the sum in float64, as pitlane does)."""
    v64 = v.astype(np.float64)
    norm = float(np.sqrt(np.dot(v64, v64)))
    return (v64 * (1.0 / norm) if norm > 0 else v64).astype(np.float32)
