"""Audio out of ``run``, as pitlane does it (``src/cli/run-output.ts``): with ``-o out.wav`` the pipeline's audio
frames go to one WAV file (16-bit PCM, or 32-bit float with ``--wav-format f32``; written as ``out.wav.partial``
and renamed when complete) and its other outputs to stdout as JSONL; otherwise frames are JSONL lines of their
metadata, with their samples (base64 of little-endian f32) under ``--audio-samples``. Every audio frame that
leaves is timed: frame in (its ``arrival_ts_us``) → its output out, summarised as pitlane's ``frame_latency``; so is
every event a node made from a frame (``node.Marked``: the analysers', the VAD's, HealthEmitter's), as in pitlane.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Dict, List, Optional

from .audio import AudioFrame, monotonic_us
from .node import Marked
from .text_nodes import format_srt_cue, is_transcript
from .run_command import OutputWriter
from .wav import WAV_HEADER_BYTES, wav_header, wav_sample_bytes


class FrameLatency:
    """Per-frame latency in ns (kept exactly, not in a histogram); ``summary()`` gives pitlane's key names, in µs."""

    def __init__(self) -> None:
        self.values: List[int] = []
        self.from_us = float("-inf")  # outputs of frames that arrived before this are left out (--warmup)

    def count_from(self, arrival_us: float) -> None:
        """Forgets what was recorded (the warm-up) and from now on records only outputs of frames that arrived
        at ``arrival_us`` or later."""
        self.from_us = arrival_us
        self.values = []

    def observe(self, arrival_us: Optional[float]) -> None:
        """Records the latency of an output that arrived at ``arrival_us`` (None: not from a frame)."""
        if arrival_us is None or arrival_us < self.from_us:
            return
        ns = round((monotonic_us() - arrival_us) * 1000)
        self.values.append(ns if ns >= 1 else 1)

    def summary(self) -> Optional[Dict[str, Any]]:
        """``{count, p50_us, p90_us, p99_us, max_us}`` (nearest-rank percentiles), or None without frames."""
        values = sorted(self.values)
        n = len(values)
        if n == 0:
            return None

        def at(p: float) -> float:
            return values[max(0, math.ceil(p / 100 * n) - 1)] / 1000

        return {"count": n, "p50_us": at(50), "p90_us": at(90), "p99_us": at(99), "max_us": values[-1] / 1000}


class WavOutput:
    """A WAV file written frame by frame; the header's sizes are written when it ends."""

    def __init__(self, path: str, sample_format: str):
        self.path = path
        self.sample_format = sample_format
        self.file = open(path + ".partial", "wb")
        self.file.write(bytes(WAV_HEADER_BYTES))
        self.data_bytes = 0
        self.format: Optional[tuple] = None

    def write(self, frame: AudioFrame) -> None:
        if self.format is None:
            self.format = (frame.sample_rate, frame.channels)
        elif self.format != (frame.sample_rate, frame.channels):
            raise ValueError(
                f"{self.path}: a WAV file has one format; this frame is {frame.sample_rate} Hz × {frame.channels} "
                f"channel(s), the file is {self.format[0]} Hz × {self.format[1]} (resample before the output)")
        data = wav_sample_bytes(frame.samples, self.sample_format)
        self.file.write(data)
        self.data_bytes += len(data)

    def end(self) -> None:
        rate, channels = self.format or (16000, 1)
        self.file.seek(0)
        self.file.write(wav_header(rate, channels, self.sample_format, self.data_bytes))
        self.file.close()
        os.replace(self.path + ".partial", self.path)

    def abandon(self) -> None:
        if not self.file.closed:
            self.file.close()


class SrtFile:
    """``-o out.srt``: transcript items (``{text, start, end}``) as numbered SubRip cues, written as
    ``out.srt.partial`` and renamed when complete."""

    def __init__(self, path: str):
        self.path = path
        self.file = open(path + ".partial", "w", encoding="utf-8", newline="")
        self.cues = 0

    def write(self, value: Any) -> None:
        self.cues += 1
        self.file.write(format_srt_cue(self.cues, value["start"], value["end"], value["text"]))

    def end(self) -> None:
        self.file.close()
        os.replace(self.path + ".partial", self.path)

    def abandon(self) -> None:
        if not self.file.closed:
            self.file.close()


class AudioOutputWriter(OutputWriter):
    """``OutputWriter`` for runs with audio: frames to the WAV file or as JSONL, timed (see the module docstring).
    A frame the WAV file cannot take (another format) is the run's output failure (``failure``)."""

    def __init__(self, stream: Any, wav_path: Optional[str] = None, wav_format: str = "s16",
                 audio_samples: bool = False, on_broken: Callable[[], None] = lambda: None,
                 srt_path: Optional[str] = None):
        super().__init__(stream, on_broken)
        self.latency = FrameLatency()
        self.wav = WavOutput(wav_path, wav_format) if wav_path is not None else None
        self.srt = SrtFile(srt_path) if srt_path is not None else None
        self.audio_samples = audio_samples
        self.failure: Optional[str] = None
        self.on_failure: Callable[[], None] = lambda: None

    def write(self, value: Any) -> None:
        if self.srt is not None and is_transcript(value):
            if type(value) is Marked:
                self.latency.observe(value.arrival_us)
            self.srt.write(value)
            return
        if type(value) is Marked:  # an event made from a frame
            self.latency.observe(value.arrival_us)
        elif type(value) is AudioFrame:
            self.latency.observe(value.arrival_ts_us)
            if self.wav is not None:
                if self.failure is None:
                    try:
                        self.wav.write(value)
                    except (ValueError, OSError) as exc:
                        self.failure = str(exc)
                        self.on_failure()
                return
            if self.audio_samples:
                value = value.to_json(True)
        super().write(value)
