"""pass@k, maj@k and the summary cell against values computed by hand (in the comments)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluation.metrics import answer_key, majority_correct, pass_at_k, summarize, summarize_cell
from tests.evaluation.factory import record

PASS_AT_K_CASES = [
    # (n, c, k, expected)
    (4, 0, 1, 0.0),
    (4, 4, 1, 1.0),
    (4, 1, 1, 0.25),  # c / n
    (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    (4, 2, 2, 5 / 6),  # 1 - C(2,2)/C(4,2) = 1 - 1/6
    (5, 2, 3, 0.9),  # 1 - C(3,3)/C(5,3) = 1 - 1/10
    (32, 8, 1, 0.25),
    (32, 1, 32, 1.0),  # n - c < k
    (10, 3, 4, 1 - 35 / 210),  # 1 - C(7,4)/C(10,4)
]


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"), PASS_AT_K_CASES, ids=[f"n{n}-c{c}-k{k}" for n, c, k, _ in PASS_AT_K_CASES]
)
def test_pass_at_k_matches_hand_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("n", "c", "k"), [(4, 5, 1), (4, 1, 0), (4, 1, 5), (4, -1, 1)], ids=["c>n", "k=0", "k>n", "c<0"]
)
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError, match=f"n={n}, c={c}, k={k}"):
        pass_at_k(n, c, k)


@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_is_a_probability_that_grows_with_k_and_equals_the_rate_at_k1(args):
    n, c, k = args
    value = pass_at_k(n, c, k)
    assert 0.0 <= value <= 1.0
    assert math.isclose(pass_at_k(n, c, 1), c / n)
    if k < n:
        assert pass_at_k(n, c, k + 1) >= value - 1e-12


MAJ_CASES = [
    # (predictions, correct flags, expected)
    (["5", "6", "5"], [True, False, True], True),
    (["5", "6", "6"], [True, False, False], False),
    (["6", "5"], [False, True], False),  # tie: the answer seen first wins
    (["5", "6"], [True, False], True),
    ([None, None, "7"], [False, False, True], True),  # no answer does not vote
    ([None, None], [False, False], False),
    (["\\frac{1}{2}", "\\frac {1} {2}", "3"], [True, True, False], True),  # whitespace-free keys agree
]


@pytest.mark.parametrize(
    ("preds", "flags", "expected"),
    MAJ_CASES,
    ids=[
        "majority-right",
        "majority-wrong",
        "tie-first-wrong",
        "tie-first-right",
        "none-abstains",
        "all-none",
        "whitespace",
    ],
)
def test_majority_vote(preds, flags, expected):
    samples = [record(sample=i, prediction=p, correct=c) for i, (p, c) in enumerate(zip(preds, flags))]
    assert majority_correct(samples) is expected


def test_answer_key_drops_whitespace_and_empties():
    assert answer_key(" 1, 2 ") == "1,2"
    assert answer_key("   ") is None
    assert answer_key(None) is None


def test_summary_cell_matches_hand_computation():
    # p0: 4 samples, 1 correct; answers 3,3,4(correct),3 -> majority "3" wrong
    # p1: 4 samples, 3 correct; answers 9,9,9,8 -> majority right
    rows = [
        record("p0", 0, False, "3", code_calls=1, code_errors=1, response_tokens=100),
        record("p0", 1, False, "3", code_calls=2, code_timeouts=1, response_tokens=200, finish_reason="length"),
        record("p0", 2, True, "4", code_calls=0, response_tokens=50),
        record("p0", 3, False, "3", code_calls=0, response_tokens=300),
        record("p1", 0, True, "9", code_calls=1, response_tokens=40),
        record("p1", 1, True, "9", code_calls=0, response_tokens=60),
        record("p1", 2, True, "9", code_calls=0, response_tokens=20),
        record("p1", 3, False, "8", code_calls=0, response_tokens=100),
    ]
    cell = summarize_cell("toy", 2, rows, ks=(1, 2, 4, 8), expected=4)
    assert cell.problems == 2 and cell.samples_per_problem == 4 and cell.complete
    assert cell.avg_at_k == pytest.approx((0.25 + 0.75) / 2)
    # pass@2: p0 1 - C(3,2)/C(4,2) = 0.5; p1 1 - C(1,2)/C(4,2) = 1 -> 0.75
    assert cell.pass_at == pytest.approx({1: 0.5, 2: 0.75, 4: 1.0})  # k=8 > n is left out
    assert cell.maj_at_k == pytest.approx(0.5)
    assert cell.tool_use.code_exec_ratio == pytest.approx(3 / 8)
    assert cell.tool_use.code_calls_mean == pytest.approx(4 / 8)
    # one error and one timeout over four executions: apart, as in training's tir/code_error_rate
    assert (cell.tool_use.code_error_rate, cell.tool_use.code_timeout_rate) == pytest.approx((1 / 4, 1 / 4))
    assert cell.tool_use.finish_length_rate == pytest.approx(1 / 8)
    assert cell.response_tokens_correct == pytest.approx((50 + 40 + 60 + 20) / 4)
    assert cell.response_tokens_wrong == pytest.approx((100 + 200 + 300 + 100) / 4)


def test_summary_marks_missing_samples_and_splits_cells():
    rows = [record("p0", 0, True, "1"), record("p0", 1, True, "1"), record("p1", 0, False, "2")]
    rows += [record("p0", 0, False, "2", max_tool_calls=4)]
    cells = summarize(rows, ks=(1, 2), expected=2)
    assert [(c.dataset, c.max_tool_calls) for c in cells] == [("toy", 2), ("toy", 4)]
    assert cells[0].samples_per_problem == 1 and not cells[0].complete
    assert cells[0].pass_at == pytest.approx({1: 0.5})  # pass@2 needs 2 samples of every problem
    assert cells[0].maj_at_k == pytest.approx(0.5)  # votes over the first sample only
    assert (cells[0].tool_use.code_error_rate, cells[0].tool_use.code_timeout_rate) == (0.0, 0.0)  # nothing ran
    assert cells[1].avg_at_k == 0.0


def test_sandbox_failures_have_their_own_column_not_the_code_error_rate():
    from evaluation.report import markdown_table

    # 4 executions: 1 model error, 1 sandbox failure, 2 clean
    samples = [
        record("p0", 0, code_calls=2, code_errors=1),
        record("p0", 1, code_calls=2, sandbox_errors=1),
    ]
    row = summarize_cell("toy", 2, samples)
    assert (row.tool_use.code_error_rate, row.tool_use.sandbox_error_rate) == (0.25, 0.25)
    header, _, line = markdown_table([row]).splitlines()
    column = header.split(" | ").index("sandbox error rate")
    assert line.split(" | ")[column] == "0.250"
