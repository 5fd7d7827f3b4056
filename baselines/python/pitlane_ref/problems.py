"""Validation problems and where they are: JSON paths, ``Problem``, ``ManifestError`` and ``Positions``.

A problem names the JSON path of the value it is about (``$.nodes[1].params.operand``, built with ``_child``) and,
for a manifest read from a file, the 1-based line and column of that value (``Positions`` maps paths to them).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional, Tuple


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
