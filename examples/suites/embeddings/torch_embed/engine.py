"""The embedding engine and the dynamic batcher in front of it, the way sentence-transformers servers batch.

`Engine` owns the tokenizer and the torch model: `embed(texts)` tokenises, pads to the longest text, runs the
encoder under torch.inference_mode(), mean-pools over the attention mask and L2-normalises (what
SentenceTransformer.encode does for all-MiniLM-L6-v2). `DynamicBatcher` is what a FastAPI embedding server puts
in front of it: each request puts its texts on an asyncio queue; one task takes whatever is queued (up to
max_batch texts), runs `embed` on a single worker thread so that the event loop keeps accepting requests, and
resolves each text's future.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .model import BertEncoder, load_bert_from_onnx, mean_pool_normalized
from .tokenizer import WordPieceTokenizer


@dataclass(frozen=True)
class Embedded:
    """One text's vector (float32, L2-normalised) and how many tokens it was (specials included, after truncation)."""

    vector: np.ndarray
    tokens: int


class Engine:
    """Tokenizer + BERT encoder + pooling; call `embed` from one thread at a time."""

    def __init__(self, model_dir: Path, max_length: int) -> None:
        self.tokenizer = WordPieceTokenizer.from_file(model_dir / "tokenizer.json")
        self.model: BertEncoder = load_bert_from_onnx(model_dir / "model.onnx")
        self.max_length = min(max_length, self.model.shape.max_positions)

    def embed(self, texts: list[str]) -> list[Embedded]:
        ids = [self.tokenizer.encode(t, self.max_length).ids for t in texts]
        longest = max(len(row) for row in ids)
        input_ids = torch.full((len(ids), longest), self.tokenizer.pad_id, dtype=torch.long)
        mask = torch.zeros((len(ids), longest), dtype=torch.long)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
        with torch.inference_mode():
            vectors = mean_pool_normalized(self.model(input_ids, mask), mask).numpy()
        return [Embedded(vectors[i], len(row)) for i, row in enumerate(ids)]


class DynamicBatcher:
    """Coalesces the texts of concurrent requests into batches of at most max_batch for one worker thread."""

    def __init__(self, engine: Engine, executor: ThreadPoolExecutor, max_batch: int) -> None:
        self.engine = engine
        self.executor = executor
        self.max_batch = max_batch
        self.queue: asyncio.Queue[tuple[str, asyncio.Future[Embedded]]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def embed(self, texts: list[str]) -> list[Embedded]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Embedded]] = []
        for text in texts:
            future: asyncio.Future[Embedded] = loop.create_future()
            self.queue.put_nowait((text, future))
            futures.append(future)
        return list(await asyncio.gather(*futures))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                results = await loop.run_in_executor(self.executor, self.engine.embed, [t for t, _ in batch])
            except Exception as err:  # a failed batch fails its requests (500), not the server
                for _, future in batch:
                    if not future.done():
                        future.set_exception(err)
                continue
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)
