"""The training entry point as a user runs it: `--cfg job`, the no-GPU exit, dry-run multirun, config errors."""

import os
import subprocess
import sys
import time

import pytest

from recipes.zerotir import launch


def run_main(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "HYDRA_FULL_ERROR": "0", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "recipes.zerotir", *args],
        check=False,
        cwd=launch.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cfg_job_prints_the_resolved_config():
    out = run_main("+experiment=qwen7b_grpo", "--cfg", "job", "--resolve")
    assert out.returncode == 0, out.stderr
    assert "experiment: qwen7b_grpo" in out.stdout
    assert "data/processed/simplerl_math_l3to5.zero_tir.parquet" in out.stdout
    assert "path: Qwen/Qwen2.5-7B" in out.stdout


def test_without_a_gpu_it_exits_2_before_ray_with_a_message():
    start = time.monotonic()
    out = run_main("+experiment=qwen7b_grpo")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "no CUDA GPU is visible" in out.stderr
    assert "16 GPU(s)" in out.stderr  # 2 nodes x 8 for the 7B layout
    assert "make demo" in out.stderr and "--cfg job" in out.stderr
    assert "ray init" not in out.stdout + out.stderr
    assert time.monotonic() - start < 60


def test_multirun_over_two_model_sizes_composes_both_jobs():
    out = run_main("-m", "+experiment=model_size_sweep", "model=qwen0.5b,qwen1.5b", "tir.dry_run=true")
    assert out.returncode == 0, out.stderr
    assert "zerotir run model_size_sweep/model=qwen0.5b" in out.stdout
    assert "Qwen/Qwen2.5-0.5B" in out.stdout
    assert "zerotir run model_size_sweep/model=qwen1.5b" in out.stdout
    assert "Qwen/Qwen2.5-1.5B" in out.stdout


@pytest.mark.parametrize("override, key", [("tir.rollout.max_tool_calls=-2", "tir.rollout.max_tool_calls")])
def test_config_error_exits_1_naming_the_key(override, key):
    out = run_main("+experiment=qwen7b_grpo", override)
    assert out.returncode == 1
    assert f"zerotir train: {key}: must be an integer >= 0 (got -2)" in out.stderr
