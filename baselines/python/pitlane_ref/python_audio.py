"""Audio frames as a Python node sees them, as pitlane's CPython worker gives them (``src/python/worker/
pitlane_audio.py``, docs/python-nodes.md "Audio"), so that the same node code runs unchanged in the reference.

A frame item reaches ``process()`` as an ``AudioFrame`` of this module, importable in node code as
``from pitlane import AudioFrame`` (the module is registered under the name ``pitlane``): ``samples`` a read-only
numpy float32 array, shape (frames,) for mono and (frames, channels) for more; ``sample_rate``, ``channels``,
``stream_id``, ``timestamp_us`` (integral numbers as ``int``) and ``metadata``; ``frames``, ``duration`` and
``start``; ``derive(samples, ...)``; RemoteMedia's ``is_audio()``, ``data_type()`` and ``as_tuple()``.

A node returns audio as an ``AudioFrame`` or RemoteMedia's ``(audio_data, sample_rate)`` tuple (a numpy array of
shape (samples,) or (channels, samples), or an ``array.array('f')`` / ``memoryview``); samples may be a numpy array
of any float dtype, ``array.array``, ``memoryview``, a list of numbers or little-endian f32 bytes. Output frames
take the input frame's arrival time, and its stream id when they have none, as in pitlane.

This module does not import numpy: the conversions do, when a frame crosses.
"""

from __future__ import annotations

import array
import math
from typing import Any, Optional

from .node import ItemError


def _is_ndarray(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype")


class AudioFrame:
    """A frame of PCM audio: f32 samples in [-1, 1] with their rate, channel count, stream and timing."""

    __slots__ = ("samples", "sample_rate", "channels", "stream_id", "timestamp_us", "metadata")

    def __init__(self, samples: Any, sample_rate: Any, channels: Any = None, stream_id: Optional[str] = None,
                 timestamp_us: Any = None, metadata: Any = None):
        if channels is None:
            channels = samples.shape[1] if _is_ndarray(samples) and samples.ndim == 2 else 1
        self.samples = samples
        self.sample_rate = sample_rate
        self.channels = channels
        self.stream_id = stream_id
        self.timestamp_us = timestamp_us
        self.metadata = metadata

    @property
    def frames(self) -> int:
        """Samples per channel."""
        return _sample_count(self.samples) // self.channels

    @property
    def duration(self) -> float:
        """Length of the frame in seconds."""
        return self.frames / self.sample_rate

    @property
    def start(self) -> float:
        """Presentation time of the first sample in seconds (0 without a timestamp)."""
        return (self.timestamp_us or 0) / 1e6

    def derive(self, samples: Any, sample_rate: Any = None, channels: Any = None, timestamp_us: Any = None,
               metadata: Any = None) -> "AudioFrame":
        """A new frame with other samples that keeps this frame's stream id and, unless given, the rest."""
        if channels is None and not (_is_ndarray(samples) and samples.ndim == 2):
            channels = self.channels
        return AudioFrame(samples, self.sample_rate if sample_rate is None else sample_rate, channels, self.stream_id,
                          self.timestamp_us if timestamp_us is None else timestamp_us,
                          self.metadata if metadata is None else metadata)

    def is_audio(self) -> bool:
        return True

    def data_type(self) -> str:
        return "audio"

    def as_tuple(self) -> "tuple":
        """RemoteMedia's ``(audio_data, sample_rate)``: audio_data has shape (channels, samples)."""
        s = self.samples
        if _is_ndarray(s):
            return (s.reshape(-1, self.channels).T, self.sample_rate)
        return (s, self.sample_rate)

    def __repr__(self) -> str:
        return "AudioFrame(%d frames, %s Hz, %d ch, stream_id=%r, timestamp_us=%r)" % (
            self.frames, self.sample_rate, self.channels, self.stream_id, self.timestamp_us)


def _sample_count(samples: Any) -> int:
    if _is_ndarray(samples):
        return int(samples.size)
    if isinstance(samples, memoryview):
        return samples.nbytes // samples.itemsize
    if isinstance(samples, (bytes, bytearray)):
        return len(samples) // 4
    return len(samples)


def _integral(value: Any) -> Any:
    if type(value) is float and value.is_integer() and abs(value) <= 2.0 ** 53:
        return int(value)
    return value


def node_view(frame: Any, metadata: Any) -> AudioFrame:
    """The frame a Python node receives for a pipeline frame (``metadata`` already converted)."""
    samples = frame.samples
    if frame.channels > 1:
        samples = samples.reshape(-1, frame.channels)
    view = samples.view()
    view.flags.writeable = False
    return AudioFrame(view, _integral(frame.sample_rate), frame.channels, frame.stream_id,
                      _integral(frame.timestamp_us), metadata)


def audio_of(value: Any) -> Optional[AudioFrame]:
    """The AudioFrame a node's output stands for (a frame, or RemoteMedia's tuple), or None."""
    if type(value) is AudioFrame:
        return value
    if type(value) is tuple and len(value) == 2:
        data, rate = value
        if _is_ndarray(data):
            if data.ndim == 2:  # RemoteMedia's (channels, samples)
                return AudioFrame(data.T, rate, data.shape[0])
            return AudioFrame(data, rate, 1)
        if isinstance(data, (array.array, memoryview)):
            return AudioFrame(data, rate, 1)
    return None


def from_node(frame: AudioFrame, convert_metadata: Any) -> Any:
    """A node's output frame as a pipeline frame (samples copied into float32); ItemError says what is wrong."""
    import numpy as np

    from .audio import AudioFrame as PipelineFrame

    rate = frame.sample_rate
    if not isinstance(rate, (int, float)) and not hasattr(rate, "__float__"):
        raise ItemError(f"an audio frame's sample_rate must be a number (got {type(rate).__name__})")
    if not 0 < float(rate) < math.inf:
        raise ItemError(f"an audio frame needs a positive sample_rate (got {rate!r})")
    channels = frame.channels
    if not hasattr(channels, "__index__") or int(channels) < 1:
        raise ItemError(f"an audio frame needs at least one channel (got {channels!r})")
    channels = int(channels)
    if frame.stream_id is not None and type(frame.stream_id) is not str:
        raise ItemError(f"an audio frame's stream_id must be a str or None (got {type(frame.stream_id).__name__})")
    s = frame.samples
    if _is_ndarray(s):
        if s.ndim > 2 or (s.ndim == 2 and s.shape[1] != channels):
            raise ItemError(f"audio samples of shape {tuple(s.shape)} do not fit {channels} channel(s): give "
                            "(frames,) or (frames, channels)")
        samples = np.array(s.reshape(-1), dtype=np.float32)
    elif isinstance(s, (bytes, bytearray)):
        if len(s) % 4:
            raise ItemError("audio samples given as bytes must be little-endian f32 (a multiple of 4 bytes)")
        samples = np.frombuffer(bytes(s), dtype="<f4").astype(np.float32)
    else:
        try:
            samples = np.array(s.tolist() if isinstance(s, memoryview) else s, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError):
            raise ItemError("audio samples must be a numpy array, array.array, memoryview, list of numbers or bytes "
                            f"(got {type(s).__name__})") from None
    if samples.size % channels:
        raise ItemError(f"{samples.size} samples do not divide into {channels} interleaved channels")
    ts = frame.timestamp_us
    metadata = None if frame.metadata is None else convert_metadata(frame.metadata)
    return PipelineFrame(samples, float(rate) if type(rate) is not int else rate, channels, frame.stream_id,
                         None if ts is None else float(ts), None, metadata)
