"""Issue 25, messy but legitimate logs: every value the analysis drops (NaN, strings, out-of-range shares, a step
written twice in one file, eval rows it cannot use) is named in a note that reaches report.md and fits.json, and an
`extrapolate_to` inside the data gets a note instead of an interval that pretends to be a forecast."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from scaling import analysis, discover, evallog, report
from scaling.fit import fit_series
from tests.scaling.runs import law_run

FAST = analysis.Settings(n_boot=10, corr_n_boot=10, extrapolate_to=100)


def _messy_run(root):
    """A 40-step run whose log has a null, a string, a NaN, a share of 1e300 and a step written twice."""
    run = law_run(root / "qwen7b_grpo" / "default", range(1, 41), seed=7)
    path = next((run / "metrics").glob("*.jsonl"))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    lines[4]["data"]["tir/acc"] = None  # step 5
    lines[6]["data"]["tir/acc"] = "abc"  # step 7
    lines[8]["data"]["tir/acc"] = math.nan  # step 9: json writes NaN
    lines[10]["data"]["tir/code_exec_ratio"] = 1e300  # step 11
    lines.append({"step": 20, "data": dict(lines[19]["data"])})  # step 20 again, as line 41
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return run


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    root = tmp_path_factory.mktemp("outputs")
    return analysis.analyse(discover.load([_messy_run(root)], []), FAST)


def test_values_that_are_not_numbers_are_named_in_a_note(messy):
    notes = " ".join(messy.runs[0].notes)
    dropped = "tir/acc (null at step 5, 'abc' at step 7, nan at step 9)"
    assert f"3 value(s) that are not finite numbers dropped: {dropped}" in notes
    assert len(messy.runs[0].series_named("train_acc").values) == 37


def test_a_step_written_twice_in_one_file_is_named(messy):
    assert any("1 step(s) written more than once in this file: 20 (lines 20, 41)" in n for n in messy.runs[0].notes)


def test_a_share_out_of_its_range_is_dropped_with_a_note_not_fitted(messy):
    code = messy.runs[0].step_fits["code_exec"]
    assert code.notes[0] == "1 value(s) of tir/code_exec_ratio outside [0, 1] dropped (1e+300 at step 11)"
    assert code.chosen and code.n_points == 39
    assert messy.runs[0].series_named("code_exec").values.max() <= 1


def test_the_notes_reach_report_md_and_fits_json(messy, tmp_path):
    md, fits = report.write(messy, [], tmp_path, ["x"])
    text = md.read_text()
    assert "'abc' at step 7" in text and "1e+300 at step 11" in text and "20 (lines 20, 41)" in text
    data = json.loads(fits.read_text())
    assert any("'abc' at step 7" in n for n in data["runs"][0]["notes"])
    assert "1e+300 at step 11" in data["runs"][0]["step_fits"][0]["notes"][0]


def test_eval_rows_that_are_skipped_or_dropped_are_named(tmp_path):
    rows = [
        {"step": 10, "dataset": "aime24", "avg_at_k": 0.1, "k": 4},
        {"step": 20, "dataset": "aime24", "avg_at_k": 0.2, "k": 4, "complete": False},
        {"step": 30, "dataset": "aime24", "avg_at_k": "NaN", "k": 4},
        {"step": 40, "dataset": "aime24", "avg_at_k": 0.3, "k": 4, "code_exec_ratio": "n/a"},
    ]
    path = tmp_path / "eval" / "x" / "accuracy_vs_step.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"rows": rows}))
    notes = evallog.read_eval(path).notes
    assert notes == [
        "accuracy_vs_step.json: 1 incomplete row(s) skipped: row 1 (step 20, aime24)",
        (
            "accuracy_vs_step.json: 2 not a finite number value(s) dropped: row 2 (step 30, aime24) avg_at_k, "
            "row 3 (step 40, aime24) code_exec_ratio 'n/a'"
        ),
    ]


def test_extrapolate_to_inside_the_data_is_a_note_not_an_extrapolation(tmp_path):
    x = np.arange(1, 61, dtype=float)
    y = 0.15 + 0.06 * np.log(x) + np.random.default_rng(0).normal(0, 0.02, x.size)
    for inside in (30, 60):
        fit = fit_series(x, y, n_boot=10, extrapolate_to=inside)
        assert fit.extrapolation is None and fit.chosen
        assert f"extrapolate_to={inside} is inside the data (last step 60)" in fit.notes[-1]
    assert fit_series(x, y, n_boot=10, extrapolate_to=61).extrapolation is not None


def test_a_report_with_nothing_to_extrapolate_says_so(tmp_path):
    run = law_run(tmp_path / "qwen7b_grpo" / "default", range(1, 41), seed=8)
    s = analysis.Settings(n_boot=10, corr_n_boot=10, extrapolate_to=20)
    text = report.render(analysis.analyse(discover.load([run], []), s), [], tmp_path, [])
    section = text[text.index("## Extrapolation to step 20") :].split("\n## ")[0]
    assert "No series was extrapolated: the step lies inside each fitted series' data" in section
