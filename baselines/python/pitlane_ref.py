#!/usr/bin/env python3
"""pitlane_ref: the CPython reference executor for pitlane pipeline manifests.

This is the *baseline* that pitlane (a TypeScript pipeline runtime) is benchmarked against, and the second
implementation of the contract in ``docs/pipelines.md``: same manifest format, same validation problems (with JSON
paths, lines and columns), same node semantics and error records, byte-identical JSONL output, same CLI exit codes.

It is written the classic way the Python SDKs of this field run a dataflow graph, on purpose:

* ``asyncio``, one task per node and one bounded ``asyncio.Queue`` per node input (``settings.queue_capacity``,
  policy ``block`` / ``drop_oldest`` / ``drop_newest``);
* sources are tasks that iterate their items and ``await queue.put(...)`` into every successor;
* an end-of-stream marker flows through the queues; a node with several predecessors ends when it has seen the
  marker from all of them, then flushes (its flush outputs go downstream first) and forwards the marker;
* node objects with ``initialize()``, ``process(item)``, ``flush()`` and ``cleanup()``;
* Python nodes (``node_type: python``, ``docs/python-nodes.md``) run their class in this interpreter, as one more
  node kind whose ``process`` may be async (the runner awaits it in the node's task).

It is meant to be a fair baseline: idiomatic and reasonably efficient (``put_nowait`` when a queue has room, no
needless per-item allocations), but it neither batches items nor fuses nodes, because measuring that classic design
is the point.

Every JSON number is a Python ``float`` (IEEE-754 double), in the input and in the manifest, so arithmetic agrees
bit for bit with JavaScript; ``js_dumps`` reproduces ``JSON.stringify``'s formatting exactly.

Standard library only (PyYAML is used for ``.yaml``/``.yml`` manifests when it is installed). Python >= 3.9.

Usage::

    python3 pitlane_ref.py run MANIFEST [--input F|-] [--output F|-] [--on-error fail|skip] [--stats]
    python3 pitlane_ref.py validate MANIFEST
    python3 pitlane_ref.py bench MANIFEST --samples N [--warmup W] [--warmup-ms MS] [--mode run|init]
                                 [--concurrent K] [--input F]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import builtins
import codecs
import contextvars
import difflib
import errno
import gc
import hashlib
import io
import json
import json.decoder
import math
import os
import platform
import re
import signal
import stat
import sys
import time
import types
from typing import Any, AsyncIterator, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

__all__ = [
    "js_dumps",
    "json_equal",
    "type_name",
    "parse_item",
    "load_manifest",
    "validate_manifest",
    "normalize_manifest",
    "run_pipeline",
    "Problem",
    "ManifestError",
    "Node",
    "ItemError",
    "NodeInitError",
    "PythonNode",
    "DROP",
    "NODE_TYPES",
    "Pipeline",
    "RunResult",
    "MemoryLines",
    "StreamLines",
    "main",
]

# ---------------------------------------------------------------------------------------------------------------
# JSON values
# ---------------------------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# One decoder, built once: every number becomes a float; NaN / Infinity (which Python accepts) are rejected.
_DECODER = json.JSONDecoder(parse_int=float, parse_constant=_reject_constant)
MAX_JSON_DEPTH = 256
"""Deepest nesting of arrays and objects accepted in one input line (pitlane's JSONL reader uses the same)."""


class TooDeep(ValueError):
    """An input line nested deeper than MAX_JSON_DEPTH."""

    reason = f"nested deeper than {MAX_JSON_DEPTH} levels"


def _depth_exceeds(text: str, limit: int) -> bool:
    """Whether JSON text nests arrays/objects deeper than ``limit`` (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "[" or c == "{":
            depth += 1
            if depth > limit:
                return True
        elif c == "]" or c == "}":
            depth -= 1
    return False


def parse_item(text: str, _decode: Callable[[str], Any] = _DECODER.decode) -> Any:
    """Parse one JSON text the way ``JSON.parse`` does, with every number a ``float``; refuse deep nesting."""
    if len(text) > 2 * MAX_JSON_DEPTH and _depth_exceeds(text, MAX_JSON_DEPTH):
        raise TooDeep(text)
    return _decode(text)


_INF = float("inf")
_TWO_53 = 9007199254740992.0


def type_name(value: Any) -> str:
    """The JSON type name used in messages: null, boolean, number, string, array, object."""
    if value is None:
        return "null"
    t = type(value)
    if t is bool:
        return "boolean"
    if t is float or t is int:
        return "number"
    if t is str:
        return "string"
    if t is list:
        return "array"
    if t is dict:
        return "object"
    return t.__name__


def _js_number(x: float) -> str:
    """ECMAScript Number::toString for a double, built on the shortest round-trip digits of ``repr``."""
    if x.is_integer():
        if -_TWO_53 <= x <= _TWO_53:
            # Below 2**53 the exact integer is also the shortest round-trip form; -0.0 becomes "0".
            return str(int(x))
    elif x != x or x == _INF or x == -_INF:
        return "null"  # JSON.stringify(NaN / Infinity)
    r = repr(x)
    sign = ""
    if r[0] == "-":
        sign = "-"
        r = r[1:]
    mantissa, _, exp = r.partition("e")
    int_part, _, frac = mantissa.partition(".")
    digits = int_part + frac
    n = len(int_part) + (int(exp) if exp else 0)  # value = 0.digits * 10**n
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp_text = ("e+" if e >= 0 else "e-") + str(abs(e))
    if k == 1:
        return sign + digits + exp_text
    return sign + digits[0] + "." + digits[1:] + exp_text


_encode_basestring = json.encoder.encode_basestring  # escapes '"', '\\' and U+0000..U+001F like JSON.stringify
_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")


def _fix_surrogate(m: "re.Match[str]") -> str:
    s = m.group()
    if len(s) == 2:  # a high+low pair is one character in a UTF-16 (JavaScript) string
        return chr(0x10000 + ((ord(s[0]) - 0xD800) << 10) + (ord(s[1]) - 0xDC00))
    return "\\u%04x" % ord(s)


def _js_string(s: str) -> str:
    out = _encode_basestring(s)
    if not out.isascii() and _SURROGATES.search(out):
        out = _SURROGATES.sub(_fix_surrogate, out)  # well-formed JSON.stringify escapes lone surrogates
    return out


def _array_index(key: str) -> int:
    """The key as an array index ("0" .. "4294967294"), or -1."""
    if key.isdigit() and key.isascii() and (key[0] != "0" or len(key) == 1):
        i = int(key)
        if i < 4294967295:
            return i
    return -1


def _js_object(obj: Dict[Any, Any]) -> str:
    parts = []
    indexed = None
    for key, value in obj.items():
        if type(key) is not str:
            key = _js_key(key)
        if key and "0" <= key[0] <= "9":
            i = _array_index(key)
            if i >= 0:
                if indexed is None:
                    indexed = []
                indexed.append((i, key, value))
                continue
        parts.append(_js_string(key) + ":" + js_dumps(value))
    if indexed:
        indexed.sort(key=lambda entry: entry[0])
        parts[0:0] = [_js_string(key) + ":" + js_dumps(value) for _, key, value in indexed]
    return "{" + ",".join(parts) + "}"


def _js_key(key: Any) -> str:
    # Only YAML manifests can produce non-string keys; JavaScript would turn them into strings.
    if key is None or type(key) is bool or type(key) in (int, float):
        return js_dumps(float(key) if type(key) is int else key)
    return str(key)


def js_dumps(value: Any) -> str:
    """``JSON.stringify(value)``: no spaces, JavaScript number and string formatting and property order."""
    t = type(value)
    if t is str:
        return _js_string(value)
    if t is float:
        return _js_number(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if t is list or t is tuple:
        return "[" + ",".join([js_dumps(v) for v in value]) + "]"
    if t is dict:
        return _js_object(value)
    if t is int:
        return _js_number(float(value))
    if t is bytes:  # binary from a Python node: JSON.stringify of a Uint8Array
        return "{" + ",".join([f'"{i}":{b}' for i, b in enumerate(value)]) + "}"
    raise TypeError(f"not a JSON value: {t.__name__}")


def json_equal(a: Any, b: Any) -> bool:
    """Deep JSON equality: 1 equals 1.0, true does not equal 1, object key order does not matter."""
    ta, tb = type(a), type(b)
    if ta is not tb:
        if ta in (int, float) and tb in (int, float):
            return a == b
        return False
    if ta is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if ta is dict:
        if len(a) != len(b):
            return False
        for key, value in a.items():
            if key not in b or not json_equal(value, b[key]):
                return False
        return True
    return a == b


def normalize_manifest(value: Any) -> Any:
    """A copy of a loaded manifest (or any value) with every number a float (bools stay bools)."""
    return _to_json(value)


def _to_json(value: Any) -> Any:
    """Normalize a loaded manifest value: every number a float (bools stay bools)."""
    t = type(value)
    if t is int:
        return float(value)
    if t is list:
        return [_to_json(v) for v in value]
    if t is dict:
        return {(k if type(k) is str else _js_key(k)): _to_json(v) for k, v in value.items()}
    if value is None or t in (bool, float, str):
        return value
    return str(value)  # odd YAML scalars (binary, sets...) have no JSON form


# ---------------------------------------------------------------------------------------------------------------
# Manifest loading (JSON first-class, YAML through PyYAML when present), with source positions for problems
# ---------------------------------------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")


def _child(path: str, key: Any) -> str:
    if type(key) is int:
        return f"{path}[{key}]"
    key = str(key)
    if _IDENT.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


_LAST_SEGMENT = re.compile(r'(\.[A-Za-z_$][A-Za-z0-9_$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])\Z')


class Problem:
    """One validation problem: a JSON path, a message and (for files) a 1-based line and column."""

    __slots__ = ("path", "message", "line", "column")

    def __init__(self, path: str, message: str, line: Optional[int] = None, column: Optional[int] = None):
        self.path = path
        self.message = message
        self.line = line
        self.column = column

    def format(self, filename: Optional[str] = None) -> str:
        where = ""
        if filename is not None:
            where = f"{filename}:{self.line}:{self.column}: " if self.line is not None else f"{filename}: "
        return f"{where}{self.path}: {self.message}"

    def __repr__(self) -> str:
        return f"Problem({self.path!r}, {self.message!r}, {self.line!r}, {self.column!r})"


class ManifestError(Exception):
    """A manifest that cannot be used: its problems (and the file they come from)."""

    def __init__(self, problems: List[Problem], filename: Optional[str] = None):
        super().__init__("; ".join(p.format(filename) for p in problems))
        self.problems = problems
        self.filename = filename


class Positions:
    """Where each JSON path's value (and member key) starts in the manifest text."""

    def __init__(self) -> None:
        self.values: Dict[str, Tuple[int, int]] = {}
        self.keys: Dict[str, Tuple[int, int]] = {}

    def locate(self, path: str, key: bool = False) -> Optional[Tuple[int, int]]:
        if key and path in self.keys:
            return self.keys[path]
        while True:
            if path in self.values:
                return self.values[path]
            m = _LAST_SEGMENT.search(path)
            if not m:
                return None
            path = path[: m.start()]


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _json_positions(text: str) -> Positions:
    """Map JSON paths to (line, column) in ``text``, which ``json.loads`` has already accepted."""
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_col(offset: int) -> Tuple[int, int]:
        line = bisect.bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1] + 1

    pos = Positions()
    scanstring = json.decoder.scanstring

    def skip(i: int) -> int:
        return _WS.match(text, i).end()  # type: ignore[union-attr]

    def value(i: int, path: str) -> int:
        i = skip(i)
        pos.values[path] = line_col(i)
        c = text[i]
        if c == "{":
            i = skip(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                i = skip(i)
                key_at = i
                key, i = scanstring(text, i + 1)
                child = _child(path, key)
                pos.keys[child] = line_col(key_at)
                i = skip(i) + 1  # ':'
                i = skip(value(i, child))
                if text[i] == ",":
                    i += 1
                    continue
                return i + 1  # '}'
        if c == "[":
            i = skip(i + 1)
            if text[i] == "]":
                return i + 1
            index = 0
            while True:
                i = skip(value(i, _child(path, index)))
                index += 1
                if text[i] == ",":
                    i += 1
                    continue
                return i + 1  # ']'
        if c == '"':
            return scanstring(text, i + 1)[1]
        m = _NUMBER.match(text, i)
        if m and m.end() > i:
            return m.end()
        for literal in ("true", "false", "null"):
            if text.startswith(literal, i):
                return i + len(literal)
        raise ValueError(f"unexpected character at offset {i}")

    value(0, "$")
    return pos


def _yaml_module() -> Any:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return None
    return yaml


def _yaml_loader(yaml: Any) -> Any:
    """A SafeLoader closer to YAML 1.2's core schema (what pitlane's loader uses): no timestamps, and only
    true/false spellings are booleans."""

    class Loader(yaml.SafeLoader):
        pass

    dropped = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


def _yaml_positions(yaml: Any, node: Any) -> Positions:
    pos = Positions()

    def mark(n: Any) -> Tuple[int, int]:
        return n.start_mark.line + 1, n.start_mark.column + 1

    def walk(n: Any, path: str) -> None:
        pos.values[path] = mark(n)
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                child = _child(path, key_node.value)
                pos.keys[child] = mark(key_node)
                walk(value_node, child)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, _child(path, i))

    if node is not None:
        walk(node, "$")
    return pos


def parse_manifest_text(text: str, filename: str = "<manifest>") -> Tuple[Any, Positions]:
    """Parse manifest text (YAML when ``filename`` ends in .yaml/.yml, else JSON). Raises ``ManifestError``."""
    if filename.endswith((".yaml", ".yml")):
        yaml = _yaml_module()
        if yaml is None:
            raise ManifestError(
                [Problem("$", "YAML manifests need PyYAML (Debian: python3-yaml); install it or use a JSON manifest")],
                filename,
            )
        loader = _yaml_loader(yaml)
        try:
            node = yaml.compose(text, Loader=loader)
            data = yaml.load(text, Loader=loader)
        except yaml.YAMLError as exc:
            m = getattr(exc, "problem_mark", None)
            line, col = (m.line + 1, m.column + 1) if m is not None else (None, None)
            raise ManifestError([Problem("$", f"invalid YAML: {exc}".replace("\n", " "), line, col)], filename)
        return _to_json(data), _yaml_positions(yaml, node)
    try:
        data = json.loads(text, parse_int=float, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ManifestError([Problem("$", f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)], filename)
    except (ValueError, RecursionError) as exc:
        raise ManifestError([Problem("$", f"invalid JSON: {exc}", 1, 1)], filename)
    return data, _json_positions(text)


def load_manifest(path: str) -> Tuple[Dict[str, Any], Positions]:
    """Read, parse and validate a manifest file. Raises ``ManifestError`` (with every problem) if it is invalid."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError([Problem("$", f"cannot read manifest: {exc}")], path)
    data, positions = parse_manifest_text(text, path)
    problems = validate_manifest(data, positions, os.path.dirname(os.path.abspath(path)))
    if problems:
        raise ManifestError(problems, path)
    return data, positions


# ---------------------------------------------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------------------------------------------


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


def _expect_number(value: Any) -> None:
    raise ItemError(f"expected a number, got {type_name(value)}")


class DataSourceNode(Node):
    """Produces items: ``items``, ``range``, ``file`` (JSONL), or the input stream when it has no params."""

    type_name = "DataSource"
    PARAMS = {"items": Param("array"), "range": Param("object"), "file": Param("string")}

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        given = [name for name in ("items", "range", "file") if name in params]
        if len(given) > 1:
            report(path, f"at most one of items, range, file may be given (got {', '.join(given)})")
        rng = params.get("range")
        if type(rng) is dict:
            rpath = _child(path, "range")
            for name, value in rng.items():
                if name not in ("start", "stop", "step"):
                    report(_child(rpath, name), f"unknown field '{name}' in range", key=True)
                elif type_name(value) != "number":
                    report(_child(rpath, name), f"expected a number, got {type_name(value)}")
            if "stop" not in rng:
                report(_child(rpath, "stop"), "missing required field 'stop' in range")
            if type_name(rng.get("step")) == "number" and rng["step"] == 0:
                report(_child(rpath, "step"), "step must not be 0")

    @property
    def reads_input(self) -> bool:
        return not any(name in self.params for name in ("items", "range", "file"))

    def range_items(self) -> Iterator[float]:
        rng = self.params["range"]
        start = float(rng.get("start", 0.0))
        stop = float(rng["stop"])
        step = float(rng.get("step", 1.0))
        i = 0.0
        value = start
        if step > 0:
            while value < stop:
                yield value
                i += 1.0
                value = start + i * step
        else:
            while value > stop:
                yield value
                i += 1.0
                value = start + i * step


class DataSinkNode(Node):
    """Outputs each item unchanged; its items are the pipeline output."""

    type_name = "DataSink"


class PassThroughNode(Node):
    """Outputs each item unchanged."""

    type_name = "PassThrough"


def _js_pow(x: float, y: float) -> float:
    if math.isinf(y) and abs(x) == 1.0:
        return math.nan  # JavaScript: (+-1) ** +-Infinity is NaN (C pow says 1)
    try:
        return math.pow(x, y)
    except (OverflowError, ValueError):
        return math.nan


class CalculatorNode(Node):
    """``x <operation> operand`` on numbers."""

    type_name = "Calculator"
    OPERATIONS = ("add", "subtract", "multiply", "divide", "power", "modulo")
    PARAMS = {"operation": Param("string", True, OPERATIONS), "operand": Param("number", True)}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.operation: str = self.params["operation"]
        self.operand: float = float(self.params["operand"])
        self._apply: Callable[[float, float], float] = getattr(self, "_" + self.operation)

    @staticmethod
    def _add(x: float, y: float) -> float:
        return x + y

    @staticmethod
    def _subtract(x: float, y: float) -> float:
        return x - y

    @staticmethod
    def _multiply(x: float, y: float) -> float:
        return x * y

    @staticmethod
    def _divide(x: float, y: float) -> float:
        if y == 0.0:
            raise ItemError("division by zero")
        return x / y

    @staticmethod
    def _modulo(x: float, y: float) -> float:
        if y == 0.0:
            raise ItemError("modulo by zero")
        try:
            return math.fmod(x, y)  # sign of the dividend, like JavaScript's %
        except ValueError:  # fmod(inf, y)
            return math.nan

    _power = staticmethod(_js_pow)

    def process(self, item: Any) -> Any:
        if type(item) is not float:
            _expect_number(item)
        result = self._apply(item, self.operand)
        if not math.isfinite(result):
            raise ItemError("result is not a finite number")
        return result


# str.isspace's set, as docs/pipelines.md lists it.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


class TextTransformNode(Node):
    """String operations: uppercase, lowercase, reverse, strip, title, length."""

    type_name = "TextTransform"
    OPERATIONS = ("uppercase", "lowercase", "reverse", "strip", "title", "length")
    PARAMS = {"operation": Param("string", True, OPERATIONS)}

    _FUNCTIONS: Dict[str, Callable[[str], Any]] = {
        "uppercase": str.upper,
        "lowercase": str.lower,
        "reverse": lambda s: s[::-1],
        "strip": lambda s: s.strip(_WHITESPACE),
        "title": str.title,
        "length": lambda s: float(len(s)),
    }

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self._apply = self._FUNCTIONS[self.params["operation"]]

    def process(self, item: Any) -> Any:
        if type(item) is not str:
            raise ItemError(f"expected a string, got {type_name(item)}")
        return self._apply(item)


class BufferNode(Node):
    """Collects items into arrays of ``buffer_size``; flushes the rest as a shorter array."""

    type_name = "Buffer"
    PARAMS = {"buffer_size": Param("integer>=1", True)}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.size = int(self.params["buffer_size"])
        self._items: List[Any] = []

    def process(self, item: Any) -> Any:
        items = self._items
        items.append(item)
        if len(items) < self.size:
            return DROP
        self._items = []
        return items

    def flush(self) -> Optional[Iterable[Any]]:
        if self._items:
            items, self._items = self._items, []
            return [items]
        return None


class FilterNode(Node):
    """Outputs the item if the test ``op`` (against ``value``) holds, else drops it."""

    type_name = "Filter"
    OPS = ("gt", "ge", "lt", "le", "eq", "ne", "even", "odd", "contains")
    PARAMS = {"op": Param("string", True, OPS), "value": Param("any")}

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        op = params.get("op")
        if op not in cls.OPS:
            return
        if op not in ("even", "odd") and "value" not in params:
            report(_child(path, "value"), f"missing required param 'value' for Filter op '{op}'")
        elif op in ("gt", "ge", "lt", "le") and type_name(params["value"]) != "number":
            report(_child(path, "value"), f"expected a number, got {type_name(params['value'])}")

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.op: str = self.params["op"]
        self.value: Any = self.params.get("value")
        self._test: Callable[[Any], bool] = getattr(self, "_" + self.op)

    def _gt(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x > self.value

    def _ge(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x >= self.value

    def _lt(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x < self.value

    def _le(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x <= self.value

    def _eq(self, x: Any) -> bool:
        return json_equal(x, self.value)

    def _ne(self, x: Any) -> bool:
        return not json_equal(x, self.value)

    def _even(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x.is_integer() and math.fmod(x, 2.0) == 0.0

    def _odd(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x.is_integer() and math.fmod(x, 2.0) != 0.0

    def _contains(self, x: Any) -> bool:
        t = type(x)
        if t is str:
            if type(self.value) is not str:
                raise ItemError(f"cannot search a string for a value of type {type_name(self.value)}")
            return self.value in x
        if t is list:
            value = self.value
            return any(json_equal(element, value) for element in x)
        raise ItemError(f"expected a string or an array, got {type_name(x)}")

    def process(self, item: Any) -> Any:
        return item if self._test(item) else DROP


class AccumulatorNode(Node):
    """Running sum / count / mean / min / max over the items so far."""

    type_name = "Accumulator"
    OPERATIONS = ("sum", "count", "mean", "min", "max")
    PARAMS = {"operation": Param("string", True, OPERATIONS)}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.operation: str = self.params["operation"]
        self.count = 0.0
        self.total = 0.0
        self.extreme: Optional[float] = None

    def process(self, item: Any) -> Any:
        op = self.operation
        if op == "count":
            self.count += 1.0
            return self.count
        if type(item) is not float:
            _expect_number(item)
        if op == "min":
            if self.extreme is None or item < self.extreme:
                self.extreme = item
            return self.extreme
        if op == "max":
            if self.extreme is None or item > self.extreme:
                self.extreme = item
            return self.extreme
        self.total += item
        self.count += 1.0
        return self.total if op == "sum" else self.total / self.count


# ---------------------------------------------------------------------------------------------------------------
# Python nodes (docs/python-nodes.md): a user's class, run natively in this interpreter
# ---------------------------------------------------------------------------------------------------------------

PYTHON_RUNTIME_HINTS = ("cpython", "pyodide", "auto", "cpython_wasm")
_PYODIDE_HINTS = ("pyodide", "cpython_wasm")  # RemoteMedia's cpython_wasm is Pyodide
_NO_PYODIDE_MODULES = ("subprocess", "multiprocessing", "threading", "socket", "ctypes")

# sys.stdlib_module_names of Python 3.10 and 3.11 (and the few modules 3.9 still had), for Python 3.9.
_STDLIB_FALLBACK = (
    "__future__ _abc _aix_support _ast _asyncio _bisect _blake2 _bootlocale _bootsubprocess _bz2 _codecs "
    "_codecs_cn _codecs_hk _codecs_iso2022 _codecs_jp _codecs_kr _codecs_tw _collections _collections_abc "
    "_compat_pickle _compression _contextvars _crypt _csv _ctypes _curses _curses_panel _datetime _dbm _decimal "
    "_elementtree _frozen_importlib _frozen_importlib_external _functools _gdbm _hashlib _heapq _imp _io _json "
    "_locale _lsprof _lzma _markupbase _md5 _msi _multibytecodec _multiprocessing _opcode _operator _osx_support "
    "_overlapped _pickle _posixshmem _posixsubprocess _py_abc _pydecimal _pyio _queue _random _scproxy _sha1 "
    "_sha256 _sha3 _sha512 _signal _sitebuiltins _socket _sqlite3 _sre _ssl _stat _statistics _string _strptime "
    "_struct _symtable _thread _threading_local _tkinter _tokenize _tracemalloc _typing _uuid _warnings _weakref "
    "_weakrefset _winapi _zoneinfo abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit "
    "audioop base64 bdb binascii binhex bisect builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code "
    "codecs codeop collections colorsys compileall concurrent configparser contextlib contextvars copy copyreg "
    "crypt csv ctypes curses dataclasses datetime dbm decimal difflib dis distutils doctest email encodings "
    "ensurepip enum errno faulthandler fcntl filecmp fileinput fnmatch formatter fractions ftplib functools gc "
    "genericpath getopt getpass gettext glob graphlib grp gzip hashlib heapq hmac html http idlelib imaplib "
    "imghdr imp importlib inspect io ipaddress itertools json keyword lib2to3 linecache locale logging lzma "
    "mailbox mailcap marshal math mimetypes mmap modulefinder msilib msvcrt multiprocessing netrc nis nntplib nt "
    "ntpath nturl2path numbers opcode operator optparse os ossaudiodev parser pathlib pdb pickle pickletools "
    "pipes pkgutil platform plistlib poplib posix posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc "
    "pydoc_data pyexpat queue quopri random re readline reprlib resource rlcompleter runpy sched secrets select "
    "selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd sqlite3 sre_compile "
    "sre_constants sre_parse ssl stat statistics string stringprep struct subprocess sunau symbol symtable sys "
    "sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this threading time timeit tkinter "
    "token tokenize tomllib trace traceback tracemalloc tty turtle turtledemo types typing unicodedata unittest "
    "urllib uu uuid venv warnings wave weakref webbrowser winreg winsound wsgiref xdrlib xml xmlrpc zipapp "
    "zipfile zipimport zlib zoneinfo "
)


def _stdlib_modules() -> frozenset:
    names = getattr(sys, "stdlib_module_names", None)  # Python >= 3.10
    return frozenset(names) if names is not None else frozenset(_STDLIB_FALLBACK.split())


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


_current_python_node: "contextvars.ContextVar[Optional[PythonNode]]" = contextvars.ContextVar(
    "pitlane_python_node", default=None
)
"""The Python node whose code is running in the current task (set in its runner task, and around its
initialize / cleanup): print() and logging records are attributed to it."""


class _StdoutRouter(io.TextIOBase):
    """``sys.stdout`` while Python nodes run: what a node writes becomes ``[python:ID] INFO`` log lines on stderr;
    anything else written to ``sys.stdout`` meanwhile goes to stderr too (the pipeline output is written to the
    real stdout's buffer, never through ``sys.stdout``)."""

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:  # type: ignore[override]
        node = _current_python_node.get()
        if node is not None:
            node._log_text(text)
        else:
            sys.stderr.write(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class _LogCapture:
    """Routes print() and the logging module of Python nodes to stderr while at least one pipeline with Python
    nodes is initialized (a count, for ``bench --concurrent``)."""

    depth = 0
    saved_stdout: Any = None
    handler: Any = None
    saved_level: Optional[int] = None

    @classmethod
    def start(cls) -> None:
        if cls.depth == 0:
            import logging

            class Handler(logging.Handler):
                def emit(self, record: Any) -> None:
                    try:
                        message = record.getMessage()
                        if record.exc_info:
                            message += "\n" + logging.Formatter().formatException(record.exc_info)
                    except Exception:
                        self.handleError(record)
                        return
                    node = _current_python_node.get()
                    if node is not None:
                        node._log(record.levelname, message)
                    elif record.levelno >= logging.WARNING:  # as logging's last-resort handler would
                        sys.stderr.write(message + "\n")

            cls.saved_stdout = sys.stdout
            sys.stdout = _StdoutRouter()
            root = logging.getLogger()
            cls.handler = Handler()
            root.addHandler(cls.handler)
            cls.saved_level = root.level
            if root.level == logging.NOTSET or root.level > logging.INFO:
                root.setLevel(logging.INFO)  # info records are shown, like print (level info)
        cls.depth += 1

    @classmethod
    def stop(cls) -> None:
        cls.depth -= 1
        if cls.depth == 0:
            import logging

            if isinstance(sys.stdout, _StdoutRouter):
                sys.stdout = cls.saved_stdout
            root = logging.getLogger()
            root.removeHandler(cls.handler)
            if cls.saved_level is not None:
                root.setLevel(cls.saved_level)
            cls.saved_stdout = cls.handler = cls.saved_level = None


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
    return value  # None, bool, str, bytes


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
    if t is list or t is tuple:
        return [_from_python(v) for v in value]
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


def _python_source(params: Dict[str, Any], base_dir: str) -> Tuple[Any, str, Optional[str]]:
    """(source text or bytes, traceback file name, absolute module path or None). Raises OSError for a module
    file that cannot be read."""
    module = params.get("module")
    if module is None:
        return params.get("code", ""), "", None
    path = os.path.join(base_dir, module)
    with open(path, "rb") as f:
        source = f.read()
    return source, _module_file_name(module, base_dir), os.path.abspath(path)


def _module_file_name(module: str, base_dir: str) -> str:
    """The module's path relative to the manifest's folder, as tracebacks show it."""
    name = os.path.relpath(os.path.join(base_dir, module), base_dir)
    return name.replace(os.sep, "/")


def _class_defs(tree: Any) -> Dict[str, Any]:
    """The classes a module defines at its top level (also inside if / try / with / loops), by name."""
    import ast

    found: Dict[str, Any] = {}

    def visit(statements: List[Any]) -> None:
        for s in statements:
            if isinstance(s, ast.ClassDef):
                found[s.name] = s
            elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            else:
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(s, field, None) or [])
                for handler in getattr(s, "handlers", None) or []:
                    visit(handler.body)
                for case in getattr(s, "cases", None) or []:
                    visit(case.body)

    visit(tree.body)
    return found


def _defines_name(class_def: Any, name: str) -> bool:
    """Whether a class body defines ``name`` (a def, or an assignment to it)."""
    import ast

    for s in ast.walk(class_def):
        if s is not class_def and isinstance(s, ast.ClassDef):
            continue
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == name:
            return True
        if isinstance(s, ast.Name) and s.id == name and isinstance(s.ctx, ast.Store):
            return True
    return False


def _has_process(name: str, classes: Dict[str, Any], seen: Optional[set] = None) -> Optional[bool]:
    """True if the class defines process() (itself or through a base in the same source), False if it certainly
    does not, None if it cannot be told (a base from elsewhere)."""
    import ast

    seen = seen if seen is not None else set()
    seen.add(name)
    class_def = classes[name]
    if _defines_name(class_def, "process"):
        return True
    answer: Optional[bool] = False
    for base in class_def.bases:
        if isinstance(base, ast.Name) and base.id in classes and base.id not in seen:
            inherited = _has_process(base.id, classes, seen)
        elif isinstance(base, ast.Name) and isinstance(getattr(builtins, base.id, None), type):
            inherited = hasattr(getattr(builtins, base.id), "process")
        else:
            inherited = None
        if inherited:
            return True
        if inherited is None:
            answer = None
    return answer


def _choose_class(classes: Dict[str, Any], wanted: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(class name, None) or (None, problem message) for the class a Python node instantiates."""
    if wanted is not None:
        if wanted not in classes:
            return None, f"class '{wanted}' is not defined by the code"
        if _has_process(wanted, classes) is False:
            return None, f"class '{wanted}' has no process() method"
        return wanted, None
    sure = [n for n in classes if _has_process(n, classes) is True]
    if not sure:
        sure = [n for n in classes if _has_process(n, classes) is None]
    if len(sure) == 1:
        return sure[0], None
    if not sure:
        return None, "no class in the code defines process()"
    return None, f"several classes define process() ({', '.join(sure)}); name one with the param 'class'"


def _pyodide_import_problems(tree: Any) -> List[str]:
    """Why Pyodide cannot run this code: one message per module it imports that Pyodide cannot provide."""
    import ast

    stdlib = _stdlib_modules()
    imports: List[Tuple[int, int, str]] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            imports.extend((n.lineno, n.col_offset, alias.name) for alias in n.names)
        elif isinstance(n, ast.ImportFrom) and not n.level and n.module:
            imports.append((n.lineno, n.col_offset, n.module))
    messages: List[str] = []
    seen = set()
    for _, _, name in sorted(imports):
        top = name.split(".")[0]
        if top in seen:
            continue
        seen.add(top)
        if top in _NO_PYODIDE_MODULES:
            reason = "not available in Pyodide"
        elif top not in stdlib:
            reason = "not in the standard library"
        else:
            continue
        messages.append(f"it imports {top} ({reason})")
    return messages


_CAUGHT = (Exception, SystemExit)  # what a node's code may raise that becomes its error (not CancelledError)


class PythonNode(Node):
    """A user's Python class (``code`` or ``module``), run in this interpreter (docs/python-nodes.md).

    Items cross as the contract's value table says (integral numbers become ``int``; outputs are checked and
    copied); exceptions of ``process`` / ``flush`` are item errors with a ``traceback``; exceptions of the module,
    ``__init__`` or ``initialize()`` are a ``NodeInitError``. ``process`` may be sync, async, a generator or an
    async generator; for an async one it returns a coroutine, which the runner awaits.
    """

    type_name = "Python"
    PARAMS = {
        "code": Param("string"),
        "module": Param("string"),
        "class": Param("string"),
        "init": Param("object"),
        "stateless": Param("any"),
        "timeout": Param("any"),
    }
    uses_base_dir = True

    _TIMEOUT = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:ms|s|m)\Z")

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        if "stateless" in params and type(params["stateless"]) is not bool:
            report(_child(path, "stateless"), f"expected a boolean, got {type_name(params['stateless'])}")
        if "timeout" in params:
            timeout = params["timeout"]
            if not (
                (type(timeout) is float and timeout > 0 and math.isfinite(timeout))
                or (type(timeout) is str and cls._TIMEOUT.match(timeout) and float(re.sub("[a-z]", "", timeout)) > 0)
            ):
                report(_child(path, "timeout"), f"expected a duration such as 30s, 500ms or 2m (or a number of "
                                                f"seconds), got {js_dumps(timeout)}")

    @classmethod
    def validate_node(cls, spec: Dict[str, Any], path: str, report: Report, base_dir: str) -> None:
        import ast

        hint = spec.get("runtime_hint")
        hint_path = _child(path, "runtime_hint")
        if "runtime_hint" in spec:
            if type(hint) is not str:
                report(hint_path, f"expected a string, got {type_name(hint)}")
                hint = None
            elif hint == "rust_python":
                report(hint_path, "runtime_hint rust_python is not supported")
                hint = None
            elif hint not in PYTHON_RUNTIME_HINTS:
                report(hint_path, f"unknown runtime_hint {js_dumps(hint)}; expected one of "
                                  f"{', '.join(PYTHON_RUNTIME_HINTS)}")
                hint = None
        params = spec.get("params")
        if params is None:
            params = {}
        if type(params) is not dict:
            return
        ppath = _child(path, "params")
        given = [name for name in ("code", "module") if name in params]
        if not given:
            report(ppath, "one of code, module is required for python")
            return
        if len(given) == 2:
            report(ppath, "code and module cannot both be given")
            return
        key = given[0]
        if type(params[key]) is not str:
            return  # already reported
        if key == "module" and "class" not in params:
            report(_child(ppath, "class"), "missing required param 'class' for python (with module)")
        source_path = _child(ppath, key)
        try:
            source, filename, _ = _python_source(params, base_dir)
        except OSError as exc:
            module = params["module"]
            if exc.errno == errno.ENOENT:
                report(source_path, f"module file '{module}' does not exist")
            elif exc.errno == errno.EISDIR:
                report(source_path, f"module '{module}' is a folder")
            else:
                report(source_path, f"cannot read module '{module}': {exc.strerror or exc}")
            return
        if key == "code":
            filename = f"<node {spec.get('id')}>"
        try:
            compile(source, filename, "exec", dont_inherit=True)
            tree = ast.parse(source, filename)
        except SyntaxError as exc:
            where = f" (line {exc.lineno})" if exc.lineno is not None else ""
            report(source_path, f"{type(exc).__name__}: {exc.msg}{where}")
            return
        except ValueError as exc:  # null bytes (Python < 3.12)
            report(source_path, f"{type(exc).__name__}: {exc}")
            return
        wanted = params.get("class")
        if wanted is not None and type(wanted) is not str:
            return
        _, problem = _choose_class(_class_defs(tree), wanted)
        if problem is not None:
            report(_child(ppath, "class") if wanted is not None else source_path, problem)
        if hint in _PYODIDE_HINTS:
            for reason in _pyodide_import_problems(tree):
                report(hint_path, f"runtime_hint {hint} cannot run this code: {reason}")

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None, base_dir: str = "."):
        super().__init__(node_id, params)
        self.base_dir = base_dir
        module = self.params.get("module")
        self.filename = f"<node {node_id}>" if module is None else _module_file_name(module, base_dir)
        self.instance: Any = None
        self._process: Any = None
        self._flush: Any = None
        self._pending_text = ""  # print() output not yet ended by a newline
        self._module_name = f"pitlane.nodes.{node_id}"
        self._module: Any = None

    # -- logging

    def _log(self, level: str, message: str) -> None:
        write = sys.stderr.write
        for line in message.split("\n"):
            write(f"[python:{self.id}] {level} {line}\n")

    def _log_text(self, text: str) -> None:
        """Text written to sys.stdout (print): one INFO line per complete line."""
        text = self._pending_text + text
        if "\n" in text:
            *lines, text = text.split("\n")
            for line in lines:
                self._log("INFO", line)
        self._pending_text = text

    def enter_task(self) -> None:
        _current_python_node.set(self)

    # -- errors

    def _describe(self, exc: BaseException) -> Tuple[str, str]:
        """(``<Type>: <message>``, the traceback restricted to the node's own frames)."""
        import traceback

        try:
            text = str(exc)
        except Exception:
            text = "<exception str() failed>"
        # Python's own last traceback line: "ValueError: message", or just "ValueError" for an empty message
        detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        frames = [
            f'  File "{frame.f_code.co_filename}", line {lineno}, in {frame.f_code.co_name}\n'
            for frame, lineno in traceback.walk_tb(exc.__traceback__)
            if frame.f_code.co_filename == self.filename
        ]
        return detail, "Traceback (most recent call last):\n" + "".join(frames) + detail + "\n"

    def _error(self, exc: BaseException) -> ItemError:
        detail, tb = self._describe(exc)
        error = ItemError(detail)
        error.extra = {"traceback": tb}
        return error

    # -- lifecycle

    async def initialize(self) -> None:  # type: ignore[override]
        token = _current_python_node.set(self)
        try:
            await self._start()
        finally:
            _current_python_node.reset(token)

    async def _start(self) -> None:
        import ast

        params = self.params
        try:
            source, _, module_path = _python_source(params, self.base_dir)
        except OSError as exc:
            raise NodeInitError(self.id, self.type_name, f"{type(exc).__name__}: {exc}") from None
        try:
            code = compile(source, self.filename, "exec", dont_inherit=True)
            class_name, problem = _choose_class(_class_defs(ast.parse(source, self.filename)), params.get("class"))
        except (SyntaxError, ValueError) as exc:
            raise NodeInitError(self.id, self.type_name, *self._describe(exc)) from None
        if problem is not None:
            raise NodeInitError(self.id, self.type_name, f"TypeError: {problem}")
        module = types.ModuleType(self._module_name)
        if module_path is not None:
            module.__file__ = module_path
        # A real module in sys.modules, so that dataclasses, typing and pickle find the node's globals.
        sys.modules[self._module_name] = self._module = module
        init = {k: _to_python(v) for k, v in (params.get("init") or {}).items()}
        try:
            exec(code, module.__dict__)
            cls = module.__dict__.get(class_name)
            if not isinstance(cls, type):
                raise NodeInitError(self.id, self.type_name, f"TypeError: '{class_name}' is not a class")
            self.instance = cls(**init)
            process = getattr(self.instance, "process", None)
            if not callable(process):
                detail = f"TypeError: class '{class_name}' has no process() method"
                raise NodeInitError(self.id, self.type_name, detail)
            self._process = process
            self._flush = getattr(self.instance, "flush", None)
            initialize = getattr(self.instance, "initialize", None)
            if initialize is not None:
                result = initialize()
                if hasattr(result, "__await__"):
                    await result
        except _CAUGHT as exc:
            if isinstance(exc, NodeInitError):
                raise
            raise NodeInitError(self.id, self.type_name, *self._describe(exc)) from None

    async def cleanup(self) -> None:  # type: ignore[override]
        token = _current_python_node.set(self)
        try:
            cleanup = getattr(self.instance, "cleanup", None) if self.instance is not None else None
            if cleanup is not None:
                try:
                    result = cleanup()
                    if hasattr(result, "__await__"):
                        await result
                except _CAUGHT as exc:
                    detail, _ = self._describe(exc)
                    print(f"warning: node '{self.id}' (Python) cleanup failed: {detail}", file=sys.stderr)
            if self._pending_text:
                self._log("INFO", self._pending_text)
                self._pending_text = ""
        finally:
            _current_python_node.reset(token)
            if self._module is not None and sys.modules.get(self._module_name) is self._module:
                del sys.modules[self._module_name]
            self.instance = self._process = self._flush = self._module = None

    # -- items

    def process(self, item: Any) -> Any:
        try:
            out = self._process(_to_python(item))
        except _CAUGHT as exc:
            raise self._error(exc) from None
        return self._result(out)

    def _result(self, out: Any) -> Any:
        """DROP, an output, a ``_Many`` of outputs, or a coroutine that resolves to one of those."""
        if out is None:
            return DROP
        t = type(out)
        if t is types.GeneratorType:
            return self._drain(out)
        if t is types.CoroutineType:
            return self._finish(out)
        if t is types.AsyncGeneratorType:
            return self._drain_async(out)
        if t not in (float, int, str, bool, list, dict, tuple) and hasattr(out, "__await__"):
            return self._finish(out)
        return _from_python(out)

    def _drain(self, generator: Any) -> Any:
        outputs = _Many()
        try:
            while True:
                try:
                    value = next(generator)
                except StopIteration:
                    break
                except _CAUGHT as exc:
                    raise self._error(exc) from None
                outputs.append(_from_python(value))  # converted as yielded: later changes do not show
        finally:
            generator.close()
        return outputs

    async def _drain_async(self, generator: Any) -> Any:
        outputs = _Many()
        try:
            while True:
                try:
                    value = await generator.__anext__()
                except StopAsyncIteration:
                    break
                except _CAUGHT as exc:
                    raise self._error(exc) from None
                outputs.append(_from_python(value))
        finally:
            await generator.aclose()
        return outputs

    async def _finish(self, awaitable: Any) -> Any:
        try:
            out = await awaitable
        except _CAUGHT as exc:
            raise self._error(exc) from None
        result = self._result(out)
        if type(result) is types.CoroutineType:
            result = await result
        return result

    def flush(self) -> Any:
        if self._flush is None:
            return None
        try:
            out = self._flush()
        except _CAUGHT as exc:
            raise self._error(exc) from None
        result = self._result(out)
        if type(result) is types.CoroutineType:
            return self._as_outputs_async(result)
        return self._as_outputs(result)

    @staticmethod
    def _as_outputs(result: Any) -> List[Any]:
        if result is DROP:
            return []
        if type(result) is _Many:
            return list(result)
        return [result]

    async def _as_outputs_async(self, coroutine: Any) -> List[Any]:
        return self._as_outputs(await coroutine)


NODE_CLASSES: Tuple[type, ...] = (
    DataSourceNode,
    DataSinkNode,
    PassThroughNode,
    CalculatorNode,
    TextTransformNode,
    BufferNode,
    FilterNode,
    AccumulatorNode,
)

NODE_TYPES: Dict[str, Any] = {}
"""Type name or RemoteMedia class name (``Calculator`` / ``CalculatorNode``) -> node class."""
for _cls in NODE_CLASSES:
    NODE_TYPES[_cls.type_name] = _cls  # type: ignore[attr-defined]
    NODE_TYPES[_cls.type_name + "Node"] = _cls  # type: ignore[attr-defined]
del _cls
NODE_TYPES["python"] = PythonNode
NODE_TYPES["PythonNode"] = PythonNode


# ---------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------

TOP_LEVEL_FIELDS = ("version", "metadata", "nodes", "connections", "$schema", "settings")
NODE_FIELDS = (
    "id",
    "node_type",
    "params",
    "settings",
    "runtime_hint",
    "is_streaming",
    "is_output_node",
    "capabilities",
    "media_capabilities",
    "host",
    "execution",
    "docker",
    "python_deps",
    "metadata",
)
CONNECTION_FIELDS = ("from", "to")
QUEUE_POLICIES = ("block", "drop_oldest", "drop_newest")
ERROR_POLICIES = ("fail", "skip")


def _suggest(name: str, candidates: Iterable[str]) -> str:
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered:
        return f"; did you mean '{lowered[name.lower()]}'?"
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _check_settings(settings: Any, path: str, report: Report, node_level: bool) -> None:
    if type(settings) is not dict:
        report(path, f"expected an object, got {type_name(settings)}")
        return
    allowed = ("queue_capacity", "queue_policy") if node_level else ("queue_capacity", "queue_policy", "on_error")
    for name, value in settings.items():
        p = _child(path, name)
        if name not in allowed:
            report(p, f"unknown setting '{name}'{_suggest(name, allowed)}", key=True)
        elif name == "queue_capacity":
            error = _kind_error("integer>=1", value)
            if error:
                report(p, error)
        else:
            choices = QUEUE_POLICIES if name == "queue_policy" else ERROR_POLICIES
            if value not in choices:
                shown = js_dumps(value) if type(value) is str else type_name(value)
                report(p, f"unknown {name} {shown}; expected one of {', '.join(choices)}")


def validate_manifest(manifest: Any, positions: Optional[Positions] = None, base_dir: str = ".") -> List[Problem]:
    """Every problem of a parsed manifest (an empty list when it is valid), in document order of the checks.
    ``base_dir`` is the manifest's folder (files named in the manifest are relative to it)."""
    problems: List[Problem] = []

    def report(path: str, message: str, key: bool = False) -> None:
        loc = positions.locate(path, key) if positions is not None else None
        problems.append(Problem(path, message, *(loc or (None, None))))

    if type(manifest) is not dict:
        report("$", f"a manifest must be an object, got {type_name(manifest)}")
        return problems

    for name in manifest:
        if name not in TOP_LEVEL_FIELDS:
            report(_child("$", name), f"unknown field '{name}'{_suggest(name, TOP_LEVEL_FIELDS)}", key=True)

    if "version" not in manifest:
        report("$.version", "missing required field 'version'")
    elif manifest["version"] != "v1":
        report("$.version", f'version must be "v1", got {js_dumps(manifest["version"])}')

    metadata = manifest.get("metadata")
    if "metadata" not in manifest:
        report("$.metadata", "missing required field 'metadata' (with a 'name')")
    elif type(metadata) is not dict:
        report("$.metadata", f"expected an object, got {type_name(metadata)}")
    else:
        if "name" not in metadata:
            report("$.metadata.name", "missing required field 'name'")
        elif type(metadata["name"]) is not str or not metadata["name"]:
            report("$.metadata.name", f"expected a non-empty string, got {js_dumps(metadata['name'])}")
        if "description" in metadata and type(metadata["description"]) is not str:
            report("$.metadata.description", f"expected a string, got {type_name(metadata['description'])}")

    if "settings" in manifest:
        _check_settings(manifest["settings"], "$.settings", report, node_level=False)

    # -- nodes
    node_types: Dict[str, str] = {}  # id -> canonical type name (known types only)
    node_index: Dict[str, int] = {}
    nodes = manifest.get("nodes")
    if "nodes" not in manifest:
        report("$.nodes", "missing required field 'nodes'")
        nodes = []
    elif type(nodes) is not list:
        report("$.nodes", f"expected an array, got {type_name(nodes)}")
        nodes = []
    elif not nodes:
        report("$.nodes", "a pipeline needs at least one node")
    known_ids = set()
    for i, node in enumerate(nodes):
        path = _child("$.nodes", i)
        if type(node) is not dict:
            report(path, f"expected an object, got {type_name(node)}")
            continue
        for name in node:
            if name not in NODE_FIELDS:
                report(_child(path, name), f"unknown field '{name}'{_suggest(name, NODE_FIELDS)}", key=True)
        node_id = node.get("id")
        if "id" not in node:
            report(_child(path, "id"), "missing required field 'id'")
        elif type(node_id) is not str or not node_id:
            report(_child(path, "id"), f"expected a non-empty string, got {js_dumps(node_id)}")
            node_id = None
        elif node_id in node_index:
            report(_child(path, "id"), f"duplicate node id '{node_id}' (first at $.nodes[{node_index[node_id]}])")
            node_id = None
        else:
            node_index[node_id] = i
        if node_id is not None:
            known_ids.add(node_id)
        cls = None
        node_type = node.get("node_type")
        if "node_type" not in node:
            report(_child(path, "node_type"), "missing required field 'node_type'")
        elif type(node_type) is not str:
            report(_child(path, "node_type"), f"expected a string, got {type_name(node_type)}")
        elif node_type not in NODE_TYPES:
            report(
                _child(path, "node_type"),
                f"unknown node_type '{node_type}'{_suggest(node_type, NODE_TYPES)}",
            )
        else:
            cls = NODE_TYPES[node_type]
            if node_id is not None:
                node_types[node_id] = cls.type_name
        for flag in ("is_streaming", "is_output_node"):
            if flag in node and type(node[flag]) is not bool:
                report(_child(path, flag), f"expected a boolean, got {type_name(node[flag])}")
        if "settings" in node:
            _check_settings(node["settings"], _child(path, "settings"), report, node_level=True)
        if "params" in node:
            params = node["params"]
            if type(params) is not dict:
                report(_child(path, "params"), f"expected an object, got {type_name(params)}")
            elif cls is not None:
                cls.validate_params(params, _child(path, "params"), report)
                cls.validate_node(node, path, report, base_dir)
        elif cls is not None:
            cls.validate_params({}, _child(path, "params"), report)
            cls.validate_node(node, path, report, base_dir)

    # -- connections
    connections = manifest.get("connections", [])
    if type(connections) is not list:
        report("$.connections", f"expected an array, got {type_name(connections)}")
        connections = []
    edges: List[Tuple[str, str, int]] = []
    seen_edges: Dict[Tuple[str, str], int] = {}
    for j, conn in enumerate(connections):
        path = _child("$.connections", j)
        if type(conn) is not dict:
            report(path, f"expected an object, got {type_name(conn)}")
            continue
        for name in conn:
            if name not in CONNECTION_FIELDS:
                report(_child(path, name), f"unknown field '{name}'", key=True)
        ends = []
        for end in ("from", "to"):
            value = conn.get(end)
            if end not in conn:
                report(_child(path, end), f"missing required field '{end}'")
            elif type(value) is not str:
                report(_child(path, end), f"expected a node id (string), got {type_name(value)}")
            elif value not in known_ids:
                report(_child(path, end), f"no node has id '{value}'{_suggest(value, known_ids)}")
            else:
                ends.append(value)
                continue
            ends.append(None)
        src, dst = ends
        if src is not None and node_types.get(src) == "DataSink":
            report(_child(path, "from"), f"a DataSink takes no outgoing connections (from '{src}')")
        if dst is not None and node_types.get(dst) == "DataSource":
            report(_child(path, "to"), f"a DataSource takes no incoming connections (to '{dst}')")
        if src is None or dst is None:
            continue
        if (src, dst) in seen_edges:
            report(path, f"duplicate connection '{src}' -> '{dst}' (first at $.connections[{seen_edges[(src, dst)]}])")
            continue
        seen_edges[(src, dst)] = j
        edges.append((src, dst, j))

    # -- graph: cycles, reachability
    ordered_ids = sorted(known_ids, key=lambda n: node_index[n])
    successors: Dict[str, List[str]] = {n: [] for n in ordered_ids}
    for src, dst, _ in edges:
        successors[src].append(dst)
    for cycle in _find_cycles(ordered_ids, successors):
        first = seen_edges[(cycle[0], cycle[1])]
        report(_child("$.connections", first), "cycle: " + " -> ".join(f"'{n}'" for n in cycle))
    sources = [n for n in ordered_ids if node_types.get(n) == "DataSource"]
    if sources:
        reached = set(sources)
        stack = list(sources)
        while stack:
            for nxt in successors[stack.pop()]:
                if nxt not in reached:
                    reached.add(nxt)
                    stack.append(nxt)
        for n in ordered_ids:
            if n not in reached:
                report(_child("$.nodes", node_index[n]), f"node '{n}' is not reachable from any DataSource")
    return problems


def _find_cycles(order: List[str], successors: Dict[str, List[str]]) -> List[List[str]]:
    """One cycle (as a closed list of ids) per strongly connected component that has one (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    on_stack: set = set()
    stack: List[str] = []
    components: List[List[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:  # recursion depth is bounded by the node count of a manifest
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in successors[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in successors[v]:
                components.append(component)

    for v in order:
        if v not in index:
            strongconnect(v)
    position = {n: i for i, n in enumerate(order)}
    cycles = []
    for component in sorted(components, key=lambda c: min(position[n] for n in c)):
        members = set(component)
        start = min(component, key=lambda n: position[n])
        # Walk inside the component from its first node until we return to it (BFS for a shortest cycle).
        parents: Dict[str, str] = {}
        frontier = [start]
        found = None
        while frontier and found is None:
            nxt_frontier = []
            for v in frontier:
                for w in successors[v]:
                    if w == start:
                        found = v
                        break
                    if w in members and w not in parents:
                        parents[w] = v
                        nxt_frontier.append(w)
                if found is not None:
                    break
            frontier = nxt_frontier
        path = [start]
        v = found
        while v is not None and v != start:
            path.append(v)
            v = parents.get(v)
        cycle = [start] + list(reversed(path[1:])) + [start]
        cycles.append(cycle)
    return cycles


# ---------------------------------------------------------------------------------------------------------------
# Runtime: queues, stages (one asyncio task each), pipeline
# ---------------------------------------------------------------------------------------------------------------


class _Control:
    """Base of the non-item objects that travel through queues."""

    __slots__ = ()


class _EndOfStream(_Control):
    __slots__ = ()

    def __repr__(self) -> str:
        return "EOS"


EOS = _EndOfStream()


class ErrorRecord(_Control):
    """An item error travelling downstream under the ``skip`` policy; ``value`` is the ``{"$error": ...}`` object."""

    __slots__ = ("value",)

    def __init__(self, value: Dict[str, Any]):
        self.value = value


class BadLine(_Control):
    """An input line that is not JSON, on its way to the entry node whose item error it is."""

    __slots__ = ("text", "line", "reason")

    def __init__(self, text: str, line: int, reason: str = ""):
        self.text = text
        self.line = line
        self.reason = reason


class NodeQueue(asyncio.Queue):
    """A node's bounded input queue with its full-queue policy; counts the items it drops.

    ``drop_oldest`` never drops an end-of-stream marker. Must be created inside the running event loop.
    """

    def __init__(self, capacity: int, policy: str = "block"):
        super().__init__(capacity)
        self.policy = policy
        self.dropped = 0

    def drop_oldest(self) -> bool:
        queue = self._queue  # type: ignore[attr-defined]  # the deque asyncio.Queue._init creates
        for i, entry in enumerate(queue):
            if entry is not EOS:
                del queue[i]
                self.dropped += 1
                return True
        return False


async def _offer(queue: NodeQueue, value: Any) -> None:
    """Put ``value`` into a full queue according to its policy."""
    policy = queue.policy
    if policy == "drop_newest" and value is not EOS:
        queue.dropped += 1
    elif policy == "drop_oldest" and value is not EOS and queue.drop_oldest():
        queue.put_nowait(value)
    else:
        await queue.put(value)


class _Stage:
    """What every task has in common: where its outputs go, item accounting, error handling."""

    def __init__(self, pipeline: "Pipeline", node: Optional[Node], targets: List[NodeQueue], is_output: bool):
        self.pipeline = pipeline
        self.node = node
        self.targets = targets
        self.is_output = is_output
        self.received = 0  # items this stage's node received (error records are not items)
        self.stopped = False  # failed under policy 'fail': takes no more input
        self.task: Optional[asyncio.Task] = None
        self.lines: Optional[LineInput] = None  # the input this stage reads, if any
        self.wait_cancelled = False  # an interrupt cancelled our wait for input

    def cancel_input_wait(self) -> None:
        """Interrupt: if this stage is waiting for input, stop waiting (it then ends its stream normally)."""
        if self.lines is not None and self.lines.waiting and self.task is not None:
            self.wait_cancelled = True
            self.task.cancel()

    async def run_reader(self, produce: Callable[[], Any]) -> None:
        """Run ``produce()``, then forward end of stream (also when an interrupt cancelled the input wait)."""
        try:
            await produce()
        except asyncio.CancelledError:
            if not self.wait_cancelled:
                raise
            task = asyncio.current_task()
            if task is not None and hasattr(task, "uncancel"):  # Python >= 3.11
                task.uncancel()
        await self.close()

    async def emit(self, value: Any) -> None:
        """Deliver an output to every successor (in connection order) and to the pipeline output.

        (The per-item loops of the runners inline this, to spare a coroutine object per item.)"""
        if self.is_output:
            self.pipeline.output(value)
        for queue in self.targets:
            try:
                queue.put_nowait(value)
            except asyncio.QueueFull:
                await _offer(queue, value)

    async def pass_error(self, record: ErrorRecord) -> None:
        """An error record goes along the first outgoing connection only; at a terminal node it is output."""
        if self.targets:
            queue = self.targets[0]
            try:
                queue.put_nowait(record)
            except asyncio.QueueFull:
                await _offer(queue, record)
        else:
            self.pipeline.output(record.value)

    async def item_error(self, index: Optional[int], message: str, item: Any = DROP,
                         extra: Optional[Dict[str, Any]] = None) -> None:
        node = self.node
        assert node is not None
        error: Dict[str, Any] = {
            "node": node.id,
            "node_type": node.type_name,
            "item_index": index,
            "message": message,
        }
        if item is not DROP:
            error["item"] = item
        if extra:
            error.update(extra)
        record = {"$error": error}
        if self.pipeline.on_error == "skip":
            await self.pass_error(ErrorRecord(record))
        else:
            self.stopped = True
            self.pipeline.fail(record)

    async def close(self) -> None:
        """Forward end of stream to every successor (never dropped)."""
        for queue in self.targets:
            try:
                queue.put_nowait(EOS)
            except asyncio.QueueFull:
                await _offer(queue, EOS)

    async def emit_lines(self, source: "LineInput", to_entry_nodes: bool) -> None:
        """Parse input lines; items are emitted. A bad line is this stage's node's item error, or, when feeding
        entry nodes, a ``BadLine`` sent on to them."""
        batches = source.batches()
        try:
            await self._emit_batches(batches, to_entry_nodes)
        finally:
            await batches.aclose()  # type: ignore[attr-defined]  # close the input now, also on an early stop

    async def _emit_batches(self, batches: AsyncIterator[List[str]], to_entry_nodes: bool) -> None:
        pipeline = self.pipeline
        parse = parse_item
        output = pipeline.output if self.is_output else None
        targets = self.targets
        line_no = 0
        async for lines in batches:
            for line in lines:
                line_no += 1
                if pipeline.stopping:
                    return
                try:
                    value = parse(line)
                except (ValueError, RecursionError) as exc:
                    text = line[:-1] if line.endswith("\r") else line
                    if not text.strip(" \t\r"):
                        continue  # blank line: not an item
                    reason = f": {TooDeep.reason}" if isinstance(exc, TooDeep) else ""
                    message = f"invalid JSON on input line {line_no}{reason}"
                    if to_entry_nodes:
                        await self.emit(BadLine(text, line_no, reason))
                    else:
                        index = self.received
                        self.received = index + 1
                        await self.item_error(index, message, text)
                        if self.stopped:
                            return
                    continue
                self.received += 1
                if output is not None:
                    output(value)
                for queue in targets:
                    try:
                        queue.put_nowait(value)
                    except asyncio.QueueFull:
                        await _offer(queue, value)


class _Many(list):
    """The outputs of a ``process`` call that returned a generator."""


class NodeRunner(_Stage):
    """The task of a node with an input queue: get, process, emit; flush and forward EOS at the end."""

    def __init__(self, pipeline: "Pipeline", node: Node, queue: NodeQueue, targets: List[NodeQueue], is_output: bool):
        super().__init__(pipeline, node, targets, is_output)
        self.queue = queue
        self.predecessors = 0

    async def run(self) -> None:
        node = self.node
        assert node is not None
        queue = self.queue
        process = node.process
        output = self.pipeline.output if self.is_output else None
        targets = self.targets
        pending_eos = self.predecessors
        generator_type = types.GeneratorType
        coroutine_type = types.CoroutineType
        node.enter_task()
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                item = await queue.get()
            if isinstance(item, _Control):
                if item is EOS:
                    pending_eos -= 1
                    if pending_eos == 0:
                        break
                elif type(item) is ErrorRecord:
                    await self.pass_error(item)
                elif not self.stopped:  # BadLine
                    index = self.received
                    self.received = index + 1
                    await self.item_error(index, f"invalid JSON on input line {item.line}{item.reason}", item.text)
                continue
            if self.stopped:
                continue  # failed: discard, but keep consuming so no upstream put blocks forever
            index = self.received
            self.received = index + 1
            try:
                out = process(item)
                out_type = type(out)
                if out_type is generator_type:
                    out = _Many(out)  # run the generator here, so its errors are this item's errors
                elif out_type is coroutine_type:
                    out = await out  # an async process (Python nodes)
            except ItemError as exc:
                await self.item_error(index, str(exc), item, exc.extra)
                continue
            except Exception as exc:  # a bug in a node is still only that item's error
                await self.item_error(index, f"{type(exc).__name__}: {exc}", item)
                continue
            if out is DROP:
                continue
            if type(out) is _Many:
                for value in out:
                    await self.emit(value)
                continue
            if output is not None:
                output(out)
            for target in targets:
                try:
                    target.put_nowait(out)
                except asyncio.QueueFull:
                    await _offer(target, out)
        if not self.stopped and not self.pipeline.failed:
            await self.run_flush()
        await self.close()

    async def run_flush(self) -> None:
        node = self.node
        assert node is not None
        try:
            outputs = node.flush()
            if type(outputs) is types.CoroutineType:
                outputs = await outputs
            outputs = list(outputs) if outputs is not None else []
        except Exception as exc:
            if isinstance(exc, ItemError):
                await self.item_error(None, str(exc), DROP, exc.extra)
            else:
                await self.item_error(None, f"{type(exc).__name__}: {exc}")
            return
        for value in outputs:
            await self.emit(value)


class SourceRunner(_Stage):
    """The task of a DataSource: iterates its items (``items``/``range``), its ``file`` or the input stream."""

    def __init__(self, pipeline: "Pipeline", node: DataSourceNode, targets: List[NodeQueue], is_output: bool,
                 lines: Optional["LineInput"] = None):
        super().__init__(pipeline, node, targets, is_output)
        self.lines = lines

    async def run(self) -> None:
        await self.run_reader(self.produce)

    async def produce(self) -> None:
        node = self.node
        assert isinstance(node, DataSourceNode)
        pipeline = self.pipeline
        if self.lines is not None:
            try:
                await self.emit_lines(self.lines, to_entry_nodes=False)
            except OSError as exc:  # a 'file' that cannot be read
                name = node.params.get("file", "<input>")
                reason = {errno.ENOENT: "no such file", errno.EISDIR: "is a folder"}.get(exc.errno, exc.strerror or str(exc))
                await self.item_error(None, f"cannot read file '{name}': {reason}")
            return
        params = node.params
        items: Iterable[Any] = params["items"] if "items" in params else node.range_items()
        output = pipeline.output if self.is_output else None
        targets = self.targets
        for item in items:
            if pipeline.stopping:
                return
            if output is not None:
                output(item)
            for queue in targets:
                try:
                    queue.put_nowait(item)
                except asyncio.QueueFull:
                    await _offer(queue, item)


class InputFeeder(_Stage):
    """Reads the input stream for entry nodes (no DataSource) or for several parameterless DataSources: every
    such node receives every input item."""

    def __init__(self, pipeline: "Pipeline", targets: List[NodeQueue], lines: "LineInput"):
        super().__init__(pipeline, None, targets, False)
        self.lines = lines

    async def run(self) -> None:
        await self.run_reader(self.produce)

    async def produce(self) -> None:
        assert self.lines is not None
        await self.emit_lines(self.lines, to_entry_nodes=True)


# ---------------------------------------------------------------------------------------------------------------
# Line inputs
# ---------------------------------------------------------------------------------------------------------------

_CHUNK = 1 << 16


class LineInput:
    """A source of JSONL lines, read in batches (one batch per chunk read); ``batches()`` runs once."""

    waiting = False  # True while blocked waiting for more input (so an interrupt may cancel the wait)

    def batches(self) -> AsyncIterator[List[str]]:
        raise NotImplementedError


class MemoryLines(LineInput):
    """Lines already in memory (``bench --input``)."""

    def __init__(self, lines: List[str]):
        self.lines = lines

    async def batches(self) -> AsyncIterator[List[str]]:
        if self.lines:
            yield self.lines


def split_lines(text: str) -> List[str]:
    """The lines of a JSONL text (a final newline does not start another line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class StreamLines(LineInput):
    """Lines of a file, or of stdin for ``None``/``-``. Pipes, terminals and sockets are read through the event
    loop; regular files are read directly (a disk read does not wait on anyone)."""

    def __init__(self, path: Optional[str] = None):
        self.path = None if path in (None, "-") else path

    async def batches(self) -> AsyncIterator[List[str]]:
        if self.path is None:
            fd = os.dup(sys.stdin.fileno())
            f = os.fdopen(fd, "rb", buffering=0)
        else:
            f = open(self.path, "rb", buffering=0)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        transport = None
        reader: Optional[asyncio.StreamReader] = None
        was_blocking = os.get_blocking(f.fileno())
        try:
            mode = os.fstat(f.fileno()).st_mode
            # Pipes, sockets and terminals may make us wait: read them through the event loop. Regular files
            # and other devices (/dev/null, which epoll refuses) are read directly.
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or (stat.S_ISCHR(mode) and os.isatty(f.fileno())):
                loop = asyncio.get_running_loop()
                reader = asyncio.StreamReader(limit=_CHUNK * 4)
                try:
                    transport, _ = await loop.connect_read_pipe(
                        lambda: asyncio.StreamReaderProtocol(reader), f  # type: ignore[arg-type]
                    )
                except (OSError, ValueError, NotImplementedError):  # pragma: no cover - no event loop support
                    reader = None
                    os.set_blocking(f.fileno(), True)
            pending: List[str] = []  # pieces of a line not yet complete
            while True:
                if reader is not None:
                    self.waiting = True
                    try:
                        chunk = await reader.read(_CHUNK)
                    finally:
                        self.waiting = False
                else:
                    chunk = f.read(_CHUNK)
                if not chunk:
                    break
                piece = decoder.decode(chunk)
                pending.append(piece)
                if "\n" not in piece:
                    continue
                lines = "".join(pending).split("\n")
                pending = [lines.pop()]
                yield lines
            tail = "".join(pending) + decoder.decode(b"", final=True)
            if tail:
                yield [tail]
        finally:
            if transport is not None:
                transport.close()  # closes f
            else:
                f.close()
            if self.path is None and was_blocking:
                try:
                    os.set_blocking(sys.stdin.fileno(), True)  # the flag is shared with the dup'd descriptor
                except OSError:
                    pass


# ---------------------------------------------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------------------------------------------


class RunResult:
    """How a run ended: ``failure`` is the first error record under policy ``fail`` (else None); ``init_error``
    the ``NodeInitError`` of a node that failed to initialise (then nothing ran)."""

    def __init__(self, failure: Optional[Dict[str, Any]], interrupted: bool, stats: Dict[str, Dict[str, int]],
                 init_error: Optional[NodeInitError] = None):
        self.failure = failure
        self.interrupted = interrupted
        self.stats = stats
        self.init_error = init_error

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.interrupted and self.init_error is None


class Pipeline:
    """A validated manifest turned into node objects; ``await run()`` executes it once.

    The manifest must be normalized as ``load_manifest`` returns it (every number a float; see
    ``normalize_manifest``). Construct it inside the running event loop (asyncio queues belong to one).

    ``output`` receives every pipeline output (items of terminal and ``is_output_node`` nodes, and error records
    that reach a terminal node under ``skip``), in the order they are produced.
    """

    def __init__(
        self,
        manifest: Dict[str, Any],
        output: Callable[[Any], None],
        *,
        input: Optional[LineInput] = None,
        on_error: Optional[str] = None,
        base_dir: str = ".",
    ):
        settings = manifest.get("settings") or {}
        self.output = output
        self.input = input
        self.on_error: str = on_error or settings.get("on_error", "fail")
        self.base_dir = base_dir
        self.default_capacity = int(settings.get("queue_capacity", 1024.0))
        self.default_policy: str = settings.get("queue_policy", "block")
        self.specs: Dict[str, Dict[str, Any]] = {}
        self.nodes: Dict[str, Node] = {}
        for spec in manifest["nodes"]:
            cls = NODE_TYPES[spec["node_type"]]
            if cls.uses_base_dir:
                self.nodes[spec["id"]] = cls(spec["id"], spec.get("params") or {}, base_dir=base_dir)
            else:
                self.nodes[spec["id"]] = cls(spec["id"], spec.get("params") or {})
            self.specs[spec["id"]] = spec
        self.successors: Dict[str, List[str]] = {node_id: [] for node_id in self.nodes}
        self.predecessors: Dict[str, List[str]] = {node_id: [] for node_id in self.nodes}
        for conn in manifest.get("connections") or []:
            self.successors[conn["from"]].append(conn["to"])
            self.predecessors[conn["to"]].append(conn["from"])
        self.order = self._topological_order()
        self.stopping = False
        self.failed = False
        self.failure: Optional[Dict[str, Any]] = None
        self.interrupted = False
        self.init_error: Optional[NodeInitError] = None
        self._stages: List[_Stage] = []
        self._queues: Dict[str, NodeQueue] = {}
        self._initialized: List[Node] = []
        self._capturing = False  # print() / logging of Python nodes routed to stderr (see _LogCapture)

    def _topological_order(self) -> List[str]:
        indegree = {n: len(p) for n, p in self.predecessors.items()}
        ready = [n for n in self.nodes if indegree[n] == 0]
        order: List[str] = []
        while ready:
            n = ready.pop(0)
            order.append(n)
            for s in self.successors[n]:
                indegree[s] -= 1
                if indegree[s] == 0:
                    ready.append(s)
        return order

    # -- control

    def stop(self) -> None:
        """Stop the sources: they emit nothing more (one waiting for input stops waiting) and end their streams."""
        self.stopping = True
        for stage in self._stages:
            stage.cancel_input_wait()

    def fail(self, record: Dict[str, Any]) -> None:
        """Policy 'fail': remember the first error and stop the sources."""
        if not self.failed:
            self.failed = True
            self.failure = record
        self.stop()

    def interrupt(self) -> None:
        """SIGINT: stop the sources (waking one that waits for input); the rest drains and flushes.
        A second interrupt cancels everything."""
        if self.interrupted:
            for stage in self._stages:
                if stage.task is not None:
                    stage.task.cancel()
            return
        self.interrupted = True
        self.stop()

    # -- building (inside the running loop: asyncio queues belong to it)

    def _queue_for(self, node_id: str) -> NodeQueue:
        queue = self._queues.get(node_id)
        if queue is None:
            node_settings = self.specs[node_id].get("settings") or {}
            capacity = int(node_settings.get("queue_capacity", self.default_capacity))
            policy = node_settings.get("queue_policy", self.default_policy)
            queue = self._queues[node_id] = NodeQueue(capacity, policy)
        return queue

    def _build(self) -> None:
        sources = [n for n in self.order if isinstance(self.nodes[n], DataSourceNode)]
        if sources:
            stream_readers = [n for n in sources if self.nodes[n].reads_input]  # type: ignore[attr-defined]
        else:
            stream_readers = [n for n in self.order if not self.predecessors[n]]
        direct_reader = stream_readers[0] if len(stream_readers) == 1 and sources else None
        fed = set(stream_readers) if direct_reader is None else set()
        for node_id in self.order:
            node = self.nodes[node_id]
            targets = [self._queue_for(s) for s in self.successors[node_id]]
            is_output = not targets or bool(self.specs[node_id].get("is_output_node"))
            if isinstance(node, DataSourceNode) and node_id not in fed:
                lines = None
                if node_id == direct_reader:
                    lines = self.input or MemoryLines([])
                elif "file" in node.params:
                    lines = StreamLines(os.path.join(self.base_dir, node.params["file"]))
                self._stages.append(SourceRunner(self, node, targets, is_output, lines))
            else:
                runner = NodeRunner(self, node, self._queue_for(node_id), targets, is_output)
                runner.predecessors = len(self.predecessors[node_id]) + (1 if node_id in fed else 0)
                self._stages.append(runner)
        if fed:
            feeder_targets = [self._queue_for(n) for n in self.order if n in fed]
            self._stages.append(InputFeeder(self, feeder_targets, self.input or MemoryLines([])))

    async def initialize(self) -> None:
        """Call every node's ``initialize()`` in topological order (awaited when it is a coroutine). Raises
        ``NodeInitError``; the nodes started so far (the failing one too) are then still to be cleaned up."""
        if not self._capturing and any(isinstance(n, PythonNode) for n in self.nodes.values()):
            _LogCapture.start()
            self._capturing = True
        for node_id in self.order:
            node = self.nodes[node_id]
            self._initialized.append(node)
            result = node.initialize()
            if type(result) is types.CoroutineType:
                await result

    async def cleanup(self) -> None:
        """Call ``cleanup()`` of every initialized node (errors there are ignored)."""
        for node in self._initialized:
            try:
                result = node.cleanup()
                if type(result) is types.CoroutineType:
                    await result
            except Exception:  # pragma: no cover - built-in nodes do not fail here
                pass
        self._initialized = []
        if self._capturing:
            self._capturing = False
            _LogCapture.stop()

    async def run(self) -> RunResult:
        """Run the pipeline to the end of its input (or its failure, or an interrupt); cleanup always runs."""
        try:
            self._build()
            try:
                await self.initialize()
            except NodeInitError as exc:
                self.init_error = exc  # nothing runs
            else:
                loop = asyncio.get_running_loop()
                for stage in self._stages:
                    stage.task = loop.create_task(stage.run())  # type: ignore[attr-defined]
                tasks = [stage.task for stage in self._stages]
                try:
                    await asyncio.gather(*tasks)
                finally:
                    for task in tasks:
                        if not task.done():
                            task.cancel()
        finally:
            await self.cleanup()
        result = RunResult(self.failure, self.interrupted, self.stats(), self.init_error)
        # Stages and pipeline reference each other; drop them so a finished run (and whatever its output
        # callback holds) is freed by reference counting, not at some later garbage collection.
        self._stages = []
        self._queues = {}
        return result

    def stats(self) -> Dict[str, Dict[str, int]]:
        stats: Dict[str, Dict[str, int]] = {}
        for stage in self._stages:
            if stage.node is None:
                continue
            queue = self._queues.get(stage.node.id)
            stats[stage.node.id] = {
                "received": stage.received,
                "dropped": queue.dropped if queue is not None else 0,
            }
        return stats


async def run_pipeline(
    manifest: Dict[str, Any],
    lines: Optional[List[str]] = None,
    *,
    on_error: Optional[str] = None,
    base_dir: str = ".",
) -> Tuple[List[Any], RunResult]:
    """Convenience: run a validated manifest over in-memory input lines; returns (outputs, result)."""
    outputs: List[Any] = []
    pipeline = Pipeline(
        normalize_manifest(manifest),
        outputs.append,
        input=MemoryLines(lines or []),
        on_error=on_error,
        base_dir=base_dir,
    )
    result = await pipeline.run()
    return outputs, result


# ---------------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------------

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


class OutputWriter:
    """Buffered JSONL writer: one ``js_dumps`` per line, written in blocks, and at most ~50 ms after an output
    when the pipeline goes quiet (so interactive use sees results without a syscall per line)."""

    FLUSH_LINES = 1024
    FLUSH_DELAY = 0.05

    def __init__(self, stream: Any, on_broken: Callable[[], None] = lambda: None):
        self.stream = stream
        self.on_broken = on_broken
        self.buffer: List[str] = []
        self.broken = False
        self._timer: Optional[asyncio.TimerHandle] = None

    def write(self, value: Any) -> None:
        if self.broken:
            return
        buffer = self.buffer
        buffer.append(js_dumps(value))
        if len(buffer) >= self.FLUSH_LINES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.buffer or self.broken:
            return
        data = ("\n".join(self.buffer) + "\n").encode("utf-8")
        self.buffer = []
        try:
            self.stream.write(data)
            self.stream.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.broken = True
            self.on_broken()


def _print_problems(err: ManifestError, stream: Any) -> None:
    count = len(err.problems)
    print(
        f"error PL_ERR_MANIFEST_INVALID: {err.filename}: {count} problem{'s' if count != 1 else ''}",
        file=stream,
    )
    for problem in err.problems:
        print(problem.format(err.filename), file=stream)


def _format_failure(record: Dict[str, Any]) -> str:
    error = record["$error"]
    head = f"error PL_ERR_NODE_FAILED: node '{error['node']}' ({error['node_type']})"
    if error["item_index"] is None:
        text = f"{head} failed in flush: {error['message']}"
    else:
        text = f"{head} failed on item {error['item_index']}: {error['message']}\n{js_dumps(error['item'])}"
    if "traceback" in error:  # a Python node's
        text += "\n" + error["traceback"].rstrip("\n")
    return text


async def _run_main(
    manifest: Dict[str, Any], args: argparse.Namespace, base_dir: str, writer: OutputWriter
) -> RunResult:
    pipeline = Pipeline(
        manifest, writer.write, input=StreamLines(args.input), on_error=args.on_error, base_dir=base_dir
    )

    writer.on_broken = pipeline.stop
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, pipeline.interrupt)
    except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not on Unix main thread
        pass
    try:
        return await pipeline.run()
    except asyncio.CancelledError:  # a second SIGINT
        return RunResult(pipeline.failure, True, pipeline.stats(), pipeline.init_error)
    finally:
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
            pass
        writer.flush()


def cmd_run(args: argparse.Namespace) -> int:
    try:
        manifest, _ = load_manifest(args.manifest)
    except ManifestError as err:
        _print_problems(err, sys.stderr)
        return EXIT_INVALID
    base_dir = os.path.dirname(os.path.abspath(args.manifest))
    if args.input not in (None, "-"):
        try:
            open(args.input, "rb").close()
            if os.path.isdir(args.input):
                raise IsADirectoryError(21, "Is a directory")
        except OSError as exc:
            print(f"error PL_ERR_USAGE: cannot read input '{args.input}': {exc.strerror}", file=sys.stderr)
            return EXIT_INVALID
    try:
        out = sys.stdout.buffer if args.output in (None, "-") else open(args.output, "wb")
    except OSError as exc:
        print(f"error PL_ERR_USAGE: cannot write output '{args.output}': {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    writer = OutputWriter(out)
    try:
        result = asyncio.run(_run_main(manifest, args, base_dir, writer))
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    if writer.broken:
        # Keep the interpreter from complaining about the closed stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        print("error PL_ERR_OUTPUT: the output was closed", file=sys.stderr)
        return EXIT_FAILED
    if args.stats:
        print(json.dumps({"stats": result.stats}), file=sys.stderr)
    if result.init_error is not None:
        print(result.init_error.format(), file=sys.stderr)
        return EXIT_FAILED
    if result.failure is not None:
        print(_format_failure(result.failure), file=sys.stderr)
        return EXIT_FAILED
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        load_manifest(args.manifest)
    except ManifestError as err:
        _print_problems(err, sys.stdout)
        return EXIT_INVALID
    print("ok")
    return EXIT_OK


async def _bench_init_sample(path: str, base_dir: str) -> int:
    """Mode init: read + parse + validate + build + initialize + cleanup, no items. Returns nanoseconds."""
    t0 = time.perf_counter_ns()
    manifest, _ = load_manifest(path)
    pipeline = Pipeline(manifest, lambda value: None, base_dir=base_dir)
    pipeline._build()
    try:
        await pipeline.initialize()
    except NodeInitError as exc:
        raise _BenchFailure(exc.format()) from None
    finally:
        await pipeline.cleanup()
    return time.perf_counter_ns() - t0


async def _bench_run_sample(manifest: Dict[str, Any], lines: List[str], base_dir: str,
                            concurrent: int) -> Tuple[int, List[Any]]:
    """Mode run: build, initialize and run ``concurrent`` copies to completion (flush and cleanup included),
    collecting outputs in memory. Returns (nanoseconds, outputs of the first copy)."""
    copies: List[List[Any]] = [[] for _ in range(concurrent)]
    t0 = time.perf_counter_ns()
    pipelines = [Pipeline(manifest, copy.append, input=MemoryLines(lines), base_dir=base_dir) for copy in copies]
    results = await asyncio.gather(*(p.run() for p in pipelines))
    elapsed = time.perf_counter_ns() - t0
    for result in results:
        if result.init_error is not None:
            raise _BenchFailure(result.init_error.format())
        if result.failure is not None:
            raise _BenchFailure(_format_failure(result.failure))
    return elapsed, copies[0]


async def _bench_main(args: argparse.Namespace, manifest: Dict[str, Any], lines: List[str],
                      base_dir: str) -> Tuple[List[int], List[Any]]:
    """All samples in one event loop; returns the measured sample times and the last sample's outputs."""
    samples_ns: List[int] = []
    outputs: List[Any] = []
    warm_runs = 0
    warm_deadline = time.perf_counter() + args.warmup_ms / 1000.0
    # Warm-up: at least --warmup runs and at least --warmup-ms (the same rule pitlane's worker follows).
    while len(samples_ns) < args.samples:
        outputs = []  # let the previous sample's outputs go before this one runs
        gc.collect()  # same collector state at the start of every sample (outside the timing)
        if args.mode == "init":
            elapsed = await _bench_init_sample(args.manifest, base_dir)
        else:
            elapsed, outputs = await _bench_run_sample(manifest, lines, base_dir, args.concurrent)
        if warm_runs < args.warmup or time.perf_counter() < warm_deadline:
            warm_runs += 1
        else:
            samples_ns.append(elapsed)
    args.warmup_runs = warm_runs
    return samples_ns, outputs


class _BenchFailure(Exception):
    """A sample failed; the message is the CLI's error report."""


def cmd_bench(args: argparse.Namespace) -> int:
    if args.samples < 1 or args.warmup < 0 or args.warmup_ms < 0 or args.concurrent < 1:
        print("error PL_ERR_USAGE: --samples and --concurrent must be >= 1, --warmup and --warmup-ms >= 0",
              file=sys.stderr)
        return EXIT_INVALID
    try:
        manifest, _ = load_manifest(args.manifest)  # also in mode init: an invalid manifest is a usage error
    except ManifestError as err:
        _print_problems(err, sys.stderr)
        return EXIT_INVALID
    lines: List[str] = []
    if args.input is not None:
        try:
            if args.input == "-":
                data = sys.stdin.buffer.read()
            else:
                with open(args.input, "rb") as f:
                    data = f.read()
        except OSError as exc:
            print(f"error PL_ERR_USAGE: cannot read input '{args.input}': {exc.strerror}", file=sys.stderr)
            return EXIT_INVALID
        lines = split_lines(data.decode("utf-8", "replace"))
    base_dir = os.path.dirname(os.path.abspath(args.manifest))
    try:
        samples_ns, outputs = asyncio.run(_bench_main(args, manifest, lines, base_dir))
    except _BenchFailure as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    digest = hashlib.sha256()
    for value in outputs:
        digest.update((js_dumps(value) + "\n").encode("utf-8"))
    try:
        import resource

        peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except ImportError:  # pragma: no cover - not on Unix
        peak_rss_kb = None
    report = {
        "runtime": "cpython",
        "python_version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "mode": args.mode,
        "samples_ns": samples_ns,
        "warmup": args.warmup_runs,
        "output_count": len(outputs),
        "outputs_sha256": digest.hexdigest(),
        "peak_rss_kb": peak_rss_kb,
    }
    print(json.dumps(report, separators=(",", ":")))
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pitlane_ref.py",
        description="CPython reference executor for pitlane pipeline manifests (see docs/pipelines.md).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="run a pipeline over JSONL input")
    run.add_argument("manifest", metavar="FILE")
    run.add_argument("--input", metavar="F", help="JSONL input file, or - for stdin (default)")
    run.add_argument("--output", metavar="F", help="JSONL output file, or - for stdout (default)")
    run.add_argument("--on-error", choices=ERROR_POLICIES, help="error policy (overrides settings.on_error)")
    run.add_argument("--stats", action="store_true", help="print per-node counts on stderr at the end")
    run.set_defaults(handler=cmd_run)

    validate = sub.add_parser("validate", help="validate a manifest: print its problems (exit 2) or 'ok'")
    validate.add_argument("manifest", metavar="FILE")
    validate.set_defaults(handler=cmd_validate)

    bench = sub.add_parser("bench", help="time runs of a pipeline; prints one JSON line")
    bench.add_argument("manifest", metavar="MANIFEST")
    bench.add_argument("--samples", type=int, required=True, metavar="N")
    bench.add_argument("--warmup", type=int, default=0, metavar="W", help="minimum warm-up runs (default 0)")
    bench.add_argument("--warmup-ms", type=float, default=0.0, metavar="MS",
                       help="keep warming up until this many milliseconds have passed (default 0)")
    bench.add_argument("--mode", choices=("run", "init"), default="run")
    bench.add_argument("--concurrent", type=int, default=1, metavar="K")
    bench.add_argument(
        "--input", metavar="F", help="JSONL input read into memory before timing (- for stdin; default: none)"
    )
    bench.set_defaults(handler=cmd_bench)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
