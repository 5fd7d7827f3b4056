"""Audio frames as a Python node sees them: pitlane's own module, ``src/python/worker/pitlane_audio.py`` (its
CPython worker's), loaded from this repository, so that the same node code runs unchanged in the reference and the
frame API cannot drift from pitlane's.

A frame item reaches ``process()`` as that module's ``AudioFrame`` (importable in node code as
``from pitlane import AudioFrame``: the module is registered under the name ``pitlane``, as pitlane's worker
does): ``samples`` a read-only numpy float32 array, shape (frames,) for mono and (frames, channels) for more;
``sample_rate``, ``channels``, ``stream_id``, ``timestamp_us`` (integral numbers as ``int``), ``metadata``. A node
returns audio as an ``AudioFrame`` or RemoteMedia's ``(audio_data, sample_rate)`` tuple; the module's ``to_wire``
checks it and gives its little-endian f32 bytes, its ``AudioValueError`` is the item's error. Output frames take
the input frame's arrival time, and its stream id when they have none (python_node.py), as in pitlane.

Loading the module does not import numpy: it does, when a frame crosses.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

from .node import ItemError

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULE_FILE = os.path.join(_REPO_ROOT, "src", "python", "worker", "pitlane_audio.py")


def _load() -> Any:
    module = sys.modules.get("pitlane_audio")
    if module is None:
        spec = importlib.util.spec_from_file_location("pitlane_audio", MODULE_FILE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["pitlane_audio"] = module
        spec.loader.exec_module(module)
    return module


pitlane_audio = _load()
AudioFrame = pitlane_audio.AudioFrame
audio_of = pitlane_audio.audio_of


def _integral(value: Any) -> Any:
    if type(value) is float and value.is_integer() and abs(value) <= 2.0 ** 53:
        return int(value)
    return value


def node_view(frame: Any, metadata: Any) -> Any:
    """The frame a Python node receives for a pipeline frame (``metadata`` already converted): a read-only view."""
    data = memoryview(frame.samples).cast("B").toreadonly()
    return pitlane_audio.from_wire(data, _integral(frame.sample_rate), frame.channels, frame.stream_id,
                                   _integral(frame.timestamp_us), metadata)


def from_node(frame: Any, convert_metadata: Any) -> Any:
    """A node's output frame as a pipeline frame (samples copied); the module's checks are the item's error."""
    import numpy as np

    from .audio import AudioFrame as PipelineFrame

    try:
        data, _, (rate, channels, stream_id, ts) = pitlane_audio.to_wire(frame)  # plain numbers, checked
    except pitlane_audio.AudioValueError as exc:
        raise ItemError(str(exc)) from None
    samples = np.frombuffer(bytes(data), dtype="<f4").astype(np.float32)
    metadata = None if frame.metadata is None else convert_metadata(frame.metadata)
    return PipelineFrame(samples, rate, channels, stream_id, None if ts is None else float(ts), None, metadata)
