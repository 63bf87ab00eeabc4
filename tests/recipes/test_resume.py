"""Resume follows the run, not the flags: the run name ignores non-experiment keys; a new run says why it is new."""

import json
import subprocess
import sys

from recipes.zerotir import launch, runs
from tests.recipes.compose import make_cfg


def cfg_in(tmp_path, run_name: str, *overrides: str):
    cfg = make_cfg("+experiment=qwen7b_grpo", *overrides)
    cfg.tir.run_name = run_name
    cfg.tir.run_dir = str(tmp_path / "qwen7b_grpo" / run_name)  # resolved: set what tir.run_dir derives
    cfg.trainer.default_local_dir = str(tmp_path / "qwen7b_grpo" / run_name / "checkpoints")
    return cfg


def checkpoint_at(cfg, step: int) -> None:
    folder = launch.Path(cfg.trainer.default_local_dir)
    (folder / f"global_step_{step}").mkdir(parents=True)
    (folder / "latest_checkpointed_iteration.txt").write_text(str(step))


def test_a_relaunch_with_more_steps_and_other_loggers_resumes(tmp_path):
    first = cfg_in(tmp_path, "default")
    runs.record_run(first, ["+experiment=qwen7b_grpo"])
    checkpoint_at(first, 300)
    again = cfg_in(tmp_path, "default", "trainer.total_training_steps=800")
    note = runs.resume_note(again)
    assert note.startswith("run qwen7b_grpo/default: resuming from step 300") and "up to step 800" in note


def test_a_changed_experiment_key_starts_a_new_run_and_says_which_it_is_not(tmp_path):
    base = cfg_in(tmp_path, "default")
    runs.record_run(base, ["+experiment=qwen7b_grpo", "trainer.logger=[console]"])
    checkpoint_at(base, 300)
    new = cfg_in(tmp_path, "actor_rollout_ref.actor.optim.lr=2e-6")
    argv = ["+experiment=qwen7b_grpo", "actor_rollout_ref.actor.optim.lr=2e-6", "trainer.logger=[console]"]
    note = runs.resume_note(new, argv)  # as the launcher calls it, before recording the new run
    assert "new run, starting at step 0" in note
    assert (
        "not resuming qwen7b_grpo/default (step 300): overrides differ: +actor_rollout_ref.actor.optim.lr=2e-6" in note
    )
    recorded = json.loads((tmp_path / "qwen7b_grpo" / "default" / "run.json").read_text())
    # trainer.logger does not define the run; the model path is recorded as given (the run name escapes its `/`)
    assert recorded == {
        "experiment": "qwen7b_grpo",
        "run_name": "default",
        "overrides": [],
        "model_group": "qwen7b",
        "model_path": "Qwen/Qwen2.5-7B",
    }


def test_resume_disabled_is_said(tmp_path):
    cfg = cfg_in(tmp_path, "default", "trainer.resume_mode=disable")
    checkpoint_at(cfg, 100)
    assert "starting at step 0 (trainer.resume_mode=disable)" in runs.resume_note(cfg)


def test_the_run_name_drops_non_experiment_overrides():
    """As a user launches it: Hydra's override_dirname with conf/zerotir.yaml's exclude_keys names the run."""
    out = subprocess.run(
        [sys.executable, "-m", "recipes.zerotir", "-m", "+experiment=qwen7b_grpo", "tir.dry_run=true",
         "tir.rollout.max_tool_calls=1,4", "trainer.total_training_steps=800", "trainer.logger=[console]",
         "trainer.save_freq=25", "trainer.resume_mode=auto", "attention=sdpa"],
        cwd=launch.REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    names = [line.split()[2] for line in out.stdout.splitlines() if line.startswith("zerotir run ")]
    assert names == ["qwen7b_grpo/tir.rollout.max_tool_calls=1", "qwen7b_grpo/tir.rollout.max_tool_calls=4"]
