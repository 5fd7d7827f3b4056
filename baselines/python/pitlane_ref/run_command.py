"""The ``run`` command: runs a manifest over JSONL input (stdin or ``--input``) and writes JSONL output through a
buffered ``OutputWriter``; SIGINT stops the sources and lets the rest drain; the result becomes the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Any, Callable, Dict, List, Optional

from .cli_report import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, _format_failure, _print_problems
from .js_json import js_dumps
from .line_input import StreamLines
from .manifest import load_manifest
from .pipeline import Pipeline, RunResult
from .problems import ManifestError


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
