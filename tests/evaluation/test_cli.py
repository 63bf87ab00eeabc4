"""`python -m recipes.zerotir.eval` as a user runs it: a tiny model end to end, and a config error."""

import os
import subprocess
import sys

from tests.fakes import REPO_ROOT


def run_eval(*args, timeout=300):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "recipes.zerotir.eval", *args]
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_the_cli_runs_a_sweep_and_prints_the_table(tmp_path, tiny_qwen2_dir, eval_data_dir):
    out = run_eval(
        "eval=demo", f"eval.model={tiny_qwen2_dir}", "eval.rollout.template=zero_tir", "eval.datasets=[aime24]",
        "eval.limit=1", "eval.response_length=6", f"eval.out_dir={tmp_path}", f"eval.data_dir={eval_data_dir}",
        "eval.run_name=cli",
        "eval.n_samples=1", "eval.pass_k=[1]",  # the demo preset's sample count may change; this test pins its own
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| aime24 | 0 | 1 | 1 |" in out.stdout and "| aime24 | 1 | 1 | 1 |" in out.stdout
    assert "new samples: 2" in out.stdout
    assert (tmp_path / "cli" / "accuracy_vs_interactions.png").exists()
    assert len((tmp_path / "cli" / "samples.jsonl").read_text().splitlines()) == 2


def test_a_config_error_exits_1_naming_the_key():
    out = run_eval("eval=demo", "+eval.n_sample=3")
    assert out.returncode == 1
    assert "zerotir eval: eval.n_sample: unknown key" in out.stderr
