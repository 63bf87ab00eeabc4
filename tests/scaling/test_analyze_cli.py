"""`python -m recipes.zerotir.analyze`: the bundled example logs, a real-run layout, and errors that name the file."""

from __future__ import annotations

import filecmp
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir

from recipes.zerotir import analyze
from tests.scaling.runs import law_run

REPO = Path(__file__).resolve().parents[2]
FAST = ["fit.n_boot=20", "correlation.n_boot=20", "extrapolate_to=300"]


def _analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recipes.zerotir.analyze", *args],
        cwd=REPO,
        capture_output=True,
        check=False,
        text=True,
        timeout=240,
    )


def test_runs_on_real_layout_and_writes_every_output(tmp_path):
    law_run(tmp_path / "outputs" / "qwen7b_grpo" / "default", range(1, 61), seed=3)
    law_run(tmp_path / "outputs" / "qwen7b_zerorl_grpo" / "default", range(1, 61), seed=4, tool=False)
    out = tmp_path / "analysis"
    proc = _analyze(f"root={tmp_path / 'outputs'}", f"out_dir={out}", *FAST, "group_by=[tool]")
    assert proc.returncode == 0, proc.stderr
    assert "SYNTHETIC" not in proc.stdout and "offline: no report created" in proc.stdout
    for name in (
        "report.md",
        "fits.json",
        "wandb_report.json",
        "code_exec_vs_step.png",
        "series_vs_tokens.png",
        "correlations.png",
        "compare_tool.png",
    ):
        assert (out / name).is_file(), name
    assert json.loads((out / "fits.json").read_text())["settings"]["extrapolate_to"] == 300
    # progress (issue 25): each phase's time, and one line a run while fitting, so a long analysis is visibly alive
    lines = proc.stdout.splitlines()
    assert any(
        re.fullmatch(r"loaded 2 run\(s\) in \d+\.\d s; fitting each \(fit.n_boot=20\), one line a run:", x)
        for x in lines
    )
    for i, label in enumerate(["qwen7b_grpo", "qwen7b_zerorl_grpo"], start=1):
        line = rf"\[{i}/2\] {label}: 60 steps, \d fit\(s\) in \d+\.\d s \(elapsed \d+\.\d s\)"
        assert any(re.fullmatch(line, x) for x in lines), (line, proc.stdout)
    assert any(re.fullmatch(r"fitted 2 run\(s\) in \d+\.\d s", x) for x in lines)
    assert any(re.fullmatch(r"wrote report.md, fits.json and \d+ figure\(s\) in \d+\.\d s", x) for x in lines)


def _run(*overrides: str) -> int:
    """The command in-process on the composed conf/analyze.yaml (the subprocess test covers the real CLI)."""
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        return analyze.run(compose(config_name="analyze", overrides=list(overrides)))


SWEEP = "actor_rollout_ref.actor.optim.lr=1e-05,data.train_batch_size=4"  # a Hydra sweep run folder


def test_run_folders_named_by_overrides_need_no_quotes(tmp_path, monkeypatch, capsys):
    """`=` and `,` in an unquoted value trip Hydra's grammar; the entry point quotes path values first."""
    learn = tmp_path / "outputs" / "cpu_learn"
    sweep, plain = law_run(learn / SWEEP, range(1, 41), seed=5), law_run(learn / "default", range(1, 41), seed=6)
    out = tmp_path / "analysis,lr=1e-05"
    args = [f"runs=[{sweep},{plain}]", f"out_dir={out}", *FAST]
    assert analyze.quote_path_overrides(args)[:2] == [f"runs=['{sweep}','{plain}']", f"out_dir='{out}'"]
    monkeypatch.setattr(sys, "argv", ["analyze", *args])
    analyze.main()  # the real entry point: Hydra parses this command line
    runs = json.loads((out / "fits.json").read_text())["runs"]
    assert [r["run"] for r in runs] == [f"cpu_learn/{SWEEP}", "cpu_learn/default"]
    assert runs[0]["step_fits"][0]["chosen"]
    assert f"cpu_learn/{SWEEP}: 40 steps" in capsys.readouterr().out


def test_run_globs_expand_and_a_glob_without_matches_is_an_error(tmp_path, capsys):
    learn = tmp_path / "outputs" / "cpu_learn"
    law_run(learn / SWEEP, range(1, 41), seed=5)
    law_run(learn / "default", range(1, 41), seed=6)
    assert _run(f"runs=[{learn}/*]", f"out_dir={tmp_path / 'a'}", *FAST) == 0
    assert len(json.loads((tmp_path / "a" / "fits.json").read_text())["runs"]) == 2
    assert _run(f"runs=[{learn}/nothing*]", f"out_dir={tmp_path / 'b'}") == 1
    assert f"{learn}/nothing*: no file or folder matches this pattern" in capsys.readouterr().err


def test_empty_log_fails_naming_the_file(tmp_path, capsys):
    run = tmp_path / "outputs" / "qwen7b_grpo" / "default"
    (run / "metrics").mkdir(parents=True)
    (run / "metrics" / "20260101-000000.jsonl").write_text("")
    assert _run(f"runs=[{run}]", f"out_dir={tmp_path / 'a'}") == 1
    assert f"zerotir analyze: {run / 'metrics' / '20260101-000000.jsonl'}: no records" in capsys.readouterr().err


def test_root_without_runs_is_an_error(tmp_path, capsys):
    assert _run(f"root={tmp_path}", f"out_dir={tmp_path / 'a'}") == 1
    assert f"{tmp_path}: no runs" in capsys.readouterr().err


def test_online_without_a_key_is_a_clear_error(tmp_path, capsys, monkeypatch):
    for key in [k for k in os.environ if k.startswith("WANDB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc key either
    assert _run("wandb.entity=me", "wandb.project=zerotir", f"out_dir={tmp_path / 'a'}") == 1
    assert "zerotir analyze: W&B me/zerotir:" in capsys.readouterr().err


def test_bundled_examples_are_what_the_generator_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_synthetic", REPO / "examples" / "logs" / "make_synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    committed = REPO / "examples" / "logs"
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) >= 13
    for rel in files:
        assert filecmp.cmp(tmp_path / rel, committed / rel, shallow=False), rel
    size = sum((committed / rel).stat().st_size for rel in files)
    assert size < 512 * 1024


def _bundled(pattern: str, real: bool) -> list[Path]:
    root = REPO / "examples" / "logs"
    return [p for p in root.rglob(pattern) if (p.relative_to(root).parts[0] == analyze.REAL_EXAMPLES) == real]


def test_every_bundled_line_says_synthetic_and_no_real_one_does():
    for path in _bundled("*.jsonl", real=False):
        assert all(json.loads(line)["synthetic"] is True for line in path.read_text().splitlines()), path
    for path in _bundled("config.yaml", real=False):
        assert "synthetic: true" in path.read_text()
    real = _bundled("*.jsonl", real=True)
    assert real, "examples/logs/real holds the logs of real runs"
    assert all("synthetic" not in json.loads(line) for p in real for line in p.read_text().splitlines())


def test_the_default_analysis_reads_the_synthetic_examples_only():
    with initialize_config_dir(str(REPO / "conf"), version_base=None):
        cfg = compose("analyze")
    runs, inputs, notes = analyze.load_runs(cfg)
    assert runs and all(run.synthetic for run in runs)
    assert not [i for i in inputs if f"/{analyze.REAL_EXAMPLES}/" in i] and notes == []


def test_a_glob_skips_folders_that_are_not_runs_with_a_note(tmp_path, capsys):
    """An experiment folder holds its runs and also `analysis/` and `eval/`; `runs=[<experiment>/*]` skips those."""
    learn = tmp_path / "outputs" / "cpu_learn"
    law_run(learn / "default", range(1, 41), seed=6)
    (learn / "analysis").mkdir()
    (learn / "analysis" / "report.md").write_text("an earlier analysis")
    (learn / "eval" / "after").mkdir(parents=True)
    out = tmp_path / "a"
    assert _run(f"runs=[{learn}/*]", f"out_dir={out}", *FAST) == 0
    data = json.loads((out / "fits.json").read_text())
    assert [r["run"] for r in data["runs"]] == ["cpu_learn/default"]
    note = f"runs: {learn}/*: skipped analysis, eval (not runs: no metrics/*.jsonl or W&B offline run inside)"
    assert data["notes"] == [note] and f"- note: {note}" in (out / "report.md").read_text()
    assert f"note: {note}" in capsys.readouterr().out
    assert _run(f"runs=['{learn}/[ae]*']", f"out_dir={tmp_path / 'b'}") == 1  # only folders that are not runs
    assert "[ae]*: no match is usable (analysis, eval: not runs:" in capsys.readouterr().err


def test_the_readme_glob_over_the_committed_real_runs_works(tmp_path):
    """`analyze runs=[examples/logs/real/cpu_learn/*]` (conf/analyze.yaml, README) once failed on `analysis/`."""
    out = tmp_path / "a"
    assert _run("runs=[examples/logs/real/cpu_learn/*]", f"out_dir={out}", *FAST) == 0
    data = json.loads((out / "fits.json").read_text())
    # both were launched as cpu_learn/default (their recorded configs say so); the second folder was renamed later
    assert [r["run"] for r in data["runs"]] == ["cpu_learn/default (default)", "cpu_learn/default (lr2e-5_first5)"]
    assert data["runs"][0]["step_fits"][0]["chosen"] and "skipped analysis, eval" in data["notes"][0]


def test_eval_summaries_are_given_as_eval_on_the_command_line(tmp_path, monkeypatch):
    """`eval` is also the eval presets' config group (conf/eval/): the entry point takes it as the `evals` key."""
    summary = tmp_path / "outputs" / "eval" / "qwen7b" / "accuracy_vs_step.json"
    summary.parent.mkdir(parents=True)
    rows = [{"step": s, "dataset": "aime24", "avg_at_k": 0.1 + 0.002 * s, "k": 4} for s in range(10, 110, 10)]
    summary.write_text(json.dumps({"rows": rows}))
    out = tmp_path / "a"
    monkeypatch.setattr(sys, "argv", ["analyze", f"eval=[{summary}]", f"out_dir={out}", *FAST])
    analyze.main()
    assert [r["run"] for r in json.loads((out / "fits.json").read_text())["runs"]] == ["eval/qwen7b"]
