"""How ``run -i`` is read (pitlane's ``src/cli/run-input.ts``), without numpy: ``resolve_input`` decides between
JSONL and audio (by ``--input-format``, or a file's header or name ending), ``live_manifest`` makes the input
queues of a ``--realtime`` run drop their oldest frames. The audio itself is read by ``audio_input``.
"""

from __future__ import annotations

import math
from typing import Any, List, Optional


def looks_like_wav(head: bytes) -> bool:
    """True when the bytes start like a RIFF/WAVE file."""
    return len(head) >= 12 and head[0:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE"


DEFAULT_FRAME_MS = 20.0
INPUT_FORMATS = ("auto", "jsonl", "json", "wav", "pcm", "raw-pcm", "ffmpeg")
PCM_FORMATS = ("f32le", "s16le")
AUDIO_FILE_EXTENSIONS = (".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".webm",
                         ".mka", ".mp4", ".mkv", ".aiff", ".aif", ".au", ".caf")
LIVE_BACKLOG_MS = 500.0
"""Most audio a live pipeline's input queues hold before they drop the oldest frame."""


class UsageError(Exception):
    """A bad combination of options (``PL_ERR_USAGE``)."""


def resolve_input(path: str, input_format: Optional[str], sample_rate: Optional[int]) -> str:
    """How ``-i PATH`` is read: ``jsonl``, ``wav``, ``pcm`` or ``ffmpeg`` (pitlane's ``resolveRunInput``)."""
    fmt = input_format or "auto"
    if fmt in ("jsonl", "json"):
        return "jsonl"
    if fmt in ("pcm", "raw-pcm"):
        return "pcm"
    if fmt in ("wav", "ffmpeg"):
        if path == "-":
            raise UsageError(f"--input-format {fmt} needs a file: stdin takes raw PCM (--input-format pcm)")
        return fmt
    if path == "-":
        return "pcm" if sample_rate is not None else "jsonl"
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        head = b""
    if looks_like_wav(head):
        return "wav"
    lower = path.lower()
    if lower.endswith(AUDIO_FILE_EXTENSIONS):
        return "wav" if lower.endswith((".wav", ".wave")) else "ffmpeg"
    return "jsonl"


def live_manifest(manifest: Any, frame_ms: Optional[float], chunk_size: Optional[int], streams: int = 1) -> Any:
    """The manifest as run from a live (``--realtime``) source (pitlane's ``asLiveInput``): the queues of the nodes
    the input feeds drop their oldest frame past ``LIVE_BACKLOG_MS`` of audio, unless the manifest sets a queue
    policy (globally or on the node). Like pitlane, a ``chunk_size`` is taken as samples at 16 kHz here."""
    ms = chunk_size / 16000 * 1000 if chunk_size is not None else (frame_ms or DEFAULT_FRAME_MS)
    capacity = float(max(2, math.ceil(LIVE_BACKLOG_MS / ms)) * streams)  # of every stream
    if (manifest.get("settings") or {}).get("queue_policy") is not None:
        return manifest
    has_predecessor = {c["to"] for c in manifest.get("connections") or []}
    nodes: List[Any] = []
    for node in manifest["nodes"]:
        settings = node.get("settings") or {}
        if node["id"] not in has_predecessor and settings.get("queue_policy") is None:
            node = dict(node, settings=dict(settings, queue_policy="drop_oldest", queue_capacity=capacity))
        nodes.append(node)
    return dict(manifest, nodes=nodes)
