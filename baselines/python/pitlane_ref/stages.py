"""The asyncio tasks of a running pipeline, one per node: ``NodeRunner`` (get, process, emit; flush and forward
end of stream), ``SourceRunner`` (a DataSource's items, range, file or the input stream) and ``InputFeeder`` (the
input stream for entry nodes), with what they share in ``_Stage``: output delivery, item errors, line parsing.
"""

from __future__ import annotations

import asyncio
import errno
import types
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Dict, Iterable, List, Optional

from .js_json import TooDeep, parse_item
from .node import DROP, ItemError, Node, _Many
from .nodes import DataSourceNode
from .queues import EOS, BadLine, ErrorRecord, NodeQueue, _Control, _offer

if TYPE_CHECKING:
    from .line_input import LineInput
    from .pipeline import Pipeline


class _Stage:
    """What every task has in common: where its outputs go, item accounting, error handling."""

    def __init__(self, pipeline: "Pipeline", node: Optional[Node], targets: List[NodeQueue], is_output: bool):
        self.pipeline = pipeline
        self.node = node
        self.targets = targets
        self.is_output = is_output
        self.received = 0  # items this stage's node received (error records are not items)
        self.stopped = False  # failed under policy 'fail': takes no more input
        self.task: Optional[asyncio.Task] = None
        self.lines: Optional[LineInput] = None  # the input this stage reads, if any
        self.wait_cancelled = False  # an interrupt cancelled our wait for input

    def cancel_input_wait(self) -> None:
        """Interrupt: if this stage is waiting for input, stop waiting (it then ends its stream normally)."""
        if self.lines is not None and self.lines.waiting and self.task is not None:
            self.wait_cancelled = True
            self.task.cancel()

    async def run_reader(self, produce: Callable[[], Any]) -> None:
        """Run ``produce()``, then forward end of stream (also when an interrupt cancelled the input wait)."""
        try:
            await produce()
        except asyncio.CancelledError:
            if not self.wait_cancelled:
                raise
            task = asyncio.current_task()
            if task is not None and hasattr(task, "uncancel"):  # Python >= 3.11
                task.uncancel()
        await self.close()

    async def emit(self, value: Any) -> None:
        """Deliver an output to every successor (in connection order) and to the pipeline output.

        (The per-item loops of the runners inline this, to spare a coroutine object per item.)"""
        if self.is_output:
            self.pipeline.output(value)
        for queue in self.targets:
            try:
                queue.put_nowait(value)
            except asyncio.QueueFull:
                await _offer(queue, value)

    async def pass_error(self, record: ErrorRecord) -> None:
        """An error record goes along the first outgoing connection only; at a terminal node it is output."""
        if self.targets:
            queue = self.targets[0]
            try:
                queue.put_nowait(record)
            except asyncio.QueueFull:
                await _offer(queue, record)
        else:
            self.pipeline.output(record.value)

    async def item_error(self, index: Optional[int], message: str, item: Any = DROP,
                         extra: Optional[Dict[str, Any]] = None) -> None:
        node = self.node
        assert node is not None
        error: Dict[str, Any] = {
            "node": node.id,
            "node_type": node.type_name,
            "item_index": index,
            "message": message,
        }
        if item is not DROP:
            error["item"] = item
        if extra:
            error.update(extra)
        record = {"$error": error}
        if self.pipeline.on_error == "skip":
            await self.pass_error(ErrorRecord(record))
        else:
            self.stopped = True
            self.pipeline.fail(record)

    async def close(self) -> None:
        """Forward end of stream to every successor (never dropped)."""
        for queue in self.targets:
            try:
                queue.put_nowait(EOS)
            except asyncio.QueueFull:
                await _offer(queue, EOS)

    async def emit_lines(self, source: "LineInput", to_entry_nodes: bool) -> None:
        """Parse input lines; items are emitted. A bad line is this stage's node's item error, or, when feeding
        entry nodes, a ``BadLine`` sent on to them. An audio input (``source.is_audio``) emits its frames."""
        if source.is_audio:
            await self._emit_frames(source)
            return
        batches = source.batches()
        try:
            await self._emit_batches(batches, to_entry_nodes)
        finally:
            await batches.aclose()  # type: ignore[attr-defined]  # close the input now, also on an early stop

    async def _emit_frames(self, source: Any) -> None:
        """Emit the frames of an ``AudioInput``; bad audio met on the way (``AudioInputError``) stops the run and
        is the run's input error (exit 2), as in pitlane."""
        from .audio import AudioInputError

        pipeline = self.pipeline
        output = pipeline.output if self.is_output else None
        targets = self.targets
        frames = source.frames()
        try:
            async for frame in frames:
                if pipeline.stopping:
                    return
                self.received += 1
                if output is not None:
                    output(frame)
                for queue in targets:
                    try:
                        queue.put_nowait(frame)
                    except asyncio.QueueFull:
                        await _offer(queue, frame)
        except AudioInputError as exc:
            pipeline.input_error = exc
            pipeline.stop()
        finally:
            await frames.aclose()

    async def _emit_batches(self, batches: AsyncIterator[List[str]], to_entry_nodes: bool) -> None:
        pipeline = self.pipeline
        parse = parse_item
        output = pipeline.output if self.is_output else None
        targets = self.targets
        raw_text = getattr(self.node, "raw_text_lines", False) and not to_entry_nodes
        line_no = 0
        async for lines in batches:
            for line in lines:
                line_no += 1
                if pipeline.stopping:
                    return
                try:
                    value = parse(line)
                except (ValueError, RecursionError) as exc:
                    text = line[:-1] if line.endswith("\r") else line
                    if not text.strip(" \t\r"):
                        continue  # blank line: not an item
                    if raw_text and not isinstance(exc, TooDeep):
                        self.received += 1
                        await self.emit(text)  # TextInput: a line that is not JSON is its text
                        continue
                    reason = f": {TooDeep.reason}" if isinstance(exc, TooDeep) else ""
                    message = f"invalid JSON on input line {line_no}{reason}"
                    if to_entry_nodes:
                        await self.emit(BadLine(text, line_no, reason))
                    else:
                        index = self.received
                        self.received = index + 1
                        await self.item_error(index, message, text)
                        if self.stopped:
                            return
                    continue
                self.received += 1
                if output is not None:
                    output(value)
                for queue in targets:
                    try:
                        queue.put_nowait(value)
                    except asyncio.QueueFull:
                        await _offer(queue, value)


class NodeRunner(_Stage):
    """The task of a node with an input queue: get, process, emit; flush and forward EOS at the end."""

    def __init__(self, pipeline: "Pipeline", node: Node, queue: NodeQueue, targets: List[NodeQueue], is_output: bool):
        super().__init__(pipeline, node, targets, is_output)
        self.queue = queue
        self.predecessors = 0

    async def run(self) -> None:
        node = self.node
        assert node is not None
        queue = self.queue
        process = node.process
        output = self.pipeline.output if self.is_output else None
        targets = self.targets
        pending_eos = self.predecessors
        generator_type = types.GeneratorType
        coroutine_type = types.CoroutineType
        node.enter_task()
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                item = await queue.get()
            if isinstance(item, _Control):
                if item is EOS:
                    pending_eos -= 1
                    if pending_eos == 0:
                        break
                elif type(item) is ErrorRecord:
                    await self.pass_error(item)
                elif not self.stopped:  # BadLine
                    index = self.received
                    self.received = index + 1
                    await self.item_error(index, f"invalid JSON on input line {item.line}{item.reason}", item.text)
                continue
            if self.stopped:
                continue  # failed: discard, but keep consuming so no upstream put blocks forever
            index = self.received
            self.received = index + 1
            try:
                out = process(item)
                out_type = type(out)
                if out_type is generator_type:
                    out = _Many(out)  # run the generator here, so its errors are this item's errors
                elif out_type is coroutine_type:
                    out = await out  # an async process (Python nodes)
            except ItemError as exc:
                await self.item_error(index, str(exc), item, exc.extra)
                continue
            except Exception as exc:  # a bug in a node is still only that item's error
                await self.item_error(index, f"{type(exc).__name__}: {exc}", item)
                continue
            if out is DROP:
                continue
            if type(out) is _Many:
                for value in out:
                    await self.emit(value)
                continue
            if output is not None:
                output(out)
            for target in targets:
                try:
                    target.put_nowait(out)
                except asyncio.QueueFull:
                    await _offer(target, out)
        if not self.stopped and not self.pipeline.failed:
            await self.run_flush()
        await self.close()

    async def run_flush(self) -> None:
        node = self.node
        assert node is not None
        try:
            outputs = node.flush()
            if type(outputs) is types.CoroutineType:
                outputs = await outputs
            outputs = list(outputs) if outputs is not None else []
        except Exception as exc:
            if isinstance(exc, ItemError):
                await self.item_error(None, str(exc), DROP, exc.extra)
            else:
                await self.item_error(None, f"{type(exc).__name__}: {exc}")
            return
        for value in outputs:
            await self.emit(value)


class SourceRunner(_Stage):
    """The task of a DataSource: iterates its items (``items``/``range``), its ``file`` or the input stream."""

    def __init__(self, pipeline: "Pipeline", node: DataSourceNode, targets: List[NodeQueue], is_output: bool,
                 lines: Optional["LineInput"] = None):
        super().__init__(pipeline, node, targets, is_output)
        self.lines = lines

    async def run(self) -> None:
        await self.run_reader(self.produce)

    async def produce(self) -> None:
        node = self.node
        assert isinstance(node, DataSourceNode)
        pipeline = self.pipeline
        if self.lines is not None:
            try:
                await self.emit_lines(self.lines, to_entry_nodes=False)
            except OSError as exc:  # a 'file' that cannot be read
                name = node.params.get("file", "<input>")
                reason = {errno.ENOENT: "no such file", errno.EISDIR: "is a folder"}.get(exc.errno, exc.strerror or str(exc))
                await self.item_error(None, f"cannot read file '{name}': {reason}")
            return
        params = node.params
        items: Iterable[Any] = params["items"] if "items" in params else node.range_items()
        output = pipeline.output if self.is_output else None
        targets = self.targets
        for item in items:
            if pipeline.stopping:
                return
            if output is not None:
                output(item)
            for queue in targets:
                try:
                    queue.put_nowait(item)
                except asyncio.QueueFull:
                    await _offer(queue, item)


class InputFeeder(_Stage):
    """Reads the input stream for entry nodes (no DataSource) or for several parameterless DataSources: every
    such node receives every input item."""

    def __init__(self, pipeline: "Pipeline", targets: List[NodeQueue], lines: "LineInput"):
        super().__init__(pipeline, None, targets, False)
        self.lines = lines

    async def run(self) -> None:
        await self.run_reader(self.produce)

    async def produce(self) -> None:
        assert self.lines is not None
        await self.emit_lines(self.lines, to_entry_nodes=True)
