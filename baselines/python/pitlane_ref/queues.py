"""What travels between node tasks: the bounded ``NodeQueue`` of each node input with its full-queue policy
(``block``, ``drop_oldest``, ``drop_newest``), and the control objects that share the queues with items (the
end-of-stream marker ``EOS``, error records under ``skip``, and input lines that are not JSON).
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict


class _Control:
    """Base of the non-item objects that travel through queues."""

    __slots__ = ()


class _EndOfStream(_Control):
    __slots__ = ()

    def __repr__(self) -> str:
        return "EOS"


EOS = _EndOfStream()


class ErrorRecord(_Control):
    """An item error travelling downstream under the ``skip`` policy; ``value`` is the ``{"$error": ...}`` object."""

    __slots__ = ("value",)

    def __init__(self, value: Dict[str, Any]):
        self.value = value


class BadLine(_Control):
    """An input line that is not JSON, on its way to the entry node whose item error it is."""

    __slots__ = ("text", "line", "reason")

    def __init__(self, text: str, line: int, reason: str = ""):
        self.text = text
        self.line = line
        self.reason = reason


class NodeQueue(asyncio.Queue):
    """A node's bounded input queue with its full-queue policy; counts the items it drops.

    ``drop_oldest`` never drops an end-of-stream marker. Must be created inside the running event loop.
    """

    def __init__(self, capacity: int, policy: str = "block"):
        super().__init__(capacity)
        self.policy = policy
        self.dropped = 0

    def drop_oldest(self) -> bool:
        queue = self._queue  # type: ignore[attr-defined]  # the deque asyncio.Queue._init creates
        for i, entry in enumerate(queue):
            if entry is not EOS:
                del queue[i]
                self.dropped += 1
                return True
        return False


async def _offer(queue: NodeQueue, value: Any) -> None:
    """Put ``value`` into a full queue according to its policy."""
    policy = queue.policy
    if policy == "drop_newest" and value is not EOS:
        queue.dropped += 1
    elif policy == "drop_oldest" and value is not EOS and queue.drop_oldest():
        queue.put_nowait(value)
    else:
        await queue.put(value)
