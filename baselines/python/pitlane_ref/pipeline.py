"""The pipeline executor: a validated manifest turned into node objects, queues and one asyncio task per node;
``Pipeline.run()`` initializes the nodes, runs the tasks to the end of the input (or a failure, or an interrupt),
cleans up and returns a ``RunResult``. ``run_pipeline`` runs a manifest over in-memory lines.
"""

from __future__ import annotations

import asyncio
import os
import types
from typing import Any, Callable, Dict, List, Optional, Tuple

from .js_json import normalize_manifest
from .line_input import LineInput, MemoryLines, StreamLines
from .node import Node, NodeInitError
from .node_types import NODE_TYPES
from .nodes import DataSourceNode
from .python_logs import _LogCapture
from .python_node import PythonNode
from .queues import NodeQueue
from .stages import InputFeeder, NodeRunner, SourceRunner, _Stage


class RunResult:
    """How a run ended: ``failure`` is the first error record under policy ``fail`` (else None); ``init_error``
    the ``NodeInitError`` of a node that failed to initialise (then nothing ran)."""

    def __init__(self, failure: Optional[Dict[str, Any]], interrupted: bool, stats: Dict[str, Dict[str, int]],
                 init_error: Optional[NodeInitError] = None, input_error: Optional[Exception] = None):
        self.failure = failure
        self.interrupted = interrupted
        self.stats = stats
        self.init_error = init_error
        self.input_error = input_error  # bad audio input met while running (``audio.AudioInputError``)

    @property
    def ok(self) -> bool:
        return (self.failure is None and not self.interrupted and self.init_error is None
                and self.input_error is None)


class Pipeline:
    """A validated manifest turned into node objects; ``await run()`` executes it once.

    The manifest must be normalized as ``load_manifest`` returns it (every number a float; see
    ``normalize_manifest``). Construct it inside the running event loop (asyncio queues belong to one).

    ``output`` receives every pipeline output (items of terminal and ``is_output_node`` nodes, and error records
    that reach a terminal node under ``skip``), in the order they are produced.
    """

    def __init__(
        self,
        manifest: Dict[str, Any],
        output: Callable[[Any], None],
        *,
        input: Optional[LineInput] = None,
        on_error: Optional[str] = None,
        base_dir: str = ".",
    ):
        settings = manifest.get("settings") or {}
        self.output = output
        self.input = input
        self.on_error: str = on_error or settings.get("on_error", "fail")
        self.base_dir = base_dir
        self.default_capacity = int(settings.get("queue_capacity", 1024.0))
        self.default_policy: str = settings.get("queue_policy", "block")
        self.specs: Dict[str, Dict[str, Any]] = {}
        self.nodes: Dict[str, Node] = {}
        for spec in manifest["nodes"]:
            cls = NODE_TYPES[spec["node_type"]]
            if cls.uses_base_dir:
                self.nodes[spec["id"]] = cls(spec["id"], spec.get("params") or {}, base_dir=base_dir)
            else:
                self.nodes[spec["id"]] = cls(spec["id"], spec.get("params") or {})
            self.specs[spec["id"]] = spec
        self.successors: Dict[str, List[str]] = {node_id: [] for node_id in self.nodes}
        self.predecessors: Dict[str, List[str]] = {node_id: [] for node_id in self.nodes}
        for conn in manifest.get("connections") or []:
            self.successors[conn["from"]].append(conn["to"])
            self.predecessors[conn["to"]].append(conn["from"])
        self.order = self._topological_order()
        self.stopping = False
        self.failed = False
        self.failure: Optional[Dict[str, Any]] = None
        self.interrupted = False
        self.init_error: Optional[NodeInitError] = None
        self.input_error: Optional[Exception] = None
        self._stages: List[_Stage] = []
        self._queues: Dict[str, NodeQueue] = {}
        self._initialized: List[Node] = []
        self._capturing = False  # print() / logging of Python nodes routed to stderr (see _LogCapture)

    def _topological_order(self) -> List[str]:
        indegree = {n: len(p) for n, p in self.predecessors.items()}
        ready = [n for n in self.nodes if indegree[n] == 0]
        order: List[str] = []
        while ready:
            n = ready.pop(0)
            order.append(n)
            for s in self.successors[n]:
                indegree[s] -= 1
                if indegree[s] == 0:
                    ready.append(s)
        return order

    # -- control

    def stop(self) -> None:
        """Stop the sources: they emit nothing more (one waiting for input stops waiting) and end their streams."""
        self.stopping = True
        for stage in self._stages:
            stage.cancel_input_wait()

    def fail(self, record: Dict[str, Any]) -> None:
        """Policy 'fail': remember the first error and stop the sources."""
        if not self.failed:
            self.failed = True
            self.failure = record
        self.stop()

    def interrupt(self) -> None:
        """SIGINT: stop the sources (waking one that waits for input); the rest drains and flushes.
        A second interrupt cancels everything."""
        if self.interrupted:
            for stage in self._stages:
                if stage.task is not None:
                    stage.task.cancel()
            return
        self.interrupted = True
        self.stop()

    # -- building (inside the running loop: asyncio queues belong to it)

    def _queue_for(self, node_id: str) -> NodeQueue:
        queue = self._queues.get(node_id)
        if queue is None:
            node_settings = self.specs[node_id].get("settings") or {}
            capacity = int(node_settings.get("queue_capacity", self.default_capacity))
            policy = node_settings.get("queue_policy", self.default_policy)
            queue = self._queues[node_id] = NodeQueue(capacity, policy)
        return queue

    def _build(self) -> None:
        sources = [n for n in self.order if isinstance(self.nodes[n], DataSourceNode)]
        if sources:
            stream_readers = [n for n in sources if self.nodes[n].reads_input]  # type: ignore[attr-defined]
        else:
            stream_readers = [n for n in self.order if not self.predecessors[n]]
        direct_reader = stream_readers[0] if len(stream_readers) == 1 and sources else None
        fed = set(stream_readers) if direct_reader is None else set()
        for node_id in self.order:
            node = self.nodes[node_id]
            targets = [self._queue_for(s) for s in self.successors[node_id]]
            is_output = not targets or bool(self.specs[node_id].get("is_output_node"))
            if isinstance(node, DataSourceNode) and node_id not in fed:
                lines = None
                if node_id == direct_reader:
                    lines = self.input or MemoryLines([])
                elif "file" in node.params:
                    lines = StreamLines(os.path.join(self.base_dir, node.params["file"]))
                self._stages.append(SourceRunner(self, node, targets, is_output, lines))
            else:
                runner = NodeRunner(self, node, self._queue_for(node_id), targets, is_output)
                runner.predecessors = len(self.predecessors[node_id]) + (1 if node_id in fed else 0)
                self._stages.append(runner)
        if fed:
            feeder_targets = [self._queue_for(n) for n in self.order if n in fed]
            self._stages.append(InputFeeder(self, feeder_targets, self.input or MemoryLines([])))

    async def initialize(self) -> None:
        """Call every node's ``initialize()`` in topological order (awaited when it is a coroutine). Raises
        ``NodeInitError``; the nodes started so far (the failing one too) are then still to be cleaned up."""
        if not self._capturing and any(isinstance(n, PythonNode) for n in self.nodes.values()):
            _LogCapture.start()
            self._capturing = True
        for node_id in self.order:
            node = self.nodes[node_id]
            self._initialized.append(node)
            result = node.initialize()
            if type(result) is types.CoroutineType:
                await result

    async def cleanup(self) -> None:
        """Call ``cleanup()`` of every initialized node (errors there are ignored)."""
        for node in self._initialized:
            try:
                result = node.cleanup()
                if type(result) is types.CoroutineType:
                    await result
            except Exception:  # pragma: no cover - built-in nodes do not fail here
                pass
        self._initialized = []
        if self._capturing:
            self._capturing = False
            _LogCapture.stop()

    async def run(self) -> RunResult:
        """Run the pipeline to the end of its input (or its failure, or an interrupt); cleanup always runs."""
        try:
            self._build()
            try:
                await self.initialize()
            except NodeInitError as exc:
                self.init_error = exc  # nothing runs
            else:
                loop = asyncio.get_running_loop()
                for stage in self._stages:
                    stage.task = loop.create_task(stage.run())  # type: ignore[attr-defined]
                tasks = [stage.task for stage in self._stages]
                try:
                    await asyncio.gather(*tasks)
                finally:
                    for task in tasks:
                        if not task.done():
                            task.cancel()
        finally:
            await self.cleanup()
        result = RunResult(self.failure, self.interrupted, self.stats(), self.init_error, self.input_error)
        # Stages and pipeline reference each other; drop them so a finished run (and whatever its output
        # callback holds) is freed by reference counting, not at some later garbage collection.
        self._stages = []
        self._queues = {}
        return result

    def stats(self) -> Dict[str, Dict[str, int]]:
        stats: Dict[str, Dict[str, int]] = {}
        for stage in self._stages:
            if stage.node is None:
                continue
            queue = self._queues.get(stage.node.id)
            stats[stage.node.id] = {
                "received": stage.received,
                "dropped": queue.dropped if queue is not None else 0,
            }
        return stats


async def run_pipeline(
    manifest: Dict[str, Any],
    lines: Optional[List[str]] = None,
    *,
    on_error: Optional[str] = None,
    base_dir: str = ".",
) -> Tuple[List[Any], RunResult]:
    """Convenience: run a validated manifest over in-memory input lines; returns (outputs, result)."""
    outputs: List[Any] = []
    pipeline = Pipeline(
        normalize_manifest(manifest),
        outputs.append,
        input=MemoryLines(lines or []),
        on_error=on_error,
        base_dir=base_dir,
    )
    result = await pipeline.run()
    return outputs, result
