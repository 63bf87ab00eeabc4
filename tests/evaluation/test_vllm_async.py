"""The async vLLM backend against a fake AsyncLLM: one request per segment, trajectories that do not wait for each
other, sandbox calls overlapping generation; and the vLLM defaults taken from the model group."""

import asyncio

import pytest

from evaluation.backends.vllm_async import AsyncVLLMBackend
from evaluation.config import EvalConfig, Machine, model_group_for, vllm_engine_kwargs
from evaluation.evaluate import build_backend
from tests.evaluation.fake_engine import (
    FakeAsyncEngine,
    SegmentWriter,
    Workload,
    drive,
    fake_sandbox,
)
from tir_rollout.stop_machine import SegmentRequest


def test_one_request_per_segment_with_the_training_sampling_contract(qwen2_tokenizer):
    engine = FakeAsyncEngine(SegmentWriter(qwen2_tokenizer))
    backend = AsyncVLLMBackend("unused", temperature=1.0, top_p=0.9, engine=engine, tokenizer=qwen2_tokenizer)
    request = SegmentRequest([10, 20], ("```python", "</answer>"), 50)
    segment = asyncio.run(backend.generate(request, seed=7))
    ((request_id, prompt, params),) = engine.requests
    assert prompt == [10, 20] and request_id.startswith("eval-")
    assert (params["stop"], params["max_tokens"], params["seed"], params["top_p"]) == (
        ["```python", "</answer>"],
        50,
        7,
        0.9,
    )
    assert params["include_stop_str_in_output"] is True and params["n"] == 1
    assert qwen2_tokenizer.convert_tokens_to_ids("<|im_end|>") in params["stop_token_ids"]
    assert 0 < len(segment.token_ids) <= 50


def test_an_aborted_request_is_an_aborted_segment(qwen2_tokenizer):
    class Aborting:
        async def generate(self, prompt, sampling_params, request_id):
            if False:
                yield None

    backend = AsyncVLLMBackend("unused", engine=Aborting(), tokenizer=qwen2_tokenizer)
    segment = asyncio.run(backend.generate(SegmentRequest([1], ("x",), 5), seed=1))
    assert segment.aborted and list(segment.token_ids) == []


def test_trajectories_advance_independently_and_sandbox_overlaps_generation(qwen2_tokenizer, tmp_path):
    work = Workload(sandbox_s=(0.02, 0.02))
    engine = FakeAsyncEngine(SegmentWriter(qwen2_tokenizer, work), step_s=2e-4, max_num_seqs=64)
    backend = AsyncVLLMBackend("unused", engine=engine, tokenizer=qwen2_tokenizer)
    sandbox = fake_sandbox(work)
    running_at_exec = []

    async def execute(code):
        running_at_exec.append(engine.running)
        return await sandbox(code)

    _, records = drive(backend, execute, n_problems=8, n_samples=4, concurrency=32, out_dir=tmp_path)
    assert len(records) == 32 and all(r.tool_use.finish_reason for r in records)
    assert any(r.tool_use.code_calls for r in records) and max(running_at_exec) > 0  # generation went on during a call
    assert backend.peak_in_flight > 8  # many segments inside the engine at once, not one batch at a time
    # a trajectory's segment is one request: requests = segments written, none batched together
    assert len(engine.requests) == sum(1 + 2 * r.tool_use.code_calls for r in records)


def test_short_trajectories_finish_while_a_long_one_generates(qwen2_tokenizer, tmp_path):
    """Store order is completion order: with continuous batching a long segment does not hold the short ones."""

    class OneLong(SegmentWriter):
        def write(self, stops, max_tokens, seed):
            return self.filler * (2000 if seed == self.long_seed else 10) + [self.eos]

    writer = OneLong(qwen2_tokenizer)
    from evaluation.runner import sample_seed

    writer.long_seed = sample_seed(42, ("bench", "p0", 2, 0), 1)
    engine = FakeAsyncEngine(writer, step_s=5e-4)
    backend = AsyncVLLMBackend("unused", engine=engine, tokenizer=qwen2_tokenizer)
    _, records = drive(backend, fake_sandbox(Workload()), n_problems=4, n_samples=1, concurrency=4, out_dir=tmp_path)
    assert [r.problem_id for r in records][-1] == "p0"  # the long one finishes last


def test_vllm_defaults_come_from_the_model_group(tmp_path):
    config = EvalConfig.from_mapping({"model": "/models/Qwen2.5-32B", "backend": "vllm"})
    assert model_group_for(config.model) == "qwen32b"
    eight = Machine(gpus=8, vllm=True)  # parallelism: tests/evaluation/test_gpu_defaults.py
    assert vllm_engine_kwargs(config, config.model, eight) == {
        "tensor_parallel_size": 2, "data_parallel_size": 4, "max_model_len": 9216,
    }  # fmt: skip
    mine = EvalConfig.from_mapping({"model": "x", "model_group": "qwen7b", "vllm": {"tensor_parallel_size": 4}})
    assert vllm_engine_kwargs(mine, "x", eight)["tensor_parallel_size"] == 4  # an explicit value wins
    assert vllm_engine_kwargs(mine, "x", eight)["max_model_len"] == 9216
    run = tmp_path / "outputs" / "qwen7b_grpo" / "default"
    hf = run / "checkpoints" / "global_step_50" / "actor" / "huggingface"
    hf.mkdir(parents=True)
    (run / "run.json").write_text('{"overrides": [], "model_group": "qwen14b"}')
    assert model_group_for(str(hf)) == "qwen14b"
    assert EvalConfig.from_mapping({"model": "x", "backend": "hf"}).in_flight() == 64
    assert EvalConfig.from_mapping({"model": "x", "backend": "vllm"}).in_flight() == 512
    assert EvalConfig.from_mapping({"model": "x", "backend": "vllm", "concurrency": 8}).in_flight() == 8
    with pytest.raises(ValueError, match="eval.model_group: unknown group 'qwen9b'"):
        EvalConfig.from_mapping({"model": "x", "model_group": "qwen9b"})


def test_backend_vllm_without_vllm_says_how_to_get_it():
    pytest.importorskip("torch")
    config = EvalConfig.from_mapping({"model": "Qwen/Qwen2.5-7B", "backend": "vllm"})
    try:
        import vllm  # noqa: F401

        pytest.skip("vLLM is installed: this checks the message without it")
    except ImportError:
        pass
    with pytest.raises(ValueError, match=r"pip install -e '\.\[gpu\]'"):
        build_backend(config, "Qwen/Qwen2.5-7B")
