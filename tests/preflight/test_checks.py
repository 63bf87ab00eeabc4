"""Every pre-flight verdict, with faked probes (no GPU, driver, cluster or network needed)."""

import os
import subprocess
import sys

import pytest

import preflight
from preflight import Probes, table
from preflight.checks import single_node_overrides
from recipes.zerotir import launch
from recipes.zerotir.checkpoints import estimate_for
from tests.recipes.compose import make_cfg

TB = 10**12


def probes(**overrides) -> Probes:
    """A healthy 8-GPU CUDA 13 node with flash-attn and plenty of disk; override a field to break one thing."""
    healthy = {
        "flash_attn": lambda: "2.8.3",
        "torch": lambda: {"cuda": "13.0", "available": True, "count": 8},
        "driver": lambda: "580.82.07",
        "vllm_cudart": lambda: "libcudart.so.13",
        "glibc": lambda: ("glibc", "2.35"),
        "free_bytes": lambda path: 10 * TB,
        "fs_type": lambda path: "nfs4",
        "hub_cached": lambda repo: True,
        "hub_reachable": lambda repo: True,
        "ray_nodes": lambda address: pytest.fail("no cluster was configured"),
        "gpu_memory_gib": lambda: 79.2,
        "env": {},
    }
    return Probes(**{**healthy, **overrides})


def run_checks(cfg, probes: Probes) -> list[preflight.Check]:
    """The pre-flight as the launcher runs it: the recipe's checkpoint estimate is the disk row's need."""
    return preflight.run_checks(cfg, probes, disk=estimate_for(cfg))


def verdicts(cfg, **overrides) -> dict[str, preflight.Check]:
    return {c.name: c for c in run_checks(cfg, probes(**overrides))}


@pytest.fixture(scope="module")
def one_node():
    return make_cfg("+experiment=qwen7b_grpo", "attention=flash", "trainer.nnodes=1")


def test_a_healthy_node_passes_everything(one_node):
    checks = verdicts(one_node)
    assert {name: c.verdict for name, c in checks.items()} == {
        "attention": "ok", "driver": "ok", "gpus": "ok", "tensor parallel": "ok", "disk": "ok", "model": "ok",
        "memory": "ok", "shared filesystem": "skip",
    }  # fmt: skip
    assert "580.82.07 >= R580+" in checks["driver"].value and "libcudart.so.13" in checks["driver"].value


def test_flash_missing_fails_and_says_how_to_switch(one_node):
    def broken():
        raise ImportError("flash_attn_2_cuda.so: undefined symbol: _ZN3c10")

    check = verdicts(one_node, flash_attn=broken)["attention"]
    assert check.verdict == "fail" and "undefined symbol" in check.value and "attention=sdpa" in check.fix


def test_sdpa_needs_no_flash_attn():
    cfg = make_cfg("+experiment=qwen7b_grpo", "attention=sdpa", "trainer.nnodes=1")
    check = verdicts(cfg, flash_attn=lambda: pytest.fail("sdpa must not import flash_attn"))["attention"]
    assert check.verdict == "ok" and "sdpa" in check.value


NO_GPU = {"cuda": "13.0", "available": False, "count": 0}


@pytest.mark.parametrize(
    "driver, needle",
    [
        ("550.54.15", "needs driver R580+"),  # old driver: the reason torch sees no GPU
        (None, "no NVIDIA driver (nvidia-smi missing)"),
        ("N/A", "no NVIDIA driver (nvidia-smi says 'N/A')"),  # unreadable
        ("580.82.07", "torch's CUDA build"),  # the driver is fine: torch's build or the GPU access is at fault
    ],
)
def test_torch_sees_no_gpu_fails_and_the_driver_says_why(one_node, driver, needle):
    check = verdicts(one_node, driver=lambda: driver, torch=lambda: NO_GPU)["driver"]
    assert check.verdict == "fail" and needle in check.fix
    if driver == "580.82.07":
        assert "not the problem" in check.fix and "CUDA_VISIBLE_DEVICES" in check.fix and "R580" not in check.fix


@pytest.mark.parametrize(
    "driver, needle",
    [
        ("550.54.15", "forward-compatibility"),  # an old driver with the CUDA 13 compat libraries of an image
        (None, "not readable"),  # no nvidia-smi in the container
        ("N/A", "not readable"),
    ],
)
def test_torch_seeing_the_gpus_passes_whatever_the_driver_says(one_node, driver, needle):
    checks = run_checks(one_node, probes(driver=lambda: driver))
    check = {c.name: c for c in checks}["driver"]
    assert check.verdict == "warn" and needle in check.fix and "torch sees 8 GPU(s)" in check.value
    assert preflight.failed(checks) == []


def test_torch_is_asked_before_the_driver(one_node):
    asked = []

    def torch_info():
        asked.append("torch")
        return {"cuda": "13.0", "available": True, "count": 8}

    def driver():
        asked.append("driver")
        return "580.82.07"

    verdicts(one_node, torch=torch_info, driver=driver)
    assert asked[:2] == ["torch", "driver"]


def test_cpu_torch_and_missing_vllm_and_old_glibc_fail(one_node):
    cpu = verdicts(one_node, torch=lambda: {"cuda": None, "available": False, "count": 0})
    assert cpu["cuda"].verdict == "fail" and "CPU build" in cpu["cuda"].fix
    no_vllm = verdicts(one_node, vllm_cudart=lambda: None)
    assert no_vllm["vllm"].verdict == "fail" and ".[gpu]" in no_vllm["vllm"].fix
    assert verdicts(one_node, glibc=lambda: ("glibc", "2.17"))["glibc"].verdict == "fail"


def test_fewer_gpus_than_the_config_fails_naming_the_key(one_node):
    check = verdicts(one_node, torch=lambda: {"cuda": "13.0", "available": True, "count": 4})["gpus"]
    assert check.verdict == "fail" and check.fix == "set trainer.n_gpus_per_node=4"


def test_spare_gpus_warn():
    cfg = make_cfg("+experiment=qwen7b_grpo", "trainer.nnodes=1", "trainer.n_gpus_per_node=4", "attention=sdpa")
    assert verdicts(cfg)["gpus"].verdict == "warn"


def test_tensor_parallel_must_fit_a_node(one_node):
    cfg = make_cfg(
        "+experiment=qwen7b_grpo", "trainer.nnodes=1", "actor_rollout_ref.rollout.tensor_model_parallel_size=16"
    )
    check = verdicts(cfg)["tensor parallel"]
    assert check.verdict == "fail" and "actor_rollout_ref.rollout.tensor_model_parallel_size" in check.fix


def test_multi_node_without_a_cluster_fails():
    cfg = make_cfg("+experiment=qwen7b_grpo", "attention=sdpa")  # 2 nodes
    assert "RAY_ADDRESS" in verdicts(cfg)["gpus"].fix


@pytest.mark.parametrize("experiment", ["qwen7b_grpo", "qwen7b_ppo", "qwen7b_reinforce_pp", "qwen7b_zerorl_grpo"])
def test_one_8_gpu_node_is_offered_the_single_node_route(experiment, tiny_qwen2_dir):
    cfg = make_cfg(f"+experiment={experiment}", "attention=sdpa")  # 2 nodes x 8 GPUs
    check = verdicts(cfg)["gpus"]  # one node, 8 GPUs, no RAY_ADDRESS
    assert check.verdict == "fail" and "RAY_ADDRESS" in check.fix
    assert "one node: trainer.nnodes=1 " in check.fix and "about 2x the step time, estimated" in check.fix
    overrides = single_node_overrides(cfg, 8)
    assert overrides == ["trainer.nnodes=1"]
    route = make_cfg(f"+experiment={experiment}", "attention=sdpa", *overrides)
    if route.critic.enable:  # verl validates the critic by loading its model config: a local folder, no Hub
        route.actor_rollout_ref.model.path = route.critic.model.path = str(tiny_qwen2_dir)
    launch.validate(route)  # our checks and verl's validate_config
    assert (route.trainer.nnodes, route.trainer.n_gpus_per_node) == (1, 8)
    assert route.data.train_batch_size == cfg.data.train_batch_size  # the same batch: the step takes longer
    assert verdicts(route)["gpus"].verdict == "ok"


def test_a_node_with_every_gpu_runs_the_layout_at_full_speed(tiny_qwen2_dir):
    cfg = make_cfg("+experiment=qwen7b_grpo", "attention=sdpa")
    sixteen = {"torch": lambda: {"cuda": "13.0", "available": True, "count": 16}}
    check = verdicts(cfg, **sixteen)["gpus"]
    assert "trainer.nnodes=1 trainer.n_gpus_per_node=16" in check.fix and "the same step time" in check.fix
    route = make_cfg("+experiment=qwen7b_grpo", "attention=sdpa", *single_node_overrides(cfg, 16))
    launch.validate(route)
    assert verdicts(route, **sixteen)["gpus"].verdict == "ok"


def test_a_cpu_only_head_launches_on_a_gpu_cluster():
    cfg = make_cfg("+experiment=qwen7b_grpo", "attention=sdpa")
    cluster = [{"CPU": 16.0}, {"CPU": 128.0, "GPU": 8.0}, {"CPU": 128.0, "GPU": 8.0}]
    checks = verdicts(
        cfg,
        env={"RAY_ADDRESS": "10.0.0.1:6379"},
        ray_nodes=lambda address: cluster,
        torch=lambda: {"cuda": "13.0", "available": False, "count": 0},
        driver=lambda: None,
    )
    assert checks["gpus"].verdict == "ok" and "[0, 8, 8]" in checks["gpus"].value
    assert checks["cuda"].verdict == "skip"  # the head has no GPU: the workers' drivers are what count
    small = verdicts(
        cfg,
        env={"RAY_ADDRESS": "x:1"},
        ray_nodes=lambda a: cluster[:2],
        torch=lambda: {"cuda": "13.0", "available": False, "count": 0},
    )
    assert small["gpus"].verdict == "fail"


def test_an_unreachable_cluster_is_a_verdict(one_node):
    def refuse(address):
        raise ConnectionError("could not connect")

    (check,) = run_checks(one_node, probes(env={"RAY_ADDRESS": "x:1"}, ray_nodes=refuse))
    assert check.verdict == "fail" and "ray start --head" in check.fix


@pytest.mark.parametrize("free_gb, verdict", [(100, "fail"), (700, "warn"), (5000, "ok")])
def test_disk_against_the_checkpoints_kept(one_node, free_gb, verdict):
    check = verdicts(one_node, free_bytes=lambda path: free_gb * 10**9)["disk"]
    assert check.verdict == verdict and "HF-only" in check.value


def test_model_path_verdicts(one_node, tmp_path):
    assert verdicts(one_node, hub_cached=lambda r: False)["model"].verdict == "warn"  # downloads on first use
    offline = verdicts(one_node, hub_cached=lambda r: False, env={"HF_HUB_OFFLINE": "1"})["model"]
    assert offline.verdict == "fail" and "hf download Qwen/Qwen2.5-7B" in offline.fix
    assert verdicts(one_node, hub_cached=lambda r: False, hub_reachable=lambda r: False)["model"].verdict == "fail"
    one_node.actor_rollout_ref.model.path = str(tmp_path)
    try:
        assert verdicts(one_node)["model"].verdict == "fail"  # a folder without config.json
        (tmp_path / "config.json").write_text("{}")
        assert verdicts(one_node)["model"].verdict == "ok"
    finally:
        one_node.actor_rollout_ref.model.path = "Qwen/Qwen2.5-7B"


def test_multi_node_paths_on_a_local_disk_warn():
    cfg = make_cfg("+experiment=qwen7b_grpo", "attention=sdpa")
    kw = {"env": {"RAY_ADDRESS": "x:1"}, "ray_nodes": lambda a: [{"GPU": 8.0}, {"GPU": 8.0}]}
    assert verdicts(cfg, **kw)["shared filesystem"].verdict == "ok"
    local = verdicts(cfg, fs_type=lambda p: "ext4", **kw)["shared filesystem"]
    assert local.verdict == "warn" and "trainer.default_local_dir" in local.value and "ext4" in local.value


def test_table_prints_check_value_verdict_and_fix(one_node):
    text = table(run_checks(one_node, probes(driver=lambda: "535.104.05", torch=lambda: NO_GPU)))
    assert text.splitlines()[0].split() == ["check", "verdict", "value"]
    assert "FAIL" in text and "-> CUDA 13.0 needs driver R580+" in text


def test_preflight_only_prints_the_table_and_starts_nothing():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "recipes.zerotir", "+experiment=qwen0.5b_grpo_smoke", "tir.preflight_only=true"],
        cwd=launch.REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert "check" in out.stdout and "FAIL" in out.stdout and "pre-flight failed" in out.stderr
    assert "ray init" not in (out.stdout + out.stderr).lower()


def test_memory_fails_padded_sdpa_at_the_small_groups_budgets_naming_remove_padding():
    cfg = make_cfg("model=qwen0.5b", "attention=sdpa", "actor_rollout_ref.model.use_remove_padding=false",
                   "critic.model.use_remove_padding=false")  # fmt: skip
    check = verdicts(cfg)["memory"]
    assert check.verdict == "fail" and "padded" in check.value
    assert "actor_rollout_ref.model.use_remove_padding=true" in check.fix


def test_memory_passes_packed_sdpa_and_names_the_budgets_on_a_small_gpu():
    cfg = make_cfg("model=qwen0.5b", "attention=sdpa")
    assert verdicts(cfg)["memory"].verdict == "ok"
    check = verdicts(cfg, gpu_memory_gib=lambda: 24.0)["memory"]
    assert check.verdict == "fail" and "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=" in check.fix
