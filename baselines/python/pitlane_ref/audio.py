"""The audio item: ``AudioFrame``, the reference's twin of pitlane's (``src/core/audio.ts``, RemoteMedia's
``RuntimeData::Audio``): ``samples`` a numpy float32 array in [-1, 1], interleaved when there are several channels,
``sample_rate``, ``channels``, ``stream_id`` (None = the default track), ``timestamp_us`` (presentation time of the
first sample), ``arrival_ts_us`` (when the frame entered the pipeline, on ``monotonic_us``'s clock: per-frame
latency is measured from it) and ``metadata``.

Frames are immutable by contract (a fan-out shares them): a node that changes samples makes a new frame with
``derive``, which keeps the stream id, timestamps and metadata. Its JSON form (``to_json``: JSONL output, error
records) is pitlane's, key for key: ``type, sample_rate, channels, frames, duration[, stream_id][, timestamp_us]
[, metadata][, samples_f32le_base64]``.

numpy is imported here, and this module is imported only when audio is used, so JSON pipelines start without it.
"""

from __future__ import annotations

import base64
import math
import time
from typing import Any, Dict, Optional

import numpy as np


class AudioInputError(Exception):
    """Audio input that cannot be read (``PL_ERR_AUDIO_INPUT``, exit 2): the message names the input (``stdin``
    for ``-``) and the problem, in pitlane's words."""

    def __init__(self, source: str, message: str):
        super().__init__(f"{'stdin' if source == '-' else source}: {message}")
        self.source = source


def monotonic_us() -> float:
    """The monotonic clock frames are stamped with, in µs."""
    return time.perf_counter() * 1e6


def js_round(x: float) -> int:
    """JavaScript's ``Math.round``: the nearest integer, halves toward +infinity."""
    return math.floor(x + 0.5)


class AudioFrame:
    """A frame of PCM audio (see the module docstring)."""

    __slots__ = ("samples", "sample_rate", "channels", "stream_id", "timestamp_us", "arrival_ts_us", "metadata")

    def __init__(
        self,
        samples: Any,
        sample_rate: float,
        channels: int,
        stream_id: Optional[str] = None,
        timestamp_us: Optional[float] = None,
        arrival_ts_us: Optional[float] = None,
        metadata: Optional[Dict[str, Any]] = None,
    ):
        if type(channels) is not int or channels < 1:
            raise ValueError(f"an audio frame needs at least one channel (got {channels})")
        if not (sample_rate > 0) or not math.isfinite(sample_rate):
            raise ValueError(f"an audio frame needs a positive sample rate (got {sample_rate})")
        if type(samples) is not np.ndarray or samples.dtype != np.float32:
            samples = np.asarray(samples, dtype=np.float32)
        if samples.size % channels != 0:
            raise ValueError(f"{samples.size} samples do not divide into {channels} interleaved channels")
        self.samples = samples
        self.sample_rate = sample_rate
        self.channels = channels
        self.stream_id = stream_id
        self.timestamp_us = timestamp_us
        self.arrival_ts_us = arrival_ts_us
        self.metadata = metadata

    @property
    def frames(self) -> int:
        """Samples per channel."""
        return self.samples.size // self.channels

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.sample_rate

    @property
    def start_seconds(self) -> float:
        return (self.timestamp_us or 0) / 1e6

    def derive(self, samples: Any, sample_rate: Optional[float] = None, channels: Optional[int] = None,
               timestamp_us: Optional[float] = None, metadata: Optional[Dict[str, Any]] = None) -> "AudioFrame":
        """A new frame with other samples (and optionally another rate, channel count, timestamp or metadata) that
        keeps this frame's stream id, timestamps and, unless replaced, metadata."""
        return AudioFrame(
            samples,
            self.sample_rate if sample_rate is None else sample_rate,
            self.channels if channels is None else channels,
            self.stream_id,
            self.timestamp_us if timestamp_us is None else timestamp_us,
            self.arrival_ts_us,
            self.metadata if metadata is None else metadata,
        )

    def to_json(self, with_samples: bool = False) -> Dict[str, Any]:
        """pitlane's JSON form of a frame (``audioFrameJson``); samples only with ``with_samples``."""
        json: Dict[str, Any] = {
            "type": "audio",
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "frames": self.frames,
            "duration": self.frames / self.sample_rate,
        }
        if self.stream_id is not None:
            json["stream_id"] = self.stream_id
        if self.timestamp_us is not None:
            json["timestamp_us"] = self.timestamp_us
        if self.metadata is not None:
            json["metadata"] = self.metadata
        if with_samples:
            json["samples_f32le_base64"] = base64.b64encode(f32le_bytes(self.samples)).decode("ascii")
        return json

    def __repr__(self) -> str:
        return (f"AudioFrame({self.frames} frames, {self.sample_rate} Hz x {self.channels}, "
                f"stream_id={self.stream_id!r}, timestamp_us={self.timestamp_us!r})")


_F32LE = np.dtype("<f4")


def f32le_bytes(samples: Any) -> bytes:
    """The samples as little-endian f32 bytes."""
    return np.ascontiguousarray(samples, dtype=_F32LE).tobytes()
