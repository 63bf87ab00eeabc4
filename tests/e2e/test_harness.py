"""The distributed rehearsal's pieces that need no trainer: its experiment (cpu_smoke with two of everything, and
less memory per process), the overrides the test launches with, and the helpers in tests/e2e/harness.py. Fast,
part of `make test`."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
import torch
from omegaconf import OmegaConf

from recipes.zerotir import launch
from tests.e2e import harness, test_distributed
from tests.recipes.compose import compose_raw, make_cfg

REPO = Path(__file__).resolve().parents[2]


def _flat(cfg) -> dict[str, object]:
    out = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}.")
        else:
            out[prefix[:-1]] = node

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return out


# What cpu_distributed changes for memory only (two of every process on one machine): micro-batches (a rank's
# share must also divide by them: next test) and the KV cache of each vLLM replica. Nothing that changes a step.
MEMORY_KEYS = {
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu",
    "actor_rollout_ref.rollout.engine_kwargs.vllm.kv_cache_memory_bytes",
}


def test_cpu_distributed_is_cpu_smoke_with_two_of_everything():
    smoke, dist = _flat(make_cfg("+experiment=cpu_smoke")), _flat(make_cfg("+experiment=cpu_distributed"))
    differ = {k for k in smoke.keys() | dist.keys() if smoke.get(k) != dist.get(k)}
    named = {k for k in differ if "cpu_smoke" in str(smoke.get(k)) or "cpu_distributed" in str(dist.get(k))}
    assert differ - named - MEMORY_KEYS == {
        "trainer.nnodes",
        "actor_rollout_ref.rollout.agent.num_workers",
        "ray_kwargs.ray_init.num_cpus",
        "ray_kwargs.ray_init.num_gpus",
        "tir.rollout.sandbox.concurrency",
    }
    assert all(dist[k] < smoke[k] for k in MEMORY_KEYS), {k: (smoke[k], dist[k]) for k in MEMORY_KEYS}
    assert (dist["trainer.nnodes"], dist["trainer.n_gpus_per_node"]) == (2, 1)
    assert dist["actor_rollout_ref.rollout.agent.num_workers"] == 2
    # a driver joining a running cluster may not declare resources (ray.init refuses them)
    assert dist["ray_kwargs.ray_init.num_cpus"] is None and dist["ray_kwargs.ray_init.num_gpus"] is None
    assert dist["tir.rollout.sandbox.concurrency"] is None  # each node's workers share its cores
    assert dist["trainer.device"] == "cpu"


@pytest.mark.parametrize("experiment", ["cpu_smoke", "cpu_distributed"])
def test_each_ranks_share_divides_by_its_micro_batches(experiment):
    """verl asserts, inside a step, that a rank's share of the step's samples (the old log-prob pass) and of a
    mini-batch (the update) divide by the per-GPU micro-batch (engine/utils.py prepare_micro_batches; not in its
    validate_config): with 2 ranks cpu_smoke's log-prob micro-batch of 8 failed at step 1 of the rehearsal."""
    cfg = make_cfg(f"+experiment={experiment}")
    arr, world = cfg.actor_rollout_ref, cfg.trainer.nnodes * cfg.trainer.n_gpus_per_node
    step, mini = cfg.data.train_batch_size * arr.rollout.n, arr.actor.ppo_mini_batch_size * arr.rollout.n
    assert step % world == 0 and mini % world == 0
    assert (step // world) % arr.rollout.log_prob_micro_batch_size_per_gpu == 0
    assert (step // world) % arr.ref.log_prob_micro_batch_size_per_gpu == 0
    assert (mini // world) % arr.actor.ppo_micro_batch_size_per_gpu == 0
    launch.validate(cfg)  # and verl's own checks for this world size


def test_rehearsal_launches_pass_every_check_and_share_one_run(tmp_path):
    overrides = ["+experiment=cpu_distributed", *test_distributed.rehearsal_overrides(tmp_path / "probe.jsonl")]
    for extra in ([], ["trainer.total_training_steps=3"]):
        cfg = compose_raw(*overrides, *extra)
        checked = launch.check(cfg, [o for o in overrides + extra if not o.startswith("hydra.")])
        assert checked.tir.run_name == "default"  # both launches: outputs/cpu_distributed/default
        assert checked.tir.executor_factory == "tests.e2e.sandbox_probe.make_executor"
        env = checked.ray_kwargs.ray_init.runtime_env.env_vars
        assert env.PYTHONPATH == str(REPO) and env.ZEROTIR_SANDBOX_PROBE == str(tmp_path / "probe.jsonl")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MemTotal: 24000000 kB\nMemFree: 100 kB\nMemAvailable: 8948216 kB\n", 8948216 * 1024),
        ("MemAvailable:       0 kB", 0),
    ],
    ids=["proc-format", "zero"],
)
def test_mem_available(text, expected):
    assert harness.mem_available_bytes(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("MemTotal: 1 kB\n", "no MemAvailable"), ("MemAvailable: 5 MB\n", "in 'MB'")],
    ids=["missing", "unit"],
)
def test_bad_meminfo_named(text, message):
    with pytest.raises(ValueError, match=f"/proc/meminfo: .*{message}"):
        harness.mem_available_bytes(text)


def test_memory_guard_fires_once_below_the_floor():
    readings = iter([9, 5, 3, 2, 6])
    fired = []
    guard = harness.MemoryGuard(4 * 1024, lambda: fired.append(1), read=lambda: f"MemAvailable: {next(readings)} kB")
    assert [guard.check() for _ in range(5)] == [False, False, True, False, False]
    assert fired == [1] and guard.fired == 3 * 1024 and guard.lowest == 2 * 1024


def test_memory_guard_thread_polls_the_real_meminfo():
    fired = threading.Event()
    with harness.MemoryGuard(2**62, fired.set, interval_s=0.01) as guard:  # any machine is below 4 EiB
        assert fired.wait(timeout=10)
    assert guard.fired is not None and guard.lowest is not None and 0 < guard.lowest <= guard.fired


def test_trees_meter_counts_this_process():
    meter = harness.TreesMeter(lambda: [os.getpid(), 2**22 + 12345])  # a pid that does not exist counts 0
    total = meter.sample()
    assert total > 10 * 2**20 and meter.peak == total
    me = harness.role(psutil.Process().cmdline())
    assert meter.peak_roles[me][0] >= 1 and sum(b for _, b in meter.peak_roles.values()) == total


def test_trees_meter_keeps_the_breakdown_of_its_peak():
    """Of several samples, the breakdown and time kept are the largest sample's, not the last one's; a process in
    two of the trees (the child here: its own root and this process's child) counts once."""
    # the child holds 64 MiB of its own pages, so that losing it lowers the sample by more than this process can grow
    hold = (
        "import time; b = bytearray(64 << 20); b[::4096] = b'x' * len(b[::4096]); print(1, flush=True); time.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE)
    try:
        child.stdout.readline()  # its pages are there
        pids = [[os.getpid(), child.pid], [os.getpid(), 2**22 + 12345]]
        meter = harness.TreesMeter(lambda: pids[0])
        both = meter.sample()
        child.kill()
        child.wait()
        pids.pop(0)
        assert meter.sample() < both and meter.peak == both
        assert meter.peak_roles["python -c"] == (1, meter.peak_roles["python -c"][1])
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        (["ray::WorkerDict.actor_rollout_compute_log_prob", "", ""], "ray::WorkerDict"),  # Ray's title in a task
        (["ray::IDLE"], "ray::IDLE"),
        (["VLLM::EngineCore"], "VLLM::EngineCore"),
        (["/venv/lib/python3.11/site-packages/ray/core/src/ray/raylet/raylet", "--node_id=x"], "raylet"),
        (["/venv/bin/python", "-u", "/venv/lib/site-packages/ray/dashboard/agent.py", "--x"], "dashboard/agent.py"),
        (["/venv/bin/python3.11", "-m", "recipes.zerotir", "+experiment=cpu_distributed"], "recipes.zerotir"),
        (["/venv/bin/python", "-B", "-c", "from multiprocessing import x"], "python -c"),
        (["bwrap", "--unshare-pid"], "bwrap"),
        ([], "?"),
    ],
)
def test_role_names_a_process_by_what_runs_in_it(cmdline, expected):
    assert harness.role(cmdline) == expected


def test_roles_line_lists_the_largest_then_the_rest():
    gib = harness.GIB
    roles = {"ray::WorkerDict": (2, 3 * gib), "VLLM::Worker": (2, 2 * gib), "raylet": (2, gib // 4)}
    assert harness.roles_line(roles, top=2) == (
        "ray::WorkerDict 2 x = 3.00 GiB, VLLM::Worker 2 x = 2.00 GiB, 2 others = 0.25 GiB"
    )
    assert harness.roles_line(roles).endswith("raylet 2 x = 0.25 GiB")


def test_trainer_tir_keys_are_the_trainers():
    keys = harness.trainer_tir_keys()
    assert {"tir/code_exec_ratio", "tir/acc", "tir/cum_generated_tokens", "tir/code_use_collapse"} <= keys
    assert harness.OPTIONAL_TIR_KEYS <= keys and all(k.startswith("tir/") for k in keys)


def test_a_committed_one_rank_run_has_no_key_outside_the_form():
    """A real one-rank run (the paper-mini tool arm, verl's trainer on CPU) logged only keys the form knows."""
    runs = sorted((REPO / "examples/logs/real/paper_mini/runs/cpu_mini_tool").glob("seed=*/metrics/*.jsonl"))
    assert runs, "no committed paper-mini metrics"
    record = json.loads(runs[-1].read_text().splitlines()[0])
    assert [p for p in harness.tir_form_problems(record["data"], harness.trainer_tir_keys()) if "unknown" in p] == []


def test_tir_form_problems_name_each_key():
    expected = harness.trainer_tir_keys()
    good = {k: 0.5 for k in expected - {"tir/response_length/correct"}}
    assert harness.tir_form_problems({**good, "actor/x": 1.0}, expected) == []
    bad = {**good, "tir/new_key": 1.0, "tir/acc": math.nan}
    del bad["tir/code_exec_ratio"]
    assert harness.tir_form_problems(bad, expected) == [
        "missing tir/code_exec_ratio",
        "unknown tir/new_key",
        "tir/acc = nan is not a finite number",
    ]


def probe(node: str, pid: int, concurrency: int, cpus=2, configured=None, status="ok", stdout="42\n", job="01") -> dict:
    return {"node_id": node, "job_id": job, "pid": pid, "concurrency": concurrency, "configured": configured,
            "cpu_count": cpus, "status": status, "stdout": stdout}  # fmt: skip


@pytest.mark.parametrize(
    ("records", "problems"),
    [
        ([probe("A", 1, 2), probe("B", 2, 2)], []),
        ([probe("A", 1, 1), probe("A", 3, 1), probe("B", 2, 2)], []),  # two workers on A share its 2 CPUs
        ([probe("A", 1, 3, configured=3), probe("B", 2, 3, configured=3)], []),  # a set concurrency wins
        ([probe("A", 1, 2)], ["node B: no agent-loop worker started a sandbox"]),
        ([probe("A", 1, 2), probe("A", 3, 2), probe("B", 2, 2)],
         ["node A pid 1: sandbox concurrency 2, expected 1 (2 CPUs / 2 workers of the launch on the node)",
          "node A pid 3: sandbox concurrency 2, expected 1 (2 CPUs / 2 workers of the launch on the node)"]),
        ([probe("A", 1, 2), probe("B", 2, 2, status="sandbox_error", stdout="")],
         ["node B pid 2: the snippet gave sandbox_error '', expected ok '42'"]),
        ([probe("A", 1, 2), probe("B", 2, 2), probe("C", 4, 2)], ["node C: not a node of the cluster"]),
        # the rehearsal's two launches append to one file: one worker per node in each, not two
        ([probe("A", 1, 2), probe("B", 2, 2), probe("A", 5, 2, job="02"), probe("B", 6, 2, job="02")], []),
        ([probe("A", 1, 2), probe("B", 2, 2), probe("A", 5, 2, job="02")],
         ["launch 2 node B: no agent-loop worker started a sandbox"]),
        ([probe("A", 1, 2), probe("B", 2, 2), probe("A", 5, 2, job="02"), probe("A", 6, 2, job="02")],
         ["launch 2 node B: no agent-loop worker started a sandbox",
          "launch 2 node A pid 5: sandbox concurrency 2, expected 1 (2 CPUs / 2 workers of the launch on the node)",
          "launch 2 node A pid 6: sandbox concurrency 2, expected 1 (2 CPUs / 2 workers of the launch on the node)"]),
    ],
    ids=["one-per-node", "shared", "configured", "node-without-sandbox", "not-shared", "snippet-failed", "stranger",
         "two-launches", "second-launch-misses-a-node", "second-launch-on-one-node"],
)  # fmt: skip
def test_sandbox_problems(records, problems):
    assert harness.sandbox_problems(records, ["A", "B"]) == problems


def test_full_tensor_puts_fsdp2_shards_back_together(tmp_path):
    """Two ranks' saved shards of one DTensor (as FSDP2 saves them, through torch.save) give the whole tensor."""
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Shard, distribute_tensor

    store = dist.HashStore()
    whole = torch.arange(24.0).reshape(6, 4)
    shards = []
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        mesh = init_device_mesh("cpu", (1,))
        local = distribute_tensor(whole, mesh, [Shard(0)])
        path = tmp_path / "rank0.pt"
        torch.save({"w": local}, path)
        shards.append(torch.load(path, weights_only=False))
    finally:
        dist.destroy_process_group()
    assert torch.equal(harness.full_tensor(shards, "w"), whole)
    halves = [{"w": FakeShard(whole[:3])}, {"w": FakeShard(whole[3:])}]
    assert torch.equal(harness.full_tensor(halves, "w"), whole)
    assert torch.equal(harness.full_tensor([{"w": whole}], "w"), whole)  # one rank: a plain tensor


class FakeShard:
    """The part of a DTensor full_tensor reads: its placements and its local shard (a 2-rank save, without 2 ranks)."""

    def __init__(self, local: torch.Tensor):
        from torch.distributed.tensor import Shard

        self.placements, self._local = (Shard(0),), local

    def to_local(self) -> torch.Tensor:
        return self._local


def test_checkpoint_shards_are_verls_names(tmp_path):
    files = harness.checkpoint_shards(tmp_path / "global_step_2", 2)
    assert [f.name for f in files["model"]] == ["model_world_size_2_rank_0.pt", "model_world_size_2_rank_1.pt"]
    assert files["optim"][1] == tmp_path / "global_step_2" / "actor" / "optim_world_size_2_rank_1.pt"
    assert set(files) == {"model", "optim", "extra_state"}


@pytest.mark.parametrize("workers_per_node", [1, 2], ids=["alone", "shared"])
def test_sandbox_probe_through_the_agent_loops_factory_hook(tmp_path, monkeypatch, workers_per_node):
    """The probe as the agent loop calls it (get_executor with tir.executor_factory): the real sandbox runs the
    snippet and the record satisfies the rehearsal's check for one node."""
    from tests.e2e import sandbox_probe
    from tir_rollout import agent_loop
    from tir_rollout.sandbox.config import parse_config

    monkeypatch.setenv(sandbox_probe.PROBE_ENV, str(tmp_path / "probe.jsonl"))
    monkeypatch.setattr(agent_loop, "_EXECUTORS", {})
    sandbox = parse_config({"backend": "local", "concurrency": None}, "tir.rollout.sandbox")
    executor = agent_loop.get_executor(sandbox, "tests.e2e.sandbox_probe.make_executor", workers_per_node)
    try:
        (record,) = [json.loads(line) for line in (tmp_path / "probe.jsonl").read_text().splitlines()]
    finally:
        executor.close()
    assert record["node_id"] is None and record["stdout"] == "42\n" and record["status"] == "ok"
    assert record["concurrency"] == max(1, (os.cpu_count() or 1) // workers_per_node)
    records = [{**record, "node_id": "A", "pid": pid} for pid in range(workers_per_node)]
    assert harness.sandbox_problems(records, ["A"]) == []
