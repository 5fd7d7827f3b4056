"""JSONL input lines, read in batches: ``MemoryLines`` (already in memory) and ``StreamLines`` (a file or stdin;
pipes, terminals and sockets are read through the event loop, so an interrupt can stop the wait), on top of
``StreamBytes`` (the raw chunks, which raw PCM audio input reads too). ``LineInput.is_audio`` marks an input of
audio frames (``audio_input.AudioInput``) instead of lines.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import stat
import sys
from typing import AsyncIterator, List, Optional


_CHUNK = 1 << 16


class LineInput:
    """A source of JSONL lines, read in batches (one batch per chunk read); ``batches()`` runs once."""

    waiting = False  # True while blocked waiting for more input (so an interrupt may cancel the wait)
    is_audio = False  # an input of audio frames (``frames()``) rather than lines

    def batches(self) -> AsyncIterator[List[str]]:
        raise NotImplementedError


class MemoryLines(LineInput):
    """Lines already in memory (``bench --input``)."""

    def __init__(self, lines: List[str]):
        self.lines = lines

    async def batches(self) -> AsyncIterator[List[str]]:
        if self.lines:
            yield self.lines


def split_lines(text: str) -> List[str]:
    """The lines of a JSONL text (a final newline does not start another line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class StreamBytes(LineInput):
    """The bytes of a file, or of stdin for ``None``/``-``, in chunks. Pipes, terminals and sockets are read
    through the event loop (so an interrupt can stop the wait); regular files are read directly (a disk read does
    not wait on anyone)."""

    def __init__(self, path: Optional[str] = None):
        self.path = None if path in (None, "-") else path

    async def chunks(self) -> AsyncIterator[bytes]:
        if self.path is None:
            fd = os.dup(sys.stdin.fileno())
            f = os.fdopen(fd, "rb", buffering=0)
        else:
            f = open(self.path, "rb", buffering=0)
        transport = None
        reader: Optional[asyncio.StreamReader] = None
        was_blocking = os.get_blocking(f.fileno())
        try:
            mode = os.fstat(f.fileno()).st_mode
            # Pipes, sockets and terminals may make us wait: read them through the event loop. Regular files
            # and other devices (/dev/null, which epoll refuses) are read directly.
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or (stat.S_ISCHR(mode) and os.isatty(f.fileno())):
                loop = asyncio.get_running_loop()
                reader = asyncio.StreamReader(limit=_CHUNK * 4)
                try:
                    transport, _ = await loop.connect_read_pipe(
                        lambda: asyncio.StreamReaderProtocol(reader), f  # type: ignore[arg-type]
                    )
                except (OSError, ValueError, NotImplementedError):  # pragma: no cover - no event loop support
                    reader = None
                    os.set_blocking(f.fileno(), True)
            while True:
                if reader is not None:
                    self.waiting = True
                    try:
                        chunk = await reader.read(_CHUNK)
                    finally:
                        self.waiting = False
                else:
                    chunk = f.read(_CHUNK)
                if not chunk:
                    break
                yield chunk
        finally:
            if transport is not None:
                transport.close()  # closes f
            else:
                f.close()
            if self.path is None and was_blocking:
                try:
                    os.set_blocking(sys.stdin.fileno(), True)  # the flag is shared with the dup'd descriptor
                except OSError:
                    pass


class StreamLines(StreamBytes):
    """Lines of a file, or of stdin for ``None``/``-`` (read as ``StreamBytes`` does)."""

    async def batches(self) -> AsyncIterator[List[str]]:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        chunks = self.chunks()
        try:
            pending: List[str] = []  # pieces of a line not yet complete
            async for chunk in chunks:
                piece = decoder.decode(chunk)
                pending.append(piece)
                if "\n" not in piece:
                    continue
                lines = "".join(pending).split("\n")
                pending = [lines.pop()]
                yield lines
            tail = "".join(pending) + decoder.decode(b"", final=True)
            if tail:
                yield [tail]
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
