"""ZeroTIRAgentLoop against the scripted fake server (verl's generate contract) and the real Qwen2 tokenizer."""

from __future__ import annotations

import asyncio
import dataclasses
import os

import pytest
from omegaconf import OmegaConf

from tests.fakes import PAPER_ROLLOUT, FakeExecutor, FakeServer, build_agent_loop
from tir_rollout import agent_loop
from tir_rollout.sandbox import parse_config
from tir_rollout.stop_machine import OUTPUT_PREFIX, OUTPUT_SUFFIX, SANDBOX_ERROR_TEXT, eos_token_ids

PROMPT = "A conversation between User and Assistant.\nUser: What is 6*7?\nAssistant: <think>"
SCRIPT = "Compute it.\n```python\nprint(6*7)\n```\nSo it is 42.</think> <answer>\\boxed{42}</answer>"
EXTRA_KEYS = {
    "tir_code_calls",
    "tir_code_errors",
    "tir_code_timeouts",
    "tir_sandbox_errors",
    "tir_outputs_truncated",
    "tir_code_blocks",
    "tir_finish_reason",
    "tir_turns",
    "tir_generated_tokens",
    "tir_response_tokens",
    "turn_scores",
    "tool_rewards",
    "global_steps",  # from the server (LLMServerClient); V1 needs min/max for its staleness metrics
    "min_global_steps",
    "max_global_steps",
}
SAMPLING = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0, "logprobs": False}


def make_config(response_length=256, executor_factory="tests.fakes.make_fake_executor", **rollout):
    return OmegaConf.create(
        {
            "actor_rollout_ref": {
                "rollout": {"prompt_length": 128, "response_length": response_length, "skip_tokenizer_init": False},
                "model": {"path": "unused"},
            },
            "data": {"apply_chat_template_kwargs": {}},
            "tir": {
                "rollout": {**PAPER_ROLLOUT, **rollout},
                "executor_factory": executor_factory,
            },
        }
    )


def make_loop(tokenizer, scripts, config=None, executor=None):
    config = config or make_config()
    server = FakeServer(tokenizer, scripts)
    loop = build_agent_loop(config, server, tokenizer)
    loop.executor = executor or FakeExecutor()
    return loop, server


def raw_prompt(text=PROMPT):
    return [{"role": "user", "content": text}]


async def test_one_call_output_fields(tokenizer):
    loop, server = make_loop(tokenizer, [SCRIPT])
    out = await loop.run(dict(SAMPLING), raw_prompt=raw_prompt(), priority=3)
    assert out.prompt_ids == tokenizer.encode(PROMPT, add_special_tokens=False)  # verbatim, no chat template
    assert set(out.extra_fields) == EXTRA_KEYS
    assert out.extra_fields["tir_code_calls"] == 1 and out.extra_fields["tir_finish_reason"] == "stop"
    assert out.extra_fields["tir_turns"] == 3 and out.num_turns == 1 + 3 + 1
    assert out.extra_fields["tir_generated_tokens"] == sum(out.response_mask)
    assert out.extra_fields["tir_response_tokens"] == len(out.response_ids)
    assert out.response_logprobs is None
    text = tokenizer.decode(out.response_ids)
    # the closing-fence token "`\n" carries the newline; the block follows it, then the model resumes
    block = OUTPUT_PREFIX + "42\n" + OUTPUT_SUFFIX
    assert (
        text
        == "Compute it.\n```python\nprint(6*7)\n```\n" + block + "So it is 42.</think> <answer>\\boxed{42}</answer>"
    )
    masked = tokenizer.decode([t for t, m in zip(out.response_ids, out.response_mask, strict=True) if m == 0])
    assert masked == OUTPUT_PREFIX + "42\n" + OUTPUT_SUFFIX
    assert out.response_mask[-1] == 1
    assert {c["request_id"] for c in server.calls} == {server.calls[0]["request_id"]}  # one sticky session


class _WeightSyncServer(FakeServer):
    """Weights move to the next version between every two requests (partial rollout across updates)."""

    def generate_sync(self, request_id, prompt_ids, sampling_params):
        out = super().generate_sync(request_id, prompt_ids, sampling_params)
        self.global_steps += 1
        return out


async def test_global_steps_span_the_trajectory(tokenizer):
    loop, _ = make_loop(tokenizer, [SCRIPT])
    loop.server_manager = _WeightSyncServer(tokenizer, [SCRIPT])
    out = await loop.run(dict(SAMPLING), raw_prompt=raw_prompt())
    assert (out.extra_fields["min_global_steps"], out.extra_fields["max_global_steps"]) == (1, 3)


async def test_sampling_params_follow_the_generate_contract(tokenizer):
    loop, server = make_loop(tokenizer, [SCRIPT])
    out = await loop.run(dict(SAMPLING), raw_prompt=raw_prompt())
    first, second, third = server.calls
    for call in server.calls:
        assert call["include_stop_str_in_output"] is True
        assert call["temperature"] == 1.0 and call["top_k"] == -1  # the worker's params pass through
        assert call["max_tokens"] == 256 - (len(call["prompt_ids"]) - len(out.prompt_ids))
    assert "```python" in first["stop"] and "```" in second["stop"] and "```python" in third["stop"]
    # training ends a trajectory on the same ids as evaluation: Qwen2's <|endoftext|> and <|im_end|>
    vocab = tokenizer.get_vocab()
    assert {vocab["<|endoftext|>"], vocab["<|im_end|>"]} <= set(first["stop_token_ids"])
    assert tuple(first["stop_token_ids"]) == eos_token_ids(tokenizer) == loop.machine_config.eos_token_ids
    # token in, token out: the third prompt is exactly prompt + response ids so far (FakeServer checks prefixes)
    assert third["prompt_ids"] == out.prompt_ids + out.response_ids[: len(third["prompt_ids"]) - len(out.prompt_ids)]


async def test_the_chat_template_follows_the_template(tokenizer):
    loop, _ = make_loop(tokenizer, [SCRIPT], make_config(template="chat"))
    out = await loop.run(dict(SAMPLING), raw_prompt=raw_prompt("What is 6*7?"))
    assert tokenizer.decode(out.prompt_ids).startswith("<|im_start|>")
    raw, _ = make_loop(tokenizer, [SCRIPT], make_config(template="two_style"))
    out = await raw.run(dict(SAMPLING), raw_prompt=raw_prompt("Problem: What is 6*7?\nSolution:"))
    assert tokenizer.decode(out.prompt_ids) == "Problem: What is 6*7?\nSolution:"  # raw text, verbatim


def test_a_bad_rollout_value_names_its_key(tokenizer):
    with pytest.raises(ValueError, match=r"^tir\.rollout\.max_output_tokens must be an integer >= 1"):
        make_loop(tokenizer, [SCRIPT], make_config(max_output_tokens=0))


async def test_raw_prompt_must_be_one_message(tokenizer):
    loop, _ = make_loop(tokenizer, [SCRIPT])
    with pytest.raises(ValueError, match="one message"):
        await loop.run(dict(SAMPLING), raw_prompt=raw_prompt() * 2)


async def test_logprobs_when_requested(tokenizer):
    loop, _ = make_loop(tokenizer, [SCRIPT])
    out = await loop.run({**SAMPLING, "logprobs": True}, raw_prompt=raw_prompt())
    assert len(out.response_logprobs) == len(out.response_ids)
    assert all((lp == 0.0) == (m == 0) for lp, m in zip(out.response_logprobs, out.response_mask, strict=True))


async def test_sandbox_exception_is_a_sandbox_error_output_not_a_failed_rollout(tokenizer):
    loop, _ = make_loop(tokenizer, [SCRIPT], executor=FakeExecutor(raise_on="print"))
    out = await loop.run(dict(SAMPLING), raw_prompt=raw_prompt())
    assert out.extra_fields["tir_finish_reason"] == "stop"
    assert (out.extra_fields["tir_code_errors"], out.extra_fields["tir_sandbox_errors"]) == (0, 1)
    assert SANDBOX_ERROR_TEXT in tokenizer.decode(out.response_ids)


async def test_timers_separate_generation_from_tool_time(tokenizer):
    loop, _ = make_loop(tokenizer, [SCRIPT], executor=FakeExecutor(delay_s=0.2))
    out = await loop.run(dict(SAMPLING), raw_prompt=raw_prompt())
    assert out.metrics.tool_calls >= 0.2
    assert out.metrics.generate_sequences < out.metrics.tool_calls  # the fake server answers at once


class _ConcurrencyProbe(FakeExecutor):
    in_flight: int = 0
    peak: int = 0

    async def run_async(self, code, timeout=None):
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        return self.run(code, timeout)


async def test_trajectories_overlap_in_the_sandbox(tokenizer):
    probe = _ConcurrencyProbe()
    loop, _ = make_loop(tokenizer, [SCRIPT], executor=probe)
    outs = await asyncio.gather(*(loop.run(dict(SAMPLING), raw_prompt=raw_prompt()) for _ in range(8)))
    assert all(o.extra_fields["tir_code_calls"] == 1 for o in outs)
    assert probe.peak == 8


async def test_budget_holds_with_tool_tokens(tokenizer):
    loop, _ = make_loop(tokenizer, [SCRIPT], make_config(response_length=30))
    out = await loop.run(dict(SAMPLING), raw_prompt=raw_prompt())
    assert len(out.response_ids) <= 30 and out.extra_fields["tir_finish_reason"] == "length"


def test_skip_tokenizer_init_is_refused(tokenizer):
    config = make_config()
    config.actor_rollout_ref.rollout.skip_tokenizer_init = True
    with pytest.raises(ValueError, match="skip_tokenizer_init must be false"):
        make_loop(tokenizer, [SCRIPT], config)


def test_bad_executor_factory_names_the_key(tokenizer):
    with pytest.raises(ValueError, match="tir.executor_factory"):
        make_loop(tokenizer, [SCRIPT], make_config(executor_factory="tests.fakes.no_such_factory"))


def _recording_factory(cfg):
    return dataclasses.asdict(cfg)  # the "executor" is the (typed) config it was built from


def _config_factory(cfg):
    return cfg


def test_the_executor_gets_the_sandbox_config_as_the_rollout_parse_typed_it(tokenizer):
    config = make_config(executor_factory=f"{__name__}._config_factory", sandbox={"timeout_s": 3, "max_processes": 9})
    got = build_agent_loop(config, FakeServer(tokenizer, [SCRIPT]), tokenizer).executor
    assert got == parse_config({"timeout_s": 3, "max_processes": 9})  # typed once, not re-read from the raw node


@pytest.mark.parametrize(
    "sandbox, workers, expected",
    [
        ({"concurrency": None}, 4, max(1, (os.cpu_count() or 1) // 4)),
        ({"concurrency": None}, 10_000, 1),
        ({"concurrency": 3}, 4, 3),  # an explicit value is kept
        ({"concurrency": None}, 1, None),  # one pool per node: the sandbox's own default (all CPUs)
    ],
    ids=["shared", "at-least-one", "explicit", "single-worker"],
)
def test_unset_sandbox_concurrency_shares_the_node_among_agent_loop_workers(sandbox, workers, expected):
    parsed = parse_config({**sandbox, "timeout_s": 7})
    built = agent_loop.get_executor(parsed, f"{__name__}._recording_factory", workers_per_node=workers)
    assert built["concurrency"] == expected
    assert built["timeout_s"] == 7
