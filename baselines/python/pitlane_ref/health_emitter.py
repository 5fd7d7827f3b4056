"""HealthEmitter and its drift metrics (pitlane's ``src/nodes/health/health-emitter.ts`` and ``drift-metrics.ts``,
RemoteMedia's health_emitter.rs and DriftMetrics): frame timing and the analysers' events (``health_nodes``) become
drift, cadence and health events, with the same params, key order and numbers as pitlane's. State is per stream.
"""

from __future__ import annotations

import math
import time
from typing import Any, Dict, List, Optional

from .health_nodes import NUMBER as _NUMBER
from .node import DROP, Node, carry_arrival

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


def outputs(events: List[Dict[str, Any]]) -> Any:
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
        return outputs([carry_arrival(e, item) for e in events])

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
