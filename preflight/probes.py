"""Everything the pre-flight reads from the machine (or the Ray cluster), behind one dataclass so tests fake each
reading on CPU: flash-attn, torch's view of CUDA, the NVIDIA driver, vLLM's CUDA runtime, glibc, disk, filesystem
types, the Hugging Face cache and Hub, an existing Ray cluster's nodes, the GPUs' memory. Reads only, starts nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import mmap
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight import memory


def _import_flash() -> str:
    """flash-attn's version; raises what `import flash_attn` raises (missing, or built for another torch)."""
    return importlib.import_module("flash_attn").__version__


def _torch() -> dict[str, Any]:
    import torch

    available = torch.cuda.is_available()
    return {"cuda": torch.version.cuda, "available": available, "count": torch.cuda.device_count() if available else 0}


def _driver() -> str | None:
    """The NVIDIA driver version from nvidia-smi; None when there is no driver (or no nvidia-smi)."""
    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0].strip() if out.strip() else None


def _vllm_cudart() -> str | None:
    """`libcudart.so.N` that vLLM's compiled extension links (read from the file, vLLM is not imported)."""
    spec = importlib.util.find_spec("vllm")
    if spec is None or not spec.submodule_search_locations:
        return None
    for so in Path(next(iter(spec.submodule_search_locations))).glob("_C*.so"):
        with open(so, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            found = re.search(rb"libcudart\.so\.(\d+)", data)
            if found:
                return found.group(0).decode()
    return "not found in vllm/_C*.so"


def _free_bytes(path: str) -> int:
    p = Path(path)
    while not p.exists():
        p = p.parent
    return shutil.disk_usage(p).free


def _fs_type(path: str) -> str:
    """The filesystem type of the mount that holds `path` (longest mount-point prefix in /proc/mounts)."""
    target, best, kind = str(Path(path).resolve()), "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    for line in mounts:
        parts = line.split()
        inside = len(parts) >= 3 and (target == parts[1] or target.startswith(parts[1].rstrip("/") + "/"))
        if inside and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return kind


def _hub_cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _hub_reachable(repo_id: str) -> bool:
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(repo_id, timeout=10)
        return True
    except Exception:  # noqa: BLE001 - any failure means "cannot download it now"
        return False


def _ray_nodes(address: str) -> list[dict[str, float]]:
    """Resources of each alive node of an existing Ray cluster (connects and disconnects; starts nothing)."""
    import ray

    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        return [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]
    finally:
        ray.shutdown()


@dataclass
class Probes:
    """Everything the checks read from the environment; tests replace any field."""

    flash_attn: Callable[[], str] = _import_flash
    torch: Callable[[], dict[str, Any]] = _torch
    driver: Callable[[], str | None] = _driver
    vllm_cudart: Callable[[], str | None] = _vllm_cudart
    glibc: Callable[[], tuple[str, str]] = platform.libc_ver
    free_bytes: Callable[[str], int] = _free_bytes
    fs_type: Callable[[str], str] = _fs_type
    hub_cached: Callable[[str], bool] = _hub_cached
    hub_reachable: Callable[[str], bool] = _hub_reachable
    ray_nodes: Callable[[str], list[dict[str, float]]] = _ray_nodes
    gpu_memory_gib: Callable[[], float | None] = memory.gpu_memory_gib
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
