"""make_executor(cfg): the backend named by config. Apart from executor.py, which every backend imports for its
base class, so no module of the sandbox imports one that imports it back."""

from __future__ import annotations

from typing import Any

from .config import SandboxConfig, parse_config
from .executor import Executor


def make_executor(cfg: Any = None) -> Executor:
    """Build the executor named by `cfg.backend` (local | sandbox_fusion | ray) from a dict or DictConfig."""
    config = cfg if isinstance(cfg, SandboxConfig) else parse_config(cfg)
    if config.backend == "local":
        from .local import LocalExecutor  # each backend imported only when chosen (ray is slow to import)

        return LocalExecutor(config)
    if config.backend == "sandbox_fusion":
        from .sandbox_fusion import SandboxFusionExecutor

        return SandboxFusionExecutor(config)
    from .ray_pool import RayExecutor

    return RayExecutor(config)
