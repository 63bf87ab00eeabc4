"""The backend table, and the one function that builds an executor from it.

A backend is a row: its name (the config's `sandbox.backend`), the module and class that implement it, and the
field of SandboxConfig that holds its own options block, if it has one. config.py checks `backend` against
this table and parses each options block from its field's type; `build` imports the chosen module only then
(ray is slow to import). A new backend is a row here plus its module (and, if it takes options, their
dataclass as a field of SandboxConfig). Nothing of the package is imported here at run time, so every module
may import this one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import SandboxConfig
    from .executor import Executor


@dataclass(frozen=True)
class Backend:
    module: str  # relative to this package
    cls: str
    options: str | None = None  # the SandboxConfig field holding this backend's own options


BACKENDS: dict[str, Backend] = {
    "local": Backend(".local", "LocalExecutor"),
    "sandbox_fusion": Backend(".sandbox_fusion", "SandboxFusionExecutor", options="sandbox_fusion"),
    "ray": Backend(".ray_pool", "RayExecutor", options="ray"),
}


def build(config: SandboxConfig) -> Executor:
    """The executor of `config.backend`, given the parsed config (parse_config checked the name)."""
    row = BACKENDS[config.backend]
    return getattr(importlib.import_module(row.module, __package__), row.cls)(config)
