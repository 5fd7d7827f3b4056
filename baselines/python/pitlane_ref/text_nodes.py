"""The text nodes with pitlane's semantics (``src/nodes/text/``): TextCollector (RemoteMedia's sentence collector:
text fragments in, complete sentences out, ``<|text_end|>`` / ``<|audio_end|>`` end an utterance) and TextInput
(the input stream as text: a JSON string is its text, a line that is not JSON its raw text).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .node import DROP, Param
from .nodes import DataSourceNode
from .node import Node

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
