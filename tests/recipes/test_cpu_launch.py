"""A CPU experiment's model folder is built before the launch's checks: verl's validate_config reads the critic's
model config from it, so a PPO experiment on a checkout without the folder was refused before this."""

import os
import subprocess
import sys
from pathlib import Path


def run_main(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "HYDRA_FULL_ERROR": "0", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "recipes.zerotir", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


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
