"""pitlane_wire: the values of the CPython worker's frames, both ways (the protocol is in pitlane_worker.py's
docstring): value blocks of UTF-8 JSON text and the raw bytes of binary values and audio samples that the JSON
refers to by marker objects, and the frames that carry them. Split out of pitlane_worker.py, which owns the channel,
the node's calls and the process; nothing here does I/O. Standard library only (numpy through pitlane_audio, when
audio crosses).
"""

import json
import re

import pitlane_audio
from pitlane_audio import AudioFrame, audio_of

MAX_SAFE_INT = 2**53
BIN_KEY = "\x00b"
ESC_KEY = "\x00o"
AUDIO_KEY = "\x00a"
_MARKER_KEYS = (BIN_KEY, ESC_KEY, AUDIO_KEY)

class Unsendable(Exception):
    """An output value that has no pitlane form; carries the Python type name for the item error."""

    def __init__(self, type_name):
        super().__init__(type_name)
        self.type_name = type_name


# ---------------------------------------------------------------------------------------------------------------
# Values


def _int_or_float(literal):
    value = int(literal)
    return value if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else float(value)


_DECODER = json.JSONDecoder()
# Only for texts with 16+ consecutive digits: every shorter integer literal is below 2^53.
_DECODER_LARGE_INTS = json.JSONDecoder(parse_int=_int_or_float)
_SIXTEEN_DIGITS = re.compile(r"\d{16}")
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def decode_block(payload):
    """A value block (bytes) -> the Python value."""
    size = int.from_bytes(payload[:4], "big")
    view = memoryview(payload)
    text = str(view[4 : 4 + size], "utf-8")
    value = (_DECODER_LARGE_INTS if _SIXTEEN_DIGITS.search(text) else _DECODER).decode(text)
    if "\\u0000" in text:
        value = _revive(value, view[4 + size :])
    return value


def _revive(value, area):
    kind = type(value)
    if kind is list:
        return [_revive(x, area) for x in value]
    if kind is dict:
        if len(value) == 1:
            if BIN_KEY in value:
                offset, length = value[BIN_KEY]
                return bytes(area[offset : offset + length])
            if AUDIO_KEY in value:
                offset, length, rate, channels, stream_id, timestamp_us, metadata = value[AUDIO_KEY]
                return pitlane_audio.from_wire(
                    area[offset : offset + length], rate, channels, stream_id, timestamp_us, _revive(metadata, area)
                )
            if ESC_KEY in value:
                return {k: _revive(x, area) for k, x in value[ESC_KEY].items()}
        return {k: _revive(x, area) for k, x in value.items()}
    return value


class Segments:
    """The binary values of one value block, in order, with their offsets. Audio samples start at offsets that are
    multiples of 8 from the start of the frame (encode_frame pads the JSON text), so that pitlane can view them as
    a Float32Array without a copy."""

    __slots__ = ("parts", "size", "aligned")

    def __init__(self):
        self.parts = []
        self.size = 0
        self.aligned = False

    def add(self, data):
        ref = {BIN_KEY: [self.size, len(data)]}
        self.parts.append(data)
        self.size += len(data)
        return ref

    def add_audio(self, frame):
        data, count, header = pitlane_audio.to_wire(frame)
        pad = -self.size % 8
        if pad:
            self.parts.append(bytes(pad))
            self.size += pad
        self.aligned = True
        fields = [self.size, count * 4, *header]
        self.parts.append(data)
        self.size += count * 4
        # After the samples: the metadata may hold bytes of its own.
        fields.append(None if frame.metadata is None else to_wire(frame.metadata, self))
        return {AUDIO_KEY: fields}


def to_wire(value, segments):
    """Checks an output value and returns its JSON-ready form (a new container tree; leaves shared)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else _large_int(value)
    if kind is float:
        if value - value == 0.0:  # false for NaN and the infinities
            return value
        raise Unsendable("float")
    if kind is list:
        return [to_wire(x, segments) for x in value]
    if kind is tuple:
        frame = audio_of(value)
        if frame is not None:
            return segments.add_audio(frame)
        return [to_wire(x, segments) for x in value]
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise Unsendable("dict")
            out[key] = to_wire(item, segments)
        if len(out) == 1 and next(iter(out)) in _MARKER_KEYS:
            return {ESC_KEY: out}
        return out
    if kind is bytes:
        return segments.add(value)
    if kind is AudioFrame:
        return segments.add_audio(value)
    # Subclasses of the types above (IntEnum, OrderedDict, a namedtuple ...) go out as their base type.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return to_wire(int(value), segments)
    if isinstance(value, float):
        return to_wire(float(value), segments)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_wire(x, segments) for x in value]
    if isinstance(value, dict):
        return to_wire(dict(value), segments)
    if isinstance(value, bytes):
        return segments.add(bytes(value))
    raise Unsendable(kind.__name__)


def _large_int(value):
    try:
        return float(value)
    except OverflowError:
        raise Unsendable("int") from None


def encode_frame(kind, value, segments):
    """A frame whose payload is a value block of `value` (already in wire form) and `segments`."""
    try:
        text = _ENCODER.encode(value).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: \\u escapes are valid JSON, raw they are not UTF-8
        text = _ASCII_ENCODER.encode(value).encode("ascii")
    if segments.aligned:
        text += b" " * (-(9 + len(text)) % 8)  # 9 = the frame header and the text's length field
    size = 4 + len(text) + segments.size
    return b"".join([size.to_bytes(4, "big"), bytes((kind,)), len(text).to_bytes(4, "big"), text, *segments.parts])


def json_frame(kind, value):
    text = _ASCII_ENCODER.encode(value).encode("ascii")
    return len(text).to_bytes(4, "big") + bytes((kind,)) + text
