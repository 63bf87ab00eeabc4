"""cpu_smoke through verl's real trainer on CPU, then a resume from its checkpoint (docs/cpu_trainer.md).

Runs `python -m recipes.zerotir +experiment=cpu_smoke` from the CPU-training env (.venv-cpu-train) as a
subprocess, in a temporary folder, with the SCRIPTED TEST REWARD (tests/e2e/scripted_reward.py: a random model
never answers correctly, so the real reward would be all zeros). Then reads what verl logged and saved.
Selected only with `-m e2e` (tests/e2e/conftest.py); `make test-e2e` runs it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e import harness
from tests.e2e.harness import Launch, logged_steps

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CPU_PY = REPO / ".venv-cpu-train" / "bin" / "python"
SCRIPTED_REWARD = Path(__file__).with_name("scripted_reward.py")
# Keep the run folder (and so the checkpoint folder) the same for both launches: only the experiment names it.
SAME_RUN = (
    "hydra.job.config.override_dirname.exclude_keys="
    "[experiment,tir.dry_run,trainer.total_training_steps,reward.custom_reward_function.path]"
)
PEAK_LIMIT_GIB = 16  # the limit
RUN_TIMEOUT_S = 900


def launch(cwd: Path, *overrides: str) -> Launch:
    """One launcher run of cpu_smoke (tests/e2e/harness.py: peak PSS over its process tree, Ray's workers included)."""
    cmd = [str(CPU_PY), "-m", "recipes.zerotir", "+experiment=cpu_smoke", SAME_RUN, *overrides]
    return harness.launch(cmd, cwd, os.environ, RUN_TIMEOUT_S)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    if not CPU_PY.is_file():
        pytest.fail(f"{CPU_PY} is missing: build the CPU-training env with `make setup-cpu-train`")
    cwd = tmp_path_factory.mktemp("cpu_smoke")
    reward = f"reward.custom_reward_function.path={SCRIPTED_REWARD}"
    first = launch(cwd, reward)
    second = launch(cwd, reward, "trainer.total_training_steps=3") if first.returncode == 0 else None
    run_dir = cwd / "outputs" / "cpu_smoke" / "default"
    print(f"\ncpu_smoke: first launch {first.seconds:.0f} s, peak {first.peak_gib:.1f} GiB")
    if second:
        print(f"cpu_smoke: resume launch {second.seconds:.0f} s, peak {second.peak_gib:.1f} GiB")
    return first, second, run_dir


def _tail(launch_: Launch) -> str:
    return launch_.output[-6000:]


def test_two_steps_finish_with_validation(smoke):
    first, _, run_dir = smoke
    assert first.returncode == 0, _tail(first)
    steps = logged_steps(run_dir)[0]
    assert [r["step"] for r in steps] == [1, 2]
    assert any(k.startswith("val-core/") for k in steps[-1]["data"]), sorted(steps[-1]["data"])


def test_rewards_are_not_all_zero(smoke):
    _, _, run_dir = smoke
    for record in logged_steps(run_dir)[0]:
        data = record["data"]
        assert data["critic/score/max"] > 0, data  # the scripted reward: share of letters in the response
        assert data["critic/advantages/max"] > 0, data  # GRPO saw different rewards within a group


def test_tool_metrics_are_logged(smoke):
    _, _, run_dir = smoke
    for record in logged_steps(run_dir)[0]:
        tir = {k for k in record["data"] if k.startswith("tir/")}
        assert {"tir/code_calls_mean", "tir/code_exec_ratio"} <= tir, sorted(tir)


def test_policy_weights_change(smoke):
    """The saved step-2 actor differs from the model the run started from."""
    import torch
    from safetensors.torch import load_file

    first, _, run_dir = smoke
    assert first.returncode == 0, _tail(first)
    initial = load_file(run_dir.parents[1] / "cpu_models" / "tiny_qwen2" / "model.safetensors")
    saved = torch.load(
        run_dir / "checkpoints" / "global_step_2" / "actor" / "model_world_size_1_rank_0.pt",
        map_location="cpu",
        weights_only=False,  # FSDP2 saves DTensors
    )
    key = "model.layers.0.self_attn.q_proj.weight"
    after = saved[key].to_local() if hasattr(saved[key], "to_local") else saved[key]
    assert (after - initial[key]).abs().max().item() > 1e-4
    for record in logged_steps(run_dir)[0]:
        assert record["data"]["actor/grad_norm"] > 0, record["data"]


def test_rollout_engine_samples_with_synced_weights(smoke):
    """vLLM's log-probs of its own samples equal the actor's recomputed ones at both steps.

    The engine starts from random dummy weights (load_format: dummy) and step 2 samples after step 1's update
    (lr 1e-3, which moves the weights, see test_policy_weights_change): without a working weight sync the
    per-sequence log-perplexity difference would be of order 1 at step 1 and far above float noise at step 2.
    """
    _, _, run_dir = smoke
    for record in logged_steps(run_dir)[0]:
        data = record["data"]
        assert abs(data["rollout_corr/log_ppl_diff_max"]) < 1e-3, data
        assert abs(data["rollout_corr/log_ppl_diff_min"]) < 1e-3, data
        assert data["training/rollout_actor_probs_pearson_corr"] > 0.999, data


def test_resumes_from_step_2_checkpoint(smoke):
    first, second, run_dir = smoke
    assert first.returncode == 0, _tail(first)
    assert (run_dir / "checkpoints" / "global_step_2").is_dir()
    assert second is not None and second.returncode == 0, _tail(second)
    launches = logged_steps(run_dir)
    assert len(launches) == 2
    assert [r["step"] for r in launches[1]] == [3], "the second launch must start after the saved step 2"


def test_peak_memory_within_limit(smoke):
    first, second, _ = smoke
    assert first.peak_gib <= PEAK_LIMIT_GIB
    assert second is None or second.peak_gib <= PEAK_LIMIT_GIB
