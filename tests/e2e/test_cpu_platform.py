"""recipes/zerotir/cpu_platform.py without a trainer: the backend-string fix, the vLLM metadata entry, the platform.

Fast and in-process (part of `make test`); `activate` is left to the end-to-end test because it changes the
process environment and wraps torch.distributed.init_process_group."""

from __future__ import annotations

from importlib.metadata import PathDistribution

import pytest

from recipes.zerotir import cpu_platform


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
        cpu_platform.prepare_model("gpt2", tmp_path)
