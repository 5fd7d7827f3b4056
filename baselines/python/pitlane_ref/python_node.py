"""The ``python`` node (docs/python-nodes.md): a user's class, from ``code`` or a ``module`` file, run natively
in this interpreter. It owns the node's params and checks, its lifecycle (module, ``__init__``, ``initialize``,
``cleanup``), sync / async / generator ``process`` and ``flush``, and the item errors with filtered tracebacks.
"""

from __future__ import annotations

from importlib import import_module

import errno
import math
import os
import re
import sys
import types
from typing import Any, Dict, List, Optional, Tuple

from .js_json import js_dumps, type_name
from .node import DROP, ItemError, Marked, Node, NodeInitError, Param, Report, _Many, arrival_of, carry_arrival
from .problems import _child
from .python_code import (
    _PYODIDE_HINTS,
    PYTHON_RUNTIME_HINTS,
    _choose_class,
    _class_defs,
    _module_file_name,
    _pyodide_import_problems,
    _python_source,
)
from .python_logs import _current_python_node
from .python_values import _from_python, _to_python


_CAUGHT = (Exception, SystemExit)  # what a node's code may raise that becomes its error (not CancelledError)


class PythonNode(Node):
    """A user's Python class (``code`` or ``module``), run in this interpreter (docs/python-nodes.md).

    Items cross as the contract's value table says (integral numbers become ``int``; outputs are checked and
    copied); exceptions of ``process`` / ``flush`` are item errors with a ``traceback``; exceptions of the module,
    ``__init__`` or ``initialize()`` are a ``NodeInitError``. ``process`` may be sync, async, a generator or an
    async generator; for an async one it returns a coroutine, which the runner awaits.
    """

    type_name = "Python"
    PARAMS = {
        "code": Param("string"),
        "module": Param("string"),
        "class": Param("string"),
        "init": Param("object"),
        "stateless": Param("any"),
        "timeout": Param("any"),
    }
    uses_base_dir = True

    _TIMEOUT = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:ms|s|m)\Z")

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        if "stateless" in params and type(params["stateless"]) is not bool:
            report(_child(path, "stateless"), f"expected a boolean, got {type_name(params['stateless'])}")
        if "timeout" in params:
            timeout = params["timeout"]
            if not (
                (type(timeout) is float and timeout > 0 and math.isfinite(timeout))
                or (type(timeout) is str and cls._TIMEOUT.match(timeout) and float(re.sub("[a-z]", "", timeout)) > 0)
            ):
                report(_child(path, "timeout"), f"expected a duration such as 30s, 500ms or 2m (or a number of "
                                                f"seconds), got {js_dumps(timeout)}")

    @classmethod
    def validate_node(cls, spec: Dict[str, Any], path: str, report: Report, base_dir: str) -> None:
        import ast

        hint = spec.get("runtime_hint")
        hint_path = _child(path, "runtime_hint")
        if "runtime_hint" in spec:
            if type(hint) is not str:
                report(hint_path, f"expected a string, got {type_name(hint)}")
                hint = None
            elif hint == "rust_python":
                report(hint_path, "runtime_hint rust_python is not supported")
                hint = None
            elif hint not in PYTHON_RUNTIME_HINTS:
                report(hint_path, f"unknown runtime_hint {js_dumps(hint)}; expected one of "
                                  f"{', '.join(PYTHON_RUNTIME_HINTS)}")
                hint = None
        params = spec.get("params")
        if params is None:
            params = {}
        if type(params) is not dict:
            return
        ppath = _child(path, "params")
        given = [name for name in ("code", "module") if name in params]
        if not given:
            report(ppath, "one of code, module is required for python")
            return
        if len(given) == 2:
            report(ppath, "code and module cannot both be given")
            return
        key = given[0]
        if type(params[key]) is not str:
            return  # already reported
        if key == "module" and "class" not in params:
            report(_child(ppath, "class"), "missing required param 'class' for python (with module)")
        source_path = _child(ppath, key)
        try:
            source, filename, _ = _python_source(params, base_dir)
        except OSError as exc:
            module = params["module"]
            if exc.errno == errno.ENOENT:
                report(source_path, f"module file '{module}' does not exist")
            elif exc.errno == errno.EISDIR:
                report(source_path, f"module '{module}' is a folder")
            else:
                report(source_path, f"cannot read module '{module}': {exc.strerror or exc}")
            return
        if key == "code":
            filename = f"<node {spec.get('id')}>"
        try:
            compile(source, filename, "exec", dont_inherit=True)
            tree = ast.parse(source, filename)
        except SyntaxError as exc:
            where = f" (line {exc.lineno})" if exc.lineno is not None else ""
            report(source_path, f"{type(exc).__name__}: {exc.msg}{where}")
            return
        except ValueError as exc:  # null bytes (Python < 3.12)
            report(source_path, f"{type(exc).__name__}: {exc}")
            return
        wanted = params.get("class")
        if wanted is not None and type(wanted) is not str:
            return
        _, problem = _choose_class(_class_defs(tree), wanted)
        if problem is not None:
            report(_child(ppath, "class") if wanted is not None else source_path, problem)
        if hint in _PYODIDE_HINTS:
            for reason in _pyodide_import_problems(tree):
                report(hint_path, f"runtime_hint {hint} cannot run this code: {reason}")

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None, base_dir: str = "."):
        super().__init__(node_id, params)
        self.base_dir = base_dir
        module = self.params.get("module")
        self.filename = f"<node {node_id}>" if module is None else _module_file_name(module, base_dir)
        self.instance: Any = None
        self._process: Any = None
        self._flush: Any = None
        self._pending_text = ""  # print() output not yet ended by a newline
        self._module_name = f"pitlane.nodes.{node_id}"
        self._module: Any = None

    # -- logging

    def _log(self, level: str, message: str) -> None:
        write = sys.stderr.write
        for line in message.split("\n"):
            write(f"[python:{self.id}] {level} {line}\n")

    def _log_text(self, text: str) -> None:
        """Text written to sys.stdout (print): one INFO line per complete line."""
        text = self._pending_text + text
        if "\n" in text:
            *lines, text = text.split("\n")
            for line in lines:
                self._log("INFO", line)
        self._pending_text = text

    def enter_task(self) -> None:
        _current_python_node.set(self)

    # -- errors

    def _describe(self, exc: BaseException) -> Tuple[str, str]:
        """(``<Type>: <message>``, the traceback restricted to the node's own frames)."""
        import traceback

        try:
            text = str(exc)
        except Exception:
            text = "<exception str() failed>"
        # Python's own last traceback line: "ValueError: message", or just "ValueError" for an empty message
        detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        frames = [
            f'  File "{frame.f_code.co_filename}", line {lineno}, in {frame.f_code.co_name}\n'
            for frame, lineno in traceback.walk_tb(exc.__traceback__)
            if frame.f_code.co_filename == self.filename
        ]
        return detail, "Traceback (most recent call last):\n" + "".join(frames) + detail + "\n"

    def _error(self, exc: BaseException) -> ItemError:
        detail, tb = self._describe(exc)
        error = ItemError(detail)
        error.extra = {"traceback": tb}
        return error

    # -- lifecycle

    async def initialize(self) -> None:  # type: ignore[override]
        token = _current_python_node.set(self)
        try:
            await self._start()
        finally:
            _current_python_node.reset(token)

    async def _start(self) -> None:
        import ast

        params = self.params
        try:
            source, _, module_path = _python_source(params, self.base_dir)
        except OSError as exc:
            raise NodeInitError(self.id, self.type_name, f"{type(exc).__name__}: {exc}") from None
        try:
            code = compile(source, self.filename, "exec", dont_inherit=True)
            class_name, problem = _choose_class(_class_defs(ast.parse(source, self.filename)), params.get("class"))
        except (SyntaxError, ValueError) as exc:
            raise NodeInitError(self.id, self.type_name, *self._describe(exc)) from None
        if problem is not None:
            raise NodeInitError(self.id, self.type_name, f"TypeError: {problem}")
        module = types.ModuleType(self._module_name)
        if module_path is not None:
            module.__file__ = module_path
        # A real module in sys.modules, so that dataclasses, typing and pickle find the node's globals.
        sys.modules[self._module_name] = self._module = module
        # `from pitlane import AudioFrame` in node code, as in pitlane's workers.
        sys.modules.setdefault("pitlane", import_module(".python_audio", __package__).pitlane_audio)
        init = {k: _to_python(v) for k, v in (params.get("init") or {}).items()}
        try:
            exec(code, module.__dict__)
            cls = module.__dict__.get(class_name)
            if not isinstance(cls, type):
                raise NodeInitError(self.id, self.type_name, f"TypeError: '{class_name}' is not a class")
            self.instance = cls(**init)
            process = getattr(self.instance, "process", None)
            if not callable(process):
                detail = f"TypeError: class '{class_name}' has no process() method"
                raise NodeInitError(self.id, self.type_name, detail)
            self._process = process
            self._flush = getattr(self.instance, "flush", None)
            initialize = getattr(self.instance, "initialize", None)
            if initialize is not None:
                result = initialize()
                if hasattr(result, "__await__"):
                    await result
        except _CAUGHT as exc:
            if isinstance(exc, NodeInitError):
                raise
            raise NodeInitError(self.id, self.type_name, *self._describe(exc)) from None

    async def cleanup(self) -> None:  # type: ignore[override]
        token = _current_python_node.set(self)
        try:
            cleanup = getattr(self.instance, "cleanup", None) if self.instance is not None else None
            if cleanup is not None:
                try:
                    result = cleanup()
                    if hasattr(result, "__await__"):
                        await result
                except _CAUGHT as exc:
                    detail, _ = self._describe(exc)
                    print(f"warning: node '{self.id}' (Python) cleanup failed: {detail}", file=sys.stderr)
            if self._pending_text:
                self._log("INFO", self._pending_text)
                self._pending_text = ""
        finally:
            _current_python_node.reset(token)
            if self._module is not None and sys.modules.get(self._module_name) is self._module:
                del sys.modules[self._module_name]
            self.instance = self._process = self._flush = self._module = None

    # -- items

    def process(self, item: Any) -> Any:
        try:
            out = self._process(_to_python(item))
        except _CAUGHT as exc:
            raise self._error(exc) from None
        result = self._result(out)
        if arrival_of(item) is not None:  # a frame, or an event made from one: the outputs answer it
            return self._answering(item, result)
        return result

    def _answering(self, item: Any, result: Any) -> Any:
        """The input's arrival time carried to its outputs, as pitlane's worker results get it, so per-frame latency
        covers what Python nodes make: an audio output without one takes it (and the input frame's stream id when
        it has none); any other object output (a transcript, an event) is marked with it."""
        if type(result) is types.CoroutineType:
            return self._answering_async(item, result)
        if result is DROP:
            return result
        arrival = arrival_of(item)
        stream_id = item.stream_id if type(item) is not Marked else None

        def carried(out: Any) -> Any:
            if type(out).__name__ == "AudioFrame":
                if out.arrival_ts_us is None:
                    out.arrival_ts_us = arrival
                    if out.stream_id is None:
                        out.stream_id = stream_id
                return out
            return carry_arrival(out, item)

        if type(result) is _Many:
            return _Many(carried(out) for out in result)
        return carried(result)

    async def _answering_async(self, item: Any, coroutine: Any) -> Any:
        return self._answering(item, await coroutine)

    def _result(self, out: Any) -> Any:
        """DROP, an output, a ``_Many`` of outputs, or a coroutine that resolves to one of those."""
        if out is None:
            return DROP
        t = type(out)
        if t is types.GeneratorType:
            return self._drain(out)
        if t is types.CoroutineType:
            return self._finish(out)
        if t is types.AsyncGeneratorType:
            return self._drain_async(out)
        if t not in (float, int, str, bool, list, dict, tuple) and hasattr(out, "__await__"):
            return self._finish(out)
        return _from_python(out)

    def _drain(self, generator: Any) -> Any:
        outputs = _Many()
        try:
            while True:
                try:
                    value = next(generator)
                except StopIteration:
                    break
                except _CAUGHT as exc:
                    raise self._error(exc) from None
                outputs.append(_from_python(value))  # converted as yielded: later changes do not show
        finally:
            generator.close()
        return outputs

    async def _drain_async(self, generator: Any) -> Any:
        outputs = _Many()
        try:
            while True:
                try:
                    value = await generator.__anext__()
                except StopAsyncIteration:
                    break
                except _CAUGHT as exc:
                    raise self._error(exc) from None
                outputs.append(_from_python(value))
        finally:
            await generator.aclose()
        return outputs

    async def _finish(self, awaitable: Any) -> Any:
        try:
            out = await awaitable
        except _CAUGHT as exc:
            raise self._error(exc) from None
        result = self._result(out)
        if type(result) is types.CoroutineType:
            result = await result
        return result

    def flush(self) -> Any:
        if self._flush is None:
            return None
        try:
            out = self._flush()
        except _CAUGHT as exc:
            raise self._error(exc) from None
        result = self._result(out)
        if type(result) is types.CoroutineType:
            return self._as_outputs_async(result)
        return self._as_outputs(result)

    @staticmethod
    def _as_outputs(result: Any) -> List[Any]:
        if result is DROP:
            return []
        if type(result) is _Many:
            return list(result)
        return [result]

    async def _as_outputs_async(self, coroutine: Any) -> List[Any]:
        return self._as_outputs(await coroutine)


_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
POCKETSPHINX_MODULE = os.path.join(_REPO_ROOT, "src", "python", "nodes", "pocketsphinx_stt.py")
"""pitlane's PocketSphinx recogniser class, which the reference runs unchanged (in this interpreter)."""
POCKETSPHINX_MODEL = {
    "hmm": "/usr/share/pocketsphinx/model/en-us/en-us",
    "lm": "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin",
    "dict": "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
}


class PocketSphinxSTTNode(PythonNode):
    """pitlane's PocketSphinxSTT: speech recognition with CMU PocketSphinx (US English), one 16 kHz mono utterance
    frame in, ``{text, start, end}`` out. It runs pitlane's own class (``src/python/nodes/pocketsphinx_stt.py``) as
    a Python node of this interpreter, which must have the ``pocketsphinx`` module (Debian's python3-pocketsphinx:
    run the reference with ``/usr/bin/python3``); the ``python`` param (pitlane's worker interpreter) is accepted
    and ignored."""

    type_name = "PocketSphinxSTT"
    ALIASES = ("PocketSphinxNode",)
    PARAMS = {"hmm": Param("string"), "lm": Param("string"), "dict": Param("string"), "python": Param("string"),
              "timeout": Param("any")}

    @classmethod
    def validate_node(cls, spec: Dict[str, Any], path: str, report: Report, base_dir: str) -> None:
        params = spec.get("params")
        params = params if type(params) is dict else {}
        for key, default in POCKETSPHINX_MODEL.items():
            given = params.get(key)
            if given is not None and type(given) is not str:
                continue
            file = default if given is None else os.path.join(base_dir, given)
            if not os.path.exists(file):
                message = (f"the PocketSphinx model file {file} is missing: install Debian's pocketsphinx-en-us"
                           if given is None else f"{file} does not exist")
                report(_child(_child(path, "params"), key), message)
        hint = spec.get("runtime_hint")
        if hint is not None and hint not in ("cpython", "auto"):
            report(_child(path, "runtime_hint"), "PocketSphinxSTT runs on CPython only (pocketsphinx is a native "
                                                 f"module): use cpython or auto, not {hint}")

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None, base_dir: str = "."):
        given = params or {}
        init = {"node_id": node_id}
        for key, default in POCKETSPHINX_MODEL.items():
            init[key] = default if key not in given else os.path.join(os.path.abspath(base_dir), given[key])
        python_params: Dict[str, Any] = {"module": POCKETSPHINX_MODULE, "class": "PocketSphinxSTT", "init": init}
        if "timeout" in given:
            python_params["timeout"] = given["timeout"]
        super().__init__(node_id, python_params, base_dir)

    async def initialize(self) -> None:  # type: ignore[override]
        if not os.path.exists(POCKETSPHINX_MODULE):
            raise NodeInitError(self.id, self.type_name, f"FileNotFoundError: {POCKETSPHINX_MODULE} (pitlane's "
                                                         "PocketSphinx node class) is missing")
        await super().initialize()
