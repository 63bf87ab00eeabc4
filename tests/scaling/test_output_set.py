"""Issue 25, the analysis's outputs as one set: fits.json and report.md before any figure, a figure that cannot be
drawn becomes a note (never a lost report), error bars that cannot go negative, stale figures removed, and a
refused or failed analysis that leaves an existing out_dir (report, config) exactly as it was."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from hydra import compose, initialize_config_dir
from hypothesis import given
from hypothesis import strategies as st

from recipes.zerotir import analyze
from scaling import analysis, discover, outputs, plots
from tests.scaling.runs import law_run

REPO = Path(__file__).resolve().parents[2]
FAST = ["fit.n_boot=10", "correlation.n_boot=10", "extrapolate_to=100"]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = tmp_path_factory.mktemp("outputs")
    tool = law_run(root / "qwen7b_grpo" / "default", range(1, 41), seed=1)
    no_tool = law_run(root / "qwen7b_zerorl_grpo" / "default", range(1, 41), seed=2, tool=False)
    return analysis.analyse(discover.load([tool, no_tool], []), analysis.Settings(n_boot=10, corr_n_boot=10))


def _run(*overrides: str) -> int:
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        return analyze.run(compose(config_name="analyze", overrides=[*FAST, *overrides]))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_report_and_fits_are_on_disk_before_the_first_figure(result, tmp_path, monkeypatch):
    (tmp_path / "report.md").write_text("an earlier report")
    seen = []
    save = plots._save

    def check_then_save(fig, path):
        if not seen:
            seen.append((tmp_path / "report.md").read_text())
            assert json.loads((tmp_path / "fits.json").read_text())["figure_notes"] == [outputs.PENDING]
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", check_then_save)
    written = outputs.write_set(result, tmp_path, ["x"])
    assert outputs.PENDING in seen[0] and "an earlier report" not in seen[0]
    final = written.report.read_text()
    assert outputs.PENDING not in final and "![code_exec_vs_step](code_exec_vs_step.png)" in final


def test_a_figure_that_cannot_be_drawn_becomes_a_note(result, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        plt.figure()  # left open by the failure: closed by write_all
        raise ValueError("'yerr' must not contain negative values\nmore detail")

    monkeypatch.setattr(plots, "correlation_figure", broken)
    written = outputs.write_set(result, tmp_path, ["x"])
    note = "correlations.png: not drawn (ValueError: 'yerr' must not contain negative values)"
    assert written.figure_notes == [note] and note in written.report.read_text()
    assert json.loads(written.fits.read_text())["figure_notes"] == [note]
    assert {"code_exec_vs_step.png", "series_vs_tokens.png", "compare_tool.png"} <= {p.name for p in written.images}
    assert not (tmp_path / "correlations.png").exists() and not plt.get_fignums()


@given(st.floats(allow_nan=True), st.floats(allow_nan=True), st.floats(allow_nan=True))
def test_error_bars_never_have_a_negative_length(value, low, high):
    yerr = plots.error_bar(value, low, high)
    if yerr is not None:
        (below,), (above,) = yerr
        assert below >= 0 and above >= 0 and math.isfinite(below) and math.isfinite(above)
    else:  # nothing finite to draw: the point is not a number, or its bar would be infinitely long
        assert not math.isfinite(value) or math.isinf(value - low) or math.isinf(high - value)


def _with_extrapolation(result, **values):
    """A copy of the analysis whose tool run's code_exec extrapolation carries these (clipped, odd) values."""
    ra = next(r for r in result.runs if r.run.experiment == "qwen7b_grpo")
    fit = ra.step_fits["code_exec"]
    base = fit.extrapolation or _an_extrapolation(fit)
    new_fit = replace(fit, extrapolation=replace(base, **values))
    new_ra = replace(ra, step_fits={**ra.step_fits, "code_exec": new_fit})
    runs = [new_ra if r is ra else r for r in result.runs]
    return replace(result, runs=runs, settings=replace(result.settings, extrapolate_to=100.0))


def _an_extrapolation(fit):
    from scaling.uncertainty import extrapolate

    return extrapolate(fit.fits, fit.chosen, fit.mixture, 100.0, 0.95, (0.0, 1.0), [])


CASES = {
    "clipped point above its interval": {"value": 1.0, "pi_low": 0.2, "pi_high": 0.9},
    "point below its interval": {"value": 0.1, "pi_low": 0.3, "pi_high": 0.5},
    "interval not finite": {"value": 0.8, "pi_low": math.nan, "pi_high": math.inf},
    "point not finite": {"value": math.nan, "pi_low": 0.2, "pi_high": 0.9},
}


@pytest.mark.parametrize("values", CASES.values(), ids=CASES.keys())
def test_figures_with_clipped_and_extrapolated_values_are_drawn(result, tmp_path, values):
    odd = _with_extrapolation(result, **values)
    images = plots.write_all(odd, tmp_path)  # no notes list: any drawing error fails the test
    assert {"code_exec_vs_step.png", "overview_qwen7b_grpo.png"} <= {p.name for p in images}


def test_stale_figures_are_removed_and_other_files_kept(tmp_path):
    root = tmp_path / "outputs"
    tool = law_run(root / "qwen7b_grpo" / "default", range(1, 41), seed=1)
    law_run(root / "qwen7b_zerorl_grpo" / "default", range(1, 41), seed=2, tool=False)
    out = tmp_path / "analysis"
    assert _run(f"root={root}", f"out_dir={out}") == 0
    assert (out / "compare_tool.png").is_file() and (out / "overview_qwen7b_zerorl_grpo.png").is_file()
    (out / "mine.png").write_bytes(b"a figure of my own")
    assert _run(f"runs=[{tool}]", f"out_dir={out}") == 0
    assert not (out / "compare_tool.png").exists() and not (out / "overview_qwen7b_zerorl_grpo.png").exists()
    assert (out / "mine.png").read_bytes() == b"a figure of my own"
    figures = json.loads((out / "fits.json").read_text())["figures"]
    assert sorted(figures) == sorted(p.name for p in out.glob("*.png") if p.name != "mine.png")


def test_a_refused_or_failed_analysis_leaves_out_dir_as_it_was(tmp_path, monkeypatch):
    run = law_run(tmp_path / "outputs" / "qwen7b_grpo" / "default", range(1, 41), seed=1)
    out = tmp_path / "analysis"
    monkeypatch.setattr(sys, "argv", ["analyze", f"runs=[{run}]", f"out_dir={out}", *FAST])
    analyze.main()  # the real entry point: Hydra writes nothing, the analysis writes its own config
    assert json.loads((out / "fits.json").read_text())["runs"][0]["run"] == "qwen7b_grpo/default"
    recorded = out / ".hydra"
    assert (recorded / "config.yaml").is_file() and f"out_dir={out}" in (recorded / "overrides.yaml").read_text()
    assert not (recorded / "hydra.yaml").exists() and not list(out.glob("*.log"))
    before = _snapshot(out)
    for bad in (
        ["fit.level=1.5"],  # refused by the settings check
        [f"runs=[{tmp_path / 'missing'}]"],  # fails while loading the inputs
        ["extrapolate_to=-100"],
    ):
        monkeypatch.setattr(sys, "argv", ["analyze", f"runs=[{run}]", f"out_dir={out}", *FAST, *bad])
        with pytest.raises(SystemExit) as exit_:
            analyze.main()
        assert exit_.value.code == 1
        assert _snapshot(out) == before, bad


def test_a_new_config_replaces_the_old_one_only_with_a_new_report(tmp_path):
    run = law_run(tmp_path / "outputs" / "qwen7b_grpo" / "default", range(1, 41), seed=1)
    out = tmp_path / "analysis"
    (out / ".hydra").mkdir(parents=True)
    (out / ".hydra" / "overrides.yaml").write_text("- an earlier analysis\n")
    (out / ".hydra" / "hydra.yaml").write_text("hydra: {}\n")
    assert _run(f"runs=[{run}]", f"out_dir={out}") == 0
    assert "extrapolate_to: 100" in (out / ".hydra" / "config.yaml").read_text()
    assert not (out / ".hydra" / "overrides.yaml").exists()  # unknown in-process: not left to contradict
    assert not (out / ".hydra" / "hydra.yaml").exists()
