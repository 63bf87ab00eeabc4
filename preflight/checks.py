"""The pre-flight: the machine (or the Ray cluster) against the composed config, before Ray starts.

Each check gives a row (check, value, verdict, fix); a failing one names the key to change or the command to run, so
a GPU day does not end in a worker's traceback. The machine is read through `Probes` only, so tests fake every
verdict on CPU; the disk the run's checkpoints need is the recipe's estimate, handed in (`run_checks(disk=...)`).
`python -m recipes.zerotir +experiment=... tir.preflight_only=true` prints the table and exits.

Facts the checks rest on: the `.[gpu]` closure (torch 2.11.0, vLLM 0.24.0) is built for CUDA 13, which needs an
NVIDIA driver of the R580 series or newer (NVIDIA's CUDA 13.0 release notes: >= 580.65.06); both wheels are
manylinux_2_28 (glibc >= 2.28). torch is asked first: when it sees the GPUs the node passes, and an old or unreadable
driver version only warns (container images ship forward-compatibility libraries); the driver version explains why
torch sees none.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig

from preflight import memory
from preflight.attention import attention_row
from preflight.probes import Probes
from preflight.verdict import Check

# Minimum Linux driver per CUDA major (NVIDIA CUDA release notes, "CUDA Toolkit and Minimum Driver Versions").
MIN_DRIVER = {13: (580, 65, 6), 12: (525, 60, 13), 11: (450, 80, 2)}

MIN_GLIBC = (2, 28)  # torch 2.11.0 and vllm 0.24.0 wheels are manylinux_2_28

NETWORK_FS = {"nfs", "nfs4", "lustre", "gpfs", "beegfs", "cephfs", "ceph", "glusterfs", "fuse.glusterfs", "wekafs",
              "fuse.juicefs", "fuse.s3fs", "fuse.gcsfuse", "fuse.sshfs", "cifs", "smb3", "9p", "virtiofs"}  # fmt: skip


class DiskNeed(Protocol):
    """What the disk row reads of the recipe's checkpoint estimate (recipes/zerotir/checkpoints.DiskEstimate)."""

    peak_gb: float

    def line(self) -> str: ...


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def ray_address(cfg: DictConfig, env: dict[str, str]) -> str | None:
    """An existing cluster to launch on: ray_kwargs.ray_init.address or RAY_ADDRESS (None: Ray starts locally)."""
    address = (cfg.get("ray_kwargs") or {}).get("ray_init", {}).get("address") or env.get("RAY_ADDRESS")
    return str(address) if address and address != "local" else None


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


def check_disk(cfg: DictConfig, probes: Probes, est: DiskNeed | None) -> Check:
    """Free disk where the checkpoints go against the most they take at once (`est`: None without tir.params_b)."""
    trainer = cfg.trainer
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
    (preflight/memory.py; docs/gpu.md 'Memory under sdpa'). A CPU-only head: checked on the workers."""
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


def run_checks(cfg: DictConfig, probes: Probes | None = None, *, disk: DiskNeed | None) -> list[Check]:
    """Every row, in the table's order. `disk`: the recipe's checkpoint estimate (None: tir.params_b unset)."""
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
        attention_row(cfg, probes),
        *check_cuda(cfg, probes, cluster),
        *check_gpus(cfg, probes, cluster),
        check_memory(cfg, probes, cluster),
        check_disk(cfg, probes, disk),
        check_model(cfg, probes),
        check_shared_fs(cfg, probes),
    ]
