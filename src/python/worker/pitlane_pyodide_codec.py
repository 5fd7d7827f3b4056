"""pitlane_pyodide_codec: the values of pitlane's Pyodide runtime, on the Python side (pitlane_pyodide.py uses it).

A batch arrives as one JSON text, read by the C scanner of the json module; what JSON cannot carry comes as small
tagged objects {TAG: [kind, value, ...]}: binary ('b', an index into the blobs that came with the text), audio
frames ('a', the index of the blob of their little-endian f32 samples, then sample_rate, channels, stream_id,
timestamp_us, metadata: a pitlane_audio.AudioFrame whose samples are a read-only memoryview of format 'f'), floats
('f') and integers ('i'). Results leave as one JSON text from the C encoder, strict about floats, with bytes out of
band ({TAG: index into out_blobs}) and audio frames as {TAG: ['a', index into out_blobs, ...the fields above]};
any other type is refused with SendError naming it. The JavaScript side of this
codec is src/python/pyodide/codec.ts; TAG is set by set_tag() (the host's key, random per process).
"""

import json
import re

from pitlane_audio import AudioFrame, from_wire, to_wire
from json import encoder as _json_encoder
from json import scanner as _json_scanner

TAG = None  # set by set_tag(): a key user data cannot contain by chance
_HUGE_DIGITS = re.compile(r'[0-9]{309}')
_MAX_DEPTH = 1000
_STR_TYPE = frozenset((str,))
SCALAR_TYPES = frozenset((int, float, str, bool, bytes, type(None)))
_ARRAY_OR_DICT = (dict, list, tuple)


def set_tag(tag):
    global TAG
    TAG = tag


# Input: the C scanner of the standard decoder; an object_hook (tags) only when the JS side tagged something.
_scan_plain = _json_scanner.make_scanner(json.JSONDecoder())


def decode(payload, blobs):
    if blobs is None:
        return _scan_plain(payload, 0)[0]
    byte_blobs = [b.to_bytes() for b in blobs]

    def hook(d):
        if len(d) == 1 and TAG in d:
            tag = d[TAG]
            kind, value = tag[0], tag[1]
            if kind == 'a':
                return from_wire(byte_blobs[value], *tag[2:], use_numpy=False)
            if kind == 'b':
                return byte_blobs[value]
            if kind == 'f':
                return float(value)
            if kind == 'i':
                return int(value)
        return d

    return json.JSONDecoder(object_hook=hook).decode(payload)


# Output: the C encoder, strict about floats; bytes leave out of band; any other type is refused.
class SendError(Exception):
    pass


out_blobs = []


def _default(o):
    if isinstance(o, bytes):
        out_blobs.append(o)
        return {TAG: len(out_blobs) - 1}
    if type(o) is AudioFrame:
        data, _, header = to_wire(o)
        out_blobs.append(bytes(data))
        return {TAG: ['a', len(out_blobs) - 1, *header, o.metadata]}
    raise SendError(type(o).__name__)


# No circular-reference markers (twice as fast): _check_tree has refused cycles and deep nesting before.
_encode_raw = _json_encoder.c_make_encoder(
    None, _default, _json_encoder.encode_basestring_ascii, None, ':', ',', False, False, False
)


def _check_tree(value):
    """Refuses a dict with a non-str key (the encoder would turn the key into a string), and nesting deeper than
    _MAX_DEPTH: the C encoder recursing that deep overflows the JavaScript stack, which kills Pyodide."""
    stack = [(value, 0)]
    pop = stack.pop
    push = stack.append
    while stack:
        c, depth = pop()
        if isinstance(c, dict):
            if not set(map(type, c)) <= _STR_TYPE:
                for k in c:
                    if not isinstance(k, str):
                        raise SendError('dict')
            c = c.values()
        if set(map(type, c)) <= SCALAR_TYPES:
            continue
        if depth >= _MAX_DEPTH:
            if _is_cyclic(value):
                raise ValueError('Circular reference detected')
            raise RecursionError('maximum recursion depth exceeded while encoding a JSON object')
        for x in c:
            if isinstance(x, _ARRAY_OR_DICT):
                push((x, depth + 1))


def _is_cyclic(value):
    """Depth-first, iterative (recursing in wasm is what we avoid here)."""
    path = set()
    stack = [(value, False)]
    while stack:
        c, leaving = stack.pop()
        if leaving:
            path.discard(id(c))
            continue
        path.add(id(c))
        stack.append((c, True))
        for x in c.values() if isinstance(c, dict) else c:
            if isinstance(x, _ARRAY_OR_DICT):
                if id(x) in path:
                    return True
                stack.append((x, False))
    return False


def _has_huge_int(value):
    """Whether value holds an int beyond the float range (JSON.parse would make it Infinity)."""
    stack = [value]
    while stack:
        c = stack.pop()
        for x in c.values() if isinstance(c, dict) else c:
            if isinstance(x, _ARRAY_OR_DICT):
                stack.append(x)
            elif isinstance(x, int) and x.bit_length() > 1000:
                try:
                    float(x)
                except OverflowError:
                    return True
    return False


def encode_checked(value, nested):
    if nested:
        _check_tree(value)
    text = _encode(value)
    # Only an integer literal of 309+ digits can exceed the largest double (~1.8e308).
    if len(text) > 308 and _HUGE_DIGITS.search(text) and _has_huge_int(value):
        raise SendError('int')
    return text


def _encode(value):
    """JSON text of value; raises SendError naming the type that cannot cross."""
    try:
        return ''.join(_encode_raw(value, 0))
    except ValueError as e:
        if str(e).startswith('Out of range float'):
            raise SendError('float') from None
        raise
