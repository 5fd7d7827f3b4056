"""pitlane_logging: print() and the logging module of a pitlane `python` node, as pitlane log records.

Shared by pitlane's two Python runtimes: the CPython worker (pitlane_worker.py) and the helper of the Pyodide VM
(pitlane_pyodide.py). Each runtime says where a record goes with an `emit(level, text)` function; this module owns
what both do the same: the level names of docs/python-nodes.md, the handler on the root logger, and the base of the
text stream that replaces sys.stdout (one record per write that ends a line, as a print() call does). Where the
pending text of an unfinished line is kept differs (one buffer per worker; one per node in the shared VM), so
each runtime subclasses LineStream. Standard library only, Python >= 3.9.
"""

import io
import logging


def level_name(levelno):
    """The pitlane level of a logging level number: debug, info, warning, error or critical."""
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


class ForwardingHandler(logging.Handler):
    """Sends every record that reaches the root logger to emit(level, text)."""

    def __init__(self, emit):
        super().__init__()
        self._forward = emit

    def emit(self, record):
        try:
            self._forward(level_name(record.levelno), self.format(record))
        except Exception:
            self.handleError(record)


def forward_logging(emit):
    """Makes a ForwardingHandler the only handler of the root logger, at level INFO: debug records stay hidden
    unless the node lowers the level, as in a fresh Python whose root logger shows warnings and up."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = ForwardingHandler(emit)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


class LineStream(io.TextIOBase):
    """A text stream of the node's code (sys.stdout, sys.stderr) whose lines become log records. Subclasses
    implement add(text): text is a non-empty str; a text that ends with a newline completes a record."""

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        if text:
            self.add(text)
        return len(text)

    def add(self, text):
        raise NotImplementedError
