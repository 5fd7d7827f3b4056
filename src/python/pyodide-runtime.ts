/**
 * The Pyodide runtime of `python` nodes (docs/python-nodes.md): CPython compiled to WebAssembly, inside the
 * pitlane process. It exists so that pure-Python nodes run without a worker process per node and without a
 * process boundary per item.
 *
 * It owns the one Pyodide instance of the process, loaded lazily by the first `start()` and shared by every node,
 * and a small Python module (`_pitlane_pyodide`, the `HELPER_SOURCE` below) that does the per-node work on the
 * Python side: it compiles each node's code into a module of its own (so nodes share no globals), selects and
 * instantiates the class, calls process/flush/cleanup, filters tracebacks to the node's own frames, and routes
 * print() and logging to the node that is running (named by a global during a synchronous call, by a context
 * variable in the node's asyncio Tasks). Its behaviour mirrors the CPython worker (worker/pitlane_worker.py).
 *
 * Values cross in bulk, as one JSON text each way per batch: `JSON.stringify` here and the C scanner of Python's
 * json module there; Python's C encoder and `JSON.parse` on the way back. This is faster than `toPy`/`toJs`
 * (measured: ~2× per item) and, unlike them, gives exactly the value mapping of the contract (toPy turns `null`
 * into `jsnull` and 2^53 into a float, and crashes on a Node `Buffer`). What JSON cannot carry travels as small
 * tagged objects: binary (out of band, as Uint8Array ↔ bytes), non-finite numbers and integral numbers beyond 2^53
 * (which must become Python floats). A sync `process` never touches asyncio; the first coroutine or async
 * generator of a batch moves the rest of the batch onto a Task that JavaScript awaits.
 *
 * Cold start: loading Pyodide takes ~3 s, almost all of it Python's own bootstrap. After a cold load the module
 * takes a memory snapshot of the fresh interpreter (helper module included, before any node code runs) and caches
 * it on disk (`$PITLANE_CACHE_DIR`, default `$XDG_CACHE_HOME/pitlane` or `~/.cache/pitlane`; ~31 MB, keyed by the
 * Pyodide build and the helper source); later processes restore it in ~0.35 s. A snapshot that fails to restore
 * is marked bad and never tried again; `PITLANE_PYODIDE_SNAPSHOT=0` turns the cache off. Processes restored from
 * one snapshot share the string-hash seed (hash randomisation is effectively off); `random` is reseeded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { PyodideAPI } from 'pyodide';
import type { PyProxy } from 'pyodide/ffi';
import { toError } from '../core/errors.js';
import {
  PythonNodeInitError,
  type PythonCallResult,
  type PythonException,
  type PythonLogRecord,
  type PythonNodeInstance,
  type PythonNodeSource,
  type PythonRuntimeOptions,
} from './runtime.js';

/** What the process's Pyodide load cost, for `--stats` and benchmark reports. */
export interface PyodideLoadInfo {
  /** Wall time of the load, from the first `start()` to a usable interpreter (helper module installed). */
  readonly loadMs: number;
  /** The Pyodide version (e.g. `314.0.7`). */
  readonly version: string;
  /** `snapshot`: restored from the cached memory snapshot; `cold`: Python bootstrapped from scratch. */
  readonly source: 'snapshot' | 'cold';
}

/**
 * Key of the objects that carry what JSON cannot (binary, some numbers), random per process so that no user data
 * can be mistaken for a tag; the Python side receives it in setup().
 */
const TAG = `\u0000pitlane-${randomBytes(8).toString('hex')}`;
/** Integral numbers above this magnitude must reach Python as floats, but JSON.stringify writes them as integers. */
const MAX_EXACT_INT = 2 ** 53;
/** From this magnitude on, JSON.stringify uses exponent notation, which Python parses as a float anyway. */
const EXPONENT_FROM = 1e21;
const SNAPSHOT_FORMAT = 1;
const LOG_LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warning', 'error', 'critical']);

/**
 * The Python side, installed once per process as module `_pitlane_pyodide` (and so included in the snapshot).
 * Kept free of backticks and dollar-brace sequences (it lives in a template literal).
 */
const HELPER_SOURCE = String.raw`
import asyncio
import contextvars
import inspect
import io
import json
import logging
import re
import sys
import types
from json import encoder as _json_encoder
from json import scanner as _json_scanner

TAG = None  # set by setup(): a key user data cannot contain by chance
_NO_OUTPUTS = []
_HUGE_DIGITS = re.compile(r'[0-9]{309}')
_MAX_DEPTH = 1000
_STR_TYPE = frozenset((str,))
_SCALAR_TYPES = frozenset((int, float, str, bool, bytes, type(None)))
_CONTAINER_TYPES = frozenset((dict, list, tuple))
_VALUE_TYPES = _SCALAR_TYPES | _CONTAINER_TYPES
_ARRAY_OR_DICT = (dict, list, tuple)
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

# Input: the C scanner of the standard decoder; an object_hook (tags) only when the JS side tagged something.
_scan_plain = _json_scanner.make_scanner(json.JSONDecoder())


def _decode(payload, blobs):
    if blobs is None:
        return _scan_plain(payload, 0)[0]
    byte_blobs = [b.to_bytes() for b in blobs]

    def hook(d):
        if len(d) == 1 and TAG in d:
            kind, value = d[TAG]
            if kind == 'b':
                return byte_blobs[value]
            if kind == 'f':
                return float(value)
            if kind == 'i':
                return int(value)
        return d

    return json.JSONDecoder(object_hook=hook).decode(payload)


# Output: the C encoder, strict about floats; bytes leave out of band; any other type is refused.
class _SendError(Exception):
    pass


_out_blobs = []


def _default(o):
    if isinstance(o, bytes):
        _out_blobs.append(o)
        return {TAG: len(_out_blobs) - 1}
    raise _SendError(type(o).__name__)


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
                        raise _SendError('dict')
            c = c.values()
        if set(map(type, c)) <= _SCALAR_TYPES:
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


def _encode_checked(value, nested):
    if nested:
        _check_tree(value)
    text = _encode(value)
    # Only an integer literal of 309+ digits can exceed the largest double (~1.8e308).
    if len(text) > 308 and _HUGE_DIGITS.search(text) and _has_huge_int(value):
        raise _SendError('int')
    return text


def _encode(value):
    """JSON text of value; raises _SendError naming the type that cannot cross."""
    try:
        return ''.join(_encode_raw(value, 0))
    except ValueError as e:
        if str(e).startswith('Out of range float'):
            raise _SendError('float') from None
        raise


# Errors: the filtered traceback of docs/python-nodes.md, without source lines.
def _exception(e, filename):
    tname = type(e).__name__
    try:
        message = str(e)
    except BaseException:
        message = '<exception str() failed>'
    frames = []
    tb = e.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == filename:
            frames.append('  File "%s", line %s, in %s\n' % (filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    last = message
    if isinstance(e, SyntaxError) and e.filename == filename:
        frames.append('  File "%s", line %s\n' % (filename, e.lineno))
        last = e.msg or ''
    tail = '%s: %s\n' % (tname, last) if last else tname + '\n'
    notes = getattr(e, '__notes__', None)
    if isinstance(notes, (list, tuple)):
        tail += ''.join('%s\n' % (n,) for n in notes)
    return [tname, message, 'Traceback (most recent call last):\n' + ''.join(frames) + tail if frames else tail]


def _send_error(type_name):
    return ['TypeError', 'cannot send a %s out of a Python node' % type_name, '']


# Logging: print() and logging reach the node's onLog through _sink, line by line.
def _emit(node, level, text):
    _sink(-1 if node is None else node.key, level, text)


class _NodeStream(io.TextIOBase):
    def __init__(self, level, name):
        self._level = level
        self._name = name
        self._orphan = ''

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return 'utf-8'

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError('write() argument must be str, not ' + type(s).__name__)
        if not s:
            return 0
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
        return len(s)

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


def _level_name(levelno):
    if levelno >= logging.CRITICAL:
        return 'critical'
    if levelno >= logging.ERROR:
        return 'error'
    if levelno >= logging.WARNING:
        return 'warning'
    if levelno >= logging.INFO:
        return 'info'
    return 'debug'


class _LogHandler(logging.Handler):
    def emit(self, record):
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        _emit(_running_node(), _level_name(record.levelno), text)


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
    namespace = node.module.__dict__
    if class_name is not None:
        cls = namespace.get(class_name)
        if cls is None:
            raise NameError("%s defines no class named '%s'" % (node.filename, class_name))
        if not isinstance(cls, type):
            raise TypeError("'%s' in %s is a %s, not a class" % (class_name, node.filename, type(cls).__name__))
        if not hasattr(cls, 'process'):
            raise TypeError("class '%s' has no process() method" % (class_name,))
        return cls
    found = []
    for v in namespace.values():
        if isinstance(v, type) and v.__module__ == node.module_name and hasattr(v, 'process') and v not in found:
            found.append(v)
    if not found:
        raise LookupError('%s defines no class with a process() method' % (node.filename,))
    if len(found) > 1:
        names = ', '.join(c.__name__ for c in found)
        raise LookupError(
            '%s defines several classes with a process() method (%s): name the one to use with ' % (node.filename, names)
            + chr(96) + 'class' + chr(96)
        )
    return found[0]


def _init_failed(node, e):
    sys.modules.pop(node.module_name, None)
    if isinstance(e, ModuleNotFoundError):
        e.add_note('(the pyodide runtime has the standard library only: run this node with runtime_hint: cpython)')
    return _exception(e, node.filename)


def create(key, code, filename, class_name, init_payload, init_blobs):
    """Compiles and instantiates a node; returns None, an error [type, message, traceback], or a Task of either."""
    global _sync_node
    node = _Node(key, filename)
    previous, _sync_node = _sync_node, node
    try:
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
        result = initialize() if callable(initialize) else None
        if inspect.isawaitable(result):
            return asyncio.ensure_future(_finish_create(node, result))
        _nodes[key] = node
        return None
    except BaseException as e:
        return _init_failed(node, e)
    finally:
        _flush_pending(node)
        _sync_node = previous


async def _finish_create(node, awaitable):
    _task_node.set(node)
    try:
        await awaitable
    except BaseException as e:
        return _init_failed(node, e)
    finally:
        _flush_pending(node)
    _nodes[node.key] = node
    return None


def _outputs_of(r):
    """Outputs of a call that returned r (not None), or the awaitable / async generator to finish asynchronously."""
    t = type(r)
    if t in _VALUE_TYPES:
        return [r]
    if t is _GeneratorType:
        return list(r)
    if t is _CoroutineType or t is _AsyncGeneratorType or inspect.isawaitable(r) or hasattr(r, '__anext__'):
        return r
    return [r]


async def _resolve(r):
    if isinstance(r, _AsyncGeneratorType) or hasattr(r, '__anext__'):
        return [x async for x in r]
    v = await r
    if v is None:
        return []
    if type(v) is _GeneratorType:
        return list(v)
    return [v]


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


def _run(node, fn, items):
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
                    outputs.append([r])
                    continue
                r = _outputs_of(r)
            except BaseException as e:
                outputs.append(None)
                errors.append([i] + _exception(e, filename))
                continue
            if type(r) is list:
                outputs.append(r)
            else:
                return asyncio.ensure_future(_run_async(node, fn, items, i, r, outputs, errors))
        return _finish(node, outputs, errors, nested)
    finally:
        _sync_node = previous


async def _run_async(node, fn, items, i, pending, outputs, errors):
    _task_node.set(node)
    filename = node.filename
    n = len(items)
    while True:
        try:
            outputs.append(await _resolve(pending))
        except BaseException as e:
            outputs.append(None)
            errors.append([i] + _exception(e, filename))
        i += 1
        pending = None
        while i < n:
            try:
                r = fn(items[i])
                r = _NO_OUTPUTS if r is None else _outputs_of(r)
            except BaseException as e:
                outputs.append(None)
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


def run_batch(key, payload, blobs):
    """Calls process on each item in order; returns _finish's result, or a Task of it once something is async."""
    node = _nodes[key]
    return _run(node, node.process, _decode(payload, blobs))


def _no_outputs(_):
    return None


def flush(key):
    node = _nodes[key]
    fn = getattr(node.instance, 'flush', None)
    if not callable(fn):
        return _run(node, _no_outputs, [None])
    return _run(node, lambda _: fn(), [None])


def close(key):
    """Calls cleanup() if defined and forgets the node; returns None, an error list, or a Task of either."""
    global _sync_node
    node = _nodes.pop(key, None)
    if node is None:
        return None
    previous, _sync_node = _sync_node, node
    try:
        fn = getattr(node.instance, 'cleanup', None)
        result = fn() if callable(fn) else None
        if inspect.isawaitable(result):
            return asyncio.ensure_future(_finish_close(node, result))
        _forget(node)
        return None
    except BaseException as e:
        _forget(node)
        return _exception(e, node.filename)
    finally:
        _flush_pending(node)
        _sync_node = previous


async def _finish_close(node, awaitable):
    _task_node.set(node)
    try:
        await awaitable
        return None
    except BaseException as e:
        return _exception(e, node.filename)
    finally:
        _flush_pending(node)
        _forget(node)


def _forget(node):
    sys.modules.pop(node.module_name, None)
    node.instance = None
    node.process = None
    node.module = None


def setup(sink, tag):
    """Once per process, after the load (never before a snapshot: sink is a JavaScript function)."""
    global _sink, TAG
    TAG = tag
    import random

    random.seed()  # processes restored from one snapshot would otherwise replay the same random sequence
    _sink = sink
    sys.stdin = io.StringIO('')
    sys.stdout = _NodeStream('info', '<stdout>')
    sys.stderr = _NodeStream('error', '<stderr>')
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = _LogHandler()
    handler.setFormatter(logging.Formatter('%(message)s'))
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # as the CPython worker: debug records stay hidden unless the node lowers it
    logging.captureWarnings(True)
`;

/** A Python callable as seen from JavaScript: results are strings, None (undefined) or proxies. */
type PyFunction = (...args: unknown[]) => unknown;

/** The functions of `_pitlane_pyodide` that JavaScript calls. */
interface Helper {
  readonly create: PyFunction;
  readonly run_batch: PyFunction;
  readonly flush: PyFunction;
  readonly close: PyFunction;
  readonly setup: PyFunction;
}

/** The process's Pyodide instance, ready for nodes. */
interface LoadedRuntime {
  readonly helper: Helper;
  readonly info: PyodideLoadInfo;
}

/** Where a node's log lines go. */
interface LogRoute {
  readonly nodeId: string;
  readonly onLog: ((record: PythonLogRecord) => void) | undefined;
}

let runtimePromise: Promise<LoadedRuntime> | null = null;
let nextKey = 1;
/** Log routes of the started nodes, by the key the Python side knows them by. */
const routes = new Map<number, LogRoute>();
/** The node that last entered Python: owner of output that bypasses sys.stdout (os.write to fd 1 ...). */
let lastActiveKey = -1;

/**
 * Load time and version of the process's Pyodide instance (waiting for a load in progress); null if no node has
 * started yet, or if the load failed.
 */
export async function pyodideLoadInfo(): Promise<PyodideLoadInfo | null> {
  if (runtimePromise === null) return null;
  try {
    return (await runtimePromise).info;
  } catch {
    return null;
  }
}

/** A Python node running in the process's Pyodide instance (loaded by the first `start()` of any node). */
export function createPyodideNode(
  source: PythonNodeSource,
  options: PythonRuntimeOptions,
): PythonNodeInstance {
  return new PyodideNode(source, options);
}

class PyodideNode implements PythonNodeInstance {
  readonly runtime = 'pyodide' as const;
  #key: number | null = null;
  #closed = false;
  #runtime: LoadedRuntime | null = null;
  /** Calls into Python are serialised per node: a batch never overtakes the previous one. */
  #tail: Promise<unknown> = Promise.resolve();
  #inFlight = 0;

  constructor(
    private readonly source: PythonNodeSource,
    private readonly options: PythonRuntimeOptions,
  ) {}

  async start(): Promise<void> {
    const { nodeId } = this.source;
    if (this.#key !== null || this.#closed) throw new Error(`python node ${nodeId}: start() called twice`);
    let rt: LoadedRuntime;
    try {
      rt = await getRuntime();
    } catch (err) {
      throw new PythonNodeInitError(nodeId, {
        type: 'RuntimeError',
        message: `could not load Pyodide: ${toError(err).message}`,
        traceback: '',
      });
    }
    const code = await this.#readCode();
    const key = nextKey++;
    routes.set(key, { nodeId, onLog: this.options.onLog });
    const init = encodeValues(this.source.init);
    let failure: unknown;
    try {
      lastActiveKey = key;
      failure = await settle(
        // JS null would arrive as jsnull: undefined is None.
        rt.helper.create(
          key,
          code,
          this.source.fileName,
          this.source.className ?? undefined,
          init.payload,
          init.blobs ?? undefined,
        ),
      );
    } catch (err) {
      routes.delete(key);
      throw new PythonNodeInitError(nodeId, internalError(err));
    }
    if (failure !== undefined && failure !== null) {
      routes.delete(key);
      throw new PythonNodeInitError(nodeId, toException(failure));
    }
    this.#key = key;
    this.#runtime = rt;
  }

  processBatch(items: readonly unknown[]): Promise<PythonCallResult[]> {
    const started = this.#started();
    if (started instanceof Error) return Promise.reject(started);
    const { key, helper } = started;
    if (items.length === 0) return Promise.resolve([]);
    return this.#serialise(() => {
      const batch = encodeBatch(items);
      lastActiveKey = key;
      const raw = helper.run_batch(key, batch.payload, batch.blobs ?? undefined);
      // A string: every call was synchronous (no Task, no proxy), the common case.
      if (typeof raw === 'string') return Promise.resolve(batchResults(raw, batch));
      return settle(raw).then((settled) => batchResults(settled, batch));
    });
  }

  flush(): Promise<PythonCallResult> {
    const started = this.#started();
    if (started instanceof Error) return Promise.reject(started);
    const { key, helper } = started;
    return this.#serialise(async () => {
      lastActiveKey = key;
      const raw = await settle(helper.flush(key));
      const [result] = decodeResults(raw, 1);
      return result ?? { ok: true, outputs: [] };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const key = this.#key;
    const rt = this.#runtime;
    if (key === null || rt === null) return;
    try {
      await this.#tail.catch(() => undefined);
      lastActiveKey = key;
      const failure = await settle(rt.helper.close(key));
      if (failure !== undefined && failure !== null) {
        const e = toException(failure);
        this.options.onWarning?.(this.source.nodeId, `cleanup() failed: ${e.type}: ${e.message}`);
      }
    } catch (err) {
      this.options.onWarning?.(this.source.nodeId, `closing failed: ${toError(err).message}`);
    } finally {
      routes.delete(key);
      this.#key = null;
      this.#runtime = null;
    }
  }

  /** The node's key and the helper, or an Error if the node is not started (or closed). */
  #started(): { key: number; helper: Helper } | Error {
    if (this.#key === null || this.#runtime === null) {
      const why = this.#closed ? 'is closed' : 'was not started';
      return new Error(`python node ${this.source.nodeId} ${why}`);
    }
    return { key: this.#key, helper: this.#runtime.helper };
  }

  #serialise<T>(call: () => Promise<T>): Promise<T> {
    let run: Promise<T>;
    if (this.#inFlight === 0) {
      try {
        run = call();
      } catch (err) {
        run = Promise.reject(toError(err));
      }
    } else run = this.#tail.then(call, call);
    this.#inFlight++;
    const settled = (): void => {
      this.#inFlight--;
    };
    this.#tail = run.then(settled, settled);
    return run;
  }

  async #readCode(): Promise<string> {
    const { code, modulePath, nodeId } = this.source;
    if (code !== undefined) return code;
    if (modulePath === undefined) {
      throw new PythonNodeInitError(nodeId, {
        type: 'ValueError',
        message: 'the node has neither code nor a module',
        traceback: '',
      });
    }
    try {
      return await readFile(modulePath, 'utf8');
    } catch (err) {
      const e = toError(err);
      const type = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'FileNotFoundError' : 'OSError';
      throw new PythonNodeInitError(nodeId, { type, message: e.message, traceback: '' });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Values: JavaScript → Python

/** A batch as JSON text, the binary values it refers to, and the items that cannot be sent at all. */
interface EncodedBatch {
  readonly payload: string;
  /** Binary values referred to by tags (null: nothing tagged, Python takes the fast path). */
  readonly blobs: Uint8Array[] | null;
  readonly errors: [number, PythonException][];
  readonly count: number;
}

const NO_ERRORS: [number, PythonException][] = [];

function encodeBatch(items: readonly unknown[]): EncodedBatch {
  try {
    const { payload, blobs } = encodeValues(items);
    return { payload, blobs, errors: NO_ERRORS, count: items.length };
  } catch {
    // An item JSON cannot express (a cycle ...): send null in its place and fail that item alone.
    const blobs: Uint8Array[] = [];
    const errors: [number, PythonException][] = [];
    const parts = items.map((item, i) => {
      try {
        return JSON.stringify([isPlain(item, 0) ? item : tagged(item, blobs, 0)]).slice(1, -1);
      } catch (err) {
        errors.push([
          i,
          {
            type: 'TypeError',
            message: `cannot send this item into a Python node: ${toError(err).message}`,
            traceback: '',
          },
        ]);
        return 'null';
      }
    });
    return { payload: `[${parts.join(',')}]`, blobs, errors, count: items.length };
  }
}

function encodeValues(value: unknown): { payload: string; blobs: Uint8Array[] | null } {
  if (isPlain(value, 0)) return { payload: JSON.stringify(value), blobs: null };
  const blobs: Uint8Array[] = [];
  return { payload: JSON.stringify(tagged(value, blobs, 0)), blobs };
}

const MAX_DEPTH = 1000;

/** True if JSON.stringify carries the value exactly as the contract maps it (no tags needed). */
function isPlain(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return (
        Number.isFinite(v) &&
        !(Number.isInteger(v) && Math.abs(v) > MAX_EXACT_INT && Math.abs(v) < EXPONENT_FROM)
      );
    case 'object': {
      if (v === null) return true;
      if (depth > MAX_DEPTH) throw new RangeError('value nested too deeply');
      if (ArrayBuffer.isView(v)) return false;
      if (Array.isArray(v)) {
        for (const x of v as unknown[]) if (!isPlain(x, depth + 1)) return false;
        return true;
      }
      for (const x of Object.values(v)) if (!isPlain(x, depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** A copy of v that JSON.stringify can carry, with tags for binary and numbers JSON cannot express. */
function tagged(v: unknown, blobs: Uint8Array[], depth: number): unknown {
  switch (typeof v) {
    case 'number':
      return isPlain(v, depth) ? v : { [TAG]: ['f', String(v)] };
    case 'bigint':
      return { [TAG]: ['i', v.toString()] };
    case 'object': {
      if (v === null) return null;
      if (depth > MAX_DEPTH) throw new RangeError('value nested too deeply');
      if (ArrayBuffer.isView(v)) {
        // A plain Uint8Array view: Pyodide does not know Node's Buffer subclass.
        blobs.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        return { [TAG]: ['b', blobs.length - 1] };
      }
      if (Array.isArray(v)) return (v as unknown[]).map((x) => tagged(x, blobs, depth + 1));
      const withJson = v as { toJSON?: unknown };
      if (typeof withJson.toJSON === 'function') return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = tagged(x, blobs, depth + 1);
      return out;
    }
    default:
      return v;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Values: Python → JavaScript

function batchResults(raw: unknown, batch: EncodedBatch): PythonCallResult[] {
  const results = decodeResults(raw, batch.count);
  for (const [i, error] of batch.errors) results[i] = { ok: false, error };
  return results;
}

type RawResults = [(unknown[] | null)[], [number, string, string, string][]];

/** Turns what `_finish` returned (JSON text, or [text, blobs]) into one result per item. */
function decodeResults(raw: unknown, count: number): PythonCallResult[] {
  let text: string;
  let blobs: Uint8Array[] | null = null;
  if (typeof raw === 'string') text = raw;
  else if (Array.isArray(raw) && typeof raw[0] === 'string') {
    text = raw[0];
    blobs = raw[1] as Uint8Array[];
  } else throw new Error(`pyodide runtime: unexpected result from Python: ${String(raw)}`);
  const [outputs, errors] = JSON.parse(text) as RawResults;
  const results: PythonCallResult[] = new Array<PythonCallResult>(count);
  for (let i = 0; i < count; i++) {
    const o = outputs[i];
    results[i] = {
      ok: true,
      outputs:
        o === null || o === undefined ? [] : blobs === null ? o : (restoreBlobs(o, blobs) as unknown[]),
    };
  }
  for (const [i, type, message, traceback] of errors)
    results[i] = { ok: false, error: { type, message, traceback } };
  return results;
}

function restoreBlobs(v: unknown, blobs: readonly Uint8Array[]): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const a = v as unknown[];
    for (let i = 0; i < a.length; i++) a[i] = restoreBlobs(a[i], blobs);
    return a;
  }
  const o = v as Record<string, unknown>;
  const tag = o[TAG];
  if (typeof tag === 'number' && Object.keys(o).length === 1) {
    const blob = blobs[tag];
    // Buffer, as the CPython runtime gives (a view, no copy).
    return blob === undefined ? o : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  }
  for (const k of Object.keys(o)) o[k] = restoreBlobs(o[k], blobs);
  return o;
}

function toException(raw: unknown): PythonException {
  if (Array.isArray(raw) && raw.length === 3) {
    const [type, message, traceback] = raw as unknown[];
    return { type: String(type), message: String(message), traceback: String(traceback) };
  }
  return { type: 'RuntimeError', message: `unexpected result from Python: ${String(raw)}`, traceback: '' };
}

/** A failure of the runtime itself (not of the node's code), as a PythonException. */
function internalError(err: unknown): PythonException {
  const e = toError(err);
  return {
    type: (e as { type?: unknown }).type === undefined ? e.name : String((e as { type?: unknown }).type),
    message: e.message,
    traceback: '',
  };
}

function isPyProxy(v: unknown): v is PyProxy {
  return (
    typeof v === 'function' ||
    (typeof v === 'object' &&
      v !== null &&
      typeof (v as { destroy?: unknown }).destroy === 'function' &&
      typeof (v as { toJs?: unknown }).toJs === 'function')
  );
}

function isThenable(v: PyProxy): v is PyProxy & PromiseLike<unknown> {
  return typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Resolves a helper's return value to plain JavaScript: awaits a Task, converts a tuple or list (shallow: strings
 * and Uint8Arrays), and destroys every proxy on the way.
 */
async function settle(value: unknown): Promise<unknown> {
  if (!isPyProxy(value)) return value;
  const proxy = value;
  try {
    if (isThenable(proxy)) {
      const awaited: unknown = await proxy;
      return await settle(awaited);
    }
    return (proxy as { toJs: (o: { depth: number }) => unknown }).toJs({ depth: 3 });
  } finally {
    proxy.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Loading

function getRuntime(): Promise<LoadedRuntime> {
  runtimePromise ??= loadRuntime();
  return runtimePromise;
}

async function loadRuntime(): Promise<LoadedRuntime> {
  const started = performance.now();
  const pyodideDir = dirname(createRequire(import.meta.url).resolve('pyodide/package.json'));
  const { loadPyodide, version } = await import('pyodide');
  const config = {
    indexURL: pyodideDir + '/',
    env: { HOME: '/home/pyodide' },
    stdin: () => null,
    stdout: (line: string) => {
      rawOutput('info', line);
    },
    stderr: (line: string) => {
      rawOutput('error', line);
    },
  };
  const snapshot = await snapshotLocation(pyodideDir, version);
  let py: PyodideAPI | null = null;
  let source: PyodideLoadInfo['source'] = 'cold';
  if (snapshot !== null && snapshot.usable) {
    py = await restoreSnapshot(snapshot.file, (bytes) => loadPyodide({ ...config, _loadSnapshot: bytes }));
    if (py !== null) source = 'snapshot';
  }
  if (py === null) {
    const makeSnapshot = snapshot !== null && snapshot.usable;
    py = await loadPyodide({ ...config, _makeSnapshot: makeSnapshot });
    py.runPython(
      `import sys, types\nm = types.ModuleType('_pitlane_pyodide')\nexec(compile(${JSON.stringify(HELPER_SOURCE)}, '<pitlane-pyodide>', 'exec'), m.__dict__)\nsys.modules['_pitlane_pyodide'] = m\ndel m`,
    );
    if (makeSnapshot) {
      try {
        saveSnapshot(snapshot.file, py.makeMemorySnapshot());
      } catch {
        // No snapshot this time; the instance itself is fine.
      }
    }
  }
  py.setStdin({ stdin: () => null });
  py.setStdout({
    batched: (line: string) => {
      rawOutput('info', line);
    },
  });
  py.setStderr({
    batched: (line: string) => {
      rawOutput('error', line);
    },
  });
  // Lives as long as the process: the functions below are borrowed from it.
  const module = py.pyimport('_pitlane_pyodide') as PyProxy;
  const helper: Helper = {
    create: module.create as PyFunction,
    run_batch: module.run_batch as PyFunction,
    flush: module.flush as PyFunction,
    close: module.close as PyFunction,
    setup: module.setup as PyFunction,
  };
  helper.setup(routeLog, TAG);
  const info: PyodideLoadInfo = { loadMs: performance.now() - started, version, source };
  return { helper, info };
}

/** The Python side's log sink: key -1 is output written while no node was running. */
function routeLog(key: number, level: string, message: string): void {
  const route = routes.get(key === -1 ? lastActiveKey : key);
  if (route?.onLog === undefined || !LOG_LEVELS.has(level)) return;
  try {
    route.onLog({ nodeId: route.nodeId, level: level as PythonLogRecord['level'], message });
  } catch {
    // A failing log consumer must not raise inside the node's print().
  }
}

function rawOutput(level: 'info' | 'error', line: string): void {
  routeLog(-1, level, line);
}

// ---------------------------------------------------------------------------------------------------------------
// Memory snapshot cache

interface SnapshotLocation {
  readonly file: string;
  /** False once a restore of this very snapshot failed (a `.bad` marker beside it). */
  readonly usable: boolean;
}

async function snapshotLocation(pyodideDir: string, version: string): Promise<SnapshotLocation | null> {
  if (process.env.PITLANE_PYODIDE_SNAPSHOT === '0') return null;
  const cacheDir =
    process.env.PITLANE_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pitlane');
  try {
    const [wasm, stdlib] = await Promise.all([
      stat(join(pyodideDir, 'pyodide.asm.wasm')),
      stat(join(pyodideDir, 'python_stdlib.zip')),
    ]);
    const key = createHash('sha256')
      .update(
        JSON.stringify([
          SNAPSHOT_FORMAT,
          version,
          process.versions.node,
          wasm.size,
          wasm.mtimeMs,
          stdlib.size,
          stdlib.mtimeMs,
          HELPER_SOURCE,
        ]),
      )
      .digest('hex')
      .slice(0, 16);
    const file = join(cacheDir, `pyodide-${version}-${key}.snapshot`);
    const bad = await stat(`${file}.bad`).then(
      () => true,
      () => false,
    );
    return { file, usable: !bad };
  } catch {
    return null;
  }
}

async function restoreSnapshot(
  file: string,
  load: (bytes: Uint8Array) => Promise<PyodideAPI>,
): Promise<PyodideAPI | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch {
    return null; // not made yet
  }
  try {
    const py = await load(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (py.runPython("import sys\n'_pitlane_pyodide' in sys.modules and 6 * 7 == 42") !== true) {
      throw new Error('restored interpreter is missing the helper module');
    }
    return py;
  } catch {
    await writeFile(`${file}.bad`, '').catch(() => undefined);
    return null;
  }
}

/** Writes the snapshot in the background (atomically: temp file + rename) and removes older snapshots. */
function saveSnapshot(file: string, bytes: Uint8Array): void {
  const dir = dirname(file);
  const temp = `${file}.${process.pid}.tmp`;
  void (async () => {
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(temp, bytes);
      await rename(temp, file);
      for (const name of await readdir(dir)) {
        const path = join(dir, name);
        if (name.startsWith('pyodide-') && !path.startsWith(file)) await unlink(path).catch(() => undefined);
      }
    } catch {
      await unlink(temp).catch(() => undefined);
    }
  })();
}
