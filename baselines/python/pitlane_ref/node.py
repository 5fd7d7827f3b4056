"""The node contract: the ``Node`` base class, its parameter schema, and what ``process`` may return or raise.

``process(item)`` returns an output, ``DROP`` for none, or a generator for several (run into a ``_Many``); an
``ItemError`` is that item's error record. A node that cannot start raises ``NodeInitError``. ``Param`` and
``validate_params`` check a node's params against its ``PARAMS`` schema.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Optional, Tuple

from .js_json import js_dumps, type_name
from .problems import _child


class ItemError(Exception):
    """Raised by ``process``/``flush`` for an item error; the message is the record's ``message``. ``extra``:
    more fields for the error record, after the others (a Python node's ``traceback``)."""

    extra: Optional[Dict[str, Any]] = None


class _Drop:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()
"""Returned by ``process`` to output nothing (``None`` is JSON null, a real output)."""


class Param:
    """Schema of one node parameter."""

    __slots__ = ("kind", "required", "choices")

    def __init__(self, kind: str, required: bool = False, choices: Optional[Tuple[str, ...]] = None):
        self.kind = kind  # number | integer>=1 | string | array | object | any
        self.required = required
        self.choices = choices


_KIND_ARTICLE = {"number": "a number", "string": "a string", "array": "an array", "object": "an object"}


def _kind_error(kind: str, value: Any) -> Optional[str]:
    """A problem message if ``value`` does not have the schema kind, else None."""
    t = type_name(value)
    if kind == "any":
        return None
    if kind == "integer>=1":
        if t == "number" and float(value).is_integer() and value >= 1:
            return None
        return f"expected an integer >= 1, got {js_dumps(value) if t == 'number' else t}"
    if t != kind:
        return f"expected {_KIND_ARTICLE[kind]}, got {t}"
    return None


Report = Callable[..., None]


class Node:
    """Base class of pipeline nodes.

    ``process(item)`` returns the output, ``DROP`` for none, or a generator for several; it raises ``ItemError``
    for an item error. ``flush()`` returns an iterable of outputs at end of stream (or None).
    """

    type_name = "Node"
    PARAMS: Dict[str, Param] = {}
    uses_base_dir = False  # the constructor takes ``base_dir`` (the manifest's folder)

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        self.id = node_id
        self.params = params or {}

    def initialize(self) -> None:
        pass

    def process(self, item: Any) -> Any:
        return item

    def flush(self) -> Optional[Iterable[Any]]:
        return None

    def cleanup(self) -> None:
        pass

    def enter_task(self) -> None:
        """Called once at the start of the node's task."""

    @classmethod
    def validate_node(cls, spec: Dict[str, Any], path: str, report: Report, base_dir: str) -> None:
        """Checks beyond the params schema (the whole node spec; files relative to ``base_dir``)."""

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        """Check ``params`` against ``PARAMS``; ``report(path, message, key=False)`` for each problem."""
        for name, value in params.items():
            spec = cls.PARAMS.get(name)
            if spec is None:
                report(_child(path, name), f"unknown param '{name}' for {cls.type_name}", key=True)
                continue
            error = _kind_error(spec.kind, value)
            if error:
                report(_child(path, name), error)
            elif spec.choices is not None and value not in spec.choices:
                report(
                    _child(path, name),
                    f"unknown {name} {js_dumps(value)}; expected one of {', '.join(spec.choices)}",
                )
        for name, spec in cls.PARAMS.items():
            if spec.required and name not in params:
                report(_child(path, name), f"missing required param '{name}' for {cls.type_name}")


class NodeInitError(Exception):
    """A node that failed to initialise (``PL_ERR_NODE_INIT``): for a Python node, an exception in the module's
    code, ``__init__`` or ``initialize()``. ``detail`` is ``<Type>: <message>``, ``traceback`` the filtered
    traceback (may be empty)."""

    def __init__(self, node_id: str, node_type: str, detail: str, traceback_text: str = ""):
        super().__init__(f"node '{node_id}' ({node_type}) failed to initialise: {detail}")
        self.node_id = node_id
        self.node_type = node_type
        self.detail = detail
        self.traceback = traceback_text

    def format(self) -> str:
        """The CLI's report: the error line, then the traceback."""
        text = f"error PL_ERR_NODE_INIT: {self}"
        if self.traceback:
            text += "\n" + self.traceback.rstrip("\n")
        return text


class _Many(list):
    """The outputs of a ``process`` call that returned a generator."""


class Marked(dict):
    """A JSON object a node made from an audio frame, marked with that frame's arrival time (``arrival_us``) so that
    per-frame latency follows it (pitlane's ``fromFrame``: a symbol key, invisible to JSON and to Python nodes).
    It is a dict in every other way; JSON output and Python nodes see a plain object."""

    __slots__ = ("arrival_us",)


def from_frame(item: Dict[str, Any], frame: Any) -> Dict[str, Any]:
    """``item`` (an event a node made from ``frame``) marked with the frame's arrival time, when it has one."""
    arrival = frame.arrival_ts_us
    if arrival is None:
        return item
    marked = Marked(item)
    marked.arrival_us = arrival
    return marked


def arrival_of(item: Any) -> Optional[float]:
    """The arrival time an item carries: an audio frame's, or a ``Marked`` object's; None otherwise."""
    if type(item) is Marked:
        return item.arrival_us
    return getattr(item, "arrival_ts_us", None) if type(item).__name__ == "AudioFrame" else None


def carry_arrival(output: Any, input_item: Any) -> Any:
    """An event made from another item (an event from an event) marked with the arrival that one carries, so that
    latency follows a chain of event nodes (pitlane's ``carryArrival``); other outputs are left alone."""
    arrival = arrival_of(input_item)
    if arrival is None or type(output) is not dict:
        return output
    marked = Marked(output)
    marked.arrival_us = arrival
    return marked
