"""Resampling for the reference's FastResampleNode and AudioTransform: a streaming windowed-sinc resampler in numpy,
the reference's own (it cannot load libsamplerate, which pitlane uses through WebAssembly), and the per-stream
core the two nodes share (pitlane's ``resampling.ts``): one converter per stream kept across frames, channel
mixing with the Python SDK's rules, gain, output timestamps from the stream position, the tail drained at end of
stream so that a stream gives round(input frames × out rate / in rate) output frames, as pitlane's does.

The converter: with out/in = L/M in lowest terms, output frame k lies at input time t = k·M/L; its value is
sum_j x[j]·h(t − j), h a sinc low-pass at fc = rolloff · min(1, L/M) / 2 cycles per input sample, windowed by a
Kaiser window over ±zero_crossings / (2·fc) input samples, each phase's taps normalised to sum 1 (exact DC gain).
The L phases' taps are tabulated when L ≤ 2048 (every common rate pair), else computed per output. Input before
the stream's first sample reads as silence; an output is made once the input its window needs has arrived, and
handed out as libsamplerate hands it out (HOLDBACK), so frames downstream are cut where pitlane cuts them.
Quality levels (RemoteMedia's Low, Medium, High): libsamplerate's zero crossings (19.25, 45.7, 142.9), with the
rolloff and window that come closest to its converters (QUALITY).

Its samples differ from libsamplerate's (another filter): pipelines are compared by what they compute from the
audio (a transcript), not sample by sample; README.md states the difference measured on a real clip.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .audio import AudioFrame, js_round

QUALITY = {"Low": (19.25, 0.83, 10.0), "Medium": (45.7, 0.92, 12.0), "High": (142.9, 0.97, 12.0)}
"""Quality level -> (zero crossings each side, rolloff, Kaiser beta). The zero crossings are those of
libsamplerate's sinc converters (half-lengths 2464/128, 22438/491 and 340239/2381 table entries), the rolloff and
beta the values that bring this filter closest to them (fitted on a LibriVox clip, 48 kHz stereo to 16 kHz)."""

HOLDBACK = {"Low": (19, 20), "Medium": (46, 47), "High": (143, 144)}
"""Quality level -> (output frames held back when downsampling, input frames when upsampling): what
libsamplerate's converters hold back from a stream (measured), so that this converter hands out its frames in the
same sizes and downstream frames are cut at the same points as in pitlane."""

_TABLE_PHASES = 2048


class StreamResampler:
    """One streaming converter of interleaved float32 audio (see the module docstring)."""

    def __init__(self, channels: int, in_rate: int, out_rate: int, quality: str = "Medium"):
        g = math.gcd(int(in_rate), int(out_rate))
        self.up, self.down = int(out_rate) // g, int(in_rate) // g  # L, M
        self.channels = channels
        self.in_rate, self.out_rate = in_rate, out_rate
        zero_crossings, rolloff, self.beta = QUALITY[quality]
        self.fc = rolloff * min(1.0, self.up / self.down) / 2
        self.width = zero_crossings / min(1.0, self.up / self.down)  # the window's half-width, in input samples
        self.half = int(math.ceil(self.width))  # taps each side of t
        self.taps = 2 * self.half
        held_out, held_in = HOLDBACK.get(quality, (0, 0))
        self.held_out, self.held_in = (held_out, 0) if self.up < self.down else (0, held_in)
        self.table = self._phase_taps(np.arange(self.up)) if self.up <= _TABLE_PHASES else None
        self.buf = np.zeros((self.half, channels), dtype=np.float64)  # silence before the first sample
        self.buf_start = -self.half  # absolute input index of buf[0]
        self.frames_in = 0
        self.frames_out = 0  # also the index of the next output frame

    def _phase_taps(self, phases: Any) -> Any:
        """Taps for output phases p (t = n + p/L): weights of inputs n − half + 1 … n + half."""
        frac = np.asarray(phases, dtype=np.float64)[:, None] / self.up
        offsets = np.arange(-self.half + 1, self.half + 1, dtype=np.float64)[None, :]
        x = frac - offsets  # t − j
        h = 2 * self.fc * np.sinc(2 * self.fc * x)
        inside = np.clip(1 - (x / self.width) ** 2, 0, None)
        w = np.where(inside > 0, np.i0(self.beta * np.sqrt(inside)) / np.i0(self.beta), 0.0)
        taps = h * w
        return taps / taps.sum(axis=1, keepdims=True)

    def _outputs(self, last_input: int, limit: Optional[int] = None) -> Any:
        """Every output frame whose window ends at or before input index ``last_input`` (at most ``limit``)."""
        k0 = self.frames_out
        # t_k = k·M/L; its window reaches input floor(t_k) + half, which must be <= last_input: k < (A + 1)·L/M
        # with A = last_input − half, so the first k too far is ceil((A + 1)·L / M).
        k_end = -(-(last_input - self.half + 1) * self.up // self.down)
        if limit is not None:
            k_end = min(k_end, limit)
        if k_end <= k0:
            return np.zeros((0, self.channels), dtype=np.float32)
        ks = np.arange(k0, k_end, dtype=np.int64)
        base = ks * self.down // self.up  # floor(t_k)
        phases = ks * self.down - base * self.up
        taps = self.table[phases] if self.table is not None else self._phase_taps(phases)
        idx = (base - self.half + 1 - self.buf_start)[:, None] + np.arange(self.taps)[None, :]
        y = np.einsum("kt,ktc->kc", taps, self.buf[idx])
        self.frames_out = k_end
        keep_from = int((k_end * self.down // self.up) - self.half + 1 - self.buf_start)
        if keep_from > 0:
            self.buf = self.buf[keep_from:]
            self.buf_start += keep_from
        return y.astype(np.float32)

    def push(self, samples: Any) -> Any:
        """Converts the next interleaved samples of the stream; returns the (interleaved) frames ready."""
        if samples.size == 0:
            return samples
        frames = samples.reshape(-1, self.channels).astype(np.float64)
        self.buf = np.concatenate((self.buf, frames))
        self.frames_in += frames.shape[0]
        # Hand out what libsamplerate would have by now: ceil(N·L/M) − held_out, or ceil((N − held_in)·L/M).
        limit = -(-(self.frames_in - self.held_in) * self.up // self.down) - self.held_out
        return self._outputs(self.frames_in - 1, limit).reshape(-1)

    def drain(self) -> Any:
        """The frames the exact ratio still owes at end of stream; the stream is over after."""
        owed = js_round(self.frames_in * self.out_rate / self.in_rate) - self.frames_out
        if owed <= 0:
            return np.zeros(0, dtype=np.float32)
        self.buf = np.concatenate((self.buf, np.zeros((self.taps + owed * self.down // self.up + 2, self.channels))))
        last = self.buf_start + self.buf.shape[0] - 1
        out = self._outputs(last)
        return out[:owed].reshape(-1)


def can_mix_channels(source: int, target: int) -> bool:
    return source == target or target == 1 or source == 1 or target < source


def mix_channels(samples: Any, source: int, target: int) -> Any:
    """pitlane's ``mixChannels``: to mono the mean of the channels, mono copied, N to fewer the first ones."""
    if source == target:
        return samples
    rows = samples.reshape(-1, source)
    if target == 1:
        if source == 2:
            return ((rows[:, 0].astype(np.float64) + rows[:, 1]) * 0.5).astype(np.float32)
        total = rows[:, 0].astype(np.float64)
        for c in range(1, source):
            total = total + rows[:, c]
        return (total * (1 / source)).astype(np.float32)
    if source == 1:
        return np.repeat(samples, target)
    return np.ascontiguousarray(rows[:, :target]).reshape(-1)


class _State:
    __slots__ = ("in_rate", "in_channels", "out_rate", "out_channels", "resampler", "base_us", "frames_out", "last")

    def __init__(self, frame: AudioFrame, out_rate: int, out_channels: int):
        self.in_rate, self.in_channels = frame.sample_rate, frame.channels
        self.out_rate, self.out_channels = out_rate, out_channels
        self.resampler: Optional[StreamResampler] = None
        self.base_us = frame.timestamp_us
        self.frames_out = 0
        self.last = frame


class ResamplingCore:
    """Per-stream resampling, channel mixing and gain (pitlane's ``ResamplingCore``); errors are returned as
    messages for the node to raise."""

    def __init__(self, node_type: str, source_rate: Optional[int], target_rate: Optional[int],
                 channels: Optional[int], quality: str, gain: float):
        self.node_type = node_type
        self.source_rate, self.target_rate, self.channels = source_rate, target_rate, channels
        self.quality = quality
        self.gain = gain
        self.streams: Dict[Optional[str], _State] = {}

    def process(self, frame: AudioFrame) -> Tuple[Optional[AudioFrame], Optional[str]]:
        state = self.streams.get(frame.stream_id)
        if state is None:
            out_channels = self.channels if self.channels is not None else frame.channels
            if not can_mix_channels(frame.channels, out_channels):
                return None, (f"{self.node_type} cannot mix {frame.channels} channels into {out_channels} (it mixes to "
                              "mono, copies mono to N channels, or keeps the first channels)")
            out_rate = self.target_rate if self.target_rate is not None else frame.sample_rate
            state = self.streams[frame.stream_id] = _State(frame, out_rate, out_channels)
            if out_rate != frame.sample_rate:
                state.resampler = StreamResampler(min(frame.channels, out_channels), frame.sample_rate, out_rate,
                                                  self.quality)
        return self._convert(state, frame), None

    def stream_format(self, frame: AudioFrame) -> Optional[Tuple[Any, int]]:
        state = self.streams.get(frame.stream_id)
        return None if state is None else (state.in_rate, state.in_channels)

    def _convert(self, state: _State, frame: AudioFrame) -> Optional[AudioFrame]:
        state.last = frame
        if state.resampler is None and state.out_channels == frame.channels and self.gain == 1:
            state.frames_out += frame.frames
            return frame
        samples = frame.samples
        if state.out_channels < frame.channels:
            samples = mix_channels(samples, frame.channels, state.out_channels)
        if state.resampler is not None:
            samples = state.resampler.push(samples)
        if state.out_channels > frame.channels:
            samples = mix_channels(samples, frame.channels, state.out_channels)
        if samples.size == 0:
            return None
        if self.gain != 1:
            samples = (samples.astype(np.float64) * self.gain).astype(np.float32)
        return self._emit(state, samples)

    def _emit(self, state: _State, samples: Any) -> AudioFrame:
        timestamp_us = None if state.base_us is None else state.base_us + (state.frames_out * 1e6) / state.out_rate
        state.frames_out += samples.size // state.out_channels
        return state.last.derive(samples, sample_rate=state.out_rate, channels=state.out_channels,
                                 timestamp_us=timestamp_us)

    def flush(self) -> List[AudioFrame]:
        out: List[AudioFrame] = []
        for state in self.streams.values():
            if state.resampler is None:
                continue
            tail = state.resampler.drain()
            if state.out_channels > state.in_channels:
                tail = mix_channels(tail, state.in_channels, state.out_channels)
            if tail.size == 0:
                continue
            if self.gain != 1:
                tail = (tail.astype(np.float64) * self.gain).astype(np.float32)
            out.append(self._emit(state, tail))
        return out
