"""The runner with a scripted model: the sweep's effect on code calls, resume after a crash, grading."""

import pytest

from evaluation.config import EvalConfig
from evaluation.metrics import summarize
from evaluation.problems import Problem, prompt_ids
from evaluation.runner import plan, run_sweep, sample_seed
from evaluation.samples import SampleStore
from tests.evaluation.fakes import ScriptedBackend
from tests.fakes import FakeExecutor

THREE_BLOCKS = "".join(f"Try {i}.\n```python\nprint({i})\n```\n" for i in (1, 2, 3)) + "So \\boxed{10}.</answer>"
SCRIPTS = {
    # question, gold, what the model writes
    "six-times-seven": (
        "What is 6*7?",
        "42",
        "Compute.\n```python\nprint(6*7)\n```\nThe answer is \\boxed{42}.</answer>",
    ),
    "three-blocks": ("Add it up.", "10", THREE_BLOCKS),
    "no-code-wrong": ("What is 2+2?", "5", "Easy: \\boxed{4}.</answer>"),
    "error": ("Divide.", "7", "```python\n1/0\n```\nHmm, \\boxed{7}</answer>"),
}


def make_problems():
    return [
        Problem("toy", pid, i, ({"role": "user", "content": f"Problem: {q}\nAssistant:"},), gold, chat=False)
        for i, (pid, (q, gold, _)) in enumerate(SCRIPTS.items())
    ]


def make_backend(tokenizer, problems, **kw):
    scripts = {tuple(prompt_ids(tokenizer, p)): SCRIPTS[p.problem_id][2] for p in problems}
    return ScriptedBackend(tokenizer, scripts, **kw)


def settings(**kw):
    base = {"model": "m", "n_samples": 2, "max_tool_calls": (1, 2, 4), "response_length": 400, "concurrency": 3}
    return EvalConfig(**{**base, **kw})


def run(tokenizer, tmp_path, backend=None, **kw):
    problems = make_problems()
    backend = backend or make_backend(tokenizer, problems)
    store = SampleStore(tmp_path / "samples.jsonl")
    result = run_sweep(problems, backend, FakeExecutor().run_async, store, settings(**kw))
    return result, store, backend


def test_sweep_caps_executions_at_each_budget_and_grades_like_the_reward(qwen2_tokenizer, tmp_path):
    result, store, _ = run(qwen2_tokenizer, tmp_path)
    assert result.planned == result.finished == 4 * 2 * 3 and result.already_done == 0
    records = {(r.problem_id, r.max_tool_calls, r.sample): r for r in SampleStore(store.path).load()}
    assert len(records) == 24
    calls = {t: records[("three-blocks", t, 0)].tool_use.code_calls for t in (1, 2, 4)}
    assert calls == {1: 1, 2: 2, 4: 3}
    assert records[("three-blocks", 4, 1)].response.count("```output") == 3
    assert records[("three-blocks", 1, 0)].response.count("```output") == 1  # later blocks are not run
    good = records[("six-times-seven", 2, 0)]
    assert (good.correct, good.prediction, good.tool_use.code_calls, good.tool_use.finish_reason) == (
        True,
        "42",
        1,
        "stop",
    )
    assert "```output\n42\n" in good.response
    wrong = records[("no-code-wrong", 2, 1)]
    assert (wrong.correct, wrong.prediction, wrong.tool_use.code_calls) == (False, "4", 0)
    err = records[("error", 4, 0)]
    assert (err.tool_use.code_errors, err.correct) == (1, True) and "ZeroDivisionError" in err.response
    assert (
        err.tool_use.response_tokens > err.tool_use.generated_tokens
    )  # the output block is in the response, not generated

    cells = {c.max_tool_calls: c for c in summarize(records.values(), ks=(1, 2), expected=2)}
    assert cells[1].avg_at_k == pytest.approx(0.75)  # 3 of 4 problems right, every sample alike
    assert cells[4].tool_use.code_calls_mean == pytest.approx((1 + 3 + 0 + 1) / 4)
    assert cells[4].tool_use.code_error_rate == pytest.approx(1 / 5)
    assert cells[1].tool_use.code_calls_mean == pytest.approx((1 + 1 + 0 + 1) / 4)


def test_a_crash_midway_then_a_rerun_recomputes_nothing_and_summarises_identically(qwen2_tokenizer, tmp_path):
    clean_dir, crash_dir = tmp_path / "clean", tmp_path / "crash"
    clean_dir.mkdir(), crash_dir.mkdir()
    run(qwen2_tokenizer, clean_dir)
    expected = summarize(SampleStore(clean_dir / "samples.jsonl").load(), ks=(1, 2), expected=2)

    problems = make_problems()
    crashing = make_backend(qwen2_tokenizer, problems, fail_after=30)
    with pytest.raises(RuntimeError, match="scripted crash"):
        run(qwen2_tokenizer, crash_dir, backend=crashing)
    survivors = SampleStore(crash_dir / "samples.jsonl").load()
    assert 0 < len(survivors) < 24

    resumed = make_backend(qwen2_tokenizer, problems)
    result, store, _ = run(qwen2_tokenizer, crash_dir, backend=resumed)
    assert result.already_done == len(survivors) and result.finished == 24 - len(survivors)
    assert {r.key for r in result.finished_records}.isdisjoint(r.key for r in survivors)
    assert summarize(SampleStore(store.path).load(), ks=(1, 2), expected=2) == expected

    again, _, idle = run(qwen2_tokenizer, crash_dir, backend=make_backend(qwen2_tokenizer, problems))
    assert (again.planned, idle.segments) == (0, 0)  # a third run generates nothing


def test_growing_the_sweep_or_the_samples_runs_only_the_new_cells(qwen2_tokenizer, tmp_path):
    run(qwen2_tokenizer, tmp_path, max_tool_calls=(1,), n_samples=1)
    store = SampleStore(tmp_path / "samples.jsonl")
    store.load()
    pending = plan(make_problems(), settings(max_tool_calls=(1, 8), n_samples=2), store)
    assert len(pending) == 4 * 2 * 2 - 4
    assert {(i.max_tool_calls, i.sample) for i in pending} == {(1, 1), (8, 0), (8, 1)}


def test_seeds_are_stable_per_sample_and_differ_between_samples():
    key = ("toy", "p0", 2, 0)
    assert sample_seed(42, key, 1) == sample_seed(42, key, 1)
    assert len({sample_seed(42, key, 1), sample_seed(42, key, 2), sample_seed(42, (*key[:3], 1), 1)}) == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [("n_samples", 0), ("response_length", 0), ("concurrency", 0), ("max_tool_calls", ()), ("max_tool_calls", (2, -1))],
)
def test_settings_reject_impossible_values_naming_the_key(field, value):
    with pytest.raises(ValueError, match=f"^eval.{field}"):
        EvalConfig.from_mapping({"model": "m", field: value})
