"""pitlane_ref: the CPython reference executor for pitlane pipeline manifests.

This is the *baseline* that pitlane (a TypeScript pipeline runtime) is benchmarked against, and the second
implementation of the contract in ``docs/pipelines.md``: same manifest format, same validation problems (with JSON
paths, lines and columns), same node semantics and error records, byte-identical JSONL output, same CLI exit codes.

It is written the classic way the Python SDKs of this field run a dataflow graph, on purpose:

* ``asyncio``, one task per node and one bounded ``asyncio.Queue`` per node input (``settings.queue_capacity``,
  policy ``block`` / ``drop_oldest`` / ``drop_newest``);
* sources are tasks that iterate their items and ``await queue.put(...)`` into every successor;
* an end-of-stream marker flows through the queues; a node with several predecessors ends when it has seen the
  marker from all of them, then flushes (its flush outputs go downstream first) and forwards the marker;
* node objects with ``initialize()``, ``process(item)``, ``flush()`` and ``cleanup()``;
* Python nodes (``node_type: python``, ``docs/python-nodes.md``) run their class in this interpreter, as one more
  node kind whose ``process`` may be async (the runner awaits it in the node's task).

It is meant to be a fair baseline: idiomatic and reasonably efficient (``put_nowait`` when a queue has room, no
needless per-item allocations), but it neither batches items nor fuses nodes, because measuring that classic design
is the point.

Every JSON number is a Python ``float`` (IEEE-754 double), in the input and in the manifest, so arithmetic agrees
bit for bit with JavaScript; ``js_dumps`` reproduces ``JSON.stringify``'s formatting exactly.

Standard library only (PyYAML is used for ``.yaml``/``.yml`` manifests when it is installed), but for audio:
``run -i speech.wav`` and the audio nodes use numpy, imported only when a run has audio (README.md, "Audio").
Python >= 3.9.

Usage (``pitlane_ref.py`` beside this package is the launcher; ``python3 -m pitlane_ref`` works too)::

    python3 pitlane_ref.py run MANIFEST [--input F|-] [--output F|-] [--on-error fail|skip] [--stats]
                               [audio: -i FILE.wav | -i - --sample-rate HZ, --frame-ms, --realtime, -o out.wav, ...]
    python3 pitlane_ref.py validate MANIFEST
    python3 pitlane_ref.py bench MANIFEST --samples N [--warmup W] [--warmup-ms MS] [--mode run|init]
                                 [--concurrent K] [--input F]

The modules, from the bottom up: ``js_json`` (JSON values the JavaScript way), ``problems`` (JSON paths and
validation problems), ``node`` (the node contract), ``nodes`` (built-in nodes), ``python_code``,
``python_values``, ``python_logs`` and ``python_node`` (the ``python`` node), ``node_types`` (the registry),
``validation``, ``manifest`` (reading manifest files), ``queues``, ``line_input``, ``stages`` and ``pipeline``
(the asyncio executor), and ``cli`` with ``cli_report``, ``run_command`` and ``bench_command``. Audio: ``audio``
(``AudioFrame``), ``wav``, ``run_input``, ``audio_input``, ``audio_output``, ``js_math``, ``audio_measures``,
``health_nodes``, ``vad_nodes``, ``audio_nodes``, ``resample``, ``text_nodes`` and ``python_audio``.

The names below are importable from the package itself (``from pitlane_ref import js_dumps``); each is loaded
from its module on first use, so that importing the package (as the launcher does) costs nothing more than the
command being run needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "js_dumps",
    "json_equal",
    "type_name",
    "parse_item",
    "load_manifest",
    "validate_manifest",
    "normalize_manifest",
    "run_pipeline",
    "Problem",
    "ManifestError",
    "Node",
    "ItemError",
    "NodeInitError",
    "PythonNode",
    "DROP",
    "NODE_TYPES",
    "Pipeline",
    "RunResult",
    "MemoryLines",
    "StreamLines",
    "main",
]

_MODULE_OF = {
    "js_dumps": "js_json",
    "json_equal": "js_json",
    "type_name": "js_json",
    "parse_item": "js_json",
    "normalize_manifest": "js_json",
    "Problem": "problems",
    "ManifestError": "problems",
    "parse_manifest_text": "manifest",
    "load_manifest": "manifest",
    "_yaml_module": "manifest",
    "validate_manifest": "validation",
    "Node": "node",
    "Param": "node",
    "ItemError": "node",
    "NodeInitError": "node",
    "DROP": "node",
    "PythonNode": "python_node",
    "_stdlib_modules": "python_code",
    "_to_python": "python_values",
    "_from_python": "python_values",
    "NODE_TYPES": "node_types",
    "Pipeline": "pipeline",
    "RunResult": "pipeline",
    "run_pipeline": "pipeline",
    "MemoryLines": "line_input",
    "StreamLines": "line_input",
    "main": "cli",
}
"""Where each name of the package's interface lives (``__all__``, and the internals the tests use)."""


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_MODULE_OF))
