"""The ``run`` command: runs a manifest over JSONL input (stdin or ``--input``), or over audio frames (a WAV or
other audio file, raw PCM on stdin: ``run_input``, ``audio_input``), and writes JSONL output through a buffered
``OutputWriter`` (audio to a WAV file with ``-o out.wav``: ``audio_output``); SIGINT stops the sources and lets the
rest drain; the result becomes the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from typing import Any, Callable, Dict, List, Optional

from .cli_report import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, _format_failure, _print_problems
from .js_json import js_dumps
from .line_input import StreamLines
from .manifest import load_manifest
from .node_types import NODE_TYPES
from .pipeline import Pipeline, RunResult
from .problems import ManifestError
from .run_input import UsageError, live_manifest, resolve_input


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
    manifest: Dict[str, Any], args: argparse.Namespace, base_dir: str, writer: OutputWriter, source: Any
) -> RunResult:
    pipeline = Pipeline(
        manifest, writer.write, input=source, on_error=args.on_error, base_dir=base_dir
    )

    writer.on_broken = pipeline.stop
    if hasattr(writer, "on_failure"):
        writer.on_failure = pipeline.stop  # type: ignore[attr-defined]
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


def _audio_source(kind: str, args: argparse.Namespace) -> Any:
    """The ``AudioInput`` of ``-i`` (opened: a WAV is decoded, another file probed); raises on bad audio."""
    from .audio_input import AudioInput  # numpy: only for audio

    def on_behind(dropped: int, late_ms: float) -> None:
        print(f"pitlane_ref: warning: the pipeline is behind real time: {dropped} frame(s) dropped so far "
              f"(the last one was taken {late_ms:.1f} ms late)", file=sys.stderr)

    source = AudioInput(
        kind, args.input, sample_rate=args.sample_rate, channels=args.channels, pcm_format=args.pcm_format,
        frame_ms=args.frame_ms, chunk_size=args.chunk_size, realtime=args.realtime, streams=args.streams or 1,
        warmup_s=args.warmup or 0.0, on_behind=on_behind)
    source.open()
    return source


def cmd_run(args: argparse.Namespace) -> int:
    try:
        manifest, _ = load_manifest(args.manifest)
    except ManifestError as err:
        _print_problems(err, sys.stderr)
        return EXIT_INVALID
    base_dir = os.path.dirname(os.path.abspath(args.manifest))
    try:
        kind = resolve_input(args.input or "-", args.input_format, args.sample_rate)
    except UsageError as exc:
        print(f"error PL_ERR_USAGE: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.warmup is not None and (kind == "jsonl" or not args.realtime):
        print("error PL_ERR_USAGE: --warmup applies to a live run: give it with --realtime and an audio input",
              file=sys.stderr)
        return EXIT_INVALID
    if args.warmup is not None and not args.warmup >= 0:
        print(f"error PL_ERR_USAGE: --warmup must be a number ≥ 0 (got {args.warmup})", file=sys.stderr)
        return EXIT_INVALID
    source: Any
    if kind == "jsonl":
        if args.input not in (None, "-"):
            try:
                open(args.input, "rb").close()
                if os.path.isdir(args.input):
                    raise IsADirectoryError(21, "Is a directory")
            except OSError as exc:
                print(f"error PL_ERR_USAGE: cannot read input '{args.input}': {exc.strerror}", file=sys.stderr)
                return EXIT_INVALID
        source = StreamLines(args.input)
    else:
        args.input = args.input or "-"
        for flag, value in (("--chunk-size", args.chunk_size), ("--frame-ms", args.frame_ms),
                            ("--streams", args.streams)):
            if value is not None and not value > 0:
                print(f"error PL_ERR_USAGE: {flag} must be a positive number (got {value})", file=sys.stderr)
                return EXIT_INVALID
        from .audio import AudioInputError
        from .wav import FileError

        try:
            source = _audio_source(kind, args)
        except AudioInputError as exc:
            print(f"error PL_ERR_AUDIO_INPUT: {exc}", file=sys.stderr)
            return EXIT_INVALID
        except FileError as exc:
            print(f"error PL_ERR_FILE: {exc}", file=sys.stderr)
            return EXIT_INVALID
        if args.realtime:
            manifest = live_manifest(manifest, args.frame_ms, args.chunk_size, args.streams or 1)
    wav_path = args.output if args.output is not None and args.output.lower().endswith(".wav") else None
    srt_path = args.output if args.output is not None and args.output.lower().endswith(".srt") else None
    try:
        out = sys.stdout.buffer if args.output in (None, "-") or wav_path or srt_path else open(args.output, "wb")
    except OSError as exc:
        print(f"error PL_ERR_USAGE: cannot write output '{args.output}': {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    started = time.perf_counter()
    writer: OutputWriter
    if kind != "jsonl" or wav_path is not None or srt_path is not None:
        from .audio_output import AudioOutputWriter

        try:
            writer = AudioOutputWriter(out, wav_path, args.wav_format, args.audio_samples, srt_path=srt_path)
        except OSError as exc:
            print(f"error PL_ERR_USAGE: cannot write output '{args.output}': {exc.strerror}", file=sys.stderr)
            return EXIT_INVALID
    else:
        writer = OutputWriter(out)
    if kind != "jsonl" and hasattr(writer, "latency"):
        source.on_warm = writer.latency.count_from  # type: ignore[attr-defined]
    wav = getattr(writer, "wav", None)
    srt = getattr(writer, "srt", None)
    try:
        result = asyncio.run(_run_main(manifest, args, base_dir, writer, source))
        if wav is not None and writer.failure is None:  # type: ignore[attr-defined]
            wav.end()
        if srt is not None:
            srt.end()
    finally:
        if wav is not None:
            wav.abandon()
        if srt is not None:
            srt.abandon()
        if out is not sys.stdout.buffer:
            out.close()
    if writer.broken:
        # Keep the interpreter from complaining about the closed stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        print("error PL_ERR_OUTPUT: the output was closed", file=sys.stderr)
        return EXIT_FAILED
    live = kind != "jsonl" and args.realtime
    queued = 0
    if live:
        entry = {n["id"] for n in manifest["nodes"]} - {c["to"] for c in manifest.get("connections") or []}
        queued = sum(s["dropped"] for node_id, s in result.stats.items() if node_id in entry)
        if queued:
            print(f"pitlane_ref: warning: the pipeline fell behind real time: {queued} frame(s) were dropped from "
                  "full input queues (drop_oldest)", file=sys.stderr)
    latency = writer.latency.summary() if hasattr(writer, "latency") else None  # type: ignore[attr-defined]
    if args.json_stats:
        # pitlane's --json-stats line, with what the reference counts (node types, received, dropped).
        state = ("failed" if result.failure is not None or result.init_error is not None or result.input_error
                 else "cancelled" if result.interrupted else "completed")
        line: Dict[str, Any] = {
            "state": state,
            "duration_ms": (time.perf_counter() - started) * 1000,
            "nodes": [{"id": n["id"], "type": NODE_TYPES[n["node_type"]].type_name, **result.stats[n["id"]]}
                      for n in manifest["nodes"] if n["id"] in result.stats],  # in manifest order, as pitlane
        }
        if latency is not None:
            line["frame_latency"] = latency
        if live:
            line["frames_dropped_behind"] = source.dropped_behind + queued
        print(json.dumps(line), file=sys.stderr)
    elif args.stats:
        report: Dict[str, Any] = {"stats": result.stats}
        if latency is not None:
            report["frame_latency"] = latency
        if live:
            report["frames_dropped_behind"] = source.dropped_behind + queued
        print(json.dumps(report), file=sys.stderr)
    if result.input_error is not None:
        print(f"error PL_ERR_AUDIO_INPUT: {result.input_error}", file=sys.stderr)
        return EXIT_INVALID
    if getattr(writer, "failure", None) is not None:
        print(f"error PL_ERR_OUTPUT: {writer.failure}", file=sys.stderr)  # type: ignore[attr-defined]
        return EXIT_FAILED
    if result.init_error is not None:
        print(result.init_error.format(), file=sys.stderr)
        return EXIT_FAILED
    if result.failure is not None:
        print(_format_failure(result.failure), file=sys.stderr)
        return EXIT_FAILED
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK
