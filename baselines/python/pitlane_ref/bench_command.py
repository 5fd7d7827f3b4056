"""The ``bench`` command: times warm-up and measured samples of a pipeline in one event loop (mode ``run``: build,
initialize, run and clean up; mode ``init``: read, validate, build, initialize and clean up) and prints one JSON
line with the sample times, the output count and digest, and the peak RSS (baselines/python/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import platform
import sys
import time
from typing import Any, Dict, List, Tuple

from .cli_report import EXIT_FAILED, EXIT_INVALID, EXIT_OK, _format_failure, _print_problems
from .js_json import js_dumps
from .line_input import MemoryLines, split_lines
from .manifest import load_manifest
from .node import NodeInitError
from .pipeline import Pipeline
from .problems import ManifestError


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
