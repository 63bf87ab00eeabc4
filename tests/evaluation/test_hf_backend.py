"""The hf backend on a tiny random-weight Qwen2 with the real tokenizer: per-row stops and budgets, a sweep."""

import asyncio

import pytest

from evaluation.backends.hf import HFBackend, ModelSource, load_hf
from evaluation.config import EvalConfig
from evaluation.problems import Problem
from evaluation.runner import run_sweep
from evaluation.samples import SampleStore
from tests.fakes import FakeExecutor
from tir_rollout.stop_machine import SegmentRequest


@pytest.fixture(scope="module")
def tiny(tiny_qwen2_dir):
    return load_hf(ModelSource(str(tiny_qwen2_dir)), device="cpu", dtype="float32")


def greedy(tiny):
    tokenizer, model = tiny
    return HFBackend(tokenizer, model, temperature=0.0, max_batch=4)


def test_each_row_stops_at_its_own_stop_string_or_budget(tiny):
    tokenizer, _ = tiny
    backend = greedy(tiny)
    prompts = [tokenizer.encode("Problem: what is 1+1?"), tokenizer.encode("A much longer prompt, padded less: 2+2?")]
    free = backend.generate_batch([(SegmentRequest(p, ("never-seen",), 12), 0) for p in prompts])
    assert [len(s.token_ids) for s in free] == [12, 12]
    stop = tokenizer.decode(free[0].token_ids[4:6])  # a string the greedy model writes at tokens 4-5
    budget_row, stop_row = SegmentRequest(prompts[1], ("never-seen",), 3), SegmentRequest(prompts[0], (stop,), 12)
    cut = backend.generate_batch([(stop_row, 0), (budget_row, 0)])
    assert len(cut[1].token_ids) == 3
    ids = list(cut[0].token_ids)
    assert ids == list(free[0].token_ids[: len(ids)]) and len(ids) <= 6
    assert stop in tokenizer.decode(ids) and stop not in tokenizer.decode(ids[:-1])  # cut at the completing token


def test_concurrent_requests_share_batches(tiny):
    tokenizer, _ = tiny
    backend = greedy(tiny)
    requests = [SegmentRequest(tokenizer.encode(f"question {i}"), ("x",), 5) for i in range(6)]

    async def go():
        return await asyncio.gather(*(backend.generate(r, 0) for r in requests))

    segments = asyncio.run(go())
    assert len(segments) == 6 and all(1 <= len(s.token_ids) <= 5 for s in segments)
    assert backend.batcher.batch_sizes == [4, 2]


def test_sweep_with_the_tiny_model_writes_every_sample_within_budget(tiny, tmp_path):
    tokenizer, model = tiny
    problems = [
        Problem("toy", f"p{i}", i, ({"role": "user", "content": f"Compute {i}+1.\nAssistant:"},), str(i + 1), False)
        for i in range(2)
    ]
    settings = EvalConfig(model="m", n_samples=2, max_tool_calls=(0, 1), response_length=16, concurrency=8)
    store = SampleStore(tmp_path / "samples.jsonl")
    run = run_sweep(problems, HFBackend(tokenizer, model, seed=1), FakeExecutor().run_async, store, settings)
    records = SampleStore(store.path).load()
    assert run.finished == len(records) == 8
    assert {(r.problem_id, r.max_tool_calls, r.sample) for r in records} == {
        (p, t, s) for p in ("p0", "p1") for t in (0, 1) for s in (0, 1)
    }
    assert all(r.tool_use.response_tokens <= 16 and r.tool_use.finish_reason in ("stop", "length") for r in records)
    assert all(r.tool_use.code_calls == 0 for r in records if r.max_tool_calls == 0)


SOURCES = [
    ("dir", "some/dir", ModelSource("some/dir")),
    ("model-id", "Qwen/Qwen2.5-7B", ModelSource("Qwen/Qwen2.5-7B")),
]


@pytest.mark.parametrize(("spec", "expected"), [s[1:] for s in SOURCES], ids=[s[0] for s in SOURCES])
def test_model_source_parses_directories_and_ids(spec, expected):
    assert ModelSource.parse(spec) == expected


def test_model_source_finds_a_gguf_file_and_names_missing_ones(tmp_path):
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert ModelSource.parse(str(tmp_path / "m.gguf")) == ModelSource(str(tmp_path), "m.gguf")
    with pytest.raises(ValueError, match="eval.model: GGUF file .*missing.gguf does not exist"):
        ModelSource.parse(str(tmp_path / "missing.gguf"))
    with pytest.raises(ValueError, match="package 'no_such_package_xyz' is not installed"):
        ModelSource.parse("pkg://no_such_package_xyz/model.gguf")


def test_a_model_that_is_not_local_is_an_error_not_a_download(tmp_path):
    with pytest.raises(ValueError, match="eval.model: cannot load .*never downloads"):
        load_hf(ModelSource(str(tmp_path / "nothing-here")), device="cpu", dtype="float32")
