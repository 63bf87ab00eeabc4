"""Collects the segment requests of concurrent trajectories into batches for a synchronous batch generator.

One batch is in flight at a time, in a worker thread, so code executions and grading go on meanwhile; the
requests that arrive during a batch form the next one. Not continuous batching: a batch waits for its
longest segment. A failure of the generator fails exactly the requests of that batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from tir_rollout.stop_machine import Segment, SegmentRequest

BatchFn = Callable[[Sequence[tuple[SegmentRequest, int]]], list[Segment]]


class SegmentBatcher:
    def __init__(self, run_batch: BatchFn, max_batch: int, settle_yields: int = 4):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1 (got {max_batch})")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.settle_yields = settle_yields  # event-loop turns to wait for other ready trajectories
        self._pending: list[tuple[SegmentRequest, int, asyncio.Future]] = []
        self._task: asyncio.Task | None = None
        self.batch_sizes: list[int] = []

    async def generate(self, request: SegmentRequest, seed: int) -> Segment:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((request, seed, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            for _ in range(self.settle_yields):
                await asyncio.sleep(0)
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            self.batch_sizes.append(len(batch))
            try:
                segments = await asyncio.to_thread(self.run_batch, [(r, s) for r, s, _ in batch])
                if len(segments) != len(batch):
                    raise RuntimeError(f"batch generator returned {len(segments)} segments for {len(batch)} requests")
            except Exception as exc:  # noqa: BLE001 - handed to the waiting trajectories, which re-raise it
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, _, future), segment in zip(batch, segments):
                if not future.done():
                    future.set_result(segment)
