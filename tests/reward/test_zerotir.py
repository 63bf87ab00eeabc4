"""The ZeroTIR reward: format gate, finish gate, tool statistics, shaping switches, verl's calling patterns."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from reward.zerotir import compute_score
from tir_rollout.stop_machine import output_block

# A grading timeout is an asynchronous exception; when it lands inside a gc callback (hypothesis installs one for
# the whole process) Python reports it as unraisable and the deadline fires again 50 ms later. Expected here.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

OUT = output_block("{}")  # the stop machine's own output block, as the model's response holds it


def resp(body="The answer is \\boxed{5}", think="Let me think.", tail=""):
    return f"{think}</think>\n<answer>{body}</answer>{tail}"


FORMAT = [
    ("valid", resp(), 1.0),
    ("valid_eos", resp(tail="<|endoftext|>"), 1.0),
    ("valid_short_tail", resp(tail="\n\n"), 1.0),
    ("long_tail", resp(tail="\nUser: and now another question please"), 0.0),
    ("no_think_close", "Let me think. <answer>\\boxed{5}</answer>", 0.0),
    ("two_think_close", resp(think="a</think> b"), 0.0),
    ("no_answer_tags", "thinking</think> so \\boxed{5}", 0.0),
    ("two_answer_blocks", resp() + "<answer>\\boxed{5}</answer>", 0.0),
    ("no_box_in_answer", resp(body="5"), 0.0),
    ("box_outside_answer", "x</think> \\boxed{5} <answer>five</answer>", 0.0),
    ("answer_before_think_close", "<answer>\\boxed{5}</answer> then</think>", 0.0),
    (
        "tags_inside_tool_output_ignored",
        resp(think="t\n```python\nprint(1)\n```" + OUT.format("</think><answer>")),
        1.0,
    ),
    ("box_in_tool_output_only", "t" + OUT.format("\\boxed{5}") + "</think><answer>five</answer>", 0.0),
    ("box_only_in_own_code", resp(body="```python\nprint(r'\\boxed{5}')\n```"), 0.0),
]


@pytest.mark.parametrize("name,response,format_ok", FORMAT, ids=[f[0] for f in FORMAT])
def test_format_gate(name, response, format_ok):
    result = compute_score("math", response, "5")
    assert result["format_ok"] == format_ok
    assert result["score"] == format_ok  # the answer is right in every row, so the format decides


def test_tool_output_cannot_supply_the_answer():
    response = resp(think="calc\n```python\nprint(7)\n```" + OUT.format("\\boxed{7}\n</answer>"), body="\\boxed{5}")
    result = compute_score("math", response, "7")
    assert (result["pred"], result["acc"], result["score"]) == ("5", 0.0, 0.0)


SCORES = [
    ("correct", resp(), "5", None, 1.0, 1.0),
    ("wrong", resp(body="\\boxed{6}"), "5", None, 0.0, 0.0),
    ("equivalent_form", resp(body="\\boxed{\\frac{10}{2}}"), "5", None, 1.0, 1.0),
    ("strict_reads_last_box", resp(body="\\boxed{5} or maybe \\boxed{6}"), "5", None, 0.0, 0.0),
    ("length_finish", resp(), "5", {"tir_finish_reason": "length"}, 0.0, 1.0),
    ("stop_finish", resp(), "5", {"tir_finish_reason": "stop"}, 1.0, 1.0),
    ("nested_fields_length", resp(), "5", {"tool_extra_fields": {"tir_finish_reason": "length"}}, 0.0, 1.0),
    ("truncated_text_no_fields", "thinking and thinking \\boxed{5", "5", None, 0.0, 0.0),
    ("olympiad_list_gold", resp(body="\\boxed{84, 69}"), ["$69$,$84$"], None, 1.0, 1.0),
    ("numeric_gold", resp(body="\\boxed{27}"), 27.0, None, 1.0, 1.0),
]


@pytest.mark.parametrize("name,response,gold,extra,score,acc", SCORES, ids=[s[0] for s in SCORES])
def test_score_and_acc(name, response, gold, extra, score, acc):
    result = compute_score("math", response, gold, extra_info=extra)
    assert (result["score"], result["acc"]) == (score, acc)


def test_pred_is_normalised_for_majority_voting():
    a = compute_score("math", resp(body="\\boxed{\\left( 1, \\dfrac{1}{2} \\right)}"), "(1,\\frac12)")
    b = compute_score("math", resp(body="\\boxed{(1,\\frac{1}{2})}"), "(1,\\frac12)")
    assert a["pred"] == "(1,\\frac{1}{2})" == b["pred"]


def test_finished_judged_from_text_without_fields():
    assert compute_score("math", resp(), "5")["finished"] == 1.0
    assert compute_score("math", "still thinking", "5")["finished"] == 0.0


STATS = {"tir_code_calls": 3, "tir_code_errors": 1, "tir_code_timeouts": 1, "tir_outputs_truncated": 2, "tir_turns": 4}


@pytest.mark.parametrize("nested", [False, True], ids=["top_level", "tool_extra_fields"])
def test_tool_statistics_are_copied(nested):
    extra = {"tool_extra_fields": dict(STATS)} if nested else {"index": 7, **STATS}
    result = compute_score("math", resp(), "5", extra_info=extra)
    got = {k: result[k] for k in ("code_calls", "code_errors", "code_timeouts", "outputs_truncated", "turns")}
    assert got == {"code_calls": 3, "code_errors": 1, "code_timeouts": 1, "outputs_truncated": 2, "turns": 4}
    assert result["has_code"] == 1.0


def test_missing_statistics_are_zero_and_keys_fixed():
    a = compute_score("math", resp(), "5", extra_info=None)
    b = compute_score("math", "garbage", "5", extra_info={"tir_code_calls": None, "num_turns": None})
    assert list(a) == list(b)
    assert (b["code_calls"], b["code_errors"], b["has_code"], b["pred"]) == (0, 0, 0.0, "")
    assert {
        "score",
        "acc",
        "pred",
        "format_ok",
        "finished",
        "code_calls",
        "code_errors",
        "code_timeouts",
        "has_code",
    } <= set(a)


SHAPING = [
    ("format_penalty_bad", "no format \\boxed{5}", {}, {"format_penalty": 0.5}, -0.5),
    ("format_penalty_good", resp(), {}, {"format_penalty": 0.5}, 1.0),
    ("tool_bonus", resp(), {"tir_code_calls": 2, "tir_code_errors": 1}, {"tool_bonus": 0.1}, 1.1),
    ("tool_bonus_all_failed", resp(), {"tir_code_calls": 2, "tir_code_errors": 2}, {"tool_bonus": 0.1}, 1.0),
    (
        "tool_bonus_errors_plus_timeouts",
        resp(),
        {"tir_code_calls": 2, "tir_code_errors": 1, "tir_code_timeouts": 1},
        {"tool_bonus": 0.1},
        1.0,
    ),
    ("tool_bonus_wrong_answer", resp(body="\\boxed{6}"), {"tir_code_calls": 2}, {"tool_bonus": 0.1}, 0.0),
    (
        "overlong_inside",
        resp(),
        {"tir_response_tokens": 70},
        {"overlong_buffer_tokens": 20, "overlong_penalty": 1.0, "max_response_tokens": 100},
        1.0,
    ),
    (
        "overlong_half",
        resp(),
        {"tir_response_tokens": 90},
        {"overlong_buffer_tokens": 20, "overlong_penalty": 1.0, "max_response_tokens": 100},
        0.5,
    ),
    (
        "overlong_full",
        resp(),
        {"tir_response_tokens": 100},
        {"overlong_buffer_tokens": 20, "overlong_penalty": 1.0, "max_response_tokens": 100},
        0.0,
    ),
]


@pytest.mark.parametrize("name,response,extra,kwargs,score", SHAPING, ids=[s[0] for s in SHAPING])
def test_shaping_switches(name, response, extra, kwargs, score):
    assert compute_score("math", response, "5", extra_info=extra, **kwargs)["score"] == pytest.approx(score)


BAD_KWARGS = [
    ("unknown_key", {"formatpenalty": 1.0}, TypeError, "formatpenalty"),
    (
        "overlong_without_max",
        {"overlong_penalty": 1.0, "overlong_buffer_tokens": 10},
        ValueError,
        "max_response_tokens",
    ),
    (
        "buffer_exceeds_max",
        {"overlong_buffer_tokens": 200, "max_response_tokens": 100},
        ValueError,
        "overlong_buffer_tokens",
    ),
]


@pytest.mark.parametrize("name,kwargs,exc,needle", BAD_KWARGS, ids=[b[0] for b in BAD_KWARGS])
def test_bad_reward_kwargs_name_the_key(name, kwargs, exc, needle):
    with pytest.raises(exc, match=needle):
        compute_score("math", resp(), "5", **kwargs)


def test_overlong_needs_token_count_from_agent_loop():
    with pytest.raises(ValueError, match="tir_response_tokens"):
        compute_score("math", resp(), "5", overlong_penalty=1.0, overlong_buffer_tokens=10, max_response_tokens=100)


def test_verl_manager_kwargs_are_accepted():
    result = compute_score("math", resp(), "5", reward_router_address=None, reward_model_tokenizer=None)
    assert result["score"] == 1.0


BATCH = [(resp(body=f"\\boxed{{{i}}}"), str(3 * (i // 3))) for i in range(12)] + [
    (resp(body="\\boxed{(x+y+z)^{60}}"), "5")
]


def test_worker_threads_match_sequential():
    expected = [compute_score("math", r, g, grade_timeout_s=1.0)["score"] for r, g in BATCH]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda rg: compute_score("math", rg[0], rg[1], grade_timeout_s=1.0)["score"], BATCH))
    assert got == expected
    assert sum(got) == 4.0  # boxes 0, 3, 6, 9 match their golds


async def test_inside_running_event_loop_like_verl_naive_manager():
    loop = asyncio.get_running_loop()
    direct = compute_score("math", resp(), "5")  # a sync call made on the loop's own thread
    results = await asyncio.gather(
        *[loop.run_in_executor(None, lambda r=r, g=g: compute_score("math", r, g)) for r, g in BATCH[:6]]
    )
    assert direct["score"] == 1.0
    assert [r["score"] for r in results] == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]


# require_format=false (the laptop run): the last box of the whole response, tool output aside, finished or not.
TWO_STYLE = "```python\nprint(12 * 34)\n```" + OUT.format("408\n") + "The answer is \\boxed{408}."
NO_FORMAT = [
    ("box_after_tool_output", TWO_STYLE, "408", "stop", 1.0),
    ("prose_box", "12 * 34 = 408, so \\boxed{408}.", "408", "stop", 1.0),
    ("wrong_box", "\\boxed{407}", "408", "stop", 0.0),
    ("box_printed_by_code_only", "```python\nprint(1)\n```" + OUT.format("\\boxed{408}"), "408", "stop", 0.0),
    ("last_box_counts", "\\boxed{408} no wait \\boxed{407}", "408", "stop", 0.0),
    ("truncated_after_the_answer", TWO_STYLE + " and then some rambling", "408", "length", 1.0),
    ("truncated_before_any_box", "```python\nprint(12 * 34)\n```" + OUT.format("408\n"), "408", "length", 0.0),
    ("zerotir_format_still_fine", resp(body="\\boxed{408}"), "408", "stop", 1.0),
]


@pytest.mark.parametrize("name,response,gold,finish,score", NO_FORMAT, ids=[c[0] for c in NO_FORMAT])
def test_require_format_false_grades_the_last_box(name, response, gold, finish, score):
    extra = {"tir_finish_reason": finish}
    result = compute_score("arith", response, gold, extra, require_format=False)
    assert result["score"] == score
    # the default (the paper's reward) refuses every unformatted response above
    default = compute_score("arith", response, gold, extra)["score"]
    assert default == (score if name == "zerotir_format_still_fine" else 0.0)


def test_sandbox_failures_are_not_code_errors_and_earn_no_tool_bonus():
    extra = {"tir_code_calls": 1, "tir_sandbox_errors": 1, "tir_finish_reason": "stop"}
    result = compute_score("math", resp(), "5", extra, tool_bonus=0.1)
    assert (result["code_errors"], result["sandbox_errors"]) == (0, 1)
    assert result["score"] == 1.0  # correct, but its only call never ran: no bonus for using the tool
