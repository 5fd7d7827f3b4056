"""WAV in and out, as pitlane does it (``src/media/wav.ts``). Reading: the RIFF chunks are walked here first, with
pitlane's checks and problem words (not a WAV, cut short, a data size larger than the file, 0 channels, a rate of
0, an encoding it does not decode, NaN or infinite float samples); then the samples become float32 in [-1, 1],
interleaved, with pitlane's scaling (8-bit: (s - 128) / 128; n-bit integers: s / 2^(n-1); float: as is), so the
frames are bit for bit pitlane's. 8/16/24/32-bit PCM and 32/64-bit float, RIFF or RIFX, are decoded with numpy.
A-law, µ-law and IMA ADPCM, which pitlane decodes with wavefile, are refused here (convert them with ffmpeg).

Writing: the 44-byte header and the sample bytes of 16-bit PCM (clipped, ``v * 32768`` below zero, ``v * 32767``
above, rounded as JavaScript's ``Math.round``) or 32-bit float WAV, for a writer that streams frames and writes the
header's sizes when done.
"""

from __future__ import annotations

import os
import stat
import struct
from typing import Any, Dict, NamedTuple, Optional

import numpy as np

from .audio import AudioInputError
from .js_json import _js_string
from .run_input import looks_like_wav

MAX_WAV_FILE_BYTES = 1024 * 1024 * 1024
"""Largest WAV file read (decoded in memory), as pitlane."""

FORMAT_NAMES: Dict[int, str] = {1: "PCM", 3: "float", 6: "A-law", 7: "µ-law", 17: "IMA ADPCM", 0xFFFE: "extensible"}

WAV_HEADER_BYTES = 44


class DecodedAudio(NamedTuple):
    samples: Any  # numpy float32, interleaved
    sample_rate: int
    channels: int


class FileError(Exception):
    """A file that cannot be read (``PL_ERR_FILE``): message ``<path>: <reason>``."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")


def _format_bytes(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} bytes"


def read_wav_file(path: str) -> DecodedAudio:
    """Reads and decodes a WAV file; raises ``FileError`` (cannot read) or ``AudioInputError`` (bad audio)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        reasons = {2: "no such file", 13: "permission denied: the audio file cannot be read",
                   21: "the audio file is a directory, not a regular file"}
        raise FileError(path, reasons.get(exc.errno or 0, f"cannot open the audio file: {exc.strerror}")) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise FileError(path, "the audio file is not a regular file")
        if st.st_size > MAX_WAV_FILE_BYTES:
            raise FileError(path, f"the audio file is {_format_bytes(st.st_size)}; the limit is "
                                  f"{_format_bytes(MAX_WAV_FILE_BYTES)}")
        data = f.read(MAX_WAV_FILE_BYTES + 1)
    return decode_wav(data, path)


class _Layout(NamedTuple):
    big: bool
    format: int
    channels: int
    sample_rate: int
    bits: int
    data_offset: int
    data_bytes: int


def decode_wav(data: bytes, name: str) -> DecodedAudio:
    """Decodes WAV bytes; ``name`` is used in errors."""
    layout = _read_layout(data, name)
    raw = data[layout.data_offset:layout.data_offset + layout.data_bytes]
    order = ">" if layout.big else "<"
    fmt, bits = layout.format, layout.bits
    if fmt == 3:
        samples = np.frombuffer(raw, dtype=f"{order}f{bits // 8}").astype(np.float32)
        _check_finite(samples, layout.channels, layout.sample_rate, name)
    elif fmt == 1 and bits == 8:
        samples = ((np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0).astype(np.float32)
    elif fmt == 1 and bits == 16:
        samples = (np.frombuffer(raw, dtype=f"{order}i2").astype(np.float32) / np.float32(32768.0))
    elif fmt == 1 and bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] << 16 | b[:, 1] << 8 | b[:, 2]) if layout.big else (b[:, 2] << 16 | b[:, 1] << 8 | b[:, 0])
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        samples = (ints.astype(np.float64) / float(1 << 23)).astype(np.float32)
    elif fmt == 1 and bits == 32:
        samples = (np.frombuffer(raw, dtype=f"{order}i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    else:
        raise AudioInputError(
            name, f"{FORMAT_NAMES[fmt]} WAV is decoded by pitlane but not by the reference executor; convert it "
                  "to PCM with ffmpeg")
    return DecodedAudio(samples, layout.sample_rate, layout.channels)


def _read_layout(b: bytes, name: str) -> _Layout:
    def fail(message: str) -> Any:
        raise AudioInputError(name, message)

    if len(b) < 12:
        fail(f"not a WAV file: {len(b)} bytes, shorter than a RIFF header")
    if not looks_like_wav(b):
        fail(f'not a WAV file: it starts with {_js_string(b[0:4].decode("latin-1"))}, not "RIFF…WAVE"')
    big = b[0:4] == b"RIFX"
    e = ">" if big else "<"
    fmt: Optional[tuple] = None
    offset = 12
    while offset + 8 <= len(b):
        chunk_id = b[offset:offset + 4]
        (size,) = struct.unpack_from(e + "I", b, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(b):
                fail(f'the "fmt " chunk is cut short ({size} bytes)')
            format_tag, channels, rate = struct.unpack_from(e + "HHI", b, body)
            (bits,) = struct.unpack_from(e + "H", b, body + 14)
            if format_tag == 0xFFFE and size >= 40 and body + 26 <= len(b):
                (format_tag,) = struct.unpack_from(e + "H", b, body + 24)
            if channels == 0:
                fail("the header says 0 channels")
            if rate == 0:
                fail("the header says a sample rate of 0 Hz")
            if format_tag not in FORMAT_NAMES or format_tag == 0xFFFE:
                fail(f"WAVE format {format_tag} is not one pitlane decodes (PCM, float, A-law, µ-law, IMA ADPCM); "
                     "convert it with ffmpeg")
            if (format_tag == 1 and bits not in (8, 16, 24, 32)) or (format_tag == 3 and bits not in (32, 64)):
                fail(f"{bits}-bit {FORMAT_NAMES[format_tag]} samples are not a WAV encoding pitlane decodes")
            fmt = (format_tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                fail('the "data" chunk comes before the "fmt " chunk')
            assert fmt is not None
            held = len(b) - body
            if size > held:
                fail(f"truncated: the header announces {size} bytes of samples but the file holds {held} after the "
                     "header" + (" (a streaming or corrupt header)"
                                 if size == 0xFFFFFFFF or size > MAX_WAV_FILE_BYTES else ""))
            format_tag, channels, rate, bits = fmt
            frame_bytes = (bits // 8) * channels
            if format_tag in (1, 3) and size % frame_bytes != 0:
                fail(f"truncated: {size} bytes of samples is not a whole number of {frame_bytes}-byte frames")
            return _Layout(big, format_tag, channels, rate, bits, body, size)
        offset = body + size + (size % 2)
    return fail('no "fmt " chunk: the file is cut short or not a WAV' if fmt is None
                else 'no "data" chunk: the file is cut short')


def _js_number_text(v: float) -> str:
    if v != v:
        return "NaN"
    return "Infinity" if v > 0 else "-Infinity"


def _check_finite(samples: Any, channels: int, rate: int, name: str) -> None:
    bad = np.flatnonzero(~np.isfinite(samples))
    if bad.size:
        i = int(bad[0])
        frame = i // channels
        raise AudioInputError(
            name, f"sample {frame} of channel {i % channels} (at {frame / rate:.6f} s) is "
                  f"{_js_number_text(float(samples[i]))}; audio samples must be finite")


def wav_header(sample_rate: int, channels: int, sample_format: str, data_bytes: int) -> bytes:
    """The 44-byte header of a WAV file holding ``data_bytes`` of samples (``s16`` or ``f32``)."""
    bits = 32 if sample_format == "f32" else 16
    return struct.pack(
        "<4sI8sIHHIIHH4sI",
        b"RIFF", min(0xFFFFFFFF, 36 + data_bytes), b"WAVEfmt ", 16, 3 if sample_format == "f32" else 1,
        channels, int(sample_rate), int(sample_rate * channels * bits / 8), channels * bits // 8, bits,
        b"data", min(0xFFFFFFFF, data_bytes),
    )


def wav_sample_bytes(samples: Any, sample_format: str) -> bytes:
    """Samples as WAV data bytes: 16-bit PCM (clipped and rounded as pitlane does) or little-endian f32."""
    if sample_format == "f32":
        return np.ascontiguousarray(samples, dtype="<f4").tobytes()
    v = np.clip(samples.astype(np.float64), -1.0, 1.0)
    scaled = np.where(v < 0, v * 32768.0, v * 32767.0)
    return np.floor(scaled + 0.5).astype("<i2").tobytes()
