"""Law choice that respects the evidence, intervals that include the choice, and the `unreliable` verdict."""

from __future__ import annotations

import json

import numpy as np

from scaling import choice, report
from scaling.analysis import Analysis, RunAnalysis, Settings
from scaling.fit import fit_series
from scaling.laws import LAWS
from scaling.run import Run

PARAMS = np.array([3, 3, 2])  # parameters of saturating, power, log_linear in the arrays below


def test_a_flagged_law_loses_to_a_comparable_unflagged_one():
    scores = np.array([[1.10], [1.30], [1.00]])  # log_linear forecasts best ...
    flagged = np.array([[False], [False], [True]])  # ... but its residuals are structured
    assert choice.choose(scores, flagged, PARAMS)[0] == 0  # saturating, within 1.5x, wins


def test_a_flagged_law_wins_only_when_it_forecasts_clearly_better():
    scores = np.array([[1.6], [1.7], [1.0]])  # every unflagged law is more than 1.5x worse
    flagged = np.array([[False], [False], [True]])
    assert choice.choose(scores, flagged, PARAMS)[0] == 2
    everything_flagged = np.ones((3, 1), bool)
    assert choice.choose(np.array([[1.2], [1.1], [1.0]]), everything_flagged, PARAMS)[0] == 2


def test_parsimony_only_among_unflagged_laws_and_rows_are_independent():
    scores = np.array([[1.00, 1.00], [1.04, 0.90], [1.02, 2.00]])
    flagged = np.array([[False, False], [False, False], [False, True]])
    # row 0: log_linear (2 params) within 5 % of the best wins; row 1: power is clearly best
    np.testing.assert_array_equal(choice.choose(scores, flagged, PARAMS), [2, 1])
    assert choice.choose(np.full((3, 1), np.nan), np.zeros((3, 1), bool), PARAMS)[0] == -1


def test_on_data_the_structured_law_is_set_aside_even_though_it_forecasts_best():
    """A saturating curve over 160 steps (the 1.5B example's law): log_linear forecasts the tail a little
    better, the old held-out rule picked it, yet its residuals run in long same-sign stretches."""
    x = np.arange(1, 161, dtype=float)
    truth = LAWS["saturating"].predict(x, np.array([[0.7, 0.03, 50.0]]))[0]
    y = truth + np.random.default_rng(95).normal(0, 0.03, x.size)
    fit = fit_series(x, y, n_boot=30)
    ll, sat = fit.fits["log_linear"], fit.fits["saturating"]
    assert ll.cv_rmse < sat.cv_rmse and ll.structured and not sat.structured  # the premise
    assert fit.chosen == "saturating"
    assert np.sqrt(np.mean((fit.best.predict(x) - truth) ** 2)) < 0.5 * 0.03  # within half a noise sd


def _power_run(seed: int, steps: int):
    x = np.arange(1, steps + 1, dtype=float)
    y = LAWS["power"].predict(x, np.array([[40.0, 0.5, 600.0]]))[0] + np.random.default_rng(seed).normal(0, 25, steps)
    return x, y


def test_where_plausible_laws_part_ways_the_extrapolation_is_unreliable_and_the_interval_spans_them():
    x, y = _power_run(0, 120)  # 120 steps of sqrt growth: a slow saturation fits them too
    fit = fit_series(x, y, n_boot=80, extrapolate_to=240)
    e = fit.extrapolation
    assert abs(sum(e.shares.values()) - 1) < 1e-9 and e.shares == fit.shares
    plausible = [m for m, s in e.shares.items() if s >= 0.1]
    assert len(plausible) >= 2 and e.verdict == "unreliable"
    assert all(m in e.reason for m in plausible) and "do not settle" in e.reason
    own = e.by_law[fit.chosen]
    assert e.ci_high - e.ci_low > own.ci_high - own.ci_low  # the choice of law widens the interval
    for m in plausible:  # the combined interval reaches each plausible law's prediction
        assert e.ci_low <= e.by_law[m].value <= e.ci_high


def test_a_well_determined_law_extrapolates_reliably():
    x = np.arange(1, 241, dtype=float)
    y = 0.15 + 0.06 * np.log(x) + np.random.default_rng(3).normal(0, 0.02, x.size)
    e = fit_series(x, y, n_boot=80, extrapolate_to=480).extrapolation
    assert e.verdict == "reliable" and e.reason == "" and e.shares["log_linear"] > 0.9


def test_the_verdict_and_shares_reach_report_md_and_fits_json(tmp_path):
    import pandas as pd

    x, y = _power_run(0, 120)
    fit = fit_series(x, y, n_boot=40, extrapolate_to=240, run="exp/run", series="response_length")
    run = Run("exp", "run", tmp_path, pd.DataFrame({"k": y}, index=x.astype(int)))
    analysis = Analysis([RunAnalysis(run, [], {"response_length": fit}, {}, None, None, [])], {}, Settings())
    analysis.settings.extrapolate_to = 240
    text = report.render(analysis, [], tmp_path, [])
    row = next(line for line in text.splitlines() if line.startswith("| exp/run | response_length | power |"))
    assert "**unreliable**: " in row and fit.extrapolation.reason.split(":")[0] in row
    assert f"power {fit.shares['power']:.0%}" in row
    data = json.loads(json.dumps(report.fits_json(analysis), allow_nan=False))
    e = data["runs"][0]["step_fits"][0]["extrapolation"]
    assert e["verdict"] == "unreliable" and e["reason"] == fit.extrapolation.reason
    assert set(e["shares"]) == set(LAWS) and set(e["by_law"]) == set(e["shares"])
