"""How items cross into and out of a Python node (the value table of docs/python-nodes.md): integral numbers
become ``int`` on the way in; outputs are checked and copied into plain JSON values on the way out. Audio frames
cross as ``python_audio`` says (a read-only numpy view in, an AudioFrame or RemoteMedia's tuple out).
"""

from __future__ import annotations

import sys
from typing import Any

from .js_json import _TWO_53
from .node import ItemError


def _to_python(value: Any) -> Any:
    """An item as a Python node receives it: integral numbers of magnitude <= 2**53 become ``int``."""
    t = type(value)
    if t is float:
        if value.is_integer() and -_TWO_53 <= value <= _TWO_53:
            return int(value)
        return value
    if t is list:
        return [_to_python(v) for v in value]
    if t is dict:
        return {k: _to_python(v) for k, v in value.items()}
    if isinstance(value, dict):  # a Marked event: a plain dict for the node
        return {k: _to_python(v) for k, v in value.items()}
    audio = sys.modules.get(_AUDIO_MODULE)  # loaded when the run has audio
    if audio is not None and t is audio.AudioFrame:
        from .python_audio import node_view

        return node_view(value, None if value.metadata is None else _to_python(value.metadata))
    return value  # None, bool, str, bytes


_AUDIO_MODULE = __name__.rsplit(".", 1)[0] + ".audio"


def _unsendable(value: Any) -> ItemError:
    return ItemError(f"cannot send a {type(value).__name__} out of a Python node")


def _from_python(value: Any) -> Any:
    """A Python node's output as a pipeline value (a copy: later changes to the node's objects do not show)."""
    t = type(value)
    if t is float:
        if value - value == 0.0:
            return value
        raise _unsendable(value)  # NaN, infinities
    if t is str or t is bool or value is None:
        return value
    if t is int:
        try:
            return float(value)  # the nearest double beyond 2**53
        except OverflowError:
            raise _unsendable(value) from None
    if t is list:
        return [_from_python(v) for v in value]
    if t is tuple:
        frame = _audio_out(value)
        return frame if frame is not None else [_from_python(v) for v in value]
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                if not isinstance(k, str):
                    raise _unsendable(value)
                k = str.__str__(k)
            out[k] = _from_python(v)
        return out
    if t is bytes:
        return value
    frame = _audio_out(value)
    if frame is not None:
        return frame
    # Subclasses of the types above (IntEnum, namedtuple, OrderedDict, defaultdict ...) send their plain value.
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_python(int(value))
    if isinstance(value, float):
        return _from_python(float(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple, dict)):
        return _from_python(dict(value) if isinstance(value, dict) else list(value))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise _unsendable(value)


def _audio_out(value: Any) -> Any:
    """A node's audio output (a ``python_audio.AudioFrame`` or RemoteMedia's tuple) as a pipeline frame, or None."""
    node_audio = sys.modules.get(_NODE_AUDIO_MODULE)
    if node_audio is None:
        return None
    frame = node_audio.audio_of(value)
    return None if frame is None else node_audio.from_node(frame, _from_python)


_NODE_AUDIO_MODULE = __name__.rsplit(".", 1)[0] + ".python_audio"
