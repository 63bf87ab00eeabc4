"""The vllm backend's request contract, against a fake offline engine (vLLM itself needs a GPU)."""

import asyncio
from dataclasses import dataclass

from evaluation.backends.vllm_engine import VLLMBackend
from tir_rollout.stop_machine import SegmentRequest


@dataclass
class _Completion:
    token_ids: list


@dataclass
class _Output:
    outputs: list


class FakeLLM:
    """Answers each prompt with its last prompt token + 1, three times; records what it was asked."""

    def __init__(self, tokenizer):
        self.tokenizer, self.calls = tokenizer, []

    def get_tokenizer(self):
        return self.tokenizer

    def generate(self, prompts, params, use_tqdm=True):
        self.calls.append((prompts, params, use_tqdm))
        return [_Output([_Completion([p["prompt_token_ids"][-1] + 1] * 3)]) for p in prompts]


def test_segments_become_one_batched_generate_with_the_training_sampling_contract(qwen2_tokenizer):
    engine = FakeLLM(qwen2_tokenizer)
    backend = VLLMBackend("unused", temperature=1.0, top_p=1.0, max_batch=8, llm=engine)
    requests = [SegmentRequest([10, 20 + i], ("```python", "</answer>"), 100 - i) for i in range(3)]

    async def go():
        return await asyncio.gather(*(backend.generate(r, seed) for r, seed in zip(requests, (7, 8, 9))))

    segments = asyncio.run(go())
    assert [list(s.token_ids) for s in segments] == [[21] * 3, [22] * 3, [23] * 3]
    ((prompts, params, use_tqdm),) = engine.calls  # one batch
    assert prompts == [{"prompt_token_ids": [10, 20 + i]} for i in range(3)] and use_tqdm is False
    first = params[0]
    assert first["stop"] == ["```python", "</answer>"] and first["include_stop_str_in_output"] is True
    assert (first["max_tokens"], first["seed"], first["temperature"], first["top_p"], first["top_k"]) == (
        100,
        7,
        1.0,
        1.0,
        -1,
    )
    assert qwen2_tokenizer.convert_tokens_to_ids("<|im_end|>") in first["stop_token_ids"]
    assert [p["seed"] for p in params] == [7, 8, 9]
