"""pitlane_audio: the audio frame as a Python node sees it (docs/python-nodes.md, "Audio"), in both runtimes.

An AudioFrame item of the pipeline (src/core/audio.ts) reaches a node's process() as an AudioFrame of this
module, with the same fields under Python names: samples, sample_rate, channels, stream_id, timestamp_us,
metadata. Node code imports the class as `from pitlane import AudioFrame`: the CPython worker and the Pyodide helper
register this module under the name `pitlane` as well.

What `samples` is depends on the runtime:

- CPython worker with numpy: a read-only numpy float32 array viewing the bytes received (no copy), shape (frames,)
  for mono and (frames, channels) for more channels (the interleaved samples, one row per sample instant);
- Pyodide, or a CPython without numpy: a read-only memoryview of format 'f', flat (frames * channels values,
  interleaved).

A node returns audio as an AudioFrame (usually `frame.derive(new_samples)`, which keeps the stream id, timestamp and
metadata), or RemoteMedia's way as a tuple `(audio_data, sample_rate)`: audio_data a numpy array of shape
(samples,) for mono or (channels, samples) (RemoteMedia's channel-first layout; it is interleaved on the way out),
or an array.array('f') / memoryview of mono samples. Samples given as a numpy array of any float dtype, an
array.array, a memoryview, a list of numbers or bytes (little-endian f32) are all accepted on the way out.

Standard library only; numpy is imported the first time a frame crosses (the worker starts without it).
"""

import array
import sys

_LITTLE = sys.byteorder == "little"
_numpy = None  # the numpy module once imported; False when it is not installed


def numpy_or_none():
    """numpy, imported on first use; None when it is not installed (or in Pyodide, which has no numpy here)."""
    global _numpy
    if _numpy is None:
        try:
            import numpy

            _numpy = numpy
        except ImportError:
            _numpy = False
    return _numpy or None


def _is_ndarray(value):
    return type(value).__module__ == "numpy" and hasattr(value, "dtype")


class AudioFrame:
    """A frame of PCM audio: f32 samples in [-1, 1] with their rate, channel count, stream and timing."""

    __slots__ = ("samples", "sample_rate", "channels", "stream_id", "timestamp_us", "metadata")

    def __init__(self, samples, sample_rate, channels=None, stream_id=None, timestamp_us=None, metadata=None):
        if channels is None:
            channels = samples.shape[1] if _is_ndarray(samples) and samples.ndim == 2 else 1
        self.samples = samples
        self.sample_rate = sample_rate
        self.channels = channels
        self.stream_id = stream_id
        self.timestamp_us = timestamp_us
        self.metadata = metadata

    @property
    def frames(self):
        """Samples per channel."""
        return _sample_count(self.samples) // self.channels

    @property
    def duration(self):
        """Length of the frame in seconds."""
        return self.frames / self.sample_rate

    @property
    def start(self):
        """Presentation time of the first sample in seconds (0 without a timestamp)."""
        return (self.timestamp_us or 0) / 1e6

    def derive(self, samples, sample_rate=None, channels=None, timestamp_us=None, metadata=None):
        """A new frame with other samples that keeps this frame's stream id and, unless given, the rest."""
        if channels is None and not (_is_ndarray(samples) and samples.ndim == 2):
            channels = self.channels
        return AudioFrame(
            samples,
            self.sample_rate if sample_rate is None else sample_rate,
            channels,
            self.stream_id,
            self.timestamp_us if timestamp_us is None else timestamp_us,
            self.metadata if metadata is None else metadata,
        )

    # RemoteMedia's RuntimeData API, for nodes written against it.
    def is_audio(self):
        return True

    def data_type(self):
        return "audio"

    def as_tuple(self):
        """RemoteMedia's `(audio_data, sample_rate)`: with numpy, audio_data has shape (channels, samples)."""
        s = self.samples
        if _is_ndarray(s):
            return (s.reshape(-1, self.channels).T, self.sample_rate)
        return (s, self.sample_rate)

    def __repr__(self):
        return "AudioFrame(%d frames, %s Hz, %d ch, stream_id=%r, timestamp_us=%r)" % (
            self.frames,
            self.sample_rate,
            self.channels,
            self.stream_id,
            self.timestamp_us,
        )


def _sample_count(samples):
    if _is_ndarray(samples):
        return int(samples.size)
    if isinstance(samples, memoryview):
        return samples.nbytes // samples.itemsize
    if isinstance(samples, (bytes, bytearray)):
        return len(samples) // 4
    return len(samples)


# -- Crossing the boundary (pitlane_worker.py and pitlane_pyodide_codec.py call these)


def from_wire(data, sample_rate, channels, stream_id, timestamp_us, metadata, use_numpy=True):
    """A frame of the little-endian f32 bytes `data` (a memoryview or bytes; viewed, not copied)."""
    np = numpy_or_none() if use_numpy else None
    if np is not None:
        samples = np.frombuffer(data, dtype="<f4")
        if channels > 1:
            samples = samples.reshape(-1, channels)
    else:
        view = memoryview(data)
        samples = view.cast("f") if _LITTLE else memoryview(_swapped(view))
        if not samples.readonly:
            samples = samples.toreadonly()
    return AudioFrame(samples, sample_rate, channels, stream_id, timestamp_us, metadata)


def _swapped(view):
    a = array.array("f")
    a.frombytes(view)
    a.byteswap()
    return a


def audio_of(value):
    """The AudioFrame a node's output stands for (a frame, or RemoteMedia's (audio_data, sample_rate) tuple), or
    None when the value is something else."""
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


class AudioValueError(ValueError):
    """An audio output that cannot cross (bad rate, channel count or samples)."""


def to_wire(frame):
    """(little-endian f32 bytes-like, sample count, [sample_rate, channels, stream_id, timestamp_us]) of an output
    frame, the numbers as plain int or float (a numpy scalar is fine); raises AudioValueError saying what is wrong."""
    rate = _plain_number(frame.sample_rate, "sample_rate")
    if not (rate > 0 and rate < float("inf")):
        raise AudioValueError("an audio frame needs a positive sample_rate (got %r)" % (rate,))
    channels = frame.channels
    if not hasattr(channels, "__index__") or int(channels) < 1:
        raise AudioValueError("an audio frame needs at least one channel (got %r)" % (channels,))
    channels = int(channels)
    stream_id = frame.stream_id
    if stream_id is not None and type(stream_id) is not str:
        raise AudioValueError("an audio frame's stream_id must be a str or None (got %s)" % type(stream_id).__name__)
    timestamp_us = frame.timestamp_us
    if timestamp_us is not None:
        timestamp_us = _plain_number(timestamp_us, "timestamp_us")
        if not (abs(timestamp_us) < float("inf")):
            raise AudioValueError("an audio frame's timestamp_us must be finite (got %r)" % (timestamp_us,))
    if frame.metadata is not None and not isinstance(frame.metadata, dict):
        kind = type(frame.metadata).__name__
        raise AudioValueError("an audio frame's metadata must be a dict or None (got %s)" % kind)
    data = _f32le(frame.samples, channels)
    count = len(data) // 4
    if count % channels:
        raise AudioValueError("%d samples do not divide into %d interleaved channels" % (count, channels))
    return data, count, [rate, channels, stream_id, timestamp_us]


def _plain_number(x, name):
    """x as an int (when integral) or a float; AudioValueError when it is not a number."""
    if type(x) is bool or not (hasattr(x, "__index__") or hasattr(x, "__float__")):
        raise AudioValueError("an audio frame's %s must be a number (got %s)" % (name, type(x).__name__))
    if hasattr(x, "__index__"):
        return int(x)
    f = float(x)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _f32le(samples, channels):
    if _is_ndarray(samples):
        np = numpy_or_none()
        if samples.ndim > 2 or (samples.ndim == 2 and samples.shape[1] != channels):
            raise AudioValueError(
                "audio samples of shape %s do not fit %d channel(s): give (frames,) or (frames, channels)"
                % (tuple(samples.shape), channels)
            )
        if samples.size == 0:
            return b""
        arr = np.ascontiguousarray(samples.reshape(-1), dtype="<f4")
        return memoryview(arr).cast("B")
    if isinstance(samples, (bytes, bytearray)):
        if len(samples) % 4:
            raise AudioValueError("audio samples given as bytes must be little-endian f32 (a multiple of 4 bytes)")
        return samples
    if isinstance(samples, memoryview) and samples.format == "f" and samples.c_contiguous and _LITTLE:
        return samples.cast("B") if samples.ndim == 1 else samples.tobytes()
    if isinstance(samples, array.array) and samples.typecode == "f" and _LITTLE:
        return memoryview(samples).cast("B")
    try:
        values = samples.tolist() if isinstance(samples, memoryview) else samples
        a = array.array("f", values)
    except TypeError:
        raise AudioValueError(
            "audio samples must be a numpy array, array.array, memoryview, list of numbers or bytes (got %s)"
            % type(samples).__name__
        ) from None
    if not _LITTLE:
        a.byteswap()
    return memoryview(a).cast("B")
