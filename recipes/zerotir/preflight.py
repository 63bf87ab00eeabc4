"""Pre-flight: the machine (or the Ray cluster) against the composed config, before Ray starts.

Each check gives (check, value, verdict, fix); a failing one names the key to change or the command to run, so a
GPU day does not end in a worker's traceback. All environment access goes through `Probes`, so tests fake every
verdict on CPU. `python -m recipes.zerotir +experiment=... tir.preflight_only=true` prints the table and exits.

Facts the checks rest on: the `.[gpu]` closure (torch 2.11.0, vLLM 0.24.0) is built for CUDA 13, which needs an
NVIDIA driver of the R580 series or newer (NVIDIA's CUDA 13.0 release notes: >= 580.65.06); both wheels are
manylinux_2_28 (glibc >= 2.28). verl's remove-padding path runs flash-attn's varlen kernels on CUDA. torch is
asked first: when it sees the GPUs the node passes, and an old or unreadable driver version only warns (container
images ship forward-compatibility libraries); the driver version explains why torch sees none.
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

from omegaconf import DictConfig

from recipes.zerotir import checkpoints, memory

# Minimum Linux driver per CUDA major (NVIDIA CUDA release notes, "CUDA Toolkit and Minimum Driver Versions").
MIN_DRIVER = {13: (580, 65, 6), 12: (525, 60, 13), 11: (450, 80, 2)}
MIN_GLIBC = (2, 28)  # torch 2.11.0 and vllm 0.24.0 wheels are manylinux_2_28
NETWORK_FS = {"nfs", "nfs4", "lustre", "gpfs", "beegfs", "cephfs", "ceph", "glusterfs", "fuse.glusterfs", "wekafs",
              "fuse.juicefs", "fuse.s3fs", "fuse.gcsfuse", "fuse.sshfs", "cifs", "smb3", "9p", "virtiofs"}  # fmt: skip
FLASH_INSTALL = "install flash-attn built for this torch (docs/gpu.md, 'flash-attn'), or run with attention=sdpa"


@dataclass(frozen=True)
class Check:
    name: str
    value: str
    verdict: str  # ok | warn | fail | skip
    fix: str = ""


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


def flash_importable(probes: Probes | None = None) -> tuple[bool, str]:
    try:
        return True, (probes or Probes()).flash_attn()
    except Exception as err:  # noqa: BLE001 - ImportError, or an OSError/undefined symbol from a mismatched build
        return False, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def ray_address(cfg: DictConfig, env: dict[str, str]) -> str | None:
    """An existing cluster to launch on: ray_kwargs.ray_init.address or RAY_ADDRESS (None: Ray starts locally)."""
    address = (cfg.get("ray_kwargs") or {}).get("ray_init", {}).get("address") or env.get("RAY_ADDRESS")
    return str(address) if address and address != "local" else None


def check_attention(cfg: DictConfig, probes: Probes) -> Check:
    model = cfg.actor_rollout_ref.model
    impl = model.get("override_config", {}).get("attn_implementation", "flash_attention_2")
    value = f"{cfg.tir.get('attention', '?')}: {impl}, remove_padding={model.use_remove_padding}"
    if cfg.trainer.device == "cpu":
        return Check("attention", value, "skip", "CPU run: flash-attn is not used")
    if impl != "flash_attention_2":
        return Check("attention", value, "ok", "sdpa: slower than flash; attention=flash when installed")
    ok, detail = flash_importable(probes)
    if ok:
        return Check("attention", f"{value}, flash-attn {detail}", "ok")
    return Check("attention", f"{value}; import flash_attn: {detail}", "fail", FLASH_INSTALL)


def check_cuda(cfg: DictConfig, probes: Probes, cluster: list | None) -> list[Check]:
    """torch's and vLLM's CUDA build; on a CPU-only head of a GPU cluster, the workers' job. torch is asked first:
    the driver version only explains why torch sees no GPU (container images ship forward-compatibility libraries,
    so an old driver, or no nvidia-smi at all, can still run CUDA 13)."""
    if cfg.trainer.device == "cpu":
        return [Check("cuda", "trainer.device=cpu", "skip")]
    info, cudart = probes.torch(), probes.vllm_cudart()
    build = f"torch CUDA {info['cuda']}, vLLM {cudart or 'not installed'}"
    if cluster is not None and not info["available"]:
        return [Check("cuda", f"{build}; head node has no GPU", "skip", "checked on the GPU workers when they start")]
    if info["cuda"] is None:
        return [
            Check("cuda", build, "fail", "this torch is a CPU build: pip install -e '.[gpu]' (torch 2.11.0, CUDA 13)")
        ]
    checks = []
    if cudart is None:
        checks.append(Check("vllm", "not installed", "fail", "pip install -e '.[gpu]' (vLLM 0.24.0 for the rollouts)"))
    checks.append(check_driver(info, probes.driver(), build))
    libc, version = probes.glibc()
    if libc == "glibc" and _version(version) < MIN_GLIBC:
        checks.append(Check("glibc", version, "fail", "the torch/vLLM wheels need glibc >= 2.28 (manylinux_2_28)"))
    return checks


def _driver_need(cuda: str) -> tuple[tuple[int, ...] | None, str]:
    """The minimum driver for torch's CUDA build, and how to say it ("R580+ (>= 580.65.6)")."""
    need = MIN_DRIVER.get(_version(cuda)[0])
    return need, f"R{need[0]}+ (>= {'.'.join(map(str, need))})" if need else "?"


def check_driver(info: dict[str, Any], driver: str | None, build: str) -> Check:
    """torch sees the GPUs: pass, warning when the driver is older than the build needs or cannot be read.
    torch sees none: fail, and let the driver version say why (none, too old, or fine: then torch's CUDA build
    or the GPU access is at fault)."""
    need, need_text = _driver_need(info["cuda"])
    parsed = _version(driver) if driver else ()
    if info["available"]:
        seen = f"torch sees {info['count']} GPU(s)"
        if not parsed:
            fix = f"driver version not readable; CUDA {info['cuda']} wants {need_text}: nothing to change while torch "
            fix += "sees the GPUs"
            return Check("driver", f"{driver or 'nvidia-smi missing'}; {build}; {seen}", "warn", fix)
        if need and parsed < need:
            fix = f"older than CUDA {info['cuda']} needs, yet torch sees the GPUs (forward-compatibility libraries?): "
            fix += "if CUDA errors appear in the workers, upgrade the driver (docs/gpu.md)"
            return Check("driver", f"{driver} < {need_text}; {build}; {seen}", "warn", fix)
        return Check("driver", f"{driver} >= {need_text}; {build}", "ok")
    unseen = f"{build}; torch.cuda.is_available() is False"
    if not parsed:
        found = "nvidia-smi missing" if driver is None else f"nvidia-smi says {driver!r}"
        fix = f"no NVIDIA driver ({found}): install driver {need_text} for CUDA {info['cuda']}"
        return Check("driver", f"none found; {unseen}", "fail", fix)
    if need and parsed < need:
        fix = f"CUDA {info['cuda']} needs driver {need_text}: upgrade the driver (docs/gpu.md)"
        return Check("driver", f"{driver}; {unseen}", "fail", fix)
    fix = (
        f"driver {driver} is not the problem: check torch's CUDA build (torch.version.cuda={info['cuda']}; "
        "pip install -e '.[gpu]'), CUDA_VISIBLE_DEVICES and the container's GPU access"
    )
    return Check("driver", f"{driver}; {unseen}", "fail", fix)


def single_node_overrides(cfg: DictConfig, count: int) -> list[str]:
    """The overrides that run a multi-node layout on one node with `count` GPUs: the same batch on fewer GPUs.
    Nothing else must change: verl's validate_config checks per-GPU divisibility only, and the per-GPU token
    budgets (micro-batches) stay as they are; each GPU holds nnodes x its FSDP shard and does nnodes x the work."""
    total = int(cfg.trainer.nnodes) * int(cfg.trainer.n_gpus_per_node)
    if count >= total:
        return ["trainer.nnodes=1", f"trainer.n_gpus_per_node={total}"]
    return ["trainer.nnodes=1"]


def multi_node_fix(cfg: DictConfig, count: int) -> str:
    """trainer.nnodes > 1 on one node without a Ray cluster: the single-node route (with its estimated step-time
    cost: rollouts and updates of the same batch on fewer GPUs), or the cluster the config asks for."""
    nnodes, per_node = int(cfg.trainer.nnodes), int(cfg.trainer.n_gpus_per_node)
    overrides = single_node_overrides(cfg, count)
    used = min(count, nnodes * per_node)
    cost = nnodes * per_node / used
    slower = "the same step time" if cost == 1 else f"about {cost:g}x the step time, estimated"
    return (
        f"one node: {' '.join(overrides)} (the same batch on {used} GPUs: {slower}; docs/gpu.md 'One node'); "
        f"or a Ray cluster of {nnodes} x {per_node} GPUs: start it (docs/gpu.md 'Multi-node') and set RAY_ADDRESS"
    )


def check_gpus(cfg: DictConfig, probes: Probes, cluster: list | None) -> list[Check]:
    nnodes, per_node = int(cfg.trainer.nnodes), int(cfg.trainer.n_gpus_per_node)
    tp = int(cfg.actor_rollout_ref.rollout.tensor_model_parallel_size)
    checks = []
    if cfg.trainer.device == "cpu":
        checks.append(Check("gpus", "trainer.device=cpu", "skip"))
    elif cluster is not None:
        gpu_nodes = [int(n.get("GPU", 0)) for n in cluster]
        fit = sum(1 for g in gpu_nodes if g >= per_node)
        value = f"Ray cluster: {len(cluster)} node(s), GPUs per node {gpu_nodes}; need {nnodes} x {per_node}"
        verdict = "ok" if fit >= nnodes else "fail"
        fix = "" if fit >= nnodes else "set trainer.nnodes / trainer.n_gpus_per_node to the cluster, or add nodes"
        checks.append(Check("gpus", value, verdict, fix))
    else:
        count = probes.torch()["count"]
        value = f"{count} visible on this node; trainer.n_gpus_per_node={per_node}, trainer.nnodes={nnodes}"
        if count < per_node:
            fix = f"set trainer.n_gpus_per_node={count}" if count else "run on a GPU node"
            checks.append(Check("gpus", value, "fail", fix))
        elif nnodes > 1:
            checks.append(Check("gpus", value, "fail", multi_node_fix(cfg, count)))
        else:
            checks.append(Check("gpus", value, "ok" if count == per_node else "warn",
                                "" if count == per_node else f"{count - per_node} GPU(s) idle"))  # fmt: skip
    total = nnodes * per_node
    key = "actor_rollout_ref.rollout.tensor_model_parallel_size"
    if tp > per_node or total % tp:
        checks.append(Check("tensor parallel", f"{key}={tp}, {total} GPUs ({per_node}/node)", "fail",
                            f"{key} must divide the GPU count and fit in one node (<= {per_node})"))  # fmt: skip
    else:
        checks.append(Check("tensor parallel", f"TP {tp}: {total // tp} vLLM replica(s)", "ok"))
    return checks


def check_disk(cfg: DictConfig, probes: Probes) -> Check:
    trainer = cfg.trainer
    est = checkpoints.estimate_for(cfg)
    if est is None:
        return Check("disk", "tir.params_b unset", "warn", "set tir.params_b (billions) for a disk estimate")
    free_gb = probes.free_bytes(trainer.default_local_dir) / 1e9
    value = f"{free_gb:.0f} GB free at {trainer.default_local_dir}; checkpoints {est.line()}"
    if free_gb < est.peak_gb:
        fix = "free disk, or lower tir.checkpoint.keep_last / raise tir.checkpoint.series_every / trainer.save_freq"
        return Check("disk", value, "fail", fix)
    return Check("disk", value, "ok" if free_gb > 1.2 * est.peak_gb else "warn",
                 "" if free_gb > 1.2 * est.peak_gb else "under 20 % headroom")  # fmt: skip


def check_memory(cfg: DictConfig, probes: Probes, cluster: list | None) -> Check:
    """The actor's log-prob pass and update at the configured token budgets against one GPU's memory
    (recipes/zerotir/memory.py; docs/gpu.md 'Memory under sdpa'). A CPU-only head: checked on the workers."""
    if cfg.trainer.device == "cpu":
        return Check("memory", "trainer.device=cpu", "skip")
    gib = None if cluster is not None else probes.gpu_memory_gib()
    return Check("memory", *memory.memory_check(cfg, gib))


def check_model(cfg: DictConfig, probes: Probes) -> Check:
    path = str(cfg.actor_rollout_ref.model.path)
    key = "actor_rollout_ref.model.path"
    local = Path(path).expanduser()
    if local.exists() or path.startswith(("/", ".", "~")):
        if (local / "config.json").is_file() and os.access(local / "config.json", os.R_OK):
            return Check("model", f"{path} (local)", "ok")
        return Check("model", f"{path}: no readable config.json", "fail", f"set {key} to a model folder")
    if probes.hub_cached(path):
        return Check("model", f"{path} (in the HF cache)", "ok")
    if probes.env.get("HF_HUB_OFFLINE") == "1":
        return Check("model", f"{path}: not cached, HF_HUB_OFFLINE=1", "fail",
                     f"hf download {path} first, or set {key} to a local folder")  # fmt: skip
    if probes.hub_reachable(path):
        return Check("model", f"{path}: not cached; the Hub is reachable", "warn",
                     f"each worker downloads it on first use: hf download {path} to a shared cache first")  # fmt: skip
    return Check("model", f"{path}: not cached and the Hub is unreachable", "fail",
                 f"download it where workers can read it and set {key} to that folder")  # fmt: skip


def check_shared_fs(cfg: DictConfig, probes: Probes) -> Check:
    """Multi-node: workers on other nodes read these head-node absolute paths; they must be on a shared filesystem."""
    if int(cfg.trainer.nnodes) <= 1:
        return Check("shared filesystem", "single node", "skip")
    paths = {
        "tir.data_dir": cfg.tir.data_dir,
        "trainer.default_local_dir": cfg.trainer.default_local_dir,
        "agent_loop_config_path": cfg.actor_rollout_ref.rollout.agent.agent_loop_config_path,
    }
    model = Path(str(cfg.actor_rollout_ref.model.path)).expanduser()
    if model.exists():
        paths["actor_rollout_ref.model.path"] = str(model)
    local = {k: f"{p} ({probes.fs_type(p)})" for k, p in paths.items() if probes.fs_type(p) not in NETWORK_FS}
    if not local:
        return Check("shared filesystem", f"{len(paths)} paths on network filesystems", "ok")
    fix = "multi-node needs these on a filesystem every node mounts at the same path (NFS, Lustre, ...)"
    return Check("shared filesystem", "; ".join(f"{k}={v}" for k, v in local.items()), "warn", fix)


def run_checks(cfg: DictConfig, probes: Probes | None = None) -> list[Check]:
    probes = probes or Probes()
    address = ray_address(cfg, probes.env)
    cluster = None
    if address and cfg.trainer.device != "cpu":
        try:
            cluster = probes.ray_nodes(address)
        except Exception as err:  # noqa: BLE001 - an unreachable cluster is a verdict, not a crash
            return [
                Check(
                    "ray cluster",
                    f"{address}: {err}",
                    "fail",
                    "start the cluster (ray start --head) or unset RAY_ADDRESS",
                )
            ]
    return [
        check_attention(cfg, probes),
        *check_cuda(cfg, probes, cluster),
        *check_gpus(cfg, probes, cluster),
        check_memory(cfg, probes, cluster),
        check_disk(cfg, probes),
        check_model(cfg, probes),
        check_shared_fs(cfg, probes),
    ]


def table(checks: list[Check]) -> str:
    """A plain-text table: check, verdict, value, and the fix when there is one."""
    width = max(len(c.name) for c in checks)
    lines = [f"{'check':<{width}}  verdict  value", f"{'-' * width}  -------  -----"]
    for c in checks:
        lines.append(f"{c.name:<{width}}  {c.verdict.upper():<7}  {c.value}")
        if c.fix and c.verdict in ("fail", "warn"):
            lines.append(f"{'':<{width}}           -> {c.fix}")
    return "\n".join(lines)


def failed(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.verdict == "fail"]
