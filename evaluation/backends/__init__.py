"""Generation backends, one per file: `hf` (transformers generate, CPU or GPU), `vllm` (vLLM's async engine,
one request per segment, GPU) and `vllm_offline` (vLLM's offline `LLM.generate` in synchronous batches).

A backend turns stop-machine `SegmentRequest`s into `Segment`s; the stop machine decides everything else.
`hf` and `vllm_offline` batch the requests of concurrent trajectories through `SegmentBatcher`.
"""

from __future__ import annotations

from typing import Any, Protocol

from tir_rollout.stop_machine import Segment, SegmentRequest

BACKENDS = ("hf", "vllm", "vllm_offline")


class Backend(Protocol):
    tokenizer: Any  # HF-like: encode / decode, as the stop machine needs
    eos_token_ids: tuple[int, ...]

    async def generate(self, request: SegmentRequest, seed: int) -> Segment: ...

    def close(self) -> None: ...


def eos_token_ids(tokenizer: Any, extra: Any = None) -> tuple[int, ...]:
    """The tokenizer's EOS plus `<|im_end|>` and `<|endoftext|>` when the vocabulary has them (reference §7)."""
    ids: list[int] = []
    candidates = [tokenizer.eos_token_id, *(extra if isinstance(extra, (list, tuple)) else [extra])]
    vocab = tokenizer.get_vocab()
    candidates += [vocab.get(token) for token in ("<|im_end|>", "<|endoftext|>")]
    for token_id in candidates:
        if isinstance(token_id, int) and token_id not in ids:
            ids.append(token_id)
    return tuple(ids)
