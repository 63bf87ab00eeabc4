"""scripts/gpu_check.py (and its shell entry point) without a GPU: the stages' commands, the table, the checks of
what the launches left, failures and timeouts, nvidia-smi's answers, the arguments. A fake runner stands for the
commands and fake readings for nvidia-smi; the real stages have not run on a GPU."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("gpu_check", REPO / "scripts" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(spec)  # `scripts` is also a verl package
sys.modules["gpu_check"] = gpu_check  # before running it: its dataclasses look their module up
spec.loader.exec_module(gpu_check)

RUN = f"outputs/{gpu_check.EXPERIMENT}/default"


class FakeLaunches:
    """Stands for the commands: a launch writes what verl would (a metrics file with its steps, a checkpoint)."""

    def __init__(self, root: Path, steps: dict[str, list[int]], codes: dict[str, int] | None = None):
        self.root, self.steps, self.codes, self.calls = root, steps, codes or {}, []

    def __call__(self, cmd: list[str], log: Path, timeout_s: int) -> int:
        stage = log.stem
        self.calls.append((stage, cmd, timeout_s))
        log.write_text(f"{stage} output\n")
        if stage in self.steps:
            run = self.root / RUN
            (run / "metrics").mkdir(parents=True, exist_ok=True)
            (run / "metrics" / f"{len(self.calls)}.jsonl").write_text(
                "".join(json.dumps({"step": s, "data": {}}) + "\n" for s in self.steps[stage])
            )
            for s in self.steps[stage]:
                if s % 2 == 0 or s == self.steps[stage][-1]:  # save_freq 2 and the last step, as verl
                    (run / "checkpoints" / f"global_step_{s}").mkdir(parents=True, exist_ok=True)
        return self.codes.get(stage, 0)


def readings(*used_mib: float, total_mib: float = 81559):
    values = iter(used_mib)
    last = [0.0]

    def probe():
        last[0] = next(values, last[0])
        return last[0] / 1024, total_mib / 1024

    return probe


def run(tmp_path, launches, probe=None, names=gpu_check.STAGES):
    out = tmp_path / "outputs" / "gpu_check"
    out.mkdir(parents=True, exist_ok=True)
    selected = [s for s in gpu_check.stages("py", out, [], root=tmp_path) if s.name in names]
    return gpu_check.run_stages(selected, out, runner=launches, probe=probe or readings(1024, 5120, 2048))


def test_all_stages_pass_in_order_with_their_notes(tmp_path):
    launches = FakeLaunches(tmp_path, {"train": [1, 2], "resume": [3]})
    results = run(tmp_path, launches)
    assert [(r.name, r.status) for r in results] == [(s, "ok") for s in gpu_check.STAGES]
    assert [c[0] for c in launches.calls] == list(gpu_check.STAGES)
    notes = {r.name: r.note for r in results}
    assert notes["train"] == f"steps 1-2, checkpoint {RUN}/checkpoints/global_step_2"
    assert notes["resume"] == f"resumed at step 3, checkpoint {RUN}/checkpoints/global_step_3"
    assert all(r.seconds is not None and r.seconds >= 0 for r in results)


def test_the_launches_are_one_run_trained_then_resumed(tmp_path):
    by_stage = {s.name: s.cmd for s in gpu_check.stages("py", tmp_path, ["actor_rollout_ref.model.path=/m"])}
    base = ["py", "-m", "recipes.zerotir", "+experiment=qwen0.5b_grpo_smoke", "actor_rollout_ref.model.path=/m"]
    assert by_stage["preflight"] == [*base, "tir.preflight_only=true"]
    assert by_stage["train"] == [*base, "trainer.resume_mode=disable", "trainer.save_freq=2",
                                 "trainer.total_training_steps=2"]  # fmt: skip
    assert by_stage["resume"] == [*base, "trainer.save_freq=2", "trainer.total_training_steps=3"]
    assert by_stage["kernels"][:2] == ["py", "scripts/gpu_kernels.py"]


def test_train_and_resume_overrides_keep_the_run_name():
    """Every key the two launches add is one that does not rename the run, so the second resumes the first."""
    from recipes.zerotir import runs

    by_stage = {s.name: s.cmd for s in gpu_check.stages("py", Path("/x"), [])}
    added = [a.split("=")[0] for name in ("train", "resume") for a in by_stage[name][4:]]
    assert added and all(key in runs.RUN_NAME_IGNORES for key in added), added


def test_peak_gpu_memory_is_the_largest_reading_of_the_stage(tmp_path):
    launches = FakeLaunches(tmp_path, {})
    probe = readings(1024, 40960, 2048)  # 1, 40, 2 GiB: the sampler reads at start and end at least
    (result,) = run(tmp_path, launches, probe=probe, names=("preflight",))
    assert result.peak_gib == 40.0


def test_a_failed_stage_skips_the_rest(tmp_path):
    launches = FakeLaunches(tmp_path, {"train": [1, 2]}, codes={"kernels": 1})
    results = run(tmp_path, launches)
    assert [(r.name, r.status) for r in results] == [
        ("preflight", "ok"), ("kernels", "FAIL"), ("train", "skipped"), ("resume", "skipped")
    ]  # fmt: skip
    assert results[1].note.startswith("exit 1; log ") and results[1].note.endswith("kernels.log")
    assert results[2].note == "after kernels" and [c[0] for c in launches.calls] == ["preflight", "kernels"]


def test_a_timeout_is_named(tmp_path):
    (result,) = run(tmp_path, FakeLaunches(tmp_path, {}, codes={"preflight": 124}), names=("preflight",))
    assert result.status == "FAIL" and result.note.startswith("exit 124 (timed out)")


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ({"train": [1]}, "logged steps [1], expected [1, 2]"),
        ({}, "expected 1 new metrics file under outputs/qwen0.5b_grpo_smoke/*/metrics/, found 0"),
    ],
    ids=["one-step-only", "no-metrics"],
)
def test_a_launch_that_exits_0_without_its_steps_fails(tmp_path, steps, message):
    (result,) = run(tmp_path, FakeLaunches(tmp_path, steps), names=("train",))
    assert result.status == "FAIL" and message in result.note


def test_resume_must_log_step_3_only(tmp_path):
    launches = FakeLaunches(tmp_path, {"train": [1, 2], "resume": [1, 2, 3]})
    results = run(tmp_path, launches, names=("train", "resume"))
    assert results[0].status == "ok" and results[1].status == "FAIL"
    assert "logged steps [1, 2, 3], expected [3]" in results[1].note


def test_missing_checkpoint_fails(tmp_path):
    class NoCheckpoint(FakeLaunches):
        def __call__(self, cmd, log, timeout_s):
            code = super().__call__(cmd, log, timeout_s)
            for d in (self.root / RUN / "checkpoints").iterdir():
                d.rmdir()
            return code

    (result,) = run(tmp_path, NoCheckpoint(tmp_path, {"train": [1, 2]}), names=("train",))
    assert result.status == "FAIL" and f"no checkpoint {RUN}/checkpoints/global_step_2" in result.note


def test_table_rows():
    results = [
        gpu_check.StageResult("preflight", "ok", 12.4, 0.5, ""),
        gpu_check.StageResult("kernels", "ok", 48.0, None, ""),
        gpu_check.StageResult("train", "skipped", note="after kernels"),
    ]
    lines = gpu_check.table(results, (0.5, 79.6)).splitlines()
    assert lines[0].split()[:3] == ["stage", "result", "time"]
    assert lines[1].split() == ["preflight", "ok", "12", "s", "0.5", "/", "79.6"]
    assert lines[2].split() == ["kernels", "ok", "48", "s", "n/a"]  # nvidia-smi gave nothing
    assert lines[3].split() == ["train", "skipped", "-", "-", "after", "kernels"]


def smi(stdout: str, code: int = 0):
    return lambda *a, **k: subprocess.CompletedProcess(a, code, stdout=stdout, stderr="")


@pytest.mark.parametrize(
    ("runner", "expected"),
    [
        (smi("1024, 81559\n30720, 81559\n"), (30.0, 81559 / 1024)),  # the largest used, the smallest total
        (smi("512, 40960\n"), (0.5, 40.0)),
        (smi("", code=9), None),  # no GPU / driver error
        (smi("[N/A], 81559\n"), None),
    ],
    ids=["two-gpus", "one-gpu", "error", "not-a-number"],
)
def test_gpu_memory_from_nvidia_smi(runner, expected):
    assert gpu_check.gpu_memory_gib(run=runner) == expected


def test_no_nvidia_smi_reads_as_unknown():
    def missing(*a, **k):
        raise FileNotFoundError("nvidia-smi")

    assert gpu_check.gpu_memory_gib(run=missing) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("train,preflight", ["preflight", "train"]), ("resume", ["resume"]), (" kernels ", ["kernels"])],
    ids=["reordered", "one", "spaces"],
)
def test_parse_stages(text, expected):
    assert gpu_check.parse_stages(text) == expected


@pytest.mark.parametrize("text", ["trian", "", "preflight,gpu"], ids=["typo", "empty", "one-bad"])
def test_bad_stages_name_the_flag(text):
    with pytest.raises(ValueError, match=r"^--stages: unknown stage\(s\) .*choose from preflight,kernels,train,resume"):
        gpu_check.parse_stages(text)


def test_run_command_times_out_with_124(tmp_path):
    code = gpu_check.run_command([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)"],
                                 tmp_path / "x.log", timeout_s=1, cwd=tmp_path)  # fmt: skip
    assert code == 124 and (tmp_path / "x.log").read_text() == "up\n"


def test_run_command_passes_the_exit_code(tmp_path):
    code = gpu_check.run_command([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "x.log", 30, tmp_path)
    assert code == 3


def test_shell_entry_point_dry_run_prints_every_command(tmp_path):
    """scripts/gpu_check.sh as a user runs it: nothing started or written, one row per stage, the JSON report last."""
    out = tmp_path / "gpu_check"
    proc = subprocess.run(["bash", "scripts/gpu_check.sh", "--dry-run", "--model", "/models/q", "--out", str(out)],
                          cwd=REPO,
                          env={"PY": sys.executable, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    rows = [line for line in lines if line.split()[:3] in ([s, "dry", "run"] for s in gpu_check.STAGES)]
    assert len(rows) == 4 and all("actor_rollout_ref.model.path=/models/q" in r for r in rows if "recipes" in r)
    report = json.loads(lines[-1])
    assert [s["status"] for s in report["stages"]] == ["dry run"] * 4
    assert not out.exists()


def test_bad_arguments_exit_1(capsys):
    with pytest.raises(SystemExit) as exit_:
        gpu_check.main(["--dry-run", "not-an-override"])
    assert exit_.value.code == 1 and "overrides are key=value, got ['not-an-override']" in capsys.readouterr().err
