"""The stream-health analysers (RemoteMedia's, as pitlane implements them in ``src/nodes/health/``): AudioLevel,
SilenceDetector, ClippingDetector and ChannelBalance emit one JSON event per audio frame in place of the audio
(other items pass through). HealthEmitter, which turns frame timing and their events into drift, cadence and health
events, is in ``health_emitter``; EventCorrelator in ``event_correlator``. Same params, defaults, formulas, key
order and numbers as pitlane's (the signal measures are in ``audio_measures``, which sums in pitlane's order).
State is per stream (``frame.stream_id``).

This module does not import numpy: the nodes import their measures in ``initialize()``, so a JSON pipeline that
merely validates against these types stays numpy-free.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

from .node import Node, Param, from_frame

NUMBER = Param("number")


class _AudioEventNode(Node):
    """An analyser: one event per audio frame, other items unchanged."""

    DEFAULTS: Dict[str, float] = {}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.p = {name: float(self.params.get(name, default)) for name, default in self.DEFAULTS.items()}
        self.frame_type: Any = None

    def initialize(self) -> None:
        from . import audio_measures
        from .audio import AudioFrame

        self.frame_type = AudioFrame
        self.m = audio_measures

    def process(self, item: Any) -> Any:
        if type(item) is not self.frame_type:
            return item
        return from_frame(self.event(item), item)  # latency follows the event

    def event(self, frame: Any) -> Dict[str, Any]:
        raise NotImplementedError


def _ids(frame: Any) -> "tuple[Any, Any]":
    ts = frame.timestamp_us
    return frame.stream_id, (None if ts is None else float(ts))


class AudioLevelNode(_AudioEventNode):
    """RMS and peak dBFS of each frame, silence and low-volume flags, health (``audio_level_event``)."""

    type_name = "AudioLevel"
    DEFAULTS = {"low_volume_threshold_db": -20.0, "silence_threshold_db": -60.0}
    PARAMS = {"low_volume_threshold_db": NUMBER, "silence_threshold_db": NUMBER, "window_size_ms": NUMBER}

    def event(self, frame: Any) -> Dict[str, Any]:
        m = self.m
        low, silence = self.p["low_volume_threshold_db"], self.p["silence_threshold_db"]
        n = frame.samples.size
        sum_squares, peak, _ = m.measure_samples(frame.samples, math.inf)
        rms_db = m.amplitude_db(math.sqrt(sum_squares / n) if n > 0 else 0.0)
        is_silence = rms_db <= silence
        if is_silence:
            health = 0.0
        elif rms_db >= low:
            health = 1.0
        else:
            health = min(1.0, max(0.0, (rms_db - silence) / (low - silence)))
        stream_id, ts = _ids(frame)
        return {
            "_schema": "audio_level_event",
            "health": health,
            "is_low_volume": not is_silence and rms_db <= low,
            "is_silence": is_silence,
            "peak_db": m.amplitude_db(peak),
            "rms_db": rms_db,
            "stream_id": stream_id,
            "timestamp_us": ts,
        }


class _SilenceState:
    __slots__ = ("silent_frames", "was_silent", "transitions")

    def __init__(self) -> None:
        self.silent_frames = 0
        self.was_silent = False
        self.transitions: List["tuple[float, bool]"] = []  # (timestamp µs, went silent), oldest first


class SilenceDetectorNode(_AudioEventNode):
    """Silent frames, sustained silence and dropouts within a window of stream time (``silence_event``)."""

    type_name = "SilenceDetector"
    DEFAULTS = {"silence_threshold_db": -50.0, "sustained_silence_ms": 500.0, "dropout_count_threshold": 3.0,
                "dropout_window_ms": 5000.0}
    PARAMS = {name: NUMBER for name in DEFAULTS}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.streams: Dict[Any, _SilenceState] = {}

    def event(self, frame: Any) -> Dict[str, Any]:
        p = self.p
        st = self.streams.get(frame.stream_id)
        if st is None:
            st = self.streams[frame.stream_id] = _SilenceState()
        rms_db = self.m.amplitude_db(self.m.rms_of(frame.samples))
        is_silent = rms_db <= p["silence_threshold_db"]
        st.silent_frames = st.silent_frames + frame.frames if is_silent else 0
        silence_ms = (st.silent_frames * 1000) / frame.sample_rate
        sustained = silence_ms >= p["sustained_silence_ms"]
        now = frame.timestamp_us or 0
        if is_silent != st.was_silent:
            st.transitions.append((now, is_silent))
            window_us = p["dropout_window_ms"] * 1000
            st.transitions = [t for t in st.transitions if max(0, now - t[0]) < window_us]
        st.was_silent = is_silent
        dropouts = sum(1 for t in st.transitions if t[1])
        stream_id, ts = _ids(frame)
        return {
            "_schema": "silence_event",
            "dropout_count": float(dropouts),
            "has_intermittent_dropouts": dropouts >= p["dropout_count_threshold"],
            "health": 1.0 if not is_silent else 0.0 if sustained else 1 - silence_ms / p["sustained_silence_ms"],
            "is_silent": is_silent,
            "is_sustained_silence": sustained,
            "rms_db": rms_db,
            "silence_duration_ms": float(silence_ms),
            "stream_id": stream_id,
            "timestamp_us": ts,
        }


class ClippingDetectorNode(_AudioEventNode):
    """Saturated samples (percent) and crest factor of each frame (``clipping_event``)."""

    type_name = "ClippingDetector"
    DEFAULTS = {"saturation_threshold": 0.99, "saturation_ratio_threshold": 1.0, "crest_factor_threshold_db": 3.0}
    PARAMS = {"saturation_threshold": NUMBER, "saturation_ratio_threshold": NUMBER,
              "crest_factor_threshold_db": NUMBER, "clipping_threshold": NUMBER}

    def event(self, frame: Any) -> Dict[str, Any]:
        p = self.p
        n = frame.samples.size
        sum_squares, peak, saturated = self.m.measure_samples(frame.samples, p["saturation_threshold"])
        ratio = (saturated / n) * 100 if n > 0 else 0.0
        rms = math.sqrt(sum_squares / n) if n > 0 else 0.0
        crest_db = 0.0 if n == 0 else 20 * self.m.js_log10(peak / rms) if rms > 0 else 20.0
        threshold = p["saturation_ratio_threshold"]
        stream_id, ts = _ids(frame)
        return {
            "_schema": "clipping_event",
            "crest_factor_db": crest_db,
            "health": max(0.0, 1 - min(1.0, ratio / threshold)),
            "is_clipping": ratio >= threshold or crest_db <= p["crest_factor_threshold_db"],
            "saturation_ratio": float(ratio),
            "stream_id": stream_id,
            "timestamp_us": ts,
        }


class ChannelBalanceNode(_AudioEventNode):
    """Left/right levels of stereo frames, imbalance and dead channel (``channel_balance_event``); other channel
    counts read as balanced."""

    type_name = "ChannelBalance"
    DEFAULTS = {"imbalance_threshold_db": 10.0, "dead_channel_threshold_db": -60.0}
    PARAMS = {name: NUMBER for name in DEFAULTS}

    def event(self, frame: Any) -> Dict[str, Any]:
        stream_id, ts = _ids(frame)
        if frame.channels != 2:
            return {"_schema": "channel_balance_event", "balance_ratio": 1.0, "dead_channel": "none",
                    "has_dead_channel": False, "health": 1.0, "imbalance_db": 0.0, "is_imbalanced": False,
                    "left_rms_db": 0.0, "right_rms_db": 0.0, "stream_id": stream_id, "timestamp_us": ts}
        imbalance, dead = self.p["imbalance_threshold_db"], self.p["dead_channel_threshold_db"]
        left, right = self.m.channel_sums(frame.samples)
        n = frame.samples.size / 2
        left_rms = math.sqrt(left / n) if n > 0 else 0.0
        right_rms = math.sqrt(right / n) if n > 0 else 0.0
        left_db, right_db = self.m.amplitude_db(left_rms), self.m.amplitude_db(right_rms)
        left_dead, right_dead = left_db <= dead, right_db <= dead
        has_dead = left_dead != right_dead
        diff_db = left_db - right_db
        return {
            "_schema": "channel_balance_event",
            "balance_ratio": left_rms / right_rms if right_rms > 0 else None if left_rms > 0 else 1.0,
            "dead_channel": ("left" if left_dead else "right") if has_dead else "none",
            "has_dead_channel": has_dead,
            "health": 0.0 if has_dead else max(0.0, 1 - min(1.0, abs(diff_db) / imbalance)),
            "imbalance_db": diff_db,
            "is_imbalanced": has_dead or abs(diff_db) >= imbalance,
            "left_rms_db": left_db,
            "right_rms_db": right_db,
            "stream_id": stream_id,
            "timestamp_us": ts,
        }
