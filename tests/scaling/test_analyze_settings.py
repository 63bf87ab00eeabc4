"""Issue 25, analysis settings: every bad setting is refused before anything is read or written, in one line that
names the key, with exit code 1 and no traceback; a bare string where a list belongs is never read per character."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from recipes.zerotir import analyze, analyze_settings

REPO = Path(__file__).resolve().parents[2]

BAD = [  # (override, the key the message must name, a piece of the reason)
    ("extrapolate_to=-100", "extrapolate_to", "beyond the data"),
    ("extrapolate_to=0", "extrapolate_to", "beyond the data"),
    ("extrapolate_to=abc", "extrapolate_to", "got 'abc'"),
    ("extrapolate_to=true", "extrapolate_to", "got True"),
    ("fit.level=1.5", "fit.level", "in (0, 1)"),
    ("fit.level=0", "fit.level", "in (0, 1)"),
    ("fit.level=1", "fit.level", "in (0, 1)"),
    ("fit.level=abc", "fit.level", "in (0, 1)"),
    ("fit.n_boot=0", "fit.n_boot", ">= 1"),
    ("fit.n_boot=-5", "fit.n_boot", ">= 1"),
    ("fit.n_boot=2.5", "fit.n_boot", "whole number"),
    ("fit.n_boot=abc", "fit.n_boot", "got 'abc'"),
    ("correlation.n_boot=0", "correlation.n_boot", ">= 1"),
    ("fit.min_points=2", "fit.min_points", ">= 4"),
    ("fit.seed=x", "fit.seed", "integer"),
    ("fit.origins=[0.5,1.5]", "fit.origins", "(0, 1)"),
    ("fit.origins=0.5", "fit.origins", "use fit.origins=[a,b]"),
    ("runs=/abs/run", "runs", "use runs=[a,b]"),
    ("evals=outputs/eval/x/accuracy_vs_step.json", "evals", "use evals=[a,b]"),
    ("group_by=tool", "group_by", "use group_by=[a,b]"),
    ("group_by=[colour]", "group_by", "unknown attribute"),
    ("tokens.cumulative=tir/cum_generated_tokens", "tokens.cumulative", "use tokens.cumulative=[a,b]"),
    ("series.code_exec.keys=tir/code_exec_ratio", "series.code_exec.keys", "use series.code_exec.keys=[a,b]"),
    ("series.code_exec.bounds=[1,0]", "series.code_exec.bounds", "low < high"),
    ("+series.code_exec.bound=[0,1]", "series.code_exec.bound", "unknown key"),
    ("+fit.nboot=5", "fit.nboot", "unknown key"),
    ("+extrapolate=10", "extrapolate", "unknown key"),
    ("wandb.report=maybe", "wandb.report", "true or false"),
    ("out_dir=null", "out_dir", "folder path"),
]


def _run(tmp_path: Path, *overrides: str) -> int:
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        cfg = compose(config_name="analyze", overrides=[f"out_dir={tmp_path / 'out'}", *overrides])
    return analyze.run(cfg)


@pytest.mark.parametrize("override,key,reason", BAD, ids=[b[0] for b in BAD])
def test_a_bad_setting_is_refused_in_one_line_naming_its_key(tmp_path, capsys, override, key, reason):
    assert _run(tmp_path, override) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"zerotir analyze: {key}: "), err
    assert reason in err
    assert not (tmp_path / "out").exists()  # refused before anything was written (or read)


def test_every_bad_setting_gets_its_own_line(tmp_path, capsys):
    assert _run(tmp_path, "fit.level=2", "fit.n_boot=0", "extrapolate_to=-1") == 1
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["extrapolate_to", "fit.level", "fit.n_boot"]


def test_a_bare_run_path_is_never_read_character_by_character(tmp_path, capsys, monkeypatch):
    """`runs=/abs/run` once made `/` a run and globbed the whole filesystem: nothing may be loaded at all."""
    monkeypatch.setattr(analyze, "load_runs", lambda cfg: pytest.fail("inputs were read"))
    assert _run(tmp_path, f"runs={tmp_path}") == 1
    assert "use runs=[a,b]" in capsys.readouterr().err


def test_good_values_pass_and_reach_the_settings_typed():
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        cfg = compose("analyze", ["fit.n_boot=1e3", "extrapolate_to=500", "fit.level=0.9", "runs=null"])
    assert analyze.check(cfg) == []
    s = analyze.settings(cfg)
    assert (s.n_boot, s.extrapolate_to, s.level) == (1000, 500.0, 0.9) and isinstance(s.n_boot, int)


def test_the_shipped_config_passes_its_own_check():
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        assert analyze.check(compose("analyze")) == []


def test_an_out_dir_that_is_a_file_or_under_one_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    for out in (tmp_path / "file", tmp_path / "file" / "analysis"):
        assert _run(tmp_path, f"out_dir={out}") == 1
        assert capsys.readouterr().err.startswith(f"zerotir analyze: out_dir: {tmp_path / 'file'} is a file")
    assert (tmp_path / "file").read_text() == "mine"


def test_an_out_dir_that_cannot_be_written_is_refused(tmp_path, monkeypatch):
    """Tests run as root here, where permission bits do not stop a write; the check asks os.access, faked."""
    monkeypatch.setattr(analyze_settings.os, "access", lambda path, mode: Path(path) != tmp_path)
    problem = analyze_settings.out_dir_problem(tmp_path / "a" / "b")
    assert str(problem) == f"out_dir: {tmp_path} cannot be written (permission denied)"
    assert analyze_settings.out_dir_problem(tmp_path.parent / "elsewhere") is None


def test_a_bare_path_with_hydra_grammar_is_quoted_so_the_check_can_name_it():
    sweep = "/o/cpu_learn/lr=1e-05,data.train_batch_size=4"
    assert analyze.quote_path_overrides([f"runs={sweep}"]) == [f"runs='{sweep}'"]
    assert analyze.quote_path_overrides(["runs=null", "evals='x'"]) == ["runs=null", "evals='x'"]
    assert analyze.quote_path_overrides(["eval=[a/x.json]", "eval=a/x.json"]) == [
        "evals=['a/x.json']",
        "evals='a/x.json'",
    ]


def test_the_real_command_refuses_a_bare_path_without_a_traceback(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "recipes.zerotir.analyze", f"runs={tmp_path}/lr=1e-05,b=4", f"out_dir={out}"],
        cwd=REPO,
        capture_output=True,
        check=False,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 1
    assert proc.stderr == f"zerotir analyze: runs: a list is expected; use runs=[a,b] (got '{tmp_path}/lr=1e-05,b=4')\n"
    assert "Traceback" not in proc.stdout + proc.stderr and not out.exists()
