"""FastVAD, the energy voice-activity detector, as pitlane specifies it (``src/nodes/audio/energy-vad.ts`` and
``vad-stream.ts``, its doc comment gives the algorithm to the bit): per stream, the mono mix (mean of the channels
in float64) is cut into windows of floor(rate × frame_duration_ms / 1000) samples across frame boundaries; a
window is voiced when its mean square (summed in sample order) is above energy_threshold² (or
10^(energy_threshold_db / 10)); speech starts at a voiced window and ends after min_silence_duration_ms of unvoiced
ones. Per frame the node outputs the speech_start / speech_end events decided in it (or one ``frame`` event), then
the frame itself; at end of input a ``speech_end`` closes speech still open. The events are SileroVAD's, so either
feeds AudioBufferAccumulatorNode. Aliases: RemoteMedia's FastVADNode, RustVADNode and VADNode.

numpy is imported when the node initialises, not with this module.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

from .node import DROP, ItemError, Node, Param, Report, from_frame
from .problems import _child

np: Any = None  # numpy, imported when a node initialises


def _stream_name(stream_id: Optional[str]) -> str:
    return "(default)" if stream_id is None else f"'{stream_id}'"


def mono_of(frame: Any) -> Any:
    """The mono mix of a frame in float64: the channels summed in order, divided by their count."""
    x = frame.samples
    channels = frame.channels
    if channels == 1:
        return x.astype(np.float64)
    rows = x.reshape(-1, channels).astype(np.float64)
    total = rows[:, 0].copy()
    for c in range(1, channels):
        total += rows[:, c]
    return total / channels


def _sequential_sum_of_squares(x: Any) -> float:
    return float(np.cumsum(x * x)[-1]) if x.size else 0.0


class VadStream:
    """One stream's windowing and segmentation state (pitlane's ``VadStream`` with scores of 1 and 0)."""

    def __init__(self, sample_rate: float, window_size: int, min_silence_ms: float):
        self.sample_rate = sample_rate
        self.n = window_size
        self.min_silence_ms = min_silence_ms
        self.window = np.empty(window_size, dtype=np.float64)
        self.fill = 0
        self.window_start_us = 0.0
        self.next_us = 0.0
        self.last_window_end_us: Optional[float] = None
        self.analysed = 0
        self.triggered = False
        self.silent_samples = 0
        self.silence_start_us = 0.0
        self.score = 0.0
        self.rms = 0.0
        self.peak = 0.0

    def feed(self, frame: Any, threshold: float) -> List[Any]:
        """The outputs for one frame: its transition events (or one ``frame`` event), then the frame."""
        base_us = frame.timestamp_us if frame.timestamp_us is not None else self.next_us
        mono = mono_of(frame)
        count = mono.size
        self.rms = math.sqrt(_sequential_sum_of_squares(mono) / count) if count else 0.0
        self.peak = float(np.abs(mono).max()) if count else 0.0
        events: List[Dict[str, Any]] = []
        rate = self.sample_rate
        n = self.n
        window = self.window
        offset = 0
        while offset < count:
            if self.fill == 0:
                self.window_start_us = base_us + (offset * 1e6) / rate
            take = min(n - self.fill, count - offset)
            window[self.fill:self.fill + take] = mono[offset:offset + take]
            self.fill += take
            offset += take
            if self.fill == n:
                voiced = _sequential_sum_of_squares(window) / n > threshold
                self._decide(1.0 if voiced else 0.0, frame, events)
        out: List[Any] = events
        if not out:
            out.append(from_frame(self._event("frame", self.last_window_end_us if self.last_window_end_us is not None
                                              else base_us, frame.stream_id, frame.frames), frame))
        out.append(frame)
        self.next_us = base_us + (frame.frames * 1e6) / rate
        return out

    def _decide(self, score: float, frame: Any, events: List[Dict[str, Any]]) -> None:
        n = self.n
        self.fill = 0
        self.analysed += n
        self.score = score
        self.last_window_end_us = self.window_start_us + (n * 1e6) / self.sample_rate
        if score >= 1:
            self.silent_samples = 0
            if not self.triggered:
                self.triggered = True
                events.append(from_frame(self._event("speech_start", self.window_start_us, frame.stream_id, frame.frames), frame))
        elif self.triggered:
            if self.silent_samples == 0:
                self.silence_start_us = self.window_start_us
            self.silent_samples += n
            if self.silent_samples * 1000 >= self.min_silence_ms * self.sample_rate:
                self.triggered = False
                self.silent_samples = 0
                events.append(from_frame(self._event("speech_end", self.silence_start_us, frame.stream_id, frame.frames), frame))

    def finish(self, stream_id: Optional[str]) -> Optional[Dict[str, Any]]:
        """At end of input: a speech_end for speech still open."""
        if not self.triggered:
            return None
        self.triggered = False
        at = self.silence_start_us if self.silent_samples > 0 else self.next_us
        self.silent_samples = 0
        self.rms = 0.0
        self.peak = 0.0
        return self._event("speech_end", at, stream_id, 0)

    def _event(self, kind: str, at_us: float, stream_id: Optional[str], samples: int) -> Dict[str, Any]:
        us = float(math.floor(at_us))
        event: Dict[str, Any] = {"type": "vad", "event": kind}
        if stream_id is not None:
            event["stream_id"] = stream_id
        event.update({
            "time": us / 1e6,
            "timestamp_us": us,
            "has_speech": self.score >= 1,
            "speech_probability": self.score,
            "is_speech_start": kind == "speech_start",
            "is_speech_end": kind == "speech_end",
            "timestamp_ms": float(math.floor((self.analysed * 1000) / self.sample_rate)),
            "rms": self.rms,
            "peak": self.peak,
            "samples": float(samples),
            "sample_rate": float(self.sample_rate),
        })
        return event


def _outputs(items: List[Any]) -> Any:
    return (item for item in items) if items else DROP


class FastVADNode(Node):
    """Energy voice activity detection (mean square vs a threshold, with a hangover): SileroVAD's events."""

    type_name = "FastVAD"
    ALIASES = ("FastVADNode", "RustVADNode", "VADNode")
    PARAMS = {"frame_duration_ms": Param("number"), "energy_threshold": Param("number"),
              "energy_threshold_db": Param("number"), "min_silence_duration_ms": Param("number")}
    _LIMITS = {  # name: (integer, minimum, exclusive minimum, maximum)
        "frame_duration_ms": (True, 1, False, 1000),
        "energy_threshold": (False, 0, True, 1),
        "energy_threshold_db": (False, None, False, 0),
        "min_silence_duration_ms": (True, 0, False, 5000),
    }

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        for name, (integer, low, exclusive, high) in cls._LIMITS.items():
            value = params.get(name)
            if type(value) is not float:
                continue
            if integer and not value.is_integer():
                report(_child(path, name), f"expected an integer, got {value:g}")
            elif low is not None and (value <= low if exclusive else value < low):
                report(_child(path, name), f"must be {'>' if exclusive else '>='} {low:g}, got {value:g}")
            elif value > high:
                report(_child(path, name), f"must be <= {high:g}, got {value:g}")
        if "energy_threshold" in params and "energy_threshold_db" in params:
            report(_child(path, "energy_threshold_db"),
                   "give energy_threshold (linear) or energy_threshold_db, not both (they are one setting)")

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        p = self.params
        self.frame_duration_ms = float(p.get("frame_duration_ms", 30.0))
        self.min_silence_ms = float(p.get("min_silence_duration_ms", 100.0))
        linear = float(p.get("energy_threshold", 0.01))
        db = p.get("energy_threshold_db")
        self.threshold = linear * linear if db is None else 10 ** (float(db) / 10)
        self.streams: Dict[Optional[str], VadStream] = {}
        self.frame_type: Any = None

    def initialize(self) -> None:
        global np
        import numpy

        from .audio import AudioFrame

        np = numpy
        self.frame_type = AudioFrame

    def process(self, item: Any) -> Any:
        if type(item) is not self.frame_type:
            return item
        stream = self.streams.get(item.stream_id)
        if stream is None:
            n = math.floor((item.sample_rate * self.frame_duration_ms) / 1000)
            if n < 1:
                raise ItemError(f"FastVAD: a {self.frame_duration_ms:g} ms window at {item.sample_rate} Hz holds no "
                                "sample; raise frame_duration_ms")
            stream = self.streams[item.stream_id] = VadStream(item.sample_rate, n, self.min_silence_ms)
        elif stream.sample_rate != item.sample_rate:
            raise ItemError(
                f"FastVAD: stream {_stream_name(item.stream_id)} changed sample rate from {stream.sample_rate} Hz "
                f"to {item.sample_rate} Hz; a stream's frames must keep one rate")
        return _outputs(stream.feed(item, self.threshold))

    def flush(self) -> Any:
        events = [s.finish(stream_id) for stream_id, s in self.streams.items()]
        return [e for e in events if e is not None]


class _OnnxOnlyNode(Node):
    """A pitlane node type that runs an ONNX model (Silero VAD, Whisper): Debian has no ONNX Runtime for Python,
    so the reference refuses it at validation, naming it, instead of calling it an unknown type."""

    PARAMS: Dict[str, Param] = {}

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        pass  # the node is refused as a whole (validate_node)

    @classmethod
    def validate_node(cls, spec: Dict[str, Any], path: str, report: Report, base_dir: str) -> None:
        report(_child(path, "node_type"), f"{spec.get('node_type')} runs an ONNX model, which the CPython reference "
                                          f"executor cannot load (no ONNX Runtime for Python here); {cls.INSTEAD}")


class SileroVADNode(_OnnxOnlyNode):
    type_name = "SileroVAD"
    ALIASES = ("SileroVADNode",)
    INSTEAD = "use FastVAD (the energy VAD both executors implement)"


class WhisperSTTNode(_OnnxOnlyNode):
    type_name = "WhisperSTT"
    ALIASES = ("RustWhisperNode", "HFWhisperNode", "WhisperNode", "WhisperTranscriptionNode", "RustWhisperTranscriber",
               "candle-whisper")
    INSTEAD = "use PocketSphinxSTT"
