"""The `sandbox` config block of the rollout node (conf/rollout/: `tir.rollout.sandbox` in training,
`eval.rollout.sandbox` in evaluation), parsed and validated.

Every key is optional; an unknown key raises a ValueError that names it, so a typo fails before Ray starts.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from .backends import BACKENDS


@dataclass(frozen=True)
class SandboxFusionConfig:
    url: str = "http://127.0.0.1:8080/run_code"  # SandboxFusion's default port; a config field, never hard-coded
    max_concurrency: int = 64
    retries: int = 3  # reference impl: MAX_COMPILE_RETRIES default 3 (docs/reference.md §3.6)
    request_timeout_s: float = 40  # reference impl: httpx read timeout 40 s


@dataclass(frozen=True)
class RayConfig:
    pools_per_node: int = 1


@dataclass(frozen=True)
class SandboxConfig:
    backend: str = "local"
    timeout_s: float = 10  # reference impl: 10 s per call (docs/reference.md §3.6)
    memory_mb: int = 4096
    max_output_bytes: int = 65536
    max_processes: int = 64
    max_file_mb: int = 64
    concurrency: int | None = None  # None: the CPU count
    # local / ray: a second, standard-library-only warm worker per slot for snippets that import nothing else
    # (routing.py); cheaper forks, same results. Off: one full worker per slot (~15 MB less a slot).
    light_worker: bool = True
    # The trainer stops when more than this share of a step's executions failed in the sandbox itself
    # (status sandbox_error); 0 disables the guard. Read by recipes/zerotir/trainer.py, not by the backends.
    max_sandbox_error_rate: float = 0.05
    sandbox_fusion: SandboxFusionConfig = field(default_factory=SandboxFusionConfig)
    ray: RayConfig = field(default_factory=RayConfig)

    @property
    def workers(self) -> int:
        return self.concurrency or os.cpu_count() or 1


def _to_dict(cfg: Any, where: str) -> dict:
    if cfg is None:
        return {}
    if not isinstance(cfg, Mapping):
        try:  # an OmegaConf DictConfig is a Mapping, but a structured one may not be
            from omegaconf import OmegaConf

            cfg = OmegaConf.to_container(cfg, resolve=True)
        except Exception as exc:
            raise ValueError(f"{where}: expected a mapping (got {type(cfg).__name__})") from exc
    return {str(k): v for k, v in cfg.items()}


def _build(cls: type, raw: Any, where: str) -> Any:
    data = _to_dict(raw, where)
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            raise ValueError(f"{where}.{key}: unknown sandbox config key; known keys: {sorted(known)}")
    types = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        if is_dataclass(types[key]):  # a backend's options block (backends.BACKENDS names them)
            value = _build(types[key], value, f"{where}.{key}")
        kwargs[key] = value
    return cls(**kwargs)


def parse_config(cfg: Any = None, where: str = "sandbox") -> SandboxConfig:
    """Turn a dict or DictConfig into a SandboxConfig; `where` is the key path used in error messages."""
    conf = _build(SandboxConfig, cfg, where)
    if conf.backend not in BACKENDS:
        raise ValueError(f"{where}.backend must be one of {tuple(BACKENDS)} (got {conf.backend!r})")
    positive = ("timeout_s", "memory_mb", "max_output_bytes", "max_processes", "max_file_mb")
    for name in positive:
        value = getattr(conf, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{where}.{name} must be a positive number (got {value!r})")
    rate = conf.max_sandbox_error_rate
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"{where}.max_sandbox_error_rate must be a number in [0, 1], 0 disables (got {rate!r})")
    if type(conf.light_worker) is not bool:  # 1 / 'yes' are typos here, not switches
        raise ValueError(f"{where}.light_worker must be true or false (got {conf.light_worker!r})")
    if conf.concurrency is not None and (not isinstance(conf.concurrency, int) or conf.concurrency < 1):
        raise ValueError(f"{where}.concurrency must be null or an int >= 1 (got {conf.concurrency!r})")
    sf = conf.sandbox_fusion
    if sf.max_concurrency < 1 or sf.retries < 0 or sf.request_timeout_s <= 0:
        raise ValueError(f"{where}.sandbox_fusion: need max_concurrency >= 1, retries >= 0, request_timeout_s > 0")
    if conf.ray.pools_per_node < 1:
        raise ValueError(f"{where}.ray.pools_per_node must be >= 1 (got {conf.ray.pools_per_node})")
    return conf
