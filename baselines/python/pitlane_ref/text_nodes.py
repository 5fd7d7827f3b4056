"""The text nodes with pitlane's semantics (``src/nodes/text/``): TextCollector (RemoteMedia's sentence collector:
text fragments in, complete sentences out, ``<|text_end|>`` / ``<|audio_end|>`` end an utterance), TextInput (the
input stream as text: a JSON string is its text, a line that is not JSON its raw text) and SrtOutput (transcripts
to SubRip cues, in the format ``run -o out.srt`` writes too: pitlane's media/srt.ts).
"""

from __future__ import annotations

import math
import re
from typing import Any, Dict, List, Optional, Tuple

from .js_json import type_name
from .node import DROP, ItemError, Node, Param
from .nodes import DataSourceNode

_DEFAULT_BOUNDARIES = (".", "!", "?", ";", "\n")
_TEXT_END = "<|text_end|>"
_AUDIO_END = "<|audio_end|>"
_DEFAULT_CHANNEL = "tts"  # RemoteMedia's default text channel: untagged text is on it
# JavaScript's String.prototype.trim set (WhiteSpace and LineTerminator), which differs from str.strip's.
_JS_WHITESPACE = ("\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                  "\u2028\u2029\u202f\u205f\u3000\ufeff")


def boundary_chars(pattern: Optional[str]) -> Tuple[str, ...]:
    """RemoteMedia's reading of ``split_pattern``: its characters, without ``[ ] + \\ n r t``."""
    if pattern is None:
        return _DEFAULT_BOUNDARIES
    return tuple(c for c in pattern if c not in "[]+\\nrt")


def extract_sentences(buffer: str, boundaries: Tuple[str, ...], min_bytes: float) -> Tuple[List[str], str]:
    """The complete sentences of ``buffer`` (a run of boundaries stays with its sentence) and the rest."""
    sentences: List[str] = []
    start = 0
    i = 0
    n = len(buffer)
    while i < n:
        if buffer[i] in boundaries:
            while i + 1 < n and buffer[i + 1] in boundaries:
                i += 1
            sentence = buffer[start:i + 1].lstrip(_JS_WHITESPACE)
            if len(sentence.encode("utf-8", "surrogatepass")) >= min_bytes:
                sentences.append(sentence)
            start = i + 1
        i += 1
    return sentences, buffer[start:]


def _channel_of(text: str) -> Optional[Tuple[str, str]]:
    """A text channel tag ``\\0<len><channel>`` (RemoteMedia's text_channel.rs); None for untagged text."""
    if len(text) < 2 or text[0] != "\0":
        return None
    length = ord(text[1])
    if length == 0 or length > 0x7F or 2 + length > len(text):
        return None
    return text[2:2 + length], text[2 + length:]


class TextCollectorNode(Node):
    """Buffers text fragments and emits complete sentences; ``<|text_end|>`` / ``<|audio_end|>`` flush the rest
    (RemoteMedia's Rust node); text on another channel and items that are not text pass through."""

    type_name = "TextCollector"
    PARAMS = {"split_pattern": Param("string"), "min_sentence_length": Param("number"),
              "yield_partial_on_end": Param("any"), "max_items": Param("number")}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        p = self.params
        self.boundaries = boundary_chars(p.get("split_pattern"))
        self.min_bytes = float(p.get("min_sentence_length", 3.0))
        self.partial_on_end = p.get("yield_partial_on_end", True) is not False
        self.buffer = ""

    def process(self, item: Any) -> Any:
        if type(item) is not str:
            return item
        tagged = _channel_of(item)
        if tagged is not None and tagged[0] != _DEFAULT_CHANNEL:
            return item
        chunk = item if tagged is None else tagged[1]
        text_end = _TEXT_END in chunk
        audio_end = _AUDIO_END in chunk
        self.buffer += chunk.replace(_TEXT_END, "").replace(_AUDIO_END, "")
        sentences, self.buffer = extract_sentences(self.buffer, self.boundaries, self.min_bytes)
        if text_end or audio_end:
            if self.partial_on_end and self.buffer != "":
                sentences.append(self.buffer)
            if text_end:
                sentences.append(_TEXT_END)
            if audio_end:
                sentences.append(_AUDIO_END)
            self.buffer = ""
        if not sentences:
            return DROP
        return sentences[0] if len(sentences) == 1 else (s for s in sentences)

    def flush(self) -> Any:
        rest, self.buffer = self.buffer.strip(_JS_WHITESPACE), ""
        return [rest] if self.partial_on_end and rest != "" else []


class TextInputNode(DataSourceNode):
    """A source that reads the input stream as text, one item per line: JSON strings, and the raw text of lines
    that are not JSON (RemoteMedia's CLI node); other JSON values pass through."""

    type_name = "TextInput"
    ALIASES = ()
    PARAMS = {"encoding": Param("string")}
    raw_text_lines = True  # stages: a line that is not JSON is its text, not an error

    @property
    def reads_input(self) -> bool:
        return True


# -- SubRip (pitlane's media/srt.ts, shared by SrtOutput and run -o out.srt)

_JS_SPACE_RUN = re.compile("[" + _JS_WHITESPACE + "]+")


def srt_timecode(seconds: float) -> str:
    """Seconds as ``HH:MM:SS,mmm``, rounded to the millisecond as JavaScript rounds; negative or NaN gives 0."""
    total_ms = math.floor(seconds * 1000 + 0.5) if seconds > 0 else 0
    total_secs, ms = divmod(total_ms, 1000)
    total_mins, secs = divmod(total_secs, 60)
    hours, mins = divmod(total_mins, 60)
    return f"{hours:02d}:{mins:02d}:{secs:02d},{ms:03d}"


def wrap_srt_text(text: str, max_length: int) -> str:
    """Wraps text at word boundaries into lines of at most ``max_length`` characters (a longer word stays whole)."""
    if len(text) <= max_length:
        return text
    lines: List[str] = []
    line = ""
    for word in _JS_SPACE_RUN.split(text):
        if word == "":
            continue
        if line == "":
            line = word
        elif len(line) + 1 + len(word) <= max_length:
            line += " " + word
        else:
            lines.append(line)
            line = word
    if line != "":
        lines.append(line)
    return "\n".join(lines)


def format_srt_cue(index: Optional[int], start: float, end: float, text: str, max_line_length: float = 0) -> str:
    """One SRT cue, blank line included: ``1\\n00:00:01,500 --> 00:00:04,000\\nHello\\n\\n``."""
    trimmed = text.strip(_JS_WHITESPACE)
    body = wrap_srt_text(trimmed, int(max_line_length)) if max_line_length > 0 else trimmed
    times = f"{srt_timecode(start)} --> {srt_timecode(end)}"
    return f"{times}\n{body}\n\n" if index is None else f"{index}\n{times}\n{body}\n\n"


def is_transcript(value: Any) -> bool:
    """``{text, start, end}`` with a string and two numbers: what ``-o out.srt`` takes as a cue."""
    return (isinstance(value, dict) and type(value.get("text")) is str and type(value.get("start")) in (float, int)
            and type(value.get("end")) in (float, int))


_UNTIMED_END_S = 10.0  # RemoteMedia's span for text without times


def _number(v: Any) -> float:
    return v if type(v) in (float, int) else 0.0


def _text(v: Any) -> str:
    return v if type(v) is str else ""


class SrtOutputNode(Node):
    """Transcript items (``{text, start, end}``, Whisper ``{segments}``, word updates, plain text) to SRT cue text;
    numbering runs on across inputs; anything else is an item error (RemoteMedia's SrtOutput, as pitlane's)."""

    type_name = "SrtOutput"
    ALIASES = ()
    PARAMS = {"include_numbers": Param("any"), "max_line_length": Param("number")}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.numbered = self.params.get("include_numbers", True) is not False
        self.max_line = float(self.params.get("max_line_length", 0.0))
        self.counter = 0

    @staticmethod
    def _cues(item: Any) -> Optional[List[Tuple[float, float, str]]]:
        if type(item) is str:
            return [(0.0, _UNTIMED_END_S, item)]
        if not isinstance(item, dict):
            return None
        if item.get("word") is not None:
            return [(_number(item.get("start")), _number(item.get("end")), _text(item.get("word")))]
        segments = item.get("segments")
        if type(segments) is list:
            return [(_number(s.get("start")), _number(s.get("end")), _text(s.get("text")))
                    for s in (seg if isinstance(seg, dict) else {} for seg in segments)]
        if type(item.get("text")) is str:
            timed = type(item.get("start")) in (float, int) and type(item.get("end")) in (float, int)
            return [(item["start"] if timed else 0.0, item["end"] if timed else _UNTIMED_END_S, item["text"])]
        return []

    def process(self, item: Any) -> Any:
        cues = self._cues(item)
        if cues is None:
            kind = ("audio" if type(item).__name__ == "AudioFrame" else "binary" if type(item) is bytes
                    else type_name(item))
            raise ItemError("SrtOutput takes transcript objects ({text, start, end} or {segments}) or text, got "
                            f"{kind}")
        srt = ""
        for start, end, text in cues:
            if text.strip(_JS_WHITESPACE) == "":
                continue
            index: Optional[int] = None
            if self.numbered:
                self.counter += 1
                index = self.counter
            srt += format_srt_cue(index, start, end, text, self.max_line)
        return DROP if srt == "" else srt
