"""The `vllm` backend: vLLM's offline engine (`vllm.LLM`) on GPU, token-in/token-out, batched.

Same request contract as the training rollout (tir_rollout/agent_loop.py): string stops kept in the output
(include_stop_str_in_output), max_tokens = the stop machine's remaining budget, EOS ids as stop tokens.
Each segment gets its own seed, so a sample is reproducible whatever batch it lands in. vLLM is imported
only when this backend is built (it is the optional `gpu` extra); tests pass a fake engine and `dict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evaluation.backends import eos_token_ids
from evaluation.backends.batcher import SegmentBatcher
from tir_rollout.stop_machine import Segment, SegmentRequest


def sampling_kwargs(request: SegmentRequest, seed: int, temperature: float, top_p: float, eos: Sequence[int]) -> dict:
    """vllm.SamplingParams arguments for one segment (docs/reference.md §3.1: top_k -1, stops kept in the output)."""
    return {
        "temperature": temperature,
        "top_p": top_p,
        "top_k": -1,
        "max_tokens": request.max_tokens,
        "stop": list(request.stops),
        "stop_token_ids": list(eos),
        "include_stop_str_in_output": True,
        "seed": seed,
        "n": 1,
    }


NEEDS_VLLM = "eval.backend=vllm needs vLLM (pip install -e '.[gpu]' on a CUDA machine); on CPU use eval.backend=hf"


@dataclass(frozen=True)
class SegmentSampling:
    """How both vLLM backends sample every segment: `params_cls` (vllm.SamplingParams; `dict` in tests) built
    from `sampling_kwargs`, the contract the training rollout uses."""

    params_cls: Any
    temperature: float
    top_p: float
    eos_token_ids: tuple[int, ...]

    @classmethod
    def of(cls, params_cls: Any, temperature: float, top_p: float, tokenizer: Any) -> SegmentSampling:
        return cls(params_cls or dict, temperature, top_p, eos_token_ids(tokenizer))

    def params(self, request: SegmentRequest, seed: int) -> Any:
        return self.params_cls(**sampling_kwargs(request, seed, self.temperature, self.top_p, self.eos_token_ids))


class VLLMBackend:
    def __init__(
        self,
        model: str,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_batch: int = 256,
        seed: int = 42,
        max_model_len: int | None = None,
        engine_kwargs: dict | None = None,
        llm: Any = None,
        params_cls: Any = None,
    ):
        if llm is None:
            try:
                from vllm import LLM, SamplingParams
            except ImportError as err:
                raise ValueError(NEEDS_VLLM) from err
            kwargs = {"seed": seed, "enable_prefix_caching": True, **(engine_kwargs or {})}
            if max_model_len:
                kwargs["max_model_len"] = max_model_len
            llm, params_cls = LLM(model=model, **kwargs), SamplingParams
        self.llm, self.tokenizer = llm, llm.get_tokenizer()
        self.sampling = SegmentSampling.of(params_cls, temperature, top_p, self.tokenizer)
        self.eos_token_ids = self.sampling.eos_token_ids
        self.batcher = SegmentBatcher(self.generate_batch, max_batch)

    async def generate(self, request: SegmentRequest, seed: int) -> Segment:
        return await self.batcher.generate(request, seed)

    def generate_batch(self, batch: Sequence[tuple[SegmentRequest, int]]) -> list[Segment]:
        params = [self.sampling.params(r, s) for r, s in batch]
        prompts = [{"prompt_token_ids": list(r.prompt_ids)} for r, _ in batch]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [Segment(list(out.outputs[0].token_ids)) for out in outputs]

    def close(self) -> None:
        self.llm = None
