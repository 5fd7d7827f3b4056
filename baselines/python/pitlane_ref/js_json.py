"""JSON values the JavaScript way: the JSONL item reader and ``js_dumps``.

Every JSON number is a Python ``float`` (IEEE-754 double), in the input and in the manifest, so arithmetic agrees
bit for bit with JavaScript. ``parse_item`` reads one input line as ``JSON.parse`` does (refusing deep nesting),
``js_dumps`` writes a value exactly as ``JSON.stringify`` does (number and string formatting, property order),
``json_equal`` compares two values, ``type_name`` names their JSON type in messages, and ``normalize_manifest``
turns a loaded manifest's numbers into floats.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict


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
    if t is dict or isinstance(value, dict):  # a Marked event (node.Marked) is an object too
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
    if isinstance(value, dict):  # a Marked event (node.Marked)
        return _js_object(value)
    to_json = getattr(value, "to_json", None)
    if to_json is not None:  # an AudioFrame: its metadata, as JSON.stringify calls toJSON()
        return js_dumps(to_json())
    raise TypeError(f"not a JSON value: {t.__name__}")


def json_equal(a: Any, b: Any) -> bool:
    """Deep JSON equality: 1 equals 1.0, true does not equal 1, object key order does not matter."""
    ta, tb = type(a), type(b)
    if ta is not tb and isinstance(a, dict) and isinstance(b, dict):  # a Marked event (node.Marked)
        ta = tb = dict
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
