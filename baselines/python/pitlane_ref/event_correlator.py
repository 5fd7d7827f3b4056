"""EventCorrelator (pitlane's ``src/nodes/health/event-correlator.ts``, RemoteMedia's event_correlator.rs): alerts
of the stream-health nodes grouped into incidents, with the same params, key order and numbers as pitlane's.
"""

from __future__ import annotations

import math
import time
from typing import Any, Dict, List, Optional

from .health_emitter import outputs as _outputs
from .health_nodes import NUMBER as _NUMBER
from .node import DROP, Node, Param, carry_arrival

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
