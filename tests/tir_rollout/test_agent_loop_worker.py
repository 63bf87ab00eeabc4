"""The loop inside verl's own agent-loop workers (V0 and V1/TransferQueue), registered by conf/agent_loops.yaml.

As verl's `*_on_cpu` agent-loop tests: the real worker classes, verl's composed `ppo_trainer` config, a
fake LLM server, the vendored Qwen2 tokenizer and a tiny Qwen2 config (no weights are loaded).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf, open_dict

from tests.fakes import (
    PAPER_ROLLOUT,
    REPO_ROOT,
    FakeServer,
    FakeTransferQueue,
    load_qwen2_tokenizer,
    write_tiny_qwen2_folder,
)

PROMPT = "A conversation between User and Assistant.\nUser: What is 6*7?\nAssistant: <think>"
SCRIPTS = [
    "Compute.\n```python\nprint(6*7)\n```\nSo 42.</think> <answer>\\boxed{42}</answer>",
    "Surely 41.</think> <answer>\\boxed{41}</answer>",
]
TIR = {
    "rollout": PAPER_ROLLOUT,
    "executor_factory": "tests.fakes.make_fake_executor",
}


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    model_dir = write_tiny_qwen2_folder(tmp_path_factory.mktemp("tiny_qwen2"))
    with initialize_config_module("verl.trainer.config", version_base=None):
        cfg = compose(
            "ppo_trainer",
            overrides=[
                "actor_rollout_ref.rollout.name=vllm",
                f"actor_rollout_ref.model.path={model_dir}",
                "actor_rollout_ref.rollout.prompt_length=64",
                "actor_rollout_ref.rollout.response_length=128",
                "actor_rollout_ref.rollout.skip_tokenizer_init=false",
                "actor_rollout_ref.rollout.n=2",
                "actor_rollout_ref.rollout.agent.default_agent_loop=zerotir_agent",
                # the real registration file, as the lead's conf/zerotir.yaml points at it
                f"actor_rollout_ref.rollout.agent.agent_loop_config_path={REPO_ROOT / 'conf' / 'agent_loops.yaml'}",
            ],
        )
    with open_dict(cfg):
        cfg.tir = TIR
    return cfg


@pytest.fixture(scope="module")
def tokenizer():
    return load_qwen2_tokenizer()


def _raw_prompt():
    return [{"role": "user", "content": PROMPT}]


def test_v0_worker_runs_the_registered_loop(config, tokenizer):
    from verl.experimental.agent_loop.agent_loop import AgentLoopWorker
    from verl.protocol import DataProto

    worker = AgentLoopWorker(config, FakeServer(tokenizer, SCRIPTS))
    batch = DataProto.from_dict(
        non_tensors={
            "raw_prompt": np.array([_raw_prompt(), _raw_prompt()], dtype=object),
            "index": np.array([0, 1]),
            "data_source": np.array(["math", "math"], dtype=object),
        }
    )
    out = asyncio.run(worker.generate_sequences(batch))

    assert out.batch["responses"].shape == (2, 128) and out.batch["prompts"].shape == (2, 64)
    assert list(out.non_tensor_batch["agent_name"]) == ["zerotir_agent"] * 2
    assert list(out.non_tensor_batch["tir_code_calls"]) == [1, 0]  # V0: extra_fields become batch columns
    assert list(out.non_tensor_batch["tir_finish_reason"]) == ["stop", "stop"]
    assert list(out.non_tensor_batch["__num_turns__"]) == [5, 2]
    mask, attention = out.batch["response_mask"], out.batch["attention_mask"][:, 64:]
    assert bool((mask <= attention).all())  # padding is never trained
    row = out.batch["responses"][0]
    masked = tokenizer.decode(row[(mask[0] == 0) & (attention[0] == 1)].tolist())
    assert masked == "\n```output\n42\n\n```\n\n\n"
    timings = out.meta_info["metrics"]
    assert timings[1]["tool_calls"] == 0.0 and timings[0]["tool_calls"] > 0.0


def test_v1_worker_puts_tir_fields_into_transfer_queue(config, tokenizer, monkeypatch):
    from tensordict import NonTensorData, NonTensorStack, TensorDict
    from verl.trainer.ppo.v1 import agent_loop_tq

    fake_tq = FakeTransferQueue()
    monkeypatch.setattr(agent_loop_tq, "tq", fake_tq)
    worker_cls = agent_loop_tq.AgentLoopWorkerTQ.__ray_metadata__.modified_class.__ray_actor_class__
    worker = worker_cls(config, FakeServer(tokenizer, SCRIPTS))
    batch = TensorDict(
        {
            "raw_prompt": NonTensorStack(_raw_prompt()),
            "uid": NonTensorStack("u0"),
            "index": NonTensorStack(0),
            "data_source": NonTensorStack("math"),
            "global_steps": NonTensorData(1),
        },
        batch_size=1,
    )

    async def go():
        await worker.generate_sequences(batch)
        await asyncio.gather(*list(worker.background_tasks))

    asyncio.run(go())
    assert fake_tq.tags[("train", "u0")] == {"status": "finished"}
    tag = fake_tq.tags[("train", "u0_0_0")]
    assert (tag["status"], tag["min_global_steps"], tag["max_global_steps"]) == ("success", 1, 1)  # V1 staleness
    got = fake_tq.kv_batch_get(["u0_0_0", "u0_1_0"], "train", ["extra_fields", "response_mask", "loss_mask"])
    extra = list(got["extra_fields"])
    assert [e["tir_code_calls"] for e in extra] == [1, 0]  # rollout.n=2 sessions, one script each
    assert {k for k in extra[0] if k.startswith("tir_")} == {
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
    }
    first = got["response_mask"].unbind(0)[0]
    assert int(first.sum()) == extra[0]["tir_generated_tokens"] and len(first) == extra[0]["tir_response_tokens"]
    assert all((a == b).all() for a, b in zip(got["loss_mask"].unbind(0), got["response_mask"].unbind(0)))
    OmegaConf.to_container(config)  # the worker did not mutate the config into something unserialisable
