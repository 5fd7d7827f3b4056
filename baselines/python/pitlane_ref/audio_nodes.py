"""Audio processing nodes with pitlane's semantics (``src/nodes/audio/``): AudioChunkerNode and AudioBuffer (fixed
size chunks per stream, remainder carried across frames) and AudioBufferAccumulatorNode (the utterances between a
VAD's speech start and end). Same params (with RemoteMedia's spellings), defaults, timestamps, metadata and item
errors as pitlane's; state per stream (``frame.stream_id``).

numpy is imported when a node initialises, not with this module.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence

from .js_json import js_dumps, type_name
from .node import DROP, ItemError, Node, Param, Report
from .problems import _child

np: Any = None


def _load() -> Any:
    """numpy and the AudioFrame class, imported on first use."""
    global np
    if np is None:
        import numpy

        np = numpy
    from .audio import AudioFrame

    return AudioFrame


def describe_format(sample_rate: Any, channels: int) -> str:
    """``48000 Hz, 2 channels``: a frame's format for messages."""
    return f"{sample_rate} Hz, {channels} channel{'' if channels == 1 else 's'}"


def wrong_format(node_type: str, expectation: str, frame: Any) -> ItemError:
    stream = "" if frame.stream_id is None else f" (stream '{frame.stream_id}')"
    return ItemError(f"{node_type} expects {expectation}, got "
                     f"{describe_format(frame.sample_rate, frame.channels)}{stream}")


def not_audio(node_type: str, item: Any) -> ItemError:
    return ItemError(f"{node_type} takes audio frames, got {'binary' if type(item) is bytes else type_name(item)}")


def _outputs(items: List[Any]) -> Any:
    """Nothing, one output or several (a generator), as pitlane's ``outputsOf``."""
    if not items:
        return DROP
    if len(items) == 1:
        return items[0]
    return (item for item in items)


class _Spellings:
    """Params RemoteMedia spells several ways: the first spelling given, and a problem when two disagree."""

    @staticmethod
    def value(params: Dict[str, Any], spellings: Sequence[str]) -> Any:
        for name in spellings:
            if name in params:
                return params[name]
        return None

    @staticmethod
    def check(params: Dict[str, Any], groups: Sequence[Sequence[str]], path: str, report: Report) -> None:
        for group in groups:
            given = [k for k in group if k in params]
            if not given:
                continue
            first = given[0]
            other = next((k for k in given if params[k] != params[first]), None)
            if other is not None:
                report(_child(path, other), f"{other} and {first} are two spellings of one param and disagree "
                                            f"({js_dumps(params[other])} vs {js_dumps(params[first])}); give one")


def _check_integer(params: Dict[str, Any], name: str, low: float, high: float, path: str, report: Report) -> None:
    value = params.get(name)
    if type(value) is not float:
        return
    if not value.is_integer():
        report(_child(path, name), f"expected an integer, got {js_dumps(value)}")
    elif not low <= value <= high:
        report(_child(path, name), f"expected {js_dumps(low)} to {js_dumps(high)}, got {js_dumps(value)}")


class _ChunkStream:
    __slots__ = ("sample_rate", "channels", "chunk_samples", "buf", "fill", "pos_us", "last")

    def __init__(self, frame: Any, chunk_frames: int, pos_us: float):
        self.sample_rate = frame.sample_rate
        self.channels = frame.channels
        self.chunk_samples = max(1, chunk_frames) * frame.channels
        self.buf = np.empty(self.chunk_samples, dtype=np.float32)
        self.fill = 0
        self.pos_us = pos_us
        self.last = frame


class FixedChunker:
    """Per-stream fixed-size chunking (pitlane's ``FixedChunker``): a chunk inside one frame is a view of it, one
    that straddles frames is copied; chunk timestamps are the stream's first timestamp plus the chunks before."""

    def __init__(self, node_type: str, chunk_frames: Any, on_format_change: str, emit_remainder: bool):
        self.node_type = node_type
        self.chunk_frames = chunk_frames  # sample rate -> frames per chunk
        self.on_format_change = on_format_change  # 'error' or 'emit'
        self.emit_remainder = emit_remainder
        self.streams: Dict[Optional[str], _ChunkStream] = {}

    def process(self, frame: Any) -> List[Any]:
        out: List[Any] = []
        st = self.streams.get(frame.stream_id)
        if st is None:
            st = self.streams[frame.stream_id] = _ChunkStream(
                frame, self.chunk_frames(frame.sample_rate), frame.timestamp_us or 0)
        elif st.sample_rate != frame.sample_rate or st.channels != frame.channels:
            if st.fill > 0:
                if self.on_format_change == "error":
                    held = describe_format(st.sample_rate, st.channels)
                    raise wrong_format(self.node_type, f"the format of the {st.fill // st.channels} frames it holds "
                                                       f"({held})", frame)
                out.append(self._remainder(st))
            st = self.streams[frame.stream_id] = _ChunkStream(frame, self.chunk_frames(frame.sample_rate), st.pos_us)
        st.last = frame
        s = frame.samples
        n = s.size
        cs = st.chunk_samples
        off = 0
        if st.fill > 0:
            take = min(cs - st.fill, n)
            st.buf[st.fill:st.fill + take] = s[:take]
            st.fill += take
            off = take
            if st.fill == cs:
                out.append(self._chunk(st, st.buf))
                st.buf = np.empty(cs, dtype=np.float32)
                st.fill = 0
        while n - off >= cs:
            out.append(self._chunk(st, s[off:off + cs]))
            off += cs
        if off < n:
            st.buf[st.fill:st.fill + n - off] = s[off:]
            st.fill += n - off
        return out

    def flush(self) -> List[Any]:
        out = [self._remainder(st) for st in self.streams.values() if st.fill > 0] if self.emit_remainder else []
        self.streams.clear()
        return out

    def _remainder(self, st: _ChunkStream) -> Any:
        chunk = self._chunk(st, st.buf[:st.fill].copy())
        st.fill = 0
        return chunk

    def _chunk(self, st: _ChunkStream, samples: Any) -> Any:
        timestamp_us = st.pos_us
        st.pos_us += (samples.size / st.channels / st.sample_rate) * 1e6
        return st.last.derive(samples, sample_rate=st.sample_rate, channels=st.channels, timestamp_us=timestamp_us)


class AudioChunkerNode(Node):
    """Cuts audio into chunks of ``chunk_size`` samples per channel (default 512) or ``chunk_size_ms`` per stream;
    the last partial chunk is dropped at end of stream; non-audio items are item errors."""

    type_name = "AudioChunkerNode"
    ALIASES = ("AudioChunker",)
    PARAMS = {"chunk_size": Param("number"), "chunkSize": Param("number"), "chunk_size_ms": Param("number")}
    _SIZE = ("chunk_size", "chunkSize")

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        for name in cls._SIZE:
            _check_integer(params, name, 1, 1_048_576, path, report)
        ms = params.get("chunk_size_ms")
        if type(ms) is float and not 0 < ms <= 60_000:
            report(_child(path, "chunk_size_ms"), f"expected more than 0 and at most 60000, got {js_dumps(ms)}")
        _Spellings.check(params, [cls._SIZE], path, report)
        if "chunk_size_ms" in params and _Spellings.value(params, cls._SIZE) is not None:
            report(_child(path, "chunk_size_ms"), "give chunk_size (samples) or chunk_size_ms, not both")

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        ms = self.params.get("chunk_size_ms")
        size = int(_Spellings.value(self.params, self._SIZE) or 512)
        chunk_frames = (lambda rate: size) if ms is None else (lambda rate: math.floor(ms * rate / 1000 + 0.5))
        self.chunker = FixedChunker("AudioChunkerNode", chunk_frames, "error", False)

    def initialize(self) -> None:
        self.frame_type = _load()

    def process(self, item: Any) -> Any:
        if type(item) is not self.frame_type:
            raise not_audio("AudioChunkerNode", item)
        return _outputs(self.chunker.process(item))

    def flush(self) -> Any:
        return self.chunker.flush()


class AudioBufferNode(Node):
    """Emits frames of exactly ``buffer_size_samples`` samples per channel per stream; the remainder goes out at a
    format change and at end of stream; non-audio is dropped (the Python SDK's AudioBuffer)."""

    type_name = "AudioBuffer"
    ALIASES = ()
    PARAMS = {"buffer_size_samples": Param("number", True)}

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        _check_integer(params, "buffer_size_samples", 1, 100_000_000, path, report)

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        size = int(self.params["buffer_size_samples"])
        self.chunker = FixedChunker("AudioBuffer", lambda rate: size, "emit", True)

    def initialize(self) -> None:
        self.frame_type = _load()

    def process(self, item: Any) -> Any:
        if type(item) is not self.frame_type:
            return DROP
        return _outputs(self.chunker.process(item))

    def flush(self) -> Any:
        return self.chunker.flush()


def vad_transition(event: Any) -> Optional[str]:
    """``start`` / ``end`` for a VAD event in RemoteMedia's form (``is_speech_start``) or pitlane's (``event``)."""
    if not isinstance(event, dict):
        return None
    if event.get("is_speech_start") is True:
        return "start"
    if event.get("is_speech_end") is True:
        return "end"
    kind = event.get("event")
    if kind == "speech_start":
        return "start"
    if kind == "speech_end":
        return "end"
    return None


def is_vad_event(event: Any) -> bool:
    """Whether a value is a VAD event in either form, with or without a transition."""
    return isinstance(event, dict) and ("is_speech_start" in event or "is_speech_end" in event
                                        or event.get("type") == "vad")


class _UtteranceStream:
    __slots__ = ("speaking", "held", "held_frames", "pending", "pending_frames", "next_us", "silent_frames",
                 "events_seen")

    def __init__(self) -> None:
        self.speaking = False
        self.held: List[Any] = []  # (frame, start µs) of the open utterance
        self.held_frames = 0
        self.pending: List[Any] = []  # recent (frame, start µs) while not speaking: the pre-roll
        self.pending_frames = 0
        self.next_us = 0.0
        self.silent_frames = 0  # non-speech frames since the last speech frame (per-frame verdicts only)
        self.events_seen = False  # the stream has had VAD events: per-frame verdicts are then ignored


class AudioBufferAccumulatorNode(Node):
    """Accumulates audio between VAD speech-start and speech-end events (JSON items or ``metadata.vad``; or, with
    only per-frame verdicts ``metadata.vad.is_speech``, speech until ``min_silence_duration_ms`` of non-speech)
    and emits one frame per utterance with ``metadata.utterance = {start, end}`` in seconds."""

    type_name = "AudioBufferAccumulatorNode"
    ALIASES = ("AudioBufferAccumulator",)
    _MIN = ("min_utterance_duration_ms", "minUtteranceDurationMs")
    _MAX = ("max_utterance_duration_ms", "maxUtteranceDurationMs")
    PARAMS = {name: Param("number") for name in (*_MIN, *_MAX, "pre_roll_ms", "min_silence_duration_ms",
                                                 "min_peak_amplitude")}
    NODE = "AudioBufferAccumulatorNode"

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        for name in (*cls._MIN, *cls._MAX, "pre_roll_ms", "min_silence_duration_ms"):
            _check_integer(params, name, 0, 3_600_000, path, report)
        peak = params.get("min_peak_amplitude")
        if type(peak) is float and not 0 <= peak <= 1:
            report(_child(path, "min_peak_amplitude"), f"expected 0 to 1, got {js_dumps(peak)}")
        _Spellings.check(params, [cls._MIN, cls._MAX], path, report)
        low = _Spellings.value(params, cls._MIN)
        high = _Spellings.value(params, cls._MAX)
        low = 250.0 if type(low) is not float else low
        high = 30_000.0 if type(high) is not float else high
        if high <= 0 or high < low:
            name = cls._MAX[1] if "maxUtteranceDurationMs" in params else cls._MAX[0]
            report(_child(path, name), f"must be above 0 and at least the minimum utterance duration "
                                       f"({js_dumps(low)} ms); got {js_dumps(high)}")

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        p = self.params
        low, high = _Spellings.value(p, self._MIN), _Spellings.value(p, self._MAX)
        self.min_ms = 250.0 if low is None else float(low)
        self.max_ms = 30_000.0 if high is None else float(high)
        self.pre_roll_ms = float(p.get("pre_roll_ms", 500.0))
        self.min_peak = float(p.get("min_peak_amplitude", 0.02))
        self.min_silence_ms = float(p.get("min_silence_duration_ms", 100.0))
        self.streams: Dict[Optional[str], _UtteranceStream] = {}

    def initialize(self) -> None:
        self.frame_type = _load()

    def _stream(self, stream_id: Optional[str]) -> _UtteranceStream:
        st = self.streams.get(stream_id)
        if st is None:
            st = self.streams[stream_id] = _UtteranceStream()
        return st

    def process(self, item: Any) -> Any:
        if type(item) is self.frame_type:
            st = self._stream(item.stream_id)
            vad = item.metadata.get("vad") if isinstance(item.metadata, dict) else None
            if is_vad_event(vad):
                st.events_seen = True
            t = None if vad is None else (vad_transition(vad) or self._from_verdict(st, vad, item))
            before = self._transition(st, t)
            after = self._add_frame(st, item)
            out = before if before is not None else after
            return DROP if out is None else out
        if not is_vad_event(item):
            return DROP
        stream_id = item.get("stream_id")
        st = self._stream(stream_id if type(stream_id) is str else None)
        st.events_seen = True
        out = self._transition(st, vad_transition(item))
        return DROP if out is None else out

    def _from_verdict(self, st: _UtteranceStream, vad: Any, frame: Any) -> Optional[str]:
        """The transition a per-frame verdict ``{is_speech}`` implies, with the min_silence_duration_ms hangover."""
        is_speech = vad.get("is_speech") if isinstance(vad, dict) else None
        if type(is_speech) is not bool or st.events_seen:
            return None
        if is_speech:
            st.silent_frames = 0
            return None if st.speaking else "start"
        if not st.speaking:
            return None
        st.silent_frames += frame.frames
        if (st.silent_frames / frame.sample_rate) * 1000 < self.min_silence_ms:
            return None
        st.silent_frames = 0
        return "end"

    def flush(self) -> Any:
        out = []
        for st in self.streams.values():
            if st.speaking:
                u = self._close(st)
                if u is not None:
                    out.append(u)
        self.streams.clear()
        return out

    def _transition(self, st: _UtteranceStream, t: Optional[str]) -> Any:
        if t == "start":
            if not st.speaking:
                st.speaking = True
                st.held, st.held_frames = st.pending, st.pending_frames
                st.pending, st.pending_frames = [], 0
            return None
        if t == "end":
            st.pending, st.pending_frames = [], 0
            return self._close(st) if st.speaking else None
        return None

    def _add_frame(self, st: _UtteranceStream, frame: Any) -> Any:
        start_us = frame.timestamp_us if frame.timestamp_us is not None else st.next_us
        st.next_us = start_us + frame.duration_seconds * 1e6
        entry = (frame, start_us)
        if not st.speaking:
            if st.pending:
                first = st.pending[0][0]
                if first.sample_rate != frame.sample_rate or first.channels != frame.channels:
                    st.pending, st.pending_frames = [], 0
            st.pending.append(entry)
            st.pending_frames += frame.frames
            keep = (self.pre_roll_ms / 1000) * frame.sample_rate  # at most pre_roll_ms, whole frames, newest kept
            while st.pending and st.pending_frames - st.pending[0][0].frames >= keep:
                st.pending_frames -= st.pending.pop(0)[0].frames
            if keep == 0:
                st.pending, st.pending_frames = [], 0
            return None
        if st.held:
            first = st.held[0][0]
            if first.sample_rate != frame.sample_rate or first.channels != frame.channels:
                began = describe_format(first.sample_rate, first.channels)
                raise wrong_format(self.NODE, f"every frame of an utterance in one format (this one began as {began})",
                                   frame)
        st.held.append(entry)
        st.held_frames += frame.frames
        if (st.held_frames / frame.sample_rate) * 1000 >= self.max_ms:
            u = self._close(st)
            st.speaking = True
            return u
        return None

    def _close(self, st: _UtteranceStream) -> Any:
        held = st.held
        st.held, st.held_frames, st.speaking = [], 0, False
        if not held:
            return None
        first_frame, first_start = held[0]
        last_frame = held[-1][0]
        rate, channels = first_frame.sample_rate, first_frame.channels
        total = sum(h[0].samples.size for h in held)
        if (total / channels / rate) * 1000 < self.min_ms:
            return None
        samples = np.concatenate([h[0].samples for h in held]) if len(held) > 1 else held[0][0].samples.copy()
        peak = float(np.abs(samples).max()) if samples.size else 0.0
        if peak < self.min_peak:
            return None
        end_us = first_start + (total / channels / rate) * 1e6
        metadata = {k: v for k, v in (first_frame.metadata or {}).items() if k != "vad"}
        metadata["utterance"] = {"start": first_start / 1e6, "end": end_us / 1e6}
        return last_frame.derive(samples, timestamp_us=first_start, metadata=metadata)


_QUALITIES = ("Low", "Medium", "High", "low", "medium", "high")


def _quality(value: Any) -> str:
    q = value.lower() if type(value) is str else ""
    return "Low" if q == "low" else "High" if q == "high" else "Medium"


def _check_rate(params: Dict[str, Any], name: str, path: str, report: Report, auto: bool = True) -> None:
    value = params.get(name)
    if value is None or (auto and value == "auto"):
        return
    if type(value) is not float or not value.is_integer() or not 1000 <= value <= 768_000:
        shown = js_dumps(value) if type(value) in (float, str) else type_name(value)
        alternative = ' or "auto"' if auto else ""
        report(_child(path, name), f"expected an integer rate from 1000 to 768000 Hz{alternative}, got {shown}")


class _ResamplingNode(Node):
    """What FastResampleNode and AudioTransform share: a ResamplingCore (the reference's resampler) per node."""

    def initialize(self) -> None:
        self.frame_type = _load()
        from .resample import ResamplingCore

        self.core = ResamplingCore(self.type_name, *self.settings())

    def settings(self) -> "tuple":
        raise NotImplementedError

    def process(self, item: Any) -> Any:
        if type(item) is not self.frame_type:
            return item
        core = self.core
        if core.source_rate is not None and item.sample_rate != core.source_rate:
            raise wrong_format(self.type_name, f"audio at {core.source_rate} Hz (its source_rate)", item)
        known = core.stream_format(item)
        if known is not None and known != (item.sample_rate, item.channels):
            raise wrong_format(self.type_name, "every frame of a stream in the format of its first frame "
                                               f"({describe_format(*known)})", item)
        out, error = core.process(item)
        if error is not None:
            raise ItemError(error)
        return DROP if out is None else out

    def flush(self) -> Any:
        return self.core.flush()


class FastResampleNode(_ResamplingNode):
    """Resamples audio to ``target_rate`` (one streaming converter per stream, tail drained at end of stream);
    optional mix to ``channels``; non-audio passes through. The reference's resampler is its own windowed sinc
    (``resample``), not libsamplerate."""

    type_name = "FastResampleNode"
    ALIASES = ("AudioResample", "RustResampleNode", "AutoResampleNode")
    _SOURCE = ("source_rate", "sourceRate")
    _TARGET = ("target_rate", "targetRate", "target_sample_rate")
    PARAMS = {**{name: Param("any") for name in (*_SOURCE, *_TARGET)},
              "quality": Param("string", False, _QUALITIES), "channels": Param("number")}

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        for name in (*cls._SOURCE, *cls._TARGET):
            _check_rate(params, name, path, report)
        _check_integer(params, "channels", 1, 8, path, report)
        _Spellings.check(params, [cls._SOURCE, cls._TARGET], path, report)

    def settings(self) -> "tuple":
        p = self.params

        def rate(names: Sequence[str]) -> Optional[int]:
            value = _Spellings.value(p, names)
            return None if value is None or value == "auto" else int(value)

        channels = p.get("channels")
        return (rate(self._SOURCE), rate(self._TARGET), None if channels is None else int(channels),
                _quality(p.get("quality")), 1.0)


class AudioTransformNode(_ResamplingNode):
    """Resamples audio to ``output_sample_rate`` (default 44100) and mixes to ``output_channels`` (default 2), one
    converter per stream; optional ``gain_db`` or ``gain``; non-audio passes through."""

    type_name = "AudioTransform"
    ALIASES = ()
    PARAMS = {"output_sample_rate": Param("number"), "output_channels": Param("number"),
              "quality": Param("string", False, _QUALITIES), "gain_db": Param("number"), "gain": Param("number")}

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        _check_rate(params, "output_sample_rate", path, report, auto=False)
        _check_integer(params, "output_channels", 1, 8, path, report)
        for name, low, high in (("gain_db", -120, 60), ("gain", 0, 1000)):
            value = params.get(name)
            if type(value) is float and not low <= value <= high:
                report(_child(path, name), f"expected {low} to {high}, got {js_dumps(value)}")
        if "gain" in params and "gain_db" in params:
            report(_child(path, "gain"), "give gain (linear) or gain_db (decibels), not both")

    def settings(self) -> "tuple":
        p = self.params
        gain = float(p["gain"]) if "gain" in p else 10 ** (float(p["gain_db"]) / 20) if "gain_db" in p else 1.0
        return (None, int(p.get("output_sample_rate", 44100.0)), int(p.get("output_channels", 2.0)),
                _quality(p.get("quality")), gain)


class AudioResampleNode(_ResamplingNode):
    """The Python SDK's AudioResampleNode: resamples to ``target_sample_rate`` (default 16000) at quality high by
    default; channels are kept; non-audio passes through."""

    type_name = "AudioResampleNode"
    ALIASES = ()
    PARAMS = {"target_sample_rate": Param("number"), "quality": Param("string", False, _QUALITIES)}

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        _check_rate(params, "target_sample_rate", path, report, auto=False)

    def settings(self) -> "tuple":
        p = self.params
        return (None, int(p.get("target_sample_rate", 16000.0)), None, _quality(p.get("quality", "high")), 1.0)
