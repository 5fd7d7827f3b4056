"""pitlane_pyodide: the Python side of pitlane's Pyodide runtime (src/python/pyodide/), one module per VM.

The VM's thread (pyodide-thread.ts) installs it as module `_pitlane_pyodide` once per VM, before the memory
snapshot is taken (so a restored VM has it), together with the two modules it shares with the CPython worker
(pitlane_worker.py): pitlane_logging.py (print() and logging) and pitlane_node_code.py (class selection,
tracebacks), and its codec, pitlane_pyodide_codec.py. It compiles each node's code into a module of its own (so nodes share no globals), selects and
instantiates the class, calls process/flush/cleanup, filters tracebacks to the node's own frames, and routes
print() and logging to the node that is running (named by a global during a synchronous call, by a context
variable in the node's asyncio Tasks). Its behaviour mirrors the CPython worker.

Values: a batch arrives as one JSON text (and the binary values it refers to) and its results leave as one
(pitlane_pyodide_codec.py).

Timeouts and cancellation: every batch is a numbered call. The host reads which item of which call is running
with a probe signal (its handler walks the stack to the frame of `_run` / `_run_async`; nothing is recorded per
item on the synchronous path) or, while the VM is idle, with `progress()`. It stops an item with an interrupt
signal whose handler raises KeyboardInterrupt only if the item named by the host is still the one running, or
with `cancel()` for an item waiting in an asyncio Task. The signal numbers and the stop kinds are the host's
(src/python/pyodide/messages.ts): it passes them to setup().
"""

import asyncio
import contextvars
import inspect
import io
import json
import logging
import sys
import types

import pitlane_pyodide_codec
from pitlane_audio import AudioValueError, audio_of
from pitlane_logging import LineStream, forward_logging
from pitlane_node_code import describe, select_class
from pitlane_pyodide_codec import SCALAR_TYPES as _SCALAR_TYPES
from pitlane_pyodide_codec import SendError as _SendError
from pitlane_pyodide_codec import decode as _decode
from pitlane_pyodide_codec import encode_checked as _encode_checked
from pitlane_pyodide_codec import out_blobs as _out_blobs

_STOP_CALL = None  # set by setup(): the kind of a stop request that cancels the rest of the call too
_NO_OUTPUTS = []
_CONTAINER_TYPES = frozenset((dict, list, tuple))
_VALUE_TYPES = _SCALAR_TYPES | _CONTAINER_TYPES
_GeneratorType = types.GeneratorType
_AsyncGeneratorType = types.AsyncGeneratorType
_CoroutineType = types.CoroutineType

# The node whose code is running: a context variable in the Tasks of a node (async paths), and a plain global
# while a synchronous call runs (cheaper, and nothing else can run meanwhile).
_task_node = contextvars.ContextVar('pitlane_node', default=None)
_sync_node = None


def _running_node():
    return _task_node.get() or _sync_node

_nodes = {}
_sink = None

# Errors: the filtered traceback of docs/python-nodes.md, without source lines.
def _exception(e, filename):
    return list(describe(e, filename))


def _send_error(type_name):
    return ['TypeError', 'cannot send a %s out of a Python node' % type_name, '']


# Logging: print() and logging reach the node's onLog through _sink, line by line.
def _emit(node, level, text):
    _sink(-1 if node is None else node.key, level, text)


def _emit_running(level, text):
    _emit(_running_node(), level, text)


class _NodeStream(LineStream):
    def __init__(self, level, name):
        super().__init__()
        self._level = level
        self._name = name
        self._orphan = ''

    @property
    def name(self):
        return self._name

    def add(self, s):
        node = _running_node()
        pending = (node.pending.get(self._level, '') if node is not None else self._orphan) + s
        # One record per write that ends a line (a print() call), as the CPython worker does.
        if pending.endswith('\n'):
            _emit(node, self._level, pending[:-1])
            pending = ''
        if node is not None:
            node.pending[self._level] = pending
        else:
            self._orphan = pending

    def flush(self):
        node = _running_node()
        if node is not None:
            _flush_pending(node)


def _flush_pending(node):
    if node.pending:
        for level, text in node.pending.items():
            if text:
                _emit(node, level, text)
        node.pending.clear()


# Nodes.
class _Node:
    __slots__ = ('key', 'filename', 'module_name', 'module', 'instance', 'process', 'pending')

    def __init__(self, key, filename):
        self.key = key
        self.filename = filename
        self.module_name = '_pitlane_node_%d' % key
        self.module = None
        self.instance = None
        self.process = None
        self.pending = {}


def _select_class(node, class_name):
    return select_class(node.module.__dict__, node.module_name, node.filename, class_name)


def _init_failed(node, e):
    sys.modules.pop(node.module_name, None)
    if isinstance(e, ModuleNotFoundError):
        e.add_note('(the pyodide runtime has the standard library only: run this node with runtime_hint: cpython)')
    return _exception(e, node.filename)


def _as_node(node, fn, settle):
    """Runs fn() as node's code (its print() and logging are the node's), then returns settle(None), or settle(e)
    for the exception it raised. A result that is awaitable is awaited in a Task of the node, which settles then:
    the caller gets that Task."""
    global _sync_node
    previous, _sync_node = _sync_node, node
    try:
        result = fn()
        if inspect.isawaitable(result):
            return asyncio.ensure_future(_finish_as_node(node, result, settle))
        return settle(None)
    except BaseException as e:
        return settle(e)
    finally:
        _flush_pending(node)
        _sync_node = previous


async def _finish_as_node(node, awaitable, settle):
    _task_node.set(node)
    error = None
    try:
        await awaitable
    except BaseException as e:
        error = e
    finally:
        _flush_pending(node)
    return settle(error)


def create(key, code, filename, class_name, init_payload, init_blobs):
    """Compiles and instantiates a node; returns None, an error [type, message, traceback], or a Task of either."""
    node = _Node(key, filename)

    def start():
        module = types.ModuleType(node.module_name)
        module.__file__ = filename
        node.module = module
        sys.modules[node.module_name] = module
        exec(compile(code, filename, 'exec', dont_inherit=True), module.__dict__)
        cls = _select_class(node, class_name)
        init = _decode(init_payload, init_blobs)
        node.instance = cls(**init)
        node.process = node.instance.process
        initialize = getattr(node.instance, 'initialize', None)
        return initialize() if callable(initialize) else None

    def settle(error):
        if error is not None:
            return _init_failed(node, error)
        _nodes[key] = node
        return None

    return _as_node(node, start, settle)


def _audio_or_value(x):
    """x, or the AudioFrame for RemoteMedia's (audio_data, sample_rate) tuple."""
    if type(x) is tuple:
        return audio_of(x) or x
    return x


def _outputs_of(r):
    """Outputs of a call that returned r (not None), or the awaitable / async generator to finish asynchronously."""
    t = type(r)
    if t in _VALUE_TYPES:
        return [_audio_or_value(r)]
    if t is _GeneratorType:
        return [_audio_or_value(x) for x in r]
    if t is _CoroutineType or t is _AsyncGeneratorType or inspect.isawaitable(r) or hasattr(r, '__anext__'):
        return r
    return [r]


async def _resolve(r):
    if isinstance(r, _AsyncGeneratorType) or hasattr(r, '__anext__'):
        return [_audio_or_value(x) async for x in r]
    v = await r
    if v is None:
        return []
    if type(v) is _GeneratorType:
        return [_audio_or_value(x) for x in v]
    return [_audio_or_value(v)]


def _finish(node, outputs, errors, nested):
    """JSON text [outputs per item (null if failed), [[index, type, message, traceback]...]], plus blobs if any.
    nested: some output may be a container (else there is nothing for _check_tree to refuse)."""
    _out_blobs.clear()
    try:
        text = _encode_checked(outputs, nested)
    except BaseException:
        # Something cannot cross: encode item by item to fail only the items concerned.
        _out_blobs.clear()
        parts = []
        for i, o in enumerate(outputs):
            if o is None:
                parts.append('null')
                continue
            mark = len(_out_blobs)
            try:
                parts.append(_encode_checked(o, True))
            except _SendError as e:
                del _out_blobs[mark:]
                parts.append('null')
                errors.append([i] + _send_error(e.args[0]))
            except AudioValueError as e:
                del _out_blobs[mark:]
                parts.append('null')
                errors.append([i, 'ValueError', str(e), ''])
            except BaseException as e:
                del _out_blobs[mark:]
                parts.append('null')
                errors.append([i] + _exception(e, node.filename))
        text = '[' + ','.join(parts) + ']'
    result = '[' + text + (',' + json.dumps(errors) + ']' if errors else ',[]]')
    _flush_pending(node)
    if _out_blobs:
        blobs = list(_out_blobs)
        _out_blobs.clear()
        return (result, blobs)
    return result


def _run(node, fn, items, call):
    global _sync_node
    outputs = []
    errors = []
    nested = False
    filename = node.filename
    previous, _sync_node = _sync_node, node
    try:
        for i, item in enumerate(items):
            try:
                r = fn(item)
                # Inline fast paths of _outputs_of: this loop is the per-item cost of the runtime.
                if r is None:
                    outputs.append(_NO_OUTPUTS)
                    continue
                t = type(r)
                if t in _SCALAR_TYPES:
                    outputs.append([r])
                    continue
                nested = True
                if t in _CONTAINER_TYPES:
                    outputs.append([audio_of(r) or r] if t is tuple else [r])
                    continue
                r = _outputs_of(r)
            except BaseException as e:
                outputs.append(None)
                if e.__class__ is _RunCancelled:
                    _cancel_rest(items, i, outputs, errors)
                    break
                errors.append([i] + _exception(e, filename))
                continue
            if type(r) is list:
                outputs.append(r)
            else:
                _async_index[call] = i
                task = asyncio.ensure_future(_run_async(node, fn, items, i, r, outputs, errors, call))
                _async_tasks[call] = task
                return task
        return _finish(node, outputs, errors, nested)
    finally:
        _sync_node = previous


async def _run_async(node, fn, items, i, pending, outputs, errors, call):
    _task_node.set(node)
    filename = node.filename
    n = len(items)
    try:
        while True:
            _async_index[call] = i
            try:
                outputs.append(await _resolve(pending))
            except BaseException as e:
                outputs.append(None)
                if call in _stopping or e.__class__ is _RunCancelled:
                    _cancel_rest(items, i, outputs, errors)
                    return _finish(node, outputs, errors, True)
                errors.append([i] + _exception(e, filename))
            i += 1
            pending = None
            while i < n:
                _async_index[call] = i
                try:
                    r = fn(items[i])
                    r = _NO_OUTPUTS if r is None else _outputs_of(r)
                except BaseException as e:
                    outputs.append(None)
                    if call in _stopping or e.__class__ is _RunCancelled:
                        _cancel_rest(items, i, outputs, errors)
                        return _finish(node, outputs, errors, True)
                    errors.append([i] + _exception(e, filename))
                    i += 1
                    continue
                if type(r) is list:
                    outputs.append(r)
                    i += 1
                else:
                    pending = r
                    break
            if pending is None:
                return _finish(node, outputs, errors, True)
    finally:
        _async_index.pop(call, None)
        _async_tasks.pop(call, None)
        _stopping.discard(call)


def _cancel_rest(items, i, outputs, errors):
    """The run was cancelled while item i ran: it and every later item of the call fail as cancelled."""
    for j in range(i, len(items)):
        if j > i:
            outputs.append(None)
        errors.append([j, 'Cancelled', 'cancelled: the run was interrupted', ''])


# -- Timeouts and cancellation (see the module docstring)

class _RunCancelled(KeyboardInterrupt):
    """Raised into an item when the run is cancelled: fails it and skips the rest of its call."""


_async_index = {}  # call -> index of the item an asynchronous call is at
_async_tasks = {}  # call -> its Task
_stopping = set()  # calls cancelled as a whole
_report_progress = None  # JS function (call, index)
_interrupt_targets = None  # JS function: flat [call, index, kind, ...] the host asked to stop
_interrupt_delivered = None  # JS function (call, index): the stop request was raised (the host stops repeating it)
_RUN_CODES = frozenset((_run.__code__, _run_async.__code__))
# Helper code that runs between items (encoding, tracebacks, logging): never interrupted.
_BETWEEN_CODES = frozenset((_finish.__code__, _exception.__code__, _flush_pending.__code__, _decode.__code__))
# The files of the runtime's own code (this module and the three it imports): frames of any other file are the node's.
_HELPER_FILES = frozenset(f.__code__.co_filename for f in (_run, LineStream.write, describe, _decode, audio_of))


def _running_call(frame):
    """(call, index, in_item) of the innermost _run / _run_async frame on the stack, or None."""
    in_item = False
    between = False
    f = frame
    while f is not None:
        code = f.f_code
        if code in _RUN_CODES:
            loc = f.f_locals
            return loc.get('call'), loc.get('i'), in_item and not between
        if code in _BETWEEN_CODES:
            between = True
        elif code.co_filename not in _HELPER_FILES:
            in_item = True
        f = f.f_back
    return None


def _on_probe(signum, frame):
    found = _running_call(frame)
    if found is not None and found[1] is not None:
        _report_progress(found[0], found[1])


def _on_interrupt(signum, frame):
    found = _running_call(frame)
    if found is None or not found[2]:
        return
    call, index, _ = found
    targets = _interrupt_targets()
    for k in range(0, len(targets), 3):
        if targets[k] == call and (targets[k + 1] == index or targets[k + 1] == -1):
            _interrupt_delivered(call, index)
            if targets[k + 2] == _STOP_CALL:
                raise _RunCancelled()
            raise KeyboardInterrupt()


def _install_sleep():
    """Pyodide's time.sleep waits in C without checking signals: sleep in slices, so that a timeout gets through."""
    import time

    real_sleep = time.sleep
    monotonic = time.monotonic

    def sleep(secs):
        if not (isinstance(secs, (int, float)) and secs > 0.05):
            return real_sleep(secs)  # short sleeps, and the errors of bad arguments, as they are
        deadline = monotonic() + secs
        while True:
            left = deadline - monotonic()
            if left <= 0:
                return None
            real_sleep(min(left, 0.05))

    sleep.__doc__ = real_sleep.__doc__
    time.sleep = sleep


def progress():
    """Flat [call, index, ...] of the asynchronous calls in progress (the VM is idle when this runs)."""
    out = []
    for call, index in _async_index.items():
        out.append(call)
        out.append(index)
    return out


def cancel(call, index, stop):
    """Cancels the Task of an asynchronous call if it is still at item index (-1: any); stop: skip the rest."""
    task = _async_tasks.get(call)
    if task is None or (index != -1 and _async_index.get(call) != index):
        return False
    if stop:
        _stopping.add(call)
    task.cancel()
    return True


def run_batch(key, payload, blobs, call):
    """Calls process on each item in order; returns _finish's result, or a Task of it once something is async."""
    node = _nodes[key]
    return _run(node, node.process, _decode(payload, blobs), call)


def _no_outputs(_):
    return None


def flush(key, call):
    node = _nodes[key]
    fn = getattr(node.instance, 'flush', None)
    if not callable(fn):
        return _run(node, _no_outputs, [None], call)
    return _run(node, lambda _: fn(), [None], call)


def close(key):
    """Calls cleanup() if defined and forgets the node; returns None, an error list, or a Task of either."""
    node = _nodes.pop(key, None)
    if node is None:
        return None

    def cleanup():
        fn = getattr(node.instance, 'cleanup', None)
        return fn() if callable(fn) else None

    def settle(error):
        _forget(node)
        return None if error is None else _exception(error, node.filename)

    return _as_node(node, cleanup, settle)


def _forget(node):
    sys.modules.pop(node.module_name, None)
    node.instance = None
    node.process = None
    node.module = None


def setup(
    sink, tag, report_progress, interrupt_targets, interrupt_delivered, probe_signal, interrupt_signal, stop_call
):
    """Once per VM, after the load (never before a snapshot: the arguments are JavaScript functions)."""
    global _sink, _report_progress, _interrupt_targets, _interrupt_delivered, _STOP_CALL
    import signal

    pitlane_pyodide_codec.set_tag(tag)
    _report_progress = report_progress
    _interrupt_targets = interrupt_targets
    _interrupt_delivered = interrupt_delivered
    _STOP_CALL = stop_call
    signal.signal(probe_signal, _on_probe)
    signal.signal(interrupt_signal, _on_interrupt)
    _install_sleep()
    import random

    random.seed()  # processes restored from one snapshot would otherwise replay the same random sequence
    _sink = sink
    sys.stdin = io.StringIO('')
    sys.stdout = _NodeStream('info', '<stdout>')
    sys.stderr = _NodeStream('error', '<stderr>')
    forward_logging(_emit_running)
    logging.captureWarnings(True)
