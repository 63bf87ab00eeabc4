"""Bad input to the training entry point (issue 25): every check a launch runs before Ray, each refusal one line
naming the full key or file, and nothing written by a refused or dry launch (docs/bad_input.md)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from data_prep import RawDataError
from recipes.zerotir import checks, launch, runs
from tests.recipes.compose import compose_raw, make_cfg

EXPERIMENT = "+experiment=qwen7b_grpo"


def each_override(table: dict[str, str]):
    """One case per entry of `table` ({override: what the refusal must say}), named by its override."""
    return pytest.mark.parametrize(("override", "expected"), list(table.items()), ids=list(table))


def problems(*overrides: str) -> list[str]:
    """What launch.check refuses for these command-line overrides ([] when it passes)."""
    try:
        launch.check(compose_raw(EXPERIMENT, *overrides), [EXPERIMENT, *overrides])
    except launch.ConfigError as err:
        return err.problems
    return []


RANGES = {
    "data.train_batch_size=0": "data.train_batch_size: an integer >= 1 is expected (got 0)",
    "data.train_batch_size=abc": "data.train_batch_size: an integer >= 1 is expected (got 'abc')",
    "trainer.total_training_steps=-5": "trainer.total_training_steps: an integer >= 1 or null is expected (got -5)",
    "actor_rollout_ref.actor.ppo_mini_batch_size=0": "actor_rollout_ref.actor.ppo_mini_batch_size: an integer >= 1",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=-1": "ppo_micro_batch_size_per_gpu: an integer >= 1 or",
    "actor_rollout_ref.rollout.n=0": "actor_rollout_ref.rollout.n: an integer >= 1 is expected (got 0)",
    "actor_rollout_ref.rollout.val_kwargs.n=0": "actor_rollout_ref.rollout.val_kwargs.n: an integer >= 1",
    "data.max_prompt_length=0": "data.max_prompt_length: an integer >= 1 is expected (got 0)",
    "data.max_response_length=1.5": "data.max_response_length: an integer >= 1 is expected (got 1.5)",
    "data.train_max_samples=0": "data.train_max_samples: an integer >= 1 is expected, or -1 for every problem",
    "data.val_max_samples=-3": "data.val_max_samples: an integer >= 1 is expected, or -1 for every problem",
    "data.train_max_samples=10": "data.train_max_samples: 10 problems are fewer than one batch",
    "trainer.save_freq=often": "trainer.save_freq: an integer is expected (<= 0 turns it off; got 'often')",
    "tir.val_sets=aime24": "tir.val_sets: a list is expected; use tir.val_sets=[a,b] (got 'aime24')",
    "tir.train_sets=simplerl_math_l3to5": "tir.train_sets: a list is expected; use tir.train_sets=[a,b]",
    "tir.train_sets=[]": "tir.train_sets: at least one dataset is needed",
}


@each_override(RANGES)
def test_a_value_out_of_range_is_refused_naming_its_full_key(override, expected):
    found = problems(override)
    assert len(found) == 1 and expected in found[0], found


def test_every_bad_setting_is_named_at_once():
    found = problems("data.train_batch_size=0", "trainer.total_training_steps=-5", "tir.val_sets=aime24")
    assert [p.split(":")[0] for p in found] == ["tir.val_sets", "data.train_batch_size", "trainer.total_training_steps"]


def test_a_mini_batch_larger_than_the_batch_is_refused_before_verl():
    found = problems(
        "actor_rollout_ref.actor.use_dynamic_bsz=false", "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4",
        "actor_rollout_ref.actor.ppo_mini_batch_size=256",
    )  # fmt: skip
    assert found == ["actor_rollout_ref.actor.ppo_mini_batch_size: must not exceed data.train_batch_size (256 > 128)"]


def test_verls_own_refusal_is_one_line_naming_the_node():
    found = problems("actor_rollout_ref.actor.use_dynamic_bsz=false")
    assert len(found) == 1 and found[0].startswith("actor_rollout_ref.actor: [actor] Please set at least one of")
    assert found[0].endswith("(verl's validate_config)") and "\n" not in found[0]


ADDED = {
    "+trainer.total_training_step=5": "trainer.total_training_steps, now 550",
    "+tir.sed=3": "tir.seed, now 42",
    "+actor.ppo_mini_batch_size=4": "actor_rollout_ref.actor.ppo_mini_batch_size, now 128",
    "+data.train_batch=4": "data.train_batch_size, now 128",
}


@each_override(ADDED)  # the closest key and its value
def test_a_plus_key_that_no_config_has_is_refused_naming_the_closest(override, expected):
    key = override[1:].split("=")[0]
    found = checks.added_keys([EXPERIMENT, override], launch.compose_base)
    assert len(found) == 1 and found[0].startswith(f"{key}: "), found
    assert f"(did you mean {expected}?)" in found[0] and found[0].endswith("to add one anyway use ++")


@pytest.mark.parametrize(
    "override",
    [
        "+ray_kwargs.ray_init.runtime_env.env_vars.KEEP=yes",  # ray.init's keyword arguments
        "+actor_rollout_ref.model.override_config.rope_theta=10000",  # the model config's overrides
        "+reward.custom_reward_function.reward_kwargs.format_bonus=0.1",  # an empty mapping in the config
        "+actor_rollout_ref.rollout.engine_kwargs.vllm.enforce_eager=true",
        "++trainer.total_training_steps=5",  # ++ sets an existing key
        "++trainer.something_verl_reads=1",  # ++ adds one this check does not know
        "+trainer.remove_previous_ckpt_in_save=true",  # verl reads it without declaring it
        "+experiment=qwen7b_ppo",  # a config group, not a key
    ],
)
def test_a_plus_key_into_a_free_form_mapping_or_a_group_is_accepted(override):
    assert checks.added_keys([override], launch.compose_base) == []


def test_a_path_in_an_override_does_not_nest_the_run_folder(tmp_path):
    cfg = make_cfg(EXPERIMENT, "actor_rollout_ref.model.path=/data/models/Qwen2.5-7B/")
    assert cfg.tir.run_name == "actor_rollout_ref.model.path=%2Fdata%2Fmodels%2FQwen2.5-7B%2F"
    assert runs.run_dir(cfg).parent == Path("outputs/qwen7b_grpo")
    cfg.tir.run_dir = str(tmp_path / cfg.tir.run_name)
    runs.record_run(cfg, [EXPERIMENT, "actor_rollout_ref.model.path=/data/models/Qwen2.5-7B/"])
    recorded = json.loads((tmp_path / cfg.tir.run_name / "run.json").read_text())
    assert recorded["model_path"] == "/data/models/Qwen2.5-7B/"
    assert recorded["overrides"] == ["actor_rollout_ref.model.path=/data/models/Qwen2.5-7B/"]
    assert launch.run_name("x=50%/y") == "x=50%25%2Fy" and launch.run_name(None) == "default"


def test_a_run_name_with_a_separator_is_refused():
    assert problems("tir.run_name=a/b") == ["tir.run_name: a folder name is expected, without '/' (got 'a/b')"]


def test_the_data_folder_must_be_writable_before_anything_is_built(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    found = problems(f"tir.data_dir={blocker / 'processed'}")
    assert found[0].startswith(f"tir.data_dir: {blocker} is a file, so {blocker / 'processed'} cannot be made")
    assert "simplerl_math_l3to5.zero_tir.parquet" in found[0] and list(tmp_path.iterdir()) == [blocker]
    # tests run as root, where permission bits stop nothing: the check asks os.access, faked here
    monkeypatch.setattr("runs.atomic.os.access", lambda path, mode: Path(path) != tmp_path)
    assert problems(f"tir.data_dir={tmp_path / 'processed'}")[0].startswith(
        f"tir.data_dir: {tmp_path} cannot be written (permission denied)"
    )


def test_the_run_folder_must_be_writable(tmp_path):
    blocker = tmp_path / "outputs"
    blocker.write_text("")
    found = problems(f"tir.run_dir={blocker / 'run'}")
    assert f"tir.run_dir: {blocker} is a file, so {blocker / 'run'} cannot be made" in found


def test_an_overlapping_pair_is_refused_in_the_check_not_after_the_preflight():
    found = problems("tir.train_sets=[aime_1983_2023]", "tir.val_sets=[math500]")
    assert found == [
        (
            "tir.train_sets, tir.val_sets: training and evaluation sets overlap (aime_1983_2023 x math500: 4 shared "
            "problems). Choose other sets, or accept the contamination with tir.allow_overlap=true"
        )
    ]
    assert problems("tir.train_sets=[aime_1983_2023]", "tir.val_sets=[math500]", "tir.allow_overlap=true") == []


def test_a_damaged_raw_file_is_named(monkeypatch):
    def damaged(*args, **kwargs):
        raise RawDataError("data/raw/eval/aime24.jsonl: sha256 mismatch (expected a, got b); restore the file from git")

    monkeypatch.setattr("data_prep.check_overlap", damaged)
    assert problems() == ["data/raw/eval/aime24.jsonl: sha256 mismatch (expected a, got b); restore the file from git"]


def test_a_build_that_fails_on_disk_is_one_line(monkeypatch):
    def full(path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr("data_prep.ensure_parquet", full)
    cfg = make_cfg(EXPERIMENT)
    with pytest.raises(launch.ConfigError, match=r"simplerl_math_l3to5.zero_tir.parquet: No space left on device$"):
        launch.prepare_data(cfg)


# ---------------------------------------------------------------- as a user runs it


def run_main(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "HYDRA_FULL_ERROR": "0", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "recipes.zerotir", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_refused_lines_name_each_key_with_no_traceback(tmp_path):
    out = run_main(tmp_path, EXPERIMENT, "tir.val_sets=aime24", "+trainer.total_training_step=5")
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr.splitlines() == [
        (
            "zerotir train: trainer.total_training_step: not a key of verl's config or the recipe's, so nothing "
            "would read it (did you mean trainer.total_training_steps, now 550?); to set an existing key leave the + "
            "off, to add one anyway use ++"
        ),
        "zerotir train: tir.val_sets: a list is expected; use tir.val_sets=[a,b] (got 'aime24')",
    ]
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a folder


def test_a_refused_dry_or_machine_refused_launch_leaves_an_existing_run_as_it_was(tmp_path):
    run = tmp_path / "outputs" / "qwen7b_grpo" / "default"
    (run / "hydra" / ".hydra").mkdir(parents=True)
    for name in runs.HYDRA_RECORDS:
        (run / "hydra" / ".hydra" / name).write_text(f"the record of the first launch: {name}\n")
    (run / "run.json").write_text('{"overrides": []}\n')
    before = tree(tmp_path)
    refused = run_main(tmp_path, EXPERIMENT, "trainer.total_training_steps=-5")  # a key that does not name the run
    assert refused.returncode == 1 and "trainer.total_training_steps: an integer >= 1" in refused.stderr
    dry = run_main(tmp_path, EXPERIMENT, "tir.dry_run=true")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: every check passed (config, run folder, data folder, datasets, overlap)" in dry.stdout
    no_gpu = run_main(tmp_path, EXPERIMENT)  # the pre-flight refuses this machine: exit 2, before any record
    assert no_gpu.returncode == 2, no_gpu.stdout + no_gpu.stderr
    assert tree(tmp_path) == before


def test_a_sweep_checks_every_job_before_the_first_starts(tmp_path):
    sweep = ["-m", "+experiment=model_size_sweep", "model=qwen0.5b,qwen1.5b"]
    out = run_main(tmp_path, *sweep, "data.train_batch_size=8,0")  # a real sweep: jobs 2 and 4 are bad
    assert out.returncode == 1, out.stdout + out.stderr
    bad = [line for line in out.stderr.splitlines() if "data.train_batch_size: an integer" in line]
    assert [re.search(r"\[job (\d)/4", line).group(1) for line in bad] == ["2", "4"]
    assert "sweep refused before any job started" in out.stderr and "zerotir run" not in out.stdout
    dry = run_main(tmp_path, *sweep, "tir.dry_run=true")
    assert dry.returncode == 0, dry.stderr
    assert [line.split()[2] for line in dry.stdout.splitlines() if line.startswith("zerotir run ")] == [
        "model_size_sweep/model=qwen0.5b",
        "model_size_sweep/model=qwen1.5b",
    ]
    assert "dry run: 2 job(s), every check passed; nothing started" in dry.stdout
    assert list(tmp_path.iterdir()) == []  # neither wrote anything: no multirun.yaml, no run folder


# A CPU experiment's model folder is built before the launch's checks: verl's validate_config reads the critic's model
# config from it, so a PPO experiment on a checkout without the folder was refused before this.
def test_a_ppo_cpu_experiment_passes_its_checks_without_a_model_folder(tmp_path):
    models = tmp_path / "models"
    out = run_main(
        tmp_path, "+experiment=cpu_mini_ppo", "tir.cpu_model=tiny_qwen2", f"tir.cpu_model_dir={models}",
        "tir.dry_run=true",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "dry run: every check passed" in out.stdout
    assert (models / "tiny_qwen2" / "config.json").is_file()


def test_an_unknown_cpu_model_is_one_line_naming_the_key(tmp_path):
    out = run_main(tmp_path, "+experiment=cpu_mini_ppo", "tir.cpu_model=gpt9", "tir.dry_run=true")
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr.splitlines() == [
        "zerotir train: tir.cpu_model: unknown CPU model 'gpt9'; one of tiny_qwen2, smollm2_135m_instruct"
    ]
    assert list(tmp_path.iterdir()) == []
