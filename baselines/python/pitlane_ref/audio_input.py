"""Audio into a pipeline, as ``pitlane run -i`` takes it (``src/media/audio-input.ts``, ``src/cli/run-input.ts``):
a WAV file (decoded in memory, ``wav``), raw PCM from a file or stdin (``f32le``, RemoteMedia's format, or
``s16le``, with the rate and channels given), or any other file through Debian's ``ffmpeg`` (``ffprobe`` reads the
rate and channels first). ``resolve_input`` decides which, by ``--input-format`` or detected the way pitlane does.

Framing is pitlane's: frames of ``chunk_size`` samples per channel, or ``round(rate * frame_ms / 1000)`` (default
20 ms), the last one possibly shorter; each stamped with its stream position (``timestamp_us``, rounded as
JavaScript's ``Math.round``) and, when handed to the pipeline, with its arrival time. With ``realtime``, frames are
released at wall-clock speed: a frame is due at start + its timestamp; when the pipeline takes a frame a whole
frame late, that frame is dropped (the newest due frame goes on), counted, and reported through ``on_behind``. With
``streams`` N > 1, each frame is released N times, as streams ``s0`` … ``s{N-1}`` (a load test of a live pipeline);
live, the streams arrive in ``STAGGER_GROUPS`` groups spread over the frame period, as pitlane releases them.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any, AsyncIterator, Callable, Iterable, List, Optional

import numpy as np

from .audio import AudioFrame, AudioInputError, js_round, monotonic_us
from .line_input import LineInput, StreamBytes
from .run_input import DEFAULT_FRAME_MS
from .wav import read_wav_file

def _check_format(name: str, sample_rate: Any, channels: Any) -> None:
    if type(sample_rate) is not int or sample_rate <= 0:
        raise AudioInputError(name, f"raw PCM needs a positive --sample-rate (got {sample_rate})")
    if type(channels) is not int or channels <= 0 or channels > 64:
        raise AudioInputError(name, f"raw PCM needs --channels from 1 to 64 (got {channels})")


# Groups the live streams are released in per frame period, evenly spaced (pitlane's STAGGER_GROUPS).
STAGGER_GROUPS = 10


class AudioInput(LineInput):
    """An input of audio frames (see the module docstring); ``frames()`` runs once. ``open()`` first: it reads a
    WAV (or probes a file with ffprobe) so that bad audio is reported before the pipeline starts."""

    is_audio = True

    def __init__(self, kind: str, path: str, *, sample_rate: Optional[int] = None, channels: Optional[int] = None,
                 pcm_format: str = "f32le", frame_ms: Optional[float] = None, chunk_size: Optional[int] = None,
                 realtime: bool = False, stream_id: Optional[str] = None, streams: int = 1, warmup_s: float = 0.0,
                 on_behind: Callable[[int, float], None] = lambda dropped, late_ms: None):
        self.kind = kind
        self.path = path
        self.sample_rate = sample_rate
        self.channels = channels
        self.pcm_format = pcm_format
        self.frame_ms = frame_ms
        self.chunk_size = chunk_size
        self.realtime = realtime
        self.stream_id = stream_id
        self.streams = streams  # replay the input as this many streams (s0, s1, ...), frame by frame
        self.on_behind = on_behind
        self.warmup_s = warmup_s  # live: seconds at the start left out of latency and drop counts
        # Called with the arrival time of the first frame after the warm-up (latency counts from it).
        self.on_warm: Callable[[float], None] = lambda arrival_us: None
        self.dropped_behind = 0  # frames of every stream
        self.dropped_slots = 0  # frame times dropped
        self._bytes: Optional[StreamBytes] = None
        self._chunks: Optional[Iterable[Any]] = None
        self._process: Optional[Any] = None

    @property  # type: ignore[override]
    def waiting(self) -> bool:
        return self._bytes is not None and self._bytes.waiting

    def open(self) -> None:
        """Reads a WAV file or probes another one; raises ``AudioInputError`` or ``wav.FileError``."""
        if self.kind == "wav":
            wav = read_wav_file(self.path)
            self.sample_rate, self.channels = wav.sample_rate, wav.channels
            self._chunks = [wav.samples]
        elif self.kind == "pcm":
            if self.sample_rate is None:
                self.sample_rate = 16000
            if self.channels is None:
                self.channels = 1
            _check_format(self.path, self.sample_rate, self.channels)
        else:
            self.sample_rate, self.channels = _ffprobe(self.path)

    def frame_samples(self) -> int:
        """Samples per channel in a frame."""
        if self.chunk_size is not None:
            return self.chunk_size
        assert self.sample_rate is not None
        return max(1, js_round(self.sample_rate * (self.frame_ms or DEFAULT_FRAME_MS) / 1000))

    async def _sample_chunks(self) -> AsyncIterator[Any]:
        if self._chunks is not None:
            for chunk in self._chunks:
                yield chunk
            return
        if self.kind == "pcm":
            self._bytes = StreamBytes(self.path)
            async for chunk in _pcm_chunks(self._bytes.chunks(), self.pcm_format, self.channels or 1, self.path):
                yield chunk
            return
        async for chunk in self._ffmpeg_chunks():
            yield chunk

    async def _ffmpeg_chunks(self) -> AsyncIterator[Any]:
        proc = await asyncio.create_subprocess_exec(
            "ffmpeg", "-v", "error", "-nostdin", "-i", self.path, "-map", "0:a:0", "-f", "f32le", "-acodec",
            "pcm_f32le", "pipe:1", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._process = proc
        assert proc.stdout is not None and proc.stderr is not None
        stderr_task = asyncio.ensure_future(proc.stderr.read(16384))

        async def raw() -> AsyncIterator[bytes]:
            assert proc.stdout is not None
            while True:
                data = await proc.stdout.read(1 << 20)
                if not data:
                    return
                yield data

        try:
            async for chunk in _pcm_chunks(raw(), "f32le", self.channels or 1, self.path):
                yield chunk
            code = await proc.wait()
            if code != 0:
                stderr = (await stderr_task).decode("utf-8", "replace")
                raise AudioInputError(self.path, f"ffmpeg failed (exit {code}): {_last_line(stderr) or 'no message'}")
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            stderr_task.cancel()

    async def frames(self) -> AsyncIterator[AudioFrame]:
        """The frames, cut and paced (pitlane's ``frameAudio``)."""
        rate, channels = self.sample_rate, self.channels
        assert rate is not None and channels is not None
        per_frame = self.frame_samples()
        want = per_frame * channels
        ids = [f"s{i}" for i in range(self.streams)] if self.streams > 1 else [self.stream_id]
        realtime = self.realtime
        position = 0  # samples per channel emitted (or dropped) so far
        pending: Any = None
        # The live clock starts once the pipeline has taken the first frame of every stream (start-up is not
        # falling behind): as if that slot was released then, so the next frame is due one frame later (``due``).
        started: Optional[float] = None
        warm_samples = js_round(rate * self.warmup_s)
        warm = warm_samples == 0

        # Live streams arrive staggered across the frame period, as independent sources do (pitlane's
        # STAGGER_GROUPS): group g of the streams (contiguous ids) is released g/groups of a period after the first.
        groups = min(len(ids), STAGGER_GROUPS) if realtime else 1
        bounds = [len(ids) * g // groups for g in range(groups + 1)]

        def make(samples: Any, g: int) -> List[AudioFrame]:
            """Group g's frames of the slot at ``position``, stamped as arriving now (one arrival time for all)."""
            nonlocal warm
            timestamp_us = js_round(position / rate * 1e6)
            arrival_us = monotonic_us()
            if not warm and position >= warm_samples:
                warm = True
                self.on_warm(arrival_us)
            group = ids[bounds[g]:bounds[g + 1]]
            return [AudioFrame(samples, rate, channels, i, timestamp_us, arrival_us) for i in group]

        async def due(frame_samples: int, g: int) -> bool:
            """Live: wait until group g of the slot at ``position`` is due; False (dropped, counted past the warm-up)
            when its time is already over."""
            nonlocal started
            if not realtime or position == 0:
                return True
            if started is None:  # the pipeline has taken the first slot: the clock starts as if it was released now
                started = time.perf_counter()
            frame_s = frame_samples / rate
            due_at = started + position / rate + g * frame_s / groups
            now = time.perf_counter()
            if now < due_at:
                await asyncio.sleep(due_at - now)
                return True
            late_ms = (now - due_at) * 1000
            if late_ms < frame_s * 1000:
                return True
            if position < warm_samples:
                return False
            self.dropped_behind += bounds[g + 1] - bounds[g]
            self.dropped_slots += 1
            if self.dropped_slots == 1 or self.dropped_slots % 50 == 0:
                self.on_behind(self.dropped_behind, late_ms)
            return False

        async def slot(samples: Any) -> AsyncIterator[AudioFrame]:
            """The slot of ``samples`` (one frame per stream), group by group; advances the position."""
            nonlocal position
            frame_samples = samples.size // channels
            for g in range(groups):
                if await due(frame_samples, g):
                    for frame in make(samples, g):
                        yield frame
            position += frame_samples

        async for chunk in self._sample_chunks():
            at = 0
            if pending is not None:
                need = want - pending.size
                joined = np.concatenate((pending, chunk[:need]))
                at = min(need, chunk.size)
                if joined.size < want:
                    pending = joined
                    continue
                pending = None
                async for frame in slot(joined):
                    yield frame
            n = chunk.size
            while n - at >= want:
                samples = chunk[at:at + want]
                at += want
                async for frame in slot(samples):
                    yield frame
            if at < n:
                pending = chunk[at:].copy()
        if pending is not None and pending.size > 0:
            async for frame in slot(pending):
                yield frame


async def _pcm_chunks(stream: AsyncIterator[bytes], fmt: str, channels: int, name: str) -> AsyncIterator[Any]:
    """Raw PCM bytes to float32 chunks of whole frames; bytes of a frame split across reads are carried over."""
    width = 4 if fmt == "f32le" else 2
    frame_bytes = width * channels
    carry = b""
    offset_bytes = 0
    async for data in stream:
        chunk = carry + data if carry else data
        whole = len(chunk) - len(chunk) % frame_bytes
        carry = chunk[whole:]
        if whole == 0:
            continue
        if fmt == "f32le":
            out = np.frombuffer(chunk, dtype="<f4", count=whole // 4).astype(np.float32)
            bad = np.flatnonzero(~np.isfinite(out))
            if bad.size:
                i = int(bad[0])
                frame = (offset_bytes // width + i) // channels
                v = float(out[i])
                text = "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
                raise AudioInputError(
                    name, f"sample {frame} of channel {i % channels} is {text}; audio samples must be finite")
        else:
            out = np.frombuffer(chunk, dtype="<i2", count=whole // 2).astype(np.float32) / np.float32(32768.0)
        offset_bytes += whole
        yield out
    if carry:
        raise AudioInputError(
            name, f"the raw PCM ends in the middle of a frame ({len(carry)} of {frame_bytes} bytes): check "
                  "--channels and --pcm-format")


def _last_line(text: str) -> str:
    lines = text.strip().split("\n")
    return lines[-1].strip() if lines else ""


def _ffprobe(path: str) -> "tuple[int, int]":
    try:
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=sample_rate,channels",
             "-of", "json", path], capture_output=True, text=True)
    except FileNotFoundError:
        raise AudioInputError(
            path, "not a WAV file; other audio formats are decoded with ffmpeg, which is not installed (Debian: "
                  "apt-get install ffmpeg), or convert it to WAV") from None
    except OSError as exc:
        raise AudioInputError(path, f"ffprobe failed: {exc}") from None
    if probe.returncode != 0:
        raise AudioInputError(
            path, f"ffmpeg cannot read it: {_last_line(probe.stderr) or f'ffprobe exit {probe.returncode}'}")
    streams = json.loads(probe.stdout).get("streams") or []
    if not streams:
        raise AudioInputError(path, "ffmpeg finds no audio stream in it")
    try:
        rate, channels = int(streams[0].get("sample_rate")), int(streams[0].get("channels"))
    except (TypeError, ValueError):
        rate, channels = 0, 0
    _check_format(path, rate, channels)
    return rate, channels
