"""The registry of node types: each ``node_type`` a manifest may name (``Calculator`` or RemoteMedia's
``CalculatorNode``, ``python`` or ``PythonNode``) mapped to its node class.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

from .nodes import (
    AccumulatorNode,
    BufferNode,
    CalculatorNode,
    DataSinkNode,
    DataSourceNode,
    FilterNode,
    PassThroughNode,
    TextTransformNode,
)
from .audio_nodes import (
    AudioBufferAccumulatorNode,
    AudioBufferNode,
    AudioChunkerNode,
    AudioResampleNode,
    AudioTransformNode,
    FastResampleNode,
)
from .event_correlator import EventCorrelatorNode
from .health_emitter import HealthEmitterNode
from .health_nodes import AudioLevelNode, ChannelBalanceNode, ClippingDetectorNode, SilenceDetectorNode
from .python_node import PocketSphinxSTTNode, PythonNode
from .text_nodes import SrtOutputNode, TextCollectorNode, TextInputNode
from .vad_nodes import FastVADNode, SileroVADNode, WhisperSTTNode


NODE_CLASSES: Tuple[type, ...] = (
    DataSourceNode,
    DataSinkNode,
    PassThroughNode,
    CalculatorNode,
    TextTransformNode,
    BufferNode,
    FilterNode,
    AccumulatorNode,
    # audio: stream health
    AudioLevelNode,
    SilenceDetectorNode,
    ClippingDetectorNode,
    ChannelBalanceNode,
    HealthEmitterNode,
    EventCorrelatorNode,
    # text (RemoteMedia's CLI and sentence collector)
    TextCollectorNode,
    TextInputNode,
    SrtOutputNode,
    # audio: voice activity
    FastVADNode,
    # audio: chunking and utterances
    AudioChunkerNode,
    AudioBufferNode,
    AudioBufferAccumulatorNode,
    # audio: resampling and channel mixing (the reference's own resampler)
    FastResampleNode,
    AudioResampleNode,
    AudioTransformNode,
    # audio: speech recognition (pitlane's PocketSphinx class, run in this interpreter)
    PocketSphinxSTTNode,
    # audio: pitlane's ONNX nodes, refused by name at validation (no ONNX Runtime for Python here)
    SileroVADNode,
    WhisperSTTNode,
)

NODE_TYPES: Dict[str, Any] = {}
"""Type name or RemoteMedia class name (``Calculator`` / ``CalculatorNode``) -> node class."""
for _cls in NODE_CLASSES:
    NODE_TYPES[_cls.type_name] = _cls  # type: ignore[attr-defined]
    # Aliases: the class's ALIASES (pitlane's, for the audio nodes), else its name + "Node" (RemoteMedia's).
    for _alias in getattr(_cls, "ALIASES", (_cls.type_name + "Node",)):  # type: ignore[attr-defined]
        NODE_TYPES[_alias] = _cls
del _cls, _alias
NODE_TYPES["python"] = PythonNode
NODE_TYPES["PythonNode"] = PythonNode
