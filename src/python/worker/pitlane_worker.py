"""pitlane_worker: runs one pitlane `python` node's class in a CPython process.

pitlane's CPython runtime (src/python/cpython/) starts one of these per node (a few for a stateless node), keeps
it for the node's life and talks to it over pipes. The contract the node's class sees is docs/python-nodes.md;
this module owns the worker side of the protocol below; what it shares with the Pyodide runtime's helper is in
pitlane_logging.py (print() and logging), pitlane_node_code.py (class selection, tracebacks) and pitlane_audio.py
(the AudioFrame a node receives and returns, importable as module `pitlane`), beside it.
Standard library only, Python >= 3.9.

File descriptors, as pitlane spawns the worker:

- fd 0 / fd 1: the channel, frames in / frames out. The worker moves both to private descriptors (dup, not
  inherited by subprocesses) before it runs any node code, then points fd 0 at /dev/null and fd 1 at stderr:
  `print()` becomes log records (see below), and anything else that writes to fd 1 (`os.write(1, ...)`, C
  libraries, subprocesses) lands on stderr instead of corrupting the channel.
- fd 2: stderr, passed through; pitlane keeps its last lines for crash messages.
- fd 3: a 16-byte control file the worker maps into memory (mmap) and updates around every call of the node's
  code: word 0 = the call's sequence number (1, 2, ... over the worker's life: one per item, one per flush),
  word 1 = CLOCK_MONOTONIC ns when that call started, 0 while no call is running. Native byte order. pitlane reads
  it, without any message or system call on the worker's side, to time out a hung item and to know which item a
  crash or a timeout hit.

Frames, both ways: 4-byte big-endian payload length, 1-byte kind (an ASCII letter), payload.

  pitlane -> worker                            worker -> pitlane
  S start  value block: {node, file, code,     R ready     JSON {python, flush, clock}: class instantiated and
           path, class, init}                              initialize() done; clock = monotonic ns, as a string
  B batch  value block: [item, ...]            I init err  JSON {type, message, traceback}; the worker then exits
  F flush  (empty)                             r results   value block: [result, ...], results of the current
  C close  (empty): cleanup(), then exit                   request in order, possibly over several frames;
                                                           result = [output, ...] | {type, message, traceback}
                                               L log       JSON [level, message]
                                               D done      JSON {error: {type, message, traceback} | null}:
                                                           cleanup() ran; the worker exits next

Start: the node's code is `code` when given, else the file at `path`; it is compiled with `file` as its file name
(tracebacks keep only frames of that file, and show no source lines) and executed as module __pitlane_node__
(registered in sys.modules; with `path`, its folder leads sys.path and __file__ is set). `class` null: the one
class defined by the code that has `process`. `init`: keyword arguments of the constructor.

One request (B, F, C) is processed at a time, in order. A batch's results normally come back in one frame; when a
batch runs long, the results so far are sent every PARTIAL_NS, so that less work is lost if the worker dies
(pitlane sends the items without a result to a new worker). The worker exits after C, at the end of its input,
or when its parent process changes (pitlane died while the node's code was busy). Whenever it exits, it first
SIGKILLs every other process of its process group (subprocesses the node's code started), when it leads that group
(pitlane starts it so): pitlane does the same once it sees the worker exit, and if pitlane was killed, its
lifeline does; this is the belt to those braces.

A value block is a JSON document plus the binary data it refers to: 4-byte big-endian length of the UTF-8 JSON
text, the JSON text, then the raw bytes of every binary value, concatenated. A binary value is the object
{"\\u0000b": [offset, length]} (offset into the bytes after the JSON); an object of the data that has exactly
one key, "\\u0000b" or "\\u0000o", is escaped as {"\\u0000o": object}. Readers look for these only when the
JSON text contains the escape sequence \\u0000, so plain data costs one substring search per frame.

An audio frame (pitlane's AudioFrame item) is the object {"\\u0000a": [offset, length, sample_rate, channels,
stream_id, timestamp_us, metadata]}: its samples are `length` bytes of little-endian f32 at `offset` (interleaved),
never JSON numbers, and an object of the data with the single key "\\u0000a" is escaped like the others. The
writer pads the JSON text with spaces so that audio samples start 8-byte aligned (from the start of the payload
going to the worker, from the start of the frame coming back), which lets the reader view them in place: the
worker gives the node a pitlane_audio.AudioFrame whose samples are a read-only numpy float32 array over the
received bytes (numpy is imported the first time audio arrives), and pitlane a Float32Array over the frame.

Numbers (docs/python-nodes.md): a JSON integer literal of magnitude <= 2^53 becomes an int, any other number a
float; outputs must be finite floats, ints (beyond 2^53: sent as the nearest float), str, bool, None, list,
tuple, dict with str keys, bytes, pitlane_audio.AudioFrame (or RemoteMedia's (audio_data, sample_rate) tuple of a
numpy array or array.array: pitlane_audio.audio_of); anything else is an item error `cannot send a <type> out of a
Python node`.
"""

import sys

if sys.version_info < (3, 9):
    sys.stderr.write("pitlane_worker needs Python >= 3.9; this is Python %s\n" % sys.version.split()[0])
    sys.exit(2)

import faulthandler  # noqa: E402
import json  # noqa: E402
import mmap  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402
import types  # noqa: E402
from time import monotonic_ns, sleep  # noqa: E402

# The modules shared with the Pyodide runtime are beside this file, in sys.path[0] (the script's folder), unless
# Python runs with -P / PYTHONSAFEPATH: then the folder is put there for them (_serve() removes sys.path[0] again).
if not os.path.isfile(os.path.join(sys.path[0] if sys.path else "", "pitlane_logging.py")):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pitlane_audio  # noqa: E402
from pitlane_audio import AudioFrame, AudioValueError, audio_of  # noqa: E402
from pitlane_logging import LineStream, forward_logging  # noqa: E402
from pitlane_node_code import select_class  # noqa: E402
from pitlane_node_code import describe as _describe  # noqa: E402

# Frame kinds.
K_START, K_BATCH, K_FLUSH, K_CLOSE = ord("S"), ord("B"), ord("F"), ord("C")
K_READY, K_INIT_ERROR, K_RESULTS, K_LOG, K_DONE = ord("R"), ord("I"), ord("r"), ord("L"), ord("D")

MAX_SAFE_INT = 2**53
BIN_KEY = "\x00b"
ESC_KEY = "\x00o"
AUDIO_KEY = "\x00a"
_MARKER_KEYS = (BIN_KEY, ESC_KEY, AUDIO_KEY)
# Results of a long batch are sent at least this often (ns), so a crash loses little finished work.
PARTIAL_NS = 50_000_000
# The name of the module the node's code is executed as.
NODE_MODULE = "__pitlane_node__"

_GENERATOR = types.GeneratorType
_COROUTINE = types.CoroutineType
_ASYNC_GENERATOR = types.AsyncGeneratorType


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


# ---------------------------------------------------------------------------------------------------------------
# The channel, logging and print()


class Channel:
    """Frames over the private copies of fds 0 and 1. Writes are whole frames under a lock (threads may log)."""

    def __init__(self, read_fd, write_fd):
        self._in = open(read_fd, "rb", buffering=1 << 16)
        self._write_fd = write_fd
        # Reentrant: a signal handler of the node's code may print while this thread is writing a frame.
        self._lock = threading.RLock()

    def read(self):
        """(kind, payload), or (None, None) at end of input."""
        header = self._in.read(5)
        if len(header) < 5:
            return None, None
        size = int.from_bytes(header[:4], "big")
        payload = self._in.read(size) if size else b""
        if len(payload) < size:
            return None, None
        return header[4], payload

    def write(self, frame):
        with self._lock:
            view = memoryview(frame)
            while view:
                view = view[os.write(self._write_fd, view) :]

    def log(self, level, message):
        self.write(json_frame(K_LOG, [level, message]))


class PrintToLog(LineStream):
    """sys.stdout of the node's code: each print() (up to its newline) becomes one log record of level info."""

    def __init__(self, channel):
        super().__init__()
        self._channel = channel
        self._pending = []
        self._lock = threading.Lock()

    def fileno(self):
        return 1  # now stderr: for code that hands sys.stdout to a subprocess

    def add(self, text):
        if text.endswith("\n"):
            with self._lock:
                self._pending.append(text[:-1])
                message = "".join(self._pending)
                self._pending.clear()
            self._channel.log("info", message)
        else:
            with self._lock:
                self._pending.append(text)

    def flush(self):
        with self._lock:
            message = "".join(self._pending)
            self._pending.clear()
        if message:
            self._channel.log("info", message)


# ---------------------------------------------------------------------------------------------------------------
# Errors


def describe(exc, file_name):
    """{type, message, traceback} of an exception, the traceback restricted to frames of the node's file."""
    type_name, message, traceback = _describe(exc, file_name)
    return {"type": type_name, "message": message, "traceback": traceback}


def _setup_error(type_name, message):
    return {"type": type_name, "message": message, "traceback": "%s: %s\n" % (type_name, message)}


class InitFailure(Exception):
    """A node that cannot start: carries the {type, message, traceback} to send."""

    def __init__(self, info):
        super().__init__(info["message"])
        self.info = info


# ---------------------------------------------------------------------------------------------------------------
# The node


class Worker:
    def __init__(self, channel, control):
        self.channel = channel
        self.control = control  # memoryview of 2 native unsigned 64-bit words
        self.seq = 0
        self.file_name = "<node>"
        self.instance = None
        self.process = None
        self._loop = None

    # -- event loop, created on first use (importing asyncio costs ~40 ms of cold start)

    def loop(self):
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
        return self._loop

    def run_coroutine(self, coroutine):
        return self.loop().run_until_complete(coroutine)

    # -- start

    def start(self, spec):
        self.file_name = spec["file"]
        module = types.ModuleType(NODE_MODULE)
        path = spec.get("path")
        source = spec.get("code")
        if path is not None:
            module.__file__ = path
            folder = os.path.dirname(path)
            if folder not in sys.path:
                sys.path.insert(0, folder)  # the module's folder, as `python3 module.py` would have it
            if source is None:
                try:
                    with open(path, "rb") as f:
                        source = f.read()
                except OSError as e:
                    raise InitFailure(describe(e, self.file_name)) from None
        if source is None:
            raise InitFailure(_setup_error("ValueError", "the node gives neither code nor a module path"))
        sys.modules[NODE_MODULE] = module
        try:
            code = compile(source, self.file_name, "exec", dont_inherit=True)
            exec(code, module.__dict__)
        except BaseException as e:
            raise InitFailure(describe(e, self.file_name)) from None
        cls = self._select_class(module, spec.get("class"))
        try:
            self.instance = cls(**spec.get("init", {}))
            initialize = getattr(self.instance, "initialize", None)
            if initialize is not None:
                result = initialize()
                if type(result) is _COROUTINE:
                    self.run_coroutine(result)
        except BaseException as e:
            raise InitFailure(describe(e, self.file_name)) from None
        self.process = self.instance.process
        return {
            "python": "%d.%d.%d" % sys.version_info[:3],
            "flush": getattr(self.instance, "flush", None) is not None,
            "clock": str(monotonic_ns()),
        }

    def _select_class(self, module, class_name):
        try:
            return select_class(module.__dict__, NODE_MODULE, self.file_name, class_name)
        except (NameError, TypeError, LookupError) as e:
            raise InitFailure(describe(e, self.file_name)) from None

    # -- calls

    def outputs(self, result, segments):
        """The outputs of one call's return value: [] for None, every value of a generator, [value] otherwise."""
        if result is None:
            return []
        kind = type(result)
        if kind is _GENERATOR:
            return [to_wire(v, segments) for v in result]
        if kind is _COROUTINE:
            return self.outputs(self.run_coroutine(result), segments)
        if kind is _ASYNC_GENERATOR:
            return self.run_coroutine(_collect(result, segments))
        return [to_wire(result, segments)]

    def error(self, exc):
        if isinstance(exc, Unsendable):
            message = "cannot send a %s out of a Python node" % exc.type_name
            return {"type": "TypeError", "message": message, "traceback": ""}
        if isinstance(exc, AudioValueError):
            return {"type": "ValueError", "message": str(exc), "traceback": ""}
        return describe(exc, self.file_name)

    def run_batch(self, items):
        control = self.control
        process = self.process
        outputs = self.outputs
        results = []
        segments = Segments()
        last_sent = monotonic_ns()
        for item in items:
            self.seq += 1
            control[0] = self.seq
            now = monotonic_ns()
            control[1] = now
            if now - last_sent > PARTIAL_NS and results:
                self.channel.write(encode_frame(K_RESULTS, results, segments))
                results = []
                segments = Segments()
                last_sent = now
            try:
                result = process(item)
                kind = type(result)
                # Fast path for the common scalar outputs; everything else through outputs().
                if kind is str or kind is bool or (kind is int and -MAX_SAFE_INT <= result <= MAX_SAFE_INT):
                    results.append([result])
                else:
                    results.append(outputs(result, segments))
            except BaseException as e:
                results.append(self.error(e))
        self.end_request(results, segments)

    def run_flush(self):
        self.seq += 1
        self.control[0] = self.seq
        self.control[1] = monotonic_ns()
        segments = Segments()
        try:
            flush = getattr(self.instance, "flush", None)
            result = [] if flush is None else self.outputs(flush(), segments)
        except BaseException as e:
            result = self.error(e)
        self.end_request([result], segments)

    def end_request(self, results, segments):
        sys.stdout.flush()
        frame = encode_frame(K_RESULTS, results, segments)
        self.control[1] = 0
        self.channel.write(frame)

    def cleanup(self):
        error = None
        cleanup = getattr(self.instance, "cleanup", None)
        if cleanup is not None:
            try:
                result = cleanup()
                if type(result) is _COROUTINE:
                    self.run_coroutine(result)
            except BaseException as e:
                error = describe(e, self.file_name)
        sys.stdout.flush()
        self.channel.write(json_frame(K_DONE, {"error": error}))


async def _collect(agen, segments):
    return [to_wire(v, segments) async for v in agen]


# ---------------------------------------------------------------------------------------------------------------
# Main

# The channel, once main() opened it (for diagnostics: a test writes garbage on it through this).
CHANNEL = None


def _end_group():
    """SIGKILLs the other processes of the worker's group, if it leads one (never a caller's group)."""
    me = os.getpid()
    if os.getpgrp() != me:
        return
    try:
        entries = os.listdir("/proc")
    except OSError:  # no /proc: the whole group, the worker included, which is leaving anyway
        os.killpg(me, signal.SIGKILL)
        return
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                stat = f.read()
            if int(stat[stat.rindex(b")") + 2 :].split()[2]) == me:
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass  # ended meanwhile


def _watch_parent(parent):
    """Exits when pitlane is gone (the worker is re-parented), even while the node's code is busy."""
    while True:
        sleep(1.0)
        if os.getppid() != parent:
            _end_group()
            os._exit(70)


def _open_control():
    try:
        region = mmap.mmap(3, 16)
        os.close(3)
    except (OSError, ValueError):  # started by hand, without a control file
        region = mmap.mmap(-1, 16)
    return memoryview(region).cast("Q")


def main():
    try:
        return _serve()
    except BrokenPipeError:  # pitlane is gone
        return 0
    finally:
        _end_group()


def _serve():
    global CHANNEL
    faulthandler.enable(all_threads=False)  # a crash in native code leaves its Python stack on stderr, hence in the crash message
    control = _open_control()
    channel = CHANNEL = Channel(os.dup(0), os.dup(1))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = PrintToLog(channel)
    forward_logging(channel.log)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="pitlane-parent-watch", daemon=True).start()
    sys.path[0:1] = []  # the worker's own folder is no place to import the node's modules from
    sys.modules.setdefault("pitlane", pitlane_audio)  # `from pitlane import AudioFrame` in the node's code

    worker = Worker(channel, control)
    # One worker may serve several runs of the same node: after a close, pitlane may send a new start (a fresh
    # module and instance of the same source) or close the channel.
    while True:
        kind, payload = channel.read()
        if kind is None:  # pitlane closed the channel (or died)
            return 0
        if kind != K_START:
            sys.stderr.write("pitlane_worker: expected a start frame, got %r\n" % (kind,))
            return 2
        try:
            ready = worker.start(decode_block(payload))
        except InitFailure as e:
            sys.stdout.flush()
            channel.write(json_frame(K_INIT_ERROR, e.info))
            return 0
        sys.stdout.flush()
        channel.write(json_frame(K_READY, ready))

        while True:
            kind, payload = channel.read()
            if kind == K_BATCH:
                worker.run_batch(decode_block(payload))
            elif kind == K_FLUSH:
                worker.run_flush()
            elif kind == K_CLOSE:
                worker.cleanup()
                break
            elif kind is None:  # pitlane closed the channel (or died)
                return 0
            else:
                sys.stderr.write("pitlane_worker: unknown frame kind %r\n" % (kind,))
                return 2

if __name__ == "__main__":
    sys.exit(main())
