"""The stream-health nodes (RemoteMedia's, as pitlane implements them in ``src/nodes/health/``): AudioLevel,
SilenceDetector, ClippingDetector and ChannelBalance emit one JSON event per audio frame in place of the audio
(other items pass through); HealthEmitter turns frame timing (``DriftMetrics``) and the other nodes' events into
drift, cadence and health events. Same params, defaults, formulas, key order and numbers as pitlane's (the signal
measures are in ``audio_measures``, which sums in pitlane's order). State is per stream (``frame.stream_id``).

This module does not import numpy: the nodes import their measures in ``initialize()``, so a JSON pipeline that
merely validates against these types stays numpy-free.
"""

from __future__ import annotations

import math
import time
from typing import Any, Dict, List, Optional

from .node import DROP, Node, Param, carry_arrival, from_frame

_NUMBER = Param("number")


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
    PARAMS = {"low_volume_threshold_db": _NUMBER, "silence_threshold_db": _NUMBER, "window_size_ms": _NUMBER}

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
    PARAMS = {name: _NUMBER for name in DEFAULTS}

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
    PARAMS = {"saturation_threshold": _NUMBER, "saturation_ratio_threshold": _NUMBER,
              "crest_factor_threshold_db": _NUMBER, "clipping_threshold": _NUMBER}

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
    PARAMS = {name: _NUMBER for name in DEFAULTS}

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


# -- HealthEmitter and its drift metrics (pitlane's drift-metrics.ts, RemoteMedia's DriftMetrics)

DRIFT_SLOPE, LEAD_JUMP, CADENCE_UNSTABLE, HEALTH_LOW = 1, 2, 4, 8
_DRIFT_ALERT_NAMES = ((DRIFT_SLOPE, "DRIFT_SLOPE"), (LEAD_JUMP, "LEAD_JUMP"), (CADENCE_UNSTABLE, "CADENCE_UNSTABLE"),
                      (HEALTH_LOW, "HEALTH_LOW"))
_SLOPE_THRESHOLD_MS_PER_S = 5
_SLOPE_EMA_ALPHA = 0.1
_SAMPLES_TO_RAISE = 5
_SAMPLES_TO_CLEAR = 10
_WARMUP_SAMPLES = 50
_BUFFER_SIZE = 1000
_DISCONTINUITY_US = 2_000_000


class _Alert:
    """One alert's hysteresis: consecutive frames for or against it."""

    __slots__ = ("raised", "count")

    def __init__(self) -> None:
        self.raised = False
        self.count = 0

    def update(self, condition: bool) -> bool:
        if self.raised:
            if condition:
                self.count = 0
            else:
                self.count += 1
                if self.count >= _SAMPLES_TO_CLEAR:
                    self.raised, self.count = False, 0
                    return True
        elif condition:
            self.count += 1
            if self.count >= _SAMPLES_TO_RAISE:
                self.raised, self.count = True, 0
                return True
        else:
            self.count = 0
        return False


class DriftMetrics:
    """One stream's timing health: lead of arrival over media time, its EMA slope, jumps, cadence (coefficient of
    variation of the media intervals over the last 1000 frames), alerts with hysteresis, a health score."""

    def __init__(self, lead_jump_us: float, cadence_cv_threshold: float, health_threshold: float):
        self.lead_jump_us = lead_jump_us
        self.cadence_cv_threshold = cadence_cv_threshold
        self.health_threshold = health_threshold
        self.total = 0
        self.session_start: Optional[float] = None
        self.baseline_arrival: Optional[float] = None
        self.baseline_media: Optional[float] = None
        self.last_media: Optional[float] = None
        self.recorded = 0
        self.last_elapsed = 0.0
        self.last_lead = 0.0
        self.prev_lead = 0.0
        self.slope = 0.0
        self.cadence = [0.0] * _BUFFER_SIZE
        self.cadence_start = 0
        self.cadence_count = 0
        self.cadence_sum = 0.0
        self.cadence_sum_squares = 0.0
        self.slope_alert, self.jump_alert, self.cadence_alert, self.health_alert = (
            _Alert(), _Alert(), _Alert(), _Alert())

    def record(self, media_us: float, arrival_us: float) -> bool:
        """Records one frame; True when an alert was raised or cleared."""
        self.total += 1
        if self.session_start is None:
            self.session_start = arrival_us
        last = self.last_media
        if last is not None and (media_us < last or media_us - last > _DISCONTINUITY_US):
            self.baseline_arrival = self.baseline_media = self.last_media = None
            for alert in (self.slope_alert, self.jump_alert, self.cadence_alert, self.health_alert):
                alert.raised, alert.count = False, 0
        if self.baseline_arrival is None:
            self.baseline_arrival = arrival_us
        if self.baseline_media is None:
            self.baseline_media = media_us
        lead = max(0, arrival_us - self.baseline_arrival) - max(0, media_us - self.baseline_media)
        elapsed = max(0, arrival_us - self.session_start)
        if self.recorded > 0:
            d_elapsed = max(0, elapsed - self.last_elapsed)
            if d_elapsed > 0:
                instant = ((lead - self.last_lead) / d_elapsed) * 1000
                self.slope = _SLOPE_EMA_ALPHA * instant + (1 - _SLOPE_EMA_ALPHA) * self.slope
        if self.last_media is not None:
            self._push_cadence(max(0, media_us - self.last_media))
        self.prev_lead = self.last_lead
        self.last_lead = lead
        self.last_elapsed = elapsed
        if self.recorded < 2:
            self.recorded += 1
        self.last_media = media_us
        if self.total <= _WARMUP_SAMPLES:
            return False
        changed = self.slope_alert.update(abs(self.slope) > _SLOPE_THRESHOLD_MS_PER_S)
        jump = self.recorded > 1 and abs(lead - self.prev_lead) > self.lead_jump_us
        changed = self.jump_alert.update(jump) or changed
        changed = self.cadence_alert.update(self.cadence_cv() > self.cadence_cv_threshold) or changed
        changed = self.health_alert.update(self.health_score() < self.health_threshold) or changed
        return changed

    def _push_cadence(self, interval: float) -> None:
        if self.cadence_count == _BUFFER_SIZE:
            old = self.cadence[self.cadence_start]
            self.cadence_sum -= old
            self.cadence_sum_squares -= old * old
            self.cadence[self.cadence_start] = interval
            self.cadence_start = (self.cadence_start + 1) % _BUFFER_SIZE
        else:
            self.cadence[(self.cadence_start + self.cadence_count) % _BUFFER_SIZE] = interval
            self.cadence_count += 1
        self.cadence_sum += interval
        self.cadence_sum_squares += interval * interval

    def cadence_cv(self) -> float:
        n = self.cadence_count
        if n < 2:
            return 0.0
        mean = self.cadence_sum / n
        if mean < 1:
            return 0.0
        return math.sqrt(max(0.0, self.cadence_sum_squares / n - mean * mean)) / mean

    def health_score(self) -> float:
        slope_penalty = min(1.0, abs(self.slope) / _SLOPE_THRESHOLD_MS_PER_S) * 0.3
        cadence_penalty = min(1.0, self.cadence_cv() / self.cadence_cv_threshold) * 0.2
        return max(0.0, 1 - slope_penalty - cadence_penalty)

    def alerts(self) -> int:
        return ((DRIFT_SLOPE if self.slope_alert.raised else 0) | (LEAD_JUMP if self.jump_alert.raised else 0)
                | (CADENCE_UNSTABLE if self.cadence_alert.raised else 0)
                | (HEALTH_LOW if self.health_alert.raised else 0))

    def lead_us(self) -> Optional[float]:
        return self.last_lead if self.recorded > 0 else None


_ISSUES = ("SILENCE", "LOW_VOLUME", "SUSTAINED_SILENCE", "INTERMITTENT_DROPOUTS", "CLIPPING", "CHANNEL_IMBALANCE",
           "DEAD_CHANNEL", "SESSION_UNHEALTHY", "SESSION_DEGRADED")
_BIT = {name: 1 << i for i, name in enumerate(_ISSUES)}
_FLAGS = {  # event schema -> (boolean field, issue)
    "audio_level_event": (("is_silence", "SILENCE"), ("is_low_volume", "LOW_VOLUME")),
    "silence_event": (("is_sustained_silence", "SUSTAINED_SILENCE"),
                      ("has_intermittent_dropouts", "INTERMITTENT_DROPOUTS")),
    "clipping_event": (("is_clipping", "CLIPPING"),),
    "channel_balance_event": (("is_imbalanced", "CHANNEL_IMBALANCE"), ("has_dead_channel", "DEAD_CHANNEL")),
}
_SESSION = _BIT["SESSION_UNHEALTHY"] | _BIT["SESSION_DEGRADED"]


def _issues_after(issues: int, schema: str, e: Dict[str, Any]) -> int:
    flags = _FLAGS.get(schema)
    if flags is not None:
        for field, issue in flags:
            issues = issues | _BIT[issue] if e.get(field) is True else issues & ~_BIT[issue]
        return issues
    state = e.get("state")
    if e.get("event_type") != "session.health" or type(state) is not str:
        return issues
    cleared = issues & ~_SESSION
    if state == "unhealthy":
        return cleared | _BIT["SESSION_UNHEALTHY"]
    if state == "degraded":
        return cleared | _BIT["SESSION_DEGRADED"]
    return cleared


def _outputs(events: List[Dict[str, Any]]) -> Any:
    """None, one or several events as a node's output (DROP, the event, a generator)."""
    if not events:
        return DROP
    if len(events) == 1:
        return events[0]
    return (e for e in events)


def _event_ts() -> str:
    return f"{math.floor(time.time())}000000"


class _StreamHealth:
    def __init__(self, drift: DriftMetrics):
        self.drift = drift
        self.frames = 0
        self.last_score: Optional[float] = None
        self.last_alerts = 0
        self.issues = 0
        self.last_issues = 0
        self.upstream: Dict[str, float] = {}


class HealthEmitterNode(Node):
    """Drift and cadence alerts from audio frame timing, and health ``{score, alerts}`` events from audio or from
    the other stream-health nodes' events (emitted when they change). Text and binary items give nothing."""

    type_name = "HealthEmitter"
    DEFAULTS = {"lead_threshold_ms": 50.0, "freeze_threshold_ms": 500.0, "av_skew_threshold_ms": 80.0,
                "cadence_cv_threshold": 0.3, "health_threshold": 0.7, "score_change_threshold": 0.05}
    PARAMS = {**{name: _NUMBER for name in DEFAULTS}, "health_emit_interval_ms": _NUMBER}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        p = {name: float(self.params.get(name, default)) for name, default in self.DEFAULTS.items()}
        self.lead_threshold_ms = p["lead_threshold_ms"]
        self.cadence_threshold = p["cadence_cv_threshold"]
        self.health_threshold = p["health_threshold"]
        self.score_change = p["score_change_threshold"]
        self.streams: Dict[Any, _StreamHealth] = {}
        self.frame_type: Any = None

    def initialize(self) -> None:
        from .audio import AudioFrame, monotonic_us

        self.frame_type = AudioFrame
        self.monotonic_us = monotonic_us

    def _stream(self, stream_id: Any) -> _StreamHealth:
        st = self.streams.get(stream_id)
        if st is None:
            drift = DriftMetrics(self.lead_threshold_ms * 1000, self.cadence_threshold, self.health_threshold)
            st = self.streams[stream_id] = _StreamHealth(drift)
        return st

    def process(self, item: Any) -> Any:
        if type(item) is self.frame_type:
            events = self._on_frame(item)
        elif item is None or type(item) in (str, bytes):
            return DROP
        else:
            events = self._on_event(item if isinstance(item, dict) else {})
        # Latency follows the events: they carry the arrival of the frame or event they answer.
        return _outputs([carry_arrival(e, item) for e in events])

    def _with_stream(self, event: Dict[str, Any], stream_id: Any) -> Dict[str, Any]:
        """An event with ``stream_id`` after its first key in key order, for a stream with an id."""
        if stream_id is None:
            return event
        keys = sorted([*event, "stream_id"])
        event["stream_id"] = stream_id
        return {k: event[k] for k in keys}

    def _on_frame(self, frame: Any) -> List[Dict[str, Any]]:
        st = self._stream(frame.stream_id)
        media_us = frame.timestamp_us
        if media_us is None:
            media_us = math.floor((st.frames * frame.frames * 1e6) / frame.sample_rate)
        arrival_us = frame.arrival_ts_us if frame.arrival_ts_us is not None else self.monotonic_us()
        st.frames += 1
        drift = st.drift
        before = drift.alerts()
        changed = drift.record(media_us, arrival_us)
        after = drift.alerts()
        events: List[Dict[str, Any]] = []
        if changed:
            raised = after & ~before
            lead = drift.lead_us()
            if raised & (DRIFT_SLOPE | LEAD_JUMP) and lead is not None:
                events.append(self._with_stream({"lead_ms": float(math.trunc(lead / 1000)),
                                                 "threshold_ms": self.lead_threshold_ms, "ts": _event_ts(),
                                                 "type": "drift"}, frame.stream_id))
            if raised & CADENCE_UNSTABLE:
                events.append(self._with_stream({"cv": drift.cadence_cv(), "threshold": self.cadence_threshold,
                                                 "ts": _event_ts(), "type": "cadence"}, frame.stream_id))
        score = drift.health_score()
        alerts_changed = (after & ~HEALTH_LOW) != (st.last_alerts & ~HEALTH_LOW)
        if alerts_changed or self._score_changed(st, score) or st.issues != st.last_issues:
            events.append(self._health_event(st, score, after, frame.stream_id))
        return events

    def _on_event(self, e: Dict[str, Any]) -> List[Dict[str, Any]]:
        stream_id = e.get("stream_id") if type(e.get("stream_id")) is str else None
        st = self._stream(stream_id)
        schema = e.get("_schema") if type(e.get("_schema")) is str else ""
        health = e.get("health")
        if schema != "" and type(health) in (float, int):
            st.upstream[schema] = health
        st.issues = _issues_after(st.issues, schema, e)
        score = 1.0
        for h in st.upstream.values():
            if h < score:
                score = h
        if st.issues == st.last_issues and not self._score_changed(st, score):
            return []
        return [self._health_event(st, score, st.drift.alerts(), stream_id)]

    def _score_changed(self, st: _StreamHealth, score: float) -> bool:
        return st.last_score is None or abs(score - st.last_score) >= self.score_change

    def _health_event(self, st: _StreamHealth, score: float, alerts: int, stream_id: Any) -> Dict[str, Any]:
        st.last_score = score
        st.last_alerts = alerts
        st.last_issues = st.issues
        names = [name for flag, name in _DRIFT_ALERT_NAMES if alerts & flag]
        names += [name for name in _ISSUES if st.issues & _BIT[name]]
        names.sort()
        return self._with_stream({"alerts": names, "score": float(score), "ts": _event_ts(), "type": "health"},
                                 stream_id)


# -- EventCorrelator (pitlane's event-correlator.ts, RemoteMedia's event_correlator.rs)

_ALERT_TYPES = frozenset(("timing.jitter_spike", "timing.clock_drift", "timing.lead_jump", "drift", "freeze", "cadence",
                          "av_skew"))
_SEVERITIES = ("low", "medium", "high", "critical")


def _flag(e: Dict[str, Any], field: str) -> bool:
    return e.get(field) is True


def _declared_type(e: Dict[str, Any]) -> Optional[str]:
    t = e.get("event_type") if type(e.get("event_type")) is str else e.get("type")
    return t if type(t) is str else None


def _is_alert(e: Dict[str, Any]) -> bool:
    return ((_declared_type(e) or "") in _ALERT_TYPES or _flag(e, "is_clipping") or _flag(e, "is_sustained_silence")
            or _flag(e, "is_imbalanced") or _flag(e, "has_dead_channel") or e.get("state") in ("dead_air", "unhealthy"))


def _severity(alert_type: str, e: Dict[str, Any]) -> int:
    """0 low … 3 critical."""
    if alert_type == "freeze":
        return 3
    if alert_type in ("timing.clock_drift", "timing.lead_jump"):
        return 2
    if alert_type in ("timing.jitter_spike", "drift", "cadence", "av_skew"):
        return 1
    if _flag(e, "is_clipping") or _flag(e, "has_dead_channel"):
        return 2
    if _flag(e, "is_sustained_silence"):
        return 1
    return {"unhealthy": 2, "degraded": 1}.get(e.get("state") if type(e.get("state")) is str else "", 0)


def _pattern(alerts: List[Any]) -> str:
    def any_of(test: Any) -> bool:
        return any(test(t, e) for t, _, e in alerts)

    silence = any_of(lambda t, e: "silence" in t or _flag(e, "is_sustained_silence"))
    if silence and any_of(lambda t, e: t.startswith("timing.")):
        return "silence_then_reconnect"
    clipping = any_of(lambda t, e: _flag(e, "is_clipping"))
    imbalance = any_of(lambda t, e: _flag(e, "is_imbalanced") or _flag(e, "has_dead_channel"))
    if clipping and imbalance:
        return "clipping_with_imbalance"
    if any_of(lambda t, e: t == "freeze") and any_of(lambda t, e: "drift" in t):
        return "freeze_with_drift"
    issues = sum(1 for _, _, e in alerts if _flag(e, "is_clipping") or _flag(e, "is_low_volume")
                 or _flag(e, "is_imbalanced"))
    return "audio_quality_degradation" if issues >= 2 else "unknown"


class _Incident:
    __slots__ = ("alerts", "start_us", "last_us")

    def __init__(self, alert: Any, now_us: float):
        self.alerts = [alert]  # (type, timestamp µs, event)
        self.start_us = now_us
        self.last_us = now_us


def _incident_event(inc: _Incident, now_us: float) -> Dict[str, Any]:
    import uuid

    worst = max(_severity(t, e) for t, _, e in inc.alerts)
    return {
        "_schema": "incident_v1",
        "duration_ms": float(math.trunc(max(0, inc.last_us - inc.start_us) / 1000)),
        "event_count": float(len(inc.alerts)),
        "event_type": "incident",
        "events": [{"timestamp_us": ts, "type": t} for t, ts, _ in inc.alerts],
        "incident_id": f"inc_{str(uuid.uuid4())[:8]}",
        "pattern": _pattern(inc.alerts),
        "severity": _SEVERITIES[worst],
        "timestamp_us": now_us,
    }


class EventCorrelatorNode(Node):
    """Groups stream-health alerts close in (stream) time into ``incident_v1`` events (severity, pattern) and
    passes the alerts on; text, audio and binary pass through; other JSON gives nothing. State per stream."""

    type_name = "EventCorrelator"
    PARAMS = {"correlation_window_ms": _NUMBER, "min_events_for_incident": _NUMBER,
              "emit_raw_events": Param("any")}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        p = self.params
        self.window_us = float(p.get("correlation_window_ms", 5000.0)) * 1000
        self.min_events = float(p.get("min_events_for_incident", 2.0))
        self.emit_raw = p.get("emit_raw_events", True) is not False
        self.streams: Dict[Any, Any] = {}  # stream id -> [open incidents (oldest first), clock µs or None]

    def process(self, item: Any) -> Any:
        if type(item) in (str, bytes) or type(item).__name__ == "AudioFrame":
            return item
        if not isinstance(item, (dict, list)):
            return DROP  # null, numbers, booleans give nothing
        e = item if isinstance(item, dict) else {}
        return _outputs([carry_arrival(out, item) for out in self._events(e)])

    def _events(self, e: Dict[str, Any]) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = []
        stream_id = e.get("stream_id") if type(e.get("stream_id")) is str else None
        st = self.streams.get(stream_id)
        if st is None:
            st = self.streams[stream_id] = [[], None]
        if type(e.get("timestamp_us")) in (float, int):
            st[1] = e["timestamp_us"]
        now_us = st[1] if st[1] is not None else time.time() * 1e6
        incidents: List[_Incident] = st[0]
        if _is_alert(e):
            alert_type = _declared_type(e) or (e["_schema"] if type(e.get("_schema")) is str else "unknown")
            alert = (alert_type, now_us, e)
            joined = next((inc for inc in incidents if max(0, now_us - inc.last_us) < self.window_us), None)
            if joined is not None:
                joined.alerts.append(alert)
                joined.last_us = now_us
            else:
                incidents.append(_Incident(alert, now_us))
            if self.emit_raw:
                out.append(e)
        for i in range(len(incidents) - 1, -1, -1):  # closed incidents leave in reverse order of opening
            inc = incidents[i]
            if max(0, now_us - inc.last_us) < self.window_us:
                continue
            del incidents[i]
            if len(inc.alerts) >= self.min_events:
                out.append(_incident_event(inc, now_us))
        return out

    def flush(self) -> Any:
        out = []
        for incidents, _ in self.streams.values():
            out += [_incident_event(inc, inc.last_us) for inc in incidents if len(inc.alerts) >= self.min_events]
            incidents.clear()
        return out
