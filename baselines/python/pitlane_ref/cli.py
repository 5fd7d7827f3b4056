"""The command line: ``run``, ``validate`` and ``bench`` (usage in the package docstring). ``validate`` is here;
``run`` and ``bench`` are imported when chosen, so that validating a manifest does not load asyncio.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .cli_report import EXIT_INVALID, EXIT_OK, _print_problems
from .manifest import load_manifest
from .problems import ManifestError
from .run_input import INPUT_FORMATS, PCM_FORMATS
from .validation import ERROR_POLICIES


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        load_manifest(args.manifest)
    except ManifestError as err:
        _print_problems(err, sys.stdout)
        return EXIT_INVALID
    print("ok")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from .run_command import cmd_run as run  # imported when chosen: it loads asyncio

    return run(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench_command import cmd_bench as bench  # imported when chosen: it loads asyncio

    return bench(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pitlane_ref.py",
        description="CPython reference executor for pitlane pipeline manifests (see docs/pipelines.md).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="run a pipeline over JSONL input")
    run.add_argument("manifest", metavar="FILE")
    run.add_argument("-i", "--input", metavar="F",
                     help="input: a JSONL file, a WAV or other audio file (read as audio frames), or - for stdin "
                          "(JSONL; raw PCM with --sample-rate) (default -)")
    run.add_argument("-o", "--output", metavar="F",
                     help="JSONL output file, or - for stdout (default); a .wav name takes the audio frames "
                          "(other outputs go to stdout)")
    run.add_argument("--on-error", choices=ERROR_POLICIES, help="error policy (overrides settings.on_error)")
    run.add_argument("--stats", action="store_true",
                     help="print per-node counts (and audio frame latency) on stderr at the end, as one JSON line")
    run.add_argument("--json-stats", action="store_true",
                     help="print pitlane's --json-stats line on stderr at the end: state, duration_ms, nodes (id, "
                          "type, received, dropped), frame_latency, frames_dropped_behind (--realtime)")
    run.add_argument("--input-format", choices=INPUT_FORMATS,
                     help="how -i is read: auto (by the file header or name; stdin is JSONL, or raw PCM when "
                          "--sample-rate is given), jsonl, wav, pcm (raw samples), ffmpeg")
    run.add_argument("--sample-rate", type=int, metavar="HZ", help="sample rate of raw PCM input (default 16000)")
    run.add_argument("--channels", type=int, metavar="N", help="channels of raw PCM input (default 1)")
    run.add_argument("--pcm-format", choices=PCM_FORMATS, default="f32le",
                     help="sample encoding of raw PCM input: f32le (RemoteMedia's) or s16le")
    run.add_argument("--frame-ms", type=float, metavar="MS",
                     help="length of the audio frames fed to the pipeline, in ms (default 20)")
    run.add_argument("--chunk-size", type=int, metavar="SAMPLES",
                     help="frame length in samples per channel (overrides --frame-ms)")
    run.add_argument("--realtime", action="store_true",
                     help="release audio frames at wall-clock speed, like a live source; frames the pipeline "
                          "cannot take in time are dropped and counted, with a warning")
    run.add_argument("--warmup", type=float, metavar="SECONDS",
                     help="with --realtime: the first SECONDS of the input warm the pipeline up (processed and "
                          "written) and are left out of frame latency and frames dropped behind")
    run.add_argument("--streams", type=int, metavar="N",
                     help="replay the audio input as N concurrent streams (stream ids s0..s{N-1}), released "
                          "together: a load test of a live pipeline with --realtime")
    run.add_argument("--audio-samples", action="store_true",
                     help="write the samples of audio outputs into JSONL (base64 of little-endian f32)")
    run.add_argument("--wav-format", choices=("s16", "f32"), default="s16",
                     help="sample encoding of a .wav output (default s16)")
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
