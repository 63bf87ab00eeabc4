"""The 95 % interval of avg@k over problems: Wilson for one sample a problem, normal over per-problem means else."""

import random

import pytest

from evaluation.metrics import accuracy_interval, summarize_cell
from evaluation.report import markdown_table
from tests.evaluation.factory import record as rec


def test_wilson_values_match_the_textbook():
    lo, hi = accuracy_interval([1.0] * 100 + [0.0] * 100, 1)
    assert (round(lo, 4), round(hi, 4)) == (0.4314, 0.5686)  # Wilson, n = 200, p = 0.5
    lo, hi = accuracy_interval([0.0] * 200, 1)
    assert lo == pytest.approx(0.0, abs=1e-12) and 0.018 < hi < 0.019  # never zero-width at 0/200


@pytest.mark.parametrize("p,samples", [(0.05, 1), (0.3, 1), (0.3, 4), (0.7, 8)])
def test_coverage_is_near_95_percent(p, samples):
    rng = random.Random(f"{p}-{samples}")
    hits, trials = 0, 2000
    for _ in range(trials):
        # per-problem difficulty varies (a Beta around p), as real problems do
        per_problem = []
        for _ in range(200):
            q = min(1.0, max(0.0, rng.betavariate(2, 2 * (1 - p) / p)))
            per_problem.append(sum(rng.random() < q for _ in range(samples)) / samples)
        truth = 2 / (2 + 2 * (1 - p) / p)  # the Beta's mean
        lo, hi = accuracy_interval(per_problem, samples)
        hits += lo <= truth <= hi
    assert 0.93 <= hits / trials <= 0.98  # Wilson runs a little above nominal near 0 and 1


def test_summary_carries_the_interval():
    samples = [rec(problem=str(i), correct=i < 3) for i in range(10)]
    row = summarize_cell("d", 1, samples)
    assert row.avg_at_k == 0.3 and row.avg_at_k_ci95[0] < 0.3 < row.avg_at_k_ci95[1]
    assert row.as_dict()["avg_at_k_ci95"] == list(row.avg_at_k_ci95)
    assert "95 % interval" in markdown_table([row]) and "10.8-60.3" in markdown_table([row])


def test_identical_problems_never_give_a_zero_width_interval():
    lo, hi = accuracy_interval([0.0] * 16, 4)  # 0 of 4 on every problem: no spread between problems
    assert lo == pytest.approx(0.0, abs=1e-12) and 0.05 < hi < 0.06  # Wilson of 0/64 pooled
    lo, hi = accuracy_interval([0.5] * 16, 4)
    assert lo < 0.5 < hi
