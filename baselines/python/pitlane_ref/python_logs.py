"""What Python nodes print and log: while a pipeline with Python nodes runs, ``print()`` and the ``logging``
module are routed to stderr as ``[python:ID] LEVEL`` lines of the node whose code is running (a context variable
set in the node's task), so that the pipeline output on stdout stays pure JSONL.
"""

from __future__ import annotations

import contextvars
import io
import sys
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from .python_node import PythonNode


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
