"""The `vllm` backend: vLLM's async engine (`AsyncLLM`), one request per stop-machine segment.

Each trajectory sends its segment the moment it is ready and gets it back the moment it is done, so the engine's
continuous batching keeps every slot busy: no trajectory waits for a batch's slowest one, and sandbox calls run
while other trajectories generate. This is how the training agent loop talks to vLLM (one request per segment),
with the same sampling contract (`vllm_engine.SegmentSampling`, shared with the offline backend). The synchronous
`vllm_offline` backend (vllm_engine.py) is kept for comparison (benchmarks/eval_engine_bench.py). vLLM is imported
only when the engine is built here; tests pass a fake engine.
"""

from __future__ import annotations

import itertools
from typing import Any

from evaluation.backends.vllm_engine import NEEDS_VLLM, SegmentSampling
from tir_rollout.stop_machine import Segment, SegmentRequest


def start_engine(model: str, seed: int, engine_kwargs: dict) -> tuple[Any, Any]:
    """(AsyncLLM, SamplingParams) for `model`, built as verl 0.9.1's vLLM server builds its engine."""
    try:
        from vllm import SamplingParams
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.usage.usage_lib import UsageContext
        from vllm.v1.engine.async_llm import AsyncLLM
    except ImportError as err:
        raise ValueError(NEEDS_VLLM) from err
    args = AsyncEngineArgs(model=model, seed=seed, enable_prefix_caching=True, **engine_kwargs)
    config = args.create_engine_config(usage_context=UsageContext.ENGINE_CONTEXT)
    return AsyncLLM.from_vllm_config(vllm_config=config, usage_context=UsageContext.ENGINE_CONTEXT), SamplingParams


class AsyncVLLMBackend:
    def __init__(
        self,
        model: str,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int = 42,
        engine_kwargs: dict | None = None,
        engine: Any = None,
        params_cls: Any = None,
        tokenizer: Any = None,
    ):
        if engine is None:
            engine, params_cls = start_engine(model, seed, engine_kwargs or {})
        if tokenizer is None:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(model)
        self.engine, self.tokenizer = engine, tokenizer
        self.sampling = SegmentSampling.of(params_cls, temperature, top_p, tokenizer)
        self.eos_token_ids = self.sampling.eos_token_ids
        self._ids = itertools.count()
        self.in_flight = self.peak_in_flight = 0  # requests inside the engine (occupancy, for logs and tests)

    async def generate(self, request: SegmentRequest, seed: int) -> Segment:
        params = self.sampling.params(request, seed)
        final = None
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            async for output in self.engine.generate(
                prompt={"prompt_token_ids": list(request.prompt_ids)},
                sampling_params=params,
                request_id=f"eval-{next(self._ids)}",
            ):
                final = output  # the last output holds the whole segment (default output_kind: cumulative)
        finally:
            self.in_flight -= 1
        if final is None or not final.outputs:  # aborted by the engine: the stop machine retries or gives up
            return Segment([], aborted=True)
        return Segment(list(final.outputs[0].token_ids))

    def close(self) -> None:
        shutdown = getattr(self.engine, "shutdown", None)
        if callable(shutdown):
            shutdown()
        self.engine = None
