"""The BERT encoder as torch.nn modules, its weights read from the initializers of the ONNX file pitlane serves.

This is the model a Python team runs (Hugging Face's BertModel, written out): word + position + token-type
embeddings and a LayerNorm, then layers of self-attention and a GELU feed-forward block, each closed by a residual
add and a LayerNorm. The shape (layers, hidden size, heads, feed-forward size), the LayerNorm epsilon and the GELU
form (Erf: exact; Tanh: the approximation) are read from the ONNX graph, and the weights from its initializers by
the names scripts/build-models.mjs gives them (Hugging Face's parameter names); a missing one is an error naming
it. ONNX MatMul weights are [in, out]; nn.Linear keeps [out, in], so they are transposed on load.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn


class ModelFileError(ValueError):
    """The ONNX file lacks something the encoder needs (an initializer, a shape); the message names it."""


@dataclass(frozen=True)
class BertShape:
    """The encoder's dimensions and numeric settings, as read from the graph."""

    vocab_size: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    gelu: str  # 'none' (exact, erf) or 'tanh'


class BertSelfAttention(nn.Module):
    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.heads = shape.heads
        self.head_dim = shape.hidden // shape.heads
        self.query = nn.Linear(shape.hidden, shape.hidden)
        self.key = nn.Linear(shape.hidden, shape.hidden)
        self.value = nn.Linear(shape.hidden, shape.hidden)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.query(hidden)), self._split(self.key(hidden)), self._split(self.value(hidden))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask_bias
        context = torch.matmul(scores.softmax(dim=-1), v).transpose(1, 2)
        return context.reshape(hidden.shape)


class BertLayer(nn.Module):
    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.attention = BertSelfAttention(shape)
        self.attention_output = nn.Linear(shape.hidden, shape.hidden)
        self.attention_norm = nn.LayerNorm(shape.hidden, eps=shape.layer_norm_eps)
        self.intermediate = nn.Linear(shape.hidden, shape.intermediate)
        self.output = nn.Linear(shape.intermediate, shape.hidden)
        self.output_norm = nn.LayerNorm(shape.hidden, eps=shape.layer_norm_eps)
        self.gelu = shape.gelu

    def forward(self, hidden: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        hidden = self.attention_norm(self.attention_output(self.attention(hidden, mask_bias)) + hidden)
        inner = nn.functional.gelu(self.intermediate(hidden), approximate=self.gelu)
        return self.output_norm(self.output(inner) + hidden)


class BertEncoder(nn.Module):
    """BertModel's forward up to last_hidden_state."""

    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.shape = shape
        self.word_embeddings = nn.Embedding(shape.vocab_size, shape.hidden)
        self.position_embeddings = nn.Embedding(shape.max_positions, shape.hidden)
        self.token_type_embeddings = nn.Embedding(shape.type_vocab_size, shape.hidden)
        self.embeddings_norm = nn.LayerNorm(shape.hidden, eps=shape.layer_norm_eps)
        self.layers = nn.ModuleList(BertLayer(shape) for _ in range(shape.layers))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        hidden = self.word_embeddings(input_ids) + self.position_embeddings(positions)
        hidden = self.embeddings_norm(hidden + self.token_type_embeddings(torch.zeros_like(input_ids)))
        # The graph's additive bias: 0 where attended, -10000 on padding, shaped [batch, 1, 1, seq].
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * -10000.0
        for layer in self.layers:
            hidden = layer(hidden, mask_bias)
        return hidden


def mean_pool_normalized(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """sentence-transformers' mean pooling over the real tokens, then L2 normalisation."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1)
    pooled = summed / mask.sum(dim=1).clamp(min=1e-9)
    return nn.functional.normalize(pooled, p=2.0, dim=1)


def _read_shape(graph: onnx.GraphProto, weights: dict[str, np.ndarray]) -> BertShape:
    def need(name: str) -> np.ndarray:
        if name not in weights:
            raise ModelFileError(f"initializer {name} is missing")
        return weights[name]

    layers = {int(m.group(1)) for n in weights if (m := re.match(r"encoder\.layer\.(\d+)\.", n))}
    if not layers:
        raise ModelFileError("no initializer named encoder.layer.<n>.*: not a BERT encoder as pitlane builds it")
    heads = None
    eps = None
    ops = {node.op_type for node in graph.node}
    for node in graph.node:
        if node.op_type == "Reshape" and len(node.input) == 2 and node.input[1] in weights:
            target = weights[node.input[1]]
            if target.shape == (4,):  # [batch, seq, heads, head_dim] when splitting into heads
                heads = int(target[2])
        if node.op_type == "LayerNormalization" and eps is None:
            eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
    if heads is None:
        raise ModelFileError("no Reshape to [batch, seq, heads, head_dim] in the graph: cannot tell the heads")
    if eps is None:
        raise ModelFileError("no LayerNormalization node in the graph: cannot tell its epsilon")
    if "Erf" in ops:
        gelu = "none"
    elif "Tanh" in ops:
        gelu = "tanh"
    else:
        raise ModelFileError("the graph has neither Erf nor Tanh: cannot tell its GELU")
    word = need("embeddings.word_embeddings.weight")
    return BertShape(
        vocab_size=word.shape[0],
        hidden=word.shape[1],
        layers=max(layers) + 1,
        heads=heads,
        intermediate=need("encoder.layer.0.intermediate.dense.weight").shape[1],
        max_positions=need("embeddings.position_embeddings.weight").shape[0],
        type_vocab_size=need("embeddings.token_type_embeddings.weight").shape[0],
        layer_norm_eps=float(eps),
        gelu=gelu,
    )


def _parameter_sources(shape: BertShape) -> dict[str, tuple[str, bool]]:
    """Module parameter name → (ONNX initializer name, transpose?)."""
    sources: dict[str, tuple[str, bool]] = {}
    for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        sources[f"{name}.weight"] = (f"embeddings.{name}.weight", False)
    sources["embeddings_norm.weight"] = ("embeddings.LayerNorm.weight", False)
    sources["embeddings_norm.bias"] = ("embeddings.LayerNorm.bias", False)
    for i in range(shape.layers):
        p = f"encoder.layer.{i}"
        linears = {
            "attention.query": "attention.self.query",
            "attention.key": "attention.self.key",
            "attention.value": "attention.self.value",
            "attention_output": "attention.output.dense",
            "intermediate": "intermediate.dense",
            "output": "output.dense",
        }
        for module, onnx_name in linears.items():
            sources[f"layers.{i}.{module}.weight"] = (f"{p}.{onnx_name}.weight", True)
            sources[f"layers.{i}.{module}.bias"] = (f"{p}.{onnx_name}.bias", False)
        norms = (("attention_norm", "attention.output.LayerNorm"), ("output_norm", "output.LayerNorm"))
        for module, onnx_name in norms:
            sources[f"layers.{i}.{module}.weight"] = (f"{p}.{onnx_name}.weight", False)
            sources[f"layers.{i}.{module}.bias"] = (f"{p}.{onnx_name}.bias", False)
    return sources


def load_bert_from_onnx(path: Path) -> BertEncoder:
    """Builds the encoder from an ONNX file's graph and initializers; ModelFileError names what is missing."""
    try:
        model = onnx.load(str(path))
    except Exception as err:  # onnx raises OSError, DecodeError or its own errors for a file it cannot read
        raise ModelFileError(f"{path}: cannot read the ONNX file: {err}") from err
    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    try:
        shape = _read_shape(model.graph, weights)
        encoder = BertEncoder(shape)
        state: dict[str, torch.Tensor] = {}
        for param, (source, transpose) in _parameter_sources(shape).items():
            if source not in weights:
                raise ModelFileError(f"initializer {source} is missing (needed for {param})")
            array = weights[source].T if transpose else weights[source]
            state[param] = torch.from_numpy(np.array(array, dtype=np.float32, copy=True))
        encoder.load_state_dict(state, strict=True)
    except ModelFileError as err:
        raise ModelFileError(f"{path}: {err}") from err
    return encoder.eval()
