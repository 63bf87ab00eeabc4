"""Analysis of small synthetic runs end to end: report, fits.json, figures, W&B spec, SYNTHETIC labels."""

from __future__ import annotations

import json
import os
import stat

import pytest

from runs.atomic import FILE_MODE
from scaling import analysis, discover, plots, report, wandb_report
from tests.scaling.fakes import FakeReportAPI
from tests.scaling.runs import law_run, write_launch

FAST = analysis.Settings(n_boot=30, corr_n_boot=30, extrapolate_to=400)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = tmp_path_factory.mktemp("outputs")
    tool = law_run(root / "qwen7b_grpo" / "default", range(1, 121), seed=1)
    no_tool = law_run(root / "qwen7b_zerorl_grpo" / "default", range(1, 81), seed=2, tool=False)
    write_launch(tool, "20260102-000000", [(s, {"tir/acc": 0.5}) for s in range(110, 116)])  # a restart
    return analysis.analyse(discover.load([tool, no_tool], []), FAST)


def test_every_series_is_fitted_or_explained(result):
    by_id = {ra.run.run_id: ra for ra in result.runs}
    tool, no_tool = by_id["qwen7b_grpo/default"], by_id["qwen7b_zerorl_grpo/default"]
    assert set(tool.step_fits) == {"code_exec", "response_length", "train_acc"}
    assert all(f.chosen for f in tool.step_fits.values())
    assert tool.step_fits["response_length"].fits["power"].param("b").ci_low < 0.5
    assert no_tool.step_fits["code_exec"].chosen is None
    assert "constant series" in no_tool.step_fits["code_exec"].notes[0]
    assert any("repeats steps 110-115" in n for n in tool.notes)
    assert set(tool.token_fits) == set(tool.step_fits)
    assert "not logged: val_acc" not in " ".join(tool.notes)  # wildcard families are optional


def test_groupings_compare_tool_and_no_tool(result):
    assert result.groupings["tool"] == {"no tool": ["qwen7b_zerorl_grpo/default"], "tool": ["qwen7b_grpo/default"]}
    assert "model" not in result.groupings  # both runs are qwen7b: nothing to compare


def test_correlations_cover_the_three_pairs(result):
    tool = next(ra for ra in result.runs if ra.run.run_id == "qwen7b_grpo/default")
    pairs = {(c.x, c.y, c.method) for c in tool.correlations}
    assert len(pairs) == 6 and ("code_exec", "response_length", "spearman") in pairs
    assert all(c.r > 0.5 for c in tool.correlations)  # all three rise with step


def test_report_and_fits_json(result, tmp_path):
    images = plots.write_all(result, tmp_path)
    names = {p.name for p in images}
    assert {"code_exec_vs_step.png", "series_vs_tokens.png", "correlations.png", "compare_tool.png"} <= names
    # the paper's three curves side by side, one figure per run that logged them
    assert {"overview_qwen7b_grpo.png", "overview_qwen7b_zerorl_grpo.png"} <= names
    assert all(p.stat().st_size > 10_000 for p in images)
    md, fits = report.write(result, images, tmp_path, ["x"])
    text = md.read_text()
    assert "SYNTHETIC" not in text  # real-looking runs are not labelled synthetic
    assert "## Extrapolation to step 400" in text and "![code_exec_vs_step](code_exec_vs_step.png)" in text
    data = json.loads(fits.read_text())
    assert data["synthetic"] is False and len(data["runs"]) == 2
    fit = data["runs"][0]["step_fits"][0]
    assert {"chosen", "fits", "extrapolation", "notes"} <= set(fit)


def test_synthetic_inputs_are_labelled_everywhere(result, tmp_path):
    for ra in result.runs:
        ra.run.synthetic = True
    try:
        md = report.render(result, [], tmp_path, [])
        spec = wandb_report.build(result, "zerotir")
        assert md.startswith("# ZeroTIR scaling-law analysis (SYNTHETIC DATA)") and "> **SYNTHETIC DATA.**" in md
        assert "SYNTHETIC" in spec.title and spec.description.startswith("SYNTHETIC")
        assert plots._title(result, "x").startswith("SYNTHETIC DATA")
        assert result.runs[0].run.label.endswith("[SYNTHETIC]")
    finally:
        for ra in result.runs:
            ra.run.synthetic = False


def test_every_output_file_is_world_readable_whatever_the_umask(result, tmp_path):
    """report.md, fits.json, wandb_report.json and the figures go through runs.atomic (mode 0644)."""
    old = os.umask(0o077)  # a locked-down shell or batch system; tempfile's private 0600 was the old result
    try:
        images = plots.write_all(result, tmp_path)
        written = [*images, *report.write(result, images, tmp_path, ["x"])]
        written.append(wandb_report.write_spec(wandb_report.build(result, "zerotir", None), tmp_path / "w.json"))
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {FILE_MODE}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)  # no temporaries left


def test_wandb_spec_and_online_creation_through_the_report_api(result, tmp_path):
    spec = wandb_report.build(result, "zerotir", "me")
    path = wandb_report.write_spec(spec, tmp_path / "wandb_report.json")
    data = json.loads(path.read_text())
    paper = data["grids"][0]
    assert (
        paper["filters"]
        == "Config('trainer.experiment_name') in ['qwen7b_grpo__default', 'qwen7b_zerorl_grpo__default']"
    )
    ys = {p["y"][0] for p in paper["panels"] if p["x"] == "Step"}
    assert {"tir/code_exec_ratio", "tir/response_length/all", "tir/acc"} <= ys
    assert any(p["x"] == "tir/cum_generated_tokens" for p in paper["panels"])
    assert any(g["title"] == "Comparison by tool: no tool" for g in data["grids"])
    wr = FakeReportAPI()
    url = wandb_report.create(spec, wr)
    assert url == "https://wandb.example/report/1" and len(wr.saved) == 1
    saved = wr.saved[0].kwargs
    assert saved["entity"] == "me" and saved["project"] == "zerotir"
    grids = [b for b in saved["blocks"] if type(b).__name__ == "PanelGrid"]
    assert len(grids) == len(spec.grids)
    assert grids[0].kwargs["runsets"][0].kwargs["filters"] == paper["filters"]


def test_summary_says_which_way_each_series_went(result, tmp_path):
    text = report.render(result, [], tmp_path, [])
    summary = text[text.index("## Summary") : text.index("## Inputs")]
    tool_row = next(line for line in summary.splitlines() if line.startswith("| qwen7b_grpo |"))
    no_tool_row = next(line for line in summary.splitlines() if line.startswith("| qwen7b_zerorl_grpo |"))
    assert tool_row.count("↑") == 3 and "(step 400:" in tool_row
    assert "no fit" in no_tool_row  # constant code_exec of the no-tool run


def test_titles_of_a_run_named_by_its_overrides_stay_inside_their_panels(tmp_path, monkeypatch):
    """A Hydra sweep folder name is longer than a panel is wide: titles and legends wrap instead of clipping."""
    sweep = "actor_rollout_ref.actor.optim.lr=1e-05,data.train_batch_size=4"
    runs = [law_run(tmp_path / "outputs" / "cpu_learn" / sweep, range(1, 41), seed=3)]
    runs.append(law_run(tmp_path / "outputs" / "cpu_learn" / "default", range(1, 41), seed=4, tool=False))
    result = analysis.analyse(discover.load(runs, []), analysis.Settings(n_boot=10, corr_n_boot=10))
    checked = []
    save = plots._save

    def check_then_save(fig, path):
        fig.tight_layout()
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        width = fig.bbox.width
        texts = [fig._suptitle] + [t for ax in fig.axes if ax.get_visible() for t in (ax.title, *ax.texts)]
        for text in (t for t in texts if t is not None and t.get_text()):
            box = text.get_window_extent(renderer)
            assert box.x0 >= -1 and box.x1 <= width + 1, (path.name, text.get_text())
        for ax in (a for a in fig.axes if a.get_visible() and a.get_title()):
            assert ax.title.get_window_extent(renderer).width <= ax.bbox.width * 1.15, (path.name, ax.get_title())
        checked.append(path.name)
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", check_then_save)
    plots.write_all(result, tmp_path / "figures")
    assert {"code_exec_vs_step.png", "series_vs_tokens.png", "correlations.png", "compare_tool.png"} <= set(checked)
    assert any(name.startswith("overview_cpu_learn_actor_rollout_ref") for name in checked)


def test_trends_with_step_say_which_series_rise(result, tmp_path):
    """The paper's claim is a rise *with steps*: each correlated series gets its Spearman r with step."""
    tool = next(ra for ra in result.runs if ra.run.experiment == "qwen7b_grpo")
    trends = {c.y: c for c in tool.trends}
    assert {"code_exec", "train_acc", "response_length"} <= set(trends)
    assert all(c.x == "step" and c.method == "spearman" for c in trends.values())
    assert all(c.r > 0.5 and c.ci_low > 0 for c in trends.values())  # every synthetic law rises
    no_tool = next(ra for ra in result.runs if ra.run.experiment == "qwen7b_zerorl_grpo")
    flat = {c.y: c for c in no_tool.trends}.get("code_exec")
    assert flat is None or not flat.ci_low > 0  # code_exec is constantly 0 without tools: no trend
    md, fits = report.write(result, [], tmp_path, ["x"])
    assert "## Trends with step" in md.read_text()
    assert json.loads(fits.read_text())["runs"][0]["trends"]
