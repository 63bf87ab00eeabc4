"""Training's `tir/*` metrics and evaluation's summary rows, computed from the same trajectories, agree on every
tool-use number (issue #16: `code_error_rate` had meant two things)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from evaluation.metrics import TOOL_USE_KEYS, summarize_cell
from evaluation.problems import Problem
from evaluation.runner import Grader, WorkItem, to_record
from evaluation.samples import SampleStore
from tests.fakes import FakeExecutor, FakeServer, scripted_generate
from tir_rollout.metrics import ResponseRecord, step_metrics
from tir_rollout.stop_machine import StopMachine, StopMachineConfig, run_stop_machine

ANSWER = "\nSo it is 4.</think> <answer>\\boxed{4}</answer>"


def block(code: str) -> str:
    return f"Run it.\n```python\n{code}\n```"


# (script, model writes an EOS at the end) -> one trajectory each; executions: ok, error, timeout, sandbox
# failure (the executor raises on BROKEN), an output over the cap, and a response that runs out of budget
SCRIPTS = [
    (block("print(2+2)") + ANSWER, True),
    (block("print(1)") + block("1/0") + ANSWER, True),
    (block("while True: pass") + ANSWER, True),
    (block("BROKEN = 1") + ANSWER, True),
    (block("print('x' * 4000)") + ANSWER, True),
    ("No code at all." + ANSWER, True),
    ("I keep thinking", False),  # no EOS: rambles until the token budget
]


@pytest.fixture(scope="module")
def trajectories(qwen2_tokenizer):
    tok = qwen2_tokenizer
    config = StopMachineConfig(max_tool_calls=2, max_output_tokens=64, eos_token_ids=(tok.eos_token_id,))
    prompt = tok.encode("User: What is 2+2?\nAssistant: <think>", add_special_tokens=False)
    results = []
    for i, (script, eos) in enumerate(SCRIPTS):
        machine = StopMachine(config, tok, prompt, response_length=160)
        generate = scripted_generate(FakeServer(tok, [script], eos=eos), f"r{i}")
        results.append(asyncio.run(run_stop_machine(machine, generate, FakeExecutor(raise_on="BROKEN").run_async)))
    return results


def test_training_metrics_and_evaluation_summary_agree_on_tool_use(trajectories, qwen2_tokenizer, tmp_path):
    correct = [i % 2 == 0 for i in range(len(trajectories))]
    # training: extra_fields as the agent loop emits them, read back as the recipe trainer's tir_records does
    records = [
        ResponseRecord.from_extra_fields(r.extra_fields(), c, len(r.response_ids))
        for r, c in zip(trajectories, correct, strict=True)
    ]
    training = step_metrics(records)
    # evaluation: sample records through samples.jsonl, then one summary cell
    grader = Grader(grade=lambda text, gold, answer_type: False, extract=lambda text: None)
    store = SampleStore(tmp_path / "samples.jsonl", fsync=False)
    for i, (result, ok) in enumerate(zip(trajectories, correct, strict=True)):
        item = WorkItem(Problem("toy", f"p{i}", i, (), "4", chat=False), 2, 0)
        record = to_record(item, result, qwen2_tokenizer, grader)
        store.append(replace(record, correct=ok))
    row = summarize_cell("toy", 2, SampleStore(store.path).load())

    for key, value in row.tool_use.as_dict().items():  # one name for each number: tir/<key> in training
        assert value == pytest.approx(training[f"tir/{key}"]), key
    written = row.as_dict()  # summary.json's row: the rates under the same names, not the totals
    assert {key: written[key] for key in TOOL_USE_KEYS} == row.tool_use.rates()
    assert not {"code_calls", "code_calls_max", "sandbox_errors"} & set(written)
    # the trajectories exercise every number, and the rates are the documented ones (hand-counted: 6 executions,
    # 1 error, 1 timeout, 1 sandbox failure, 1 output over the cap; 5 of 7 responses ran code, 1 hit the budget)
    assert training["tir/code_calls"] == 6
    use = row.tool_use
    assert (use.code_error_rate, use.code_timeout_rate, use.sandbox_error_rate) == pytest.approx((1 / 6,) * 3)
    assert use.output_truncated_rate == pytest.approx(1 / 6)
    assert (use.code_exec_ratio, use.finish_length_rate) == pytest.approx((5 / 7, 1 / 7))
    assert row.response_tokens_correct == pytest.approx(training["tir/response_length/correct"])
