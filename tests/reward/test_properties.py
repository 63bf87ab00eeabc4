"""Invariants of the grader under random and adversarial input (hypothesis)."""

import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reward.extract import extract_answer
from reward.grader import grade_answer, grade_prediction, grade_prediction_timed
from reward.zerotir import compute_score

# A grading timeout is an asynchronous exception; when it lands inside a gc callback (hypothesis installs one for
# the whole process) Python reports it as unraisable and the deadline fires again 50 ms later. Expected here.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

BOUND_S = 1.0
SLACK_S = 2.0  # two cores shared with other jobs: scheduling delay, not grading time
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_ints = st.integers(-(10**6), 10**6).map(str)
_fracs = st.tuples(st.integers(1, 999), st.integers(2, 999)).map(lambda t: f"\\frac{{{t[0]}}}{{{t[1]}}}")
_radicals = st.tuples(st.integers(1, 20), st.integers(2, 99)).map(lambda t: f"{t[0]}\\sqrt{{{t[1]}}}")
_symbolic = st.sampled_from(["n", "2n+1", "x^2-1", "\\pi", "2^{k}", "\\frac{n(n+1)}{2}", "\\binom{2n}{n}"])
_atoms = st.one_of(_ints, _fracs, _radicals, _symbolic)
_tuples = st.lists(_atoms, min_size=2, max_size=4).map(lambda xs: "(" + ", ".join(xs) + ")")
_intervals = st.tuples(st.sampled_from("(["), _atoms, _atoms, st.sampled_from(")]")).map(
    lambda t: f"{t[0]}{t[1]}, {t[2]}{t[3]}"
)
_texts = st.sampled_from(["\\text{Evelyn}", "\\text{odd}", "yes", "\\text{(C)}", "\\text{June 20}"])
_lists = st.lists(st.one_of(_atoms, _tuples), min_size=2, max_size=4).map(", ".join)
GOLDS = st.one_of(_atoms, _tuples, _intervals, _texts, _lists)

_adversarial_pieces = st.sampled_from(
    ["{", "}", "\\frac{", "^{", "10^{10^{10}}", "\\sqrt{", "\\boxed{", "!", "9" * 50, "\\left(", "\\right)", "$", ","]
)
ADVERSARIAL = st.one_of(
    st.text(max_size=300),
    st.lists(_adversarial_pieces, max_size=200).map("".join),
    st.integers(1, 400).map(lambda n: "{" * n + "1" + "}" * n),
    st.integers(1, 60).map(lambda n: "10^{" * n + "10" + "}" * n),
)


@FAST
@given(GOLDS)
def test_gold_grades_correct_against_itself(gold):
    assert grade_prediction(gold, gold)
    assert grade_prediction(f"${gold}$", gold)
    assert grade_answer(f"So the answer is \\boxed{{{gold}}}.", gold)


@FAST
@given(st.integers(-(10**9), 10**9), st.integers(-(10**9), 10**9))
def test_distinct_integers_never_match(a, b):
    assert grade_prediction(str(a), str(b)) is (a == b)


@FAST
@given(st.fractions(min_value=-1000, max_value=1000, max_denominator=1000))
def test_fraction_equals_its_reduced_forms(x):
    frac = f"\\frac{{{x.numerator}}}{{{x.denominator}}}"
    assert grade_prediction(frac, f"\\frac{{{2 * x.numerator}}}{{{2 * x.denominator}}}")
    assert not grade_prediction(frac, f"\\frac{{{x.numerator + 1}}}{{{x.denominator}}}")
    assert grade_prediction(str(x.numerator), frac) is (x.denominator == 1)


_distinct = st.lists(st.integers(-50, 50), min_size=2, max_size=5, unique=True)


@FAST
@given(_distinct.flatmap(lambda v: st.tuples(st.just(v), st.permutations(v))))
def test_solution_lists_ignore_order_and_tuples_keep_it(pair):
    values, shuffled = pair
    assume(list(shuffled) != values)
    gold_list, pred_list = ", ".join(map(str, values)), ", ".join(map(str, shuffled))
    assert grade_prediction(pred_list, gold_list)
    assert not grade_prediction(f"({pred_list})", f"({gold_list})")
    assert not grade_prediction(", ".join(map(str, values[:-1])), gold_list)


def _bounded_call(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ADVERSARIAL, st.one_of(ADVERSARIAL, _atoms))
def test_adversarial_inputs_never_raise_or_overrun(pred, gold):
    result, elapsed = _bounded_call(grade_prediction, pred, gold, BOUND_S)
    assert isinstance(result, bool)
    assert elapsed < BOUND_S + SLACK_S
    result, elapsed = _bounded_call(grade_answer, pred, gold, BOUND_S)
    assert isinstance(result, bool)
    assert elapsed < BOUND_S + SLACK_S
    strict = extract_answer(pred, strict=True)
    assert strict is None or strict in pred


HOSTILE = {
    "power_tower": "10^{10^{10}}",
    "deep_tower": "2^{2^{2^{2^{2^{2}}}}}",
    "factorial": "100000!",
    "binomial": "\\binom{10^{10}}{5000}",
    "gamma": "\\Gamma(10^{9})",
    "nested_braces": "{" * 500 + "1" + "}" * 500,
    "nested_fracs": "\\frac{" * 200 + "1}{2}" * 200,
    "long_sum": "1+" * 30000 + "1",
    "100kb": "x" * 100_000,
    "unbalanced": "\\frac{1}{" * 1000,
    "many_boxes": "\\boxed{" * 30000,
    "slow_expand": "(x+y+z)^{60}",
    "slow_integral": "\\int_0^{10^{10}} x^{x} dx",
    "huge_sum": "\\sum_{k=1}^{10^{12}} k",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_answers_stay_within_bound(text):
    for fn, arg in ((grade_prediction, text), (grade_answer, f"\\boxed{{{text}}}")):
        result, elapsed = _bounded_call(fn, arg, "5", BOUND_S)
        assert result is False
        assert elapsed < BOUND_S + SLACK_S


@FAST
@given(st.text(max_size=400), st.sampled_from(["5", "\\frac12", "(1,2)", "[1, 2]"]))
def test_reward_stays_in_its_set_with_fixed_keys(response, gold):
    result = compute_score("math", response, gold)
    assert result["score"] in (0.0, 1.0)
    assert set(result) == set(compute_score("math", "</think><answer>\\boxed{5}</answer>", "5"))
    assert all(isinstance(v, (int, float)) for k, v in result.items() if k != "pred")
    assert isinstance(result["pred"], str)


@pytest.mark.parametrize(
    "pred,gold,expected",
    [
        (", ".join(["1"] * 39 + ["2"]), ", ".join(["1"] * 39 + ["3"]), False),
        (", ".join(["\\frac{1}{2}"] * 39 + ["2"]), ", ".join(["0.5"] * 39 + ["2"]), True),
    ],
    ids=["near_identical_mismatch", "near_identical_match"],
)
def test_long_lists_of_equal_items_are_matched_without_search_blowup(pred, gold, expected):
    assert grade_prediction_timed(pred, gold, timeout_s=BOUND_S) == (expected, False)
