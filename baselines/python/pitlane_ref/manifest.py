"""Reading manifest files: JSON (standard library) or YAML (PyYAML when installed), with source positions.

``parse_manifest_text`` turns text into a normalized manifest and the ``Positions`` of its values (a scan of the
JSON text, or PyYAML's node marks); ``load_manifest`` reads, parses and validates a file and raises one
``ManifestError`` with every problem.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import os
import re
from typing import Any, Dict, Tuple

from .js_json import _reject_constant, _to_json
from .problems import ManifestError, Positions, Problem, _child
from .validation import validate_manifest


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
