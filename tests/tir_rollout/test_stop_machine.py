"""The stop machine against a scripted vLLM-like server, the real Qwen2 tokenizer and a fake executor."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeExecutor, FakeServer, scripted_generate
from tir_rollout.stop_machine import (
    OUTPUT_PREFIX,
    OUTPUT_SUFFIX,
    OVERLONG_MESSAGE,
    SANDBOX_ERROR_TEXT,
    Segment,
    SegmentRequest,
    StopMachine,
    StopMachineConfig,
    observation_text,
    run_stop_machine,
)

PROMPT = "User: What is 2+2? Put the answer in <answer></answer>.\nAssistant: <think>"
CODE_OK = "Let me compute.\n```python\nprint(2+2)\n```"
ANSWER = "\nSo the result is 4.</think> <answer>\\boxed{4}</answer>"


def run(tokenizer, script, *, response_length=512, eos=True, executor=None, **cfg):
    config = StopMachineConfig(eos_token_ids=(tokenizer.eos_token_id,), **cfg)
    prompt_ids = tokenizer.encode(PROMPT, add_special_tokens=False)
    machine = StopMachine(config, tokenizer, prompt_ids, response_length)
    server = FakeServer(tokenizer, [script], eos=eos)
    executor = executor or FakeExecutor()
    result = asyncio.run(run_stop_machine(machine, scripted_generate(server), executor.run_async))
    return result, executor, server


def masked_runs(ids, mask):
    """Contiguous runs of mask-0 token ids."""
    runs, cur = [], []
    for t, m in zip(ids, mask, strict=True):
        if m == 0:
            cur.append(t)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


def blocks_text(tokenizer, result):
    return [tokenizer.decode(r) for r in masked_runs(result.response_ids, result.response_mask)]


# (id, script, config overrides, expected: finish, calls, errors, timeouts, truncated, executed codes, block texts)
CASES = [
    ("no_code", "2+2 is 4." + ANSWER, {}, "stop", 0, 0, 0, 0, [], []),
    ("one_call", CODE_OK + ANSWER, {}, "stop", 1, 0, 0, 0, ["print(2+2)"], ["4\n"]),
    (
        "two_calls",
        CODE_OK + "\nCheck:\n```python\nprint(3*3)\n```" + ANSWER,
        {},
        "stop",
        2,
        0,
        0,
        0,
        ["print(2+2)", "print(3*3)"],
        ["4\n", "9\n"],
    ),
    (
        "max_calls_then_free_segment",
        CODE_OK + "\n```python\nprint(5)\n```\nOnce more:\n```python\nprint(6)\n```\nDone" + ANSWER,
        {"max_tool_calls": 2},
        "stop",
        2,
        0,
        0,
        0,
        ["print(2+2)", "print(5)"],
        ["4\n", "5\n"],
    ),
    ("zero_tool_calls", CODE_OK + ANSWER, {"max_tool_calls": 0}, "stop", 0, 0, 0, 0, [], []),
    ("empty_block_runs_nothing", "Hm.\n```python\n\n```\nNo." + ANSWER, {}, "stop", 0, 0, 0, 0, [], []),
    ("raises", "Try:\n```python\nprint(1/0)\n```" + ANSWER, {}, "stop", 1, 1, 0, 0, ["print(1/0)"], None),
    ("timeout", "Loop:\n```python\nwhile True: pass\n```" + ANSWER, {}, "stop", 1, 0, 1, 0, None, [OUTPUT_PREFIX]),
    (
        "truncated_output",
        "Big:\n```python\nprint('ab ' * 400)\n```" + ANSWER,
        {"max_output_tokens": 256},
        "stop",
        1,
        0,
        0,
        1,
        None,
        [OVERLONG_MESSAGE],
    ),
    ("base_stop_inside_code", "```python\nx = 'User: hi'\nprint(x)\n```" + ANSWER, {}, "stop", 0, 0, 0, 0, [], []),
    ("eos_no_answer_tag", "The answer is \\boxed{4}.", {}, "stop", 0, 0, 0, 0, [], []),
]


@pytest.mark.parametrize(
    "script,overrides,finish,calls,errors,timeouts,truncated,codes,block_bodies",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_cases(tokenizer, script, overrides, finish, calls, errors, timeouts, truncated, codes, block_bodies):
    result, executor, _ = run(tokenizer, script, **overrides)
    assert result.tool_use.finish_reason == finish
    assert (result.tool_use.code_calls, result.tool_use.code_errors, result.tool_use.code_timeouts) == (
        calls,
        errors,
        timeouts,
    )
    assert result.tool_use.outputs_truncated == truncated
    assert len(executor.codes) == calls
    if codes is not None:
        assert executor.codes == codes
    blocks = blocks_text(tokenizer, result)
    assert len(blocks) == result.output_blocks == calls
    if block_bodies is not None and block_bodies != [OUTPUT_PREFIX]:
        assert blocks == [OUTPUT_PREFIX + body + OUTPUT_SUFFIX for body in block_bodies]
    assert result.response_mask[-1] == 1  # the final token is model-generated
    assert len(result.response_ids) == len(result.response_mask)


def test_free_segment_code_is_kept_but_not_run(tokenizer):
    script = CODE_OK + "\n```python\nprint(5)\n```\nOnce more:\n```python\nprint(6)\n```" + ANSWER
    result, _, server = run(tokenizer, script, max_tool_calls=2)
    text = tokenizer.decode(result.response_ids)
    assert "print(6)" in text and "```output\n6" not in text
    assert result.tool_use.code_blocks == 2
    # after the second call the fence stops are dropped: the last request carries only the base stops
    assert server.calls[-1]["stop"] == list(StopMachineConfig().base_stops)


def test_error_output_trims_file_prefix_and_carets(tokenizer):
    result, _, _ = run(tokenizer, "Try:\n```python\nprint(1/0)\n```" + ANSWER)
    (block,) = blocks_text(tokenizer, result)
    assert "ZeroDivisionError: division by zero" in block
    assert 'File "' not in block and "^" not in block


def test_timeout_shows_status_string(tokenizer):
    result, _, _ = run(tokenizer, "Loop:\n```python\nwhile True: pass\n```" + ANSWER)
    assert blocks_text(tokenizer, result) == [OUTPUT_PREFIX + "TimeLimitExceeded" + OUTPUT_SUFFIX]


def test_withheld_output_runs_the_code_and_shows_an_empty_block(tokenizer):
    """The paper-mini ablation: the call runs and is counted (errors too), the model sees only the empty fences."""
    script = CODE_OK + "\nAgain:\n```python\nprint(1/0)\n```" + ANSWER
    result, executor, _ = run(tokenizer, script, max_tool_calls=2, withhold_output=True)
    assert executor.codes == ["print(2+2)", "print(1/0)"]
    assert (result.tool_use.code_calls, result.tool_use.code_errors) == (2, 1)
    assert blocks_text(tokenizer, result) == [OUTPUT_PREFIX + OUTPUT_SUFFIX] * 2
    shown, _, _ = run(tokenizer, CODE_OK + ANSWER)
    assert blocks_text(tokenizer, shown) == [OUTPUT_PREFIX + "4\n" + OUTPUT_SUFFIX]
    with pytest.raises(ValueError, match="rollout.withhold_output must be true or false"):
        StopMachineConfig.from_mapping({"withhold_output": "yes"})


def test_executor_exception_becomes_a_sandbox_error_output(tokenizer):
    result, _, _ = run(tokenizer, CODE_OK + ANSWER, executor=FakeExecutor(raise_on="print"))
    assert result.tool_use.finish_reason == "stop"
    assert (result.tool_use.code_calls, result.tool_use.code_errors, result.tool_use.sandbox_errors) == (1, 0, 1)
    assert blocks_text(tokenizer, result) == [OUTPUT_PREFIX + SANDBOX_ERROR_TEXT + OUTPUT_SUFFIX]


def test_budget_exhausted_inside_code_block_runs_nothing(tokenizer):
    script = "Compute:\n```python\nimport math\nx = math.factorial(20)\nprint(x)\n```" + ANSWER
    result, executor, _ = run(tokenizer, script, response_length=12)
    assert result.tool_use.finish_reason == "length"
    assert len(result.response_ids) == 12
    assert executor.codes == [] and result.tool_use.code_calls == 0
    assert all(m == 1 for m in result.response_mask)


def test_output_block_that_does_not_fit_ends_on_length(tokenizer):
    n_code = len(tokenizer.encode(CODE_OK, add_special_tokens=False))
    result, _, _ = run(tokenizer, CODE_OK + ANSWER, response_length=n_code + 8)
    assert result.tool_use.finish_reason == "length"
    assert result.output_blocks == 0 and result.response_mask[-1] == 1
    assert len(result.response_ids) <= n_code + 8


def test_eos_is_kept_and_never_appended(tokenizer):
    eos = tokenizer.eos_token_id
    result, _, _ = run(tokenizer, "The answer is 4.")
    assert result.response_ids[-1] == eos and result.response_mask[-1] == 1 and result.tool_use.finish_reason == "stop"
    result, _, _ = run(tokenizer, "No answer here " * 40, response_length=30, eos=False)
    assert eos not in result.response_ids and result.tool_use.finish_reason == "length"


def test_token_in_token_out(tokenizer):
    result, _, server = run(tokenizer, CODE_OK + ANSWER)
    prompt_ids = tokenizer.encode(PROMPT, add_special_tokens=False)
    first, second, third = server.calls
    assert first["prompt_ids"] == prompt_ids
    assert second["prompt_ids"] == prompt_ids + result.response_ids[: len(second["prompt_ids"]) - len(prompt_ids)]
    assert second["max_tokens"] == 512 - (len(second["prompt_ids"]) - len(prompt_ids))
    assert first["include_stop_str_in_output"] is True
    assert third["prompt_ids"] == prompt_ids + result.response_ids[: len(third["prompt_ids"]) - len(prompt_ids)]


def test_stops_follow_the_state(tokenizer):
    _, _, server = run(tokenizer, CODE_OK + ANSWER)
    base = list(StopMachineConfig().base_stops)
    assert [c["stop"] for c in server.calls] == [
        base + ["```python"],
        base + ["```", "```\n", "```\n\n"],
        base + ["```python"],
    ]


def test_log_probs_align_with_tool_tokens_zero(tokenizer):
    config = StopMachineConfig(eos_token_ids=(tokenizer.eos_token_id,))
    machine = StopMachine(config, tokenizer, [1, 2], 200)
    server = FakeServer(tokenizer, [CODE_OK + ANSWER])

    async def generate(req: SegmentRequest) -> Segment:
        out = server.generate_sync(
            "r",
            req.prompt_ids,
            {
                "stop": list(req.stops),
                "include_stop_str_in_output": True,
                "max_tokens": req.max_tokens,
                "logprobs": True,
            },
        )
        return Segment(out["token_ids"], out["log_probs"])

    result = asyncio.run(run_stop_machine(machine, generate, FakeExecutor().run_async))
    assert len(result.response_logprobs) == len(result.response_ids)
    assert all((lp == 0.0) == (m == 0) for lp, m in zip(result.response_logprobs, result.response_mask, strict=True))


def test_aborted_segment_continues_in_the_same_state(tokenizer):
    config = StopMachineConfig(eos_token_ids=(tokenizer.eos_token_id,))
    machine = StopMachine(config, tokenizer, [1], 100)
    first = tokenizer.encode("Let me ```py", add_special_tokens=False)
    machine.next_request()
    assert machine.feed(Segment(first, aborted=True)) is None and not machine.done
    req = machine.next_request()
    assert req.max_tokens == 100 - len(first) and req.prompt_ids == [1, *first]
    machine.feed(Segment(tokenizer.encode("thon\nprint(1)\n```", add_special_tokens=False)))
    assert machine.state.value == "code"  # the opener spanned the two segments


@pytest.mark.parametrize(
    "status,stdout,stderr,expected",
    [
        ("ok", "4\n", "", "4\n"),
        ("ok", "", "warning", ""),
        ("error", "partial", 'Traceback:\n  File "/tmp/x.py", line 1\n    1/0\n    ^^^\nZeroDivisionError', None),
        ("error", "out", "", "out"),
        ("timeout", "partial", "", "TimeLimitExceeded"),
        ("killed", "", "", "Killed"),
        ("killed", "", "MemoryError", "MemoryError"),
    ],
    ids=[
        "ok_stdout",
        "ok_ignores_stderr",
        "error_trims",
        "error_empty_stderr_falls_back",
        "timeout",
        "killed",
        "killed_stderr",
    ],
)
def test_observation_text(status, stdout, stderr, expected):
    from tests.fakes import FakeExecResult

    text = observation_text(FakeExecResult(status, stdout, stderr))
    if expected is None:
        assert text == "Traceback:\n  line 1\n    1/0\n    \nZeroDivisionError"
    else:
        assert text == expected


def test_config_from_mapping_and_validation():
    cfg = StopMachineConfig.from_mapping({"max_tool_calls": 4, "max_output_tokens": 512, "base_stops": ["</answer>"]})
    assert (cfg.max_tool_calls, cfg.max_output_tokens, cfg.base_stops) == (4, 512, ("</answer>",))
    with pytest.raises(ValueError, match=r"^rollout\.max_tool_calls must be an integer >= 0 \(got -1\)"):
        StopMachineConfig(max_tool_calls=-1)
    # a rollout node: other keys (template, sandbox) are not the machine's; errors name the caller's key path
    node = {"template": "zero_tir", "max_tool_calls": 1, "sandbox": {}}
    assert StopMachineConfig.from_mapping(node, [7], max_tool_calls=3).max_tool_calls == 3  # eval's sweep point
    assert StopMachineConfig.from_mapping(node, [7]).eos_token_ids == (7,)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("max_tool_calls", -1, "an integer >= 0"),
        ("max_tool_calls", 2.5, "an integer >= 0"),
        ("max_tool_calls", True, "an integer >= 0"),
        ("max_output_tokens", 0, "an integer >= 1"),
        ("max_output_tokens", "256", "an integer >= 1"),
        ("base_stops", "</answer>", "a list of non-empty strings"),
        ("base_stops", ["User:", ""], "a list of non-empty strings"),
    ],
)
def test_config_errors_name_the_full_key_path(key, value, problem):
    with pytest.raises(ValueError, match=rf"^eval\.rollout\.{key} must be {problem}"):
        StopMachineConfig.from_mapping({key: value}, where="eval.rollout")


# ---- property: budgets and masks hold for random scripts ---------------------------------------------

FRAGMENTS = [
    "Think about it. ",
    "```python\nprint(7*6)\n```",
    "```python\nprint(1/0)\n```",
    "```python\nwhile True: pass\n```",
    "```python\nprint('z ' * 300)\n```",
    "```python\n\n```",
    "```python\nx = 3",  # never closed
    "\n",
    "Assistant:",
    "<answer>42</answer>",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(st.sampled_from(FRAGMENTS), min_size=0, max_size=8),
    response_length=st.integers(min_value=1, max_value=300),
    max_tool_calls=st.integers(min_value=0, max_value=3),
    eos=st.booleans(),
)
def test_budget_and_mask_properties(tokenizer, parts, response_length, max_tool_calls, eos):
    result, executor, _ = run(
        tokenizer, "".join(parts), response_length=response_length, eos=eos, max_tool_calls=max_tool_calls
    )
    ids, mask = result.response_ids, result.response_mask
    assert len(ids) == len(mask) <= response_length
    assert result.tool_use.finish_reason in ("stop", "length")
    if ids:
        assert mask[-1] == 1
    assert len(executor.codes) == result.tool_use.code_calls <= result.tool_use.code_blocks <= max_tool_calls
    blocks = blocks_text(tokenizer, result)
    assert len(blocks) == result.output_blocks
    for block in blocks:  # mask-0 tokens are exactly whole output blocks
        assert block.startswith(OUTPUT_PREFIX) and block.endswith(OUTPUT_SUFFIX)
        assert len(tokenizer.encode(block, add_special_tokens=False)) <= 256
    text = tokenizer.decode(ids)
    for code in executor.codes:  # only closed blocks run
        assert "```python" in text.split(code)[0] and "```" in text.split(code, 1)[1]
    assert result.tool_use.generated_tokens == sum(mask)


def test_manual_lockstep_driving_as_a_batched_eval_would(tokenizer):
    """The eval harness may batch many trajectories per generate call: next_request/feed/feed_result by hand."""
    config = StopMachineConfig(eos_token_ids=(tokenizer.eos_token_id,))
    scripts = [CODE_OK + ANSWER, "2+2 is 4." + ANSWER]
    machines = [StopMachine(config, tokenizer, [1], 300) for _ in scripts]
    server, executor = FakeServer(tokenizer, scripts), FakeExecutor()
    rounds = 0
    while not all(m.done for m in machines):
        rounds += 1
        batch = [(i, m.next_request()) for i, m in enumerate(machines) if not m.done]
        for i, req in batch:  # one "batched" generate call per round
            if req is None:
                continue
            params = {"stop": list(req.stops), "include_stop_str_in_output": True, "max_tokens": req.max_tokens}
            out = server.generate_sync(f"r{i}", req.prompt_ids, params)
            call = machines[i].feed(Segment(out["token_ids"]))
            if call is not None:
                machines[i].feed_result(executor.run(call.code))
    results = [m.result() for m in machines]
    assert [r.tool_use.code_calls for r in results] == [1, 0] and rounds == 3
    assert [r.tool_use.finish_reason for r in results] == ["stop", "stop"]
