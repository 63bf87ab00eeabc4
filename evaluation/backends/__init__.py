"""Generation backends, one per file: `hf` (transformers generate, CPU or GPU), `vllm` (vLLM's async engine,
one request per segment, GPU) and `vllm_offline` (vLLM's offline `LLM.generate` in synchronous batches).

A backend turns stop-machine `SegmentRequest`s into `Segment`s; the stop machine decides everything else.
`hf` and `vllm_offline` batch the requests of concurrent trajectories through `SegmentBatcher`.
"""

from __future__ import annotations

from typing import Any, Protocol

from tir_rollout.stop_machine import Segment, SegmentRequest, eos_token_ids

__all__ = ["BACKENDS", "Backend", "eos_token_ids"]

BACKENDS = ("hf", "vllm", "vllm_offline")


class Backend(Protocol):
    tokenizer: Any  # HF-like: encode / decode, as the stop machine needs
    eos_token_ids: tuple[int, ...]

    async def generate(self, request: SegmentRequest, seed: int) -> Segment: ...

    def close(self) -> None: ...
